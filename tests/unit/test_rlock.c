/*
 * test_rlock.c: the RLock side of the Lock/RLock state machine
 * (daemon/objects/lock.c): re-entry by the owning (client, thread), release
 * rules per thread, hand-off after the last level, death of the owner,
 * fencing tokens; and, for contrast, that a plain Lock belongs to the whole
 * client.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "fake_waiter.h"
#include "objects/lock.h"
#include "syncclient.h"

/* Owners (clients) and their threads. */
enum { A = 1, B = 2, C = 3 };
enum { T1 = 11, T2 = 12 };

static struct lock *l;

static void setup(void)
{
    l = rlock_new("test-rlock");
    cr_assert(ne(ptr, l, NULL));
}

static void teardown(void)
{
    TEST_FINI_CHECK(l->base.ops->n_waiting(&l->base) == 0,
                    "test left waiters queued");
    l->base.ops->free(&l->base);
}

TestSuite(rlock, .init = setup, .fini = teardown);

static size_t n_waiting(void)
{
    return l->base.ops->n_waiting(&l->base);
}

/* Acquire for (owner, thread) with a fresh waiter; must be granted now. */
static uint64_t grab(struct fake_waiter *f, uint64_t owner, uint64_t thread)
{
    fake_waiter_init_thread(f, owner, thread);
    cr_assert(eq(int, lock_acquire(l, &f->w, true), 0));
    FAKE_ASSERT_UNTOUCHED(f);
    return f->w.token;
}

static void queue(struct fake_waiter *f, uint64_t owner, uint64_t thread)
{
    fake_waiter_init_thread(f, owner, thread);
    cr_assert(eq(int, lock_acquire(l, &f->w, true), SYNCD_PENDING));
    FAKE_ASSERT_PENDING(f);
}

Test(rlock, new_rlock_is_free_recursive_and_typed)
{
    cr_assert(eq(int, l->base.type, OBJECT_RLOCK));
    cr_assert(eq(int, l->recursive, true));
    cr_assert(eq(str, l->base.name, "test-rlock"));
    cr_assert(eq(i64, l->base.ops->query(&l->base), 0));
    cr_assert(eq(u32, l->depth, 0));
}

Test(rlock, owner_thread_reacquires_at_once_and_depth_grows)
{
    struct fake_waiter f[4];
    int i;

    for (i = 0; i < 4; i++) {
        grab(&f[i], A, T1);
        cr_assert(eq(u32, l->depth, (uint32_t)i + 1));
        cr_assert(eq(u64, l->holder, A));
        cr_assert(eq(u64, l->holder_thread, T1));
    }
    cr_assert(eq(sz, n_waiting(), 0));
    cr_assert(eq(int, lock_is_owner(l, A, T1), true));
    for (i = 0; i < 4; i++)
        cr_assert(eq(int, lock_release_by(l, A, T1), 0));
    cr_assert(eq(i64, l->base.ops->query(&l->base), 0));
}

Test(rlock, try_acquire_by_owner_thread_succeeds_even_without_wait)
{
    struct fake_waiter a, a2;

    grab(&a, A, T1);
    fake_waiter_init_thread(&a2, A, T1);
    cr_assert(eq(int, lock_acquire(l, &a2.w, false), 0));
    cr_assert(eq(u32, l->depth, 2));
    cr_assert(eq(int, lock_release_by(l, A, T1), 0));
    cr_assert(eq(int, lock_release_by(l, A, T1), 0));
}

Test(rlock, release_by_other_thread_of_owner_is_eperm)
{
    struct fake_waiter a;

    grab(&a, A, T1);
    cr_assert(eq(int, lock_release_by(l, A, T2), SYNC_EPERM));
    cr_assert(eq(int, lock_is_owner(l, A, T2), false));
    cr_assert(eq(u32, l->depth, 1));
    cr_assert(eq(u64, l->holder, A));
    cr_assert(eq(int, lock_release_by(l, A, T1), 0));
}

Test(rlock, release_by_other_owner_is_eperm)
{
    struct fake_waiter a;

    grab(&a, A, T1);
    /* Same thread number in another client is another thread. */
    cr_assert(eq(int, lock_release_by(l, B, T1), SYNC_EPERM));
    cr_assert(eq(int, lock_release_by(l, B, T2), SYNC_EPERM));
    cr_assert(eq(int, lock_is_owner(l, B, T1), false));
    cr_assert(eq(u32, l->depth, 1));
    cr_assert(eq(int, lock_release_by(l, A, T1), 0));
}

