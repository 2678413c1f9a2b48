/*
 * test_conf_condition.c: threading.Condition ("Condition Objects"), each
 * promise as a test, with threads sharing one client and with processes;
 * then what processes add: a named Lock shared with sync_lock_open, the
 * open rules, and a killed waiter that must not swallow a notify.
 *
 * To know that a waiter is inside wait() the test uses the Condition
 * itself: a waiter counts itself in `entered` while holding the lock and
 * gives the lock up only by waiting, so once the test holds the lock and
 * sees the count, every counted waiter is waiting.
 */
#include <unistd.h>

#include "conf_util.h"

CONF_SUITE(condition);

#define CV_W 5

struct cv {
    atomic_int entered;   /* waiters counted in (under the lock) */
    atomic_int woken;     /* waits that returned 0 */
    atomic_int inside;    /* the test is inside its critical section */
    atomic_int start[CV_W];
    atomic_int order_n;
    int order[CV_W];
    int counter;          /* predicate state, under the lock */
    int pred_calls, pred_unlocked;
    double t_ret;
    int rv;
    struct conf_chan step, go;
};

static struct cv *cv_new(void)
{
    struct cv *s = conf_shared(sizeof(*s));

    conf_chan_init(&s->step);
    conf_chan_init(&s->go);
    return s;
}

static void cv_free(struct cv *s)
{
    conf_chan_close(&s->step);
    conf_chan_close(&s->go);
}

static sync_cond *cv_open(sync_client *c, const char *name, const char *lk)
{
    sync_cond *cv = NULL;

    cr_assert(eq(int, sync_cond_open(c, name, lk, &cv), 0));
    return cv;
}

/* The test's side: a client, the Condition C (own RLock), shared state. */
#define CV_SETUP                                                              \
    sync_client *c = conf_connect();                                          \
    sync_cond *cv = cv_open(c, "C", NULL);                                    \
    struct cv *s = cv_new()

static void cv_teardown(sync_client *c, sync_cond *cv, struct cv *s)
{
    cv_free(s);
    sync_cond_close(cv);
    sync_disconnect(c);
}

/* Acquire cv's lock once n waiters are counted in; returns holding it. */
static void lock_when_entered(sync_cond *cv, struct cv *s, int n)
{
    double deadline = fx_now() + 5.0;

    for (;;) {
        cr_assert(eq(int, sync_cond_acquire(cv, true, 5.0), 0));
        if (atomic_load(&s->entered) >= n)
            return;
        cr_assert(eq(int, sync_cond_release(cv), 0));
        cr_assert(lt(dbl, fx_now(), deadline), "%d waiters never came", n);
        fx_sleep_ms(2);
    }
}

/* Wait until `want` waits returned, then check that no more did. */
static void expect_woken(struct cv *s, int want)
{
    CONF_WAIT_UNTIL(atomic_load(&s->woken) >= want, 5000);
    fx_sleep_ms(CONF_SETTLE_MS);
    cr_assert(eq(int, atomic_load(&s->woken), want));
}

/* The common waiter: count in, wait, record, release. */
static int w_waiter(sync_client *c, int idx, void *arg)
{
    struct cv *s = arg;
    sync_cond *cv;

    W_EQ(sync_cond_open(c, "C", NULL, &cv), 0);
    W_WAIT_UNTIL(atomic_load(&s->start[idx]) == 1, 10000);
    W_EQ(sync_cond_acquire(cv, true, -1), 0);
    atomic_fetch_add(&s->entered, 1);
    W_EQ(sync_cond_wait(cv, 10.0), 0);
    W_EQ(atomic_load(&s->inside), 0); /* the notifier had released */
    s->order[atomic_fetch_add(&s->order_n, 1)] = idx;
    atomic_fetch_add(&s->woken, 1);
    W_EQ(sync_cond_release(cv), 0);
    sync_cond_close(cv);
    return 0;
}

/* n waiters on C, started one by one (so queued in index order). */
static struct conf_group *start_waiters(enum conf_mode mode, sync_client *c,
                                        sync_cond *cv, struct cv *s, int n)
{
    struct conf_group *g = conf_spawn(mode, c, n, w_waiter, s);
    int i;

    for (i = 0; i < n; i++) {
        atomic_store(&s->start[i], 1);
        lock_when_entered(cv, s, i + 1);
        cr_assert(eq(int, sync_cond_release(cv), 0));
    }
    return g;
}

/* ---- the lock must be held -------------------------------------------- */

