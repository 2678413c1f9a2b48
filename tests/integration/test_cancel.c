/*
 * test_cancel.c: interruptible waits (sync_set_interrupt_check).  A signal
 * during a blocking call runs the thread's check; when it says so, the
 * daemon cancels the wait as a timeout would: the call returns
 * SYNC_EINTR, never holds what it waited for, a condition wait has its
 * lock back, a barrier breaks.  When the check says no, the wait goes on.
 */
#include <pthread.h>
#include <signal.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "daemon_fixture.h"
#include "syncclient.h"

static volatile sig_atomic_t got_signal;
static bool interrupt_wanted = true;

static void on_usr1(int sig)
{
    (void)sig;
    got_signal = 1;
}

static bool check(void *arg)
{
    (void)arg;
    return got_signal && interrupt_wanted;
}

/* SIGUSR1 without SA_RESTART, so it interrupts read(), as Python's
 * handlers do. */
static void cancel_init(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    syncd_fixture_init();
}

TestSuite(cancel, .init = cancel_init, .fini = syncd_fixture_fini,
          .timeout = 30);

struct kick {
    pthread_t target;
    int after_ms;
    double sent_at;
};

static void *kick_main(void *arg)
{
    struct kick *k = arg;

    fx_sleep_ms(k->after_ms);
    k->sent_at = fx_now();
    pthread_kill(k->target, SIGUSR1);
    return NULL;
}

/* Signal the calling thread after ms milliseconds. */
static pthread_t kick_later(struct kick *k, int ms)
{
    pthread_t t;

    k->target = pthread_self();
    k->after_ms = ms;
    pthread_create(&t, NULL, kick_main, k);
    return t;
}

static sync_client *connect_ok(void)
{
    sync_client *c = NULL;

    cr_assert(eq(int, sync_connect(syncd_fx.sock, &c), 0));
    return c;
}

/* The interrupted call must return within this of the signal. */
#define PROMPT_S 0.1

Test(cancel, interrupted_acquire_returns_eintr_and_never_holds)
{
    sync_client *a = connect_ok(), *b = connect_ok(), *c = connect_ok();
    sync_lock *la, *lb, *lc;
    struct kick k;
    pthread_t t;

    cr_assert(eq(int, sync_lock_open(a, "c/lock", &la), 0));
    cr_assert(eq(int, sync_lock_open(b, "c/lock", &lb), 0));
    cr_assert(eq(int, sync_lock_open(c, "c/lock", &lc), 0));
    cr_assert(eq(int, sync_lock_acquire(la, true, -1), 0));
    sync_set_interrupt_check(check, NULL);
    t = kick_later(&k, 100);
    cr_assert(eq(int, sync_lock_acquire(lb, true, -1), SYNC_EINTR));
    cr_assert(le(dbl, fx_now() - k.sent_at, PROMPT_S));
    sync_set_interrupt_check(NULL, NULL);
    pthread_join(t, NULL);
    /* The cancelled waiter left the queue: the lock goes to c. */
    cr_assert(eq(int, sync_lock_release(la), 0));
    cr_assert(eq(int, sync_lock_acquire(lc, false, -1), 0));
    cr_assert(eq(int, sync_lock_release(lb), SYNC_EPERM));
    cr_assert(eq(int, sync_lock_release(lc), 0));
    sync_lock_close(la);
    sync_lock_close(lb);
    sync_lock_close(lc);
    sync_disconnect(a);
    sync_disconnect(b);
    sync_disconnect(c);
}

Test(cancel, a_check_that_says_no_keeps_the_wait)
{
    sync_client *a = connect_ok(), *b = connect_ok();
    sync_lock *la, *lb;
    struct kick k;
    pthread_t t;
    double t0;

    interrupt_wanted = false;
    cr_assert(eq(int, sync_lock_open(a, "c/keep", &la), 0));
    cr_assert(eq(int, sync_lock_open(b, "c/keep", &lb), 0));
    cr_assert(eq(int, sync_lock_acquire(la, true, -1), 0));
    sync_set_interrupt_check(check, NULL);
    t = kick_later(&k, 50);
    t0 = fx_now();
    cr_assert(eq(int, sync_lock_acquire(lb, true, 0.3), SYNC_ETIMEDOUT));
    cr_assert(ge(dbl, fx_now() - t0, 0.28));
    pthread_join(t, NULL);
    cr_assert(eq(int, got_signal, 1));
    sync_lock_close(la);
    sync_lock_close(lb);
    sync_disconnect(a);
    sync_disconnect(b);
}

