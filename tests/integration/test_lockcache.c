/*
 * test_lockcache.c: lock caching across real processes (docs/lock-caching.md).
 * A Lock or RLock its client takes twice in a row is lent to that client:
 * acquire and release then work while the daemon is stopped (no socket).
 * Every promise holds with it: another client gets the lock (FIFO, tokens
 * above every token used locally), crash release within 100 ms with
 * owner-died only for a real hold, deadlock detection of locally held
 * locks, syncctl show tells held from cached, timeouts, SYNC_EPERM on a
 * foreign release, RLock depth, Condition waits, fork, and the three ways
 * to turn it off.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "daemon_fixture.h"
#include "syncclient.h"

TestSuite(lockcache, .init = syncd_fixture_init, .fini = syncd_fixture_fini,
          .timeout = 30);

static sync_client *connect_ok(void)
{
    sync_client *c = NULL;

    cr_assert(eq(int, sync_connect(syncd_fx.sock, &c), 0));
    return c;
}

/* Take l twice (the second grant lends it), leave it free. */
static void make_cached(sync_lock *l)
{
    int i;

    for (i = 0; i < 2; i++) {
        cr_assert(eq(int, sync_lock_acquire(l, true, 5.0), 0));
        cr_assert(eq(int, sync_lock_release(l), 0));
    }
}

/* With the daemon stopped, n acquire/release pairs of l finish only if they
 * touch no socket: true when all n finished within 2 s. */
static bool pairs_without_daemon(sync_lock *l, int n)
{
    atomic_int *done = fx_shared(sizeof(*done));
    pid_t pid;
    int i, ok = 1;

    (void)done;
    cr_assert(eq(int, kill(syncd_fx.pid, SIGSTOP), 0));
    for (i = 0; i < n && ok; i++) {
        /* A request would block here until SIGCONT: bound it with a
         * watchdog that resumes the daemon after 2 s. */
        if (i == 0) {
            pid = fx_fork();
            if (pid == 0) {
                fx_sleep_ms(2000);
                kill(getppid(), SIGUSR1);
                _exit(0);
            }
        }
        ok = sync_lock_acquire(l, true, 1.0) == 0 &&
             sync_lock_release(l) == 0;
    }
    kill(pid, SIGKILL);
    fx_waitpid(pid, 5000);
    cr_assert(eq(int, kill(syncd_fx.pid, SIGCONT), 0));
    return ok && i == n;
}

Test(lockcache, retaken_lock_is_lent_and_needs_no_daemon)
{
    sync_client *c = connect_ok();
    sync_lock *l;
    uint64_t t0, t;
    int i;

    signal(SIGUSR1, SIG_IGN);
    cr_assert(eq(int, sync_lock_open(c, "lc/a", &l), 0));
    make_cached(l);
    t0 = sync_lock_token(l);
    cr_assert(pairs_without_daemon(l, 1000));
    /* Tokens go on one by one from the daemon's. */
    for (i = 1; i <= 100; i++) {
        cr_assert(eq(int, sync_lock_acquire(l, false, -1), 0));
        t = sync_lock_token(l);
        cr_assert(eq(u64, t, t0 + 1000 + (uint64_t)i));
        cr_assert(eq(int, sync_lock_locked(l), 1));
        cr_assert(eq(int, sync_lock_release(l), 0));
    }
    cr_assert(eq(int, sync_lock_locked(l), 0));
    /* Releasing a free lent lock is Python's RuntimeError. */
    cr_assert(eq(int, sync_lock_release(l), SYNC_EPERM));
    sync_lock_close(l);
    sync_disconnect(c);
}

/* A child: connect, cache `name`, optionally hold it, report its last
 * token in *tok, signal ready, then sleep until killed (or release on a
 * byte from go and exit). */
