/*
 * test_object.c: what all object types share (daemon/objects/object.c):
 * the file-like access check object_may, object_root, the clock hook and
 * the type names.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "objects/lock.h"
#include "objects/object.h"
#include "syncclient.h"

enum { OWNER_UID = 1000, OWNER_GID = 100, OTHER_UID = 2000, OTHER_GID = 200 };

static struct lock *l;
static struct object *o;

static void setup(void)
{
    l = lock_new("test-object");
    cr_assert(ne(ptr, l, NULL));
    o = &l->base;
    o->uid = OWNER_UID;
    o->gid = OWNER_GID;
    o->mode = OBJECT_MODE_DEFAULT;
}

static void teardown(void)
{
    o->ops->free(o);
}

TestSuite(object, .init = setup, .fini = teardown);

static const unsigned R = OBJECT_MAY_READ, W = OBJECT_MAY_WRITE;
static const unsigned RW = OBJECT_MAY_READ | OBJECT_MAY_WRITE;

static struct object_cred cred(uint32_t uid, uint32_t gid)
{
    return (struct object_cred){.uid = uid, .gid = gid};
}

/* may(cred, want) under mode. */
static bool may(uint32_t mode, const struct object_cred *c, unsigned want)
{
    o->mode = mode;
    return object_may(o, c, want);
}

Test(object, root_may_do_everything_even_with_mode_0)
{
    struct object_cred root = cred(0, 0);
    struct object_cred root_other_gid = cred(0, OTHER_GID);

    cr_assert(eq(int, may(0, &root, RW), true));
    cr_assert(eq(int, may(0, &root, R), true));
    cr_assert(eq(int, may(0, &root, W), true));
    cr_assert(eq(int, may(0, &root_other_gid, RW), true));
    cr_assert(eq(int, may(0000, &root, RW), true));
}

Test(object, owner_bits_apply_to_owner)
{
    struct object_cred c = cred(OWNER_UID, OTHER_GID);

    cr_assert(eq(int, may(0600, &c, RW), true));
    cr_assert(eq(int, may(0400, &c, R), true));
    cr_assert(eq(int, may(0400, &c, W), false));
    cr_assert(eq(int, may(0400, &c, RW), false));
    cr_assert(eq(int, may(0200, &c, W), true));
    cr_assert(eq(int, may(0200, &c, R), false));
    cr_assert(eq(int, may(0000, &c, R), false));
}

Test(object, group_bits_apply_to_primary_group)
{
    struct object_cred c = cred(OTHER_UID, OWNER_GID);

    cr_assert(eq(int, may(0660, &c, RW), true));
    cr_assert(eq(int, may(0640, &c, R), true));
    cr_assert(eq(int, may(0640, &c, W), false));
    cr_assert(eq(int, may(0620, &c, W), true));
    cr_assert(eq(int, may(0620, &c, R), false));
    cr_assert(eq(int, may(0600, &c, R), false));
}

Test(object, other_bits_apply_to_everyone_else)
{
    struct object_cred c = cred(OTHER_UID, OTHER_GID);

    cr_assert(eq(int, may(0660, &c, R), false));
    cr_assert(eq(int, may(0660, &c, W), false));
    cr_assert(eq(int, may(0664, &c, R), true));
    cr_assert(eq(int, may(0664, &c, W), false));
    cr_assert(eq(int, may(0662, &c, W), true));
    cr_assert(eq(int, may(0666, &c, RW), true));
}

Test(object, supplementary_group_counts_as_group)
{
    const uint32_t groups[] = {7, OWNER_GID, 9};
    const uint32_t unrelated[] = {7, 8, 9};
    struct object_cred c = cred(OTHER_UID, OTHER_GID);

    c.groups = groups;
    c.n_groups = 3;
    cr_assert(eq(int, may(0660, &c, RW), true));
    cr_assert(eq(int, may(0640, &c, W), false));
    /* Only the first n_groups entries count. */
    c.n_groups = 1;
    cr_assert(eq(int, may(0660, &c, R), false));
    c.groups = unrelated;
    c.n_groups = 3;
    cr_assert(eq(int, may(0660, &c, R), false));
    cr_assert(eq(int, may(0664, &c, R), true));
}

