/*
 * test_conf_barrier.c: threading.Barrier ("Barrier Objects"), each promise
 * as a test, with threads sharing one client and with processes, plus a
 * party killed while waiting.  BrokenBarrierError is SYNC_EBROKEN; wait()
 * returns the index.
 *
 * Known differences: no `action` callable and no default `timeout` in
 * the constructor (a timeout is given per wait); a reset while parties
 * wait wakes them with SYNC_EBROKEN and leaves the barrier usable at
 * once (Python's reset goes through a "resetting" state with the same
 * visible result).
 */
#include <unistd.h>

#include "conf_util.h"

CONF_SUITE(barrier);

#define BR_ROUNDS 5
#define BR_W 4

struct br {
    unsigned parties;
    int rounds;
    double timeout[BR_W];    /* per worker, for its first wait */
    atomic_int start[BR_W];  /* worker i may wait */
    atomic_int again;        /* workers may wait a second time */
    atomic_int returned;     /* first waits that returned */
    int idx[BR_ROUNDS][BR_W + 1];
    int rv2[BR_W];           /* second wait's result */
    double dt[BR_W];
};

static struct br *br_new(unsigned parties, int rounds)
{
    struct br *s = conf_shared(sizeof(*s));
    int i;

    s->parties = parties;
    s->rounds = rounds;
    for (i = 0; i < BR_W; i++) {
        s->timeout[i] = 10.0;
        s->start[i] = 1;
    }
    return s;
}

static sync_barrier *br_open(sync_client *c, unsigned parties)
{
    sync_barrier *b = NULL;

    cr_assert(eq(int, sync_barrier_open(c, "B", parties, &b), 0));
    return b;
}

/* Round r's indices idx[r][0..n-1] are exactly 0..n-1. */
static void check_permutation(const int *idx, int n)
{
    int seen[BR_W + 1] = {0};
    int i;

    for (i = 0; i < n; i++) {
        cr_assert(ge(int, idx[i], 0));
        cr_assert(lt(int, idx[i], n));
        cr_assert(eq(int, seen[idx[i]]++, 0), "index %d twice", idx[i]);
    }
}

/* Wait `rounds` times; with again set, once more after a broken round. */
static int w_rounds(sync_client *c, int idx, void *arg)
{
    struct br *s = arg;
    sync_barrier *b;
    double t0;
    int r;

    W_EQ(sync_barrier_open(c, "B", s->parties, &b), 0);
    W_WAIT_UNTIL(atomic_load(&s->start[idx]) == 1, 10000);
    for (r = 0; r < s->rounds; r++) {
        t0 = fx_now();
        s->idx[r][idx] = sync_barrier_wait(b, s->timeout[idx]);
        s->dt[idx] = fx_now() - t0;
    }
    atomic_fetch_add(&s->returned, 1);
    W_WAIT_UNTIL(atomic_load(&s->again) != 0, 10000);
    if (atomic_load(&s->again) == 1)
        s->rv2[idx] = sync_barrier_wait(b, 10.0);
    sync_barrier_close(b);
    return 0;
}

/*
 * wait(): "The return value is an integer in the range 0 to parties - 1,
 * different for each thread."
 * "The barrier can be reused any number of times for the same number of
 * threads."
 */
CONF_BOTH(barrier, indices_are_distinct_in_every_round, .timeout = 20)
{
    sync_client *c = conf_connect();
    sync_barrier *b = br_open(c, BR_W);
    struct br *s = br_new(BR_W, BR_ROUNDS);
    int r;

    s->again = 2; /* no extra wait */
    conf_join(conf_spawn(mode, c, BR_W, w_rounds, s), 15000);
    for (r = 0; r < BR_ROUNDS; r++)
        check_permutation(s->idx[r], BR_W);
    cr_assert(eq(int, sync_barrier_n_waiting(b), 0));
    cr_assert(eq(int, sync_barrier_broken(b), 0));
    sync_barrier_close(b);
    sync_disconnect(c);
}

/*
 * "Each of the threads tries to pass the barrier by calling the wait()
 * method and will block until all of the threads have made their wait()
 * calls. At this point, the threads are released simultaneously."
 * parties: "The number of threads required to pass the barrier."
 * n_waiting: "The number of threads currently waiting in the barrier."
 * broken: "A boolean that is True if the barrier is in the broken state."
 */
