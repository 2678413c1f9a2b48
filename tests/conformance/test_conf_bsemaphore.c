/*
 * test_conf_bsemaphore.c: threading.BoundedSemaphore, each promise as a
 * test, with threads sharing one client and with processes.  Python's
 * ValueError on over-release is SYNC_EVALUE, and nothing is released then.
 *
 * Known difference: syncd checks a release(n) against the bound as a
 * whole (value + n > bound is refused, nothing released); CPython's
 * release(n) also checks before changing anything, so the two agree.
 */
#include <unistd.h>

#include "conf_util.h"

CONF_SUITE(bsemaphore);

struct bs {
    atomic_int trying;
    atomic_int got;
};

static sync_sem *bs_open(sync_client *c, const char *name, unsigned value)
{
    sync_sem *sem = NULL;

    cr_assert(eq(int, sync_bsem_open(c, name, value, &sem), 0));
    return sem;
}

/* ---- the bound -------------------------------------------------------- */

static int w_over_release(sync_client *c, int idx, void *arg)
{
    sync_sem *sem;

    (void)idx;
    (void)arg;
    W_EQ(sync_bsem_open(c, "B", 3, &sem), 0);
    /* The test took two permits: value 1 of 3. */
    W_EQ(sync_sem_value(sem), 1);
    W_EQ(sync_sem_release(sem, 3), SYNC_EVALUE);
    W_EQ(sync_sem_value(sem), 1); /* nothing was released */
    W_EQ(sync_sem_release(sem, 1), 0);
    W_EQ(sync_sem_release(sem, 1), 0);
    W_EQ(sync_sem_value(sem), 3);
    W_EQ(sync_sem_release(sem, 1), SYNC_EVALUE);
    W_EQ(sync_sem_value(sem), 3);
    sync_sem_close(sem);
    return 0;
}

/*
 * "A bounded semaphore checks to make sure its current value doesn't
 * exceed its initial value. If it does, ValueError is raised."
 * "If the semaphore is released too many times it's a sign of a bug."
 * The permits the test took are given back by the worker (no owner), up
 * to the bound and not beyond.
 */
CONF_BOTH(bsemaphore, over_release_is_evalue_and_releases_nothing,
          .timeout = 20)
{
    sync_client *c = conf_connect();
    sync_sem *sem = bs_open(c, "B", 3);

    cr_assert(eq(int, sync_sem_acquire(sem, true, -1), 0));
    cr_assert(eq(int, sync_sem_acquire(sem, true, -1), 0));
    conf_join(conf_spawn(mode, c, 1, w_over_release, NULL), 10000);
    cr_assert(eq(int, sync_sem_value(sem), 3));
    cr_assert(eq(int, sync_sem_release(sem, 1), SYNC_EVALUE));
    sync_sem_close(sem);
    sync_disconnect(c);
}

/*
 * "If not given, value defaults to 1."  The common case, a bounded
 * semaphore of 1 guarding one resource: a release while nobody holds it
 * is ValueError.
 */
Test(bsemaphore, bound_of_one, .timeout = 20)
{
    sync_client *c = conf_connect();
    sync_sem *sem = bs_open(c, "B1", 1);

    cr_assert(eq(int, sync_sem_release(sem, 1), SYNC_EVALUE));
    cr_assert(eq(int, sync_sem_acquire(sem, false, -1), 0));
    cr_assert(eq(int, sync_sem_acquire(sem, false, -1), SYNC_ETIMEDOUT));
    cr_assert(eq(int, sync_sem_release(sem, 2), SYNC_EVALUE));
    cr_assert(eq(int, sync_sem_value(sem), 0));
    cr_assert(eq(int, sync_sem_release(sem, 1), 0));
    cr_assert(eq(int, sync_sem_release(sem, 1), SYNC_EVALUE));
    cr_assert(eq(int, sync_sem_value(sem), 1));
    sync_sem_close(sem);
    sync_disconnect(c);
}

/* ---- otherwise a semaphore -------------------------------------------- */

static int w_block(sync_client *c, int idx, void *arg)
{
    struct bs *s = arg;
    sync_sem *sem;
    double t0, dt;

    (void)idx;
    W_EQ(sync_bsem_open(c, "B", 2, &sem), 0);
    W_EQ(sync_sem_acquire(sem, false, -1), SYNC_ETIMEDOUT);
    t0 = fx_now();
    W_EQ(sync_sem_acquire(sem, true, 0.2), SYNC_ETIMEDOUT);
    dt = fx_now() - t0;
    W_TRUE(dt >= 0.2 && dt < 0.2 + CONF_LATE_S);
    atomic_store(&s->trying, 1);
    W_EQ(sync_sem_acquire(sem, true, 10.0), 0);
    atomic_store(&s->got, 1);
    W_EQ(sync_sem_value(sem), 0);
    W_EQ(sync_sem_release(sem, 1), 0);
    sync_sem_close(sem);
    return 0;
}

