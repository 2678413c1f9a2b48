/*
 * test_condition.c: the Condition state machine
 * (daemon/objects/condition.c) over an RLock or a Lock: wait releases every
 * level and queues in one step, notify moves waiters to the lock's queue,
 * a waiter returns only once it holds the lock again (notified or timed
 * out), and cancellation never spends a notify on a dead waiter.  Then
 * how the registry binds a condition to its lock (daemon/registry.c).
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/lsan_interface.h>
#endif

#include "fake_waiter.h"
#include "objects/condition.h"
#include "objects/lock.h"
#include "registry.h"
#include "syncclient.h"

/* Owners (clients) and their threads. */
enum { A = 1, B = 2, C = 3, D = 4 };
enum { T1 = 11, T2 = 12 };

static struct lock *l;
static struct condition *c;

static void setup_with(struct lock *lk)
{
    l = lk;
    cr_assert(ne(ptr, l, NULL));
    c = condition_new("test-cond", l, true);
    cr_assert(ne(ptr, c, NULL));
}

static void setup_rlock(void)
{
    setup_with(rlock_new("test-cond"));
}

static void setup_lock(void)
{
    setup_with(lock_new("test-lock"));
}

static void teardown(void)
{
    TEST_FINI_CHECK(c->base.ops->n_waiting(&c->base) == 0,
                    "test left condition waiters queued");
    TEST_FINI_CHECK(l->base.ops->n_waiting(&l->base) == 0,
                    "test left lock waiters queued");
    c->base.ops->free(&c->base);
    l->base.ops->free(&l->base);
}

TestSuite(condition, .init = setup_rlock, .fini = teardown);
TestSuite(condition_lock, .init = setup_lock, .fini = teardown);

static size_t cond_waiting(void)
{
    return c->base.ops->n_waiting(&c->base);
}

static size_t lock_waiting(void)
{
    return l->base.ops->n_waiting(&l->base);
}

/* (owner, thread) takes the lock depth times; f[0..depth-1] are used. */
static void take(struct fake_waiter *f,
                 uint64_t owner,
                 uint64_t thread,
                 uint32_t depth)
{
    uint32_t i;

    for (i = 0; i < depth; i++) {
        fake_waiter_init_thread(&f[i], owner, thread);
        cr_assert(eq(int, lock_acquire(l, &f[i].w, true), 0));
    }
    cr_assert(eq(u32, l->depth, depth));
}

/* (owner, thread) holds the lock and waits on the condition with f. */
static void wait_on(struct fake_waiter *f, uint64_t owner, uint64_t thread)
{
    fake_waiter_init_thread(f, owner, thread);
    cr_assert(eq(int, condition_wait(c, &f->w), SYNCD_PENDING));
    FAKE_ASSERT_PENDING(f);
    cr_assert(eq(ptr, f->w.obj, &c->base));
    cr_assert(eq(ptr, (void *)f->w.queue, &c->waiters));
}

/* (owner, thread) takes the lock once and waits on the condition. */
static void enter_and_wait(struct fake_waiter *f,
                           uint64_t owner,
                           uint64_t thread)
{
    struct fake_waiter g;

    take(&g, owner, thread, 1);
    wait_on(f, owner, thread);
}

static uint32_t notify(uint64_t owner, uint64_t thread, uint32_t n)
{
    uint32_t woken = 12345;

    cr_assert(eq(int, condition_notify(c, owner, thread, n, &woken), 0));
    return woken;
}

/* ---- wait --------------------------------------------------------------- */

Test(condition, new_condition_is_bound_and_empty)
{
    cr_assert(eq(int, c->base.type, OBJECT_CONDITION));
    cr_assert(eq(ptr, c->lock, l));
    cr_assert(eq(int, c->own_lock, true));
    cr_assert(eq(sz, cond_waiting(), 0));
    cr_assert(eq(i64, c->base.ops->query(&c->base), 0));
}

Test(condition, root_is_the_lock)
{
    /* What a client holds through a condition is its lock. */
    cr_assert(eq(ptr, object_root(&c->base), &l->base));
    cr_assert(eq(ptr, object_root(&l->base), &l->base));
}

Test(condition, wait_without_holding_lock_is_eperm)
{
    struct fake_waiter a, b, w;

    /* Free lock. */
    fake_waiter_init_thread(&w, A, T1);
    cr_assert(eq(int, condition_wait(c, &w.w), SYNC_EPERM));
    FAKE_ASSERT_UNTOUCHED(&w);
    /* Held by another client. */
    take(&b, B, T1, 1);
    cr_assert(eq(int, condition_wait(c, &w.w), SYNC_EPERM));
    FAKE_ASSERT_UNTOUCHED(&w);
    cr_assert(eq(int, lock_release_by(l, B, T1), 0));
    /* RLock held by another thread of the same client. */
    take(&a, A, T2, 1);
    cr_assert(eq(int, condition_wait(c, &w.w), SYNC_EPERM));
    FAKE_ASSERT_UNTOUCHED(&w);
    cr_assert(eq(u64, l->holder_thread, T2));
    cr_assert(eq(u32, l->depth, 1));
    cr_assert(eq(sz, cond_waiting(), 0));
    cr_assert(eq(int, lock_release_by(l, A, T2), 0));
}

