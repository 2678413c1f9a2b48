/*
 * test_event.c: threading.Event across processes: one set wakes every
 * waiter, is_set/clear, waits on a set event return at once.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "daemon_fixture.h"
#include "syncclient.h"

TestSuite(event, .init = syncd_fixture_init, .fini = syncd_fixture_fini,
          .timeout = 30);

static sync_client *connect_ok(void)
{
    sync_client *c = NULL;

    cr_assert(eq(int, sync_connect(syncd_fx.sock, &c), 0));
    return c;
}

/* ---- one set wakes all -------------------------------------------------- */

#define EV_PROCS 4
#define EV_THREADS 5

struct ev_shared {
    atomic_int ready;     /* threads about to wait */
    atomic_int woken;     /* waits that returned 0 after the set began */
    atomic_int early;     /* waits that returned before the set began */
    atomic_int errors;    /* waits that returned an error */
    atomic_int set_begun; /* the parent is about to set */
};

struct ev_thread {
    struct ev_shared *sh;
    sync_event *e;
};

static void *ev_waiter(void *p)
{
    struct ev_thread *t = p;
    int rv;

    atomic_fetch_add(&t->sh->ready, 1);
    rv = sync_event_wait(t->e, 10.0);
    if (rv != 0)
        atomic_fetch_add(&t->sh->errors, 1);
    else if (atomic_load(&t->sh->set_begun))
        atomic_fetch_add(&t->sh->woken, 1);
    else
        atomic_fetch_add(&t->sh->early, 1);
    return NULL;
}

static void ev_child(struct ev_shared *sh)
{
    struct ev_thread arg = {.sh = sh};
    pthread_t t[EV_THREADS];
    sync_client *c;
    int i;

    /* One client shared by all threads of the process. */
    if (sync_connect(syncd_fx.sock, &c) != 0 ||
        sync_event_open(c, "ev/go", &arg.e) != 0)
        _exit(2);
    for (i = 0; i < EV_THREADS; i++)
        if (pthread_create(&t[i], NULL, ev_waiter, &arg) != 0)
            _exit(3);
    for (i = 0; i < EV_THREADS; i++)
        pthread_join(t[i], NULL);
    sync_event_close(arg.e);
    sync_disconnect(c);
    _exit(0);
}

Test(event, one_set_wakes_every_waiter_in_every_process)
{
    struct ev_shared *sh = fx_shared(sizeof(*sh));
    sync_client *c = connect_ok();
    pid_t pids[EV_PROCS];
    double deadline, t0;
    sync_event *e;
    int i;

    cr_assert(eq(int, sync_event_open(c, "ev/go", &e), 0));
    for (i = 0; i < EV_PROCS; i++) {
        pids[i] = fx_fork();
        cr_assert(ge(int, pids[i], 0));
        if (pids[i] == 0)
            ev_child(sh);
    }
    deadline = fx_now() + 10.0;
    while (atomic_load(&sh->ready) < EV_PROCS * EV_THREADS &&
           fx_now() < deadline)
        fx_sleep_ms(5);
    cr_assert(eq(int, atomic_load(&sh->ready), EV_PROCS * EV_THREADS));
    fx_sleep_ms(200); /* margin for every wait to reach the daemon */
    cr_assert(eq(int, atomic_load(&sh->early), 0));
    cr_assert(eq(int, atomic_load(&sh->errors), 0));

    atomic_store(&sh->set_begun, 1);
    t0 = fx_now();
    cr_assert(eq(int, sync_event_set(e), 0));
    for (i = 0; i < EV_PROCS; i++)
        cr_assert(eq(int, fx_waitpid(pids[i], 10000), 0), "child %d", i);
    cr_assert(lt(dbl, fx_now() - t0, 5.0));
    cr_assert(eq(int, atomic_load(&sh->errors), 0));
    cr_assert(eq(int, atomic_load(&sh->early), 0));
    cr_assert(eq(int, atomic_load(&sh->woken), EV_PROCS * EV_THREADS));
    /* The flag stays set after waking everyone. */
    cr_assert(eq(int, sync_event_is_set(e), 1));
    sync_event_close(e);
    sync_disconnect(c);
}

/* ---- flag --------------------------------------------------------------- */

Test(event, is_set_follows_set_and_clear)
{
    sync_client *a = connect_ok(), *b = connect_ok();
    sync_event *ea, *eb;

    cr_assert(eq(int, sync_event_open(a, "ev/flag", &ea), 0));
    cr_assert(eq(int, sync_event_open(b, "ev/flag", &eb), 0));
    cr_assert(eq(int, sync_event_is_set(eb), 0));
    cr_assert(eq(int, sync_event_set(ea), 0));
    cr_assert(eq(int, sync_event_is_set(eb), 1));
    /* Setting twice is harmless. */
    cr_assert(eq(int, sync_event_set(eb), 0));
    cr_assert(eq(int, sync_event_is_set(ea), 1));
    cr_assert(eq(int, sync_event_clear(eb), 0));
    cr_assert(eq(int, sync_event_is_set(ea), 0));
    cr_assert(eq(int, sync_event_clear(ea), 0));
    cr_assert(eq(int, sync_event_is_set(eb), 0));
    sync_event_close(ea);
    sync_event_close(eb);
    sync_disconnect(a);
    sync_disconnect(b);
}

