/*
 * test_classic.c: classic synchronisation problems solved with syncd
 * primitives by separate processes (state in MAP_SHARED memory, each
 * process its own connection): a bounded buffer with semaphores, readers
 * and writers with a Condition, a two-phase turnstile with Barriers, and
 * the dining philosophers, whose naive version must be refused with
 * SYNC_EDEADLK when the cycle forms and whose ordered version must not.
 */
#include <stdio.h>
#include <unistd.h>

#include "conf_util.h"

CONF_SUITE(classic);

/* ---- bounded buffer --------------------------------------------------- */

#define BB_PROD 3
#define BB_CONS 2
#define BB_ITEMS 100
#define BB_SLOTS 4

struct bb_item {
    int producer; /* -1: the end */
    int seq;
};

struct bb {
    struct bb_item buf[BB_SLOTS];
    int in, out, fill;           /* under the mutex */
    struct bb_item log[BB_PROD * BB_ITEMS + BB_CONS];
    int n_log;                   /* under the mutex */
    atomic_int consumed[BB_PROD][BB_ITEMS];
    atomic_int overflow;         /* fill ever above BB_SLOTS */
};

struct bb_handles {
    sync_sem *empty, *full;
    sync_lock *mutex;
};

static int bb_open(sync_client *c, struct bb_handles *h)
{
    W_EQ(sync_sem_open(c, "empty", BB_SLOTS, &h->empty), 0);
    W_EQ(sync_sem_open(c, "full", 0, &h->full), 0);
    W_EQ(sync_lock_open(c, "mutex", &h->mutex), 0);
    return 0;
}

static void bb_close(struct bb_handles *h)
{
    sync_lock_close(h->mutex);
    sync_sem_close(h->full);
    sync_sem_close(h->empty);
}

static int bb_put(struct bb *s, struct bb_handles *h, struct bb_item it)
{
    W_EQ(sync_sem_acquire(h->empty, true, 10.0), 0);
    W_EQ(sync_lock_acquire(h->mutex, true, 10.0), 0);
    s->buf[s->in] = it;
    s->in = (s->in + 1) % BB_SLOTS;
    if (++s->fill > BB_SLOTS)
        atomic_fetch_add(&s->overflow, 1);
    W_EQ(sync_lock_release(h->mutex), 0);
    W_EQ(sync_sem_release(h->full, 1), 0);
    return 0;
}

static int w_producer(sync_client *c, int idx, void *arg)
{
    struct bb_handles h;
    int i, rv;

    if ((rv = bb_open(c, &h)) != 0)
        return rv;
    for (i = 0; i < BB_ITEMS; i++)
        if ((rv = bb_put(arg, &h, (struct bb_item){idx, i})) != 0)
            return rv;
    bb_close(&h);
    return 0;
}

static int w_consumer(sync_client *c, int idx, void *arg)
{
    struct bb *s = arg;
    struct bb_handles h;
    struct bb_item it;
    int rv;

    (void)idx;
    if ((rv = bb_open(c, &h)) != 0)
        return rv;
    for (;;) {
        W_EQ(sync_sem_acquire(h.full, true, 10.0), 0);
        W_EQ(sync_lock_acquire(h.mutex, true, 10.0), 0);
        it = s->buf[s->out];
        s->out = (s->out + 1) % BB_SLOTS;
        s->fill--;
        s->log[s->n_log++] = it;
        W_EQ(sync_lock_release(h.mutex), 0);
        W_EQ(sync_sem_release(h.empty, 1), 0);
        if (it.producer < 0)
            break;
        atomic_fetch_add(&s->consumed[it.producer][it.seq], 1);
    }
    bb_close(&h);
    return 0;
}