Test(condition, wait_releases_every_rlock_level)
{
    struct fake_waiter g[3], w;

    take(g, A, T1, 3);
    wait_on(&w, A, T1);
    cr_assert(eq(u32, w.w.depth, 3));
    cr_assert(eq(i64, l->base.ops->query(&l->base), 0), "lock is free");
    cr_assert(eq(u32, l->depth, 0));
    cr_assert(eq(sz, cond_waiting(), 1));
    cr_assert(eq(i64, c->base.ops->query(&c->base), 1));
    cr_assert(eq(int, w.w.reacquiring, false));
    object_cancel(&w.w, SYNC_ECONN);
}

Test(condition, wait_hands_lock_to_oldest_lock_waiter)
{
    struct fake_waiter g[2], b, d, w;

    take(g, A, T1, 2);
    fake_waiter_init_thread(&b, B, T1);
    cr_assert(eq(int, lock_acquire(l, &b.w, true), SYNCD_PENDING));
    fake_waiter_init_thread(&d, D, T1);
    cr_assert(eq(int, lock_acquire(l, &d.w, true), SYNCD_PENDING));
    wait_on(&w, A, T1);
    FAKE_ASSERT_DONE(&b, 0);
    cr_assert(eq(u64, b.token, 2));
    cr_assert(eq(u64, l->holder, B));
    cr_assert(eq(u32, l->depth, 1));
    FAKE_ASSERT_PENDING(&d);
    cr_assert(eq(int, lock_release_by(l, B, T1), 0));
    FAKE_ASSERT_DONE(&d, 0);
    cr_assert(eq(int, lock_release_by(l, D, T1), 0));
    object_cancel(&w.w, SYNC_ECONN);
}

Test(condition, lock_waiter_granted_by_wait_can_notify_it_at_once)
{
    struct fake_waiter g, b, w;

    /* The waiter is queued before the lock goes: B's notify finds it. */
    take(&g, A, T1, 1);
    fake_waiter_init_thread(&b, B, T1);
    cr_assert(eq(int, lock_acquire(l, &b.w, true), SYNCD_PENDING));
    wait_on(&w, A, T1);
    FAKE_ASSERT_DONE(&b, 0);
    cr_assert(eq(u32, notify(B, T1, 1), 1));
    cr_assert(eq(int, lock_release_by(l, B, T1), 0));
    FAKE_ASSERT_DONE(&w, 0);
    cr_assert(eq(int, lock_release_by(l, A, T1), 0));
}

/* ---- notify ------------------------------------------------------------- */

Test(condition, notify_without_holding_lock_is_eperm)
{
    struct fake_waiter a, w;
    uint32_t woken = 99;

    enter_and_wait(&w, A, T1);
    /* Free lock. */
    cr_assert(eq(int, condition_notify(c, B, T1, 1, &woken), SYNC_EPERM));
    cr_assert(eq(u32, woken, 0));
    /* Held by another thread of the same client (RLock). */
    take(&a, B, T2, 1);
    woken = 99;
    cr_assert(eq(int, condition_notify(c, B, T1, 1, &woken), SYNC_EPERM));
    cr_assert(eq(u32, woken, 0));
    /* Held by another client. */
    cr_assert(eq(int, condition_notify(c, C, T2, CONDITION_NOTIFY_ALL, &woken),
                 SYNC_EPERM));
    FAKE_ASSERT_PENDING(&w);
    cr_assert(eq(sz, cond_waiting(), 1));
    cr_assert(eq(int, lock_release_by(l, B, T2), 0));
    object_cancel(&w.w, SYNC_ECONN);
}