static int w_unheld(sync_client *c, int idx, void *arg)
{
    struct cv *s = arg;
    sync_cond *cv;

    (void)idx;
    W_EQ(sync_cond_open(c, "C", NULL, &cv), 0);
    /* Held by the test's thread: not by this one. */
    W_EQ(sync_cond_acquire(cv, false, -1), SYNC_ETIMEDOUT);
    W_EQ(sync_cond_wait(cv, 0.1), SYNC_EPERM);
    W_EQ(sync_cond_notify(cv, 1), SYNC_EPERM);
    W_EQ(sync_cond_notify_all(cv), SYNC_EPERM);
    W_EQ(sync_cond_release(cv), SYNC_EPERM);
    conf_chan_signal(&s->step, 1);
    W_EQ(conf_chan_await(&s->go, 10000), 1);
    /* Held by nobody. */
    W_EQ(sync_cond_wait(cv, 0.1), SYNC_EPERM);
    W_EQ(sync_cond_notify(cv, 1), SYNC_EPERM);
    W_EQ(sync_cond_notify_all(cv), SYNC_EPERM);
    W_EQ(sync_cond_release(cv), SYNC_EPERM);
    sync_cond_close(cv);
    return 0;
}

/*
 * "Other methods must be called with the associated lock held."
 * wait(): "If the calling thread has not acquired the lock when this
 * method is called, a RuntimeError is raised."  notify(): "If the calling
 * thread has not acquired the lock when this method is called, a
 * RuntimeError is raised."  notify_all(): the same.
 */
CONF_BOTH(condition, methods_without_the_lock_are_eperm, .timeout = 20)
{
    CV_SETUP;
    struct conf_group *g;

    cr_assert(eq(int, sync_cond_acquire(cv, true, -1), 0));
    g = conf_spawn(mode, c, 1, w_unheld, s);
    cr_assert(eq(int, conf_chan_await(&s->step, 10000), 1));
    cr_assert(eq(int, sync_cond_release(cv), 0));
    conf_chan_signal(&s->go, 1);
    conf_join(g, 10000);
    cv_teardown(c, cv, s);
}

/* ---- wait and notify -------------------------------------------------- */

/*
 * "The wait() method releases the lock, and then blocks until another
 * thread awakens it by calling notify() or notify_all(). Once awakened,
 * wait() re-acquires the lock and returns."
 * "Note: the notify() and notify_all() methods don't release the lock;
 * this means that the thread or threads awakened will not return from
 * their wait() call immediately, but only when the thread that called
 * notify() or notify_all() finally relinquishes ownership of the lock."
 */
CONF_BOTH(condition, wait_releases_lock_and_returns_after_notifier_releases,
          .timeout = 20)
{
    CV_SETUP;
    struct conf_group *g = conf_spawn(mode, c, 1, w_waiter, s);

    atomic_store(&s->start[0], 1);
    lock_when_entered(cv, s, 1); /* possible only as wait released it */
    cr_assert(eq(int, sync_cond_notify(cv, 1), 0));
    atomic_store(&s->inside, 1);
    fx_sleep_ms(CONF_SETTLE_MS);
    cr_assert(eq(int, atomic_load(&s->woken), 0),
              "wait returned while the notifier held the lock");
    atomic_store(&s->inside, 0);
    cr_assert(eq(int, sync_cond_release(cv), 0));
    conf_join(g, 10000);
    cr_assert(eq(int, atomic_load(&s->woken), 1));
    cv_teardown(c, cv, s);
}

static int w_late(sync_client *c, int idx, void *arg)
{
    sync_cond *cv;

    (void)idx;
    (void)arg;
    W_EQ(sync_cond_open(c, "C", NULL, &cv), 0);
    W_EQ(sync_cond_acquire(cv, true, -1), 0);
    W_EQ(sync_cond_wait(cv, 0.2), SYNC_ETIMEDOUT);
    W_EQ(sync_cond_release(cv), 0);
    sync_cond_close(cv);
    return 0;
}

/*
 * notify(n=1): "This method wakes up at most n of the threads waiting for
 * the condition variable; it is a no-op if no threads are waiting."
 * "The current implementation wakes up exactly n threads, if at least n
 * threads are waiting."
 * notify_all(): "Wake up all threads waiting on this condition."
 * syncclient.h adds "(FIFO)": the waiters, queued in index order, come
 * back in that order (CPython does so too, without promising it).
 */