Test(rlock, release_of_free_rlock_is_eperm)
{
    cr_assert(eq(int, lock_release_by(l, A, T1), SYNC_EPERM));
    cr_assert(eq(int, lock_release(l, A), SYNC_EPERM));
    cr_assert(eq(i64, l->base.ops->query(&l->base), 0));
}

Test(rlock, release_n_times_frees_and_hands_to_oldest_waiter)
{
    struct fake_waiter a[3], b, c;
    int i;

    for (i = 0; i < 3; i++)
        grab(&a[i], A, T1);
    queue(&b, B, T1);
    queue(&c, C, T1);

    cr_assert(eq(int, lock_release_by(l, A, T1), 0));
    cr_assert(eq(int, lock_release_by(l, A, T1), 0));
    /* Still held at depth 1: nobody woken. */
    cr_assert(eq(u32, l->depth, 1));
    cr_assert(eq(u64, l->holder, A));
    FAKE_ASSERT_PENDING(&b);
    FAKE_ASSERT_PENDING(&c);

    cr_assert(eq(int, lock_release_by(l, A, T1), 0));
    FAKE_ASSERT_DONE(&b, 0);
    FAKE_ASSERT_PENDING(&c);
    cr_assert(eq(u64, l->holder, B));
    cr_assert(eq(u64, l->holder_thread, T1));
    cr_assert(eq(u32, l->depth, 1), "a new holder starts at depth 1");
    cr_assert(eq(u64, b.token, 2));
    /* The old holder cannot release any more. */
    cr_assert(eq(int, lock_release_by(l, A, T1), SYNC_EPERM));

    cr_assert(eq(int, lock_release_by(l, B, T1), 0));
    FAKE_ASSERT_DONE(&c, 0);
    cr_assert(lt(u32, b.seq, c.seq));
    cr_assert(eq(int, lock_release_by(l, C, T1), 0));
    cr_assert(eq(i64, l->base.ops->query(&l->base), 0));
}

Test(rlock, lock_release_by_owner_releases_one_level_of_holder_thread)
{
    struct fake_waiter a[2];

    grab(&a[0], A, T1);
    grab(&a[1], A, T1);
    cr_assert(eq(int, lock_release(l, A), 0));
    cr_assert(eq(u32, l->depth, 1));
    cr_assert(eq(int, lock_release(l, B), SYNC_EPERM));
    cr_assert(eq(int, lock_release(l, A), 0));
    cr_assert(eq(i64, l->base.ops->query(&l->base), 0));
}

Test(rlock, other_thread_of_same_owner_queues)
{
    struct fake_waiter a1[2], a2;

    grab(&a1[0], A, T1);
    grab(&a1[1], A, T1);
    queue(&a2, A, T2);
    cr_assert(eq(sz, n_waiting(), 1));
    cr_assert(eq(ptr, a2.w.obj, &l->base));
    cr_assert(eq(u32, l->depth, 2), "another thread does not go deeper");

    cr_assert(eq(int, lock_release_by(l, A, T1), 0));
    FAKE_ASSERT_PENDING(&a2);
    cr_assert(eq(int, lock_release_by(l, A, T1), 0));
    FAKE_ASSERT_DONE(&a2, 0);
    cr_assert(eq(u64, l->holder, A));
    cr_assert(eq(u64, l->holder_thread, T2));
    cr_assert(eq(int, lock_is_owner(l, A, T2), true));
    cr_assert(eq(int, lock_is_owner(l, A, T1), false));
    cr_assert(eq(int, lock_release_by(l, A, T1), SYNC_EPERM));
    cr_assert(eq(int, lock_release_by(l, A, T2), 0));
}

Test(rlock, other_thread_of_owner_try_acquire_times_out)
{
    struct fake_waiter a1, a2;

    grab(&a1, A, T1);
    fake_waiter_init_thread(&a2, A, T2);
    cr_assert(eq(int, lock_acquire(l, &a2.w, false), SYNC_ETIMEDOUT));
    FAKE_ASSERT_UNTOUCHED(&a2);
    cr_assert(eq(u32, l->depth, 1));
    cr_assert(eq(int, lock_release_by(l, A, T1), 0));
}

