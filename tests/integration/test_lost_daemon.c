/*
 * test_lost_daemon.c: the daemon goes away under connected clients.  A
 * call blocked in the daemon returns (SYNC_ECONN after a kill -9,
 * SYNC_ESHUTDOWN after a graceful SIGTERM) and every later call fails
 * promptly with SYNC_ECONN: nothing hangs.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "daemon_fixture.h"
#include "syncclient.h"

TestSuite(lost_daemon, .init = syncd_fixture_init,
          .fini = syncd_fixture_fini, .timeout = 30);

struct blocked {
    sync_lock *l;
    atomic_int returned;
    int rv;
};

static void *blocked_main(void *p)
{
    struct blocked *b = p;

    b->rv = sync_lock_acquire(b->l, true, -1);
    atomic_store(&b->returned, 1);
    return NULL;
}

/* Join t within timeout_s; fails the test if it is still blocked. */
static void join_within(pthread_t t, double timeout_s)
{
    struct timespec ts;
    int rv;

    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += (time_t)timeout_s;
    rv = pthread_timedjoin_np(t, NULL, &ts);
    cr_assert(eq(int, rv, 0), "blocked call did not return: %s",
              rv == ETIMEDOUT ? "timed out" : "join failed");
}

/*
 * A client (c) with a thread blocked acquiring a Lock that another client
 * (holder) holds; the daemon is then stopped by `stop`.
 */
struct scene {
    sync_client *c, *holder;
    sync_lock *lh;
    struct blocked b;
    pthread_t t;
};

static void scene_setup(struct scene *s)
{
    *s = (struct scene){.b.rv = 1};
    cr_assert(eq(int, sync_connect(syncd_fx.sock, &s->c), 0));
    cr_assert(eq(int, sync_connect(syncd_fx.sock, &s->holder), 0));
    cr_assert(eq(int, sync_lock_open(s->holder, "lost/lock", &s->lh), 0));
    cr_assert(eq(int, sync_lock_acquire(s->lh, true, -1), 0));
    cr_assert(eq(int, sync_lock_open(s->c, "lost/lock", &s->b.l), 0));
    cr_assert(eq(int, pthread_create(&s->t, NULL, blocked_main, &s->b), 0));
    fx_sleep_ms(100); /* margin for the acquire to reach the daemon */
    cr_assert(eq(int, atomic_load(&s->b.returned), 0));
}

/* After the daemon is gone: every call fails fast with SYNC_ECONN. */
static void scene_check_dead(struct scene *s)
{
    sync_lock *l = (sync_lock *)&l;
    sync_client *again = (sync_client *)&again;
    double t0 = fx_now();

    cr_assert(eq(int, sync_lock_locked(s->b.l), SYNC_ECONN));
    cr_assert(eq(int, sync_lock_acquire(s->b.l, true, -1), SYNC_ECONN));
    cr_assert(eq(int, sync_lock_release(s->b.l), SYNC_ECONN));
    cr_assert(eq(int, sync_lock_open(s->c, "lost/other", &l), SYNC_ECONN));
    cr_assert(eq(ptr, l, NULL));
    cr_assert(eq(int, sync_unlink(s->c, "lost/lock"), SYNC_ECONN));
    /* The holder had nothing in flight: its next call finds out. */
    cr_assert(eq(int, sync_lock_release(s->lh), SYNC_ECONN));
    cr_assert(eq(int, sync_lock_acquire(s->lh, true, -1), SYNC_ECONN));
    /* And nobody can connect. */
    cr_assert(eq(int, sync_connect(syncd_fx.sock, &again), SYNC_ECONN));
    cr_assert(eq(ptr, again, NULL));
    cr_assert(lt(dbl, fx_now() - t0, 1.0), "took %.3f s", fx_now() - t0);
    /* Closing objects of a dead connection only frees memory. */
    sync_lock_close(s->b.l);
    sync_lock_close(s->lh);
    sync_disconnect(s->c);
    sync_disconnect(s->holder);
}

Test(lost_daemon, kill_9_fails_blocked_and_later_calls_with_econn)
{
    struct scene s;
    double t0;

    scene_setup(&s);
    t0 = fx_now();
    cr_assert(eq(int, syncd_fixture_kill(SIGKILL), 128 + SIGKILL));
    join_within(s.t, 5.0);
    cr_assert(eq(int, s.b.rv, SYNC_ECONN));
    cr_assert(lt(dbl, fx_now() - t0, 1.0));
    scene_check_dead(&s);
}

Test(lost_daemon, sigterm_answers_blocked_call_with_eshutdown)
{
    struct scene s;
    double t0;

    scene_setup(&s);
    t0 = fx_now();
    /* A graceful stop: exit status 0 (checked here and by the fini). */
    cr_assert(eq(int, syncd_fixture_stop(), 0));
    join_within(s.t, 5.0);
    /* The daemon answers pending waits before it closes connections. */
    cr_assert(eq(int, s.b.rv, SYNC_ESHUTDOWN));
    cr_assert(lt(dbl, fx_now() - t0, 2.0));
    scene_check_dead(&s);
}

Test(lost_daemon, kill_9_with_an_idle_client)
{
    sync_client *c;
    sync_event *e;

    cr_assert(eq(int, sync_connect(syncd_fx.sock, &c), 0));
    cr_assert(eq(int, sync_event_open(c, "lost/event", &e), 0));
    cr_assert(eq(int, syncd_fixture_kill(SIGKILL), 128 + SIGKILL));
    cr_assert(eq(int, sync_event_wait(e, -1), SYNC_ECONN));
    cr_assert(eq(int, sync_event_set(e), SYNC_ECONN));
    cr_assert(eq(int, sync_event_is_set(e), SYNC_ECONN));
    sync_event_close(e);
    sync_disconnect(c);
}
