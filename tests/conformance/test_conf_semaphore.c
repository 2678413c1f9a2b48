/*
 * test_conf_semaphore.c: threading.Semaphore ("Semaphore Objects"), each
 * promise as a test, with threads sharing one client and with processes.
 *
 * Known differences: the initial value is unsigned, so Python's
 * "ValueError if value < 0" cannot arise; wake-ups are FIFO (Python: "The
 * order in which threads are awoken should not be relied on"); syncd adds
 * SYNC_SEM_UNDO, and without it permits of a dead process stay taken, as a
 * Python semaphore has no owner.
 */
#include <unistd.h>

#include "conf_util.h"

CONF_SUITE(semaphore);

#define SEM_W 4

struct sm {
    atomic_int trying;        /* workers about to block */
    atomic_int got;           /* workers that acquired */
    atomic_int order_n;
    int order[SEM_W];         /* worker indices in the order they got it */
    atomic_int start[SEM_W];  /* worker i may start */
    unsigned value;           /* the semaphore's initial value */
    struct conf_chan step, go;
};

static struct sm *sm_new(unsigned value)
{
    struct sm *s = conf_shared(sizeof(*s));

    s->value = value;
    conf_chan_init(&s->step);
    conf_chan_init(&s->go);
    return s;
}

static void sm_free(struct sm *s)
{
    conf_chan_close(&s->step);
    conf_chan_close(&s->go);
}

static sync_sem *sm_open(sync_client *c, unsigned value)
{
    sync_sem *sem = NULL;

    cr_assert(eq(int, sync_sem_open(c, "S", value, &sem), 0));
    return sem;
}

/* ---- the counter ------------------------------------------------------ */

static int w_counter(sync_client *c, int idx, void *arg)
{
    sync_sem *sem;
    double t0;

    (void)idx;
    (void)arg;
    W_EQ(sync_sem_open(c, "S", 2, &sem), 0);
    W_EQ(sync_sem_value(sem), 2);
    t0 = fx_now();
    W_EQ(sync_sem_acquire(sem, true, -1), 0);
    W_EQ(sync_sem_value(sem), 1);
    W_EQ(sync_sem_acquire(sem, false, -1), 0);
    W_TRUE(fx_now() - t0 < CONF_PROMPT_S);
    W_EQ(sync_sem_value(sem), 0);
    t0 = fx_now();
    W_EQ(sync_sem_acquire(sem, false, -1), SYNC_ETIMEDOUT);
    W_TRUE(fx_now() - t0 < CONF_PROMPT_S);
    W_EQ(sync_sem_value(sem), 0);
    /* Python: "can't specify timeout for non-blocking acquire". */
    W_EQ(sync_sem_acquire(sem, false, 1.0), SYNC_EINVAL);
    W_EQ(sync_sem_release(sem, 1), 0);
    W_EQ(sync_sem_value(sem), 1);
    W_EQ(sync_sem_release(sem, 1), 0);
    W_EQ(sync_sem_value(sem), 2);
    sync_sem_close(sem);
    return 0;
}

/*
 * "A semaphore manages an internal counter which is decremented by each
 * acquire() call and incremented by each release() call. The counter can
 * never go below zero"
 * "If the internal counter is larger than zero on entry, decrement it by
 * one and return True immediately."
 * "When invoked with blocking set to False, do not block. If a call
 * without an argument would block, return False immediately; otherwise,
 * do the same thing as when called without arguments, and return True."
 */
CONF_BOTH(semaphore, counter_and_try_acquire, .timeout = 20)
{
    sync_client *c = conf_connect();
    sync_sem *sem = sm_open(c, 2);

    conf_join(conf_spawn(mode, c, 1, w_counter, NULL), 10000);
    cr_assert(eq(int, sync_sem_value(sem), 2));
    sync_sem_close(sem);
    sync_disconnect(c);
}

/* ---- blocking and waking ---------------------------------------------- */

static int w_wait_turn(sync_client *c, int idx, void *arg)
{
    struct sm *s = arg;
    sync_sem *sem;

    W_EQ(sync_sem_open(c, "S", s->value, &sem), 0);
    W_WAIT_UNTIL(atomic_load(&s->start[idx]) == 1, 10000);
    atomic_fetch_add(&s->trying, 1);
    W_EQ(sync_sem_acquire(sem, true, 10.0), 0);
    s->order[atomic_fetch_add(&s->order_n, 1)] = idx;
    atomic_fetch_add(&s->got, 1);
    sync_sem_close(sem);
    return 0;
}

/* Start n waiters on S (value 0) one after the other, each queued in the
 * daemon before the next starts. */
static struct conf_group *start_waiters(enum conf_mode mode, sync_client *c,
                                        struct sm *s, int n)
{
    struct conf_group *g = conf_spawn(mode, c, n, w_wait_turn, s);
    int i;