Test(condition, notify_one_moves_oldest_waiter_which_completes_after_release)
{
    struct fake_waiter g[2], n, w1, w2;

    take(g, A, T1, 2);
    wait_on(&w1, A, T1);
    enter_and_wait(&w2, C, T2);

    take(&n, B, T1, 1);
    cr_assert(eq(u32, notify(B, T1, 1), 1));
    /* Moved to the lock's queue, but not done: B still holds the lock. */
    FAKE_ASSERT_PENDING(&w1);
    cr_assert(eq(int, w1.w.reacquiring, true));
    cr_assert(eq(ptr, w1.w.obj, &l->base));
    cr_assert(eq(ptr, (void *)w1.w.queue, &l->waiters));
    cr_assert(eq(sz, lock_waiting(), 1));
    cr_assert(eq(sz, cond_waiting(), 1));
    FAKE_ASSERT_PENDING(&w2);
    cr_assert(eq(ptr, (void *)w2.w.queue, &c->waiters));

    cr_assert(eq(int, lock_release_by(l, B, T1), 0));
    FAKE_ASSERT_DONE(&w1, 0);
    cr_assert(eq(u64, l->holder, A));
    cr_assert(eq(u64, l->holder_thread, T1));
    cr_assert(eq(u32, l->depth, 2), "depth restored");
    cr_assert(eq(int, w1.w.reacquiring, false));
    cr_assert(eq(int, w1.owner_died, false));
    /* Tokens: A 1, C 2, B 3, A again 4. */
    cr_assert(eq(u64, w1.token, 4));
    FAKE_ASSERT_PENDING(&w2);

    cr_assert(eq(int, lock_release_by(l, A, T1), 0));
    cr_assert(eq(int, lock_release_by(l, A, T1), 0));
    cr_assert(eq(i64, l->base.ops->query(&l->base), 0));
    FAKE_ASSERT_PENDING(&w2);
    object_cancel(&w2.w, SYNC_ECONN);
}

Test(condition, notified_waiter_queues_behind_earlier_lock_waiters)
{
    struct fake_waiter n, d, w;

    enter_and_wait(&w, A, T1);
    take(&n, B, T1, 1);
    fake_waiter_init_thread(&d, D, T1);
    cr_assert(eq(int, lock_acquire(l, &d.w, true), SYNCD_PENDING));
    cr_assert(eq(u32, notify(B, T1, 1), 1));
    cr_assert(eq(int, lock_release_by(l, B, T1), 0));
    FAKE_ASSERT_DONE(&d, 0);
    FAKE_ASSERT_PENDING(&w);
    cr_assert(eq(int, lock_release_by(l, D, T1), 0));
    FAKE_ASSERT_DONE(&w, 0);
    cr_assert(lt(u32, d.seq, w.seq));
    cr_assert(eq(int, lock_release_by(l, A, T1), 0));
}

Test(condition, notify_n_wakes_up_to_n_in_fifo_order)
{
    struct fake_waiter w[4], n;
    uint64_t owner[4] = {A, B, C, D};
    int i;

    for (i = 0; i < 4; i++)
        enter_and_wait(&w[i], owner[i], T1);
    take(&n, A, T2, 1);
    cr_assert(eq(u32, notify(A, T2, 2), 2));
    cr_assert(eq(sz, cond_waiting(), 2));
    cr_assert(eq(sz, lock_waiting(), 2));
    cr_assert(eq(int, w[0].w.reacquiring, true));
    cr_assert(eq(int, w[1].w.reacquiring, true));
    cr_assert(eq(int, w[2].w.reacquiring, false));
    /* More than are waiting: counts only those woken. */
    cr_assert(eq(u32, notify(A, T2, 5), 2));
    cr_assert(eq(sz, cond_waiting(), 0));
    cr_assert(eq(u32, notify(A, T2, 1), 0));
    cr_assert(eq(u32, notify(A, T2, 0), 0));

    /* They get the lock back one at a time, oldest first. */
    cr_assert(eq(int, lock_release_by(l, A, T2), 0));
    for (i = 0; i < 4; i++) {
        FAKE_ASSERT_DONE(&w[i], 0);
        cr_assert(eq(u64, l->holder, owner[i]));
        if (i + 1 < 4)
            FAKE_ASSERT_PENDING(&w[i + 1]);
        cr_assert(eq(int, lock_release_by(l, owner[i], T1), 0));
    }
    cr_assert(lt(u32, w[0].seq, w[1].seq));
    cr_assert(lt(u32, w[2].seq, w[3].seq));
}

Test(condition, notify_zero_wakes_nobody)
{
    struct fake_waiter w, n;

    enter_and_wait(&w, A, T1);
    take(&n, B, T1, 1);
    cr_assert(eq(u32, notify(B, T1, 0), 0));
    FAKE_ASSERT_PENDING(&w);
    cr_assert(eq(int, w.w.reacquiring, false));
    cr_assert(eq(int, lock_release_by(l, B, T1), 0));
    object_cancel(&w.w, SYNC_ECONN);
}

