/*
 * test_crash.c: crash safety.  A Lock held by a process that is killed -9
 * goes at once to the oldest waiter, flagged owner-died; a killed process's
 * pending waits vanish with it; closing or disconnecting while holding
 * counts as dying.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "daemon_fixture.h"
#include "syncclient.h"

TestSuite(crash, .init = syncd_fixture_init, .fini = syncd_fixture_fini,
          .timeout = 30);

static sync_client *connect_ok(void)
{
    sync_client *c = NULL;

    cr_assert(eq(int, sync_connect(syncd_fx.sock, &c), 0));
    return c;
}

/*
 * Fork a child that acquires the Lock `name` (and, if marker is not NULL,
 * the Lock `marker` too), writes one byte to the returned pipe and then
 * sleeps until killed.
 */
static pid_t spawn_holder(const char *name, const char *marker, int *ready)
{
    int p[2];
    pid_t pid;

    cr_assert(eq(int, pipe(p), 0));
    pid = fx_fork();
    cr_assert(ge(int, pid, 0));
    if (pid == 0) {
        sync_client *c;
        sync_lock *l, *m;

        close(p[0]);
        if (sync_connect(syncd_fx.sock, &c) != 0 ||
            sync_lock_open(c, name, &l) != 0 ||
            sync_lock_acquire(l, true, 5.0) != 0)
            _exit(2);
        if (marker != NULL && (sync_lock_open(c, marker, &m) != 0 ||
                               sync_lock_acquire(m, true, 5.0) != 0))
            _exit(3);
        fx_signal(p[1]);
        for (;;)
            pause();
    }
    close(p[1]);
    *ready = p[0];
    return pid;
}

struct waiter_arg {
    sync_lock *l;
    atomic_int done;
    int rv;
    double t_done;
};

static void *waiter_thread(void *p)
{
    struct waiter_arg *a = p;

    a->rv = sync_lock_acquire(a->l, true, 5.0);
    a->t_done = fx_now();
    atomic_store(&a->done, 1);
    return NULL;
}

Test(crash, killed_holder_hands_lock_to_waiter_with_owner_died)
{
    sync_client *c = connect_ok();
    struct waiter_arg arg = {.rv = 1};
    char needle[128];
    pthread_t t;
    double t_kill;
    int ready;
    pid_t pid;

    cr_assert(eq(int, sync_lock_open(c, "crash/lock", &arg.l), 0));
    pid = spawn_holder("crash/lock", NULL, &ready);
    cr_assert(eq(int, fx_await(ready, 10000), 1), "holder never got ready");
    cr_assert(eq(int, sync_lock_locked(arg.l), 1));

    cr_assert(eq(int, pthread_create(&t, NULL, waiter_thread, &arg), 0));
    /* Let the acquire reach the daemon's queue (margin: 150 ms). */
    fx_sleep_ms(150);
    cr_assert(eq(int, atomic_load(&arg.done), 0), "waiter did not block");

    t_kill = fx_now();
    cr_assert(eq(int, kill(pid, SIGKILL), 0));
    pthread_join(t, NULL);
    cr_assert(eq(int, arg.rv, 0));
    cr_assert(lt(dbl, arg.t_done - t_kill, syncd_latency_s(0.1)),
              "lock came %.3f s after the kill", arg.t_done - t_kill);
    cr_assert(eq(int, sync_lock_owner_died(arg.l), 1));
    cr_assert(eq(u64, sync_lock_token(arg.l), 2));
    cr_assert(eq(int, fx_waitpid(pid, 5000), 128 + SIGKILL));

    /* The daemon says which lock it released for whom. */
    snprintf(needle, sizeof(needle),
             "lock 'crash/lock' released: holder pid %d", (int)pid);
    cr_assert(syncd_fixture_log_contains(needle, 2000),
              "no \"%s\" in the log", needle);

    /* The flag is spent on the first acquisition after the death. */
    cr_assert(eq(int, sync_lock_release(arg.l), 0));
    cr_assert(eq(int, sync_lock_acquire(arg.l, true, -1), 0));
    cr_assert(eq(int, sync_lock_owner_died(arg.l), 0));
    cr_assert(eq(u64, sync_lock_token(arg.l), 3));
    cr_assert(eq(int, sync_lock_release(arg.l), 0));
    close(ready);
    sync_lock_close(arg.l);
    sync_disconnect(c);
}

Test(crash, killed_holder_without_waiters_flags_next_acquirer)
{
    sync_client *c = connect_ok();
    sync_lock *l;
    int ready;
    pid_t pid;

    cr_assert(eq(int, sync_lock_open(c, "crash/lonely", &l), 0));
    pid = spawn_holder("crash/lonely", NULL, &ready);
    cr_assert(eq(int, fx_await(ready, 10000), 1));
    cr_assert(eq(int, kill(pid, SIGKILL), 0));
    cr_assert(eq(int, fx_waitpid(pid, 5000), 128 + SIGKILL));
    /* Whether or not the daemon has seen the death yet, this gets it. */
    cr_assert(eq(int, sync_lock_acquire(l, true, 5.0), 0));
    cr_assert(eq(int, sync_lock_owner_died(l), 1));
    cr_assert(eq(int, sync_lock_release(l), 0));
    cr_assert(eq(int, sync_lock_acquire(l, true, 5.0), 0));
    cr_assert(eq(int, sync_lock_owner_died(l), 0));
    cr_assert(eq(int, sync_lock_release(l), 0));
    close(ready);
    sync_lock_close(l);
    sync_disconnect(c);
}

/* What a pending child blocks on, one thread each. */
struct blocker {
    sync_lock *l;
    sync_sem *s;
};

