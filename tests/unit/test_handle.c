/* test_handle.c: the per-session handle table (daemon/handle.c). */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "handle.h"
#include "syncclient.h"

/*
 * The table only borrows object pointers; handle_refers() looks at their
 * ops (object_root), so each stand-in has an ops table with no hooks.
 */
static const struct object_ops no_ops;
static struct object objs[32];
static struct handle_table t;

static void setup(void)
{
    size_t i;

    for (i = 0; i < sizeof(objs) / sizeof(objs[0]); i++) {
        objs[i].type = OBJECT_EVENT;
        objs[i].ops = &no_ops;
    }
}

static void teardown(void)
{
    handle_table_fini(&t);
}

TestSuite(handle, .init = setup, .fini = teardown);

static uint32_t add(struct object *o)
{
    uint32_t id = 0;

    cr_assert(eq(int, handle_add(&t, o, 0, &id), 0));
    return id;
}

Test(handle, ids_start_at_1_and_count_up)
{
    handle_table_init(&t, 16);
    cr_assert(eq(u32, add(&objs[0]), 1));
    cr_assert(eq(u32, add(&objs[1]), 2));
    cr_assert(eq(u32, add(&objs[2]), 3));
    cr_assert(eq(u32, t.used, 3));
}

Test(handle, find_returns_object_and_flags)
{
    uint32_t id = 0;
    struct handle *h;

    handle_table_init(&t, 16);
    add(&objs[0]);
    cr_assert(eq(int, handle_add(&t, &objs[1], HANDLE_FLAG_UNDO, &id), 0));
    cr_assert(eq(u32, id, 2));
    h = handle_find(&t, 2);
    cr_assert(ne(ptr, h, NULL));
    cr_assert(eq(ptr, h->obj, &objs[1]));
    cr_assert(eq(u32, h->flags, HANDLE_FLAG_UNDO));
    cr_assert(eq(u32, h->undo, 0));
    h = handle_find(&t, 1);
    cr_assert(eq(ptr, h->obj, &objs[0]));
    cr_assert(eq(u32, h->flags, 0));
}

Test(handle, find_of_zero_or_unknown_is_null)
{
    handle_table_init(&t, 16);
    cr_assert(eq(ptr, handle_find(&t, 0), NULL));
    cr_assert(eq(ptr, handle_find(&t, 1), NULL));
    add(&objs[0]);
    add(&objs[1]);
    cr_assert(eq(ptr, handle_find(&t, 0), NULL));
    /* Inside the allocated slots but never used. */
    cr_assert(eq(ptr, handle_find(&t, 3), NULL));
    cr_assert(eq(ptr, handle_find(&t, t.cap), NULL));
    /* Beyond the array. */
    cr_assert(eq(ptr, handle_find(&t, t.cap + 1), NULL));
    cr_assert(eq(ptr, handle_find(&t, UINT32_MAX), NULL));
}

Test(handle, find_of_removed_id_is_null)
{
    handle_table_init(&t, 16);
    add(&objs[0]);
    cr_assert(eq(ptr, handle_remove(&t, 1), &objs[0]));
    cr_assert(eq(ptr, handle_find(&t, 1), NULL));
    cr_assert(eq(u32, t.used, 0));
}

Test(handle, reuses_lowest_freed_id)
{
    int i;

    handle_table_init(&t, 16);
    for (i = 0; i < 5; i++)
        add(&objs[i]);
    cr_assert(eq(ptr, handle_remove(&t, 4), &objs[3]));
    cr_assert(eq(ptr, handle_remove(&t, 2), &objs[1]));
    cr_assert(eq(u32, add(&objs[10]), 2));
    cr_assert(eq(u32, add(&objs[11]), 4));
    cr_assert(eq(u32, add(&objs[12]), 6));
    cr_assert(eq(ptr, handle_find(&t, 2)->obj, &objs[10]));
    cr_assert(eq(ptr, handle_find(&t, 4)->obj, &objs[11]));
}

Test(handle, reused_slot_has_fresh_flags_and_undo)
{
    uint32_t id = 0;

    handle_table_init(&t, 16);
    cr_assert(eq(int, handle_add(&t, &objs[0], HANDLE_FLAG_UNDO, &id), 0));
    handle_find(&t, id)->undo = 7;
    handle_remove(&t, id);
    cr_assert(eq(u32, add(&objs[1]), 1));
    cr_assert(eq(u32, handle_find(&t, 1)->flags, 0));
    cr_assert(eq(u32, handle_find(&t, 1)->undo, 0));
}

