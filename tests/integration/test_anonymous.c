/*
 * test_anonymous.c: objects opened with name NULL get a generated name
 * (sync_handle_name) and live exactly as long as someone anywhere has
 * them open; named objects live until sync_unlink.
 */
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "daemon_fixture.h"
#include "syncclient.h"

TestSuite(anonymous, .init = syncd_fixture_init, .fini = syncd_fixture_fini,
          .timeout = 30);

static sync_client *connect_ok(void)
{
    sync_client *c = NULL;

    cr_assert(eq(int, sync_connect(syncd_fx.sock, &c), 0));
    return c;
}

/* Whether an object called name exists (opened as existing only). */
static bool exists(const char *name)
{
    sync_client *c = connect_ok();
    sync_lock *l = NULL;
    int rv;

    cr_assert(eq(int, sync_set_open_existing(c, true), 0));
    rv = sync_lock_open(c, name, &l);
    cr_assert(rv == 0 || rv == SYNC_ENOENT, "open: %s", sync_errname(rv));
    sync_lock_close(l);
    sync_disconnect(c);
    return rv == 0;
}

Test(anonymous, lives_while_any_process_has_it_open)
{
    sync_client *a = connect_ok(), *b = connect_ok();
    sync_lock *la, *lb;
    char name[SYNC_NAME_MAX + 1];

    cr_assert(eq(int, sync_lock_open(a, NULL, &la), 0));
    strcpy(name, sync_handle_name(la));
    cr_assert(eq(int, strncmp(name, "anon/", 5), 0), "%s", name);
    /* Another client opens the same object by its generated name. */
    cr_assert(eq(int, sync_lock_open(b, name, &lb), 0));
    cr_assert(eq(str, (char *)sync_handle_name(lb), name));
    cr_assert(eq(int, sync_lock_acquire(la, true, -1), 0));
    cr_assert(eq(int, sync_lock_acquire(lb, false, -1), SYNC_ETIMEDOUT));
    cr_assert(eq(int, sync_lock_release(la), 0));
    sync_lock_close(la);
    cr_assert(exists(name));           /* b still has it */
    sync_lock_close(lb);
    cr_assert(not(exists(name)));      /* the last handle took the name */
    sync_disconnect(a);
    sync_disconnect(b);
}

Test(anonymous, goes_with_a_process_that_dies_holding_it)
{
    char *name = fx_shared(SYNC_NAME_MAX + 1);
    sync_client *c;
    sync_sem *s;
    pid_t pid = fx_fork();

    if (pid == 0) {
        c = connect_ok();
        if (sync_sem_open(c, NULL, 3, &s) != 0)
            _exit(1);
        strcpy(name, sync_handle_name(s));
        _exit(0); /* no close, no disconnect: as a crash */
    }
    cr_assert(eq(int, fx_exit_code(fx_wait_status(pid, 5000)), 0));
    cr_assert(eq(int, strncmp(name, "anon/", 5), 0));
    /* The daemon sees the connection close, then the name goes. */
    for (int i = 0; i < 100 && exists(name); i++)
        fx_sleep_ms(10);
    cr_assert(not(exists(name)));
}

Test(anonymous, names_are_distinct_and_named_objects_stay)
{
    sync_client *c = connect_ok();
    sync_event *e1, *e2;
    sync_cond *cv;
    sync_lock *named;

    cr_assert(eq(int, sync_event_open(c, NULL, &e1), 0));
    cr_assert(eq(int, sync_event_open(c, NULL, &e2), 0));
    cr_assert(strcmp(sync_handle_name(e1), sync_handle_name(e2)) != 0);
    cr_assert(eq(int, sync_event_set(e1), 0));
    cr_assert(eq(int, sync_event_is_set(e2), 0));
    /* An anonymous condition with its own lock works as any. */
    cr_assert(eq(int, sync_cond_open(c, NULL, NULL, &cv), 0));
    cr_assert(eq(int, sync_cond_acquire(cv, true, -1), 0));
    cr_assert(eq(int, sync_cond_wait(cv, 0.01), SYNC_ETIMEDOUT));
    cr_assert(eq(int, sync_cond_release(cv), 0));
    cr_assert(eq(int, sync_lock_open(c, "named/stays", &named), 0));
    sync_lock_close(named);
    sync_event_close(e1);
    sync_event_close(e2);
    sync_cond_close(cv);
    cr_assert(exists("named/stays"));
    cr_assert(eq(ptr, (void *)sync_handle_name(NULL), NULL));
    sync_disconnect(c);
}