static void *block_on_lock(void *p)
{
    struct blocker *b = p;

    sync_lock_acquire(b->l, true, -1);
    return NULL;
}

static void *block_on_sem(void *p)
{
    struct blocker *b = p;

    sync_sem_acquire(b->s, true, -1);
    return NULL;
}

Test(crash, killed_waiter_leaves_no_stuck_state)
{
    sync_client *c = connect_ok(), *other = connect_ok();
    sync_lock *busy, *marker, *busy2;
    sync_sem *s;
    int p[2];
    pid_t pid;

    cr_assert(eq(int, sync_lock_open(c, "crash/busy", &busy), 0));
    cr_assert(eq(int, sync_lock_open(c, "crash/marker", &marker), 0));
    cr_assert(eq(int, sync_sem_open(c, "crash/sem", 0, &s), 0));
    cr_assert(eq(int, sync_lock_acquire(busy, true, -1), 0));
    cr_assert(eq(int, pipe(p), 0));
    pid = fx_fork();
    cr_assert(ge(int, pid, 0));
    if (pid == 0) {
        struct blocker b;
        sync_client *cc;
        sync_lock *m;
        pthread_t t1, t2;

        close(p[0]);
        if (sync_connect(syncd_fx.sock, &cc) != 0 ||
            sync_lock_open(cc, "crash/marker", &m) != 0 ||
            sync_lock_acquire(m, true, 5.0) != 0 ||
            sync_lock_open(cc, "crash/busy", &b.l) != 0 ||
            sync_sem_open(cc, "crash/sem", 0, &b.s) != 0)
            _exit(2);
        if (pthread_create(&t1, NULL, block_on_lock, &b) != 0 ||
            pthread_create(&t2, NULL, block_on_sem, &b) != 0)
            _exit(3);
        /* Let both acquires reach the daemon before reporting. */
        fx_sleep_ms(150);
        fx_signal(p[1]);
        for (;;)
            pause();
    }
    close(p[1]);
    cr_assert(eq(int, fx_await(p[0], 10000), 1));
    cr_assert(eq(int, kill(pid, SIGKILL), 0));
    cr_assert(eq(int, fx_waitpid(pid, 5000), 128 + SIGKILL));
    /* Getting the marker proves the daemon closed the dead session (its
     * waits are cancelled before its locks are released). */
    cr_assert(eq(int, sync_lock_acquire(marker, true, 5.0), 0));
    cr_assert(eq(int, sync_lock_owner_died(marker), 1));

    /* The dead waiter takes no permit... */
    cr_assert(eq(int, sync_sem_value(s), 0));
    cr_assert(eq(int, sync_sem_release(s, 1), 0));
    cr_assert(eq(int, sync_sem_value(s), 1));
    cr_assert(eq(int, sync_sem_acquire(s, false, -1), 0));
    cr_assert(eq(int, sync_sem_value(s), 0));
    /* ...and is not handed the lock. */
    cr_assert(eq(int, sync_lock_release(busy), 0));
    cr_assert(eq(int, sync_lock_locked(busy), 0));
    cr_assert(eq(int, sync_lock_open(other, "crash/busy", &busy2), 0));
    cr_assert(eq(int, sync_lock_acquire(busy2, false, -1), 0));
    /* It never held the lock, so nobody died holding it. */
    cr_assert(eq(int, sync_lock_owner_died(busy2), 0));
    cr_assert(eq(int, sync_lock_release(busy2), 0));
    cr_assert(eq(int, sync_lock_acquire(busy, true, 1.0), 0));
    cr_assert(eq(int, sync_lock_release(busy), 0));
    cr_assert(eq(int, sync_lock_release(marker), 0));

    close(p[0]);
    sync_lock_close(busy);
    sync_lock_close(busy2);
    sync_lock_close(marker);
    sync_sem_close(s);
    sync_disconnect(c);
    sync_disconnect(other);
}

Test(crash, close_while_holding_counts_as_owner_died)
{
    sync_client *a = connect_ok(), *b = connect_ok();
    sync_lock *la, *lb;

    cr_assert(eq(int, sync_lock_open(a, "crash/closed", &la), 0));
    cr_assert(eq(int, sync_lock_open(b, "crash/closed", &lb), 0));
    cr_assert(eq(int, sync_lock_acquire(la, true, -1), 0));
    sync_lock_close(la);
    /* The close returned only after the daemon released the lock. */
    cr_assert(eq(int, sync_lock_locked(lb), 0));
    cr_assert(eq(int, sync_lock_acquire(lb, false, -1), 0));
    cr_assert(eq(int, sync_lock_owner_died(lb), 1));
    cr_assert(eq(int, sync_lock_release(lb), 0));
    cr_assert(syncd_fixture_log_contains("lock 'crash/closed' released", 2000));
    sync_lock_close(lb);
    sync_disconnect(a);
    sync_disconnect(b);
}

Test(crash, disconnect_while_holding_counts_as_owner_died)
{
    sync_client *a = connect_ok(), *b = connect_ok();
    sync_lock *la, *lb;

    cr_assert(eq(int, sync_lock_open(a, "crash/disc", &la), 0));
    cr_assert(eq(int, sync_lock_open(b, "crash/disc", &lb), 0));
    cr_assert(eq(int, sync_lock_acquire(la, true, -1), 0));
    sync_disconnect(a);
    /* The daemon sees the EOF asynchronously: wait for the lock. */
    cr_assert(eq(int, sync_lock_acquire(lb, true, 5.0), 0));
    cr_assert(eq(int, sync_lock_owner_died(lb), 1));
    cr_assert(eq(int, sync_lock_release(lb), 0));
    /* Objects of a disconnected client still have to be closed. */
    sync_lock_close(la);
    sync_lock_close(lb);
    sync_disconnect(b);
}
