/*
 * test_names.c: the name space.  One type per name, creation parameters
 * must match, names are 1..255 bytes of UTF-8 (checked by the daemon, not
 * only by the client), '/' is an ordinary character, unlink detaches a
 * name from its object.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "daemon_fixture.h"
#include "rawsock.h"
#include "syncclient.h"

TestSuite(names, .init = syncd_fixture_init, .fini = syncd_fixture_fini,
          .timeout = 30);

static sync_client *connect_ok(void)
{
    sync_client *c = NULL;

    cr_assert(eq(int, sync_connect(syncd_fx.sock, &c), 0));
    return c;
}

/* Sentinels: a failed _open must overwrite them with NULL. */
#define BOGUS_LOCK ((sync_lock *)(uintptr_t)0x1)
#define BOGUS_SEM ((sync_sem *)(uintptr_t)0x1)
#define BOGUS_EVENT ((sync_event *)(uintptr_t)0x1)

Test(names, lock_name_opened_as_another_type_is_etype)
{
    sync_client *c = connect_ok();
    sync_lock *l;
    sync_sem *s = BOGUS_SEM;
    sync_event *e = BOGUS_EVENT;

    cr_assert(eq(int, sync_lock_open(c, "n/lock", &l), 0));
    cr_assert(eq(int, sync_sem_open(c, "n/lock", 1, &s), SYNC_ETYPE));
    cr_assert(eq(ptr, s, NULL));
    s = BOGUS_SEM;
    cr_assert(eq(int, sync_bsem_open(c, "n/lock", 1, &s), SYNC_ETYPE));
    cr_assert(eq(ptr, s, NULL));
    cr_assert(eq(int, sync_event_open(c, "n/lock", &e), SYNC_ETYPE));
    cr_assert(eq(ptr, e, NULL));
    /* The lock is untouched and still opens as a lock. */
    sync_lock_close(l);
    cr_assert(eq(int, sync_lock_open(c, "n/lock", &l), 0));
    cr_assert(eq(int, sync_lock_acquire(l, false, -1), 0));
    cr_assert(eq(int, sync_lock_release(l), 0));
    sync_lock_close(l);
    sync_disconnect(c);
}

Test(names, bounded_and_plain_semaphores_are_different_types)
{
    sync_client *c = connect_ok();
    sync_sem *plain, *bounded, *s = BOGUS_SEM;
    sync_lock *l = BOGUS_LOCK;

    cr_assert(eq(int, sync_sem_open(c, "n/plain", 2, &plain), 0));
    cr_assert(eq(int, sync_bsem_open(c, "n/plain", 2, &s), SYNC_ETYPE));
    cr_assert(eq(ptr, s, NULL));
    cr_assert(eq(int, sync_bsem_open(c, "n/bounded", 2, &bounded), 0));
    s = BOGUS_SEM;
    cr_assert(eq(int, sync_sem_open(c, "n/bounded", 2, &s), SYNC_ETYPE));
    cr_assert(eq(ptr, s, NULL));
    cr_assert(eq(int, sync_lock_open(c, "n/bounded", &l), SYNC_ETYPE));
    cr_assert(eq(ptr, l, NULL));
    sync_sem_close(plain);
    sync_sem_close(bounded);
    sync_disconnect(c);
}

Test(names, semaphore_with_another_value_is_eexist)
{
    sync_client *a = connect_ok(), *b = connect_ok();
    sync_sem *sa, *sb, *s = BOGUS_SEM;

    cr_assert(eq(int, sync_sem_open(a, "n/value", 2, &sa), 0));
    cr_assert(eq(int, sync_sem_open(b, "n/value", 3, &s), SYNC_EEXIST));
    cr_assert(eq(ptr, s, NULL));
    s = BOGUS_SEM;
    cr_assert(eq(int, sync_sem_open(b, "n/value", 0, &s), SYNC_EEXIST));
    cr_assert(eq(ptr, s, NULL));
    /* The same value opens the same object. */
    cr_assert(eq(int, sync_sem_open(b, "n/value", 2, &sb), 0));
    cr_assert(eq(int, sync_sem_acquire(sa, false, -1), 0));
    cr_assert(eq(int, sync_sem_value(sb), 1));
    /* The value to match is the creation value, not the current one. */
    s = BOGUS_SEM;
    cr_assert(eq(int, sync_sem_open(b, "n/value", 1, &s), SYNC_EEXIST));
    cr_assert(eq(ptr, s, NULL));
    sync_sem_close(sa);
    sync_sem_close(sb);
    sync_disconnect(a);
    sync_disconnect(b);
}

