/*
 * test_semaphore.c: threading.Semaphore / BoundedSemaphore across
 * processes: the value bounds concurrency, waiters wake in FIFO order,
 * release(n) wakes n, the bound is enforced, and SYNC_SEM_UNDO gives
 * permits back on close, disconnect and kill -9 (and only then).
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "daemon_fixture.h"
#include "syncclient.h"

TestSuite(semaphore, .init = syncd_fixture_init, .fini = syncd_fixture_fini,
          .timeout = 30);

static sync_client *connect_ok(void)
{
    sync_client *c = NULL;

    cr_assert(eq(int, sync_connect(syncd_fx.sock, &c), 0));
    return c;
}

/* ---- the value limits concurrency --------------------------------------- */

#define CONC_PROCS 5
#define CONC_PERMITS 2
#define CONC_ROUNDS 20

struct conc_shared {
    atomic_int inside;
    atomic_int max_inside;
    atomic_int errors;
    atomic_int rounds;
};

static void conc_child(struct conc_shared *sh, int start_fd)
{
    sync_client *c;
    sync_sem *s;
    int i, n, m;

    if (sync_connect(syncd_fx.sock, &c) != 0 ||
        sync_sem_open(c, "sem/conc", CONC_PERMITS, &s) != 0)
        _exit(2);
    if (fx_await(start_fd, 10000) != 0)
        _exit(3);
    for (i = 0; i < CONC_ROUNDS; i++) {
        if (sync_sem_acquire(s, true, 10.0) != 0) {
            atomic_fetch_add(&sh->errors, 1);
            break;
        }
        n = atomic_fetch_add(&sh->inside, 1) + 1;
        m = atomic_load(&sh->max_inside);
        while (n > m && !atomic_compare_exchange_weak(&sh->max_inside, &m, n))
            ;
        fx_sleep_ms(2);
        atomic_fetch_sub(&sh->inside, 1);
        if (sync_sem_release(s, 1) != 0) {
            atomic_fetch_add(&sh->errors, 1);
            break;
        }
        atomic_fetch_add(&sh->rounds, 1);
    }
    sync_sem_close(s);
    sync_disconnect(c);
    _exit(0);
}

Test(semaphore, value_limits_concurrency)
{
    struct conc_shared *sh = fx_shared(sizeof(*sh));
    sync_client *c = connect_ok();
    pid_t pids[CONC_PROCS];
    int start[2], i;
    sync_sem *s;

    cr_assert(eq(int, sync_sem_open(c, "sem/conc", CONC_PERMITS, &s), 0));
    cr_assert(eq(int, pipe(start), 0));
    for (i = 0; i < CONC_PROCS; i++) {
        pids[i] = fx_fork();
        cr_assert(ge(int, pids[i], 0));
        if (pids[i] == 0) {
            close(start[1]);
            conc_child(sh, start[0]);
        }
    }
    close(start[0]);
    close(start[1]);
    for (i = 0; i < CONC_PROCS; i++)
        cr_assert(eq(int, fx_waitpid(pids[i], 25000), 0), "child %d", i);
    cr_assert(eq(int, atomic_load(&sh->errors), 0));
    cr_assert(eq(int, atomic_load(&sh->rounds), CONC_PROCS * CONC_ROUNDS));
    cr_assert(eq(int, atomic_load(&sh->max_inside), CONC_PERMITS));
    cr_assert(eq(int, sync_sem_value(s), CONC_PERMITS));
    sync_sem_close(s);
    sync_disconnect(c);
}

/* ---- FIFO --------------------------------------------------------------- */

#define FIFO_N 3

struct fifo_shared {
    atomic_int woken;
    int who[FIFO_N]; /* who[k]: index of the k-th waiter to wake */
};