Test(condition, notify_all_wakes_everyone)
{
    struct fake_waiter w[3], n;
    int i;

    for (i = 0; i < 3; i++)
        enter_and_wait(&w[i], (uint64_t)(A + i), T1);
    take(&n, D, T1, 1);
    cr_assert(eq(u32, notify(D, T1, CONDITION_NOTIFY_ALL), 3));
    cr_assert(eq(sz, cond_waiting(), 0));
    cr_assert(eq(sz, lock_waiting(), 3));
    cr_assert(eq(u32, notify(D, T1, CONDITION_NOTIFY_ALL), 0));
    cr_assert(eq(int, lock_release_by(l, D, T1), 0));
    for (i = 0; i < 3; i++) {
        FAKE_ASSERT_DONE(&w[i], 0);
        cr_assert(eq(int, lock_release_by(l, (uint64_t)(A + i), T1), 0));
    }
}

Test(condition, notify_with_no_waiter_is_ok)
{
    struct fake_waiter n;

    take(&n, A, T1, 1);
    cr_assert(eq(u32, notify(A, T1, 1), 0));
    cr_assert(eq(u32, notify(A, T1, CONDITION_NOTIFY_ALL), 0));
    cr_assert(eq(int, lock_release_by(l, A, T1), 0));
}

Test(condition, notifier_death_tells_reacquiring_waiter)
{
    struct fake_waiter w, n;

    enter_and_wait(&w, A, T1);
    take(&n, B, T1, 1);
    cr_assert(eq(u32, notify(B, T1, 1), 1));
    cr_assert(eq(int, object_drop_owner(&l->base, B), true));
    FAKE_ASSERT_DONE(&w, 0);
    cr_assert(eq(int, w.owner_died, true));
    cr_assert(eq(u64, l->holder, A));
    cr_assert(eq(int, lock_release_by(l, A, T1), 0));
}

/* ---- timeouts (object_expire) ------------------------------------------- */

Test(condition, expire_requeues_for_lock_and_times_out_once_held)
{
    struct fake_waiter g[2], n, w;

    take(g, A, T1, 2);
    wait_on(&w, A, T1);
    take(&n, B, T1, 1);

    object_expire(&w.w);
    /* Not done yet: it must hold the lock again to return. */
    FAKE_ASSERT_PENDING(&w);
    cr_assert(eq(int, w.w.reacquiring, true));
    cr_assert(eq(ptr, (void *)w.w.queue, &l->waiters));
    cr_assert(eq(sz, cond_waiting(), 0));
    cr_assert(eq(sz, lock_waiting(), 1));
    /* A notify now finds no one. */
    cr_assert(eq(u32, notify(B, T1, 1), 0));
    /* Expiring again while it re-acquires does nothing. */
    object_expire(&w.w);
    FAKE_ASSERT_PENDING(&w);

    cr_assert(eq(int, lock_release_by(l, B, T1), 0));
    FAKE_ASSERT_DONE(&w, SYNC_ETIMEDOUT);
    cr_assert(eq(u64, l->holder, A));
    cr_assert(eq(u64, l->holder_thread, T1));
    cr_assert(eq(u32, l->depth, 2));
    cr_assert(eq(int, lock_release_by(l, A, T1), 0));
    cr_assert(eq(int, lock_release_by(l, A, T1), 0));
}

Test(condition, expire_with_lock_free_times_out_at_once_holding_it)
{
    struct fake_waiter g[3], w;

    take(g, A, T1, 3);
    wait_on(&w, A, T1);
    object_expire(&w.w);
    FAKE_ASSERT_DONE(&w, SYNC_ETIMEDOUT);
    cr_assert(eq(u64, l->holder, A));
    cr_assert(eq(u64, l->holder_thread, T1));
    cr_assert(eq(u32, l->depth, 3));
    cr_assert(eq(u64, w.token, 2));
    cr_assert(eq(sz, cond_waiting(), 0));
    /* Completed: a later expire or cancel is a no-op. */
    object_expire(&w.w);
    object_cancel(&w.w, SYNC_ECONN);
    FAKE_ASSERT_DONE(&w, SYNC_ETIMEDOUT);
    cr_assert(eq(int, object_drop_owner(&l->base, A), true));
}

Test(condition, expire_after_notify_is_noop)
{
    struct fake_waiter g, n, w;

    take(&g, A, T1, 1);
    wait_on(&w, A, T1);
    take(&n, B, T1, 1);
    cr_assert(eq(u32, notify(B, T1, 1), 1));
    object_expire(&w.w);
    FAKE_ASSERT_PENDING(&w);
    cr_assert(eq(int, w.w.reacquiring, true));
    cr_assert(eq(sz, lock_waiting(), 1));
    cr_assert(eq(int, lock_release_by(l, B, T1), 0));
    /* Notified, so 0: the deadline passed too late to matter. */
    FAKE_ASSERT_DONE(&w, 0);
    cr_assert(eq(int, lock_release_by(l, A, T1), 0));
}