CONF_BOTH(condition, notify_n_counts_and_notify_all, .timeout = 30)
{
    CV_SETUP;
    struct conf_group *g = start_waiters(mode, c, cv, s, CV_W);
    const unsigned n[] = {2, 1, 0};
    const int want[] = {2, 3, 3};
    int k;

    for (k = 0; k < 3; k++) {
        cr_assert(eq(int, sync_cond_acquire(cv, true, -1), 0));
        cr_assert(eq(int, sync_cond_notify(cv, n[k]), 0));
        cr_assert(eq(int, sync_cond_release(cv), 0));
        expect_woken(s, want[k]);
    }
    cr_assert(eq(int, sync_cond_acquire(cv, true, -1), 0));
    cr_assert(eq(int, sync_cond_notify_all(cv), 0));
    cr_assert(eq(int, sync_cond_release(cv), 0));
    expect_woken(s, CV_W);
    conf_join(g, 10000);
    /* Nobody waits now: a no-op, not an error, and not remembered for a
     * later waiter (its wait times out). */
    cr_assert(eq(int, sync_cond_acquire(cv, true, -1), 0));
    cr_assert(eq(int, sync_cond_notify(cv, 3), 0));
    cr_assert(eq(int, sync_cond_notify_all(cv), 0));
    cr_assert(eq(int, sync_cond_release(cv), 0));
    conf_join(conf_spawn(mode, c, 1, w_late, NULL), 10000);
    for (k = 0; k < CV_W; k++)
        cr_assert(eq(int, s->order[k], k));
    cv_teardown(c, cv, s);
}

/* ---- timeouts ----------------------------------------------------------- */

static int w_timeout(sync_client *c, int idx, void *arg)
{
    struct cv *s = arg;
    sync_cond *cv;
    double t0;

    (void)idx;
    W_EQ(sync_cond_open(c, "C", NULL, &cv), 0);
    W_EQ(sync_cond_acquire(cv, true, -1), 0);
    W_EQ(sync_cond_acquire(cv, true, -1), 0); /* RLock depth 2 */
    atomic_store(&s->entered, 1);
    t0 = fx_now();
    s->rv = sync_cond_wait(cv, 0.3);
    s->t_ret = fx_now();
    W_TRUE(s->t_ret - t0 >= 0.3);
    conf_chan_signal(&s->step, 1); /* the test probes the lock now */
    W_EQ(conf_chan_await(&s->go, 10000), 1);
    W_EQ(sync_cond_release(cv), 0);
    W_EQ(sync_cond_release(cv), 0);
    W_EQ(sync_cond_release(cv), SYNC_EPERM);
    sync_cond_close(cv);
    return 0;
}

/*
 * wait(): "Once awakened or timed out, it re-acquires the lock and
 * returns."  "The return value is True unless a given timeout expired, in
 * which case it is False."
 * The waiter holds the lock again (at its depth) on SYNC_ETIMEDOUT:
 * nobody else could take it until the waiter released it.  The test holds
 * the lock over the deadline, so the timed-out waiter must wait for it.
 */
CONF_BOTH(condition, wait_timeout_returns_holding_the_lock, .timeout = 20)
{
    CV_SETUP;
    struct conf_group *g = conf_spawn(mode, c, 1, w_timeout, s);
    double t_rel;

    lock_when_entered(cv, s, 1);
    fx_sleep_ms(600); /* past the waiter's 0.3 s deadline */
    t_rel = fx_now();
    cr_assert(eq(int, sync_cond_release(cv), 0));
    cr_assert(eq(int, conf_chan_await(&s->step, 10000), 1));
    cr_assert(eq(int, s->rv, SYNC_ETIMEDOUT));
    cr_assert(ge(dbl, s->t_ret, t_rel), "returned before it had the lock");
    cr_assert(eq(int, sync_cond_acquire(cv, false, -1), SYNC_ETIMEDOUT));
    cr_assert(eq(int, sync_cond_acquire(cv, true, 0.1), SYNC_ETIMEDOUT));
    conf_chan_signal(&s->go, 1);
    conf_join(g, 10000);
    cr_assert(eq(int, sync_cond_acquire(cv, false, -1), 0));
    cr_assert(eq(int, sync_cond_release(cv), 0));
    cv_teardown(c, cv, s);
}

