/*
 * test_conf_lock.c: threading.Lock ("Lock Objects" in the Python library
 * reference), each promise as a test, run with threads sharing one client
 * and with processes; then syncd's deadlock detection (no false
 * positives, a closed cycle refused).
 *
 * Known difference: a syncd Lock is owned by the client (connection) that
 * acquired it, so "release ... can be called from any thread" holds for
 * the threads of that client only; another process gets SYNC_EPERM.
 */
#include <unistd.h>

#include "conf_util.h"

CONF_SUITE(lock);

#define LK_W 4

/* State shared by a scenario's test and workers. */
struct lk {
    atomic_int trying;  /* workers about to block in acquire */
    atomic_int got;     /* workers that acquired */
    atomic_int inside;  /* holders right now */
    double t_got[LK_W];
    struct conf_chan go, next, step;
};

static struct lk *lk_new(void)
{
    struct lk *s = conf_shared(sizeof(*s));

    conf_chan_init(&s->go);
    conf_chan_init(&s->next);
    conf_chan_init(&s->step);
    return s;
}

static void lk_free(struct lk *s)
{
    conf_chan_close(&s->go);
    conf_chan_close(&s->next);
    conf_chan_close(&s->step);
}

static sync_lock *lk_open(sync_client *c, const char *name)
{
    sync_lock *l = NULL;

    cr_assert(eq(int, sync_lock_open(c, name, &l), 0));
    return l;
}

/* ---- states ---------------------------------------------------------- */

static int w_states(sync_client *c, int idx, void *arg)
{
    sync_lock *l;

    (void)idx;
    (void)arg;
    W_EQ(sync_lock_open(c, "L", &l), 0);
    W_EQ(sync_lock_locked(l), 0);
    W_EQ(sync_lock_acquire(l, true, -1), 0);
    W_EQ(sync_lock_locked(l), 1);
    W_EQ(sync_lock_release(l), 0);
    W_EQ(sync_lock_locked(l), 0);
    sync_lock_close(l);
    return 0;
}

/*
 * "A primitive lock is in one of two states, "locked" or "unlocked". It is
 * created in the unlocked state."
 * "locked(): Return True if the lock is acquired."
 */
CONF_BOTH(lock, created_unlocked_and_locked_reports_state, .timeout = 20)
{
    sync_client *c = conf_connect();
    sync_lock *l;

    conf_join(conf_spawn(mode, c, 1, w_states, NULL), 10000);
    l = lk_open(c, "L");
    cr_assert(eq(int, sync_lock_locked(l), 0));
    sync_lock_close(l);
    sync_disconnect(c);
}

/* ---- blocking acquire ------------------------------------------------ */

static int w_block(sync_client *c, int idx, void *arg)
{
    struct lk *s = arg;
    sync_lock *l;

    W_EQ(sync_lock_open(c, "L", &l), 0);
    atomic_fetch_add(&s->trying, 1);
    W_EQ(sync_lock_acquire(l, true, -1), 0);
    s->t_got[idx] = fx_now();
    atomic_fetch_add(&s->got, 1);
    W_EQ(sync_lock_locked(l), 1);
    W_EQ(sync_lock_release(l), 0);
    sync_lock_close(l);
    return 0;
}

/*
 * "When the state is locked, acquire() blocks until a call to release() in
 * another thread changes it to unlocked, then the acquire() call resets it
 * to locked and returns."
 * "A timeout argument of -1 specifies an unbounded wait."
 */
CONF_BOTH(lock, acquire_blocks_until_release, .timeout = 20)
{
    sync_client *c = conf_connect();
    sync_lock *l = lk_open(c, "L");
    struct lk *s = lk_new();
    struct conf_group *g;
    double t_rel;

    cr_assert(eq(int, sync_lock_acquire(l, true, -1), 0));
    g = conf_spawn(mode, c, 1, w_block, s);
    CONF_WAIT_UNTIL(atomic_load(&s->trying) == 1, 5000);
    fx_sleep_ms(CONF_SETTLE_MS);
    cr_assert(eq(int, atomic_load(&s->got), 0), "acquire did not block");
    t_rel = fx_now();
    cr_assert(eq(int, sync_lock_release(l), 0));
    conf_join(g, 10000);
    cr_assert(ge(dbl, s->t_got[0], t_rel));
    cr_assert(eq(int, sync_lock_locked(l), 0));
    lk_free(s);
    sync_lock_close(l);
    sync_disconnect(c);
}

