/*
 * test_registry.c: the name -> object map (daemon/registry.c): create on
 * first open, type and parameter checks, the object limit, name validation
 * and unlink/refcount lifetimes.  Run under ASan, every test is leak-free.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <string.h>
#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/lsan_interface.h>
#endif

#include "fake_waiter.h"
#include "objects/lock.h"
#include "objects/semaphore.h"
#include "registry.h"
#include "syncclient.h"

static struct registry r;

static void setup(void)
{
    registry_init(&r, 100, SYNC_NAME_MAX);
}

/*
 * Tests release every reference they take, so fini frees everything; with
 * ASan, a leak check here ties any leak to the test that caused it.
 */
static void teardown(void)
{
    registry_fini(&r);
    TEST_FINI_CHECK(r.count == 0, "objects left after registry_fini");
#ifdef __SANITIZE_ADDRESS__
    TEST_FINI_CHECK(__lsan_do_recoverable_leak_check() == 0, "memory leaked");
#endif
}

TestSuite(registry, .init = setup, .fini = teardown);

static const struct object_spec lock_spec = {.type = OBJECT_LOCK};
static const struct object_spec event_spec = {.type = OBJECT_EVENT};

static struct object_spec sem_spec(uint32_t value, bool bounded)
{
    return (struct object_spec){
        .type = bounded ? OBJECT_BOUNDED_SEMAPHORE : OBJECT_SEMAPHORE,
        .value = value,
    };
}

/* Open that must succeed with the given created flag. */
static struct object *open_ok(const char *name,
                              const struct object_spec *spec, bool created)
{
    struct object *o = NULL;
    bool c = !created;

    cr_assert(eq(int, registry_open(&r, name, spec, &o, &c), 0), "%s", name);
    cr_assert(ne(ptr, o, NULL));
    cr_assert(eq(int, c, created), "%s: created", name);
    return o;
}

/* Open that must fail with code, leaving *out NULL and created false. */
static void open_fails(const char *name, const struct object_spec *spec,
                       int code)
{
    struct object *o = (struct object *)&r;
    bool c = true;

    cr_assert(eq(int, registry_open(&r, name, spec, &o, &c), code), "%s",
              name);
    cr_assert(eq(ptr, o, NULL));
    cr_assert(eq(int, c, false));
}

static int check(const char *name, size_t len)
{
    return registry_check_name(&r, name, len);
}

/* ---- open ---------------------------------------------------------------- */

Test(registry, first_open_creates_linked_object)
{
    struct object *o = open_ok("a", &lock_spec, true);

    cr_assert(eq(int, o->type, OBJECT_LOCK));
    cr_assert(eq(str, o->name, "a"));
    cr_assert(eq(u32, o->refs, 1));
    cr_assert(eq(int, o->linked, true));
    cr_assert(eq(u32, r.count, 1));
    cr_assert(eq(ptr, registry_lookup(&r, "a"), o));
    cr_assert(eq(ptr, registry_lookup(&r, "b"), NULL));
    registry_rele(&r, o);
}

Test(registry, second_open_returns_same_object_with_two_refs)
{
    struct object *o1 = open_ok("a", &lock_spec, true);
    struct object *o2 = open_ok("a", &lock_spec, false);

    cr_assert(eq(ptr, o1, o2));
    cr_assert(eq(u32, o1->refs, 2));
    cr_assert(eq(u32, r.count, 1));
    registry_rele(&r, o1);
    cr_assert(eq(u32, o2->refs, 1));
    registry_rele(&r, o2);
}

Test(registry, creates_each_supported_type)
{
    struct object_spec s = sem_spec(3, false), b = sem_spec(2, true);
    struct object *ol = open_ok("l", &lock_spec, true);
    struct object *oe = open_ok("e", &event_spec, true);
    struct object *os = open_ok("s", &s, true);
    struct object *ob = open_ok("b", &b, true);

    cr_assert(eq(int, ol->type, OBJECT_LOCK));
    cr_assert(eq(int, oe->type, OBJECT_EVENT));
    cr_assert(eq(int, os->type, OBJECT_SEMAPHORE));
    cr_assert(eq(int, ob->type, OBJECT_BOUNDED_SEMAPHORE));
    cr_assert(eq(i64, os->ops->query(os), 3));
    cr_assert(eq(i64, ob->ops->query(ob), 2));
    cr_assert(eq(u32, r.count, 4));
    registry_rele(&r, ol);
    registry_rele(&r, oe);
    registry_rele(&r, os);
    registry_rele(&r, ob);
    /* Still linked with no refs: teardown's registry_fini frees all four. */
    cr_assert(eq(u32, r.count, 4));
}