static int w_rlock_depth(sync_client *c, int idx, void *arg)
{
    struct cv *s = arg;
    sync_cond *cv;
    int i;

    (void)idx;
    W_EQ(sync_cond_open(c, "C", NULL, &cv), 0);
    for (i = 0; i < 3; i++)
        W_EQ(sync_cond_acquire(cv, true, -1), 0);
    atomic_store(&s->entered, 1);
    W_EQ(sync_cond_wait(cv, 10.0), 0);
    for (i = 0; i < 3; i++)
        W_EQ(sync_cond_release(cv), 0);
    W_EQ(sync_cond_release(cv), SYNC_EPERM);
    sync_cond_close(cv);
    return 0;
}

/*
 * "When the underlying lock is an RLock, it is not released using its
 * release() method, since this may not actually unlock the lock when it
 * was acquired multiple times recursively. Instead, an internal interface
 * of the RLock class is used, which really unlocks it even when it has
 * been recursively acquired several times. Another internal interface is
 * then used to restore the recursion level when the lock is reacquired."
 * class Condition(lock=None): "Otherwise, a new RLock object is created
 * and used as the underlying lock."
 */
CONF_BOTH(condition, wait_releases_every_rlock_level_and_restores_them,
          .timeout = 20)
{
    CV_SETUP;
    struct conf_group *g = conf_spawn(mode, c, 1, w_rlock_depth, s);

    lock_when_entered(cv, s, 1); /* depth 3 gone at once */
    cr_assert(eq(int, sync_cond_notify(cv, 1), 0));
    cr_assert(eq(int, sync_cond_release(cv), 0));
    conf_join(g, 10000);
    cv_teardown(c, cv, s);
}

/* ---- wait_for ----------------------------------------------------------- */

static bool pred_counter(void *arg)
{
    struct cv *s = arg;

    s->pred_calls++;
    if (atomic_load(&s->inside))
        s->pred_unlocked++;
    return s->counter >= 3;
}

static bool pred_never(void *arg)
{
    (void)arg;
    return false;
}

static int w_wait_for(sync_client *c, int idx, void *arg)
{
    struct cv *s = arg;
    sync_cond *cv;
    double t0, dt;

    (void)idx;
    W_EQ(sync_cond_open(c, "C", NULL, &cv), 0);
    W_EQ(sync_cond_acquire(cv, true, -1), 0);
    atomic_store(&s->entered, 1);
    W_EQ(sync_cond_wait_for(cv, pred_counter, s, 10.0), 0);
    W_TRUE(s->counter >= 3);
    W_TRUE(s->pred_calls >= 2);
    W_EQ(s->pred_unlocked, 0);
    /* Already true: returns at once, even with a zero timeout. */
    W_EQ(sync_cond_wait_for(cv, pred_counter, s, 0), 0);
    /* Never true: False after the timeout, in spite of wake-ups. */
    W_EQ(sync_cond_wait_for(cv, pred_never, NULL, 0), SYNC_ETIMEDOUT);
    atomic_store(&s->entered, 2);
    t0 = fx_now();
    W_EQ(sync_cond_wait_for(cv, pred_never, NULL, 0.6), SYNC_ETIMEDOUT);
    dt = fx_now() - t0;
    W_TRUE(dt >= 0.6 && dt < 0.6 + CONF_LATE_S);
    W_EQ(sync_cond_release(cv), 0); /* held on return */
    W_EQ(sync_cond_release(cv), SYNC_EPERM);
    sync_cond_close(cv);
    return 0;
}

/*
 * wait_for(predicate, timeout=None): "Wait until a condition evaluates to
 * true."  "This utility method may call wait() repeatedly until the
 * predicate is satisfied, or until a timeout occurs. The return value is
 * the last return value of the predicate and will evaluate to False if
 * the method timed out."  "The lock must be held when called and is
 * re-acquired on return. The predicate is evaluated with the lock held."
 */
CONF_BOTH(condition, wait_for_predicate_and_timeout, .timeout = 20)
{
    CV_SETUP;
    struct conf_group *g = conf_spawn(mode, c, 1, w_wait_for, s);
    int k;

    for (k = 1; k <= 3; k++) {
        lock_when_entered(cv, s, 1);
        atomic_store(&s->inside, 1);
        s->counter = k;
        cr_assert(eq(int, sync_cond_notify_all(cv), 0));
        fx_sleep_ms(20);
        atomic_store(&s->inside, 0);
        cr_assert(eq(int, sync_cond_release(cv), 0));
    }
    /* Spurious wake-ups while the second wait_for runs out of time. */
    lock_when_entered(cv, s, 2);
    cr_assert(eq(int, sync_cond_release(cv), 0));
    for (k = 0; k < 4; k++) {
        fx_sleep_ms(100);
        cr_assert(eq(int, sync_cond_acquire(cv, true, 5.0), 0));
        cr_assert(eq(int, sync_cond_notify_all(cv), 0));
        cr_assert(eq(int, sync_cond_release(cv), 0));
    }
    conf_join(g, 10000);
    cv_teardown(c, cv, s);
}