Test(semaphore, waiters_wake_in_fifo_order)
{
    struct fifo_shared *sh = fx_shared(sizeof(*sh));
    sync_client *c = connect_ok();
    pid_t pids[FIFO_N];
    double deadline;
    sync_sem *s;
    int i, k, ready[2];

    cr_assert(eq(int, sync_sem_open(c, "sem/fifo", 0, &s), 0));
    cr_assert(eq(int, pipe(ready), 0));
    /* Queue the waiters one at a time, in index order. */
    for (i = 0; i < FIFO_N; i++) {
        pids[i] = fx_fork();
        cr_assert(ge(int, pids[i], 0));
        if (pids[i] == 0) {
            sync_client *cc;
            sync_sem *cs;

            if (sync_connect(syncd_fx.sock, &cc) != 0 ||
                sync_sem_open(cc, "sem/fifo", 0, &cs) != 0)
                _exit(2);
            fx_signal(ready[1]);
            if (sync_sem_acquire(cs, true, 10.0) != 0)
                _exit(3);
            sh->who[atomic_fetch_add(&sh->woken, 1)] = i;
            sync_sem_close(cs);
            sync_disconnect(cc);
            _exit(0);
        }
        cr_assert(eq(int, fx_await(ready[0], 10000), 1));
        fx_sleep_ms(100); /* margin for its acquire to be queued */
    }
    cr_assert(eq(int, atomic_load(&sh->woken), 0));
    /* One permit at a time: each must go to the oldest waiter left. */
    for (k = 0; k < FIFO_N; k++) {
        cr_assert(eq(int, sync_sem_release(s, 1), 0));
        deadline = fx_now() + 5.0;
        while (atomic_load(&sh->woken) < k + 1 && fx_now() < deadline)
            fx_sleep_ms(2);
        cr_assert(eq(int, atomic_load(&sh->woken), k + 1));
        cr_assert(eq(int, sh->who[k], k), "wake #%d went to waiter %d", k,
                  sh->who[k]);
        cr_assert(eq(int, fx_waitpid(pids[k], 5000), 0));
    }
    cr_assert(eq(int, sync_sem_value(s), 0));
    sync_sem_close(s);
    sync_disconnect(c);
}

/* ---- release(n) --------------------------------------------------------- */

#define RN_WAITERS 4

struct rn_arg {
    atomic_int *ready;
    atomic_int *woken;
    int rv;
};

static void *rn_waiter(void *p)
{
    struct rn_arg *a = p;
    sync_client *c;
    sync_sem *s;

    a->rv = 100;
    if (sync_connect(syncd_fx.sock, &c) != 0)
        return NULL;
    if (sync_sem_open(c, "sem/rn", 0, &s) == 0) {
        atomic_fetch_add(a->ready, 1);
        a->rv = sync_sem_acquire(s, true, 10.0);
        atomic_fetch_add(a->woken, 1);
        sync_sem_close(s);
    }
    sync_disconnect(c);
    return NULL;
}

static int wait_count(atomic_int *v, int want, int timeout_ms)
{
    double deadline = fx_now() + timeout_ms / 1000.0;

    while (atomic_load(v) < want && fx_now() < deadline)
        fx_sleep_ms(2);
    return atomic_load(v);
}

Test(semaphore, release_n_wakes_n_waiters)
{
    sync_client *c = connect_ok();
    atomic_int ready = 0, woken = 0;
    struct rn_arg args[RN_WAITERS];
    pthread_t t[RN_WAITERS];
    sync_sem *s;
    int i;

    cr_assert(eq(int, sync_sem_open(c, "sem/rn", 0, &s), 0));
    for (i = 0; i < RN_WAITERS; i++) {
        args[i] = (struct rn_arg){.ready = &ready, .woken = &woken};
        cr_assert(eq(int, pthread_create(&t[i], NULL, rn_waiter, &args[i]),
                     0));
    }
    cr_assert(eq(int, wait_count(&ready, RN_WAITERS, 5000), RN_WAITERS));
    fx_sleep_ms(150); /* margin for every acquire to be queued */
    cr_assert(eq(int, atomic_load(&woken), 0));

    cr_assert(eq(int, sync_sem_release(s, 3), 0));
    cr_assert(eq(int, wait_count(&woken, 3, 5000), 3));
    /* Exactly three: the fourth stays blocked and no permit is left. */
    fx_sleep_ms(100);
    cr_assert(eq(int, atomic_load(&woken), 3));
    cr_assert(eq(int, sync_sem_value(s), 0));

    cr_assert(eq(int, sync_sem_release(s, 1), 0));
    cr_assert(eq(int, wait_count(&woken, 4, 5000), 4));
    for (i = 0; i < RN_WAITERS; i++) {
        pthread_join(t[i], NULL);
        cr_assert(eq(int, args[i].rv, 0), "waiter %d", i);
    }
    cr_assert(eq(int, sync_sem_value(s), 0));
    cr_assert(eq(int, sync_sem_release(s, 0), SYNC_EINVAL));
    sync_sem_close(s);
    sync_disconnect(c);
}