Test(rlock, drop_owner_releases_all_levels_and_marks_owner_died)
{
    struct fake_waiter a[3], b, c;
    int i;

    for (i = 0; i < 3; i++)
        grab(&a[i], A, T1);
    queue(&b, B, T1);
    queue(&c, C, T2);

    cr_assert(eq(int, object_drop_owner(&l->base, A), true));
    FAKE_ASSERT_DONE(&b, 0);
    cr_assert(eq(int, b.owner_died, true));
    cr_assert(eq(u64, l->holder, B));
    cr_assert(eq(u32, l->depth, 1));
    FAKE_ASSERT_PENDING(&c);
    cr_assert(eq(int, object_drop_owner(&l->base, A), false));

    /* Told once only. */
    cr_assert(eq(int, lock_release_by(l, B, T1), 0));
    FAKE_ASSERT_DONE(&c, 0);
    cr_assert(eq(int, c.owner_died, false));
    cr_assert(eq(int, lock_release_by(l, C, T2), 0));
}

Test(rlock, drop_owner_without_waiters_frees_and_tells_next_acquirer)
{
    struct fake_waiter a[2], b, b2;

    grab(&a[0], A, T1);
    grab(&a[1], A, T1);
    /* Any thread of the dying client: the whole client goes. */
    cr_assert(eq(int, object_holds(&l->base, A), true));
    cr_assert(eq(int, object_drop_owner(&l->base, A), true));
    cr_assert(eq(i64, l->base.ops->query(&l->base), 0));
    cr_assert(eq(u32, l->depth, 0));
    cr_assert(eq(int, object_holds(&l->base, A), false));

    grab(&b, B, T1);
    cr_assert(eq(int, b.w.owner_died, true));
    /* Re-entry does not repeat the news. */
    grab(&b2, B, T1);
    cr_assert(eq(int, b2.w.owner_died, false));
    cr_assert(eq(int, lock_release_by(l, B, T1), 0));
    cr_assert(eq(int, lock_release_by(l, B, T1), 0));
}

Test(rlock, drop_owner_of_non_holder_does_nothing)
{
    struct fake_waiter a, b;

    grab(&a, A, T1);
    queue(&b, B, T1);
    cr_assert(eq(int, object_drop_owner(&l->base, B), false));
    cr_assert(eq(u64, l->holder, A));
    FAKE_ASSERT_PENDING(&b);
    cr_assert(eq(int, lock_release_by(l, A, T1), 0));
    FAKE_ASSERT_DONE(&b, 0);
    cr_assert(eq(int, b.owner_died, false));
    cr_assert(eq(int, lock_release_by(l, B, T1), 0));
}

Test(rlock, token_unchanged_on_reentry_and_plus_one_per_acquisition)
{
    struct fake_waiter a[3], b, b2, c;

    cr_assert(eq(u64, grab(&a[0], A, T1), 1));
    cr_assert(eq(u64, grab(&a[1], A, T1), 1));
    cr_assert(eq(u64, grab(&a[2], A, T1), 1));
    cr_assert(eq(u64, l->tokens, 1));
    queue(&b, B, T1);
    lock_release_by(l, A, T1);
    lock_release_by(l, A, T1);
    lock_release_by(l, A, T1);
    FAKE_ASSERT_DONE(&b, 0);
    cr_assert(eq(u64, b.token, 2));
    cr_assert(eq(u64, grab(&b2, B, T1), 2));
    lock_release_by(l, B, T1);
    lock_release_by(l, B, T1);
    cr_assert(eq(u64, grab(&c, C, T2), 3));
    lock_release_by(l, C, T2);
}

Test(rlock, held_since_is_stamped_at_grant_not_reentry)
{
    struct fake_waiter a, a2;

    grab(&a, A, T1);
    l->held_since = 42; /* as if granted at t=42 */
    grab(&a2, A, T1);
    cr_assert(eq(u64, l->held_since, 42));
    lock_release_by(l, A, T1);
    lock_release_by(l, A, T1);
}

Test(rlock, reentry_at_max_depth_is_elimit)
{
    struct fake_waiter a, a2;

    grab(&a, A, T1);
    l->depth = UINT32_MAX; /* as if acquired 2^32 - 1 times */
    fake_waiter_init_thread(&a2, A, T1);
    cr_assert(eq(int, lock_acquire(l, &a2.w, true), SYNC_ELIMIT));
    FAKE_ASSERT_UNTOUCHED(&a2);
    cr_assert(eq(u32, l->depth, UINT32_MAX));
    cr_assert(eq(int, object_drop_owner(&l->base, A), true));
}

Test(rlock, cancel_of_queued_waiter_skips_it_at_hand_off)
{
    struct fake_waiter a, b, c;

    grab(&a, A, T1);
    queue(&b, B, T1);
    queue(&c, C, T1);
    object_cancel(&b.w, SYNC_ECONN);
    FAKE_ASSERT_DONE(&b, SYNC_ECONN);
    cr_assert(eq(int, lock_release_by(l, A, T1), 0));
    FAKE_ASSERT_DONE(&c, 0);
    cr_assert(eq(u64, l->holder, C));
    cr_assert(eq(int, lock_release_by(l, C, T1), 0));
}