CONF_BOTH(barrier, blocks_until_every_party_arrives, .timeout = 20)
{
    sync_client *c = conf_connect();
    sync_barrier *b = br_open(c, BR_W);
    struct br *s = br_new(BR_W, 1);
    struct conf_group *g;
    int i;

    s->again = 2;
    for (i = 0; i < BR_W - 1; i++)
        s->start[i] = 0;
    g = conf_spawn(mode, c, BR_W - 1, w_rounds, s);
    cr_assert(eq(int, sync_barrier_parties(b), BR_W));
    cr_assert(eq(int, sync_barrier_broken(b), 0));
    cr_assert(eq(int, sync_barrier_n_waiting(b), 0));
    for (i = 0; i < BR_W - 1; i++) {
        atomic_store(&s->start[i], 1);
        CONF_WAIT_UNTIL(sync_barrier_n_waiting(b) == i + 1, 5000);
    }
    fx_sleep_ms(CONF_SETTLE_MS);
    cr_assert(eq(int, atomic_load(&s->returned), 0), "passed too early");
    cr_assert(eq(int, sync_barrier_n_waiting(b), BR_W - 1));
    s->idx[0][BR_W - 1] = sync_barrier_wait(b, 10.0);
    conf_join(g, 10000);
    check_permutation(s->idx[0], BR_W);
    cr_assert(eq(int, sync_barrier_n_waiting(b), 0));
    cr_assert(eq(int, sync_barrier_broken(b), 0));
    sync_barrier_close(b);
    sync_disconnect(c);
}

/*
 * wait(): "If the call times out, the barrier is put into the broken
 * state."  "This method may raise a BrokenBarrierError exception if the
 * barrier is broken or reset while a thread is waiting."
 * The timed-out caller gets BrokenBarrierError too (as CPython raises it
 * from the wait that timed out), and so does every later wait.
 */
CONF_BOTH(barrier, timeout_breaks_the_barrier_for_everyone, .timeout = 20)
{
    sync_client *c = conf_connect();
    sync_barrier *b = br_open(c, 3);
    struct br *s = br_new(3, 1);
    struct conf_group *g;

    s->start[1] = 0;
    s->timeout[1] = 0.3;
    s->again = 1;
    g = conf_spawn(mode, c, 2, w_rounds, s);
    CONF_WAIT_UNTIL(sync_barrier_n_waiting(b) == 1, 5000);
    atomic_store(&s->start[1], 1);
    CONF_WAIT_UNTIL(atomic_load(&s->returned) == 2, 5000);
    cr_assert(eq(int, s->idx[0][0], SYNC_EBROKEN));
    cr_assert(eq(int, s->idx[0][1], SYNC_EBROKEN));
    cr_assert(ge(dbl, s->dt[1], 0.3));
    cr_assert(lt(dbl, s->dt[1], 0.3 + CONF_LATE_S));
    cr_assert(eq(int, sync_barrier_broken(b), 1));
    cr_assert(eq(int, sync_barrier_n_waiting(b), 0));
    conf_join(g, 10000);
    /* Later waits fail at once, without waiting for their timeout. */
    cr_assert(eq(int, s->rv2[0], SYNC_EBROKEN));
    cr_assert(eq(int, s->rv2[1], SYNC_EBROKEN));
    cr_assert(eq(int, sync_barrier_wait(b, 5.0), SYNC_EBROKEN));
    sync_barrier_close(b);
    sync_disconnect(c);
}

/*
 * abort(): "Put the barrier into a broken state. This causes any active or
 * future calls to wait() to fail with the BrokenBarrierError."
 * reset(): "Return the barrier to the default, empty state."
 */
CONF_BOTH(barrier, abort_breaks_active_and_future_waits, .timeout = 20)
{
    sync_client *c = conf_connect();
    sync_barrier *b = br_open(c, 3);
    struct br *s = br_new(3, 1);
    struct conf_group *g;
    double t0;

    s->again = 0;
    g = conf_spawn(mode, c, 2, w_rounds, s);
    CONF_WAIT_UNTIL(sync_barrier_n_waiting(b) == 2, 5000);
    cr_assert(eq(int, sync_barrier_abort(b), 0));
    CONF_WAIT_UNTIL(atomic_load(&s->returned) == 2, 5000);
    cr_assert(eq(int, s->idx[0][0], SYNC_EBROKEN));
    cr_assert(eq(int, s->idx[0][1], SYNC_EBROKEN));
    cr_assert(eq(int, sync_barrier_broken(b), 1));
    t0 = fx_now();
    cr_assert(eq(int, sync_barrier_wait(b, 5.0), SYNC_EBROKEN));
    cr_assert(lt(dbl, fx_now() - t0, CONF_PROMPT_S));
    /* Reset: usable again, a full round passes. */
    cr_assert(eq(int, sync_barrier_reset(b), 0));
    cr_assert(eq(int, sync_barrier_broken(b), 0));
    atomic_store(&s->again, 1);
    s->idx[1][2] = sync_barrier_wait(b, 10.0);
    conf_join(g, 10000);
    s->idx[1][0] = s->rv2[0];
    s->idx[1][1] = s->rv2[1];
    check_permutation(s->idx[1], 3);
    sync_barrier_close(b);
    sync_disconnect(c);
}

