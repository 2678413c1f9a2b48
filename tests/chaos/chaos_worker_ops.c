/*
 * chaos_worker_ops.c: the worker's Event, Condition and Barrier operations,
 * and its helper thread.
 */
#include <pthread.h>
#include <unistd.h>

#include "chaos_worker.h"
#include "internal.h" /* sync__lockable_owner_died for the Condition */

static const int ok_broken[] = {SYNC_EBROKEN, 0};

/* ---- Event --------------------------------------------------------------- */

void ch_op_event(void)
{
    int r = ch_rand_int(0, 99), f, rc;
    double to, t0 = ch_now();

    if (r < 15) {
        ch_check_call("event set", t0, -1, sync_event_set(wk.ev), 0, NULL);
    } else if (r < 30) {
        ch_check_call("event clear", t0, -1, sync_event_clear(wk.ev), 0, NULL);
    } else if (r < 40) {
        ch_check_call("event is_set", t0, -1, sync_event_is_set(wk.ev), 1,
                      NULL);
    } else if (r < 80) {
        to = ch_rand_timeout(0.3);
        t0 = ch_now();
        ch_check_call("event wait", t0, to, sync_event_wait(wk.ev, to), 0,
                      ch_ok_timeout);
    } else {
        /* Once chaos/event_once is set it stays set: a wait that starts
         * after that must return 0 at once. */
        f = atomic_load(&ch->ev_once_set);
        to = ch_rand_timeout(0.2);
        t0 = ch_now();
        rc = ch_check_call("event_once wait", t0, to,
                           sync_event_wait(wk.once, to), 0, ch_ok_timeout);
        if (f && rc != 0)
            ch_violation(
                "event_once wait returned %s after the event "
                "was set",
                sync_errname(rc));
    }
}

/* ---- Condition: producer / consumer -------------------------------------- */

static void cond_take(void)
{
    ch_witness_take(&ch->cond_holder, wk.me,
                    sync__lockable_owner_died((struct sync__lockable *)wk.cv),
                    CH_COND_LOCK);
}

static void cond_give(void)
{
    ch_witness_give(&ch->cond_holder, wk.me, CH_COND_LOCK);
}

/* The invariant, checked with the lock held. */
static int cond_items_checked(void)
{
    int n = atomic_load(&ch->cond_items);

    if (n < 0 || n > CH_COND_CAP)
        ch_violation("condition: %d items, outside [0, %d]", n, CH_COND_CAP);
    return n;
}

static bool cond_ready(bool producer)
{
    int n = cond_items_checked();

    return producer ? n < CH_COND_CAP : n > 0;
}

/* wait_for's predicate: runs with the lock held; keeps the witness only
 * when it returns true (the wait then returns with the lock held). */
static bool cond_pred(void *arg)
{
    bool ready;

    cond_take();
    ready = cond_ready(*(bool *)arg);
    if (!ready)
        cond_give();
    return ready;
}

/* A wait must come back with the lock held, whatever it returns. */
static void cond_wait_rc(int rc)
{
    if (rc != 0 && rc != SYNC_ETIMEDOUT)
        _exit(5); /* the violation is recorded; the lock state is unknown */
}

void ch_op_cond(void)
{
    bool producer = ch_chance(50), ready;
    double to = ch_rand_timeout(0.3), t0 = ch_now(), end;
    int rc;

    if (ch_chance(3) && (rc = sync_cond_notify(wk.cv, 1)) != SYNC_EPERM)
        ch_violation("notify without the lock returned %s", sync_errname(rc));
    rc = ch_check_call("cond acquire", t0, to,
                       sync_cond_acquire(wk.cv, true, to), 0, ch_ok_timeout);
    if (rc != 0)
        return;
    cond_take();
    ready = cond_ready(producer);
    to = ch_rand_timeout(0.3);
    if (!ready && ch_chance(50)) {
        cond_give();
        t0 = ch_now();
        rc = ch_check_call("cond wait_for", t0, to,
                           sync_cond_wait_for(wk.cv, cond_pred, &producer, to),
                           0, ch_ok_timeout);
        cond_wait_rc(rc);
        if (rc == SYNC_ETIMEDOUT)
            cond_take(); /* the predicate gave the witness back */
        ready = rc == 0;
    } else {
        end = ch_now() + to;
        while (!ready && ch_now() < end) {
            cond_give();
            t0 = ch_now();
            rc = ch_check_call("cond wait", t0, end - t0,
                               sync_cond_wait(wk.cv, end - t0), 0,
                               ch_ok_timeout);
            cond_wait_rc(rc);
            cond_take();
            ready = cond_ready(producer);
            if (rc == SYNC_ETIMEDOUT)
                break;
        }
    }
    if (ready) {
        /* One store: a kill at any instant leaves the count consistent. */
        atomic_store(&ch->cond_items,
                     cond_items_checked() + (producer ? 1 : -1));
        atomic_fetch_add(producer ? &ch->st.produced : &ch->st.consumed, 1);
        t0 = ch_now();
        ch_check_call("cond notify", t0, -1,
                      ch_chance(50) ? sync_cond_notify(wk.cv, 1)
                                    : sync_cond_notify_all(wk.cv),
                      0, NULL);
    }
    cond_give();
    t0 = ch_now();
    ch_check_call("cond release", t0, -1, sync_cond_release(wk.cv), 0, NULL);
}

