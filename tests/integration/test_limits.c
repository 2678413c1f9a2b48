/*
 * test_limits.c: every resource limit is enforced at exactly its value with
 * SYNC_ELIMIT (SYNC_ENAME for names), and the resource is usable again
 * once something is given back.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "daemon_fixture.h"
#include "syncclient.h"

#define MAX_HANDLES 4
#define MAX_WAITS 2
#define MAX_OBJECTS 5
#define MAX_NAME 16

static void limits_init(void)
{
    static const char *const args[] = {
        "--max-handles", "4", "--max-waits", "2", "--max-objects", "5",
        "--max-name", "16", NULL,
    };

    syncd_fixture_start(args);
}

TestSuite(limits, .init = limits_init, .fini = syncd_fixture_fini,
          .timeout = 30);

static sync_client *connect_ok(void)
{
    sync_client *c = NULL;

    cr_assert(eq(int, sync_connect(syncd_fx.sock, &c), 0));
    return c;
}

Test(limits, handles_per_client)
{
    sync_client *c = connect_ok(), *other = connect_ok();
    sync_lock *l[MAX_HANDLES], *extra = (sync_lock *)&extra, *o[MAX_HANDLES];
    sync_event *e = (sync_event *)&e;
    char name[MAX_NAME + 1];
    int i;

    /* Four handles on two objects: the limit counts handles. */
    for (i = 0; i < MAX_HANDLES; i++) {
        snprintf(name, sizeof(name), "h/%d", i % 2);
        cr_assert(eq(int, sync_lock_open(c, name, &l[i]), 0), "handle %d", i);
    }
    cr_assert(eq(int, sync_lock_open(c, "h/0", &extra), SYNC_ELIMIT));
    cr_assert(eq(ptr, extra, NULL));
    cr_assert(eq(int, sync_event_open(c, "h/e", &e), SYNC_ELIMIT));
    cr_assert(eq(ptr, e, NULL));
    /* The limit is per client. */
    for (i = 0; i < MAX_HANDLES; i++)
        cr_assert(eq(int, sync_lock_open(other, "h/1", &o[i]), 0));
    /* The handles that exist still work. */
    cr_assert(eq(int, sync_lock_acquire(l[3], false, -1), 0));
    cr_assert(eq(int, sync_lock_release(l[1]), 0));
    /* Closing one makes room for exactly one more. */
    sync_lock_close(l[0]);
    cr_assert(eq(int, sync_lock_open(c, "h/0", &l[0]), 0));
    cr_assert(eq(int, sync_lock_open(c, "h/0", &extra), SYNC_ELIMIT));
    for (i = 0; i < MAX_HANDLES; i++) {
        sync_lock_close(l[i]);
        sync_lock_close(o[i]);
    }
    sync_disconnect(c);
    sync_disconnect(other);
}

struct wait_arg {
    sync_lock *l;
    atomic_int *started;
    int rv_acquire;
    int rv_release;
};

static void *blocked_acquire(void *p)
{
    struct wait_arg *a = p;

    atomic_fetch_add(a->started, 1);
    a->rv_acquire = sync_lock_acquire(a->l, true, 10.0);
    a->rv_release = a->rv_acquire == 0 ? sync_lock_release(a->l) : 1;
    return NULL;
}

Test(limits, pending_waits_per_client)
{
    sync_client *holder = connect_ok(), *c = connect_ok(),
                *other = connect_ok();
    sync_lock *lh, *lc, *lo;
    sync_event *e;
    struct wait_arg args[MAX_WAITS];
    pthread_t t[MAX_WAITS];
    atomic_int started = 0;
    int i;

    cr_assert(eq(int, sync_lock_open(holder, "w/lock", &lh), 0));
    cr_assert(eq(int, sync_lock_open(c, "w/lock", &lc), 0));
    cr_assert(eq(int, sync_lock_open(other, "w/lock", &lo), 0));
    cr_assert(eq(int, sync_event_open(c, "w/event", &e), 0));
    cr_assert(eq(int, sync_lock_acquire(lh, true, -1), 0));
    for (i = 0; i < MAX_WAITS; i++) {
        args[i] = (struct wait_arg){.l = lc, .started = &started,
                                    .rv_acquire = 1, .rv_release = 1};
        cr_assert(eq(int, pthread_create(&t[i], NULL, blocked_acquire,
                                         &args[i]), 0));
    }
    while (atomic_load(&started) < MAX_WAITS)
        fx_sleep_ms(1);
    fx_sleep_ms(150); /* margin for both waits to be pending */

    /* A third wait of the same client, of any kind, is refused at once. */
    cr_assert(eq(int, sync_lock_acquire(lc, true, 5.0), SYNC_ELIMIT));
    cr_assert(eq(int, sync_lock_acquire(lc, true, -1), SYNC_ELIMIT));
    cr_assert(eq(int, sync_event_wait(e, 5.0), SYNC_ELIMIT));
    /* A try never waits, so it is not counted. */
    cr_assert(eq(int, sync_lock_acquire(lc, false, -1), SYNC_ETIMEDOUT));
    cr_assert(eq(int, sync_event_wait(e, 0.0), SYNC_ETIMEDOUT));
    /* Other clients have their own budget. */
    cr_assert(eq(int, sync_lock_acquire(lo, true, 0.05), SYNC_ETIMEDOUT));

    /* Once the waits are done, waiting works again. */
    cr_assert(eq(int, sync_lock_release(lh), 0));
    for (i = 0; i < MAX_WAITS; i++) {
        pthread_join(t[i], NULL);
        cr_assert(eq(int, args[i].rv_acquire, 0), "waiter %d", i);
        cr_assert(eq(int, args[i].rv_release, 0), "waiter %d", i);
    }
    cr_assert(eq(int, sync_event_wait(e, 0.05), SYNC_ETIMEDOUT));
    cr_assert(eq(int, sync_lock_acquire(lc, true, 5.0), 0));
    cr_assert(eq(int, sync_lock_release(lc), 0));
    sync_lock_close(lh);
    sync_lock_close(lc);
    sync_lock_close(lo);
    sync_event_close(e);
    sync_disconnect(holder);
    sync_disconnect(c);
    sync_disconnect(other);
}