Test(semaphore, value_counts_permits)
{
    sync_client *a = connect_ok(), *b = connect_ok();
    sync_sem *sa, *sb;

    cr_assert(eq(int, sync_sem_open(a, "sem/value", 3, &sa), 0));
    cr_assert(eq(int, sync_sem_open(b, "sem/value", 3, &sb), 0));
    cr_assert(eq(int, sync_sem_value(sb), 3));
    cr_assert(eq(int, sync_sem_acquire(sa, true, -1), 0));
    cr_assert(eq(int, sync_sem_value(sb), 2));
    cr_assert(eq(int, sync_sem_acquire(sb, false, -1), 0));
    cr_assert(eq(int, sync_sem_acquire(sa, true, 0.0), 0));
    cr_assert(eq(int, sync_sem_value(sa), 0));
    cr_assert(eq(int, sync_sem_acquire(sb, false, -1), SYNC_ETIMEDOUT));
    cr_assert(eq(int, sync_sem_value(sa), 0));
    /* No owner: anyone may release, and a plain Semaphore has no bound. */
    cr_assert(eq(int, sync_sem_release(sb, 3), 0));
    cr_assert(eq(int, sync_sem_value(sa), 3));
    cr_assert(eq(int, sync_sem_release(sb, 2), 0));
    cr_assert(eq(int, sync_sem_value(sa), 5));
    cr_assert(eq(int, sync_sem_release(sa, 0), SYNC_EINVAL));
    cr_assert(eq(int, sync_sem_value(sa), 5));
    sync_sem_close(sa);
    sync_sem_close(sb);
    sync_disconnect(a);
    sync_disconnect(b);
}

Test(semaphore, bounded_release_beyond_bound_is_evalue)
{
    sync_client *c = connect_ok();
    sync_sem *s;

    cr_assert(eq(int, sync_bsem_open(c, "sem/bounded", 2, &s), 0));
    cr_assert(eq(int, sync_sem_value(s), 2));
    cr_assert(eq(int, sync_sem_release(s, 1), SYNC_EVALUE));
    cr_assert(eq(int, sync_sem_value(s), 2));
    cr_assert(eq(int, sync_sem_acquire(s, true, -1), 0));
    cr_assert(eq(int, sync_sem_value(s), 1));
    /* All or nothing: 2 would exceed the bound, so none is released. */
    cr_assert(eq(int, sync_sem_release(s, 2), SYNC_EVALUE));
    cr_assert(eq(int, sync_sem_value(s), 1));
    cr_assert(eq(int, sync_sem_release(s, 1), 0));
    cr_assert(eq(int, sync_sem_value(s), 2));
    cr_assert(eq(int, sync_sem_release(s, 1), SYNC_EVALUE));
    cr_assert(eq(int, sync_sem_value(s), 2));
    sync_sem_close(s);
    sync_disconnect(c);
}

/* ---- SYNC_SEM_UNDO ------------------------------------------------------ */

/*
 * Fork a child that opens "undo/sem" (value 3, with `flags`), acquires 2
 * permits, takes the Lock "undo/marker", reports ready and sleeps.  Kill
 * it, then get the marker: the daemon has then closed the dead session.
 */
static void kill_permit_holder(sync_client *c, unsigned flags)
{
    sync_lock *marker;
    int p[2];
    pid_t pid;

    cr_assert(eq(int, sync_lock_open(c, "undo/marker", &marker), 0));
    cr_assert(eq(int, pipe(p), 0));
    pid = fx_fork();
    cr_assert(ge(int, pid, 0));
    if (pid == 0) {
        sync_client *cc;
        sync_sem *s;
        sync_lock *m;

        close(p[0]);
        if (sync_connect(syncd_fx.sock, &cc) != 0 ||
            sync_sem_open_flags(cc, "undo/sem", 3, false, flags, &s) != 0 ||
            sync_sem_acquire(s, true, 5.0) != 0 ||
            sync_sem_acquire(s, true, 5.0) != 0 ||
            sync_lock_open(cc, "undo/marker", &m) != 0 ||
            sync_lock_acquire(m, true, 5.0) != 0)
            _exit(2);
        fx_signal(p[1]);
        for (;;)
            pause();
    }
    close(p[1]);
    cr_assert(eq(int, fx_await(p[0], 10000), 1));
    close(p[0]);
    cr_assert(eq(int, kill(pid, SIGKILL), 0));
    cr_assert(eq(int, fx_waitpid(pid, 5000), 128 + SIGKILL));
    cr_assert(eq(int, sync_lock_acquire(marker, true, 5.0), 0));
    cr_assert(eq(int, sync_lock_owner_died(marker), 1));
    cr_assert(eq(int, sync_lock_release(marker), 0));
    sync_lock_close(marker);
}

