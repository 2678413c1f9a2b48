/*
 * test_lock.c: threading.Lock semantics across processes: mutual exclusion
 * under contention, fencing tokens, try-acquire, ownership of release.
 */
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "daemon_fixture.h"
#include "syncclient.h"

TestSuite(lock, .init = syncd_fixture_init, .fini = syncd_fixture_fini,
          .timeout = 30);

static sync_client *connect_ok(void)
{
    sync_client *c = NULL;

    cr_assert(eq(int, sync_connect(syncd_fx.sock, &c), 0));
    cr_assert(ne(ptr, c, NULL));
    return c;
}

static sync_lock *open_ok(sync_client *c, const char *name)
{
    sync_lock *l = NULL;

    cr_assert(eq(int, sync_lock_open(c, name, &l), 0));
    cr_assert(ne(ptr, l, NULL));
    return l;
}

/* ---- mutual exclusion under contention ---------------------------------- */

#define MX_PROCS 4
#define MX_ROUNDS 200

struct mx_shared {
    atomic_int inside;      /* holders right now: must only be 0 or 1 */
    atomic_int overlaps;    /* entries that found someone inside */
    atomic_int errors;      /* unexpected return codes */
    atomic_int token_order; /* tokens not above every earlier one */
    long counter;           /* plain: protected only by the syncd lock */
    uint64_t max_token;     /* plain: protected only by the syncd lock */
    int done[MX_PROCS];     /* rounds completed per process */
};

static void mx_child(struct mx_shared *sh, int idx, int start_fd,
                     const char *sock)
{
    sync_client *c;
    sync_lock *l;
    uint64_t tok;
    long v;
    int i;

    if (sync_connect(sock, &c) != 0 || sync_lock_open(c, "mx/lock", &l) != 0)
        _exit(2);
    /* Start together: the parent closes the pipe once all are forked. */
    if (fx_await(start_fd, 10000) != 0)
        _exit(3);
    for (i = 0; i < MX_ROUNDS; i++) {
        if (sync_lock_acquire(l, true, -1) != 0) {
            atomic_fetch_add(&sh->errors, 1);
            break;
        }
        if (atomic_fetch_add(&sh->inside, 1) != 0)
            atomic_fetch_add(&sh->overlaps, 1);
        tok = sync_lock_token(l);
        if (tok <= sh->max_token)
            atomic_fetch_add(&sh->token_order, 1);
        sh->max_token = tok;
        /* A read-modify-write with a yield in the middle: lost updates if
         * two processes were ever inside together. */
        v = sh->counter;
        if (i % 8 == 0)
            sched_yield();
        sh->counter = v + 1;
        atomic_fetch_sub(&sh->inside, 1);
        if (sync_lock_release(l) != 0) {
            atomic_fetch_add(&sh->errors, 1);
            break;
        }
        sh->done[idx]++;
    }
    sync_lock_close(l);
    sync_disconnect(c);
    _exit(0);
}

Test(lock, mutual_exclusion_under_contention)
{
    struct mx_shared *sh = fx_shared(sizeof(*sh));
    pid_t pids[MX_PROCS];
    int start[2], i;

    cr_assert(eq(int, pipe(start), 0));
    for (i = 0; i < MX_PROCS; i++) {
        pids[i] = fx_fork();
        cr_assert(ge(int, pids[i], 0));
        if (pids[i] == 0) {
            close(start[1]);
            mx_child(sh, i, start[0], syncd_fx.sock);
        }
    }
    close(start[0]);
    close(start[1]); /* go */
    for (i = 0; i < MX_PROCS; i++)
        cr_assert(eq(int, fx_waitpid(pids[i], 25000), 0), "child %d", i);
    for (i = 0; i < MX_PROCS; i++)
        cr_expect(eq(int, sh->done[i], MX_ROUNDS), "child %d", i);
    cr_assert(eq(int, atomic_load(&sh->errors), 0));
    cr_assert(eq(int, atomic_load(&sh->overlaps), 0));
    cr_assert(eq(long, sh->counter, (long)MX_PROCS * MX_ROUNDS));
    cr_assert(eq(int, atomic_load(&sh->token_order), 0));
    /* A fresh lock's tokens run 1, 2, ...: one per acquisition. */
    cr_assert(eq(u64, sh->max_token, (uint64_t)MX_PROCS * MX_ROUNDS));
}