static pid_t spawn_cacher(const char *name, bool hold, uint64_t *tok,
                          int *ready, int *go)
{
    int p[2], q[2];
    pid_t pid;

    cr_assert(eq(int, pipe(p), 0));
    cr_assert(eq(int, pipe(q), 0));
    pid = fx_fork();
    if (pid == 0) {
        sync_client *c;
        sync_lock *l;
        int i;

        close(p[0]);
        close(q[1]);
        if (sync_connect(syncd_fx.sock, &c) != 0 ||
            sync_lock_open(c, name, &l) != 0)
            _exit(2);
        for (i = 0; i < 50; i++)
            if (sync_lock_acquire(l, true, 5.0) != 0 ||
                sync_lock_release(l) != 0)
                _exit(3);
        if (hold && sync_lock_acquire(l, true, 5.0) != 0)
            _exit(4);
        *tok = sync_lock_token(l);
        fx_signal(p[1]);
        if (fx_await(q[0], 20000) != 1)
            _exit(5);
        if (hold && sync_lock_release(l) != 0)
            _exit(6);
        _exit(0);
    }
    close(p[1]);
    close(q[0]);
    *ready = p[0];
    *go = q[1];
    return pid;
}

/* syncctl's view through the daemon: the object's state string. */
static void show_state(const char *name, char *out, size_t size)
{
    char cmd[512];
    FILE *f;

    snprintf(cmd, sizeof(cmd), "%s --socket %s show %s", SYNCCTL_BIN,
             syncd_fx.sock, name);
    f = popen(cmd, "r");
    cr_assert(not(eq(ptr, f, NULL)));
    out[0] = '\0';
    while (fgets(cmd, sizeof(cmd), f) != NULL)
        if (strncmp(cmd, "state:", 6) == 0)
            snprintf(out, size, "%s", cmd + 6 + strspn(cmd + 6, " "));
    pclose(f);
    out[strcspn(out, "\n")] = '\0';
}

Test(lockcache, another_client_gets_a_cached_free_lock_at_once)
{
    uint64_t *tok = fx_shared(sizeof(*tok));
    sync_client *c = connect_ok();
    sync_lock *l;
    int ready, go;
    char state[64];
    double t;
    pid_t pid = spawn_cacher("lc/b", false, tok, &ready, &go);

    cr_assert(eq(int, fx_await(ready, 10000), 1));
    show_state("lc/b", state, sizeof(state));
    cr_assert(eq(str, state, "cached, free"));
    cr_assert(eq(int, sync_lock_open(c, "lc/b", &l), 0));
    t = fx_now();
    cr_assert(eq(int, sync_lock_acquire(l, true, 5.0), 0));
    cr_assert(lt(dbl, fx_now() - t, 0.5));
    cr_assert(gt(u64, sync_lock_token(l), *tok));
    cr_assert(eq(int, sync_lock_owner_died(l), 0));
    show_state("lc/b", state, sizeof(state));
    cr_assert(eq(str, state, "locked"));
    cr_assert(eq(int, sync_lock_release(l), 0));
    fx_signal(go);
    cr_assert(eq(int, fx_waitpid(pid, 5000), 0));
    sync_lock_close(l);
    sync_disconnect(c);
}

struct acq_arg {
    sync_lock *l;
    double timeout;
    atomic_int done;
    int rv;
    uint64_t token;
    double t_done;
};

static void *acq_thread(void *p)
{
    struct acq_arg *a = p;

    a->rv = sync_lock_acquire(a->l, true, a->timeout);
    a->token = sync_lock_token(a->l);
    a->t_done = fx_now();
    atomic_store(&a->done, 1);
    return NULL;
}