Test(names, length_is_1_to_255_bytes)
{
    sync_client *c = connect_ok();
    char name[300];
    sync_lock *l = BOGUS_LOCK;
    sync_event *e = BOGUS_EVENT;

    memset(name, 'x', sizeof(name));
    name[255] = '\0';
    cr_assert(eq(int, sync_lock_open(c, name, &l), 0));
    sync_lock_close(l);
    name[255] = 'x';
    name[256] = '\0';
    l = BOGUS_LOCK;
    cr_assert(eq(int, sync_lock_open(c, name, &l), SYNC_ENAME));
    cr_assert(eq(ptr, l, NULL));
    cr_assert(eq(int, sync_event_open(c, name, &e), SYNC_ENAME));
    cr_assert(eq(ptr, e, NULL));
    cr_assert(eq(int, sync_unlink(c, name), SYNC_ENAME));
    l = BOGUS_LOCK;
    cr_assert(eq(int, sync_lock_open(c, "", &l), SYNC_ENAME));
    cr_assert(eq(ptr, l, NULL));
    cr_assert(eq(int, sync_unlink(c, ""), SYNC_ENAME));
    sync_disconnect(c);
}

Test(names, daemon_checks_names_itself)
{
    char name[300];
    uint32_t h = 0;
    int fd = raw_connect(syncd_fx.sock);

    /* Past the client library's own checks, straight to the daemon. */
    cr_assert(ge(int, fd, 0));
    cr_assert(eq(int, raw_hello(fd), 0));
    memset(name, 'y', sizeof(name));
    cr_assert(eq(int, raw_open(fd, 2, name, 256, SYNCD__OBJECT_TYPE__LOCK, 0,
                               &h),
                 SYNC_ENAME));
    cr_assert(eq(int, raw_open(fd, 3, name, 0, SYNCD__OBJECT_TYPE__LOCK, 0,
                               &h),
                 SYNC_ENAME));
    /* Names are bytes on the wire: an embedded NUL is refused, not
     * truncated to "a". */
    cr_assert(eq(int, raw_open(fd, 5, "a\0b", 3, SYNCD__OBJECT_TYPE__LOCK, 0,
                               &h),
                 SYNC_ENAME));
    cr_assert(eq(int, raw_open(fd, 6, "\xff", 1, SYNCD__OBJECT_TYPE__LOCK, 0,
                               &h),
                 SYNC_ENAME));
    /* The connection survives all of them. */
    cr_assert(eq(int, raw_open(fd, 4, name, 255, SYNCD__OBJECT_TYPE__LOCK, 0,
                               &h),
                 0));
    cr_assert(gt(u32, h, 0));
    close(fd);
}

Test(names, invalid_utf8_is_ename)
{
    static const char *const bad[] = {
        "\xff",              /* never valid */
        "abc\xc3",           /* truncated sequence */
        "\xc0\xaf",          /* overlong '/' */
        "\xed\xa0\x80",      /* UTF-16 surrogate */
        "\xf4\x90\x80\x80",  /* above U+10FFFF */
        "ok/\x80",           /* stray continuation byte */
    };
    sync_client *c = connect_ok();
    sync_sem *s = BOGUS_SEM;
    sync_lock *l;
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        s = BOGUS_SEM;
        cr_assert(eq(int, sync_sem_open(c, bad[i], 1, &s), SYNC_ENAME),
                  "name #%zu", i);
        cr_assert(eq(ptr, s, NULL), "name #%zu", i);
        cr_assert(eq(int, sync_unlink(c, bad[i]), SYNC_ENAME), "name #%zu",
                  i);
    }
    /* Multi-byte UTF-8 is fine. */
    cr_assert(eq(int, sync_lock_open(c, "caf\xc3\xa9/\xe5\x90\x8d/\xf0\x9f\x94"
                                        "\x92", &l), 0));
    sync_lock_close(l);
    sync_disconnect(c);
}

