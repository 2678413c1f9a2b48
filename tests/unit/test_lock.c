/* test_lock.c: the Lock state machine (daemon/objects/lock.c). */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "fake_waiter.h"
#include "objects/lock.h"
#include "syncclient.h"

/* Owner ids: A holds first, B, C, D queue behind it. */
enum { A = 1, B = 2, C = 3, D = 4 };

static struct lock *l;

static void setup(void)
{
    l = lock_new("test-lock");
    cr_assert(ne(ptr, l, NULL));
}

static void teardown(void)
{
    TEST_FINI_CHECK(l->base.ops->n_waiting(&l->base) == 0,
                    "test left waiters queued");
    l->base.ops->free(&l->base);
}

TestSuite(lock, .init = setup, .fini = teardown);

static int64_t query(void)
{
    return l->base.ops->query(&l->base);
}

static size_t n_waiting(void)
{
    return l->base.ops->n_waiting(&l->base);
}

/* Acquire for a fresh waiter of owner that must be granted at once. */
static uint64_t grab(struct fake_waiter *f, uint64_t owner)
{
    fake_waiter_init(f, owner);
    cr_assert(eq(int, lock_acquire(l, &f->w, true), 0));
    return f->w.token;
}

static void queue(struct fake_waiter *f, uint64_t owner)
{
    fake_waiter_init(f, owner);
    cr_assert(eq(int, lock_acquire(l, &f->w, true), SYNCD_PENDING));
    FAKE_ASSERT_PENDING(f);
}

Test(lock, new_lock_is_free_and_named)
{
    cr_assert(eq(str, l->base.name, "test-lock"));
    cr_assert(eq(int, l->base.type, OBJECT_LOCK));
    cr_assert(eq(u32, l->base.param, 0));
    cr_assert(eq(i64, query(), 0));
    cr_assert(eq(sz, n_waiting(), 0));
}

Test(lock, acquire_free_lock_grants_token_1)
{
    struct fake_waiter a;

    fake_waiter_init(&a, A);
    cr_assert(eq(int, lock_acquire(l, &a.w, true), 0));
    cr_assert(eq(u64, a.w.token, 1));
    cr_assert(eq(int, a.w.owner_died, false));
    cr_assert(eq(i64, query(), 1));
    cr_assert(eq(u64, l->holder, A));
    /* Granted at once: no completion, not queued. */
    FAKE_ASSERT_UNTOUCHED(&a);
}

Test(lock, tokens_strictly_increase_per_acquisition)
{
    struct fake_waiter f;
    uint64_t prev = 0, tok;
    int i;

    for (i = 0; i < 10; i++) {
        tok = grab(&f, (uint64_t)(A + i % 3));
        cr_assert(eq(u64, tok, prev + 1));
        prev = tok;
        cr_assert(eq(int, lock_release(l, (uint64_t)(A + i % 3)), 0));
    }
}

Test(lock, second_owner_queues_when_may_wait)
{
    struct fake_waiter a, b;

    grab(&a, A);
    queue(&b, B);
    cr_assert(eq(sz, n_waiting(), 1));
    cr_assert(eq(ptr, b.w.obj, &l->base));
    cr_assert(eq(i64, query(), 1));
    cr_assert(eq(u64, l->holder, A));
    object_cancel(&b.w, SYNC_ETIMEDOUT);
}

Test(lock, try_acquire_of_held_lock_times_out_without_queueing)
{
    struct fake_waiter a, b;

    grab(&a, A);
    fake_waiter_init(&b, B);
    cr_assert(eq(int, lock_acquire(l, &b.w, false), SYNC_ETIMEDOUT));
    FAKE_ASSERT_UNTOUCHED(&b);
    cr_assert(eq(sz, n_waiting(), 0));
    cr_assert(eq(u64, l->holder, A));
}

Test(lock, another_thread_of_the_holder_queues_like_anyone)
{
    struct fake_waiter a1, a2;

    /* A Lock is owned by the client: its second thread waits too. */
    fake_waiter_init(&a1, A);
    a1.w.thread = 1;
    cr_assert(eq(int, lock_acquire(l, &a1.w, true), 0));
    fake_waiter_init(&a2, A);
    a2.w.thread = 2;
    cr_assert(eq(int, lock_acquire(l, &a2.w, true), SYNCD_PENDING));
    cr_assert(eq(int, lock_release(l, A), 0));
    FAKE_ASSERT_DONE(&a2, 0);
    cr_assert(eq(u64, a2.token, 2));
    cr_assert(eq(int, lock_release(l, A), 0));
}

Test(lock, release_of_free_lock_is_eperm)
{
    cr_assert(eq(int, lock_release(l, A), SYNC_EPERM));
    cr_assert(eq(i64, query(), 0));
}