Test(lockcache, a_locally_held_lock_waits_for_its_release_then_fifo)
{
    uint64_t *tok = fx_shared(sizeof(*tok));
    sync_client *c1 = connect_ok(), *c2 = connect_ok();
    sync_lock *l1, *l2;
    struct acq_arg a = {.timeout = 10.0}, b = {.timeout = 10.0};
    pthread_t ta, tb;
    int ready, go;
    char state[64];
    double t_go;
    pid_t pid = spawn_cacher("lc/c", true, tok, &ready, &go);

    cr_assert(eq(int, fx_await(ready, 10000), 1));
    show_state("lc/c", state, sizeof(state));
    cr_assert(eq(str, state, "held (cached)"));
    cr_assert(eq(int, sync_lock_open(c1, "lc/c", &l1), 0));
    cr_assert(eq(int, sync_lock_open(c2, "lc/c", &l2), 0));
    /* Timeouts as always: the local hold is the daemon's hold now. */
    cr_assert(eq(int, sync_lock_acquire(l1, false, -1), SYNC_ETIMEDOUT));
    t_go = fx_now();
    cr_assert(eq(int, sync_lock_acquire(l1, true, 0.2), SYNC_ETIMEDOUT));
    cr_assert(ge(dbl, fx_now() - t_go, 0.2));
    /* Foreign release: the lock is held by another client. */
    cr_assert(eq(int, sync_lock_release(l1), SYNC_EPERM));
    a.l = l1;
    b.l = l2;
    pthread_create(&ta, NULL, acq_thread, &a);
    fx_sleep_ms(100);
    pthread_create(&tb, NULL, acq_thread, &b);
    fx_sleep_ms(200);
    cr_assert(eq(int, atomic_load(&a.done), 0));
    cr_assert(eq(int, atomic_load(&b.done), 0));
    t_go = fx_now();
    fx_signal(go); /* the child releases (now through the daemon) */
    pthread_join(ta, NULL);
    cr_assert(eq(int, a.rv, 0));
    cr_assert(lt(dbl, a.t_done - t_go, 0.5));
    cr_assert(gt(u64, a.token, *tok));
    fx_sleep_ms(100);
    cr_assert(eq(int, atomic_load(&b.done), 0)); /* FIFO: a first */
    cr_assert(eq(int, sync_lock_release(l1), 0));
    pthread_join(tb, NULL);
    cr_assert(eq(int, b.rv, 0));
    cr_assert(gt(u64, b.token, a.token));
    cr_assert(eq(int, sync_lock_release(l2), 0));
    cr_assert(eq(int, fx_waitpid(pid, 5000), 0));
    sync_lock_close(l1);
    sync_lock_close(l2);
    sync_disconnect(c1);
    sync_disconnect(c2);
}

/* kill -9 of a client that cached the lock: the waiter gets it within
 * 100 ms, told owner-died exactly when the lock was held. */
static void crash_case(const char *name, bool hold)
{
    uint64_t *tok = fx_shared(sizeof(*tok));
    sync_client *c = connect_ok();
    sync_lock *l;
    struct acq_arg a = {.timeout = 10.0};
    pthread_t ta;
    int ready, go;
    double t_kill;
    pid_t pid = spawn_cacher(name, hold, tok, &ready, &go);

    cr_assert(eq(int, fx_await(ready, 10000), 1));
    cr_assert(eq(int, sync_lock_open(c, name, &l), 0));
    a.l = l;
    if (hold) {
        pthread_create(&ta, NULL, acq_thread, &a);
        fx_sleep_ms(200);
        cr_assert(eq(int, atomic_load(&a.done), 0));
    }
    t_kill = fx_now();
    kill(pid, SIGKILL);
    if (!hold) {
        cr_assert(eq(int, fx_waitpid(pid, 5000), 128 + SIGKILL));
        fx_sleep_ms(100);
        pthread_create(&ta, NULL, acq_thread, &a);
    }
    pthread_join(ta, NULL);
    cr_assert(eq(int, a.rv, 0));
    if (hold)
        cr_assert(lt(dbl, a.t_done - t_kill, syncd_latency_s(0.1)),
                  "lock came %.3f s after the kill", a.t_done - t_kill);
    cr_assert(eq(int, sync_lock_owner_died(l), hold ? 1 : 0));
    cr_assert(gt(u64, a.token, *tok));
    cr_assert(eq(int, sync_lock_release(l), 0));
    if (hold)
        cr_assert(eq(int, fx_waitpid(pid, 5000), 128 + SIGKILL));
    sync_lock_close(l);
    sync_disconnect(c);
}

Test(lockcache, crash_while_held_locally_is_owner_died_within_100ms)
{
    crash_case("lc/d", true);
}

Test(lockcache, crash_while_only_cached_is_not_owner_died)
{
    crash_case("lc/e", false);
}

/* Thread of client a: take x in the page, then wait for y. */
struct dl_arg {
    sync_lock *x, *y;
    atomic_int holds_x, done;
    int rv;
};

static void *dl_thread(void *p)
{
    struct dl_arg *d = p;

    if (sync_lock_acquire(d->x, true, 1.0) != 0)
        return NULL;
    atomic_store(&d->holds_x, 1);
    d->rv = sync_lock_acquire(d->y, true, 10.0);
    atomic_store(&d->done, 1);
    if (d->rv == 0)
        sync_lock_release(d->y);
    sync_lock_release(d->x);
    return NULL;
}