Test(names, slashes_are_ordinary_characters)
{
    sync_client *c = connect_ok();
    sync_lock *l1;
    sync_sem *s2;
    sync_event *e3;

    /* Prefixes of one another, each its own object of its own type. */
    cr_assert(eq(int, sync_lock_open(c, "app", &l1), 0));
    cr_assert(eq(int, sync_sem_open(c, "app/db", 4, &s2), 0));
    cr_assert(eq(int, sync_event_open(c, "app/db/ready", &e3), 0));
    cr_assert(eq(int, sync_lock_acquire(l1, false, -1), 0));
    cr_assert(eq(int, sync_sem_value(s2), 4));
    cr_assert(eq(int, sync_event_is_set(e3), 0));
    cr_assert(eq(int, sync_unlink(c, "app/db"), 0));
    cr_assert(eq(int, sync_unlink(c, "app/db"), SYNC_ENOENT));
    cr_assert(eq(int, sync_unlink(c, "app/db/ready"), 0));
    cr_assert(eq(int, sync_unlink(c, "app"), 0));
    cr_assert(eq(int, sync_lock_release(l1), 0));
    sync_lock_close(l1);
    sync_sem_close(s2);
    sync_event_close(e3);
    sync_disconnect(c);
}

Test(names, unlink_then_open_creates_a_fresh_object)
{
    sync_client *a = connect_ok(), *b = connect_ok();
    sync_sem *old, *fresh;
    sync_lock *lold, *lnew;
    sync_event *e;

    cr_assert(eq(int, sync_sem_open(a, "n/u", 1, &old), 0));
    cr_assert(eq(int, sync_sem_acquire(old, false, -1), 0));
    cr_assert(eq(int, sync_unlink(b, "n/u"), 0));
    /* A new value is allowed: it is a new semaphore. */
    cr_assert(eq(int, sync_sem_open(b, "n/u", 5, &fresh), 0));
    cr_assert(eq(int, sync_sem_value(fresh), 5));
    /* The old one lives on for whoever has it open. */
    cr_assert(eq(int, sync_sem_value(old), 0));
    cr_assert(eq(int, sync_sem_release(old, 1), 0));
    cr_assert(eq(int, sync_sem_value(old), 1));
    cr_assert(eq(int, sync_sem_value(fresh), 5));
    sync_sem_close(old);
    sync_sem_close(fresh);

    /* Same for a held lock: the new one starts free. */
    cr_assert(eq(int, sync_lock_open(a, "n/ul", &lold), 0));
    cr_assert(eq(int, sync_lock_acquire(lold, true, -1), 0));
    cr_assert(eq(int, sync_unlink(a, "n/ul"), 0));
    cr_assert(eq(int, sync_lock_open(b, "n/ul", &lnew), 0));
    cr_assert(eq(int, sync_lock_locked(lnew), 0));
    cr_assert(eq(int, sync_lock_acquire(lnew, false, -1), 0));
    cr_assert(eq(u64, sync_lock_token(lnew), 1));
    cr_assert(eq(int, sync_lock_locked(lold), 1));
    cr_assert(eq(int, sync_lock_release(lold), 0));
    cr_assert(eq(int, sync_lock_release(lnew), 0));
    /* Even the type may change after an unlink. */
    cr_assert(eq(int, sync_unlink(a, "n/ul"), 0));
    sync_lock_close(lnew);
    cr_assert(eq(int, sync_event_open(a, "n/ul", &e), 0));
    cr_assert(eq(int, sync_event_is_set(e), 0));
    sync_event_close(e);
    sync_lock_close(lold);
    sync_disconnect(a);
    sync_disconnect(b);
}