/* ---- a named Lock, open rules, a killed waiter (syncd) ------------------ */

static int w_named(sync_client *c, int idx, void *arg)
{
    struct cv *s = arg;
    sync_cond *cv;
    sync_lock *l;

    (void)idx;
    W_EQ(sync_lock_open(c, "L", &l), 0);
    W_EQ(sync_cond_open(c, "C1", "L", &cv), 0);
    W_EQ(sync_lock_acquire(l, true, -1), 0); /* through the Lock handle */
    conf_chan_signal(&s->step, 1);
    W_EQ(conf_chan_await(&s->go, 10000), 1);
    atomic_store(&s->entered, 1);
    W_EQ(sync_cond_wait(cv, 10.0), 0);
    atomic_store(&s->woken, 1);
    W_EQ(sync_lock_locked(l), 1);
    W_EQ(sync_lock_release(l), 0); /* held again, through either handle */
    sync_cond_close(cv);
    sync_lock_close(l);
    return 0;
}

/*
 * "If the lock argument is given and not None, it must be a Lock or RLock
 * object, and it is used as the underlying lock."  "Passing one in is
 * useful when several condition variables must share the same lock."
 * C1 and C2 are bound to the Lock named L, which sync_lock_open opens too:
 * one lock behind all three handles; a notify of C2 does not wake C1.
 */
CONF_BOTH(condition, conditions_share_a_named_lock, .timeout = 20)
{
    sync_client *c = conf_connect();
    sync_lock *l = NULL;
    sync_cond *c1, *c2;
    struct cv *s = cv_new();
    struct conf_group *g;

    cr_assert(eq(int, sync_lock_open(c, "L", &l), 0));
    c1 = cv_open(c, "C1", "L");
    c2 = cv_open(c, "C2", "L");
    g = conf_spawn(mode, c, 1, w_named, s);
    cr_assert(eq(int, conf_chan_await(&s->step, 10000), 1));
    cr_assert(eq(int, sync_lock_locked(l), 1));
    cr_assert(eq(int, sync_cond_acquire(c1, false, -1), SYNC_ETIMEDOUT));
    cr_assert(eq(int, sync_cond_acquire(c2, true, 0.1), SYNC_ETIMEDOUT));
    conf_chan_signal(&s->go, 1);
    lock_when_entered(c2, s, 1); /* C1's wait released L */
    cr_assert(eq(int, sync_lock_locked(l), 1));
    cr_assert(eq(int, sync_cond_notify(c2, 1), 0));
    cr_assert(eq(int, sync_lock_release(l), 0));
    fx_sleep_ms(CONF_SETTLE_MS);
    cr_assert(eq(int, atomic_load(&s->woken), 0), "C2's notify woke C1");
    cr_assert(eq(int, sync_lock_acquire(l, true, 5.0), 0));
    cr_assert(eq(int, sync_cond_notify(c1, 1), 0));
    cr_assert(eq(int, sync_cond_release(c1), 0));
    conf_join(g, 10000);
    cr_assert(eq(int, sync_lock_locked(l), 0));
    cv_free(s);
    sync_cond_close(c2);
    sync_cond_close(c1);
    sync_lock_close(l);
    sync_disconnect(c);
}

static int w_open_rules(sync_client *c, int idx, void *arg)
{
    sync_cond *cv = NULL;
    sync_lock *l = NULL;
    sync_rlock *r;

    (void)idx;
    (void)arg;
    W_EQ(sync_cond_open(c, "C", "L2", &cv), SYNC_EEXIST);
    W_TRUE(cv == NULL);
    W_EQ(sync_cond_open(c, "CS", "S", &cv), SYNC_ETYPE);
    W_TRUE(cv == NULL);
    W_EQ(sync_cond_open(c, "CE", "E", &cv), SYNC_ETYPE);
    W_EQ(sync_cond_open(c, "C", "L1", &cv), 0);
    sync_cond_close(cv);
    /* A lock_name not yet there is created as an RLock. */
    W_EQ(sync_cond_open(c, "CN", "NEW", &cv), 0);
    W_EQ(sync_lock_open(c, "NEW", &l), SYNC_ETYPE);
    W_EQ(sync_rlock_open(c, "NEW", &r), 0);
    W_EQ(sync_cond_acquire(cv, true, -1), 0);
    W_EQ(sync_rlock_locked(r), 1);
    W_EQ(sync_rlock_release(r), 0); /* same thread: the same RLock */
    W_EQ(sync_rlock_locked(r), 0);
    sync_rlock_close(r);
    sync_cond_close(cv);
    return 0;
}