Test(lockcache, deadlock_detection_sees_a_locally_held_lock)
{
    sync_client *a = connect_ok(), *b = connect_ok();
    sync_lock *b1, *b2;
    struct dl_arg d = {0};
    pthread_t t;

    cr_assert(eq(int, sync_lock_open(a, "lc/x", &d.x), 0));
    cr_assert(eq(int, sync_lock_open(a, "lc/y", &d.y), 0));
    cr_assert(eq(int, sync_lock_open(b, "lc/x", &b1), 0));
    cr_assert(eq(int, sync_lock_open(b, "lc/y", &b2), 0));
    make_cached(d.x);
    cr_assert(eq(int, sync_lock_acquire(b2, true, 1.0), 0));
    /* a's thread holds x in its page and waits for y, held by b ... */
    pthread_create(&t, NULL, dl_thread, &d);
    fx_sleep_ms(300);
    cr_assert(eq(int, atomic_load(&d.holds_x), 1));
    cr_assert(eq(int, atomic_load(&d.done), 0));
    /* ... so b asking for x would close the cycle: refused at once. */
    cr_assert(eq(int, sync_lock_acquire(b1, true, 5.0), SYNC_EDEADLK));
    cr_assert(eq(int, sync_lock_release(b2), 0));
    pthread_join(t, NULL);
    cr_assert(eq(int, d.rv, 0));
    cr_assert(eq(int, sync_lock_acquire(b1, true, 5.0), 0));
    cr_assert(eq(int, sync_lock_release(b1), 0));
    sync_lock_close(d.x);
    sync_lock_close(d.y);
    sync_lock_close(b1);
    sync_lock_close(b2);
    sync_disconnect(a);
    sync_disconnect(b);
}

struct rl_arg {
    sync_rlock *r;
    int depth, is_owned, release_rv;
};

static void *rl_other_thread(void *p)
{
    struct rl_arg *a = p;

    a->depth = sync_rlock_depth(a->r);
    a->is_owned = sync_rlock_is_owned(a->r);
    a->release_rv = sync_rlock_release(a->r);
    return NULL;
}

Test(lockcache, rlock_depth_and_thread_ownership_hold_when_cached)
{
    sync_client *c = connect_ok(), *o = connect_ok();
    sync_rlock *r, *ro;
    struct rl_arg a = {0};
    pthread_t t;
    int i;

    cr_assert(eq(int, sync_rlock_open(c, "lc/r", &r), 0));
    cr_assert(eq(int, sync_rlock_open(o, "lc/r", &ro), 0));
    for (i = 0; i < 2; i++) {
        cr_assert(eq(int, sync_rlock_acquire(r, true, 1.0), 0));
        cr_assert(eq(int, sync_rlock_release(r), 0));
    }
    for (i = 1; i <= 3; i++) {
        cr_assert(eq(int, sync_rlock_acquire(r, true, 1.0), 0));
        cr_assert(eq(int, sync_rlock_depth(r), i));
    }
    a.r = r;
    pthread_create(&t, NULL, rl_other_thread, &a);
    pthread_join(t, NULL);
    cr_assert(eq(int, a.depth, 0));
    cr_assert(eq(int, a.is_owned, 0));
    cr_assert(eq(int, a.release_rv, SYNC_EPERM));
    /* Another client sees it held (and takes it back from the page). */
    cr_assert(eq(int, sync_rlock_locked(ro), 1));
    cr_assert(eq(int, sync_rlock_acquire(ro, false, -1), SYNC_ETIMEDOUT));
    cr_assert(eq(int, sync_rlock_depth(r), 3));
    for (i = 3; i >= 1; i--)
        cr_assert(eq(int, sync_rlock_release(r), 0));
    cr_assert(eq(int, sync_rlock_release(r), SYNC_EPERM));
    cr_assert(eq(int, sync_rlock_acquire(ro, false, -1), 0));
    cr_assert(eq(int, sync_rlock_release(ro), 0));
    sync_rlock_close(r);
    sync_rlock_close(ro);
    sync_disconnect(c);
    sync_disconnect(o);
}

struct cw_arg {
    sync_cond *cv;
    int rv, locked_after;
};

