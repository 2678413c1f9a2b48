/*
 * test_semaphore.c: the Semaphore and BoundedSemaphore state machine
 * (daemon/objects/semaphore.c).
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "fake_waiter.h"
#include "objects/semaphore.h"
#include "syncclient.h"

static struct semaphore *s;

static void fini(void)
{
    if (s == NULL)
        return;
    TEST_FINI_CHECK(s->base.ops->n_waiting(&s->base) == 0,
                    "test left waiters queued");
    s->base.ops->free(&s->base);
}

TestSuite(semaphore, .fini = fini);

static void make(uint32_t value, bool bounded)
{
    s = semaphore_new("test-sem", value, bounded);
    cr_assert(ne(ptr, s, NULL));
}

static int64_t value(void)
{
    return s->base.ops->query(&s->base);
}

static size_t n_waiting(void)
{
    return s->base.ops->n_waiting(&s->base);
}

static void queue(struct fake_waiter *f, uint64_t owner)
{
    fake_waiter_init(f, owner);
    cr_assert(eq(int, semaphore_acquire(s, &f->w, true), SYNCD_PENDING));
    FAKE_ASSERT_PENDING(f);
}

static void take(uint64_t owner)
{
    struct fake_waiter f;

    fake_waiter_init(&f, owner);
    cr_assert(eq(int, semaphore_acquire(s, &f.w, true), 0));
    FAKE_ASSERT_UNTOUCHED(&f);
}

Test(semaphore, new_has_initial_value_type_and_param)
{
    make(3, false);
    cr_assert(eq(i64, value(), 3));
    cr_assert(eq(int, s->base.type, OBJECT_SEMAPHORE));
    cr_assert(eq(u32, s->base.param, 3));
    cr_assert(eq(str, s->base.name, "test-sem"));
    cr_assert(eq(sz, n_waiting(), 0));
    cr_assert(eq(ptr, (void *)s->base.ops->drop_owner, NULL));
}

Test(semaphore, bounded_new_has_bounded_type)
{
    make(2, true);
    cr_assert(eq(int, s->base.type, OBJECT_BOUNDED_SEMAPHORE));
    cr_assert(eq(u32, s->base.param, 2));
    cr_assert(eq(i64, value(), 2));
}

Test(semaphore, new_accepts_value_max_and_rejects_above)
{
    struct semaphore *big = semaphore_new("x", SEMAPHORE_VALUE_MAX + 1u,
                                        false);

    cr_assert(eq(ptr, big, NULL));
    make(SEMAPHORE_VALUE_MAX, false);
    cr_assert(eq(i64, value(), SEMAPHORE_VALUE_MAX));
}

Test(semaphore, acquire_decrements_value)
{
    make(3, false);
    take(1);
    cr_assert(eq(i64, value(), 2));
    take(2);
    take(3);
    cr_assert(eq(i64, value(), 0));
}

Test(semaphore, acquire_queues_at_zero)
{
    struct fake_waiter f;

    make(1, false);
    take(1);
    queue(&f, 2);
    cr_assert(eq(sz, n_waiting(), 1));
    cr_assert(eq(ptr, f.w.obj, &s->base));
    cr_assert(eq(i64, value(), 0));
    object_cancel(&f.w, SYNC_ETIMEDOUT);
}

Test(semaphore, try_acquire_at_zero_times_out_without_queueing)
{
    struct fake_waiter f;

    make(0, false);
    fake_waiter_init(&f, 1);
    cr_assert(eq(int, semaphore_acquire(s, &f.w, false), SYNC_ETIMEDOUT));
    FAKE_ASSERT_UNTOUCHED(&f);
    cr_assert(eq(sz, n_waiting(), 0));
}

Test(semaphore, release_wakes_up_to_n_waiters_fifo_leftover_to_value)
{
    struct fake_waiter w[3];
    int i;

    make(0, false);
    for (i = 0; i < 3; i++)
        queue(&w[i], (uint64_t)i + 1);

    cr_assert(eq(int, semaphore_release(s, 2), 0));
    FAKE_ASSERT_DONE(&w[0], 0);
    FAKE_ASSERT_DONE(&w[1], 0);
    FAKE_ASSERT_PENDING(&w[2]);
    cr_assert(lt(u32, w[0].seq, w[1].seq));
    cr_assert(eq(i64, value(), 0));
    cr_assert(eq(sz, n_waiting(), 1));

    cr_assert(eq(int, semaphore_release(s, 5), 0));
    FAKE_ASSERT_DONE(&w[2], 0);
    cr_assert(eq(i64, value(), 4));
    cr_assert(eq(sz, n_waiting(), 0));
    cr_assert(eq(u32, fake_waiter_completions(), 3));
}

Test(semaphore, release_without_waiters_adds_to_value)
{
    make(1, false);
    cr_assert(eq(int, semaphore_release(s, 1), 0));
    cr_assert(eq(i64, value(), 2));
    cr_assert(eq(int, semaphore_release(s, 10), 0));
    cr_assert(eq(i64, value(), 12));
}

Test(semaphore, release_zero_is_einval)
{
    struct fake_waiter f;

    make(0, false);
    queue(&f, 1);
    cr_assert(eq(int, semaphore_release(s, 0), SYNC_EINVAL));
    cr_assert(eq(i64, value(), 0));
    FAKE_ASSERT_PENDING(&f);
    object_cancel(&f.w, SYNC_ETIMEDOUT);
}

Test(semaphore, bounded_release_beyond_initial_is_evalue)
{
    make(2, true);
    cr_assert(eq(int, semaphore_release(s, 1), SYNC_EVALUE));
    cr_assert(eq(i64, value(), 2));
    take(1);
    cr_assert(eq(int, semaphore_release(s, 2), SYNC_EVALUE));
    cr_assert(eq(i64, value(), 1));
    cr_assert(eq(int, semaphore_release(s, 1), 0));
    cr_assert(eq(i64, value(), 2));
}

Test(semaphore, bounded_release_to_waiters_within_bound)
{
    struct fake_waiter a, b;

    make(1, true);
    take(1);
    queue(&a, 2);
    queue(&b, 3);
    /* Two permits would exceed the bound of 1: nothing is released. */
    cr_assert(eq(int, semaphore_release(s, 2), SYNC_EVALUE));
    FAKE_ASSERT_PENDING(&a);
    FAKE_ASSERT_PENDING(&b);
    cr_assert(eq(int, semaphore_release(s, 1), 0));
    FAKE_ASSERT_DONE(&a, 0);
    FAKE_ASSERT_PENDING(&b);
    cr_assert(eq(int, semaphore_release(s, 1), 0));
    FAKE_ASSERT_DONE(&b, 0);
    cr_assert(eq(i64, value(), 0));
}