    for (i = 0; i < n; i++) {
        atomic_store(&s->start[i], 1);
        CONF_WAIT_UNTIL(atomic_load(&s->trying) == i + 1, 5000);
        fx_sleep_ms(CONF_SETTLE_MS);
    }
    cr_assert(eq(int, atomic_load(&s->got), 0), "acquire did not block");
    return g;
}

/* Wait for `want` acquisitions, then check that no more came. */
static void expect_got(struct sm *s, int want)
{
    CONF_WAIT_UNTIL(atomic_load(&s->got) >= want, 5000);
    fx_sleep_ms(CONF_SETTLE_MS);
    cr_assert(eq(int, atomic_load(&s->got), want));
}

/*
 * "If the internal counter is zero on entry, block until awoken by a call
 * to release(). Once awoken (and the counter is greater than 0), decrement
 * the counter by 1 and return True. Exactly one thread will be awoken by
 * each call to release()."
 */
CONF_BOTH(semaphore, each_release_wakes_exactly_one, .timeout = 20)
{
    sync_client *c = conf_connect();
    sync_sem *sem = sm_open(c, 0);
    struct sm *s = sm_new(0);
    struct conf_group *g = start_waiters(mode, c, s, 3);
    int k;

    for (k = 1; k <= 3; k++) {
        cr_assert(eq(int, sync_sem_release(sem, 1), 0));
        expect_got(s, k);
        cr_assert(eq(int, sync_sem_value(sem), 0));
    }
    conf_join(g, 10000);
    sm_free(s);
    sync_sem_close(sem);
    sync_disconnect(c);
}

/*
 * "release(n=1): Release a semaphore, incrementing the internal counter by
 * n. When it was zero on entry and other threads are waiting for it to
 * become larger than zero again, wake up n of those threads."
 */
CONF_BOTH(semaphore, release_n_wakes_n, .timeout = 20)
{
    sync_client *c = conf_connect();
    sync_sem *sem = sm_open(c, 0);
    struct sm *s = sm_new(0);
    struct conf_group *g = start_waiters(mode, c, s, 4);

    cr_assert(eq(int, sync_sem_release(sem, 3), 0));
    expect_got(s, 3);
    cr_assert(eq(int, sync_sem_value(sem), 0));
    /* One waiter left, two permits: it takes one, one stays. */
    cr_assert(eq(int, sync_sem_release(sem, 2), 0));
    expect_got(s, 4);
    cr_assert(eq(int, sync_sem_value(sem), 1));
    conf_join(g, 10000);
    sm_free(s);
    sync_sem_close(sem);
    sync_disconnect(c);
}

/*
 * syncclient.h: "Take one permit ... FIFO."  Stronger than Python, whose
 * reference says "The order in which threads are awoken should not be
 * relied on."
 */
CONF_BOTH(semaphore, waiters_are_woken_in_fifo_order, .timeout = 20)
{
    sync_client *c = conf_connect();
    sync_sem *sem = sm_open(c, 0);
    struct sm *s = sm_new(0);
    struct conf_group *g = start_waiters(mode, c, s, 3);
    int k;

    for (k = 1; k <= 3; k++) {
        cr_assert(eq(int, sync_sem_release(sem, 1), 0));
        CONF_WAIT_UNTIL(atomic_load(&s->got) == k, 5000);
    }
    conf_join(g, 10000);
    for (k = 0; k < 3; k++)
        cr_assert(eq(int, s->order[k], k));
    sm_free(s);
    sync_sem_close(sem);
    sync_disconnect(c);
}

static int w_timeout(sync_client *c, int idx, void *arg)
{
    struct sm *s = arg;
    sync_sem *sem;
    double t0, dt;

    (void)idx;
    W_EQ(sync_sem_open(c, "S", 0, &sem), 0);
    t0 = fx_now();
    W_EQ(sync_sem_acquire(sem, true, 0.25), SYNC_ETIMEDOUT);
    dt = fx_now() - t0;
    W_TRUE(dt >= 0.25 && dt < 0.25 + CONF_LATE_S);
    W_EQ(sync_sem_value(sem), 0);
    atomic_store(&s->trying, 1);
    t0 = fx_now();
    W_EQ(sync_sem_acquire(sem, true, 8.0), 0);
    W_TRUE(fx_now() - t0 < 6.0);
    W_EQ(sync_sem_value(sem), 0);
    sync_sem_close(sem);
    return 0;
}

/*
 * "When invoked with a timeout other than None, it will block for at most
 * timeout seconds. If acquire does not complete successfully in that
 * interval, return False. Return True otherwise."
 */