static void *cond_waiter(void *p)
{
    struct cw_arg *a = p;

    a->rv = sync_cond_wait(a->cv, 5.0);
    a->locked_after = sync_cond_is_owned(a->cv);
    return NULL;
}

Test(lockcache, a_condition_wait_gives_the_cached_lock_back)
{
    sync_client *c = connect_ok(), *o = connect_ok();
    sync_lock *l, *lo;
    sync_cond *cv, *cvo;
    struct cw_arg a = {0};
    pthread_t t;

    cr_assert(eq(int, sync_lock_open(c, "lc/cl", &l), 0));
    cr_assert(eq(int, sync_cond_open(c, "lc/cv", "lc/cl", &cv), 0));
    cr_assert(eq(int, sync_lock_open(o, "lc/cl", &lo), 0));
    cr_assert(eq(int, sync_cond_open(o, "lc/cv", "lc/cl", &cvo), 0));
    make_cached(l);
    /* Taken in the page, waited on through the condition. */
    cr_assert(eq(int, sync_lock_acquire(l, true, 1.0), 0));
    a.cv = cv;
    pthread_create(&t, NULL, cond_waiter, &a);
    /* The wait released the lock: the other client takes it. */
    cr_assert(eq(int, sync_lock_acquire(lo, true, 5.0), 0));
    cr_assert(eq(int, sync_cond_notify(cvo, 1), 0));
    cr_assert(eq(int, sync_lock_release(lo), 0));
    pthread_join(t, NULL);
    cr_assert(eq(int, a.rv, 0));
    cr_assert(eq(int, a.locked_after, 1));
    cr_assert(eq(int, sync_lock_release(l), 0));
    cr_assert(eq(int, sync_lock_acquire(lo, false, -1), 0));
    cr_assert(eq(int, sync_lock_release(lo), 0));
    sync_cond_close(cv);
    sync_cond_close(cvo);
    sync_lock_close(l);
    sync_lock_close(lo);
    sync_disconnect(c);
    sync_disconnect(o);
}

Test(lockcache, a_fork_child_never_inherits_a_cached_lock)
{
    sync_client *c = connect_ok(), *o = connect_ok();
    sync_lock *l, *lo;
    pid_t pid;

    cr_assert(eq(int, sync_lock_open(c, "lc/f", &l), 0));
    cr_assert(eq(int, sync_lock_open(o, "lc/f", &lo), 0));
    make_cached(l);
    pid = fx_fork();
    if (pid == 0) {
        /* The inherited handle fails; the page is not even mapped. */
        _exit(sync_lock_acquire(l, false, -1) == SYNC_EFORKED &&
                      sync_lock_release(l) == SYNC_EFORKED
                  ? 0
                  : 1);
    }
    cr_assert(eq(int, fx_waitpid(pid, 5000), 0));
    /* The parent's cache is untouched and the lock free. */
    cr_assert(eq(int, sync_lock_acquire(l, false, -1), 0));
    cr_assert(eq(int, sync_lock_release(l), 0));
    cr_assert(eq(int, sync_lock_acquire(lo, false, -1), 0));
    cr_assert(eq(int, sync_lock_release(lo), 0));
    sync_lock_close(l);
    sync_lock_close(lo);
    sync_disconnect(c);
    sync_disconnect(o);
}

/* Two processes take turns in bursts of 100: one holder at a time, every
 * token above every earlier one, across lendings and take-backs. */
Test(lockcache, bursts_keep_mutual_exclusion_and_token_order)
{
    struct shared {
        atomic_int inside;
        atomic_int violations;
        atomic_ullong last;
    } *sh = fx_shared(sizeof(*sh));
    pid_t pid[2];
    int k;

    for (k = 0; k < 2; k++) {
        pid[k] = fx_fork();
        if (pid[k] == 0) {
            sync_client *c;
            sync_lock *l;
            int round, i;

            if (sync_connect(syncd_fx.sock, &c) != 0 ||
                sync_lock_open(c, "lc/burst", &l) != 0)
                _exit(2);
            for (round = 0; round < 20; round++) {
                for (i = 0; i < 100; i++) {
                    if (sync_lock_acquire(l, true, 10.0) != 0)
                        _exit(3);
                    if (atomic_fetch_add(&sh->inside, 1) != 0 ||
                        sync_lock_token(l) <= atomic_load(&sh->last))
                        atomic_fetch_add(&sh->violations, 1);
                    atomic_store(&sh->last, sync_lock_token(l));
                    atomic_fetch_sub(&sh->inside, 1);
                    if (sync_lock_release(l) != 0)
                        _exit(4);
                }
                usleep(200);
            }
            _exit(0);
        }
    }
    for (k = 0; k < 2; k++)
        cr_assert(eq(int, fx_waitpid(pid[k], 25000), 0));
    cr_assert(eq(int, atomic_load(&sh->violations), 0));
    cr_assert(ge(u64, (uint64_t)atomic_load(&sh->last), 4000));
}