static int w_try(sync_client *c, int idx, void *arg)
{
    struct lk *s = arg;
    sync_lock *l;
    double t0;

    (void)idx;
    W_EQ(sync_lock_open(c, "L", &l), 0);
    t0 = fx_now();
    W_EQ(sync_lock_acquire(l, false, -1), SYNC_ETIMEDOUT);
    W_TRUE(fx_now() - t0 < CONF_PROMPT_S);
    /* "It is forbidden to specify a timeout when blocking is False." */
    W_EQ(sync_lock_acquire(l, false, 1.0), SYNC_EINVAL);
    W_EQ(sync_lock_acquire(l, false, 0.0), SYNC_EINVAL);
    conf_chan_signal(&s->step, 1);
    W_EQ(conf_chan_await(&s->go, 10000), 1);
    W_EQ(sync_lock_acquire(l, false, -1), 0);
    W_EQ(sync_lock_locked(l), 1);
    W_EQ(sync_lock_acquire(l, false, 1.0), SYNC_EINVAL);
    W_EQ(sync_lock_release(l), 0);
    sync_lock_close(l);
    return 0;
}

/*
 * "When invoked with the blocking argument set to False, do not block. If
 * a call with blocking set to True would block, return False immediately;
 * otherwise, set the lock to locked and return True."
 * "It is forbidden to specify a timeout when blocking is False."
 * (False is SYNC_ETIMEDOUT; the forbidden call, a ValueError, SYNC_EINVAL.)
 */
CONF_BOTH(lock, non_blocking_acquire, .timeout = 20)
{
    sync_client *c = conf_connect();
    sync_lock *l = lk_open(c, "L");
    struct lk *s = lk_new();
    struct conf_group *g;

    cr_assert(eq(int, sync_lock_acquire(l, true, -1), 0));
    g = conf_spawn(mode, c, 1, w_try, s);
    cr_assert(eq(int, conf_chan_await(&s->step, 10000), 1));
    cr_assert(eq(int, sync_lock_release(l), 0));
    conf_chan_signal(&s->go, 1);
    conf_join(g, 10000);
    lk_free(s);
    sync_lock_close(l);
    sync_disconnect(c);
}

static int w_timeout(sync_client *c, int idx, void *arg)
{
    struct lk *s = arg;
    sync_lock *l;
    double t0, dt;

    (void)idx;
    W_EQ(sync_lock_open(c, "L", &l), 0);
    t0 = fx_now();
    W_EQ(sync_lock_acquire(l, true, 0.25), SYNC_ETIMEDOUT);
    dt = fx_now() - t0;
    W_TRUE(dt >= 0.25 && dt < 0.25 + CONF_LATE_S);
    W_EQ(sync_lock_locked(l), 1);
    conf_chan_signal(&s->step, 1);
    /* Long timeout, released meanwhile: acquired, well before it. */
    atomic_store(&s->trying, 1);
    t0 = fx_now();
    W_EQ(sync_lock_acquire(l, true, 8.0), 0);
    W_TRUE(fx_now() - t0 < 6.0);
    W_EQ(sync_lock_release(l), 0);
    sync_lock_close(l);
    return 0;
}

/*
 * "When invoked with the floating-point timeout argument set to a positive
 * value, block for at most the number of seconds specified by timeout and
 * as long as the lock cannot be acquired."
 * "The return value is True if the lock is acquired successfully, False if
 * not (for example if the timeout expired)."
 */
CONF_BOTH(lock, timeout_bounds_the_wait, .timeout = 20)
{
    sync_client *c = conf_connect();
    sync_lock *l = lk_open(c, "L");
    struct lk *s = lk_new();
    struct conf_group *g;

    cr_assert(eq(int, sync_lock_acquire(l, true, -1), 0));
    g = conf_spawn(mode, c, 1, w_timeout, s);
    cr_assert(eq(int, conf_chan_await(&s->step, 10000), 1));
    CONF_WAIT_UNTIL(atomic_load(&s->trying) == 1, 5000);
    fx_sleep_ms(CONF_SETTLE_MS);
    cr_assert(eq(int, sync_lock_release(l), 0));
    conf_join(g, 10000);
    lk_free(s);
    sync_lock_close(l);
    sync_disconnect(c);
}

/* ---- release --------------------------------------------------------- */

static int w_release_unlocked(sync_client *c, int idx, void *arg)
{
    sync_lock *l;

    (void)idx;
    (void)arg;
    W_EQ(sync_lock_open(c, "fresh", &l), 0);
    W_EQ(sync_lock_release(l), SYNC_EPERM);
    W_EQ(sync_lock_acquire(l, true, -1), 0);
    W_EQ(sync_lock_release(l), 0);
    W_EQ(sync_lock_release(l), SYNC_EPERM);
    W_EQ(sync_lock_locked(l), 0);
    sync_lock_close(l);
    return 0;
}

/*
 * "When invoked on an unlocked lock, a RuntimeError is raised."
 * "If an attempt is made to release an unlocked lock, a RuntimeError will
 * be raised."
 */
CONF_BOTH(lock, release_of_unlocked_lock_is_eperm, .timeout = 20)
{
    sync_client *c = conf_connect();

    conf_join(conf_spawn(mode, c, 1, w_release_unlocked, NULL), 10000);
    sync_disconnect(c);
}

