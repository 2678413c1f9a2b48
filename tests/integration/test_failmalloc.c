/*
 * test_failmalloc.c: the daemon out of memory.  The server runs in this
 * process (its own libuv loop on a thread, listening on a temporary
 * socket) so the test can arm daemon/xalloc.h: for n = 0, 1, 2, ... the
 * n-th daemon allocation from the start of a scenario fails, once.  The
 * scenario (two clients; every primitive; a queued and timed-out wait; a
 * condition wait; unlink) must then see each call either succeed as usual
 * or fail with SYNC_ENOMEM (or SYNC_ECONN when the daemon had to drop that
 * connection) -- and afterwards the daemon must serve a fresh client
 * perfectly, locks of the faulted clients must have come back, and when
 * the server is gone every block it allocated must have been freed.
 * The loop ends at the first n the scenario never reaches.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "dispatch.h"
#include "log.h"
#include "server.h"
#include "syncclient.h"
#include "syncd_limits.h"
#include "xalloc.h"

static struct server srv; /* large: the shared read buffer */
static uv_loop_t loop;
static uv_async_t stop_async;
static pthread_t loop_thread;
static char dir[64], sock[128];

static void on_stop(uv_async_t *a)
{
    uv_close((uv_handle_t *)a, NULL);
    server_shutdown(&srv);
}

static void *loop_main(void *arg)
{
    (void)arg;
    uv_run(&loop, UV_RUN_DEFAULT);
    return NULL;
}