Test(semaphore, undo_permits_come_back_when_holder_is_killed)
{
    sync_client *c = connect_ok();
    sync_sem *s;

    cr_assert(eq(int, sync_sem_open(c, "undo/sem", 3, &s), 0));
    kill_permit_holder(c, SYNC_SEM_UNDO);
    cr_assert(eq(int, sync_sem_value(s), 3));
    cr_assert(syncd_fixture_log_contains(
        "semaphore 'undo/sem': 2 permit(s) given back", 2000));
    sync_sem_close(s);
    sync_disconnect(c);
}

Test(semaphore, permits_stay_taken_without_undo)
{
    sync_client *c = connect_ok();
    sync_sem *s;

    cr_assert(eq(int, sync_sem_open(c, "undo/sem", 3, &s), 0));
    kill_permit_holder(c, 0);
    /* Python semantics: a Semaphore has no owner to give them back. */
    cr_assert(eq(int, sync_sem_value(s), 1));
    sync_sem_close(s);
    sync_disconnect(c);
}

Test(semaphore, undo_count_decreases_on_release)
{
    sync_client *c = connect_ok(), *obs = connect_ok();
    sync_sem *u, *plain;

    cr_assert(eq(int, sync_sem_open(obs, "undo/count", 3, &plain), 0));
    cr_assert(eq(int, sync_sem_open_flags(c, "undo/count", 3, false,
                                          SYNC_SEM_UNDO, &u), 0));
    cr_assert(eq(int, sync_sem_acquire(u, true, -1), 0));
    cr_assert(eq(int, sync_sem_acquire(u, true, -1), 0));
    cr_assert(eq(int, sync_sem_value(plain), 1));
    cr_assert(eq(int, sync_sem_release(u, 1), 0));
    cr_assert(eq(int, sync_sem_value(plain), 2));
    /* One permit still owed: the close gives back exactly one. */
    sync_sem_close(u);
    cr_assert(eq(int, sync_sem_value(plain), 3));

    /* Releasing more than acquired leaves nothing to give back. */
    cr_assert(eq(int, sync_sem_open_flags(c, "undo/count", 3, false,
                                          SYNC_SEM_UNDO, &u), 0));
    cr_assert(eq(int, sync_sem_acquire(u, true, -1), 0));
    cr_assert(eq(int, sync_sem_value(plain), 2));
    cr_assert(eq(int, sync_sem_release(u, 2), 0));
    cr_assert(eq(int, sync_sem_value(plain), 4));
    sync_sem_close(u);
    cr_assert(eq(int, sync_sem_value(plain), 4));

    /* Permits taken through a plain handle of the same client are not
     * undone. */
    cr_assert(eq(int, sync_sem_acquire(plain, true, -1), 0));
    cr_assert(eq(int, sync_sem_open_flags(c, "undo/count", 3, false,
                                          SYNC_SEM_UNDO, &u), 0));
    sync_sem_close(u);
    cr_assert(eq(int, sync_sem_value(plain), 3));
    sync_sem_close(plain);
    sync_disconnect(c);
    sync_disconnect(obs);
}

struct sem_waiter {
    sync_sem *s;
    int rv;
};

static void *sem_wait_thread(void *p)
{
    struct sem_waiter *w = p;

    w->rv = sync_sem_acquire(w->s, true, 5.0);
    return NULL;
}

