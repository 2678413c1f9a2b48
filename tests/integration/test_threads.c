/*
 * test_threads.c: one sync_client shared by many threads.  Calls run
 * concurrently over the single connection, a blocked wait never blocks
 * other calls, and a Lock is owned by the client, not the thread.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "daemon_fixture.h"
#include "syncclient.h"

TestSuite(threads, .init = syncd_fixture_init, .fini = syncd_fixture_fini,
          .timeout = 30);

static sync_client *connect_ok(void)
{
    sync_client *c = NULL;

    cr_assert(eq(int, sync_connect(syncd_fx.sock, &c), 0));
    return c;
}

/* ---- eight workers and a blocked waiter on one client ------------------- */

#define WORKERS 8
#define ROUNDS 200

struct worker {
    sync_client *c;
    int idx;
    int open_rv;
    int errors;
    int rounds;
    uint64_t last_token;
};

static void *worker_main(void *p)
{
    struct worker *w = p;
    char name[32];
    sync_lock *l;
    int i;

    snprintf(name, sizeof(name), "thr/lock%d", w->idx);
    w->open_rv = sync_lock_open(w->c, name, &l);
    if (w->open_rv != 0)
        return NULL;
    for (i = 0; i < ROUNDS; i++) {
        if (sync_lock_acquire(l, true, 10.0) != 0 ||
            sync_lock_release(l) != 0) {
            w->errors++;
            break;
        }
        w->rounds++;
    }
    w->last_token = sync_lock_token(l);
    sync_lock_close(l);
    return NULL;
}

struct event_waiter {
    sync_event *e;
    atomic_int returned;
    int rv;
};

static void *event_waiter_main(void *p)
{
    struct event_waiter *w = p;

    w->rv = sync_event_wait(w->e, 20.0);
    atomic_store(&w->returned, 1);
    return NULL;
}

Test(threads, shared_client_serves_workers_while_one_waits)
{
    sync_client *c = connect_ok();
    struct worker w[WORKERS];
    struct event_waiter ew = {.rv = 1};
    pthread_t tw[WORKERS], te;
    double t0;
    int i;

    cr_assert(eq(int, sync_event_open(c, "thr/event", &ew.e), 0));
    cr_assert(eq(int, pthread_create(&te, NULL, event_waiter_main, &ew), 0));
    fx_sleep_ms(50); /* let the wait go out first */
    t0 = fx_now();
    for (i = 0; i < WORKERS; i++) {
        w[i] = (struct worker){.c = c, .idx = i, .open_rv = 1};
        cr_assert(eq(int, pthread_create(&tw[i], NULL, worker_main, &w[i]),
                     0));
    }
    for (i = 0; i < WORKERS; i++)
        pthread_join(tw[i], NULL);
    /* All the work got through while the wait was pending. */
    cr_assert(eq(int, atomic_load(&ew.returned), 0));
    for (i = 0; i < WORKERS; i++) {
        cr_assert(eq(int, w[i].open_rv, 0), "worker %d", i);
        cr_assert(eq(int, w[i].errors, 0), "worker %d", i);
        cr_assert(eq(int, w[i].rounds, ROUNDS), "worker %d", i);
        cr_assert(eq(u64, w[i].last_token, ROUNDS), "worker %d", i);
    }
    cr_log_info("%d x %d lock round trips in %.2f s", WORKERS, ROUNDS,
                fx_now() - t0);
    cr_assert(eq(int, sync_event_set(ew.e), 0));
    pthread_join(te, NULL);
    cr_assert(eq(int, ew.rv, 0));
    sync_event_close(ew.e);
    sync_disconnect(c);
}

/* ---- a blocked acquire does not block the connection -------------------- */

struct lock_waiter {
    sync_lock *l;
    atomic_int returned;
    int rv;
};

static void *lock_waiter_main(void *p)
{
    struct lock_waiter *w = p;

    w->rv = sync_lock_acquire(w->l, true, 20.0);
    atomic_store(&w->returned, 1);
    return NULL;
}

Test(threads, blocked_acquire_does_not_block_other_calls)
{
    sync_client *c = connect_ok(), *holder = connect_ok();
    struct lock_waiter lw = {.rv = 1};
    sync_lock *lh;
    sync_sem *s;
    pthread_t t;
    double t0;
    int i;

    cr_assert(eq(int, sync_lock_open(holder, "thr/busy", &lh), 0));
    cr_assert(eq(int, sync_lock_acquire(lh, true, -1), 0));
    cr_assert(eq(int, sync_lock_open(c, "thr/busy", &lw.l), 0));
    cr_assert(eq(int, sync_sem_open(c, "thr/sem", 0, &s), 0));
    cr_assert(eq(int, pthread_create(&t, NULL, lock_waiter_main, &lw), 0));
    fx_sleep_ms(50);

    t0 = fx_now();
    for (i = 0; i < 100; i++) {
        cr_assert(eq(int, sync_sem_release(s, 1), 0));
        cr_assert(eq(int, sync_sem_value(s), 1));
        cr_assert(eq(int, sync_sem_acquire(s, true, 1.0), 0));
    }
    cr_assert(eq(int, sync_lock_locked(lw.l), 1));
    cr_assert(lt(dbl, fx_now() - t0, 10.0));
    cr_assert(eq(int, atomic_load(&lw.returned), 0));

    cr_assert(eq(int, sync_lock_release(lh), 0));
    pthread_join(t, NULL);
    cr_assert(eq(int, lw.rv, 0));
    /* Owned by the client: this thread may release what that one got. */
    cr_assert(eq(int, sync_lock_release(lw.l), 0));
    sync_lock_close(lw.l);
    sync_lock_close(lh);
    sync_sem_close(s);
    sync_disconnect(c);
    sync_disconnect(holder);
}