Test(limits, objects_in_the_daemon)
{
    sync_client *c = connect_ok(), *other = connect_ok();
    char name[MAX_NAME + 1];
    sync_sem *s = (sync_sem *)&s;
    sync_lock *l, *keep;
    int i;

    /* Named objects outlive their handles: create five, keep none open
     * (the handle limit is 4). */
    for (i = 0; i < MAX_OBJECTS; i++) {
        snprintf(name, sizeof(name), "o/%d", i);
        cr_assert(eq(int, sync_lock_open(c, name, &l), 0), "object %d", i);
        sync_lock_close(l);
    }
    cr_assert(eq(int, sync_sem_open(c, "o/new", 1, &s), SYNC_ELIMIT));
    cr_assert(eq(ptr, s, NULL));
    /* The limit is for the whole daemon. */
    cr_assert(eq(int, sync_lock_open(other, "o/new", &l), SYNC_ELIMIT));
    /* Opening an existing object creates nothing. */
    cr_assert(eq(int, sync_lock_open(other, "o/3", &keep), 0));
    /* An unlinked object still counts while a handle has it open... */
    cr_assert(eq(int, sync_unlink(c, "o/3"), 0));
    cr_assert(eq(int, sync_lock_open(c, "o/new", &l), SYNC_ELIMIT));
    /* ...and is freed with that last handle. */
    sync_lock_close(keep);
    cr_assert(eq(int, sync_lock_open(c, "o/new", &l), 0));
    sync_lock_close(l);
    cr_assert(eq(int, sync_lock_open(c, "o/new2", &l), SYNC_ELIMIT));
    /* Unlinking an unopened object frees it at once. */
    cr_assert(eq(int, sync_unlink(other, "o/0"), 0));
    cr_assert(eq(int, sync_lock_open(c, "o/new2", &l), 0));
    sync_lock_close(l);
    sync_disconnect(c);
    sync_disconnect(other);
}

Test(limits, name_length)
{
    sync_client *c = connect_ok();
    char name[MAX_NAME + 2];
    sync_lock *l = (sync_lock *)&l;
    sync_sem *s = (sync_sem *)&s;

    memset(name, 'n', sizeof(name));
    name[MAX_NAME] = '\0'; /* 16 bytes */
    cr_assert(eq(int, sync_lock_open(c, name, &l), 0));
    sync_lock_close(l);
    name[MAX_NAME] = 'n';
    name[MAX_NAME + 1] = '\0'; /* 17 bytes */
    l = (sync_lock *)&l;
    cr_assert(eq(int, sync_lock_open(c, name, &l), SYNC_ENAME));
    cr_assert(eq(ptr, l, NULL));
    cr_assert(eq(int, sync_sem_open(c, name, 1, &s), SYNC_ENAME));
    cr_assert(eq(ptr, s, NULL));
    cr_assert(eq(int, sync_unlink(c, name), SYNC_ENAME));
    /* Bytes, not characters: 8 two-byte characters fit, 9 do not. */
    cr_assert(eq(int, sync_lock_open(c, "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
                                        "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9",
                                     &l), 0));
    sync_lock_close(l);
    cr_assert(eq(int, sync_lock_open(c, "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
                                        "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
                                        "\xc3\xa9", &l), SYNC_ENAME));
    sync_disconnect(c);
}

/* ---- connected clients ------------------------------------------------- */

static void clients_init(void)
{
    static const char *const args[] = {"--max-clients", "2", NULL};

    syncd_fixture_start(args);
}

TestSuite(limits_clients, .init = clients_init, .fini = syncd_fixture_fini,
          .timeout = 30);

Test(limits_clients, connections_beyond_max_clients_are_refused)
{
    sync_client *a = NULL, *b = NULL, *c = (sync_client *)&c;
    sync_lock *l;
    double deadline;
    int rv;

    cr_assert(eq(int, sync_connect(syncd_fx.sock, &a), 0));
    cr_assert(eq(int, sync_connect(syncd_fx.sock, &b), 0));
    /* Refused with a reason, whether the hello went out before the daemon
     * closed (EPIPE on the write) or after: repeat to meet both orders. */
    for (int i = 0; i < 50; i++) {
        c = (sync_client *)&c;
        cr_assert(eq(int, sync_connect(syncd_fx.sock, &c), SYNC_ELIMIT),
                  "attempt %d", i);
        cr_assert(eq(ptr, c, NULL));
        if (i % 2)
            fx_sleep_ms(1);
    }
    /* The two admitted clients are unaffected. */
    cr_assert(eq(int, sync_lock_open(b, "c/lock", &l), 0));
    cr_assert(eq(int, sync_lock_acquire(l, false, -1), 0));
    cr_assert(eq(int, sync_lock_release(l), 0));
    sync_lock_close(l);
    /* A slot frees up once the daemon has seen a client go. */
    sync_disconnect(a);
    deadline = fx_now() + 5.0;
    do {
        rv = sync_connect(syncd_fx.sock, &c);
        if (rv != 0)
            fx_sleep_ms(10);
    } while (rv != 0 && fx_now() < deadline);
    cr_assert(eq(int, rv, 0));
    sync_disconnect(b);
    sync_disconnect(c);
}