Test(semaphore, closing_undo_handle_gives_permits_back)
{
    sync_client *c = connect_ok(), *obs = connect_ok();
    struct sem_waiter w = {.rv = 1};
    sync_sem *u, *plain;
    pthread_t t;

    cr_assert(eq(int, sync_bsem_open(obs, "undo/close", 2, &plain), 0));
    cr_assert(eq(int, sync_sem_open_flags(c, "undo/close", 2, true,
                                          SYNC_SEM_UNDO, &u), 0));
    cr_assert(eq(int, sync_sem_acquire(u, true, -1), 0));
    cr_assert(eq(int, sync_sem_acquire(u, true, -1), 0));
    cr_assert(eq(int, sync_sem_value(plain), 0));
    /* A waiter on another client is woken by the undo. */
    w.s = plain;
    cr_assert(eq(int, pthread_create(&t, NULL, sem_wait_thread, &w), 0));
    fx_sleep_ms(100);
    sync_sem_close(u);
    pthread_join(t, NULL);
    cr_assert(eq(int, w.rv, 0));
    cr_assert(eq(int, sync_sem_value(plain), 1));

    /* A graceful disconnect gives undo permits back too. */
    cr_assert(eq(int, sync_sem_open_flags(c, "undo/close", 2, true,
                                          SYNC_SEM_UNDO, &u), 0));
    cr_assert(eq(int, sync_sem_acquire(u, true, -1), 0));
    cr_assert(eq(int, sync_sem_value(plain), 0));
    sync_disconnect(c);
    cr_assert(eq(int, sync_sem_acquire(plain, true, 5.0), 0));
    cr_assert(eq(int, sync_sem_release(plain, 2), 0));
    cr_assert(eq(int, sync_sem_value(plain), 2));
    sync_sem_close(u);
    sync_sem_close(plain);
    sync_disconnect(obs);
}

Test(semaphore, undo_never_pushes_a_bounded_semaphore_past_its_bound)
{
    sync_client *c = connect_ok(), *obs = connect_ok();
    sync_sem *u, *plain;

    cr_assert(eq(int, sync_bsem_open(obs, "undo/bound", 2, &plain), 0));
    cr_assert(eq(int, sync_sem_open_flags(c, "undo/bound", 2, true,
                                          SYNC_SEM_UNDO, &u), 0));
    cr_assert(eq(int, sync_sem_acquire(u, true, -1), 0));
    cr_assert(eq(int, sync_sem_acquire(u, true, -1), 0));
    cr_assert(eq(int, sync_sem_value(plain), 0));
    /* Someone else refills it (no owner), up to the bound... */
    cr_assert(eq(int, sync_sem_release(plain, 1), 0));
    cr_assert(eq(int, sync_sem_value(plain), 1));
    /* ...so the undo can give back only one of its two permits. */
    sync_sem_close(u);
    cr_assert(eq(int, sync_sem_value(plain), 2));
    cr_assert(eq(int, sync_sem_release(plain, 1), SYNC_EVALUE));
    cr_assert(syncd_fixture_log_contains("the rest would pass the bound",
                                         2000));
    sync_sem_close(plain);
    sync_disconnect(c);
    sync_disconnect(obs);
}

Test(semaphore, value_limit_is_sync_sem_value_max)
{
    sync_client *c;
    sync_sem *s, *t;

    cr_assert(eq(int, sync_connect(syncd_fx.sock, &c), 0));
    cr_assert(eq(u32, SYNC_SEM_VALUE_MAX, 2147483647u));
    cr_assert(eq(int, sync_sem_open(c, "sem/huge", SYNC_SEM_VALUE_MAX + 1, &t),
                 SYNC_EINVAL));
    cr_assert(eq(ptr, t, NULL));
    cr_assert(eq(int, sync_sem_open(c, "sem/max", SYNC_SEM_VALUE_MAX, &s), 0));
    cr_assert(eq(int, sync_sem_value(s), (int)SYNC_SEM_VALUE_MAX));
    cr_assert(eq(int, sync_sem_release(s, 1), SYNC_EVALUE));
    cr_assert(eq(int, sync_sem_acquire(s, false, -1), 0));
    cr_assert(eq(int, sync_sem_release(s, 1), 0));
    cr_assert(eq(int, sync_sem_value(s), (int)SYNC_SEM_VALUE_MAX));
    sync_sem_close(s);
    sync_disconnect(c);
}