Test(registry, open_as_other_type_is_etype)
{
    struct object_spec s = sem_spec(1, false), b = sem_spec(1, true);
    struct object *o = open_ok("a", &lock_spec, true);
    struct object *os = open_ok("s", &s, true);

    open_fails("a", &event_spec, SYNC_ETYPE);
    open_fails("a", &s, SYNC_ETYPE);
    /* A BoundedSemaphore is another type than a Semaphore. */
    open_fails("s", &b, SYNC_ETYPE);
    open_fails("s", &lock_spec, SYNC_ETYPE);
    cr_assert(eq(u32, o->refs, 1));
    cr_assert(eq(u32, os->refs, 1));
    registry_rele(&r, o);
    registry_rele(&r, os);
}

Test(registry, semaphore_with_other_value_is_eexist)
{
    struct object_spec s3 = sem_spec(3, false), s4 = sem_spec(4, false);
    struct object_spec b1 = sem_spec(1, true), b0 = sem_spec(0, true);
    struct object *o = open_ok("s", &s3, true);
    struct object *ob = open_ok("b", &b1, true);

    open_fails("s", &s4, SYNC_EEXIST);
    open_fails("b", &b0, SYNC_EEXIST);
    cr_assert(eq(u32, o->refs, 1));
    /* The same value opens the same object, whatever its current value. */
    cr_assert(eq(int, semaphore_release(semaphore_from_object(o), 5), 0));
    cr_assert(eq(ptr, open_ok("s", &s3, false), o));
    cr_assert(eq(u32, o->refs, 2));
    registry_rele(&r, o);
    registry_rele(&r, o);
    registry_rele(&r, ob);
}

Test(registry, lock_and_event_ignore_value)
{
    struct object_spec l7 = {.type = OBJECT_LOCK, .value = 7};
    struct object_spec e9 = {.type = OBJECT_EVENT, .value = 9};
    struct object *ol = open_ok("l", &lock_spec, true);
    struct object *oe = open_ok("e", &e9, true);

    cr_assert(eq(ptr, open_ok("l", &l7, false), ol));
    cr_assert(eq(ptr, open_ok("e", &event_spec, false), oe));
    cr_assert(eq(u32, ol->refs, 2));
    cr_assert(eq(u32, oe->refs, 2));
    registry_rele(&r, ol);
    registry_rele(&r, ol);
    registry_rele(&r, oe);
    registry_rele(&r, oe);
}

Test(registry, bad_creation_parameters_are_einval)
{
    struct object_spec big = sem_spec(SEMAPHORE_VALUE_MAX + 1u, false);
    struct object_spec bigb = sem_spec(UINT32_MAX, true);
    struct object_spec max = sem_spec(SEMAPHORE_VALUE_MAX, false);
    struct object_spec bogus = {.type = (enum object_type)99};

    open_fails("s", &big, SYNC_EINVAL);
    open_fails("s", &bigb, SYNC_EINVAL);
    open_fails("x", &bogus, SYNC_EINVAL);
    cr_assert(eq(u32, r.count, 0));
    cr_assert(eq(ptr, registry_lookup(&r, "s"), NULL));
    registry_rele(&r, open_ok("m", &max, true));
}

Test(registry, max_objects_is_elimit)
{
    struct object *a, *b;

    registry_fini(&r);
    registry_init(&r, 2, SYNC_NAME_MAX);
    a = open_ok("a", &lock_spec, true);
    b = open_ok("b", &event_spec, true);
    open_fails("c", &lock_spec, SYNC_ELIMIT);
    cr_assert(eq(u32, r.count, 2));
    cr_assert(eq(ptr, registry_lookup(&r, "c"), NULL));
    /* Opening an existing object needs no new slot. */
    cr_assert(eq(ptr, open_ok("a", &lock_spec, false), a));
    registry_rele(&r, a);
    registry_rele(&r, a);
    /* A freed object gives its slot back. */
    cr_assert(eq(int, registry_unlink(&r, "a"), 0));
    cr_assert(eq(u32, r.count, 1));
    registry_rele(&r, open_ok("c", &lock_spec, true));
    registry_rele(&r, b);
}

Test(registry, unlinked_object_still_held_counts_toward_limit)
{
    struct object *a;

    registry_fini(&r);
    registry_init(&r, 1, SYNC_NAME_MAX);
    a = open_ok("a", &lock_spec, true);
    cr_assert(eq(int, registry_unlink(&r, "a"), 0));
    open_fails("a", &lock_spec, SYNC_ELIMIT);
    registry_rele(&r, a);
    cr_assert(eq(u32, r.count, 0));
    registry_rele(&r, open_ok("a", &lock_spec, true));
}

/* ---- lifetimes ----------------------------------------------------------- */

