/*
 * test_regressions.c: bugs found by fuzzing and review, each reproduced
 * through the public API so it stays fixed.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include "daemon_fixture.h"
#include "syncclient.h"

TestSuite(regressions, .init = syncd_fixture_init,
          .fini = syncd_fixture_fini, .timeout = 30);

static void *barrier_waiter(void *arg)
{
    /* Broken by the party that leaves, or the connection lost. */
    int rv = sync_barrier_wait(arg, 20.0);

    return (void *)(long)rv;
}

/* A daemon that still answers a fresh client quickly. */
static void assert_daemon_serves(void)
{
    sync_client *c;
    sync_lock *l;

    cr_assert(eq(int, sync_connect(syncd_fx.sock, &c), 0));
    cr_assert(eq(int, sync_lock_open(c, "reg/probe", &l), 0));
    cr_assert(eq(int, sync_lock_acquire(l, true, 2.0), 0));
    cr_assert(eq(int, sync_lock_release(l), 0));
    sync_lock_close(l);
    sync_disconnect(c);
}

/*
 * fuzz_dispatch-barrier-cancel-hang: two parties of one client wait on a
 * barrier; the client goes away.  Cancelling the first broke the barrier,
 * which completed (and recycled) the second while the session was walking
 * its list of waits: the walk went on into the free list, forever.
 */
Test(regressions, client_with_two_barrier_waiters_disconnects)
{
    pid_t child = fx_fork();

    if (child == 0) {
        sync_client *c;
        sync_barrier *b;
        pthread_t t[2];

        if (sync_connect(syncd_fx.sock, &c) != 0 ||
            sync_barrier_open(c, "reg/b3", 3, &b) != 0)
            _exit(1);
        pthread_create(&t[0], NULL, barrier_waiter, b);
        pthread_create(&t[1], NULL, barrier_waiter, b);
        pause(); /* killed below with both threads waiting */
        _exit(0);
    }
    {
        sync_client *c;
        sync_barrier *b;
        int i;

        cr_assert(eq(int, sync_connect(syncd_fx.sock, &c), 0));
        cr_assert(eq(int, sync_barrier_open(c, "reg/b3", 3, &b), 0));
        for (i = 0; i < 200 && sync_barrier_n_waiting(b) < 2; i++)
            fx_sleep_ms(10);
        cr_assert(eq(int, sync_barrier_n_waiting(b), 2));
        kill(child, SIGKILL);
        fx_waitpid(child, 5000);
        assert_daemon_serves();
        cr_assert(eq(int, sync_barrier_broken(b), 1),
                  "a party that died broke the barrier");
        sync_barrier_close(b);
        sync_disconnect(c);
    }
}

/* The same through a handle close, and through shutdown (the fixture's
 * SIGTERM must find a daemon that can still stop). */
Test(regressions, closing_a_barrier_handle_with_two_waiters)
{
    sync_client *c;
    sync_barrier *b, *b2;
    pthread_t t[2];
    void *rv;

    cr_assert(eq(int, sync_connect(syncd_fx.sock, &c), 0));
    cr_assert(eq(int, sync_barrier_open(c, "reg/b4", 4, &b), 0));
    cr_assert(eq(int, sync_barrier_open(c, "reg/b4", 4, &b2), 0));
    pthread_create(&t[0], NULL, barrier_waiter, b);
    pthread_create(&t[1], NULL, barrier_waiter, b);
    while (sync_barrier_n_waiting(b2) < 2)
        fx_sleep_ms(10);
    sync_barrier_close(b); /* cancels both waits through that handle */
    pthread_join(t[0], &rv);
    cr_assert(lt(int, (int)(long)rv, 0));
    pthread_join(t[1], &rv);
    cr_assert(lt(int, (int)(long)rv, 0));
    cr_assert(eq(int, sync_barrier_broken(b2), 1));
    assert_daemon_serves();
    sync_barrier_close(b2);
    sync_disconnect(c);
}

/*
 * A condition follows its lock's name (issue 11; it used to stay bound to
 * the unlinked lock and refuse the name with SYNC_EEXIST forever).  While
 * it is in use it keeps its lock; once idle, opening it by the lock's name
 * binds it to the lock that bears the name now, for every handle.
 */
Test(regressions, condition_follows_its_lock_s_name)
{
    sync_client *c;
    sync_cond *cv, *cv2 = (sync_cond *)&cv;
    sync_rlock *old, *fresh;

    cr_assert(eq(int, sync_connect(syncd_fx.sock, &c), 0));
    cr_assert(eq(int, sync_cond_open(c, "q10/C", "q10/L", &cv), 0));
    cr_assert(eq(int, sync_rlock_open(c, "q10/L", &old), 0));
    cr_assert(eq(int, sync_unlink(c, "q10/L"), 0));
    /* In use (its lock held): it keeps the lock it has. */
    cr_assert(eq(int, sync_cond_acquire(cv, true, -1), 0));
    cr_assert(eq(int, sync_cond_open(c, "q10/C", "q10/L", &cv2),
                 SYNC_EEXIST));
    cr_assert(eq(ptr, cv2, NULL));
    cr_assert(eq(int, sync_cond_release(cv), 0));
    /* Re-created under the same name: the idle condition follows it. */
    cr_assert(eq(int, sync_rlock_open(c, "q10/L", &fresh), 0));
    cr_assert(eq(int, sync_cond_open(c, "q10/C", "q10/L", &cv2), 0));
    cr_assert(eq(int, sync_cond_acquire(cv, true, -1), 0),
                 "the first handle follows too");
    cr_assert(eq(int, sync_rlock_locked(fresh), 1));
    cr_assert(eq(int, sync_rlock_locked(old), 0));
    cr_assert(eq(int, sync_cond_release(cv), 0));
    sync_cond_close(cv2);
    /* Unlinked and not re-created: opening the condition creates it. */
    cr_assert(eq(int, sync_unlink(c, "q10/L"), 0));
    cr_assert(eq(int, sync_cond_open(c, "q10/C", "q10/L", &cv2), 0));
    cr_assert(eq(int, sync_cond_acquire(cv2, true, -1), 0));
    cr_assert(eq(int, sync_rlock_locked(fresh), 0));
    cr_assert(eq(int, sync_cond_release(cv2), 0));
    sync_cond_close(cv2);
    sync_rlock_close(fresh);
    sync_rlock_close(old);
    sync_cond_close(cv);
    sync_disconnect(c);
}