CONF_BOTH(semaphore, timeout_bounds_the_wait, .timeout = 20)
{
    sync_client *c = conf_connect();
    sync_sem *sem = sm_open(c, 0);
    struct sm *s = sm_new(0);
    struct conf_group *g = conf_spawn(mode, c, 1, w_timeout, s);

    CONF_WAIT_UNTIL(atomic_load(&s->trying) == 1, 5000);
    fx_sleep_ms(CONF_SETTLE_MS);
    cr_assert(eq(int, sync_sem_release(sem, 1), 0));
    conf_join(g, 10000);
    sm_free(s);
    sync_sem_close(sem);
    sync_disconnect(c);
}

/* ---- release ---------------------------------------------------------- */

static int w_release_others(sync_client *c, int idx, void *arg)
{
    sync_sem *sem;

    (void)idx;
    (void)arg;
    W_EQ(sync_sem_open(c, "S", 1, &sem), 0);
    W_EQ(sync_sem_value(sem), 0);
    W_EQ(sync_sem_release(sem, 1), 0); /* a permit it never took */
    W_EQ(sync_sem_release(sem, 4), 0); /* beyond the initial value */
    W_EQ(sync_sem_value(sem), 5);
    W_EQ(sync_sem_release(sem, 0), SYNC_EINVAL);
    W_EQ(sync_sem_value(sem), 5);
    sync_sem_close(sem);
    return 0;
}

/*
 * A Semaphore has no owner: "incremented by each release() call", by
 * anyone, and (unlike a BoundedSemaphore, which "checks to make sure its
 * current value doesn't exceed its initial value") without a bound.
 * release(0) is Python's ValueError ("n must be one or more"):
 * SYNC_EINVAL.
 */
CONF_BOTH(semaphore, anyone_may_release_without_bound, .timeout = 20)
{
    sync_client *c = conf_connect();
    sync_sem *sem = sm_open(c, 1);

    cr_assert(eq(int, sync_sem_acquire(sem, true, -1), 0));
    conf_join(conf_spawn(mode, c, 1, w_release_others, NULL), 10000);
    cr_assert(eq(int, sync_sem_value(sem), 5));
    sync_sem_close(sem);
    sync_disconnect(c);
}

/*
 * class Semaphore(value=1): "The optional argument gives the initial value
 * for the internal counter".  syncclient.h: "An existing semaphore must
 * have been created with the same value, else SYNC_EEXIST".
 */
Test(semaphore, initial_value_and_reopen_rules, .timeout = 20)
{
    sync_client *c = conf_connect();
    sync_sem *a = NULL, *b = NULL, *z = NULL;

    cr_assert(eq(int, sync_sem_open(c, "S3", 3, &a), 0));
    cr_assert(eq(int, sync_sem_value(a), 3));
    cr_assert(eq(int, sync_sem_open(c, "S3", 4, &b), SYNC_EEXIST));
    cr_assert(eq(ptr, b, NULL));
    cr_assert(eq(int, sync_sem_open(c, "S3", 3, &b), 0));
    cr_assert(eq(int, sync_sem_acquire(b, true, -1), 0));
    cr_assert(eq(int, sync_sem_value(a), 2));
    cr_assert(eq(int, sync_sem_open(c, "S0", 0, &z), 0));
    cr_assert(eq(int, sync_sem_value(z), 0));
    cr_assert(eq(int, sync_sem_acquire(z, false, -1), SYNC_ETIMEDOUT));
    sync_sem_close(z);
    sync_sem_close(b);
    sync_sem_close(a);
    sync_disconnect(c);
}

/* ---- a process that exits holding permits ----------------------------- */

static int w_exit_holding(sync_client *c, int idx, void *arg)
{
    sync_sem *plain, *undo;

    (void)idx;
    (void)arg;
    W_EQ(sync_sem_open(c, "S", 3, &plain), 0);
    W_EQ(sync_sem_open_flags(c, "S", 3, false, SYNC_SEM_UNDO, &undo), 0);
    W_EQ(sync_sem_acquire(plain, true, -1), 0);
    W_EQ(sync_sem_acquire(undo, true, -1), 0);
    W_EQ(sync_sem_acquire(undo, true, -1), 0);
    W_EQ(sync_sem_value(plain), 0);
    /* Returns without releasing; the child then disconnects and exits. */
    return 0;
}

/*
 * Python semantics (no owner): a permit taken and never released stays
 * taken when its process dies.  syncclient.h: with SYNC_SEM_UNDO,
 * "permits acquired through that handle and not released through it are
 * given back when the handle is closed or the client disconnects".
 */
Test(semaphore, dead_process_keeps_permits_unless_undo, .timeout = 20)
{
    sync_client *c = conf_connect();
    sync_sem *sem = sm_open(c, 3);

    conf_join(conf_spawn(CONF_PROCS, c, 1, w_exit_holding, NULL), 10000);
    CONF_WAIT_UNTIL(sync_sem_value(sem) == 2, 5000);
    fx_sleep_ms(CONF_SETTLE_MS);
    cr_assert(eq(int, sync_sem_value(sem), 2));
    sync_sem_close(sem);
    sync_disconnect(c);
}
