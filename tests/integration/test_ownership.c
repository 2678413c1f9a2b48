/*
 * test_ownership.c: sync_rlock_is_owned / sync_rlock_depth and
 * sync_cond_locked / sync_cond_is_owned / sync_cond_n_waiting
 * (threading's RLock._is_owned,
 * the recursion depth behind _release_save, Condition.locked()) answered
 * by the daemon: per thread, per process, after fork, across a wait.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "daemon_fixture.h"
#include "syncclient.h"

TestSuite(ownership, .init = syncd_fixture_init,
          .fini = syncd_fixture_fini, .timeout = 30);

static sync_client *connect_ok(void)
{
    sync_client *c = NULL;

    cr_assert(eq(int, sync_connect(syncd_fx.sock, &c), 0));
    return c;
}

Test(ownership, rlock_depth_counts_levels_of_the_calling_thread)
{
    sync_client *c = connect_ok();
    sync_rlock *r, *r2;

    cr_assert(eq(int, sync_rlock_open(c, "own/r", &r), 0));
    cr_assert(eq(int, sync_rlock_depth(r), 0));
    cr_assert(eq(int, sync_rlock_is_owned(r), 0));
    cr_assert(eq(int, sync_rlock_acquire(r, true, -1), 0));
    cr_assert(eq(int, sync_rlock_depth(r), 1));
    cr_assert(eq(int, sync_rlock_is_owned(r), 1));
    cr_assert(eq(int, sync_rlock_acquire(r, true, -1), 0));
    cr_assert(eq(int, sync_rlock_depth(r), 2));
    /* A second handle of the same client and thread sees the same owner. */
    cr_assert(eq(int, sync_rlock_open(c, "own/r", &r2), 0));
    cr_assert(eq(int, sync_rlock_depth(r2), 2));
    cr_assert(eq(int, sync_rlock_release(r), 0));
    cr_assert(eq(int, sync_rlock_depth(r), 1));
    cr_assert(eq(int, sync_rlock_is_owned(r), 1));
    cr_assert(eq(int, sync_rlock_release(r), 0));
    cr_assert(eq(int, sync_rlock_depth(r), 0));
    cr_assert(eq(int, sync_rlock_is_owned(r), 0));
    cr_assert(eq(int, sync_rlock_depth(NULL), SYNC_EINVAL));
    cr_assert(eq(int, sync_rlock_is_owned(NULL), SYNC_EINVAL));
    sync_rlock_close(r2);
    sync_rlock_close(r);
    sync_disconnect(c);
}

struct peek {
    sync_rlock *r;
    sync_cond *cv;
    int depth, owned, cv_owned, cv_locked;
};

static void *peek_thread(void *arg)
{
    struct peek *p = arg;

    p->depth = sync_rlock_depth(p->r);
    p->owned = sync_rlock_is_owned(p->r);
    if (p->cv != NULL) {
        p->cv_owned = sync_cond_is_owned(p->cv);
        p->cv_locked = sync_cond_locked(p->cv);
    }
    return NULL;
}

Test(ownership, another_thread_of_the_owner_does_not_own_it)
{
    sync_client *c = connect_ok();
    struct peek p = {.depth = -100, .owned = -100};
    pthread_t t;

    cr_assert(eq(int, sync_rlock_open(c, "own/t", &p.r), 0));
    cr_assert(eq(int, sync_cond_open(c, "own/t-cv", "own/t", &p.cv), 0));
    cr_assert(eq(int, sync_rlock_acquire(p.r, true, -1), 0));
    cr_assert(eq(int, sync_rlock_acquire(p.r, true, -1), 0));
    cr_assert(eq(int, pthread_create(&t, NULL, peek_thread, &p), 0));
    pthread_join(t, NULL);
    cr_assert(eq(int, p.depth, 0));
    cr_assert(eq(int, p.owned, 0));
    cr_assert(eq(int, p.cv_owned, 0));
    cr_assert(eq(int, p.cv_locked, 1));
    /* The owning thread sees both levels through the condition too. */
    cr_assert(eq(int, sync_cond_is_owned(p.cv), 1));
    cr_assert(eq(int, sync_cond_depth(p.cv), 2));
    cr_assert(eq(int, sync_rlock_depth(p.r), 2));
    cr_assert(eq(int, sync_rlock_release(p.r), 0));
    cr_assert(eq(int, sync_rlock_release(p.r), 0));
    cr_assert(eq(int, sync_cond_is_owned(p.cv), 0));
    cr_assert(eq(int, sync_cond_locked(p.cv), 0));
    sync_cond_close(p.cv);
    sync_rlock_close(p.r);
    sync_disconnect(c);
}

enum { P_DEPTH, P_OWNED, P_LOCKED, P_CV_LOCKED, P_CV_OWNED, P_INHERITED,
       P_DONE, P_COUNT };