/* ---- basics ------------------------------------------------------------- */

Test(lock, try_acquire_on_held_lock_times_out)
{
    sync_client *a = connect_ok(), *b = connect_ok();
    sync_lock *la = open_ok(a, "basic/lock"), *lb = open_ok(b, "basic/lock");

    cr_assert(eq(int, sync_lock_acquire(la, true, -1), 0));
    cr_assert(eq(int, sync_lock_acquire(lb, false, -1), SYNC_ETIMEDOUT));
    /* A zero timeout also tries exactly once. */
    cr_assert(eq(int, sync_lock_acquire(lb, true, 0.0), SYNC_ETIMEDOUT));
    /* Not reentrant: the holder's own second try fails too. */
    cr_assert(eq(int, sync_lock_acquire(la, false, -1), SYNC_ETIMEDOUT));
    cr_assert(eq(int, sync_lock_locked(lb), 1));
    cr_assert(eq(int, sync_lock_release(la), 0));
    cr_assert(eq(int, sync_lock_acquire(lb, false, -1), 0));
    cr_assert(eq(int, sync_lock_release(lb), 0));
    sync_lock_close(la);
    sync_lock_close(lb);
    sync_disconnect(a);
    sync_disconnect(b);
}

Test(lock, nonblocking_with_timeout_is_einval)
{
    sync_client *c = connect_ok();
    sync_lock *l = open_ok(c, "basic/lock");

    cr_assert(eq(int, sync_lock_acquire(l, false, 0.0), SYNC_EINVAL));
    cr_assert(eq(int, sync_lock_acquire(l, false, 1.5), SYNC_EINVAL));
    cr_assert(eq(int, sync_lock_acquire(l, true, NAN), SYNC_EINVAL));
    /* Nothing was acquired by the rejected calls. */
    cr_assert(eq(int, sync_lock_locked(l), 0));
    cr_assert(eq(int, sync_lock_release(l), SYNC_EPERM));
    cr_assert(eq(u64, sync_lock_token(l), 0));
    sync_lock_close(l);
    sync_disconnect(c);
}

Test(lock, release_by_another_process_is_eperm)
{
    sync_client *c = connect_ok();
    sync_lock *l = open_ok(c, "basic/lock");
    int *child_rv = fx_shared(2 * sizeof(int));
    pid_t pid;

    cr_assert(eq(int, sync_lock_acquire(l, true, -1), 0));
    pid = fx_fork();
    cr_assert(ge(int, pid, 0));
    if (pid == 0) {
        sync_client *cc;
        sync_lock *cl;

        if (sync_connect(syncd_fx.sock, &cc) != 0 ||
            sync_lock_open(cc, "basic/lock", &cl) != 0)
            _exit(2);
        child_rv[0] = sync_lock_release(cl);
        child_rv[1] = sync_lock_locked(cl);
        sync_lock_close(cl);
        sync_disconnect(cc);
        _exit(0);
    }
    cr_assert(eq(int, fx_waitpid(pid, 10000), 0));
    cr_assert(eq(int, child_rv[0], SYNC_EPERM));
    cr_assert(eq(int, child_rv[1], 1));
    /* Still ours. */
    cr_assert(eq(int, sync_lock_locked(l), 1));
    cr_assert(eq(int, sync_lock_release(l), 0));
    sync_lock_close(l);
    sync_disconnect(c);
}

Test(lock, release_of_unlocked_lock_is_eperm)
{
    sync_client *c = connect_ok();
    sync_lock *l = open_ok(c, "basic/lock");

    cr_assert(eq(int, sync_lock_release(l), SYNC_EPERM));
    cr_assert(eq(int, sync_lock_acquire(l, true, -1), 0));
    cr_assert(eq(int, sync_lock_release(l), 0));
    cr_assert(eq(int, sync_lock_release(l), SYNC_EPERM));
    cr_assert(eq(int, sync_lock_locked(l), 0));
    sync_lock_close(l);
    sync_disconnect(c);
}