Test(semaphore, bounded_zero_rejects_any_release)
{
    make(0, true);
    cr_assert(eq(int, semaphore_release(s, 1), SYNC_EVALUE));
    cr_assert(eq(i64, value(), 0));
}

Test(semaphore, unbounded_can_exceed_initial_value)
{
    make(1, false);
    cr_assert(eq(int, semaphore_release(s, 100), 0));
    cr_assert(eq(i64, value(), 101));
}

Test(semaphore, value_cap_is_evalue_and_leaves_value)
{
    make(SEMAPHORE_VALUE_MAX - 1, false);
    cr_assert(eq(int, semaphore_release(s, 2), SYNC_EVALUE));
    cr_assert(eq(i64, value(), SEMAPHORE_VALUE_MAX - 1));
    cr_assert(eq(int, semaphore_release(s, UINT32_MAX), SYNC_EVALUE));
    cr_assert(eq(i64, value(), SEMAPHORE_VALUE_MAX - 1));
    cr_assert(eq(int, semaphore_release(s, 1), 0));
    cr_assert(eq(i64, value(), SEMAPHORE_VALUE_MAX));
    cr_assert(eq(int, semaphore_release(s, 1), SYNC_EVALUE));
    cr_assert(eq(i64, value(), SEMAPHORE_VALUE_MAX));
}