Test(classic, bounded_buffer_with_semaphores, .timeout = 30)
{
    sync_client *c = conf_connect();
    struct bb *s = conf_shared(sizeof(*s));
    struct conf_group *prod, *cons;
    struct bb_handles h;
    int last[BB_PROD] = {-1, -1, -1};
    int i, p;

    cr_assert(eq(int, bb_open(c, &h), 0));
    cons = conf_spawn(CONF_PROCS, c, BB_CONS, w_consumer, s);
    prod = conf_spawn(CONF_PROCS, c, BB_PROD, w_producer, s);
    conf_join(prod, 20000);
    for (i = 0; i < BB_CONS; i++) /* one end marker per consumer */
        cr_assert(eq(int, bb_put(s, &h, (struct bb_item){-1, 0}), 0));
    conf_join(cons, 20000);
    bb_close(&h);
    cr_assert(eq(int, atomic_load(&s->overflow), 0));
    cr_assert(eq(int, s->n_log, BB_PROD * BB_ITEMS + BB_CONS));
    for (p = 0; p < BB_PROD; p++)
        for (i = 0; i < BB_ITEMS; i++)
            cr_assert(eq(int, atomic_load(&s->consumed[p][i]), 1),
                      "item %d of producer %d", i, p);
    /* Taken from the buffer in each producer's order. */
    for (i = 0; i < s->n_log; i++) {
        p = s->log[i].producer;
        if (p < 0)
            continue;
        cr_assert(eq(int, s->log[i].seq, last[p] + 1), "producer %d", p);
        last[p] = s->log[i].seq;
    }
    sync_disconnect(c);
}

/* ---- readers and writers ---------------------------------------------- */

#define RW_READERS 3
#define RW_WRITERS 2
#define RW_ITERS 8

struct rw {
    int readers, writing;        /* under the Condition's lock */
    atomic_int in_read, in_write; /* really inside, for the checks */
    atomic_int max_readers, violations, writes;
    atomic_int readers_met;      /* the readers overlapped once */
};

static bool rw_may_read(void *arg)
{
    struct rw *s = arg;

    return !s->writing;
}

static bool rw_may_write(void *arg)
{
    struct rw *s = arg;

    return !s->writing && s->readers == 0;
}

static int rw_reader(struct rw *s, sync_cond *cv, sync_barrier *meet, int i)
{
    int n, m;

    W_EQ(sync_cond_acquire(cv, true, 10.0), 0);
    W_EQ(sync_cond_wait_for(cv, rw_may_read, s, 10.0), 0);
    s->readers++;
    W_EQ(sync_cond_release(cv), 0);
    n = atomic_fetch_add(&s->in_read, 1) + 1;
    if (atomic_load(&s->in_write) != 0)
        atomic_fetch_add(&s->violations, 1);
    while ((m = atomic_load(&s->max_readers)) < n &&
           !atomic_compare_exchange_weak(&s->max_readers, &m, n))
        ;
    if (i == 0) { /* all readers inside together, or this breaks */
        W_TRUE(sync_barrier_wait(meet, 5.0) >= 0);
        atomic_store(&s->readers_met, 1);
    }
    fx_sleep_ms(2);
    atomic_fetch_sub(&s->in_read, 1);
    W_EQ(sync_cond_acquire(cv, true, 10.0), 0);
    if (--s->readers == 0)
        W_EQ(sync_cond_notify_all(cv), 0);
    W_EQ(sync_cond_release(cv), 0);
    return 0;
}

static int rw_writer(struct rw *s, sync_cond *cv)
{
    W_EQ(sync_cond_acquire(cv, true, 10.0), 0);
    W_EQ(sync_cond_wait_for(cv, rw_may_write, s, 10.0), 0);
    s->writing = 1;
    W_EQ(sync_cond_release(cv), 0);
    if (atomic_fetch_add(&s->in_write, 1) != 0 ||
        atomic_load(&s->in_read) != 0)
        atomic_fetch_add(&s->violations, 1);
    fx_sleep_ms(2);
    atomic_fetch_sub(&s->in_write, 1);
    atomic_fetch_add(&s->writes, 1);
    W_EQ(sync_cond_acquire(cv, true, 10.0), 0);
    s->writing = 0;
    W_EQ(sync_cond_notify_all(cv), 0);
    W_EQ(sync_cond_release(cv), 0);
    return 0;
}

