/*
 * test_timeout.c: timed waits end on time (CLOCK_MONOTONIC) and a wait that
 * timed out never acquires afterwards: "either acquires or times out,
 * never both" (syncclient.h).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "daemon_fixture.h"
#include "frame.h"
#include "rawsock.h"
#include "syncclient.h"

TestSuite(timeout, .init = syncd_fixture_init, .fini = syncd_fixture_fini,
          .timeout = 30);

/* A 0.2 s wait must end within [MIN, MAX] seconds. */
#define WAIT_S 0.2
#define MIN_S 0.18
#define MAX_S 0.5

static sync_client *connect_ok(void)
{
    sync_client *c = NULL;

    cr_assert(eq(int, sync_connect(syncd_fx.sock, &c), 0));
    return c;
}

Test(timeout, lock_acquire_times_out_and_does_not_hold)
{
    sync_client *holder = connect_ok(), *late = connect_ok(),
                *third = connect_ok();
    sync_lock *lh, *ll, *lt;
    double t0, dt;

    cr_assert(eq(int, sync_lock_open(holder, "to/lock", &lh), 0));
    cr_assert(eq(int, sync_lock_open(late, "to/lock", &ll), 0));
    cr_assert(eq(int, sync_lock_open(third, "to/lock", &lt), 0));
    cr_assert(eq(int, sync_lock_acquire(lh, true, -1), 0));

    t0 = fx_now();
    cr_assert(eq(int, sync_lock_acquire(ll, true, WAIT_S), SYNC_ETIMEDOUT));
    dt = fx_now() - t0;
    cr_assert(ge(dbl, dt, MIN_S), "returned after %.3f s", dt);
    cr_assert(le(dbl, dt, MAX_S), "returned after %.3f s", dt);

    /* The timed-out waiter is gone from the queue: once the holder
     * releases, a third party gets the lock at once... */
    cr_assert(eq(int, sync_lock_release(lh), 0));
    cr_assert(eq(int, sync_lock_acquire(lt, false, -1), 0));
    /* ...and the timer-outer never held it. */
    cr_assert(eq(int, sync_lock_release(ll), SYNC_EPERM));
    cr_assert(eq(int, sync_lock_locked(ll), 1));
    cr_assert(eq(int, sync_lock_release(lt), 0));
    cr_assert(eq(int, sync_lock_locked(ll), 0));

    sync_lock_close(lh);
    sync_lock_close(ll);
    sync_lock_close(lt);
    sync_disconnect(holder);
    sync_disconnect(late);
    sync_disconnect(third);
}

Test(timeout, sem_acquire_times_out_and_takes_nothing)
{
    sync_client *a = connect_ok(), *b = connect_ok();
    sync_sem *sa, *sb;
    double t0, dt;

    cr_assert(eq(int, sync_sem_open(a, "to/sem", 1, &sa), 0));
    cr_assert(eq(int, sync_sem_open(b, "to/sem", 1, &sb), 0));
    cr_assert(eq(int, sync_sem_acquire(sa, true, -1), 0));
    cr_assert(eq(int, sync_sem_value(sb), 0));

    t0 = fx_now();
    cr_assert(eq(int, sync_sem_acquire(sb, true, WAIT_S), SYNC_ETIMEDOUT));
    dt = fx_now() - t0;
    cr_assert(ge(dbl, dt, MIN_S), "returned after %.3f s", dt);
    cr_assert(le(dbl, dt, MAX_S), "returned after %.3f s", dt);

    /* The permit given back stays available: the expired waiter did not
     * take it. */
    cr_assert(eq(int, sync_sem_release(sa, 1), 0));
    cr_assert(eq(int, sync_sem_value(sb), 1));
    cr_assert(eq(int, sync_sem_acquire(sa, false, -1), 0));
    cr_assert(eq(int, sync_sem_value(sb), 0));
    cr_assert(eq(int, sync_sem_release(sa, 1), 0));

    sync_sem_close(sa);
    sync_sem_close(sb);
    sync_disconnect(a);
    sync_disconnect(b);
}

