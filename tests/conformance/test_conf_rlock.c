/*
 * test_conf_rlock.c: threading.RLock ("RLock Objects"), each promise as a
 * test, with threads sharing one client and with processes; then what a
 * process adds: an owner killed at depth 3 frees every level at once,
 * flagged owner-died, and wait-for cycles between RLocks are refused.
 *
 * An RLock is owned by a (client, thread) pair, so threads of one process
 * are as foreign to each other as processes are, as in Python.
 */
#include <unistd.h>

#include "conf_util.h"

CONF_SUITE(rlock);

struct rl {
    atomic_int trying; /* the worker is about to block in acquire */
    atomic_int got;    /* the worker acquired */
    atomic_int held;   /* the holder holds it */
    double t_got;
    int owner_died;
    struct conf_chan step, go;
};

static struct rl *rl_new(void)
{
    struct rl *s = conf_shared(sizeof(*s));

    conf_chan_init(&s->step);
    conf_chan_init(&s->go);
    return s;
}

static void rl_free(struct rl *s)
{
    conf_chan_close(&s->step);
    conf_chan_close(&s->go);
}

static sync_rlock *rl_open(sync_client *c, const char *name)
{
    sync_rlock *r = NULL;

    cr_assert(eq(int, sync_rlock_open(c, name, &r), 0));
    return r;
}

/* ---- reentrancy ------------------------------------------------------- */

static int w_nested(sync_client *c, int idx, void *arg)
{
    struct rl *s = arg;
    sync_rlock *r;
    double t0;
    int i;

    (void)idx;
    W_EQ(sync_rlock_open(c, "R", &r), 0);
    t0 = fx_now();
    for (i = 0; i < 3; i++)
        W_EQ(sync_rlock_acquire(r, true, -1), 0);
    W_EQ(sync_rlock_acquire(r, false, -1), 0); /* a 4th, try-acquire */
    W_TRUE(fx_now() - t0 < CONF_PROMPT_S);
    W_EQ(sync_rlock_locked(r), 1);
    /* Unwind level by level; the test probes after each release. */
    for (i = 0; i < 4; i++) {
        conf_chan_signal(&s->step, 1);
        W_EQ(conf_chan_await(&s->go, 10000), 1);
        W_EQ(sync_rlock_release(r), 0);
    }
    conf_chan_signal(&s->step, 1);
    W_EQ(conf_chan_await(&s->go, 10000), 1);
    W_EQ(sync_rlock_release(r), SYNC_EPERM);
    sync_rlock_close(r);
    return 0;
}

/*
 * "A reentrant lock is a synchronization primitive that may be acquired
 * multiple times by the same thread."
 * "if this thread already owns the lock, increment the recursion level by
 * one, and return immediately."
 * "acquire()/release() call pairs may be nested; only the final release()
 * (the release() of the outermost pair) resets the lock to unlocked"
 * "If after the decrement the recursion level is still nonzero, the lock
 * remains locked and owned by the calling thread."
 */
CONF_BOTH(rlock, nested_acquire_and_only_final_release_unlocks,
          .timeout = 20)
{
    sync_client *c = conf_connect();
    sync_rlock *r = rl_open(c, "R");
    struct rl *s = rl_new();
    struct conf_group *g = conf_spawn(mode, c, 1, w_nested, s);
    int level;

    for (level = 4; level > 0; level--) {
        cr_assert(eq(int, conf_chan_await(&s->step, 10000), 1));
        cr_assert(eq(int, sync_rlock_locked(r), 1), "level %d", level);
        cr_assert(eq(int, sync_rlock_acquire(r, false, -1), SYNC_ETIMEDOUT),
                  "level %d", level);
        conf_chan_signal(&s->go, 1);
    }
    cr_assert(eq(int, conf_chan_await(&s->step, 10000), 1));
    cr_assert(eq(int, sync_rlock_locked(r), 0));
    cr_assert(eq(int, sync_rlock_acquire(r, false, -1), 0));
    cr_assert(eq(int, sync_rlock_release(r), 0));
    conf_chan_signal(&s->go, 1);
    conf_join(g, 10000);
    rl_free(s);
    sync_rlock_close(r);
    sync_disconnect(c);
}