Test(ownership, another_process_sees_it_held_but_not_owned)
{
    sync_client *c = connect_ok();
    sync_rlock *r;
    sync_cond *cv;
    int *res = fx_shared(sizeof(int) * P_COUNT);
    pid_t pid;

    cr_assert(eq(int, sync_rlock_open(c, "own/p", &r), 0));
    cr_assert(eq(int, sync_cond_open(c, "own/p-cv", "own/p", &cv), 0));
    cr_assert(eq(int, sync_rlock_acquire(r, true, -1), 0));
    pid = fx_fork();
    if (pid == 0) {
        sync_client *fresh;
        sync_rlock *r2;
        sync_cond *cv2;

        /* After fork: the inherited handles answer SYNC_EFORKED. */
        res[P_INHERITED] = sync_rlock_is_owned(r);
        if (sync_connect(syncd_fx.sock, &fresh) != 0 ||
            sync_rlock_open(fresh, "own/p", &r2) != 0 ||
            sync_cond_open(fresh, "own/p-cv", "own/p", &cv2) != 0)
            _exit(2);
        res[P_DEPTH] = sync_rlock_depth(r2);
        res[P_OWNED] = sync_rlock_is_owned(r2);
        res[P_LOCKED] = sync_rlock_locked(r2);
        res[P_CV_LOCKED] = sync_cond_locked(cv2);
        res[P_CV_OWNED] = sync_cond_is_owned(cv2);
        res[P_DONE] = 1;
        sync_cond_close(cv2);
        sync_rlock_close(r2);
        sync_disconnect(fresh);
        _exit(0);
    }
    cr_assert(eq(int, fx_waitpid(pid, 10000), 0));
    cr_assert(eq(int, res[P_DONE], 1));
    cr_assert(eq(int, res[P_INHERITED], SYNC_EFORKED));
    cr_assert(eq(int, res[P_DEPTH], 0));
    cr_assert(eq(int, res[P_OWNED], 0));
    cr_assert(eq(int, res[P_LOCKED], 1));
    cr_assert(eq(int, res[P_CV_LOCKED], 1));
    cr_assert(eq(int, res[P_CV_OWNED], 0));
    /* The parent still owns its level. */
    cr_assert(eq(int, sync_rlock_depth(r), 1));
    cr_assert(eq(int, sync_rlock_release(r), 0));
    sync_cond_close(cv);
    sync_rlock_close(r);
    sync_disconnect(c);
}

Test(ownership, cond_locked_while_another_process_holds_its_lock_and_free)
{
    sync_client *c = connect_ok();
    sync_cond *cv;
    int go[2], held[2];
    pid_t pid;

    cr_assert(eq(int, pipe(go), 0));
    cr_assert(eq(int, pipe(held), 0));
    cr_assert(eq(int, sync_cond_open(c, "own/cv", "own/cv-lock", &cv), 0));
    cr_assert(eq(int, sync_cond_locked(cv), 0));
    pid = fx_fork();
    if (pid == 0) {
        sync_client *c2;
        sync_cond *cv2;

        if (sync_connect(syncd_fx.sock, &c2) != 0 ||
            sync_cond_open(c2, "own/cv", "own/cv-lock", &cv2) != 0 ||
            sync_cond_acquire(cv2, true, 5) != 0)
            _exit(2);
        fx_signal(held[1]);
        if (fx_await(go[0], 10000) != 1)
            _exit(3);
        if (sync_cond_release(cv2) != 0)
            _exit(4);
        fx_signal(held[1]);
        sync_cond_close(cv2);
        sync_disconnect(c2);
        _exit(0);
    }
    cr_assert(eq(int, fx_await(held[0], 10000), 1));
    cr_assert(eq(int, sync_cond_locked(cv), 1));
    cr_assert(eq(int, sync_cond_is_owned(cv), 0));
    /* locked() never takes the lock: still the other process's. */
    cr_assert(eq(int, sync_cond_acquire(cv, false, -1), SYNC_ETIMEDOUT));
    fx_signal(go[1]);
    cr_assert(eq(int, fx_await(held[0], 10000), 1));
    cr_assert(eq(int, sync_cond_locked(cv), 0));
    cr_assert(eq(int, fx_waitpid(pid, 10000), 0));
    cr_assert(eq(int, sync_cond_locked(NULL), SYNC_EINVAL));
    cr_assert(eq(int, sync_cond_is_owned(NULL), SYNC_EINVAL));
    cr_assert(eq(int, sync_cond_depth(NULL), SYNC_EINVAL));
    sync_cond_close(cv);
    sync_disconnect(c);
}

struct waiter {
    sync_cond *cv;
    int rv;
    int owned_after;
    int depth_after;
    int owned_before;
    atomic_int holding; /* both levels taken, about to wait */
    sync_rlock *r;
};