Test(registry, last_rele_keeps_linked_object_until_unlink)
{
    struct object *o = open_ok("a", &lock_spec, true);
    struct fake_waiter f;

    /* Persistent like a POSIX named semaphore: state survives 0 refs. */
    fake_waiter_init(&f, 1);
    cr_assert(eq(int, lock_acquire(lock_from_object(o), &f.w, false), 0));
    registry_rele(&r, o);
    cr_assert(eq(u32, r.count, 1));
    cr_assert(eq(ptr, registry_lookup(&r, "a"), o));
    cr_assert(eq(u32, o->refs, 0));
    cr_assert(eq(ptr, open_ok("a", &lock_spec, false), o));
    cr_assert(eq(u32, o->refs, 1));
    cr_assert(eq(i64, o->ops->query(o), 1));
    registry_rele(&r, o);
}

Test(registry, unlink_removes_name_but_held_ref_stays_usable)
{
    struct object *o = open_ok("a", &lock_spec, true);
    struct object *o2;
    struct fake_waiter a, b;

    cr_assert(eq(int, registry_unlink(&r, "a"), 0));
    cr_assert(eq(ptr, registry_lookup(&r, "a"), NULL));
    cr_assert(eq(int, o->linked, false));
    cr_assert(eq(u32, o->refs, 1));
    cr_assert(eq(u32, r.count, 1));

    /* Still a working lock through the reference. */
    fake_waiter_init(&a, 1);
    fake_waiter_init(&b, 2);
    cr_assert(eq(int, lock_acquire(lock_from_object(o), &a.w, true), 0));
    cr_assert(eq(int, lock_acquire(lock_from_object(o), &b.w, true),
                 SYNCD_PENDING));
    cr_assert(eq(int, lock_release(lock_from_object(o), 1), 0));
    FAKE_ASSERT_DONE(&b, 0);
    cr_assert(eq(str, o->name, "a"));

    /* The name is free again: the next open makes a new object. */
    o2 = open_ok("a", &lock_spec, true);
    cr_assert(ne(ptr, o2, o));
    cr_assert(eq(i64, o2->ops->query(o2), 0));
    cr_assert(eq(u32, r.count, 2));
    cr_assert(eq(ptr, registry_lookup(&r, "a"), o2));

    registry_rele(&r, o);
    cr_assert(eq(u32, r.count, 1));
    registry_rele(&r, o2);
}

Test(registry, unlink_of_unknown_name_is_enoent)
{
    struct object *o = open_ok("a", &lock_spec, true);

    cr_assert(eq(int, registry_unlink(&r, "nope"), SYNC_ENOENT));
    cr_assert(eq(int, registry_unlink(&r, "a"), 0));
    cr_assert(eq(int, registry_unlink(&r, "a"), SYNC_ENOENT));
    registry_rele(&r, o);
}

Test(registry, unlink_without_refs_frees_at_once)
{
    registry_rele(&r, open_ok("a", &lock_spec, true));
    cr_assert(eq(u32, r.count, 1));
    cr_assert(eq(int, registry_unlink(&r, "a"), 0));
    cr_assert(eq(u32, r.count, 0));
    cr_assert(eq(ptr, registry_lookup(&r, "a"), NULL));
}

Test(registry, rele_frees_unlinked_object_with_last_ref)
{
    struct object_spec s = sem_spec(1, false);
    struct object *o = open_ok("s", &s, true);

    cr_assert(eq(ptr, open_ok("s", &s, false), o));
    cr_assert(eq(int, registry_unlink(&r, "s"), 0));
    registry_rele(&r, o);
    cr_assert(eq(u32, r.count, 1));
    cr_assert(eq(u32, o->refs, 1));
    /* Freed here; ASan's leak check proves it, and a use would fault. */
    registry_rele(&r, o);
    cr_assert(eq(u32, r.count, 0));
}

/* ---- names --------------------------------------------------------------- */

Test(registry, check_name_length_is_1_to_255_bytes)
{
    char name[300];

    memset(name, 'a', sizeof(name));
    cr_assert(eq(int, check("", 0), SYNC_ENAME));
    cr_assert(eq(int, check(name, 0), SYNC_ENAME));
    cr_assert(eq(int, check(name, 1), 0));
    cr_assert(eq(int, check(name, SYNC_NAME_MAX), 0));
    cr_assert(eq(int, check(name, 256), SYNC_ENAME));
    cr_assert(eq(int, check(name, sizeof(name)), SYNC_ENAME));
}

Test(registry, check_name_honours_configured_max_name)
{
    char name[300];

    memset(name, 'a', sizeof(name));
    registry_fini(&r);
    registry_init(&r, 100, 8);
    cr_assert(eq(int, check(name, 8), 0));
    cr_assert(eq(int, check(name, 9), SYNC_ENAME));
    /* A configured maximum above the protocol's is clamped to 255. */
    registry_fini(&r);
    registry_init(&r, 100, 1000);
    cr_assert(eq(u32, r.max_name, SYNC_NAME_MAX));
    cr_assert(eq(int, check(name, 255), 0));
    cr_assert(eq(int, check(name, 256), SYNC_ENAME));
}