Test(handle, max_handles_is_elimit)
{
    uint32_t id = 99;

    handle_table_init(&t, 3);
    add(&objs[0]);
    add(&objs[1]);
    add(&objs[2]);
    cr_assert(eq(int, handle_add(&t, &objs[3], 0, &id), SYNC_ELIMIT));
    cr_assert(eq(u32, id, 99), "id written on failure");
    cr_assert(eq(u32, t.used, 3));
    cr_assert(le(u32, t.cap, 3), "table grew beyond max");
    /* Closing one makes room again, under the freed id. */
    handle_remove(&t, 2);
    cr_assert(eq(u32, add(&objs[3]), 2));
    cr_assert(eq(int, handle_add(&t, &objs[4], 0, &id), SYNC_ELIMIT));
}

Test(handle, max_zero_refuses_every_handle)
{
    uint32_t id = 99;

    handle_table_init(&t, 0);
    cr_assert(eq(int, handle_add(&t, &objs[0], 0, &id), SYNC_ELIMIT));
    cr_assert(eq(u32, id, 99));
}

Test(handle, grows_past_initial_capacity_up_to_max)
{
    uint32_t i, id;

    handle_table_init(&t, 20);
    for (i = 0; i < 20; i++) {
        id = add(&objs[i]);
        cr_assert(eq(u32, id, i + 1));
    }
    cr_assert(eq(u32, t.cap, 20), "capacity is clamped to max");
    for (i = 0; i < 20; i++)
        cr_assert(eq(ptr, handle_find(&t, i + 1)->obj, &objs[i]));
    cr_assert(eq(int, handle_add(&t, &objs[20], 0, &id), SYNC_ELIMIT));
}

Test(handle, remove_of_unknown_id_returns_null)
{
    handle_table_init(&t, 16);
    cr_assert(eq(ptr, handle_remove(&t, 1), NULL));
    add(&objs[0]);
    cr_assert(eq(ptr, handle_remove(&t, 0), NULL));
    cr_assert(eq(ptr, handle_remove(&t, 5), NULL));
    cr_assert(eq(ptr, handle_remove(&t, UINT32_MAX), NULL));
    cr_assert(eq(u32, t.used, 1));
    cr_assert(eq(ptr, handle_remove(&t, 1), &objs[0]));
    cr_assert(eq(ptr, handle_remove(&t, 1), NULL));
    cr_assert(eq(u32, t.used, 0));
}

Test(handle, refers_finds_other_handles_to_same_object)
{
    handle_table_init(&t, 16);
    add(&objs[0]);           /* 1 */
    add(&objs[1]);           /* 2 */
    add(&objs[0]);           /* 3 */
    cr_assert(eq(int, handle_refers(&t, &objs[0], 0), 1));
    cr_assert(eq(int, handle_refers(&t, &objs[0], 1), 1));
    cr_assert(eq(int, handle_refers(&t, &objs[0], 3), 1));
    cr_assert(eq(int, handle_refers(&t, &objs[1], 2), 0));
    cr_assert(eq(int, handle_refers(&t, &objs[1], 0), 1));
    cr_assert(eq(int, handle_refers(&t, &objs[5], 0), 0));
    handle_remove(&t, 3);
    cr_assert(eq(int, handle_refers(&t, &objs[0], 1), 0));
    cr_assert(eq(int, handle_refers(&t, &objs[0], 0), 1));
    handle_remove(&t, 1);
    cr_assert(eq(int, handle_refers(&t, &objs[0], 0), 0));
}

Test(handle, refers_on_empty_table_is_false)
{
    handle_table_init(&t, 16);
    cr_assert(eq(int, handle_refers(&t, &objs[0], 0), 0));
}

Test(handle, end_bounds_every_used_id)
{
    uint32_t id, seen = 0;
    int i;

    handle_table_init(&t, 64);
    cr_assert(eq(u32, handle_end(&t), 1), "empty table iterates nothing");
    for (i = 0; i < 12; i++)
        add(&objs[i]);
    handle_remove(&t, 5);
    cr_assert(gt(u32, handle_end(&t), 12));
    for (id = 1; id < handle_end(&t); id++)
        if (handle_find(&t, id) != NULL)
            seen++;
    cr_assert(eq(u32, seen, 11));
}

Test(handle, fini_resets_table)
{
    handle_table_init(&t, 16);
    add(&objs[0]);
    handle_table_fini(&t);
    cr_assert(eq(ptr, t.slots, NULL));
    cr_assert(eq(u32, t.cap, 0));
    cr_assert(eq(u32, t.used, 0));
    cr_assert(eq(ptr, handle_find(&t, 1), NULL));
}