Test(names, unlink_of_unknown_name_is_enoent)
{
    sync_client *c = connect_ok();

    cr_assert(eq(int, sync_unlink(c, "n/never"), SYNC_ENOENT));
    cr_assert(eq(int, sync_unlink(c, "n"), SYNC_ENOENT));
    sync_disconnect(c);
}

Test(names, failed_open_sets_out_to_null)
{
    sync_client *c = connect_ok();
    sync_lock *l = BOGUS_LOCK;
    sync_sem *s = BOGUS_SEM;
    sync_event *e = BOGUS_EVENT;
    sync_sem *held;

    cr_assert(eq(int, sync_sem_open(c, "n/held", 1, &held), 0));
    cr_assert(eq(int, sync_lock_open(c, "n/held", &l), SYNC_ETYPE));
    cr_assert(eq(ptr, l, NULL));
    cr_assert(eq(int, sync_event_open(c, "n/held", &e), SYNC_ETYPE));
    cr_assert(eq(ptr, e, NULL));
    cr_assert(eq(int, sync_sem_open_flags(c, "n/held", 2, false,
                                          SYNC_SEM_UNDO, &s),
                 SYNC_EEXIST));
    cr_assert(eq(ptr, s, NULL));
    s = BOGUS_SEM;
    cr_assert(eq(int, sync_sem_open_flags(c, "n/x", 1, false, 0x80, &s),
                 SYNC_EINVAL));
    cr_assert(eq(ptr, s, NULL));
    l = BOGUS_LOCK;
    cr_assert(eq(int, sync_lock_open(NULL, "n/x", &l), SYNC_EINVAL));
    cr_assert(eq(ptr, l, NULL));
    sync_sem_close(held);
    sync_disconnect(c);
}

Test(names, controls_and_empty_or_dot_segments_are_ename)
{
    static const char *const bad[] = {
        "a//b", "a/", "/a", "/", ".", "..", "a/./b", "a/../b",
        "tab\there", "esc\x1b[2J", "del\x7f", "c1\xc2\x85",
    };
    sync_client *c = connect_ok();
    sync_event *e;
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        e = BOGUS_EVENT;
        cr_assert(eq(int, sync_event_open(c, bad[i], &e), SYNC_ENAME),
                  "bad[%zu]", i);
        cr_assert(eq(ptr, e, NULL), "bad[%zu]", i);
        cr_assert(eq(int, sync_unlink(c, bad[i]), SYNC_ENAME), "bad[%zu]", i);
    }
    /* Dots inside a segment, and '-' first, are ordinary. */
    cr_assert(eq(int, sync_event_open(c, "-v/a.b/...", &e), 0));
    sync_event_close(e);
    sync_disconnect(c);
    cr_assert(syncd_fixture_log_contains(
        "open of a 4-byte name: invalid object name: name has an empty path "
        "segment", 0));
    /* The control characters never reach the log. */
    cr_assert(not(syncd_fixture_log_contains("\x1b[2J", 0)));
}

Test(names, a_long_name_is_refused_by_its_limit_not_echoed)
{
    static char name[10000];
    uint32_t h = 0;
    int fd = raw_connect(syncd_fx.sock);
    char *log;

    memset(name, 'q', sizeof(name));
    cr_assert(ge(int, fd, 0));
    cr_assert(eq(int, raw_hello(fd), 0));
    cr_assert(eq(int, raw_open(fd, 2, name, sizeof(name),
                               SYNCD__OBJECT_TYPE__LOCK, 0, &h),
                 SYNC_ENAME));
    close(fd);
    cr_assert(syncd_fixture_log_contains(
        "open of a 10000-byte name: invalid object name: name longer than "
        "255 bytes", 5000));
    log = syncd_fixture_read_log();
    cr_assert(strstr(log, "qqqqqqqqqqqqqqqq") == NULL, "the name was echoed");
    free(log);
}