/* ---- Barrier (killable parties) ------------------------------------------ */

void ch_op_barrier(void)
{
    double to = ch_rand_dbl(0.01, 0.5), t0 = ch_now();
    int rc;

    rc = ch_check_call("bar_rand wait", t0, to, sync_barrier_wait(wk.bar, to),
                       CH_RAND_PARTIES - 1, ok_broken);
    if (rc == SYNC_EBROKEN) {
        atomic_fetch_add(&ch->st.rand_broken, 1);
        if (ch_chance(50)) {
            t0 = ch_now();
            ch_check_call("bar_rand reset", t0, -1, sync_barrier_reset(wk.bar),
                          0, NULL);
        }
    }
}

/* ---- helper thread ------------------------------------------------------- */

/* Event and Barrier calls from a second thread, concurrent with the main
 * thread's over the same connection: a kill then often lands with several
 * calls in flight.  The helper touches only wk.ev, wk.once and wk.bar,
 * which only a disconnect (under ch_helper_pause) closes. */
static pthread_t helper;
static pthread_rwlock_t helper_rw;
static atomic_int helper_stop;

static void helper_op(void)
{
    double t0 = ch_now(), to;
    int r = ch_rand_int(0, 99), f, rc;

    if (r < 45) {
        to = ch_rand_timeout(0.3);
        t0 = ch_now();
        ch_check_call("helper event wait", t0, to, sync_event_wait(wk.ev, to),
                      0, ch_ok_timeout);
    } else if (r < 55) {
        ch_check_call(r & 1 ? "helper event set" : "helper event clear", t0, -1,
                      r & 1 ? sync_event_set(wk.ev) : sync_event_clear(wk.ev),
                      0, NULL);
    } else if (r < 70) {
        f = atomic_load(&ch->ev_once_set);
        to = ch_rand_timeout(0.2);
        t0 = ch_now();
        rc = ch_check_call("helper event_once wait", t0, to,
                           sync_event_wait(wk.once, to), 0, ch_ok_timeout);
        if (f && rc != 0)
            ch_violation(
                "event_once wait returned %s after the event "
                "was set",
                sync_errname(rc));
    } else if (r < 85) {
        ch_check_call("helper is_set", t0, -1, sync_event_is_set(wk.ev), 1,
                      NULL);
    } else {
        ch_check_call("helper n_waiting", t0, -1,
                      sync_barrier_n_waiting(wk.bar), CH_RAND_PARTIES - 1,
                      NULL);
    }
}

static void *helper_main(void *arg)
{
    (void)arg;
    ch_seed(((uint64_t)getpid() << 40) ^ (uint64_t)(ch_now() * 1e9) ^
            0x5bd1e995u);
    while (!atomic_load(&helper_stop)) {
        pthread_rwlock_rdlock(&helper_rw);
        helper_op();
        pthread_rwlock_unlock(&helper_rw);
        ch_sleep_s(ch_rand_dbl(0, 0.002));
    }
    return NULL;
}

void ch_helper_start(void)
{
    pthread_rwlockattr_t a;

    pthread_rwlockattr_init(&a);
    /* The main thread's pause must not starve behind the helper. */
    pthread_rwlockattr_setkind_np(&a,
                                  PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&helper_rw, &a);
    pthread_rwlockattr_destroy(&a);
    if (pthread_create(&helper, NULL, helper_main, NULL) != 0) {
        ch_violation("worker: pthread_create failed");
        _exit(4);
    }
}

void ch_helper_stop(void)
{
    atomic_store(&helper_stop, 1);
    pthread_join(helper, NULL);
}

void ch_helper_pause(void)
{
    pthread_rwlock_wrlock(&helper_rw);
}

void ch_helper_resume(void)
{
    pthread_rwlock_unlock(&helper_rw);
}