Test(lock, release_by_non_holder_is_eperm_and_keeps_lock)
{
    struct fake_waiter a, c;

    grab(&a, A);
    queue(&c, C);
    cr_assert(eq(int, lock_release(l, B), SYNC_EPERM));
    cr_assert(eq(int, lock_release(l, C), SYNC_EPERM));
    cr_assert(eq(i64, query(), 1));
    cr_assert(eq(u64, l->holder, A));
    FAKE_ASSERT_PENDING(&c);
    cr_assert(eq(int, lock_release(l, A), 0));
    FAKE_ASSERT_DONE(&c, 0);
    cr_assert(eq(int, lock_release(l, C), 0));
}

Test(lock, release_without_waiters_frees_lock)
{
    struct fake_waiter a;

    grab(&a, A);
    cr_assert(eq(int, lock_release(l, A), 0));
    cr_assert(eq(i64, query(), 0));
    cr_assert(eq(int, lock_release(l, A), SYNC_EPERM));
}

Test(lock, release_hands_off_to_oldest_waiter)
{
    struct fake_waiter a, w[3];
    int i;

    grab(&a, A);
    for (i = 0; i < 3; i++)
        queue(&w[i], (uint64_t)(B + i));
    cr_assert(eq(sz, n_waiting(), 3));

    cr_assert(eq(int, lock_release(l, A), 0));
    FAKE_ASSERT_DONE(&w[0], 0);
    cr_assert(eq(u64, w[0].token, 2));
    cr_assert(eq(int, w[0].owner_died, false));
    cr_assert(eq(u64, l->holder, B));
    cr_assert(eq(i64, query(), 1), "lock must not be free while waited on");
    FAKE_ASSERT_PENDING(&w[1]);
    FAKE_ASSERT_PENDING(&w[2]);

    cr_assert(eq(int, lock_release(l, B), 0));
    FAKE_ASSERT_DONE(&w[1], 0);
    cr_assert(eq(u64, w[1].token, 3));
    cr_assert(eq(u64, l->holder, C));
    FAKE_ASSERT_PENDING(&w[2]);

    cr_assert(eq(int, lock_release(l, C), 0));
    FAKE_ASSERT_DONE(&w[2], 0);
    cr_assert(eq(u64, w[2].token, 4));
    cr_assert(eq(u64, l->holder, D));
    cr_assert(lt(u32, w[0].seq, w[1].seq));
    cr_assert(lt(u32, w[1].seq, w[2].seq));

    cr_assert(eq(int, lock_release(l, D), 0));
    cr_assert(eq(i64, query(), 0));
    cr_assert(eq(u32, fake_waiter_completions(), 3));
}

Test(lock, newcomer_does_not_barge_after_hand_off)
{
    struct fake_waiter a, b, c;

    grab(&a, A);
    queue(&b, B);
    cr_assert(eq(int, lock_release(l, A), 0));
    FAKE_ASSERT_DONE(&b, 0);
    fake_waiter_init(&c, C);
    cr_assert(eq(int, lock_acquire(l, &c.w, false), SYNC_ETIMEDOUT));
    cr_assert(eq(int, lock_release(l, B), 0));
}

Test(lock, cancel_completes_queued_waiter_once_and_removes_it)
{
    struct fake_waiter a, b;

    grab(&a, A);
    queue(&b, B);
    object_cancel(&b.w, SYNC_ETIMEDOUT);
    FAKE_ASSERT_DONE(&b, SYNC_ETIMEDOUT);
    cr_assert(eq(sz, n_waiting(), 0));
    /* Idempotent: a second cancel (another code) must not complete again. */
    object_cancel(&b.w, SYNC_ECONN);
    FAKE_ASSERT_DONE(&b, SYNC_ETIMEDOUT);
    cr_assert(eq(u64, l->holder, A));
}

Test(lock, release_skips_cancelled_waiter)
{
    struct fake_waiter a, w[3];
    int i;

    grab(&a, A);
    for (i = 0; i < 3; i++)
        queue(&w[i], (uint64_t)(B + i));
    object_cancel(&w[1].w, SYNC_ETIMEDOUT);
    FAKE_ASSERT_DONE(&w[1], SYNC_ETIMEDOUT);
    cr_assert(eq(sz, n_waiting(), 2));

    cr_assert(eq(int, lock_release(l, A), 0));
    FAKE_ASSERT_DONE(&w[0], 0);
    cr_assert(eq(int, lock_release(l, B), 0));
    FAKE_ASSERT_DONE(&w[2], 0);
    cr_assert(eq(u64, l->holder, D));
    cr_assert(eq(u64, w[2].token, 3));
    /* The cancelled waiter was completed once only, with its own code. */
    FAKE_ASSERT_DONE(&w[1], SYNC_ETIMEDOUT);
    cr_assert(eq(int, lock_release(l, D), 0));
}