/*
 * BoundedSemaphore is a Semaphore: "If the internal counter is zero on
 * entry, block until awoken by a call to release()"; "When invoked with a
 * timeout other than None, it will block for at most timeout seconds."
 */
CONF_BOTH(bsemaphore, blocks_at_zero_and_times_out, .timeout = 20)
{
    sync_client *c = conf_connect();
    sync_sem *sem = bs_open(c, "B", 2);
    struct bs *s = conf_shared(sizeof(*s));
    struct conf_group *g;

    cr_assert(eq(int, sync_sem_acquire(sem, true, -1), 0));
    cr_assert(eq(int, sync_sem_acquire(sem, true, -1), 0));
    g = conf_spawn(mode, c, 1, w_block, s);
    CONF_WAIT_UNTIL(atomic_load(&s->trying) == 1, 5000);
    fx_sleep_ms(CONF_SETTLE_MS);
    cr_assert(eq(int, atomic_load(&s->got), 0));
    cr_assert(eq(int, sync_sem_release(sem, 1), 0));
    conf_join(g, 10000);
    cr_assert(eq(int, sync_sem_value(sem), 1));
    cr_assert(eq(int, sync_sem_release(sem, 1), 0));
    cr_assert(eq(int, sync_sem_value(sem), 2));
    sync_sem_close(sem);
    sync_disconnect(c);
}

static int w_release_two(sync_client *c, int idx, void *arg)
{
    sync_sem *sem;

    (void)idx;
    (void)arg;
    W_EQ(sync_bsem_open(c, "B", 2, &sem), 0);
    W_EQ(sync_sem_release(sem, 2), 0);
    /* Both waiters took theirs at once: 0 + 3 would exceed 2. */
    W_EQ(sync_sem_release(sem, 3), SYNC_EVALUE);
    sync_sem_close(sem);
    return 0;
}

static int w_take(sync_client *c, int idx, void *arg)
{
    struct bs *s = arg;
    sync_sem *sem;

    (void)idx;
    W_EQ(sync_bsem_open(c, "B", 2, &sem), 0);
    atomic_fetch_add(&s->trying, 1);
    W_EQ(sync_sem_acquire(sem, true, 10.0), 0);
    atomic_fetch_add(&s->got, 1);
    sync_sem_close(sem);
    return 0;
}

/*
 * "release(n=1) ... wake up n of those threads", for a bounded one: with
 * two waiters at value 0, release(2) is within the bound and wakes both
 * (value stays 0); release(3) then exceeds the bound.
 */
CONF_BOTH(bsemaphore, release_n_within_bound_wakes_n, .timeout = 20)
{
    sync_client *c = conf_connect();
    sync_sem *sem = bs_open(c, "B", 2);
    struct bs *s = conf_shared(sizeof(*s));
    struct conf_group *g;

    cr_assert(eq(int, sync_sem_acquire(sem, true, -1), 0));
    cr_assert(eq(int, sync_sem_acquire(sem, true, -1), 0));
    g = conf_spawn(mode, c, 2, w_take, s);
    CONF_WAIT_UNTIL(atomic_load(&s->trying) == 2, 5000);
    fx_sleep_ms(CONF_SETTLE_MS);
    conf_join(conf_spawn(mode, c, 1, w_release_two, NULL), 10000);
    conf_join(g, 10000);
    cr_assert(eq(int, atomic_load(&s->got), 2));
    cr_assert(eq(int, sync_sem_value(sem), 0));
    sync_sem_close(sem);
    sync_disconnect(c);
}

/*
 * syncclient.h: sync_sem_open: "SYNC_ETYPE for another type (including a
 * bounded one)"; sync_bsem_open: "Same for a BoundedSemaphore".
 * In Python Semaphore and BoundedSemaphore are distinct classes.
 */
Test(bsemaphore, bounded_and_plain_are_distinct_types, .timeout = 20)
{
    sync_client *c = conf_connect();
    sync_sem *b = bs_open(c, "B", 2), *p = NULL, *x = NULL;

    cr_assert(eq(int, sync_sem_open(c, "B", 2, &x), SYNC_ETYPE));
    cr_assert(eq(ptr, x, NULL));
    cr_assert(eq(int, sync_sem_open(c, "P", 2, &p), 0));
    cr_assert(eq(int, sync_bsem_open(c, "P", 2, &x), SYNC_ETYPE));
    cr_assert(eq(int, sync_sem_open_flags(c, "P", 2, true, 0, &x),
                 SYNC_ETYPE));
    cr_assert(eq(int, sync_bsem_open(c, "B", 3, &x), SYNC_EEXIST));
    cr_assert(eq(ptr, x, NULL));
    sync_sem_close(p);
    sync_sem_close(b);
    sync_disconnect(c);
}