static int w_foreign_release(sync_client *c, int idx, void *arg)
{
    const enum conf_mode *mode = arg;
    sync_lock *l;

    (void)idx;
    W_EQ(sync_lock_open(c, "L", &l), 0);
    if (*mode == CONF_THREADS) {
        W_EQ(sync_lock_release(l), 0);
        W_EQ(sync_lock_locked(l), 0);
    } else {
        /* syncd: the Lock belongs to the client that acquired it. */
        W_EQ(sync_lock_release(l), SYNC_EPERM);
        W_EQ(sync_lock_locked(l), 1);
    }
    sync_lock_close(l);
    return 0;
}

/*
 * "Release a lock. This can be called from any thread, not only the thread
 * which has acquired the lock."
 * syncd: any thread of the acquiring client; another process's release is
 * SYNC_EPERM (and the lock stays locked).
 */
CONF_BOTH(lock, release_from_another_thread, .timeout = 20)
{
    sync_client *c = conf_connect();
    sync_lock *l = lk_open(c, "L");
    enum conf_mode *m = conf_shared(sizeof(*m));

    *m = mode;
    cr_assert(eq(int, sync_lock_acquire(l, true, -1), 0));
    conf_join(conf_spawn(mode, c, 1, w_foreign_release, m), 10000);
    cr_assert(eq(int, sync_lock_release(l),
                 mode == CONF_THREADS ? SYNC_EPERM : 0));
    sync_lock_close(l);
    sync_disconnect(c);
}

static int w_one_at_a_time(sync_client *c, int idx, void *arg)
{
    struct lk *s = arg;
    sync_lock *l;

    (void)idx;
    W_EQ(sync_lock_open(c, "L", &l), 0);
    atomic_fetch_add(&s->trying, 1);
    W_EQ(sync_lock_acquire(l, true, -1), 0);
    W_EQ(atomic_fetch_add(&s->inside, 1), 0);
    atomic_fetch_add(&s->got, 1);
    W_EQ(conf_chan_await(&s->next, 10000), 1);
    atomic_fetch_sub(&s->inside, 1);
    W_EQ(sync_lock_release(l), 0);
    sync_lock_close(l);
    return 0;
}

/*
 * "When more than one thread is blocked in acquire() waiting for the state
 * to turn to unlocked, only one thread proceeds when a release() call
 * resets the state to unlocked"
 * "If any other threads are blocked waiting for the lock to become
 * unlocked, allow exactly one of them to proceed."
 */
CONF_BOTH(lock, release_lets_exactly_one_waiter_proceed, .timeout = 20)
{
    sync_client *c = conf_connect();
    sync_lock *l = lk_open(c, "L");
    struct lk *s = lk_new();
    struct conf_group *g;
    int k;

    cr_assert(eq(int, sync_lock_acquire(l, true, -1), 0));
    g = conf_spawn(mode, c, 3, w_one_at_a_time, s);
    CONF_WAIT_UNTIL(atomic_load(&s->trying) == 3, 5000);
    fx_sleep_ms(CONF_SETTLE_MS);
    cr_assert(eq(int, atomic_load(&s->got), 0));
    cr_assert(eq(int, sync_lock_release(l), 0));
    for (k = 1; k <= 3; k++) {
        CONF_WAIT_UNTIL(atomic_load(&s->got) == k, 5000);
        fx_sleep_ms(CONF_SETTLE_MS);
        cr_assert(eq(int, atomic_load(&s->got), k), "more than one proceeded");
        conf_chan_signal(&s->next, 1);
    }
    conf_join(g, 10000);
    cr_assert(eq(int, sync_lock_locked(l), 0));
    lk_free(s);
    sync_lock_close(l);
    sync_disconnect(c);
}

/*
 * A Lock is not reentrant: "When the state is locked, acquire() blocks"
 * applies to the thread holding it too (Python would block forever; with
 * a timeout it returns False).  syncd: the same client waits like anyone
 * else, so a timed re-acquire times out; it is not refused as EDEADLK.
 */
Test(lock, holder_reacquire_blocks_like_anyone, .timeout = 20)
{
    sync_client *c = conf_connect();
    sync_lock *l = lk_open(c, "L");
    double t0;

    cr_assert(eq(int, sync_lock_acquire(l, true, -1), 0));
    cr_assert(eq(int, sync_lock_acquire(l, false, -1), SYNC_ETIMEDOUT));
    t0 = fx_now();
    cr_assert(eq(int, sync_lock_acquire(l, true, 0.2), SYNC_ETIMEDOUT));
    cr_assert(ge(dbl, fx_now() - t0, 0.2));
    cr_assert(eq(int, sync_lock_release(l), 0));
    cr_assert(eq(int, sync_lock_locked(l), 0));
    sync_lock_close(l);
    sync_disconnect(c);
}