Test(condition, expire_keeps_other_waiters_waiting)
{
    struct fake_waiter w1, w2, n;

    enter_and_wait(&w1, A, T1);
    enter_and_wait(&w2, B, T1);
    take(&n, C, T1, 1);
    object_expire(&w1.w);
    cr_assert(eq(sz, cond_waiting(), 1));
    cr_assert(eq(u32, notify(C, T1, 1), 1));
    cr_assert(eq(int, lock_release_by(l, C, T1), 0));
    FAKE_ASSERT_DONE(&w1, SYNC_ETIMEDOUT);
    FAKE_ASSERT_PENDING(&w2);
    cr_assert(eq(int, lock_release_by(l, A, T1), 0));
    FAKE_ASSERT_DONE(&w2, 0);
    cr_assert(eq(int, lock_release_by(l, B, T1), 0));
}

/* ---- cancellation (client died, handle closed) -------------------------- */

Test(condition, cancel_of_waiter_removes_it_and_notify_wakes_next_live_one)
{
    struct fake_waiter w1, w2, n;

    enter_and_wait(&w1, A, T1);
    enter_and_wait(&w2, B, T1);
    object_cancel(&w1.w, SYNC_ECONN);
    FAKE_ASSERT_DONE(&w1, SYNC_ECONN);
    cr_assert(eq(sz, cond_waiting(), 1));
    cr_assert(eq(i64, l->base.ops->query(&l->base), 0),
              "a dead waiter does not take the lock");

    take(&n, C, T1, 1);
    cr_assert(eq(u32, notify(C, T1, 1), 1), "notify not spent on the dead");
    cr_assert(eq(int, w2.w.reacquiring, true));
    cr_assert(eq(int, lock_release_by(l, C, T1), 0));
    FAKE_ASSERT_DONE(&w2, 0);
    cr_assert(eq(u64, l->holder, B));
    /* The dead waiter never got a second completion. */
    FAKE_ASSERT_DONE(&w1, SYNC_ECONN);
    cr_assert(eq(u32, fake_waiter_completions(), 2));
    cr_assert(eq(int, lock_release_by(l, B, T1), 0));
}

Test(condition, cancel_is_idempotent)
{
    struct fake_waiter w;

    enter_and_wait(&w, A, T1);
    object_cancel(&w.w, SYNC_ESHUTDOWN);
    object_cancel(&w.w, SYNC_ECONN);
    object_expire(&w.w);
    FAKE_ASSERT_DONE(&w, SYNC_ESHUTDOWN);
    cr_assert(eq(sz, cond_waiting(), 0));
}

Test(condition, cancel_in_reacquire_phase_leaves_lock_queue)
{
    struct fake_waiter w1, w2, n, d;

    enter_and_wait(&w1, A, T1);
    enter_and_wait(&w2, B, T1);
    take(&n, C, T1, 1);
    cr_assert(eq(u32, notify(C, T1, 2), 2));
    fake_waiter_init_thread(&d, D, T1);
    cr_assert(eq(int, lock_acquire(l, &d.w, true), SYNCD_PENDING));
    cr_assert(eq(sz, lock_waiting(), 3));

    object_cancel(&w1.w, SYNC_ECONN);
    FAKE_ASSERT_DONE(&w1, SYNC_ECONN);
    cr_assert(eq(sz, lock_waiting(), 2));
    cr_assert(eq(sz, cond_waiting(), 0));

    cr_assert(eq(int, lock_release_by(l, C, T1), 0));
    FAKE_ASSERT_DONE(&w2, 0);
    cr_assert(eq(u64, l->holder, B));
    cr_assert(eq(int, lock_release_by(l, B, T1), 0));
    FAKE_ASSERT_DONE(&d, 0);
    cr_assert(eq(int, lock_release_by(l, D, T1), 0));
    cr_assert(eq(i64, l->base.ops->query(&l->base), 0));
    FAKE_ASSERT_DONE(&w1, SYNC_ECONN);
}

Test(condition, cancel_of_only_reacquiring_waiter_then_release_frees_lock)
{
    struct fake_waiter w, n;

    enter_and_wait(&w, A, T1);
    take(&n, B, T1, 1);
    object_expire(&w.w);
    object_cancel(&w.w, SYNC_ECONN);
    FAKE_ASSERT_DONE(&w, SYNC_ECONN);
    cr_assert(eq(int, lock_release_by(l, B, T1), 0));
    cr_assert(eq(i64, l->base.ops->query(&l->base), 0));
}

/* ---- a Condition over a plain Lock -------------------------------------- */