Test(object, first_matching_class_decides_owner)
{
    struct object_cred owner = cred(OWNER_UID, OWNER_GID);
    struct object_cred other = cred(OTHER_UID, OTHER_GID);

    /* 0066: group and others may, the owner may not (as for files). */
    cr_assert(eq(int, may(0066, &owner, R), false));
    cr_assert(eq(int, may(0066, &owner, W), false));
    cr_assert(eq(int, may(0066, &other, RW), true));
}

Test(object, first_matching_class_decides_group)
{
    const uint32_t groups[] = {OWNER_GID};
    struct object_cred member = cred(OTHER_UID, OWNER_GID);
    struct object_cred supp = cred(OTHER_UID, OTHER_GID);
    struct object_cred other = cred(3000, 300);
    struct object_cred owner = cred(OWNER_UID, OWNER_GID);

    supp.groups = groups;
    supp.n_groups = 1;
    /* 0606: the owner and others may, the group may not. */
    cr_assert(eq(int, may(0606, &member, R), false));
    cr_assert(eq(int, may(0606, &supp, R), false));
    cr_assert(eq(int, may(0606, &other, RW), true));
    cr_assert(eq(int, may(0606, &owner, RW), true));
}

Test(object, want_nothing_is_always_allowed)
{
    struct object_cred c = cred(OTHER_UID, OTHER_GID);

    cr_assert(eq(int, may(0000, &c, 0), true));
}

Test(object, default_mode_is_owner_and_group_read_write)
{
    struct object_cred owner = cred(OWNER_UID, OTHER_GID);
    struct object_cred member = cred(OTHER_UID, OWNER_GID);
    struct object_cred other = cred(OTHER_UID, OTHER_GID);

    cr_assert(eq(u32, OBJECT_MODE_DEFAULT, 0660));
    cr_assert(eq(int, may(OBJECT_MODE_DEFAULT, &owner, RW), true));
    cr_assert(eq(int, may(OBJECT_MODE_DEFAULT, &member, RW), true));
    cr_assert(eq(int, may(OBJECT_MODE_DEFAULT, &other, R), false));
    cr_assert(eq(int, may(OBJECT_MODE_DEFAULT, &other, W), false));
}

Test(object, uid_0_object_is_not_special_for_others)
{
    struct object_cred c = cred(OTHER_UID, OTHER_GID);

    o->uid = 0;
    o->gid = 0;
    cr_assert(eq(int, may(0660, &c, R), false));
    cr_assert(eq(int, may(0664, &c, R), true));
}

Test(object, root_of_plain_object_is_itself)
{
    cr_assert(eq(ptr, object_root(o), o));
}

static uint64_t fake_now(void *arg)
{
    return *(uint64_t *)arg;
}

Test(object, environment_clock_stamps_lock_grants)
{
    struct waiter w = {.owner = 1};
    uint64_t now = 777;
    struct object_env env = {.clock = fake_now, .clock_arg = &now};

    cr_assert(eq(u64, object_now(&l->base), 0), "no clock without an env");
    l->base.env = &env;
    cr_assert(eq(u64, object_now(&l->base), 777));
    cr_assert(eq(int, lock_acquire(l, &w, false), 0));
    cr_assert(eq(u64, l->held_since, 777));
    cr_assert(eq(int, lock_release(l, 1), 0));
    l->base.env = NULL;
}

Test(object, type_names)
{
    cr_assert(eq(str, (char *)object_type_name(OBJECT_LOCK), "lock"));
    cr_assert(eq(str, (char *)object_type_name(OBJECT_RLOCK), "rlock"));
    cr_assert(eq(str, (char *)object_type_name(OBJECT_CONDITION), "condition"));
    cr_assert(eq(str, (char *)object_type_name(OBJECT_BARRIER), "barrier"));
    cr_assert(
        eq(str, (char *)object_type_name((enum object_type)99), "unknown"));
}