static void server_start(void)
{
    const struct syncd_limits limits = SYNCD_DEFAULT_LIMITS;

    log_init(LOG_LEVEL_ERROR, 0); /* refusals are expected: keep quiet */
    snprintf(dir, sizeof(dir), "/tmp/syncd-failmalloc.XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(sock, sizeof(sock), "%s/s.sock", dir);
    cr_assert_eq(uv_loop_init(&loop), 0);
    cr_assert_eq(server_init(&srv, &loop, &limits, &dispatch_handler), 0);
    cr_assert_eq(server_listen(&srv, sock, 0600), 0);
    cr_assert_eq(uv_async_init(&loop, &stop_async, on_stop), 0);
    cr_assert_eq(pthread_create(&loop_thread, NULL, loop_main, NULL), 0);
}

static void server_stop(void)
{
    uv_async_send(&stop_async);
    pthread_join(loop_thread, NULL);
    server_fini(&srv);
    cr_assert_eq(uv_loop_close(&loop), 0);
    rmdir(dir);
}

/* ---- the scenario --------------------------------------------------------- */

static bool strict; /* no fault armed: every call must give `expected` */
static int enomem_seen, econn_seen;

/* True when the call gave what it should; under a fault SYNC_ENOMEM and
 * SYNC_ECONN are accepted (and counted), anything else fails the test. */
static bool step(int line, const char *what, int expected, int got)
{
    if (got == expected)
        return true;
    if (!strict && got == SYNC_ENOMEM) {
        enomem_seen++;
        return false;
    }
    if (!strict && got == SYNC_ECONN) {
        econn_seen++;
        return false;
    }
    cr_assert_fail("line %d: %s returned %d (%s), expected %d (%s)", line, what,
            got, sync_errname(got), expected, sync_errname(expected));
    return false;
}

#define STEP(expected, expr) step(__LINE__, #expr, (expected), (expr))

static void name(char *buf, size_t n, const char *tag, int iter,
                 const char *obj)
{
    snprintf(buf, n, "fm/%s%d/%s", tag, iter, obj);
}

static void scenario(const char *tag, int iter)
{
    sync_client *a = NULL, *b = NULL;
    sync_lock *la = NULL, *lb = NULL;
    sync_sem *s = NULL;
    sync_event *e = NULL;
    sync_cond *cv = NULL;
    sync_barrier *bar = NULL;
    char n1[64], n2[64], n3[64], n4[64], n5[64];

    name(n1, sizeof(n1), tag, iter, "lock");
    name(n2, sizeof(n2), tag, iter, "sem");
    name(n3, sizeof(n3), tag, iter, "event");
    name(n4, sizeof(n4), tag, iter, "cond");
    name(n5, sizeof(n5), tag, iter, "barrier");
    if (!STEP(0, sync_connect(sock, &a)))
        return;
    if (STEP(0, sync_lock_open(a, n1, &la)) &&
        STEP(0, sync_lock_acquire(la, true, -1))) {
        /* A second client queues behind a and times out. */
        if (STEP(0, sync_connect(sock, &b))) {
            if (STEP(0, sync_lock_open(b, n1, &lb)))
                STEP(SYNC_ETIMEDOUT, sync_lock_acquire(lb, true, 0.02));
        }
        STEP(0, sync_lock_release(la));
    }
    if (STEP(0, sync_sem_open(a, n2, 1, &s))) {
        if (STEP(0, sync_sem_acquire(s, true, -1)) &&
            STEP(0, sync_sem_release(s, 1)))
            STEP(1, sync_sem_value(s));
    }
    if (STEP(0, sync_event_open(a, n3, &e))) {
        STEP(0, sync_event_set(e));
        STEP(0, sync_event_wait(e, 1.0));
        STEP(0, sync_event_clear(e));
    }
    if (STEP(0, sync_cond_open(a, n4, NULL, &cv)) &&
        STEP(0, sync_cond_acquire(cv, true, -1))) {
        STEP(SYNC_ETIMEDOUT, sync_cond_wait(cv, 0.01));
        STEP(0, sync_cond_notify_all(cv));
        STEP(0, sync_cond_release(cv));
    }
    if (STEP(0, sync_barrier_open(a, n5, 1, &bar)))
        STEP(0, sync_barrier_wait(bar, 1.0));
    if (e != NULL) /* the event exists: unlinking it must work */
        STEP(0, sync_unlink(a, n3));
    if (bar)
        sync_barrier_close(bar);
    if (cv)
        sync_cond_close(cv);
    if (e)
        sync_event_close(e);
    if (s)
        sync_sem_close(s);
    if (lb)
        sync_lock_close(lb);
    if (la)
        sync_lock_close(la);
    sync_disconnect(b);
    sync_disconnect(a);
}

/* After a faulted run: the lock a held is free again (its release or its
 * client's departure), and the daemon serves a whole scenario cleanly. */
static void check_healthy(int iter)
{
    sync_client *c;
    sync_lock *l;
    char n[64];

    strict = true;
    name(n, sizeof(n), "", iter, "lock");
    cr_assert_eq(sync_connect(sock, &c), 0, "iteration %d", iter);
    cr_assert_eq(sync_lock_open(c, n, &l), 0);
    /* A departure is seen when the daemon reads the EOF: allow it time. */
    cr_assert_eq(sync_lock_acquire(l, true, 5.0), 0, "iteration %d", iter);
    cr_assert_eq(sync_lock_release(l), 0);
    sync_lock_close(l);
    sync_disconnect(c);
    scenario("ok", iter);
    strict = false;
}

Test(failmalloc, every_daemon_allocation_failing_once_is_survived,
     .timeout = 240)
{
    int n;

    server_start();
    strict = true;
    scenario("warm", 0); /* the fault-free run must pass as written */
    for (n = 0; n < 2000; n++) {
        strict = false;
        xalloc_fail_after(n);
        scenario("", n);
        xalloc_fail_after(-1);
        if (!xalloc_fault_fired())
            break; /* the scenario made fewer than n + 1 allocations */
        check_healthy(n);
    }
    cr_assert_lt(n, 2000, "the scenario never ran out of allocations");
    /* Proof the injection reached the requests, not just the set-up. */
    cr_assert_gt(enomem_seen, 0);
    cr_log_info("%d allocation points; %d SYNC_ENOMEM and %d SYNC_ECONN "
                "answers", n, enomem_seen, econn_seen);
    server_stop();
    cr_assert_eq(xalloc_live(), 0, "%ld daemon blocks never freed",
                 xalloc_live());
}

/*
 * A condition wait releases its lock before it is queued with a deadline.
 * If making room for that deadline failed only then, the client got
 * SYNC_ENOMEM without its lock (found in review).  Now the room is
 * reserved first: whichever allocation fails, the caller still holds the
 * lock when cond_wait returns.  A fresh server (this test's own process):
 * the deadline heap does not exist yet, so its first allocation is met.
 */
Test(failmalloc, failed_condition_wait_keeps_the_lock, .timeout = 60)
{
    sync_client *c;
    sync_cond *cv;
    int rv, n;

    server_start();
    cr_assert_eq(sync_connect(sock, &c), 0);
    cr_assert_eq(sync_cond_open(c, "fm/cv", NULL, &cv), 0);
    for (n = 0; n < 50; n++) {
        cr_assert_eq(sync_cond_acquire(cv, true, -1), 0);
        xalloc_fail_after(n);
        rv = sync_cond_wait(cv, 0.01);
        xalloc_fail_after(-1);
        cr_assert(rv == SYNC_ETIMEDOUT || rv == SYNC_ENOMEM,
                  "n=%d: %s", n, sync_errname(rv));
        /* Held on return in every case: releasing it must work. */
        cr_assert_eq(sync_cond_release(cv), 0, "n=%d after %s", n,
                     sync_errname(rv));
        if (!xalloc_fault_fired())
            break;
    }
    cr_assert_lt(n, 50);
    sync_cond_close(cv);
    sync_disconnect(c);
    server_stop();
    cr_assert_eq(xalloc_live(), 0);
}