/* ---- threads of one client exclude each other ---------------------------- */

#define EXCL_THREADS 4
#define EXCL_ROUNDS 50

struct excl {
    sync_lock *l;
    atomic_int *inside;
    atomic_int *overlaps;
    int errors;
};

static void *excl_main(void *p)
{
    struct excl *x = p;
    int i;

    for (i = 0; i < EXCL_ROUNDS; i++) {
        if (sync_lock_acquire(x->l, true, 10.0) != 0) {
            x->errors++;
            return NULL;
        }
        if (atomic_fetch_add(x->inside, 1) != 0)
            atomic_fetch_add(x->overlaps, 1);
        sched_yield();
        atomic_fetch_sub(x->inside, 1);
        if (sync_lock_release(x->l) != 0) {
            x->errors++;
            return NULL;
        }
    }
    return NULL;
}

Test(threads, lock_excludes_threads_of_the_same_client)
{
    sync_client *c = connect_ok();
    atomic_int inside = 0, overlaps = 0;
    struct excl x[EXCL_THREADS];
    pthread_t t[EXCL_THREADS];
    sync_lock *l;
    int i;

    cr_assert(eq(int, sync_lock_open(c, "thr/excl", &l), 0));
    for (i = 0; i < EXCL_THREADS; i++) {
        x[i] = (struct excl){.l = l, .inside = &inside, .overlaps = &overlaps};
        cr_assert(eq(int, pthread_create(&t[i], NULL, excl_main, &x[i]), 0));
    }
    for (i = 0; i < EXCL_THREADS; i++) {
        pthread_join(t[i], NULL);
        cr_assert(eq(int, x[i].errors, 0), "thread %d", i);
    }
    cr_assert(eq(int, atomic_load(&overlaps), 0));
    cr_assert(eq(u64, sync_lock_token(l), EXCL_THREADS * EXCL_ROUNDS));
    sync_lock_close(l);
    sync_disconnect(c);
}

/* ---- disconnect wakes blocked threads ------------------------------------ */

Test(threads, disconnect_fails_calls_blocked_in_other_threads)
{
    sync_client *c = connect_ok(), *holder = connect_ok();
    struct lock_waiter lw = {.rv = 1};
    sync_lock *lh, *marker, *hmarker;
    pthread_t t;
    double t0;

    cr_assert(eq(int, sync_lock_open(holder, "thr/disc", &lh), 0));
    cr_assert(eq(int, sync_lock_acquire(lh, true, -1), 0));
    cr_assert(eq(int, sync_lock_open(c, "thr/disc", &lw.l), 0));
    cr_assert(eq(int, sync_lock_open(c, "thr/marker", &marker), 0));
    cr_assert(eq(int, sync_lock_acquire(marker, true, -1), 0));
    cr_assert(eq(int, sync_lock_open(holder, "thr/marker", &hmarker), 0));
    cr_assert(eq(int, pthread_create(&t, NULL, lock_waiter_main, &lw), 0));
    fx_sleep_ms(50);
    t0 = fx_now();
    sync_disconnect(c);
    pthread_join(t, NULL);
    cr_assert(eq(int, lw.rv, SYNC_ECONN));
    cr_assert(lt(dbl, fx_now() - t0, 2.0));
    /* Getting the marker proves the daemon closed the session... */
    cr_assert(eq(int, sync_lock_acquire(hmarker, true, 5.0), 0));
    cr_assert(eq(int, sync_lock_owner_died(hmarker), 1));
    /* ...so its wait is gone: the lock goes nowhere on release. */
    cr_assert(eq(int, sync_lock_release(lh), 0));
    cr_assert(eq(int, sync_lock_acquire(lh, false, -1), 0));
    cr_assert(eq(int, sync_lock_owner_died(lh), 0));
    cr_assert(eq(int, sync_lock_release(lh), 0));
    sync_lock_close(lw.l);
    sync_lock_close(marker);
    sync_lock_close(hmarker);
    sync_lock_close(lh);
    sync_disconnect(holder);
}