/* Caching off for this client: a stopped daemon stops its acquires. */
static void expect_not_cached(sync_client *c, const char *name)
{
    sync_lock *l;
    pid_t pid;
    int rv;

    cr_assert(eq(int, sync_lock_open(c, name, &l), 0));
    make_cached(l);
    make_cached(l);
    cr_assert(eq(int, kill(syncd_fx.pid, SIGSTOP), 0));
    pid = fx_fork();
    if (pid == 0) {
        fx_sleep_ms(300);
        kill(syncd_fx.pid, SIGCONT);
        _exit(0);
    }
    /* Blocks until the daemon runs again: a request went out. */
    {
        double t = fx_now();

        rv = sync_lock_acquire(l, true, 5.0);
        cr_assert(eq(int, rv, 0));
        cr_assert(ge(dbl, fx_now() - t, 0.2));
    }
    cr_assert(eq(int, fx_waitpid(pid, 5000), 0));
    cr_assert(eq(int, sync_lock_release(l), 0));
    sync_lock_close(l);
}

Test(lockcache, sync_set_lock_cache_false_turns_it_off)
{
    sync_client *c = connect_ok();

    cr_assert(eq(int, sync_set_lock_cache(c, false), 0));
    expect_not_cached(c, "lc/off1");
    sync_disconnect(c);
}

Test(lockcache, syncd_cache_0_in_the_environment_turns_it_off)
{
    sync_client *c;

    setenv("SYNCD_CACHE", "0", 1);
    c = connect_ok();
    expect_not_cached(c, "lc/off2");
    sync_disconnect(c);
}

static void init_cache_off(void)
{
    syncd_fixture_start((const char *[]){"--lock-cache", "off", NULL});
}

TestSuite(lockcache_off, .init = init_cache_off,
          .fini = syncd_fixture_fini, .timeout = 30);

Test(lockcache_off, daemon_lock_cache_off_lends_nothing)
{
    sync_client *c = connect_ok();

    expect_not_cached(c, "lc/off3");
    sync_disconnect(c);
}

/* kill -9 of the daemon: the kernel marks the daemon's robust mutex in
 * the liveness page, and a lent lock is never taken or released in the
 * page again (it would be a second holder once a new daemon runs). */
Test(lockcache, a_lent_lock_dies_with_the_daemon)
{
    sync_client *c = connect_ok(), *o;
    sync_lock *l, *lo;

    cr_assert(eq(int, sync_lock_open(c, "lc/dead", &l), 0));
    make_cached(l);
    cr_assert(eq(int, sync_lock_acquire(l, true, 1.0), 0)); /* in the page */
    cr_assert(eq(int, syncd_fixture_kill(SIGKILL), 128 + SIGKILL));
    /* No daemon: the page says nothing any more. */
    cr_assert(eq(int, sync_lock_release(l), SYNC_ECONN));
    cr_assert(eq(int, sync_lock_acquire(l, false, -1), SYNC_ECONN));
    /* A new daemon: another client takes the lock; the old client still
     * cannot. */
    syncd_fixture_start(NULL);
    o = connect_ok();
    cr_assert(eq(int, sync_lock_open(o, "lc/dead", &lo), 0));
    cr_assert(eq(int, sync_lock_acquire(lo, false, -1), 0));
    cr_assert(eq(int, sync_lock_acquire(l, false, -1), SYNC_ECONN));
    cr_assert(eq(int, sync_lock_release(lo), 0));
    sync_lock_close(lo);
    sync_disconnect(o);
    sync_lock_close(l);
    sync_disconnect(c);
}