static int w_waiter(sync_client *c, int idx, void *arg)
{
    struct rl *s = arg;
    sync_rlock *r;

    (void)idx;
    W_EQ(sync_rlock_open(c, "R", &r), 0);
    atomic_store(&s->trying, 1);
    W_EQ(sync_rlock_acquire(r, true, 10.0), 0);
    s->t_got = fx_now();
    atomic_store(&s->got, 1);
    W_EQ(sync_rlock_release(r), 0);
    W_EQ(sync_rlock_locked(r), 0);
    sync_rlock_close(r);
    return 0;
}

/*
 * "only the final release() (the release() of the outermost pair) resets
 * the lock to unlocked and allows another thread blocked in acquire() to
 * proceed."
 * "Otherwise, if another thread owns the lock, block until the lock is
 * unlocked. Once the lock is unlocked (not owned by any thread), then grab
 * ownership, set the recursion level to one, and return."
 */
CONF_BOTH(rlock, blocked_waiter_proceeds_after_final_release, .timeout = 20)
{
    sync_client *c = conf_connect();
    sync_rlock *r = rl_open(c, "R");
    struct rl *s = rl_new();
    struct conf_group *g;
    double t_rel;

    cr_assert(eq(int, sync_rlock_acquire(r, true, -1), 0));
    cr_assert(eq(int, sync_rlock_acquire(r, true, -1), 0));
    g = conf_spawn(mode, c, 1, w_waiter, s);
    CONF_WAIT_UNTIL(atomic_load(&s->trying) == 1, 5000);
    fx_sleep_ms(CONF_SETTLE_MS);
    cr_assert(eq(int, sync_rlock_release(r), 0));
    fx_sleep_ms(CONF_SETTLE_MS);
    cr_assert(eq(int, atomic_load(&s->got), 0),
              "proceeded before the final release");
    t_rel = fx_now();
    cr_assert(eq(int, sync_rlock_release(r), 0));
    conf_join(g, 10000);
    cr_assert(ge(dbl, s->t_got, t_rel));
    /* The waiter got recursion level one: its single release freed it. */
    cr_assert(eq(int, sync_rlock_locked(r), 0));
    rl_free(s);
    sync_rlock_close(r);
    sync_disconnect(c);
}

static int w_try_timeout(sync_client *c, int idx, void *arg)
{
    struct rl *s = arg;
    sync_rlock *r;
    double t0, dt;

    (void)idx;
    W_EQ(sync_rlock_open(c, "R", &r), 0);
    t0 = fx_now();
    W_EQ(sync_rlock_acquire(r, false, -1), SYNC_ETIMEDOUT);
    W_TRUE(fx_now() - t0 < CONF_PROMPT_S);
    W_EQ(sync_rlock_acquire(r, false, 0.5), SYNC_EINVAL);
    t0 = fx_now();
    W_EQ(sync_rlock_acquire(r, true, 0.25), SYNC_ETIMEDOUT);
    dt = fx_now() - t0;
    W_TRUE(dt >= 0.25 && dt < 0.25 + CONF_LATE_S);
    /* Timed out: it does not own it, so it may not release it. */
    W_EQ(sync_rlock_release(r), SYNC_EPERM);
    conf_chan_signal(&s->step, 1);
    W_EQ(conf_chan_await(&s->go, 10000), 1);
    W_EQ(sync_rlock_acquire(r, false, -1), 0);
    W_EQ(sync_rlock_release(r), 0);
    sync_rlock_close(r);
    return 0;
}

/*
 * "When invoked with the blocking argument set to False, do not block. If
 * a call without an argument would block, return False immediately;
 * otherwise, do the same thing as when called without arguments, and
 * return True."
 * "When invoked with the floating-point timeout argument set to a positive
 * value, block for at most the number of seconds specified by timeout and
 * as long as the lock cannot be acquired. Return True if the lock has been
 * acquired, False if the timeout has elapsed."
 */