Test(cancel, interrupted_condition_wait_has_its_lock_back)
{
    sync_client *a = connect_ok(), *b = connect_ok();
    sync_cond *ca, *cb;
    struct kick k;
    pthread_t t;

    cr_assert(eq(int, sync_cond_open(a, "c/cv", NULL, &ca), 0));
    cr_assert(eq(int, sync_cond_open(b, "c/cv", NULL, &cb), 0));
    cr_assert(eq(int, sync_cond_acquire(ca, true, -1), 0));
    sync_set_interrupt_check(check, NULL);
    t = kick_later(&k, 100);
    cr_assert(eq(int, sync_cond_wait(ca, -1), SYNC_EINTR));
    cr_assert(le(dbl, fx_now() - k.sent_at, PROMPT_S));
    pthread_join(t, NULL);
    /* Held again: another client cannot take it until we release. */
    cr_assert(eq(int, sync_cond_acquire(cb, false, -1), SYNC_ETIMEDOUT));
    cr_assert(eq(int, sync_cond_release(ca), 0));
    cr_assert(eq(int, sync_cond_acquire(cb, false, -1), 0));
    cr_assert(eq(int, sync_cond_release(cb), 0));
    sync_cond_close(ca);
    sync_cond_close(cb);
    sync_disconnect(a);
    sync_disconnect(b);
}

Test(cancel, interrupted_barrier_wait_breaks_the_barrier)
{
    sync_client *a = connect_ok();
    sync_barrier *b;
    struct kick k;
    pthread_t t;

    cr_assert(eq(int, sync_barrier_open(a, "c/bar", 2, &b), 0));
    sync_set_interrupt_check(check, NULL);
    t = kick_later(&k, 100);
    cr_assert(eq(int, sync_barrier_wait(b, -1), SYNC_EINTR));
    pthread_join(t, NULL);
    cr_assert(eq(int, sync_barrier_broken(b), 1));
    sync_barrier_close(b);
    sync_disconnect(a);
}

struct reader {
    sync_event *e;
    int rv;
};

static void *reader_main(void *arg)
{
    struct reader *r = arg;

    r->rv = sync_event_wait(r->e, 10.0);
    return NULL;
}

Test(cancel, a_thread_waiting_behind_another_reader_is_interrupted_too)
{
    sync_client *a = connect_ok(), *b = connect_ok();
    sync_lock *la, *lb;
    struct reader r;
    struct kick k;
    pthread_t rt, t;

    cr_assert(eq(int, sync_lock_open(a, "c/f", &la), 0));
    cr_assert(eq(int, sync_lock_open(b, "c/f", &lb), 0));
    cr_assert(eq(int, sync_event_open(b, "c/ev", &r.e), 0));
    cr_assert(eq(int, sync_lock_acquire(la, true, -1), 0));
    /* Another thread of client b blocks first and reads the socket. */
    pthread_create(&rt, NULL, reader_main, &r);
    fx_sleep_ms(50);
    sync_set_interrupt_check(check, NULL);
    t = kick_later(&k, 100);
    cr_assert(eq(int, sync_lock_acquire(lb, true, -1), SYNC_EINTR));
    cr_assert(le(dbl, fx_now() - k.sent_at, PROMPT_S));
    sync_set_interrupt_check(NULL, NULL);
    pthread_join(t, NULL);
    cr_assert(eq(int, sync_lock_release(la), 0));
    cr_assert(eq(int, sync_lock_locked(la), 0));
    cr_assert(eq(int, sync_event_set(r.e), 0));
    pthread_join(rt, NULL);
    cr_assert(eq(int, r.rv, 0));
    sync_event_close(r.e);
    sync_lock_close(la);
    sync_lock_close(lb);
    sync_disconnect(a);
    sync_disconnect(b);
}