Test(lock, cancel_of_only_waiter_then_release_frees_lock)
{
    struct fake_waiter a, b;

    grab(&a, A);
    queue(&b, B);
    object_cancel(&b.w, SYNC_ECONN);
    cr_assert(eq(int, lock_release(l, A), 0));
    cr_assert(eq(i64, query(), 0));
    FAKE_ASSERT_DONE(&b, SYNC_ECONN);
}

Test(lock, cancel_after_grant_is_noop)
{
    struct fake_waiter a, b;

    grab(&a, A);
    queue(&b, B);
    cr_assert(eq(int, lock_release(l, A), 0));
    FAKE_ASSERT_DONE(&b, 0);
    object_cancel(&b.w, SYNC_ETIMEDOUT);
    FAKE_ASSERT_DONE(&b, 0);
    cr_assert(eq(u64, l->holder, B));
    cr_assert(eq(i64, query(), 1));
    /* Also for a waiter granted at once, which was never queued. */
    object_cancel(&a.w, SYNC_ETIMEDOUT);
    FAKE_ASSERT_UNTOUCHED(&a);
    cr_assert(eq(int, lock_release(l, B), 0));
}

Test(lock, drop_owner_hands_off_with_owner_died)
{
    struct fake_waiter a, b, c;

    grab(&a, A);
    queue(&b, B);
    queue(&c, C);
    cr_assert(eq(int, object_drop_owner(&l->base, A), true));
    FAKE_ASSERT_DONE(&b, 0);
    cr_assert(eq(int, b.owner_died, true));
    cr_assert(eq(u64, b.token, 2));
    cr_assert(eq(u64, l->holder, B));
    FAKE_ASSERT_PENDING(&c);

    /* The flag is spent: the next holder is not told again. */
    cr_assert(eq(int, lock_release(l, B), 0));
    FAKE_ASSERT_DONE(&c, 0);
    cr_assert(eq(int, c.owner_died, false));
    cr_assert(eq(u64, c.token, 3));
    cr_assert(eq(int, lock_release(l, C), 0));
}

Test(lock, drop_owner_without_waiter_tells_next_acquire_once)
{
    struct fake_waiter a, b, c;

    grab(&a, A);
    cr_assert(eq(int, object_drop_owner(&l->base, A), true));
    cr_assert(eq(i64, query(), 0));
    cr_assert(eq(int, lock_release(l, A), SYNC_EPERM));

    cr_assert(eq(u64, grab(&b, B), 2));
    cr_assert(eq(int, b.w.owner_died, true));
    cr_assert(eq(int, lock_release(l, B), 0));

    grab(&c, C);
    cr_assert(eq(int, c.w.owner_died, false));
    cr_assert(eq(int, lock_release(l, C), 0));
}

Test(lock, clean_release_after_death_clears_owner_died)
{
    struct fake_waiter a, b, c;

    grab(&a, A);
    object_drop_owner(&l->base, A);
    grab(&b, B);
    cr_assert(eq(int, b.w.owner_died, true));
    queue(&c, C);
    cr_assert(eq(int, lock_release(l, B), 0));
    FAKE_ASSERT_DONE(&c, 0);
    cr_assert(eq(int, c.owner_died, false));
    cr_assert(eq(int, lock_release(l, C), 0));
}

Test(lock, drop_owner_by_non_holder_does_nothing)
{
    struct fake_waiter a, b, c;

    /* Free lock: nothing to drop, and no death recorded. */
    cr_assert(eq(int, object_drop_owner(&l->base, B), false));
    grab(&a, A);
    cr_assert(eq(int, a.w.owner_died, false));

    queue(&b, B);
    cr_assert(eq(int, object_drop_owner(&l->base, B), false));
    cr_assert(eq(int, object_drop_owner(&l->base, C), false));
    cr_assert(eq(u64, l->holder, A));
    cr_assert(eq(i64, query(), 1));
    FAKE_ASSERT_PENDING(&b);

    cr_assert(eq(int, lock_release(l, A), 0));
    FAKE_ASSERT_DONE(&b, 0);
    cr_assert(eq(int, b.owner_died, false));
    cr_assert(eq(int, lock_release(l, B), 0));
    grab(&c, C);
    cr_assert(eq(int, c.w.owner_died, false));
    cr_assert(eq(int, lock_release(l, C), 0));
}

Test(lock, drop_owner_twice_releases_once)
{
    struct fake_waiter a;

    grab(&a, A);
    cr_assert(eq(int, object_drop_owner(&l->base, A), true));
    cr_assert(eq(int, object_drop_owner(&l->base, A), false));
}