CONF_BOTH(rlock, try_acquire_and_timeout, .timeout = 20)
{
    sync_client *c = conf_connect();
    sync_rlock *r = rl_open(c, "R");
    struct rl *s = rl_new();
    struct conf_group *g;

    cr_assert(eq(int, sync_rlock_acquire(r, true, -1), 0));
    g = conf_spawn(mode, c, 1, w_try_timeout, s);
    cr_assert(eq(int, conf_chan_await(&s->step, 10000), 1));
    cr_assert(eq(int, sync_rlock_release(r), 0));
    conf_chan_signal(&s->go, 1);
    conf_join(g, 10000);
    rl_free(s);
    sync_rlock_close(r);
    sync_disconnect(c);
}

/* ---- release ---------------------------------------------------------- */

static int w_release_unowned(sync_client *c, int idx, void *arg)
{
    sync_rlock *r;

    (void)idx;
    (void)arg;
    W_EQ(sync_rlock_open(c, "fresh", &r), 0);
    W_EQ(sync_rlock_release(r), SYNC_EPERM);
    W_EQ(sync_rlock_acquire(r, true, -1), 0);
    W_EQ(sync_rlock_release(r), 0);
    W_EQ(sync_rlock_release(r), SYNC_EPERM);
    sync_rlock_close(r);
    return 0;
}

/*
 * "Only call this method when the calling thread owns the lock. A
 * RuntimeError is raised if this method is called when the lock is not
 * acquired."
 */
CONF_BOTH(rlock, release_when_not_acquired_is_eperm, .timeout = 20)
{
    sync_client *c = conf_connect();

    conf_join(conf_spawn(mode, c, 1, w_release_unowned, NULL), 10000);
    sync_disconnect(c);
}

static int w_foreign_release(sync_client *c, int idx, void *arg)
{
    sync_rlock *r;

    (void)idx;
    (void)arg;
    W_EQ(sync_rlock_open(c, "R", &r), 0);
    W_EQ(sync_rlock_release(r), SYNC_EPERM);
    W_EQ(sync_rlock_locked(r), 1);
    sync_rlock_close(r);
    return 0;
}

/*
 * threading.RLock: "A reentrant lock must be released by the thread that
 * acquired it."  Another thread of the same process (same client) and
 * another process both get RuntimeError (SYNC_EPERM); the lock stays held.
 */
CONF_BOTH(rlock, release_by_another_thread_is_eperm, .timeout = 20)
{
    sync_client *c = conf_connect();
    sync_rlock *r = rl_open(c, "R");

    cr_assert(eq(int, sync_rlock_acquire(r, true, -1), 0));
    cr_assert(eq(int, sync_rlock_acquire(r, true, -1), 0));
    conf_join(conf_spawn(mode, c, 1, w_foreign_release, NULL), 10000);
    cr_assert(eq(int, sync_rlock_release(r), 0));
    cr_assert(eq(int, sync_rlock_release(r), 0));
    cr_assert(eq(int, sync_rlock_locked(r), 0));
    sync_rlock_close(r);
    sync_disconnect(c);
}

/* ---- an owner killed at depth 3 --------------------------------------- */

static int w_kill_roles(sync_client *c, int idx, void *arg)
{
    struct rl *s = arg;
    sync_rlock *r;
    int i;

    W_EQ(sync_rlock_open(c, "R", &r), 0);
    if (idx == 0) { /* the owner: depth 3, then killed */
        for (i = 0; i < 3; i++)
            W_EQ(sync_rlock_acquire(r, true, -1), 0);
        atomic_store(&s->held, 1);
        for (;;)
            pause();
    }
    W_WAIT_UNTIL(atomic_load(&s->held) == 1, 10000);
    W_EQ(sync_rlock_acquire(r, false, -1), SYNC_ETIMEDOUT);
    atomic_store(&s->trying, 1);
    W_EQ(sync_rlock_acquire(r, true, 10.0), 0);
    s->t_got = fx_now();
    s->owner_died = sync_rlock_owner_died(r);
    /* All three levels went with the owner: one release frees it. */
    W_EQ(sync_rlock_release(r), 0);
    W_EQ(sync_rlock_locked(r), 0);
    W_EQ(sync_rlock_release(r), SYNC_EPERM);
    /* The flag is spent on the first acquisition after the death. */
    W_EQ(sync_rlock_acquire(r, true, 5.0), 0);
    W_EQ(sync_rlock_owner_died(r), 0);
    W_EQ(sync_rlock_release(r), 0);
    sync_rlock_close(r);
    return 0;
}