Test(condition_lock, any_thread_of_holder_may_wait_and_gets_depth_1)
{
    struct fake_waiter g, n, w;

    fake_waiter_init_thread(&g, A, T1);
    cr_assert(eq(int, lock_acquire(l, &g.w, true), 0));
    /* A Lock belongs to the client: its thread T2 may wait. */
    fake_waiter_init_thread(&w, A, T2);
    cr_assert(eq(int, condition_wait(c, &w.w), SYNCD_PENDING));
    cr_assert(eq(u32, w.w.depth, 1));
    cr_assert(eq(i64, l->base.ops->query(&l->base), 0));

    fake_waiter_init_thread(&n, B, T1);
    cr_assert(eq(int, lock_acquire(l, &n.w, true), 0));
    cr_assert(eq(u32, notify(B, T2, 1), 1), "any thread of B may notify");
    cr_assert(eq(int, lock_release_by(l, B, T1), 0));
    FAKE_ASSERT_DONE(&w, 0);
    cr_assert(eq(u64, l->holder, A));
    cr_assert(eq(u64, l->holder_thread, T2));
    cr_assert(eq(u32, l->depth, 1));
    cr_assert(eq(int, lock_release_by(l, A, T1), 0));
}

Test(condition_lock, wait_by_other_client_is_eperm)
{
    struct fake_waiter g, w;

    fake_waiter_init_thread(&g, A, T1);
    cr_assert(eq(int, lock_acquire(l, &g.w, true), 0));
    fake_waiter_init_thread(&w, B, T1);
    cr_assert(eq(int, condition_wait(c, &w.w), SYNC_EPERM));
    FAKE_ASSERT_UNTOUCHED(&w);
    cr_assert(eq(int, lock_release_by(l, A, T1), 0));
}

/* ---- registry: binding a condition to its lock -------------------------- */

static struct registry r;

static void reg_setup(void)
{
    registry_init(&r, 100, SYNC_NAME_MAX);
}

/* Tests release what they open; fini frees the rest; ASan checks leaks. */
static void reg_teardown(void)
{
    registry_fini(&r);
    TEST_FINI_CHECK(r.count == 0, "objects left after registry_fini");
#ifdef __SANITIZE_ADDRESS__
    TEST_FINI_CHECK(__lsan_do_recoverable_leak_check() == 0, "memory leaked");
#endif
}

TestSuite(condition_registry, .init = reg_setup, .fini = reg_teardown);

static struct object_spec cond_spec(const char *lock_name)
{
    return (struct object_spec){.type = OBJECT_CONDITION,
                                .lock_name = lock_name,
                                .uid = 1000,
                                .gid = 100,
                                .mode = 0640};
}

static struct object *open_ok(const char *name,
                              const struct object_spec *spec,
                              bool created)
{
    struct object *o = NULL;
    bool cr = !created;

    cr_assert(eq(int, registry_open(&r, name, spec, &o, &cr), 0), "%s", name);
    cr_assert(ne(ptr, o, NULL));
    cr_assert(eq(int, cr, created), "%s: created", name);
    return o;
}

static void open_fails(const char *name,
                       const struct object_spec *spec,
                       int code)
{
    struct object *o = (struct object *)&r;
    bool cr = true;

    cr_assert(eq(int, registry_open(&r, name, spec, &o, &cr), code), "%s",
              name);
    cr_assert(eq(ptr, o, NULL));
    cr_assert(eq(int, cr, false));
}

Test(condition_registry, lock_name_creates_missing_rlock_by_that_name)
{
    struct object_spec s = cond_spec("m");
    struct object *o = open_ok("cv", &s, true);
    struct condition *cv = condition_from_object(o);
    struct object *m = registry_lookup(&r, "m");

    cr_assert(eq(int, o->type, OBJECT_CONDITION));
    cr_assert(ne(ptr, m, NULL));
    cr_assert(eq(ptr, &cv->lock->base, m));
    cr_assert(eq(int, m->type, OBJECT_RLOCK));
    cr_assert(eq(int, m->linked, true));
    cr_assert(eq(u32, m->refs, 1), "the condition's reference");
    cr_assert(eq(int, cv->own_lock, false));
    /* Created with the condition's owner and mode. */
    cr_assert(eq(u32, m->uid, 1000));
    cr_assert(eq(u32, m->gid, 100));
    cr_assert(eq(u32, m->mode, 0640));
    cr_assert(eq(u32, r.count, 2));
    cr_assert(eq(ptr, object_root(o), m));
    registry_rele(&r, o);
}