Test(event, wait_on_set_event_returns_at_once)
{
    sync_client *c = connect_ok();
    sync_event *e;
    double t0;

    cr_assert(eq(int, sync_event_open(c, "ev/set", &e), 0));
    cr_assert(eq(int, sync_event_set(e), 0));
    t0 = fx_now();
    cr_assert(eq(int, sync_event_wait(e, -1), 0));
    cr_assert(eq(int, sync_event_wait(e, 10.0), 0));
    cr_assert(eq(int, sync_event_wait(e, 0.0), 0));
    cr_assert(lt(dbl, fx_now() - t0, syncd_latency_s(0.1)));
    sync_event_close(e);
    sync_disconnect(c);
}

Test(event, wait_times_out_while_clear)
{
    sync_client *c = connect_ok();
    sync_event *e;
    double t0, dt;

    cr_assert(eq(int, sync_event_open(c, "ev/clear", &e), 0));
    t0 = fx_now();
    cr_assert(eq(int, sync_event_wait(e, 0.0), SYNC_ETIMEDOUT));
    cr_assert(eq(int, sync_event_wait(e, 0.1), SYNC_ETIMEDOUT));
    dt = fx_now() - t0;
    cr_assert(ge(dbl, dt, 0.09), "returned after %.3f s", dt);
    cr_assert(le(dbl, dt, 0.5), "returned after %.3f s", dt);
    /* set then clear: a later wait blocks again. */
    cr_assert(eq(int, sync_event_set(e), 0));
    cr_assert(eq(int, sync_event_clear(e), 0));
    cr_assert(eq(int, sync_event_wait(e, 0.05), SYNC_ETIMEDOUT));
    sync_event_close(e);
    sync_disconnect(c);
}

struct set_arg {
    sync_event *e;
    int rv;
};

static void *setter(void *p)
{
    struct set_arg *a = p;

    fx_sleep_ms(100);
    a->rv = sync_event_set(a->e);
    return NULL;
}

Test(event, set_from_another_thread_wakes_waiter_on_same_client)
{
    sync_client *c = connect_ok();
    struct set_arg a = {.rv = 1};
    pthread_t t;
    double t0;

    cr_assert(eq(int, sync_event_open(c, "ev/self", &a.e), 0));
    cr_assert(eq(int, pthread_create(&t, NULL, setter, &a), 0));
    t0 = fx_now();
    /* The blocked wait must not stop the set on the same connection. */
    cr_assert(eq(int, sync_event_wait(a.e, 10.0), 0));
    cr_assert(lt(dbl, fx_now() - t0, 5.0));
    pthread_join(t, NULL);
    cr_assert(eq(int, a.rv, 0));
    sync_event_close(a.e);
    sync_disconnect(c);
}

Test(event, open_existing_never_creates_and_ignores_parameters)
{
    sync_client *c;
    sync_event *e;
    sync_barrier *b;
    sync_sem *s;

    cr_assert(eq(int, sync_connect(syncd_fx.sock, &c), 0));
    cr_assert(eq(int, sync_set_open_existing(c, true), 0));
    cr_assert(eq(int, sync_event_open(c, "ex/ev", &e), SYNC_ENOENT));
    cr_assert(eq(ptr, e, NULL));
    cr_assert(eq(int, sync_barrier_open(c, "ex/b", 0, &b), SYNC_ENOENT));
    cr_assert(eq(int, sync_set_open_existing(c, false), 0));
    cr_assert(eq(int, sync_barrier_open(c, "ex/b", 0, &b), SYNC_EINVAL));
    cr_assert(eq(int, sync_barrier_open(c, "ex/b", 3, &b), 0));
    sync_barrier_close(b);
    cr_assert(eq(int, sync_sem_open(c, "ex/s", 5, &s), 0));
    sync_sem_close(s);
    cr_assert(eq(int, sync_sem_open(c, "ex/s", 2, &s), SYNC_EEXIST));
    /* Existing only: whatever value or parties it was created with. */
    cr_assert(eq(int, sync_set_open_existing(c, true), 0));
    cr_assert(eq(int, sync_sem_open(c, "ex/s", 2, &s), 0));
    cr_assert(eq(int, sync_sem_value(s), 5));
    sync_sem_close(s);
    cr_assert(eq(int, sync_barrier_open(c, "ex/b", 0, &b), 0));
    cr_assert(eq(int, sync_barrier_parties(b), 3));
    sync_barrier_close(b);
    /* The type still has to match. */
    cr_assert(eq(int, sync_event_open(c, "ex/s", &e), SYNC_ETYPE));
    sync_disconnect(c);
}