static int w_rw(sync_client *c, int idx, void *arg)
{
    struct rw *s = arg;
    sync_barrier *meet;
    sync_cond *cv;
    int i, rv = 0;

    W_EQ(sync_cond_open(c, "rw", NULL, &cv), 0);
    W_EQ(sync_barrier_open(c, "meet", RW_READERS, &meet), 0);
    if (idx >= RW_READERS) /* writers join once the readers met */
        W_WAIT_UNTIL(atomic_load(&s->readers_met) == 1, 10000);
    for (i = 0; i < RW_ITERS && rv == 0; i++)
        rv = idx < RW_READERS ? rw_reader(s, cv, meet, i)
                              : rw_writer(s, cv);
    sync_barrier_close(meet);
    sync_cond_close(cv);
    return rv;
}

Test(classic, readers_writers_with_a_condition, .timeout = 30)
{
    sync_client *c = conf_connect();
    struct rw *s = conf_shared(sizeof(*s));

    conf_join(conf_spawn(CONF_PROCS, c, RW_READERS + RW_WRITERS, w_rw, s),
              25000);
    cr_assert(eq(int, atomic_load(&s->violations), 0));
    cr_assert(ge(int, atomic_load(&s->max_readers), RW_READERS),
              "readers never overlapped");
    cr_assert(eq(int, atomic_load(&s->writes), RW_WRITERS * RW_ITERS));
    sync_disconnect(c);
}

/* ---- a two-phase turnstile --------------------------------------------- */

#define TS_N 4
#define TS_ROUNDS 6

struct ts {
    atomic_int arrived[TS_ROUNDS + 1][TS_N];
    int idx[2][TS_ROUNDS][TS_N];
};

static int w_turnstile(sync_client *c, int idx, void *arg)
{
    struct ts *s = arg;
    sync_barrier *in, *out;
    int r, j;

    W_EQ(sync_barrier_open(c, "in", TS_N, &in), 0);
    W_EQ(sync_barrier_open(c, "out", TS_N, &out), 0);
    for (r = 0; r < TS_ROUNDS; r++) {
        atomic_store(&s->arrived[r][idx], 1);
        s->idx[0][r][idx] = sync_barrier_wait(in, 10.0);
        W_TRUE(s->idx[0][r][idx] >= 0);
        /* Between the turnstiles: all are in round r, none beyond. */
        for (j = 0; j < TS_N; j++) {
            W_EQ(atomic_load(&s->arrived[r][j]), 1);
            W_EQ(atomic_load(&s->arrived[r + 1][j]), 0);
        }
        s->idx[1][r][idx] = sync_barrier_wait(out, 10.0);
        W_TRUE(s->idx[1][r][idx] >= 0);
    }
    sync_barrier_close(out);
    sync_barrier_close(in);
    return 0;
}

Test(classic, turnstile_rendezvous_over_rounds, .timeout = 30)
{
    sync_client *c = conf_connect();
    struct ts *s = conf_shared(sizeof(*s));
    int k, r, i, seen;

    conf_join(conf_spawn(CONF_PROCS, c, TS_N, w_turnstile, s), 20000);
    for (k = 0; k < 2; k++)
        for (r = 0; r < TS_ROUNDS; r++) {
            seen = 0;
            for (i = 0; i < TS_N; i++)
                seen |= 1 << s->idx[k][r][i];
            cr_assert(eq(int, seen, (1 << TS_N) - 1), "round %d", r);
        }
    sync_disconnect(c);
}

/* ---- dining philosophers ---------------------------------------------- */

#define DP_N 5
#define DP_MEALS 20

struct dp {
    bool ordered;               /* the fixed version */
    atomic_int eating[DP_N];
    atomic_int meals[DP_N];
    atomic_int deadlocks;       /* SYNC_EDEADLK on the first attempt */
    atomic_int later_deadlocks; /* on a retry */
    atomic_int neighbours;      /* two neighbours ate at once */
};