Test(timeout, event_wait_times_out_on_clear_event)
{
    sync_client *a = connect_ok(), *b = connect_ok();
    sync_event *ea, *eb;
    double t0, dt;

    cr_assert(eq(int, sync_event_open(a, "to/event", &ea), 0));
    cr_assert(eq(int, sync_event_open(b, "to/event", &eb), 0));

    t0 = fx_now();
    cr_assert(eq(int, sync_event_wait(eb, WAIT_S), SYNC_ETIMEDOUT));
    dt = fx_now() - t0;
    cr_assert(ge(dbl, dt, MIN_S), "returned after %.3f s", dt);
    cr_assert(le(dbl, dt, MAX_S), "returned after %.3f s", dt);
    cr_assert(eq(int, sync_event_is_set(eb), 0));

    /* A later set is seen by a new wait at once. */
    cr_assert(eq(int, sync_event_set(ea), 0));
    t0 = fx_now();
    cr_assert(eq(int, sync_event_wait(eb, WAIT_S), 0));
    cr_assert(lt(dbl, fx_now() - t0, 0.1));

    sync_event_close(ea);
    sync_event_close(eb);
    sync_disconnect(a);
    sync_disconnect(b);
}

Test(timeout, zero_timeout_tries_once)
{
    sync_client *a = connect_ok(), *b = connect_ok();
    sync_lock *la, *lb;
    sync_event *e;
    double t0;

    cr_assert(eq(int, sync_lock_open(a, "to/lock0", &la), 0));
    cr_assert(eq(int, sync_lock_open(b, "to/lock0", &lb), 0));
    cr_assert(eq(int, sync_event_open(b, "to/event0", &e), 0));
    cr_assert(eq(int, sync_lock_acquire(la, true, 0.0), 0));
    t0 = fx_now();
    cr_assert(eq(int, sync_lock_acquire(lb, true, 0.0), SYNC_ETIMEDOUT));
    cr_assert(eq(int, sync_event_wait(e, 0.0), SYNC_ETIMEDOUT));
    cr_assert(lt(dbl, fx_now() - t0, 0.1));
    cr_assert(eq(int, sync_lock_release(la), 0));
    sync_lock_close(la);
    sync_lock_close(lb);
    sync_event_close(e);
    sync_disconnect(a);
    sync_disconnect(b);
}

/* Append rq to buf at *len as one frame. */
static void frame_append(uint8_t *buf, size_t *len, const Syncd__Request *rq)
{
    size_t n = syncd__request__get_packed_size(rq);

    frame_put_header(buf + *len, (uint32_t)n);
    syncd__request__pack(rq, buf + *len + FRAME_HEADER_SIZE);
    *len += FRAME_HEADER_SIZE + n;
}

/*
 * A condition's wait(0) still queues (it gives its lock back and takes it
 * again), but its zero timeout is over at once: the reply comes before
 * that of a request sent right behind it in the same write - not at the
 * deadline timer's next millisecond, after it.  The release behind it
 * finds the lock held again.
 */
Test(timeout, condition_wait_zero_is_answered_before_the_next_request)
{
    Syncd__Request wait = SYNCD__REQUEST__INIT, rel = SYNCD__REQUEST__INIT;
    Syncd__CondWait cw = SYNCD__COND_WAIT__INIT;
    Syncd__Release rl = SYNCD__RELEASE__INIT;
    struct raw_reply r;
    uint8_t buf[256];
    size_t len = 0;
    uint32_t cv;
    int fd = raw_connect(syncd_fx.sock);

    cr_assert(ge(int, fd, 0));
    cr_assert(eq(int, raw_hello(fd), 0));
    cr_assert(eq(int, raw_open(fd, 2, "to/cv0", 6,
                               SYNCD__OBJECT_TYPE__CONDITION, 0, &cv), 0));
    cr_assert(eq(int, raw_acquire(fd, 3, cv, -1, &r), 0));
    cw.handle = cv;
    cw.timeout_us = 0;
    wait.id = 4;
    wait.op_case = SYNCD__REQUEST__OP_COND_WAIT;
    wait.cond_wait = &cw;
    rl.handle = cv;
    rl.n = 1;
    rel.id = 5;
    rel.op_case = SYNCD__REQUEST__OP_RELEASE;
    rel.release = &rl;
    frame_append(buf, &len, &wait);
    frame_append(buf, &len, &rel);
    cr_assert(eq(int, raw_send(fd, buf, len), 0));
    cr_assert(eq(int, raw_read_reply(fd, 2000, &r), RAW_OK));
    cr_assert(eq(u64, r.id, 4), "the release was answered first");
    cr_assert(eq(int, r.code, SYNC_ETIMEDOUT));
    cr_assert(eq(int, raw_read_reply(fd, 2000, &r), RAW_OK));
    cr_assert(eq(u64, r.id, 5));
    cr_assert(eq(int, r.code, 0), "release: %d %s", r.code, r.message);
    close(fd);
}