/* ---- deadlock detection (syncd) -------------------------------------- */

/*
 * Chain: worker 2 (C) holds Z; worker 1 (B) holds Y and waits for Z;
 * worker 0 (A) holds X and waits for Y.  With close_cycle C then asks for
 * X, closing A -> B -> C -> A.
 */
struct chain {
    atomic_int held[3];    /* worker i holds its lock */
    atomic_int waiting[3]; /* worker i is about to wait for the next */
    atomic_int go;         /* the heads are queued: the tail may go on */
    bool close_cycle;
    int n;         /* 2: only A and B (B holds Y, waits for nothing) */
    int c_rv;      /* C's blocking acquire of X */
    double c_dt;
};

static const char *const chain_names[] = {"X", "Y", "Z"};

static int w_chain(sync_client *c, int idx, void *arg)
{
    struct chain *s = arg;
    sync_lock *mine, *next = NULL;
    double t0;

    W_EQ(sync_lock_open(c, chain_names[idx], &mine), 0);
    if (idx + 1 < s->n) {
        /* Wait for the next link to hold its lock, then take ours. */
        W_EQ(sync_lock_open(c, chain_names[idx + 1], &next), 0);
        W_WAIT_UNTIL(atomic_load(&s->held[idx + 1]) == 1, 10000);
        W_EQ(sync_lock_acquire(mine, true, -1), 0);
        atomic_store(&s->held[idx], 1);
        atomic_store(&s->waiting[idx], 1);
        W_EQ(sync_lock_acquire(next, true, 10.0), 0);
        W_EQ(sync_lock_release(next), 0);
        W_EQ(sync_lock_release(mine), 0);
        sync_lock_close(next);
        sync_lock_close(mine);
        return 0;
    }
    /* The tail: holds its lock while the others queue up. */
    W_EQ(sync_lock_acquire(mine, true, -1), 0);
    atomic_store(&s->held[idx], 1);
    W_WAIT_UNTIL(atomic_load(&s->go) == 1, 10000);
    if (s->close_cycle) {
        W_EQ(sync_lock_open(c, "X", &next), 0);
        /* A try-acquire never waits, so it closes no cycle. */
        W_EQ(sync_lock_acquire(next, false, -1), SYNC_ETIMEDOUT);
        t0 = fx_now();
        s->c_rv = sync_lock_acquire(next, true, 3.0);
        s->c_dt = fx_now() - t0;
        if (s->c_rv == 0)
            sync_lock_release(next);
        sync_lock_close(next);
    }
    W_EQ(sync_lock_release(mine), 0);
    sync_lock_close(mine);
    return 0;
}

static void run_chain(enum conf_mode mode, int n, bool close_cycle)
{
    sync_client *c = conf_connect();
    struct chain *s = conf_shared(sizeof(*s));
    struct conf_group *g;
    int i;

    s->n = n;
    s->close_cycle = close_cycle;
    g = conf_spawn(mode, c, n, w_chain, s);
    for (i = 0; i + 1 < n; i++)
        CONF_WAIT_UNTIL(atomic_load(&s->waiting[i]) == 1, 5000);
    fx_sleep_ms(CONF_SETTLE_MS); /* the heads are queued in the daemon */
    atomic_store(&s->go, 1);
    conf_join(g, 15000);
    if (close_cycle) {
        cr_assert(eq(int, s->c_rv, SYNC_EDEADLK));
        cr_assert(lt(dbl, s->c_dt, CONF_PROMPT_S), "EDEADLK came after %.3f s",
                  s->c_dt);
        cr_assert(syncd_fixture_log_contains("deadlock", 2000));
    }
    sync_disconnect(c);
}

/*
 * syncd extension (header: "SYNC_EDEADLK, at once, when waiting would
 * close a cycle in the wait-for graph"); no false positives: A holds X and
 * waits for Y while B holds Y and waits for nothing; B releases, A gets Y.
 */
CONF_BOTH(lock, deadlock_no_false_positive_holder_not_waiting, .timeout = 30)
{
    run_chain(mode, 2, false);
}

/* A -> B -> C is a chain, not a cycle: nobody gets SYNC_EDEADLK. */
CONF_BOTH(lock, deadlock_no_false_positive_chain, .timeout = 30)
{
    run_chain(mode, 3, false);
}

/*
 * C, holding Z, asks for X: A -> B -> C -> A would close, so C gets
 * SYNC_EDEADLK at once (even with a timeout, where Python would just time
 * out); C then releases Z and the chain drains.  With threads of one client
 * too: every thread is its own node of the wait-for graph.
 */
CONF_BOTH(lock, deadlock_cycle_is_refused, .timeout = 30)
{
    run_chain(mode, 3, true);
}