static void dp_eat(struct dp *s, int i)
{
    atomic_store(&s->eating[i], 1);
    if (atomic_load(&s->eating[(i + 1) % DP_N]) ||
        atomic_load(&s->eating[(i + DP_N - 1) % DP_N]))
        atomic_fetch_add(&s->neighbours, 1);
    fx_sleep_ms(1);
    atomic_store(&s->eating[i], 0);
    atomic_fetch_add(&s->meals[i], 1);
}

static int w_philosopher(sync_client *c, int i, void *arg)
{
    struct dp *s = arg;
    sync_lock *fork[2], *first, *second;
    sync_barrier *table;
    char name[16];
    int k, meal, rv;

    for (k = 0; k < 2; k++) {
        snprintf(name, sizeof(name), "fork%d", (i + k) % DP_N);
        W_EQ(sync_lock_open(c, name, &fork[k]), 0);
    }
    W_EQ(sync_barrier_open(c, "table", DP_N, &table), 0);
    /* Naive: left then right.  Fixed: the lower-numbered fork first. */
    first = fork[0];
    second = fork[1];
    if (s->ordered && i == DP_N - 1) {
        first = fork[1];
        second = fork[0];
    }
    for (meal = 0; meal < DP_MEALS; meal++) {
        for (k = 0;; k++) {
            W_EQ(sync_lock_acquire(first, true, 10.0), 0);
            if (!s->ordered && meal == 0 && k == 0) /* force the cycle */
                W_TRUE(sync_barrier_wait(table, 10.0) >= 0);
            rv = sync_lock_acquire(second, true, 10.0);
            if (rv == 0)
                break;
            W_EQ(rv, SYNC_EDEADLK); /* anything else is an error */
            atomic_fetch_add(meal == 0 && k == 0 ? &s->deadlocks
                                                 : &s->later_deadlocks, 1);
            W_EQ(sync_lock_release(first), 0); /* back off and retry */
            fx_sleep_ms(1 + i);
        }
        dp_eat(s, i);
        W_EQ(sync_lock_release(second), 0);
        W_EQ(sync_lock_release(first), 0);
    }
    sync_barrier_close(table);
    sync_lock_close(fork[1]);
    sync_lock_close(fork[0]);
    return 0;
}

static void dining(bool ordered)
{
    sync_client *c = conf_connect();
    struct dp *s = conf_shared(sizeof(*s));
    int i;

    s->ordered = ordered;
    conf_join(conf_spawn(CONF_PROCS, c, DP_N, w_philosopher, s), 25000);
    for (i = 0; i < DP_N; i++)
        cr_assert(eq(int, atomic_load(&s->meals[i]), DP_MEALS), "phil %d", i);
    cr_assert(eq(int, atomic_load(&s->neighbours), 0));
    if (ordered) {
        cr_assert(eq(int, atomic_load(&s->deadlocks), 0));
        cr_assert(eq(int, atomic_load(&s->later_deadlocks), 0));
    } else {
        /* Everyone holds the left fork, then asks for the right: the last
         * request closes the cycle and only it is refused. */
        cr_assert(eq(int, atomic_load(&s->deadlocks), 1));
        cr_assert(syncd_fixture_log_contains("deadlock", 2000));
    }
    sync_disconnect(c);
}

/*
 * Naive philosophers (left fork, then right) deadlock once all hold their
 * left fork.  The barrier makes that happen every time; syncd must refuse
 * the acquire that closes the cycle with SYNC_EDEADLK (logging it), and
 * after that philosopher backs off everyone eats.
 */
Test(classic, dining_philosophers_naive_gets_edeadlk, .timeout = 30)
{
    dining(false);
}

/* Forks taken in a global order: no cycle can form, no SYNC_EDEADLK. */
Test(classic, dining_philosophers_ordered_never_deadlocks, .timeout = 30)
{
    dining(true);
}
