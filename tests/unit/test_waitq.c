/* test_waitq.c: the FIFO wait queue every object keeps (daemon/waitq.c). */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <signal.h>

#include "fake_waiter.h"
#include "syncclient.h"
#include "waitq.h"

#define N 5

static struct waitq q;
static struct fake_waiter fw[N];

static void setup(void)
{
    waitq_init(&q);
    fake_waiter_init_n(fw, N, 1);
}

TestSuite(waitq, .init = setup);

static void push_all(void)
{
    int i;

    for (i = 0; i < N; i++)
        waitq_push(&q, &fw[i].w);
}

Test(waitq, new_queue_is_empty)
{
    cr_assert(waitq_empty(&q));
    cr_assert(eq(sz, waitq_len(&q), 0));
    cr_assert(eq(ptr, waitq_peek(&q), NULL));
    cr_assert(eq(ptr, waitq_pop(&q), NULL));
}

Test(waitq, pop_returns_waiters_in_fifo_order)
{
    int i;

    push_all();
    for (i = 0; i < N; i++) {
        struct waiter *w = waitq_pop(&q);

        cr_assert(eq(ptr, w, &fw[i].w), "pop %d", i);
        cr_assert(eq(ptr, (void *)w->queue, NULL));
    }
    cr_assert(waitq_empty(&q));
    cr_assert(eq(ptr, waitq_pop(&q), NULL));
}

Test(waitq, len_counts_push_pop_and_remove)
{
    push_all();
    cr_assert(eq(sz, waitq_len(&q), N));
    cr_assert(not(waitq_empty(&q)));
    waitq_pop(&q);
    cr_assert(eq(sz, waitq_len(&q), N - 1));
    waitq_remove(&fw[3].w);
    cr_assert(eq(sz, waitq_len(&q), N - 2));
    waitq_remove(&fw[3].w);
    cr_assert(eq(sz, waitq_len(&q), N - 2));
}

Test(waitq, push_sets_queue_pointer)
{
    waitq_push(&q, &fw[0].w);
    cr_assert(eq(ptr, (void *)fw[0].w.queue, &q));
}

Test(waitq, peek_returns_oldest_without_removing)
{
    push_all();
    cr_assert(eq(ptr, waitq_peek(&q), &fw[0].w));
    cr_assert(eq(ptr, waitq_peek(&q), &fw[0].w));
    cr_assert(eq(sz, waitq_len(&q), N));
    cr_assert(eq(ptr, (void *)fw[0].w.queue, &q));
}

Test(waitq, remove_from_middle_keeps_order_of_the_rest)
{
    int expect[] = {0, 1, 3, 4};
    size_t i;

    push_all();
    waitq_remove(&fw[2].w);
    cr_assert(eq(ptr, (void *)fw[2].w.queue, NULL));
    cr_assert(eq(sz, waitq_len(&q), N - 1));
    for (i = 0; i < sizeof(expect) / sizeof(expect[0]); i++)
        cr_assert(eq(ptr, waitq_pop(&q), &fw[expect[i]].w), "pop %zu", i);
    cr_assert(waitq_empty(&q));
}

Test(waitq, remove_head_and_tail)
{
    push_all();
    waitq_remove(&fw[0].w);
    waitq_remove(&fw[N - 1].w);
    cr_assert(eq(ptr, waitq_peek(&q), &fw[1].w));
    cr_assert(eq(sz, waitq_len(&q), N - 2));
    waitq_pop(&q);
    waitq_pop(&q);
    cr_assert(eq(ptr, waitq_pop(&q), &fw[3].w));
    cr_assert(waitq_empty(&q));
}

Test(waitq, remove_is_idempotent)
{
    push_all();
    waitq_remove(&fw[1].w);
    waitq_remove(&fw[1].w);
    waitq_remove(&fw[1].w);
    cr_assert(eq(sz, waitq_len(&q), N - 1));
    cr_assert(eq(ptr, waitq_pop(&q), &fw[0].w));
    cr_assert(eq(ptr, waitq_pop(&q), &fw[2].w));
}

Test(waitq, remove_of_unqueued_waiter_is_noop)
{
    waitq_remove(&fw[0].w);
    cr_assert(waitq_empty(&q));
    push_all();
    waitq_pop(&q);
    /* Already popped: removing again must not touch the queue. */
    waitq_remove(&fw[0].w);
    cr_assert(eq(sz, waitq_len(&q), N - 1));
    cr_assert(eq(ptr, waitq_peek(&q), &fw[1].w));
}

Test(waitq, removed_waiter_can_be_pushed_again_at_tail)
{
    push_all();
    waitq_remove(&fw[0].w);
    waitq_push(&q, &fw[0].w);
    cr_assert(eq(sz, waitq_len(&q), N));
    cr_assert(eq(ptr, waitq_pop(&q), &fw[1].w));
    waitq_pop(&q);
    waitq_pop(&q);
    waitq_pop(&q);
    cr_assert(eq(ptr, waitq_pop(&q), &fw[0].w));
}

Test(waitq, complete_unlinks_then_calls_completion_once)
{
    push_all();
    waitq_complete(&fw[2].w, SYNC_ETIMEDOUT);
    FAKE_ASSERT_DONE(&fw[2], SYNC_ETIMEDOUT);
    cr_assert(eq(sz, waitq_len(&q), N - 1));
    FAKE_ASSERT_PENDING(&fw[0]);
    FAKE_ASSERT_PENDING(&fw[4]);
}

Test(waitq, two_queues_are_independent)
{
    struct waitq q2;

    waitq_init(&q2);
    waitq_push(&q, &fw[0].w);
    waitq_push(&q2, &fw[1].w);
    waitq_push(&q, &fw[2].w);
    cr_assert(eq(sz, waitq_len(&q), 2));
    cr_assert(eq(sz, waitq_len(&q2), 1));
    waitq_remove(&fw[1].w);
    cr_assert(waitq_empty(&q2));
    cr_assert(eq(sz, waitq_len(&q), 2));
    cr_assert(eq(ptr, waitq_pop(&q), &fw[0].w));
    cr_assert(eq(ptr, waitq_pop(&q), &fw[2].w));
}

/*
 * The invariants are asserted in every build (CMakeLists.txt keeps
 * NDEBUG off): a waiter queued twice would break FIFO order and the
 * queue's count, so the core stops instead.
 */
Test(waitq, a_waiter_queued_twice_stops_the_core, .signal = SIGABRT)
{
    waitq_push(&q, &fw[0].w);
    waitq_push(&q, &fw[0].w);
}