Test(condition_registry, lock_name_binds_existing_lock)
{
    struct object_spec ls = {.type = OBJECT_LOCK};
    struct object_spec s = cond_spec("m");
    struct object *m = open_ok("m", &ls, true);
    struct object *o = open_ok("cv", &s, true);

    cr_assert(eq(ptr, &condition_from_object(o)->lock->base, m));
    cr_assert(eq(int, m->type, OBJECT_LOCK), "not replaced by an RLock");
    cr_assert(eq(u32, m->refs, 2));
    cr_assert(eq(u32, r.count, 2));
    /* Reopening the condition takes no new lock reference. */
    cr_assert(eq(ptr, open_ok("cv", &s, false), o));
    cr_assert(eq(u32, m->refs, 2));
    cr_assert(eq(u32, o->refs, 2));
    registry_rele(&r, o);
    registry_rele(&r, o);
    registry_rele(&r, m);
}

Test(condition_registry, lock_name_binds_existing_rlock)
{
    struct object_spec rs = {.type = OBJECT_RLOCK};
    struct object_spec s = cond_spec("m");
    struct object *m = open_ok("m", &rs, true);
    struct object *o = open_ok("cv", &s, true);

    cr_assert(eq(ptr, &condition_from_object(o)->lock->base, m));
    cr_assert(eq(u32, m->refs, 2));
    registry_rele(&r, o);
    registry_rele(&r, m);
}

Test(condition_registry, lock_name_of_other_type_is_etype)
{
    struct object_spec ss = {.type = OBJECT_SEMAPHORE, .value = 1};
    struct object_spec es = {.type = OBJECT_EVENT};
    struct object_spec bs = {.type = OBJECT_BARRIER, .value = 2};
    struct object_spec priv = cond_spec(NULL);
    struct object_spec s_sem = cond_spec("sem"), s_ev = cond_spec("ev");
    struct object_spec s_bar = cond_spec("bar"), s_cv = cond_spec("cv0");
    struct object *sem = open_ok("sem", &ss, true);
    struct object *ev = open_ok("ev", &es, true);
    struct object *bar = open_ok("bar", &bs, true);
    struct object *cv0 = open_ok("cv0", &priv, true);

    cr_assert(eq(u32, r.count, 5));
    open_fails("cv", &s_sem, SYNC_ETYPE);
    open_fails("cv", &s_ev, SYNC_ETYPE);
    open_fails("cv", &s_bar, SYNC_ETYPE);
    open_fails("cv", &s_cv, SYNC_ETYPE);
    cr_assert(eq(ptr, registry_lookup(&r, "cv"), NULL));
    cr_assert(eq(u32, r.count, 5));
    cr_assert(eq(u32, sem->refs, 1));
    cr_assert(eq(u32, cv0->refs, 1));
    registry_rele(&r, sem);
    registry_rele(&r, ev);
    registry_rele(&r, bar);
    registry_rele(&r, cv0);
}

Test(condition_registry, reopen_with_other_lock_is_eexist)
{
    struct object_spec sm = cond_spec("m"), sn = cond_spec("n");
    struct object_spec priv = cond_spec(NULL);
    struct object *o = open_ok("cv", &sm, true);
    struct object *p = open_ok("pv", &priv, true);

    open_fails("cv", &sn, SYNC_EEXIST);
    open_fails("cv", &priv, SYNC_EEXIST);
    open_fails("pv", &sm, SYNC_EEXIST);
    /* Nothing was created for the refused lock name. */
    cr_assert(eq(ptr, registry_lookup(&r, "n"), NULL));
    cr_assert(eq(ptr, open_ok("cv", &sm, false), o));
    cr_assert(eq(ptr, open_ok("pv", &priv, false), p));
    cr_assert(eq(u32, o->refs, 2));
    cr_assert(eq(u32, p->refs, 2));
    registry_rele(&r, o);
    registry_rele(&r, o);
    registry_rele(&r, p);
    registry_rele(&r, p);
}

Test(condition_registry, private_lock_counts_two_and_frees_both)
{
    struct object_spec priv = cond_spec(NULL);
    struct object *o = open_ok("cv", &priv, true);
    struct condition *cv = condition_from_object(o);

    cr_assert(eq(int, cv->own_lock, true));
    cr_assert(eq(int, cv->lock->base.type, OBJECT_RLOCK));
    cr_assert(eq(int, cv->lock->base.linked, false), "reachable by no name");
    cr_assert(eq(u32, cv->lock->base.refs, 1));
    cr_assert(eq(u32, cv->lock->base.mode, 0640));
    cr_assert(eq(ptr, registry_lookup(&r, "cv"), o));
    cr_assert(eq(u32, r.count, 2));

    cr_assert(eq(int, registry_unlink(&r, "cv"), 0));
    cr_assert(eq(u32, r.count, 2), "still referenced");
    registry_rele(&r, o);
    /* Both gone; teardown's leak check proves the memory is freed. */
    cr_assert(eq(u32, r.count, 0));
}