static void *wait_thread(void *arg)
{
    struct waiter *w = arg;

    /* Two levels, then a wait that gives both up and takes both back. */
    if (sync_cond_acquire(w->cv, true, 5) != 0 ||
        sync_cond_acquire(w->cv, true, 5) != 0) {
        w->rv = -1000;
        return NULL;
    }
    w->owned_before = sync_cond_is_owned(w->cv);
    atomic_store(&w->holding, 1);
    w->rv = sync_cond_wait(w->cv, 10);
    w->owned_after = sync_cond_is_owned(w->cv);
    w->depth_after = sync_cond_depth(w->cv);
    sync_cond_release(w->cv);
    sync_cond_release(w->cv);
    return NULL;
}

Test(ownership, is_owned_is_given_up_during_a_wait_and_back_after)
{
    sync_client *c = connect_ok();
    struct waiter w = {.rv = -100};
    sync_rlock *r;
    pthread_t t;
    int i, waiting = 0;

    cr_assert(eq(int, sync_rlock_open(c, "own/w-lock", &r), 0));
    cr_assert(eq(int, sync_cond_open(c, "own/w", "own/w-lock", &w.cv), 0));
    w.r = r;
    cr_assert(eq(int, pthread_create(&t, NULL, wait_thread, &w), 0));
    for (i = 0; i < 500 && !atomic_load(&w.holding); i++)
        fx_sleep_ms(10);
    cr_assert(eq(int, atomic_load(&w.holding), 1));
    /* The lock goes free only when the waiter gives it up inside the wait. */
    for (i = 0; i < 500 && !waiting; i++) {
        if (sync_cond_locked(w.cv) == 0) {
            cr_assert(eq(int, sync_cond_acquire(w.cv, true, 5), 0));
            cr_assert(eq(int, sync_cond_is_owned(w.cv), 1));
            cr_assert(eq(int, sync_rlock_depth(r), 1));
            waiting = 1;
            break;
        }
        fx_sleep_ms(10);
    }
    cr_assert(eq(int, waiting, 1));
    /* One waits (threading's repr counts it); notified, it no longer
     * does, though it has not taken the lock back yet (held here). */
    cr_assert(eq(int, sync_cond_n_waiting(w.cv), 1));
    cr_assert(eq(int, sync_cond_notify(w.cv, 1), 0));
    cr_assert(eq(int, sync_cond_n_waiting(w.cv), 0));
    cr_assert(eq(int, sync_cond_release(w.cv), 0));
    pthread_join(t, NULL);
    cr_assert(eq(int, w.owned_before, 1));
    cr_assert(eq(int, w.rv, 0));
    cr_assert(eq(int, w.owned_after, 1));
    cr_assert(eq(int, w.depth_after, 2));
    cr_assert(eq(int, sync_cond_locked(w.cv), 0));
    cr_assert(eq(int, sync_cond_is_owned(w.cv), 0));
    cr_assert(eq(int, sync_cond_depth(w.cv), 0));
    cr_assert(eq(int, sync_cond_n_waiting(w.cv), 0));
    cr_assert(eq(int, sync_cond_n_waiting(NULL), SYNC_EINVAL));
    sync_cond_close(w.cv);
    sync_rlock_close(r);
    sync_disconnect(c);
}

Test(ownership, cond_on_a_lock_is_owned_by_the_client)
{
    sync_client *c = connect_ok();
    sync_lock *l;
    sync_cond *cv;
    struct peek p = {0};
    pthread_t t;

    cr_assert(eq(int, sync_lock_open(c, "own/plain", &l), 0));
    cr_assert(eq(int, sync_cond_open(c, "own/plain-cv", "own/plain", &cv), 0));
    cr_assert(eq(int, sync_cond_is_owned(cv), 0));
    cr_assert(eq(int, sync_lock_acquire(l, true, -1), 0));
    cr_assert(eq(int, sync_cond_is_owned(cv), 1));
    cr_assert(eq(int, sync_cond_depth(cv), 1));
    cr_assert(eq(int, sync_cond_locked(cv), 1));
    /* A Lock belongs to its client: another thread of it may notify. */
    p.cv = cv;
    cr_assert(eq(int, sync_rlock_open(c, "own/unrelated", &p.r), 0));
    cr_assert(eq(int, pthread_create(&t, NULL, peek_thread, &p), 0));
    pthread_join(t, NULL);
    cr_assert(eq(int, p.cv_owned, 1));
    cr_assert(eq(int, p.cv_locked, 1));
    cr_assert(eq(int, sync_lock_release(l), 0));
    cr_assert(eq(int, sync_cond_is_owned(cv), 0));
    cr_assert(eq(int, sync_cond_locked(cv), 0));
    sync_rlock_close(p.r);
    sync_cond_close(cv);
    sync_lock_close(l);
    sync_disconnect(c);
}