Test(rlock, release_all_returns_depth_and_hands_off)
{
    struct fake_waiter a[3], b;
    int i;

    for (i = 0; i < 3; i++)
        grab(&a[i], A, T1);
    queue(&b, B, T2);
    cr_assert(eq(u32, lock_release_all(l), 3));
    FAKE_ASSERT_DONE(&b, 0);
    cr_assert(eq(u64, l->holder, B));
    cr_assert(eq(u32, l->depth, 1));
    cr_assert(eq(int, b.owner_died, false));
    cr_assert(eq(int, lock_release_by(l, B, T2), 0));
}

Test(rlock, reacquire_of_free_rlock_restores_depth_at_once)
{
    struct fake_waiter a;

    fake_waiter_init_thread(&a, A, T1);
    a.w.depth = 5;
    a.w.grant_code = SYNC_ETIMEDOUT;
    lock_reacquire(l, &a.w);
    FAKE_ASSERT_DONE(&a, SYNC_ETIMEDOUT);
    cr_assert(eq(u32, l->depth, 5));
    cr_assert(eq(u64, l->holder_thread, T1));
    cr_assert(eq(u64, a.token, 1));
    cr_assert(eq(int, object_drop_owner(&l->base, A), true));
}

Test(rlock, reacquire_of_held_rlock_waits_then_restores_depth)
{
    struct fake_waiter a, b;

    grab(&a, A, T1);
    fake_waiter_init_thread(&b, B, T1);
    b.w.depth = 4;
    b.w.grant_code = 0;
    lock_reacquire(l, &b.w);
    FAKE_ASSERT_PENDING(&b);
    cr_assert(eq(int, b.w.reacquiring, true));
    /* The deadline no longer applies to a waiter getting its lock back. */
    object_expire(&b.w);
    FAKE_ASSERT_PENDING(&b);
    cr_assert(eq(int, lock_release_by(l, A, T1), 0));
    FAKE_ASSERT_DONE(&b, 0);
    cr_assert(eq(int, b.w.reacquiring, false));
    cr_assert(eq(u32, l->depth, 4));
    cr_assert(eq(u64, l->holder, B));
    cr_assert(eq(int, object_drop_owner(&l->base, B), true));
}

/* ---- a plain Lock, for contrast: owned by the client -------------------- */

static struct lock *pl;

static void plain_setup(void)
{
    pl = lock_new("test-plain");
    cr_assert(ne(ptr, pl, NULL));
}

static void plain_teardown(void)
{
    TEST_FINI_CHECK(pl->base.ops->n_waiting(&pl->base) == 0,
                    "test left waiters queued");
    pl->base.ops->free(&pl->base);
}

TestSuite(rlock_plain_lock, .init = plain_setup, .fini = plain_teardown);

Test(rlock_plain_lock, any_thread_of_owner_may_release)
{
    struct fake_waiter a;

    fake_waiter_init_thread(&a, A, T1);
    cr_assert(eq(int, lock_acquire(pl, &a.w, true), 0));
    cr_assert(eq(int, pl->recursive, false));
    cr_assert(eq(int, lock_is_owner(pl, A, T2), true));
    cr_assert(eq(int, lock_is_owner(pl, B, T1), false));
    cr_assert(eq(int, lock_release_by(pl, B, T1), SYNC_EPERM));
    cr_assert(eq(int, lock_release_by(pl, A, T2), 0));
    cr_assert(eq(i64, pl->base.ops->query(&pl->base), 0));
    cr_assert(eq(int, lock_release_by(pl, A, T1), SYNC_EPERM));
}

Test(rlock_plain_lock, same_thread_does_not_reenter)
{
    struct fake_waiter a, a2;

    fake_waiter_init_thread(&a, A, T1);
    cr_assert(eq(int, lock_acquire(pl, &a.w, true), 0));
    fake_waiter_init_thread(&a2, A, T1);
    cr_assert(eq(int, lock_acquire(pl, &a2.w, false), SYNC_ETIMEDOUT));
    cr_assert(eq(int, lock_acquire(pl, &a2.w, true), SYNCD_PENDING));
    cr_assert(eq(u32, pl->depth, 1));
    cr_assert(eq(int, lock_release_by(pl, A, T2), 0));
    FAKE_ASSERT_DONE(&a2, 0);
    cr_assert(eq(u64, a2.token, 2));
    cr_assert(eq(int, lock_release_by(pl, A, T1), 0));
}