Test(condition_registry, private_lock_is_usable_through_condition)
{
    struct object_spec priv = cond_spec(NULL);
    struct object *o = open_ok("cv", &priv, true);
    struct condition *cv = condition_from_object(o);
    struct fake_waiter g, w;

    fake_waiter_init_thread(&g, A, T1);
    cr_assert(
        eq(int, lock_acquire(lock_from_object(object_root(o)), &g.w, true), 0));
    fake_waiter_init_thread(&w, A, T1);
    cr_assert(eq(int, condition_wait(cv, &w.w), SYNCD_PENDING));
    object_expire(&w.w);
    FAKE_ASSERT_DONE(&w, SYNC_ETIMEDOUT);
    cr_assert(eq(int, lock_release_by(cv->lock, A, T1), 0));
    cr_assert(eq(int, registry_unlink(&r, "cv"), 0));
    registry_rele(&r, o);
    cr_assert(eq(u32, r.count, 0));
}

Test(condition_registry, named_lock_outlives_condition)
{
    struct object_spec s = cond_spec("m");
    struct object *o = open_ok("cv", &s, true);
    struct object *m = registry_lookup(&r, "m");

    cr_assert(eq(int, registry_unlink(&r, "cv"), 0));
    registry_rele(&r, o);
    cr_assert(eq(u32, r.count, 1));
    cr_assert(eq(ptr, registry_lookup(&r, "m"), m));
    cr_assert(eq(u32, m->refs, 0));
    cr_assert(eq(int, registry_unlink(&r, "m"), 0));
    cr_assert(eq(u32, r.count, 0));
}

Test(condition_registry, unlinked_lock_lives_while_condition_uses_it)
{
    struct object_spec ls = {.type = OBJECT_LOCK};
    struct object_spec s = cond_spec("m");
    struct object *m = open_ok("m", &ls, true);
    struct object *o = open_ok("cv", &s, true);

    registry_rele(&r, m);
    cr_assert(eq(int, registry_unlink(&r, "m"), 0));
    cr_assert(eq(u32, r.count, 2), "the condition keeps its lock");
    cr_assert(eq(ptr, object_root(o), m));
    cr_assert(eq(str, m->name, "m"));
    /* Freeing the condition drops the last lock reference. */
    cr_assert(eq(int, registry_unlink(&r, "cv"), 0));
    registry_rele(&r, o);
    cr_assert(eq(u32, r.count, 0));
}

Test(condition_registry, fini_frees_condition_and_its_named_lock)
{
    struct object_spec s = cond_spec("m");

    registry_rele(&r, open_ok("cv", &s, true));
    registry_rele(&r, open_ok("cv2", &s, true));
    cr_assert(eq(u32, registry_lookup(&r, "m")->refs, 2));
    cr_assert(eq(u32, r.count, 3));
    /* teardown: registry_fini must free all three in any hash order. */
}

Test(condition_registry, private_lock_needs_two_slots)
{
    struct object_spec es = {.type = OBJECT_EVENT};
    struct object_spec priv = cond_spec(NULL);
    struct object *e;

    registry_fini(&r);
    registry_init(&r, 2, SYNC_NAME_MAX);
    e = open_ok("e", &es, true);
    open_fails("cv", &priv, SYNC_ELIMIT);
    cr_assert(eq(u32, r.count, 1));
    registry_rele(&r, e);
    cr_assert(eq(int, registry_unlink(&r, "e"), 0));
    registry_rele(&r, open_ok("cv", &priv, true));
    cr_assert(eq(u32, r.count, 2));
}

/* A condition whose named lock does not exist yet needs two slots. */
Test(condition_registry, missing_named_lock_needs_two_slots)
{
    struct object_spec es = {.type = OBJECT_EVENT};
    struct object_spec s = cond_spec("m");
    struct object *e, *o = NULL;
    bool cr = false;
    int rv;

    registry_fini(&r);
    registry_init(&r, 2, SYNC_NAME_MAX);
    e = open_ok("e", &es, true);
    rv = registry_open(&r, "cv", &s, &o, &cr);
    if (rv == 0)
        registry_rele(&r, o);
    registry_rele(&r, e);
    cr_assert(le(u32, r.count, r.max_objects), "count %u over the limit",
              r.count);
    cr_assert(eq(int, rv, SYNC_ELIMIT));
}

/* A condition cannot be its own lock: one name, one object. */
Test(condition_registry, lock_name_equal_to_own_name_is_refused)
{
    struct object_spec s = cond_spec("c");
    struct object *o = NULL;
    bool cr = false;
    int rv = registry_open(&r, "c", &s, &o, &cr);

    if (rv == 0) {
        registry_rele(&r, o);
        /* Drop both, whichever the name finds first. */
        while (registry_unlink(&r, "c") == 0)
            ;
    }
    cr_assert(ne(int, rv, 0));
    cr_assert(eq(u32, r.count, 0));
}