/*
 * reset(): "Return the barrier to the default, empty state. Any threads
 * waiting on it will receive the BrokenBarrierError exception."
 */
CONF_BOTH(barrier, reset_breaks_waiters_and_leaves_it_usable, .timeout = 20)
{
    sync_client *c = conf_connect();
    sync_barrier *b = br_open(c, 3);
    struct br *s = br_new(3, 1);
    struct conf_group *g;

    s->again = 0;
    g = conf_spawn(mode, c, 2, w_rounds, s);
    CONF_WAIT_UNTIL(sync_barrier_n_waiting(b) == 2, 5000);
    cr_assert(eq(int, sync_barrier_reset(b), 0));
    CONF_WAIT_UNTIL(atomic_load(&s->returned) == 2, 5000);
    cr_assert(eq(int, s->idx[0][0], SYNC_EBROKEN));
    cr_assert(eq(int, s->idx[0][1], SYNC_EBROKEN));
    cr_assert(eq(int, sync_barrier_broken(b), 0));
    cr_assert(eq(int, sync_barrier_n_waiting(b), 0));
    atomic_store(&s->again, 1);
    CONF_WAIT_UNTIL(sync_barrier_n_waiting(b) == 2, 5000);
    s->idx[1][2] = sync_barrier_wait(b, 10.0);
    conf_join(g, 10000);
    s->idx[1][0] = s->rv2[0];
    s->idx[1][1] = s->rv2[1];
    check_permutation(s->idx[1], 3);
    sync_barrier_close(b);
    sync_disconnect(c);
}

/*
 * For processes: a party that dies while waiting can never arrive, so, as
 * with a timeout, the barrier breaks and the others get SYNC_EBROKEN
 * instead of waiting forever (syncclient.h: "a party that timed out or
 * died").
 */
Test(barrier, killed_party_breaks_the_barrier, .timeout = 20)
{
    sync_client *c = conf_connect();
    sync_barrier *b = br_open(c, BR_W);
    struct br *s = br_new(BR_W, 1);
    struct conf_group *g;

    s->again = 2;
    g = conf_spawn(CONF_PROCS, c, 3, w_rounds, s);
    CONF_WAIT_UNTIL(sync_barrier_n_waiting(b) == 3, 5000);
    conf_kill(g, 2);
    CONF_WAIT_UNTIL(atomic_load(&s->returned) == 2, 5000);
    conf_join(g, 10000);
    cr_assert(eq(int, s->idx[0][0], SYNC_EBROKEN));
    cr_assert(eq(int, s->idx[0][1], SYNC_EBROKEN));
    cr_assert(eq(int, sync_barrier_broken(b), 1));
    cr_assert(eq(int, sync_barrier_wait(b, 5.0), SYNC_EBROKEN));
    sync_barrier_close(b);
    sync_disconnect(c);
}

/*
 * class Barrier(parties, ...): "Create a barrier object for parties number
 * of threads."  syncclient.h: "parties (>= 1)", so 0 is SYNC_EINVAL (a
 * ValueError); "another number of parties for an existing one is
 * SYNC_EEXIST".  One party passes at once, with index 0.
 */
Test(barrier, parties_rules_and_a_single_party, .timeout = 20)
{
    sync_client *c = conf_connect();
    sync_barrier *b = NULL, *x = NULL;
    int r;

    cr_assert(eq(int, sync_barrier_open(c, "zero", 0, &x), SYNC_EINVAL));
    cr_assert(eq(ptr, x, NULL));
    cr_assert(eq(int, sync_barrier_open(c, "one", 1, &b), 0));
    cr_assert(eq(int, sync_barrier_open(c, "one", 2, &x), SYNC_EEXIST));
    cr_assert(eq(ptr, x, NULL));
    cr_assert(eq(int, sync_barrier_parties(b), 1));
    for (r = 0; r < 3; r++)
        cr_assert(eq(int, sync_barrier_wait(b, 1.0), 0));
    cr_assert(eq(int, sync_barrier_broken(b), 0));
    sync_barrier_close(b);
    sync_disconnect(c);
}