/*
 * syncclient.h, sync_cond_open: "Opening an existing condition with
 * another lock_name is SYNC_EEXIST; a lock_name naming another type is
 * SYNC_ETYPE."; "bound to the Lock or RLock called lock_name (created as
 * an RLock if it does not exist yet)".  Python: the lock "must be a Lock
 * or RLock object".
 */
CONF_BOTH(condition, open_rules_for_lock_names, .timeout = 20)
{
    sync_client *c = conf_connect();
    sync_cond *cv = cv_open(c, "C", "L1");
    sync_sem *sem = NULL;
    sync_event *e = NULL;

    cr_assert(eq(int, sync_sem_open(c, "S", 1, &sem), 0));
    cr_assert(eq(int, sync_event_open(c, "E", &e), 0));
    conf_join(conf_spawn(mode, c, 1, w_open_rules, NULL), 10000);
    sync_event_close(e);
    sync_sem_close(sem);
    sync_cond_close(cv);
    sync_disconnect(c);
}

static int w_doomed_or_live(sync_client *c, int idx, void *arg)
{
    struct cv *s = arg;
    sync_cond *cv;
    sync_lock *marker;

    W_EQ(sync_cond_open(c, "C", NULL, &cv), 0);
    W_WAIT_UNTIL(atomic_load(&s->start[idx]) == 1, 10000);
    if (idx == 0) { /* the one to be killed; its marker shows its death */
        W_EQ(sync_lock_open(c, "marker", &marker), 0);
        W_EQ(sync_lock_acquire(marker, true, -1), 0);
    }
    W_EQ(sync_cond_acquire(cv, true, -1), 0);
    atomic_fetch_add(&s->entered, 1);
    s->rv = sync_cond_wait(cv, 4.0);
    s->t_ret = fx_now();
    W_EQ(sync_cond_release(cv), 0);
    sync_cond_close(cv);
    return 0;
}

/*
 * Python's promise, for processes: notify() "wakes up one of the threads
 * waiting"; a waiter that died is not waiting, so it must not use up the
 * notify.  The killed waiter queued first (notify is FIFO), the live one
 * second; notify(1) after the death wakes the live one.
 */
Test(condition, killed_waiter_does_not_consume_a_notify, .timeout = 20)
{
    sync_client *c = conf_connect();
    sync_cond *cv = cv_open(c, "C", NULL);
    sync_lock *marker = NULL;
    struct cv *s = cv_new();
    struct conf_group *g;
    double t_notify;

    cr_assert(eq(int, sync_lock_open(c, "marker", &marker), 0));
    g = conf_spawn(CONF_PROCS, c, 2, w_doomed_or_live, s);
    atomic_store(&s->start[0], 1);
    lock_when_entered(cv, s, 1);
    cr_assert(eq(int, sync_cond_release(cv), 0));
    atomic_store(&s->start[1], 1);
    lock_when_entered(cv, s, 2);
    cr_assert(eq(int, sync_cond_release(cv), 0));
    conf_kill(g, 0);
    /* The daemon has seen the death once the marker comes free. */
    cr_assert(eq(int, sync_lock_acquire(marker, true, 5.0), 0));
    cr_assert(eq(int, sync_lock_owner_died(marker), 1));
    cr_assert(eq(int, sync_cond_acquire(cv, true, 5.0), 0));
    t_notify = fx_now();
    cr_assert(eq(int, sync_cond_notify(cv, 1), 0));
    cr_assert(eq(int, sync_cond_release(cv), 0));
    conf_join(g, 10000);
    cr_assert(eq(int, s->rv, 0), "the live waiter was not notified");
    cr_assert(lt(dbl, s->t_ret - t_notify, CONF_PROMPT_S));
    cr_assert(eq(int, sync_lock_release(marker), 0));
    cv_free(s);
    sync_lock_close(marker);
    sync_cond_close(cv);
    sync_disconnect(c);
}