/*
 * syncclient.h: "When the client dies every level goes at once and the
 * next holder's sync_rlock_owner_died() is 1."  (Python has no processes
 * to die; this is what replaces a thread that never releases.)
 */
Test(rlock, killed_owner_at_depth_3_frees_every_level_at_once,
     .timeout = 20)
{
    sync_client *c = conf_connect();
    struct rl *s = rl_new();
    struct conf_group *g = conf_spawn(CONF_PROCS, c, 2, w_kill_roles, s);
    double t_kill;

    CONF_WAIT_UNTIL(atomic_load(&s->trying) == 1, 5000);
    fx_sleep_ms(CONF_SETTLE_MS);
    cr_assert(eq(int, conf_done(g, 1), 0), "waiter did not block");
    t_kill = fx_now();
    conf_kill(g, 0);
    conf_join(g, 10000);
    cr_assert(eq(int, s->owner_died, 1));
    cr_assert(lt(dbl, s->t_got - t_kill, CONF_PROMPT_S), "took %.3f s",
              s->t_got - t_kill);
    rl_free(s);
    sync_disconnect(c);
}

/* ---- deadlock detection (syncd) --------------------------------------- */

struct rl_cycle {
    atomic_int held[2];
    atomic_int waiting;
    int rv[2];
};

static const char *const cycle_names[] = {"R0", "R1"};

static int w_cycle(sync_client *c, int idx, void *arg)
{
    struct rl_cycle *s = arg;
    sync_rlock *mine, *other;

    W_EQ(sync_rlock_open(c, cycle_names[idx], &mine), 0);
    W_EQ(sync_rlock_open(c, cycle_names[1 - idx], &other), 0);
    W_EQ(sync_rlock_acquire(mine, true, -1), 0);
    W_EQ(sync_rlock_acquire(mine, true, -1), 0); /* depth 2 */
    atomic_store(&s->held[idx], 1);
    W_WAIT_UNTIL(atomic_load(&s->held[1 - idx]) == 1, 10000);
    if (idx == 1) {
        /* Let worker 0 queue on R1 first: then this closes the cycle. */
        W_WAIT_UNTIL(atomic_load(&s->waiting) == 1, 10000);
        fx_sleep_ms(CONF_SETTLE_MS);
    } else {
        atomic_store(&s->waiting, 1);
    }
    s->rv[idx] = sync_rlock_acquire(other, true, 5.0);
    if (s->rv[idx] == 0)
        W_EQ(sync_rlock_release(other), 0);
    W_EQ(sync_rlock_release(mine), 0);
    W_EQ(sync_rlock_release(mine), 0);
    sync_rlock_close(other);
    sync_rlock_close(mine);
    return 0;
}

/*
 * syncclient.h: "SYNC_EDEADLK when waiting would close a wait-for cycle."
 * Worker 0 holds R0 (depth 2) and waits for R1; worker 1 holds R1 and asks
 * for R0: it is refused at once, backs off, and worker 0 gets R1.
 */
CONF_BOTH(rlock, crossed_acquires_are_refused_as_deadlock, .timeout = 20)
{
    sync_client *c = conf_connect();
    struct rl_cycle *s = conf_shared(sizeof(*s));

    conf_join(conf_spawn(mode, c, 2, w_cycle, s), 15000);
    cr_assert(eq(int, s->rv[0], 0));
    cr_assert(eq(int, s->rv[1], SYNC_EDEADLK));
    sync_disconnect(c);
}