Test(registry, check_name_counts_bytes_not_characters)
{
    char name[260];
    int i;

    /* 85 three-byte euro signs: 255 bytes. */
    for (i = 0; i < 85; i++)
        memcpy(name + 3 * i, "\xE2\x82\xAC", 3);
    cr_assert(eq(int, check(name, 255), 0));
    memcpy(name + 255, "\xC3\xA9", 2);
    cr_assert(eq(int, check(name, 257), SYNC_ENAME));
}

Test(registry, check_name_rejects_embedded_nul)
{
    cr_assert(eq(int, check("ab\0cd", 5), SYNC_ENAME));
    cr_assert(eq(int, check("\0", 1), SYNC_ENAME));
    cr_assert(eq(int, check("abc\0", 4), SYNC_ENAME));
}

Test(registry, check_name_rejects_invalid_utf8)
{
    static const char *const bad[] = {
        "\xC0\x80", "\xC1\xBF",                 /* overlong NUL, U+007F */
        "\xE0\x80\xAF", "\xE0\x9F\xBF",         /* overlong '/', U+07FF */
        "\xF0\x80\x80\xAF", "\xF0\x8F\xBF\xBF", /* overlong '/', U+FFFF */
        "\xED\xA0\x80", "\xED\xBF\xBF",         /* surrogates D800, DFFF */
        "\xF4\x90\x80\x80", "\xF5\x80\x80\x80", /* above U+10FFFF */
        "\xF8\x88\x80\x80\x80", "\xFF",         /* 5-byte form, never */
        "\x80", "a\xBF" "b",                    /* stray continuations */
        "\xC3" "a", "\xC3",                     /* lead, no continuation */
        "\xE2\x82", "abc\xF0\x9F\x98",          /* truncated at end */
    };
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_assert(eq(int, check(bad[i], strlen(bad[i])), SYNC_ENAME),
                  "bad[%zu]", i);
    /* Valid bytes follow, but len ends inside the sequence. */
    cr_assert(eq(int, check("\xE2\x82\xAC", 2), SYNC_ENAME));
    cr_assert(eq(int, check("x\xF0\x9F\x98\x80", 4), SYNC_ENAME));
}

Test(registry, check_name_accepts_valid_utf8_and_slash)
{
    static const char *const good[] = {
        "a", "app/queue/lock-1", "a.b/..c/.d", "...",
        "caf\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80", /* e', euro, emoji */
        "\xDF\xBF", /* 2-byte range end (its start, U+0080, is a C1 control) */
        "\xE0\xA0\x80", "\xEF\xBF\xBF",         /* 3-byte range ends */
        "\xED\x9F\xBF", "\xEE\x80\x80",         /* around surrogates */
        "\xF0\x90\x80\x80", "\xF4\x8F\xBF\xBF", /* U+10000, U+10FFFF */
        "spaces are fine", "\xC2\xA0", /* U+00A0, just past C1 */
    };
    size_t i;

    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        cr_assert(eq(int, check(good[i], strlen(good[i])), 0), "good[%zu]",
                  i);
}

Test(registry, check_name_refuses_controls_and_empty_or_dot_segments)
{
    static const struct {
        const char *name;
        const char *why;
    } bad[] = {
        {"tab\there", "name contains a control character"},
        {"esc\x1b[31m", "name contains a control character"},
        {"del\x7f", "name contains a control character"},
        {"c1\xC2\x85", "name contains a control character"},
        {"a//b", "name has an empty path segment"},
        {"a/", "name has an empty path segment"},
        {"/a", "name has an empty path segment"},
        {"/", "name has an empty path segment"},
        {".", "name has a '.' or '..' path segment"},
        {"a/./b", "name has a '.' or '..' path segment"},
        {"a/..", "name has a '.' or '..' path segment"},
    };
    char long_name[300];
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *why =
            registry_name_problem(&r, bad[i].name, strlen(bad[i].name));

        cr_assert(eq(int, check(bad[i].name, strlen(bad[i].name)), SYNC_ENAME),
                  "bad[%zu]", i);
        cr_assert(why != NULL && strncmp(why, bad[i].why, strlen(bad[i].why)) ==
                                     0,
                  "bad[%zu]: %s", i, why ? why : "(null)");
    }
    /* The limit is named, the name is not. */
    memset(long_name, 'x', sizeof(long_name));
    cr_assert(eq(str, (char *)registry_name_problem(&r, long_name, 300),
                 "name longer than 255 bytes"));
}
