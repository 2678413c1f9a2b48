/* test_event.c: the Event state machine (daemon/objects/event.c). */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "fake_waiter.h"
#include "objects/event.h"
#include "syncclient.h"

static struct event *e;

static void setup(void)
{
    e = event_new("test-event");
    cr_assert(ne(ptr, e, NULL));
}

static void teardown(void)
{
    TEST_FINI_CHECK(e->base.ops->n_waiting(&e->base) == 0,
                    "test left waiters queued");
    e->base.ops->free(&e->base);
}

TestSuite(event, .init = setup, .fini = teardown);

static int64_t is_set(void)
{
    return e->base.ops->query(&e->base);
}

static size_t n_waiting(void)
{
    return e->base.ops->n_waiting(&e->base);
}

static void queue(struct fake_waiter *f, uint64_t owner)
{
    fake_waiter_init(f, owner);
    cr_assert(eq(int, event_wait(e, &f->w, true), SYNCD_PENDING));
    FAKE_ASSERT_PENDING(f);
}

Test(event, new_event_is_clear)
{
    cr_assert(eq(int, e->base.type, OBJECT_EVENT));
    cr_assert(eq(str, e->base.name, "test-event"));
    cr_assert(eq(u32, e->base.param, 0));
    cr_assert(eq(i64, is_set(), 0));
    cr_assert(eq(sz, n_waiting(), 0));
    cr_assert(eq(ptr, (void *)e->base.ops->drop_owner, NULL));
}

Test(event, wait_on_set_event_returns_at_once)
{
    struct fake_waiter f;

    event_set(e);
    fake_waiter_init(&f, 1);
    cr_assert(eq(int, event_wait(e, &f.w, true), 0));
    FAKE_ASSERT_UNTOUCHED(&f);
    fake_waiter_init(&f, 2);
    cr_assert(eq(int, event_wait(e, &f.w, false), 0));
    FAKE_ASSERT_UNTOUCHED(&f);
    cr_assert(eq(sz, n_waiting(), 0));
}

Test(event, wait_on_clear_event_queues)
{
    struct fake_waiter f;

    queue(&f, 1);
    cr_assert(eq(sz, n_waiting(), 1));
    cr_assert(eq(ptr, f.w.obj, &e->base));
    cr_assert(eq(i64, is_set(), 0));
    object_cancel(&f.w, SYNC_ETIMEDOUT);
}

Test(event, nonblocking_wait_on_clear_times_out)
{
    struct fake_waiter f;

    fake_waiter_init(&f, 1);
    cr_assert(eq(int, event_wait(e, &f.w, false), SYNC_ETIMEDOUT));
    FAKE_ASSERT_UNTOUCHED(&f);
    cr_assert(eq(sz, n_waiting(), 0));
}

Test(event, set_completes_all_waiters_and_stays_set)
{
    struct fake_waiter w[4];
    int i;

    for (i = 0; i < 4; i++)
        queue(&w[i], (uint64_t)i + 1);
    cr_assert(eq(sz, n_waiting(), 4));
    event_set(e);
    for (i = 0; i < 4; i++)
        FAKE_ASSERT_DONE(&w[i], 0);
    for (i = 1; i < 4; i++)
        cr_assert(lt(u32, w[i - 1].seq, w[i].seq), "FIFO wake %d", i);
    cr_assert(eq(sz, n_waiting(), 0));
    cr_assert(eq(i64, is_set(), 1));
    cr_assert(eq(u32, fake_waiter_completions(), 4));
}

Test(event, set_twice_is_harmless)
{
    struct fake_waiter f;

    queue(&f, 1);
    event_set(e);
    event_set(e);
    FAKE_ASSERT_DONE(&f, 0);
    cr_assert(eq(i64, is_set(), 1));
}

Test(event, clear_then_wait_queues_again)
{
    struct fake_waiter a, b;

    queue(&a, 1);
    event_set(e);
    FAKE_ASSERT_DONE(&a, 0);
    event_clear(e);
    cr_assert(eq(i64, is_set(), 0));
    queue(&b, 2);
    cr_assert(eq(sz, n_waiting(), 1));
    event_set(e);
    FAKE_ASSERT_DONE(&b, 0);
    /* a was completed by the first set only. */
    FAKE_ASSERT_DONE(&a, 0);
    cr_assert(lt(u32, a.seq, b.seq));
}

Test(event, clear_does_not_complete_waiters)
{
    struct fake_waiter f;

    queue(&f, 1);
    event_clear(e);
    FAKE_ASSERT_PENDING(&f);
    cr_assert(eq(i64, is_set(), 0));
    event_set(e);
    FAKE_ASSERT_DONE(&f, 0);
}

Test(event, cancel_one_of_several)
{
    struct fake_waiter w[3];
    int i;

    for (i = 0; i < 3; i++)
        queue(&w[i], (uint64_t)i + 1);
    object_cancel(&w[1].w, SYNC_ETIMEDOUT);
    FAKE_ASSERT_DONE(&w[1], SYNC_ETIMEDOUT);
    FAKE_ASSERT_PENDING(&w[0]);
    FAKE_ASSERT_PENDING(&w[2]);
    cr_assert(eq(sz, n_waiting(), 2));

    event_set(e);
    FAKE_ASSERT_DONE(&w[0], 0);
    FAKE_ASSERT_DONE(&w[2], 0);
    /* Not completed a second time by set. */
    FAKE_ASSERT_DONE(&w[1], SYNC_ETIMEDOUT);
    cr_assert(eq(u32, fake_waiter_completions(), 3));
}

Test(event, cancel_after_set_is_noop)
{
    struct fake_waiter f;

    queue(&f, 1);
    event_set(e);
    object_cancel(&f.w, SYNC_ETIMEDOUT);
    FAKE_ASSERT_DONE(&f, 0);
}

Test(event, query_follows_set_and_clear)
{
    cr_assert(eq(i64, is_set(), 0));
    event_set(e);
    cr_assert(eq(i64, is_set(), 1));
    event_clear(e);
    cr_assert(eq(i64, is_set(), 0));
    event_clear(e);
    cr_assert(eq(i64, is_set(), 0));
}