Test(lock, query_and_n_waiting_track_state)
{
    struct fake_waiter a, w[3];
    int i;

    cr_assert(eq(i64, query(), 0));
    grab(&a, A);
    for (i = 0; i < 3; i++) {
        queue(&w[i], (uint64_t)(B + i));
        cr_assert(eq(sz, n_waiting(), (size_t)i + 1));
    }
    cr_assert(eq(i64, query(), 1));
    object_cancel(&w[2].w, SYNC_ETIMEDOUT);
    cr_assert(eq(sz, n_waiting(), 2));
    lock_release(l, A);
    cr_assert(eq(sz, n_waiting(), 1));
    lock_release(l, B);
    cr_assert(eq(sz, n_waiting(), 0));
    cr_assert(eq(i64, query(), 1));
    lock_release(l, C);
    cr_assert(eq(i64, query(), 0));
}

/* ---- lock caching: lend / return (the server layer's page is not here) */

/* A takes l `n` times in a row (acquire + release), then once more and
 * keeps it. */
static uint64_t retake(uint64_t owner, int n)
{
    struct fake_waiter f;
    uint64_t t = 0;

    for (int i = 0; i < n; i++) {
        t = grab(&f, owner);
        if (i + 1 < n)
            cr_assert(eq(int, lock_release(l, owner), 0));
    }
    return t;
}

Test(lock, lent_only_after_a_retake_with_nobody_waiting)
{
    struct fake_waiter b;

    retake(A, 1);
    cr_assert(not(lock_may_lend(l, 255)));
    cr_assert(eq(int, lock_release(l, A), 0));
    retake(A, 1);
    cr_assert(lock_may_lend(l, 255));
    queue(&b, B);
    cr_assert(not(lock_may_lend(l, 255)));
    cr_assert(eq(int, lock_release(l, A), 0));
    FAKE_ASSERT_DONE(&b, 0);
    cr_assert(not(lock_may_lend(l, 255)));
    cr_assert(eq(int, lock_release(l, B), 0));
}

Test(lock, a_lending_returned_free_keeps_the_tokens_used)
{
    struct fake_waiter b;
    uint64_t t = retake(A, 2);

    cr_assert(eq(u64, lock_lend(l, 7, 100), 100));
    cr_assert(eq(u64, l->lent_to, A));
    cr_assert(eq(u32, l->lent_slot, 7));
    lock_return(l, false, 0, 0, t + 9, 9);
    cr_assert(eq(u64, l->lent_to, 0));
    cr_assert(eq(i64, query(), 0));
    /* Returned free: the next holder is not told owner-died, and its
     * token comes after every token the borrower used. */
    cr_assert(eq(u64, grab(&b, B), t + 10));
    cr_assert(eq(int, b.w.owner_died, 0));
    cr_assert(eq(int, lock_release(l, B), 0));
}

Test(lock, a_lending_returned_held_stays_held_by_that_thread)
{
    struct fake_waiter b;
    uint64_t t = retake(A, 2);

    (void)lock_lend(l, 1, 100);
    lock_return(l, true, 42, 3, t + 2, 2);
    cr_assert(eq(i64, query(), 1));
    cr_assert(eq(u64, l->holder, A));
    cr_assert(eq(u64, l->holder_thread, 42));
    /* A Lock is held once, whatever depth the client's word claims (the
     * fuzzer found a Lock "held at depth 58"). */
    cr_assert(eq(u32, l->depth, 1));
    cr_assert(eq(u64, l->holder_token, t + 2));
    queue(&b, B);
    cr_assert(eq(int, lock_release(l, A), 0));
    FAKE_ASSERT_DONE(&b, 0);
    cr_assert(eq(u64, b.w.token, t + 3));
    cr_assert(eq(int, lock_release(l, B), 0));
}

Test(lock, tokens_never_go_back_on_a_return)
{
    uint64_t t = retake(A, 2);

    (void)lock_lend(l, 1, 100);
    lock_return(l, false, 0, 0, 0, 0); /* a lying word: off 0 */
    cr_assert(eq(u64, l->tokens, t));
}

Test(lock, a_lending_cut_short_doubles_the_retakes_needed)
{
    (void)retake(A, 2);
    (void)lock_lend(l, 1, 100);
    lock_return(l, false, 0, 0, l->tokens + 1, 1);
    cr_assert(eq(u32, l->lend_after, 4));
    (void)retake(A, 3);
    cr_assert(not(lock_may_lend(l, 255)));
    cr_assert(eq(int, lock_release(l, A), 0));
    (void)retake(A, 1);
    cr_assert(lock_may_lend(l, 255));
    /* A lending that served well brings it back to two. */
    (void)lock_lend(l, 1, 100);
    lock_return(l, false, 0, 0, l->tokens + LOCK_LEND_USEFUL,
                LOCK_LEND_USEFUL);
    cr_assert(eq(u32, l->lend_after, LOCK_LEND_MIN));
}