struct thread_arg {
    sync_lock *l;
    int rv;
};

static void *release_thread(void *p)
{
    struct thread_arg *a = p;

    a->rv = sync_lock_release(a->l);
    return NULL;
}

static void *acquire_thread(void *p)
{
    struct thread_arg *a = p;

    a->rv = sync_lock_acquire(a->l, true, 5.0);
    return NULL;
}

Test(lock, any_thread_of_the_holder_may_release)
{
    sync_client *c = connect_ok();
    sync_lock *l = open_ok(c, "basic/lock");
    struct thread_arg arg = {.l = l, .rv = 1};
    pthread_t t;

    /* Acquired by the main thread, released by another. */
    cr_assert(eq(int, sync_lock_acquire(l, true, -1), 0));
    cr_assert(eq(int, pthread_create(&t, NULL, release_thread, &arg), 0));
    pthread_join(t, NULL);
    cr_assert(eq(int, arg.rv, 0));
    cr_assert(eq(int, sync_lock_locked(l), 0));
    /* And the other way round. */
    arg.rv = 1;
    cr_assert(eq(int, pthread_create(&t, NULL, acquire_thread, &arg), 0));
    pthread_join(t, NULL);
    cr_assert(eq(int, arg.rv, 0));
    cr_assert(eq(int, sync_lock_locked(l), 1));
    cr_assert(eq(int, sync_lock_release(l), 0));
    cr_assert(eq(int, sync_lock_locked(l), 0));
    sync_lock_close(l);
    sync_disconnect(c);
}

Test(lock, locked_reports_state_to_every_client)
{
    sync_client *a = connect_ok(), *b = connect_ok();
    sync_lock *la = open_ok(a, "basic/lock"), *lb = open_ok(b, "basic/lock");

    cr_assert(eq(int, sync_lock_locked(la), 0));
    cr_assert(eq(int, sync_lock_locked(lb), 0));
    cr_assert(eq(int, sync_lock_acquire(la, true, -1), 0));
    /* Visible to the other client as soon as the acquire returned. */
    cr_assert(eq(int, sync_lock_locked(lb), 1));
    cr_assert(eq(int, sync_lock_locked(la), 1));
    cr_assert(eq(int, sync_lock_release(la), 0));
    cr_assert(eq(int, sync_lock_locked(lb), 0));
    sync_lock_close(la);
    sync_lock_close(lb);
    sync_disconnect(a);
    sync_disconnect(b);
}

Test(lock, token_grows_by_one_per_acquisition)
{
    sync_client *a = connect_ok(), *b = connect_ok();
    sync_lock *la = open_ok(a, "basic/lock"), *lb = open_ok(b, "basic/lock");
    uint64_t first;
    int i;

    cr_assert(eq(u64, sync_lock_token(la), 0));
    cr_assert(eq(int, sync_lock_acquire(la, true, -1), 0));
    first = sync_lock_token(la);
    cr_assert(eq(u64, first, 1));
    /* A failed try does not take a token. */
    cr_assert(eq(int, sync_lock_acquire(lb, false, -1), SYNC_ETIMEDOUT));
    cr_assert(eq(u64, sync_lock_token(lb), 0));
    cr_assert(eq(int, sync_lock_release(la), 0));
    for (i = 1; i <= 6; i++) {
        sync_lock *l = (i % 2) ? lb : la;

        cr_assert(eq(int, sync_lock_acquire(l, true, -1), 0));
        cr_assert(eq(u64, sync_lock_token(l), first + (uint64_t)i));
        cr_assert(eq(int, sync_lock_owner_died(l), 0));
        cr_assert(eq(int, sync_lock_release(l), 0));
    }
    /* The token stays readable after the release. */
    cr_assert(eq(u64, sync_lock_token(la), first + 6));
    cr_assert(eq(u64, sync_lock_token(lb), first + 5));
    sync_lock_close(la);
    sync_lock_close(lb);
    sync_disconnect(a);
    sync_disconnect(b);
}