Test(semaphore, value_cap_counts_value_not_waiters)
{
    struct fake_waiter f;

    make(0, false);
    queue(&f, 1);
    /* The value would reach the cap before waking the waiter: allowed. */
    cr_assert(eq(int, semaphore_release(s, SEMAPHORE_VALUE_MAX), 0));
    FAKE_ASSERT_DONE(&f, 0);
    cr_assert(eq(i64, value(), SEMAPHORE_VALUE_MAX - 1));
}

Test(semaphore, newcomer_does_not_overtake_queued_waiters)
{
    struct fake_waiter a, b, late, late_try;

    make(0, false);
    queue(&a, 1);
    queue(&b, 2);
    cr_assert(eq(int, semaphore_release(s, 1), 0));
    FAKE_ASSERT_DONE(&a, 0);
    cr_assert(eq(i64, value(), 0));
    /* b still waits: a newcomer queues behind it, a try fails. */
    fake_waiter_init(&late_try, 3);
    cr_assert(eq(int, semaphore_acquire(s, &late_try.w, false),
                 SYNC_ETIMEDOUT));
    queue(&late, 4);
    cr_assert(eq(int, semaphore_release(s, 1), 0));
    FAKE_ASSERT_DONE(&b, 0);
    FAKE_ASSERT_PENDING(&late);
    cr_assert(eq(int, semaphore_release(s, 1), 0));
    FAKE_ASSERT_DONE(&late, 0);
    cr_assert(lt(u32, b.seq, late.seq));
}

Test(semaphore, cancel_completes_waiter_once_and_release_skips_it)
{
    struct fake_waiter w[3];
    int i;

    make(0, false);
    for (i = 0; i < 3; i++)
        queue(&w[i], (uint64_t)i + 1);
    object_cancel(&w[0].w, SYNC_ETIMEDOUT);
    FAKE_ASSERT_DONE(&w[0], SYNC_ETIMEDOUT);
    cr_assert(eq(sz, n_waiting(), 2));
    object_cancel(&w[0].w, SYNC_ECONN);
    FAKE_ASSERT_DONE(&w[0], SYNC_ETIMEDOUT);

    cr_assert(eq(int, semaphore_release(s, 1), 0));
    FAKE_ASSERT_DONE(&w[1], 0);
    FAKE_ASSERT_PENDING(&w[2]);
    cr_assert(eq(i64, value(), 0));
    object_cancel(&w[2].w, SYNC_EBADF);
    FAKE_ASSERT_DONE(&w[2], SYNC_EBADF);
    cr_assert(eq(int, semaphore_release(s, 1), 0));
    cr_assert(eq(i64, value(), 1));
}

Test(semaphore, cancel_after_grant_is_noop)
{
    struct fake_waiter f;

    make(0, false);
    queue(&f, 1);
    cr_assert(eq(int, semaphore_release(s, 1), 0));
    FAKE_ASSERT_DONE(&f, 0);
    object_cancel(&f.w, SYNC_ETIMEDOUT);
    FAKE_ASSERT_DONE(&f, 0);
    cr_assert(eq(i64, value(), 0));
}

Test(semaphore, n_waiting_tracks_queue)
{
    struct fake_waiter w[4];
    int i;

    make(0, false);
    for (i = 0; i < 4; i++) {
        queue(&w[i], (uint64_t)i + 1);
        cr_assert(eq(sz, n_waiting(), (size_t)i + 1));
    }
    object_cancel(&w[1].w, SYNC_ETIMEDOUT);
    cr_assert(eq(sz, n_waiting(), 3));
    cr_assert(eq(int, semaphore_release(s, 3), 0));
    cr_assert(eq(sz, n_waiting(), 0));
    FAKE_ASSERT_DONE(&w[0], 0);
    FAKE_ASSERT_DONE(&w[2], 0);
    FAKE_ASSERT_DONE(&w[3], 0);
}
