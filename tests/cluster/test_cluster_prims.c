/*
 * test_cluster_prims.c: Semaphore, BoundedSemaphore, Condition and Barrier
 * on cluster/ names, through two agents ("hosts") sharing one 3-member
 * etcd, with real processes: the semaphore's limit across hosts (a
 * shared-memory witness), FIFO waiters, UNDO permits back after a kill
 * -9, bounded over-release, release by another process; a Condition's
 * producer and consumer on two hosts, notify(n), timeouts; a Barrier's
 * indices, its breaking by a timeout and by a party's kill -9, reset, its
 * action (once per round, a failing one, its runner's kill -9); an
 * agent's kill -9 (UNDO permits and barrier parties end with the lease,
 * after its TTL).
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "cluster_fx.h"

TestSuite(cluster_prims, .init = cfx_init, .fini = cfx_fini, .timeout = 60);

/* Let a request reach etcd and block there (nothing observes it). */
#define SETTLE_MS 300

static sync_sem *open_sem(sync_client *c, const char *name, unsigned v,
                          bool bounded, unsigned flags)
{
    sync_sem *s = NULL;

    cr_assert(eq(int, sync_sem_open_flags(c, name, v, bounded, flags, &s), 0));
    return s;
}

static void wait_for_count(atomic_int *n, int want)
{
    double t0 = fx_now();

    while (atomic_load(n) < want && fx_now() - t0 < 20)
        fx_sleep_ms(2);
    cr_assert(ge(int, atomic_load(n), want), "only %d of %d got there",
              atomic_load(n), want);
}

/* ---- Semaphore --------------------------------------------------------- */

struct sem_run {
    atomic_int inside, max_inside, over, done;
};

static int sem_worker(int agent, const char *name, struct sem_run *r,
                      unsigned flags)
{
    sync_client *c = cfx_connect_nofail(agent);
    sync_sem *s = NULL;
    int i, now, max;

    if (c == NULL || sync_sem_open_flags(c, name, 2, false, flags, &s) != 0)
        return 2;
    for (i = 0; i < 6; i++) {
        if (sync_sem_acquire(s, true, 30) != 0)
            return 3;
        now = atomic_fetch_add(&r->inside, 1) + 1;
        if (now > 2)
            atomic_fetch_add(&r->over, 1);
        max = atomic_load(&r->max_inside);
        while (now > max &&
               !atomic_compare_exchange_weak(&r->max_inside, &max, now))
            ;
        fx_sleep_ms(30);
        atomic_fetch_sub(&r->inside, 1);
        if (sync_sem_release(s, 1) != 0)
            return 4;
    }
    atomic_fetch_add(&r->done, 1);
    sync_disconnect(c);
    return 0;
}

/* Semaphore(2), three processes on two hosts: never three inside, two at
 * times; the value read from both agents is etcd's. */
Test(cluster_prims, semaphore_limits_across_agents)
{
    struct sem_run *r = fx_shared(sizeof(*r));
    sync_client *a = cfx_connect(0), *b = cfx_connect(1);
    sync_sem *sa = open_sem(a, cfx_name("S"), 2, false, 0);
    sync_sem *sb = open_sem(b, cfx_name("S"), 2, false, 0);
    pid_t p[3];
    int i;

    cr_assert(eq(int, sync_sem_value(sb), 2));
    cr_assert(eq(int, sync_sem_acquire(sa, false, -1), 0));
    cr_assert(eq(int, sync_sem_value(sb), 1));
    cr_assert(eq(int, sync_sem_acquire(sb, false, -1), 0));
    cr_assert(eq(int, sync_sem_value(sa), 0));
    cr_assert(eq(int, sync_sem_acquire(sb, false, -1), SYNC_ETIMEDOUT));
    cr_assert(eq(int, sync_sem_release(sa, 1), 0));
    cr_assert(eq(int, sync_sem_release(sa, 1), 0));
    cr_assert(eq(int, sync_sem_value(sb), 2));
    for (i = 0; i < 3; i++) {
        p[i] = fx_fork();
        if (p[i] == 0)
            _exit(sem_worker(i % 2, cfx_name("S"), r,
                             i == 2 ? SYNC_SEM_UNDO : 0));
    }
    for (i = 0; i < 3; i++)
        cr_assert(eq(int, fx_waitpid(p[i], 40000), 0), "worker %d", i);
    cr_assert(eq(int, atomic_load(&r->over), 0), "three inside at once");
    cr_assert(eq(int, atomic_load(&r->max_inside), 2));
    cr_assert(eq(int, sync_sem_value(sa), 2));
    sync_disconnect(a);
    sync_disconnect(b);
}

/* A permit taken through an UNDO handle comes back the moment its holder
 * is killed (its lease is revoked); a waiter on the other host gets it. */
Test(cluster_prims, undo_permit_back_after_kill9)
{
    atomic_int *held = fx_shared(sizeof(*held));
    sync_client *a = cfx_connect(0);
    sync_sem *sa = open_sem(a, cfx_name("U"), 1, true, 0);
    double t_kill;
    pid_t holder;

    holder = fx_fork();
    if (holder == 0) {
        sync_client *c = cfx_connect_nofail(1);
        sync_sem *s = NULL;

        if (c == NULL ||
            sync_sem_open_flags(c, cfx_name("U"), 1, true, SYNC_SEM_UNDO,
                                &s) != 0 ||
            sync_sem_acquire(s, true, 10) != 0)
            _exit(2);
        atomic_store(held, 1);
        pause();
        _exit(0);
    }
    wait_for_count(held, 1);
    cr_assert(eq(int, sync_sem_value(sa), 0));
    cr_assert(eq(int, sync_sem_acquire(sa, true, 0.2), SYNC_ETIMEDOUT));
    t_kill = fx_now();
    cr_assert(eq(int, kill(holder, SIGKILL), 0));
    cr_assert(eq(int, sync_sem_acquire(sa, true, 10), 0));
    cr_assert(lt(dbl, fx_now() - t_kill, 1.5), "permit back after %.3f s",
              fx_now() - t_kill);
    cr_assert(eq(int, fx_waitpid(holder, 5000), 128 + SIGKILL));
    /* Plain permits outlive their taker: this one is still out. */
    cr_assert(eq(int, sync_sem_value(sa), 0));
    cr_assert(eq(int, sync_sem_release(sa, 1), 0));
    sync_disconnect(a);
}

/* kill -9 of the holder's agent: nothing revokes the lease; the UNDO
 * permit comes back when it expires (TTL 3 s here). */
Test(cluster_prims, agent_killed_undo_permit_back_after_ttl)
{
    sync_client *a = cfx_connect(0), *b = cfx_connect(1);
    sync_sem *sa = open_sem(a, cfx_name("AT"), 1, true, 0);
    sync_sem *sb = open_sem(b, cfx_name("AT"), 1, true, SYNC_SEM_UNDO);
    double t_kill, waited;

    cr_assert(eq(int, sync_sem_acquire(sb, true, 5), 0));
    cr_assert(eq(int, sync_sem_value(sa), 0));
    t_kill = fx_now();
    cfx_kill_agent(1);
    cr_assert(eq(int, sync_sem_acquire(sa, true, 20), 0));
    waited = fx_now() - t_kill;
    /* Lease TTL 3 s after the last keepalive (sent every TTL/4). */
    cr_assert(ge(dbl, waited, 1.5), "permit back after %.3f s", waited);
    cr_assert(lt(dbl, waited, 6.0), "permit back after %.3f s", waited);
    cr_assert(eq(int, sync_sem_release(sa, 1), 0));
    sync_disconnect(b);
    sync_disconnect(a);
}

/* UNDO permits also come back when the handle closes; plain ones stay. */
Test(cluster_prims, undo_handle_close_gives_back)
{
    sync_client *a = cfx_connect(0), *b = cfx_connect(1);
    sync_sem *su = open_sem(a, cfx_name("C"), 3, false, SYNC_SEM_UNDO);
    sync_sem *sp = open_sem(a, cfx_name("C"), 3, false, 0);
    sync_sem *sb = open_sem(b, cfx_name("C"), 3, false, 0);

    cr_assert(eq(int, sync_sem_acquire(su, true, 5), 0));
    cr_assert(eq(int, sync_sem_acquire(su, true, 5), 0));
    cr_assert(eq(int, sync_sem_acquire(sp, true, 5), 0));
    cr_assert(eq(int, sync_sem_value(sb), 0));
    sync_sem_close(su);
    /* The close's give-back is its own etcd job: let it land. */
    for (int i = 0; i < 100 && sync_sem_value(sb) != 2; i++)
        fx_sleep_ms(20);
    cr_assert(eq(int, sync_sem_value(sb), 2));
    sync_disconnect(a);
    /* The plain permit stays taken after its client left. */
    cr_assert(eq(int, sync_sem_value(sb), 2));
    sync_disconnect(b);
}

/* BoundedSemaphore: a release past the initial value is SYNC_EVALUE (and
 * changes nothing); a Semaphore's goes above it, seen from both hosts. */
Test(cluster_prims, bounded_over_release_and_unbounded_growth)
{
    sync_client *a = cfx_connect(0), *b = cfx_connect(1);
    sync_sem *ba = open_sem(a, cfx_name("B"), 1, true, 0);
    sync_sem *bb = open_sem(b, cfx_name("B"), 1, true, 0);
    sync_sem *sa = open_sem(a, cfx_name("G"), 1, false, 0);
    sync_sem *sb = open_sem(b, cfx_name("G"), 1, false, 0);
    sync_sem *wrong = NULL;

    cr_assert(eq(int, sync_bsem_open(a, cfx_name("G"), 1, &wrong),
                 SYNC_ETYPE));
    cr_assert(eq(int, sync_sem_open(a, cfx_name("G"), 5, &wrong),
                 SYNC_EEXIST));
    cr_assert(eq(int, sync_sem_release(ba, 1), SYNC_EVALUE));
    cr_assert(eq(int, sync_sem_acquire(ba, false, -1), 0));
    cr_assert(eq(int, sync_sem_release(bb, 2), SYNC_EVALUE));
    cr_assert(eq(int, sync_sem_value(bb), 0));
    cr_assert(eq(int, sync_sem_release(bb, 1), 0));
    cr_assert(eq(int, sync_sem_release(ba, 1), SYNC_EVALUE));
    cr_assert(eq(int, sync_sem_value(ba), 1));
    cr_assert(eq(int, sync_sem_release(sa, 2), 0));
    cr_assert(eq(int, sync_sem_value(sb), 3));
    cr_assert(eq(int, sync_sem_acquire(sb, false, -1), 0));
    cr_assert(eq(int, sync_sem_value(sa), 2));
    sync_disconnect(a);
    sync_disconnect(b);
}

/* threading.Semaphore has no owner: another process on another host may
 * release the permit a waiter needs. */
Test(cluster_prims, plain_release_by_another_process)
{
    atomic_int *waiting = fx_shared(sizeof(*waiting));
    atomic_int *got = fx_shared(sizeof(*got));
    sync_client *a = cfx_connect(0);
    sync_sem *sa = open_sem(a, cfx_name("P"), 1, false, 0);
    pid_t waiter, releaser;

    cr_assert(eq(int, sync_sem_acquire(sa, true, 5), 0));
    waiter = fx_fork();
    if (waiter == 0) {
        sync_client *c = cfx_connect_nofail(1);
        sync_sem *s = NULL;

        if (c == NULL || sync_sem_open(c, cfx_name("P"), 1, &s) != 0)
            _exit(2);
        atomic_store(waiting, 1);
        if (sync_sem_acquire(s, true, 20) != 0)
            _exit(3);
        atomic_store(got, 1);
        _exit(0);
    }
    wait_for_count(waiting, 1);
    fx_sleep_ms(SETTLE_MS);
    cr_assert(eq(int, atomic_load(got), 0));
    releaser = fx_fork();
    if (releaser == 0) {
        sync_client *c = cfx_connect_nofail(1);
        sync_sem *s = NULL;

        _exit(c == NULL || sync_sem_open(c, cfx_name("P"), 1, &s) != 0 ||
                      sync_sem_release(s, 1) != 0
                  ? 2
                  : 0);
    }
    cr_assert(eq(int, fx_waitpid(releaser, 10000), 0));
    cr_assert(eq(int, fx_waitpid(waiter, 10000), 0));
    cr_assert(eq(int, atomic_load(got), 1));
    sync_disconnect(a);
}

/*
 * etcd applies an UNDO handle's release but its answer is lost (the
 * leader died between commit and reply): the agent sends the txn again
 * to the next member, where its guard no longer holds.  The release
 * happened once: it gave back its own permit, and not, again, the one
 * another host's client still holds.
 */
Test(cluster_prims, release_whose_answer_was_lost_acts_once)
{
    sync_client *b = cfx_connect(1), *l, *c;
    sync_sem *sb, *sl, *sc;

    /* The release: a txn that compares the guard and deletes a permit. */
    cfx_start_lossy_agent(0, false, "\"compare\"",
                          "\"request_delete_range\"");
    l = cfx_connect(CFX_LOSSY);
    c = cfx_connect(0);
    sb = open_sem(b, cfx_name("lost-answer"), 2, false, SYNC_SEM_UNDO);
    sl = open_sem(l, cfx_name("lost-answer"), 2, false, SYNC_SEM_UNDO);
    sc = open_sem(c, cfx_name("lost-answer"), 2, false, SYNC_SEM_UNDO);
    cr_assert(eq(int, sync_sem_acquire(sb, true, 10), 0));
    cr_assert(eq(int, sync_sem_acquire(sl, true, 10), 0));
    cr_assert(eq(int, sync_sem_value(sc), 0));
    cr_assert(eq(int, sync_sem_release(sl, 1), 0));
    cr_assert(cfx_proxy_dropped(), "the release's answer was not dropped");
    /* B still holds its permit: one is free, not two. */
    cr_assert(eq(int, sync_sem_value(sc), 1));
    cr_assert(eq(int, sync_sem_acquire(sc, true, 10), 0));
    cr_assert(eq(int, sync_sem_acquire(sc, true, 0.3), SYNC_ETIMEDOUT));
    cr_assert(eq(int, sync_sem_release(sb, 1), 0));
    cr_assert(eq(int, sync_sem_release(sc, 1), 0));
    cr_assert(eq(int, sync_sem_value(sc), 2));
    sync_disconnect(c);
    sync_disconnect(l);
    sync_disconnect(b);
}

/* Poll sync_sem_value(s) until it is want (5 s at most); the last value. */
static int sem_value_becomes(sync_sem *s, int want)
{
    int v = sync_sem_value(s);

    for (int k = 0; k < 250 && v != want; k++) {
        fx_sleep_ms(20);
        v = sync_sem_value(s);
    }
    return v;
}

/*
 * Every answer to an UNDO acquire's take is lost (its agent reaches etcd
 * through the lossy proxy alone): etcd made the permit key, the client is
 * told SYNC_EUNAVAIL.  That permit must not stay taken by nobody for as
 * long as the session lives: the agent deletes the key.
 */
Test(cluster_prims, acquire_whose_answers_were_lost_takes_nothing)
{
    sync_client *b = cfx_connect(1), *l;
    sync_sem *sb, *sl;

    /* The take: a guarded txn whose permit key has the lease. */
    cfx_start_lossy_agent(6.5, true, "\"compare\"", "\"lease\"");
    l = cfx_connect(CFX_LOSSY);
    sb = open_sem(b, cfx_name("lost-take"), 2, false, SYNC_SEM_UNDO);
    sl = open_sem(l, cfx_name("lost-take"), 2, false, SYNC_SEM_UNDO);
    cr_assert(eq(int, sync_sem_acquire(sl, true, 20), SYNC_EUNAVAIL));
    cr_assert(cfx_proxy_dropped(), "no answer was dropped");
    cr_assert(eq(int, sem_value_becomes(sb, 2), 2),
              "the permit etcd took for the failed acquire stayed taken");
    sync_disconnect(l);
    sync_disconnect(b);
}

/*
 * Every answer to an UNDO handle's release is lost for a while: the
 * client is told SYNC_EUNAVAIL, and etcd may have given the permit back.
 * The agent cannot tell, so (as for a Lock) it ends the lease: the permit
 * is gone either way and counted lost, and a release sent again says
 * SYNC_ELOST instead of giving back the permit another host holds.
 */
Test(cluster_prims, release_whose_answers_were_lost_gives_back_nothing_else)
{
    sync_client *b = cfx_connect(1), *l;
    sync_sem *sb, *sl;
    double t0;

    cfx_start_lossy_agent(6.5, true, "\"compare\"",
                          "\"request_delete_range\"");
    l = cfx_connect(CFX_LOSSY);
    sb = open_sem(b, cfx_name("lost-release"), 2, false, SYNC_SEM_UNDO);
    sl = open_sem(l, cfx_name("lost-release"), 2, false, SYNC_SEM_UNDO);
    cr_assert(eq(int, sync_sem_acquire(sb, true, 10), 0));
    cr_assert(eq(int, sync_sem_acquire(sl, true, 10), 0));
    t0 = fx_now();
    cr_assert(eq(int, sync_sem_release(sl, 1), SYNC_EUNAVAIL));
    cr_assert(cfx_proxy_dropped(), "no answer was dropped");
    cr_assert(file_contains(cfx.log[CFX_LOSSY], "given up"),
              "the agent kept a lease it cannot vouch for");
    /* The proxy passes releases again: one sent now would reach etcd. */
    fx_sleep_ms((int)(1000 * (7.0 - (fx_now() - t0))));
    cr_assert(eq(int, sync_sem_release(sl, 1), SYNC_ELOST));
    /* B's permit is still B's. */
    cr_assert(eq(int, sem_value_becomes(sb, 1), 1));
    cr_assert(eq(int, sync_sem_release(sb, 1), 0));
    cr_assert(eq(int, sync_sem_value(sb), 2));
    sync_disconnect(l);
    sync_disconnect(b);
}

struct undo_wait {
    atomic_int waiting, got;
    double t_got;
};

/* An UNDO acquire on agent i; holds its permit 100 ms.  0 or the step
 * that failed. */
static int undo_waiter(int agent, const char *name, struct undo_wait *w)
{
    sync_client *c = cfx_connect_nofail(agent);
    sync_sem *s = NULL;

    if (c == NULL ||
        sync_sem_open_flags(c, name, 1, false, SYNC_SEM_UNDO, &s) != 0)
        return 2;
    atomic_store(&w->waiting, 1);
    if (sync_sem_acquire(s, true, 20) != 0)
        return 3;
    w->t_got = fx_now();
    atomic_store(&w->got, 1);
    fx_sleep_ms(100);
    if (sync_sem_release(s, 1) != 0)
        return 4;
    sync_disconnect(c);
    return 0;
}

/*
 * As a Lock's waiter (test_cluster.c): an UNDO acquire waiting when its
 * agent gives the lease up (keepalive answers lost for 2.7 s) lost its
 * waiter key, not a permit: it waits on under a new lease and gets the
 * permit when it is given back, rather than an error.
 */
Test(cluster_prims, undo_waiter_whose_lease_was_given_up_waits_on)
{
    struct undo_wait *w = fx_shared(sizeof(*w));
    sync_client *b = cfx_connect(1);
    sync_sem *sb = open_sem(b, cfx_name("requeue"), 1, false, SYNC_SEM_UNDO);
    double t_rel;
    pid_t pid;

    cr_assert(eq(int, sync_sem_acquire(sb, true, 3), 0));
    cfx_start_keepalive_losing_agent();
    pid = fx_fork();
    if (pid == 0)
        _exit(undo_waiter(CFX_LOSSY, cfx_name("requeue"), w));
    while (!atomic_load(&w->waiting))
        fx_sleep_ms(2);
    cfx_await_lease_given_up();
    cr_assert(eq(int, atomic_load(&w->got), 0), "one permit, two holders");
    t_rel = fx_now();
    cr_assert(eq(int, sync_sem_release(sb, 1), 0));
    cr_assert(eq(int, fx_waitpid(pid, 10000), 0),
              "the waiter failed (see %s)", cfx.log[CFX_LOSSY]);
    cr_assert(lt(dbl, w->t_got - t_rel, 1.5), "handoff took %.3f s",
              w->t_got - t_rel);
    cr_assert(file_contains(cfx.log[CFX_LOSSY], "under a new lease"));
    cr_assert(eq(int, sem_value_becomes(sb, 1), 1),
              "the waiter's permit did not come back");
    sync_disconnect(b);
}

struct fifo {
    atomic_int queued, n;
    atomic_int order[3];
};

/* Semaphore waiters on two hosts are served in the order they queued. */
Test(cluster_prims, semaphore_waiters_fifo_across_agents)
{
    struct fifo *f = fx_shared(sizeof(*f));
    sync_client *a = cfx_connect(0);
    sync_sem *sa = open_sem(a, cfx_name("F"), 0, false, 0);
    pid_t p[3];
    int i;

    for (i = 0; i < 3; i++) {
        p[i] = fx_fork();
        if (p[i] == 0) {
            sync_client *c = cfx_connect_nofail(i % 2);
            sync_sem *s = NULL;

            if (c == NULL || sync_sem_open(c, cfx_name("F"), 0, &s) != 0)
                _exit(2);
            atomic_fetch_add(&f->queued, 1);
            if (sync_sem_acquire(s, true, 20) != 0)
                _exit(3);
            atomic_store(&f->order[atomic_fetch_add(&f->n, 1)], i);
            _exit(0);
        }
        wait_for_count(&f->queued, i + 1);
        fx_sleep_ms(SETTLE_MS);
    }
    for (i = 0; i < 3; i++) {
        cr_assert(eq(int, sync_sem_release(sa, 1), 0));
        wait_for_count(&f->n, i + 1);
        cr_assert(eq(int, atomic_load(&f->order[i]), i),
                  "grant %d went to waiter %d", i, atomic_load(&f->order[i]));
    }
    for (i = 0; i < 3; i++)
        cr_assert(eq(int, fx_waitpid(p[i], 10000), 0));
    cr_assert(eq(int, sync_sem_value(sa), 0));
    sync_disconnect(a);
}

/* ---- Condition --------------------------------------------------------- */

struct queue {
    atomic_int items, consumed, waiting, woken;
};

static bool queue_has_item(void *arg)
{
    return atomic_load(&((struct queue *)arg)->items) > 0;
}

static int consumer(int agent, const char *cond, const char *lock,
                    struct queue *q, int n)
{
    sync_client *c = cfx_connect_nofail(agent);
    sync_cond *cv = NULL;
    int i;

    if (c == NULL || sync_cond_open(c, cond, lock, &cv) != 0)
        return 2;
    for (i = 0; i < n; i++) {
        if (sync_cond_acquire(cv, true, 20) != 0)
            return 3;
        atomic_fetch_add(&q->waiting, 1);
        if (sync_cond_wait_for(cv, queue_has_item, q, 20) != 0)
            return 4;
        if (sync_cond_is_owned(cv) != 1)
            return 5;
        atomic_fetch_sub(&q->items, 1);
        atomic_fetch_add(&q->consumed, 1);
        if (sync_cond_release(cv) != 0)
            return 6;
    }
    sync_disconnect(c);
    return 0;
}

static int sleeper(int agent, const char *cond, struct queue *q);

/*
 * notify(1)'s txn is applied but its answer lost: sent again, it finds
 * the waiter it marked changed.  It must count that waiter as woken, not
 * wake a second one in its place.
 */
Test(cluster_prims, notify_whose_answer_was_lost_wakes_one)
{
    struct queue *q = fx_shared(sizeof(*q));
    sync_client *l;
    sync_cond *cv = NULL;
    pid_t p[2];
    int i;

    /* A wake: it marks the waiter, ignoring its lease. */
    cfx_start_lossy_agent(0, false, "\"compare\"", "\"ignore_lease\"");
    l = cfx_connect(CFX_LOSSY);
    cr_assert(eq(int, sync_cond_open(l, cfx_name("NL"), NULL, &cv), 0));
    for (i = 0; i < 2; i++) {
        p[i] = fx_fork();
        if (p[i] == 0)
            _exit(sleeper(i, cfx_name("NL"), q));
    }
    wait_for_count(&q->waiting, 2);
    fx_sleep_ms(SETTLE_MS);
    cr_assert(eq(int, sync_cond_acquire(cv, true, 20), 0));
    cr_assert(eq(int, sync_cond_notify(cv, 1), 0));
    cr_assert(eq(int, sync_cond_release(cv), 0));
    cr_assert(cfx_proxy_dropped(), "the wake's answer was not dropped");
    wait_for_count(&q->woken, 1);
    fx_sleep_ms(1000);
    cr_assert(eq(int, atomic_load(&q->woken), 1), "notify(1) woke %d",
              atomic_load(&q->woken));
    cr_assert(eq(int, sync_cond_acquire(cv, true, 20), 0));
    cr_assert(eq(int, sync_cond_notify_all(cv), 0));
    cr_assert(eq(int, sync_cond_release(cv), 0));
    for (i = 0; i < 2; i++)
        cr_assert(eq(int, fx_waitpid(p[i], 30000), 0), "waiter %d", i);
    sync_disconnect(l);
}

/* A producer on host A, a consumer on host B, one cluster Lock. */
Test(cluster_prims, condition_producer_consumer_across_agents)
{
    struct queue *q = fx_shared(sizeof(*q));
    sync_client *a = cfx_connect(0);
    sync_cond *cv = NULL;
    pid_t p;
    int i;

    cr_assert(eq(int, sync_cond_open(a, cfx_name("Q"), cfx_name("QL"), &cv),
                 0));
    p = fx_fork();
    if (p == 0)
        _exit(consumer(1, cfx_name("Q"), cfx_name("QL"), q, 4));
    for (i = 0; i < 4; i++) {
        wait_for_count(&q->waiting, i + 1);
        fx_sleep_ms(50);
        cr_assert(eq(int, sync_cond_acquire(cv, true, 20), 0));
        atomic_fetch_add(&q->items, 1);
        cr_assert(eq(int, sync_cond_notify(cv, 1), 0));
        cr_assert(eq(int, sync_cond_release(cv), 0));
    }
    cr_assert(eq(int, fx_waitpid(p, 30000), 0));
    cr_assert(eq(int, atomic_load(&q->consumed), 4));
    sync_disconnect(a);
}

static int sleeper(int agent, const char *cond, struct queue *q)
{
    sync_client *c = cfx_connect_nofail(agent);
    sync_cond *cv = NULL;
    int rv;

    if (c == NULL || sync_cond_open(c, cond, NULL, &cv) != 0 ||
        sync_cond_acquire(cv, true, 20) != 0)
        return 2;
    atomic_fetch_add(&q->waiting, 1);
    rv = sync_cond_wait(cv, 20);
    if (rv != 0)
        return 3;
    atomic_fetch_add(&q->woken, 1);
    if (sync_cond_depth(cv) != 1 || sync_cond_release(cv) != 0)
        return 4;
    sync_disconnect(c);
    return 0;
}

/* notify(2) wakes two of three waiters (on two hosts), notify_all the
 * third; each returns holding the condition's private RLock. */
Test(cluster_prims, condition_notify_n_wakes_n)
{
    struct queue *q = fx_shared(sizeof(*q));
    sync_client *a = cfx_connect(0);
    sync_cond *cv = NULL;
    pid_t p[3];
    int i;

    cr_assert(eq(int, sync_cond_open(a, cfx_name("N"), NULL, &cv), 0));
    for (i = 0; i < 3; i++) {
        p[i] = fx_fork();
        if (p[i] == 0)
            _exit(sleeper(i % 2, cfx_name("N"), q));
    }
    wait_for_count(&q->waiting, 3);
    fx_sleep_ms(SETTLE_MS);
    cr_assert(eq(int, sync_cond_notify(cv, 1), SYNC_EPERM));
    cr_assert(eq(int, sync_cond_acquire(cv, true, 20), 0));
    cr_assert(eq(int, sync_cond_notify(cv, 2), 0));
    cr_assert(eq(int, sync_cond_release(cv), 0));
    wait_for_count(&q->woken, 2);
    fx_sleep_ms(500);
    cr_assert(eq(int, atomic_load(&q->woken), 2), "notify(2) woke %d",
              atomic_load(&q->woken));
    cr_assert(eq(int, sync_cond_acquire(cv, true, 20), 0));
    cr_assert(eq(int, sync_cond_notify_all(cv), 0));
    cr_assert(eq(int, sync_cond_release(cv), 0));
    for (i = 0; i < 3; i++)
        cr_assert(eq(int, fx_waitpid(p[i], 20000), 0), "waiter %d", i);
    cr_assert(eq(int, atomic_load(&q->woken), 3));
    sync_disconnect(a);
}

/* ---- notify order: threads of one client among other clients ---------- */

#define ORD_W 7          /* waiters: even ones threads of the test's client
                            on host A, odd ones processes on host B */
#define ORD_ROUNDS 2

struct order_run {
    atomic_int start[ORD_ROUNDS][ORD_W];
    atomic_int entered, n;
    int order[ORD_ROUNDS][ORD_W];
    atomic_int failed;
};

struct order_arg {
    struct order_run *r;
    sync_client *c;      /* a thread's: the test's client */
    int idx, agent;
};

/* Wait ORD_ROUNDS times, each when told to; record the order in which
 * the waits return (holding the lock). */
static int order_waiter(struct order_arg *w)
{
    sync_client *c = w->c ? w->c : cfx_connect_nofail(w->agent);
    sync_cond *cv = NULL;
    int round;

    if (c == NULL || sync_cond_open(c, cfx_name("ORD"), NULL, &cv) != 0)
        return 2;
    for (round = 0; round < ORD_ROUNDS; round++) {
        while (atomic_load(&w->r->start[round][w->idx]) == 0)
            fx_sleep_ms(2);
        if (sync_cond_acquire(cv, true, 20) != 0)
            return 3;
        atomic_fetch_add(&w->r->entered, 1);
        if (sync_cond_wait(cv, 30) != 0)
            return 4;
        w->r->order[round][atomic_fetch_add(&w->r->n, 1) % ORD_W] = w->idx;
        if (sync_cond_release(cv) != 0)
            return 5;
    }
    sync_cond_close(cv);
    return 0;
}

static void *order_thread(void *arg)
{
    struct order_arg *w = arg;

    if (order_waiter(w) != 0)
        atomic_fetch_add(&w->r->failed, 1);
    return NULL;
}

/* notify_all wakes seven waiters, four of them threads of one client
 * (host A) queued between the waits of three processes on host B: they
 * get the lock back in the order they waited, whatever the order in
 * which their wake-ups reach their agents. */
Test(cluster_prims, condition_notify_order_threads_of_one_client)
{
    struct order_run *r = fx_shared(sizeof(*r));
    struct order_arg args[ORD_W];
    sync_client *a = cfx_connect(0);
    pthread_t t[ORD_W];
    sync_cond *cv = NULL;
    pid_t p[ORD_W];
    int i, round;

    cr_assert(eq(int, sync_cond_open(a, cfx_name("ORD"), NULL, &cv), 0));
    for (i = 0; i < ORD_W; i++)
        args[i] = (struct order_arg){.r = r, .idx = i, .agent = 1,
                                     .c = i % 2 == 0 ? a : NULL};
    /* The processes first: no fork once threads run. */
    for (i = 1; i < ORD_W; i += 2)
        if ((p[i] = fx_fork()) == 0)
            _exit(order_waiter(&args[i]));
    for (i = 0; i < ORD_W; i += 2)
        cr_assert(eq(int, pthread_create(&t[i], NULL, order_thread, &args[i]),
                     0));
    for (round = 0; round < ORD_ROUNDS; round++) {
        /* One at a time, in index order: the lock is ours again only
         * once the waiter's wait released it. */
        for (i = 0; i < ORD_W; i++) {
            atomic_store(&r->start[round][i], 1);
            wait_for_count(&r->entered, round * ORD_W + i + 1);
            cr_assert(eq(int, sync_cond_acquire(cv, true, 20), 0));
            cr_assert(eq(int, sync_cond_release(cv), 0));
        }
        cr_assert(eq(int, sync_cond_acquire(cv, true, 20), 0));
        cr_assert(eq(int, sync_cond_notify_all(cv), 0));
        /* Round 1: the wake-ups reach the agents while we hold it. */
        if (round == 1)
            fx_sleep_ms(SETTLE_MS);
        cr_assert(eq(int, sync_cond_release(cv), 0));
        wait_for_count(&r->n, (round + 1) * ORD_W);
        for (i = 0; i < ORD_W; i++)
            cr_assert(eq(int, r->order[round][i], i),
                      "round %d: the %d-th to get the lock back was waiter "
                      "%d", round, i, r->order[round][i]);
    }
    for (i = 0; i < ORD_W; i++) {
        if (i % 2 == 0)
            cr_assert(eq(int, pthread_join(t[i], NULL), 0));
        else
            cr_assert(eq(int, fx_waitpid(p[i], 10000), 0), "waiter %d", i);
    }
    cr_assert(eq(int, atomic_load(&r->failed), 0));
    sync_cond_close(cv);
    sync_disconnect(a);
}

/* A wait that times out returns SYNC_ETIMEDOUT holding the lock again
 * (every RLock level); a Condition needs a cluster lock. */
Test(cluster_prims, condition_timeout_and_errors)
{
    sync_client *a = cfx_connect(0), *b = cfx_connect(1);
    sync_cond *cv = NULL, *bad = NULL;
    sync_rlock *rb = NULL;
    double t0;

    cr_assert(eq(int, sync_cond_open(a, cfx_name("T"), cfx_name("TL"), &cv),
                 0));
    cr_assert(eq(int, sync_cond_open(a, cfx_name("T2"), "local-lock", &bad),
                 SYNC_EINVAL));
    cr_assert(eq(int, sync_cond_open(a, cfx_name("T"), cfx_name("other"),
                                     &bad),
                 SYNC_EEXIST));
    cr_assert(eq(int, sync_cond_wait(cv, 0.1), SYNC_EPERM));
    cr_assert(eq(int, sync_cond_acquire(cv, true, 5), 0));
    cr_assert(eq(int, sync_cond_acquire(cv, true, 5), 0));
    cr_assert(eq(int, sync_cond_depth(cv), 2));
    /* The lock is an RLock created by the open, seen from host B. */
    cr_assert(eq(int, sync_rlock_open(b, cfx_name("TL"), &rb), 0));
    cr_assert(eq(int, sync_rlock_locked(rb), 1));
    t0 = fx_now();
    cr_assert(eq(int, sync_cond_wait(cv, 0.5), SYNC_ETIMEDOUT));
    cr_assert(ge(dbl, fx_now() - t0, 0.5));
    cr_assert(lt(dbl, fx_now() - t0, 3.0));
    cr_assert(eq(int, sync_cond_is_owned(cv), 1));
    cr_assert(eq(int, sync_cond_depth(cv), 2));
    cr_assert(eq(int, sync_rlock_acquire(rb, false, -1), SYNC_ETIMEDOUT));
    cr_assert(eq(int, sync_cond_release(cv), 0));
    cr_assert(eq(int, sync_cond_release(cv), 0));
    cr_assert(eq(int, sync_rlock_acquire(rb, true, 5), 0));
    cr_assert(eq(int, sync_rlock_release(rb), 0));
    sync_disconnect(a);
    sync_disconnect(b);
}

/* ---- Barrier ----------------------------------------------------------- */

struct round {
    atomic_int arrived;
    atomic_int index[2][3];  /* per round: how many got each index */
    atomic_int broken;
};

static int party(int agent, const char *name, struct round *r, int rounds,
                 double timeout)
{
    sync_client *c = cfx_connect_nofail(agent);
    sync_barrier *b = NULL;
    int i, idx;

    if (c == NULL || sync_barrier_open(c, name, 3, &b) != 0)
        return 2;
    for (i = 0; i < rounds; i++) {
        atomic_fetch_add(&r->arrived, 1);
        idx = sync_barrier_wait(b, timeout);
        if (idx == SYNC_EBROKEN) {
            atomic_fetch_add(&r->broken, 1);
            return 0;
        }
        if (idx < 0 || idx > 2)
            return 3;
        atomic_fetch_add(&r->index[i][idx], 1);
    }
    sync_disconnect(c);
    return 0;
}

/* Three processes on two hosts, two rounds: each round hands out 0, 1
 * and 2 once; n_waiting and parties are etcd's. */
Test(cluster_prims, barrier_three_parties_two_agents)
{
    struct round *r = fx_shared(sizeof(*r));
    sync_client *a = cfx_connect(0);
    sync_barrier *b = NULL;
    pid_t p[3];
    int i, k;

    cr_assert(eq(int, sync_barrier_open(a, cfx_name("R"), 3, &b), 0));
    cr_assert(eq(int, sync_barrier_parties(b), 3));
    for (i = 0; i < 2; i++) {
        p[i] = fx_fork();
        if (p[i] == 0)
            _exit(party(i, cfx_name("R"), r, 2, 20));
    }
    /* Two wait for the third: n_waiting says so on both hosts. */
    for (k = 0; k < 200 && sync_barrier_n_waiting(b) < 2; k++)
        fx_sleep_ms(20);
    cr_assert(eq(int, sync_barrier_n_waiting(b), 2));
    cr_assert(eq(int, sync_barrier_broken(b), 0));
    p[2] = fx_fork();
    if (p[2] == 0)
        _exit(party(1, cfx_name("R"), r, 2, 20));
    for (i = 0; i < 3; i++)
        cr_assert(eq(int, fx_waitpid(p[i], 30000), 0), "party %d", i);
    for (i = 0; i < 2; i++)
        for (k = 0; k < 3; k++)
            cr_assert(eq(int, atomic_load(&r->index[i][k]), 1),
                      "round %d index %d given %d times", i, k,
                      atomic_load(&r->index[i][k]));
    cr_assert(eq(int, sync_barrier_n_waiting(b), 0));
    sync_disconnect(a);
}

/* A party's timeout breaks the barrier for everyone; reset mends it. */
Test(cluster_prims, barrier_timeout_breaks_for_all_and_reset)
{
    struct round *r = fx_shared(sizeof(*r));
    sync_client *a = cfx_connect(0);
    sync_barrier *b = NULL;
    double t0;
    pid_t p;

    cr_assert(eq(int, sync_barrier_open(a, cfx_name("O"), 3, &b), 0));
    p = fx_fork();
    if (p == 0)
        _exit(party(1, cfx_name("O"), r, 1, 20));
    wait_for_count(&r->arrived, 1);
    fx_sleep_ms(SETTLE_MS);
    t0 = fx_now();
    cr_assert(eq(int, sync_barrier_wait(b, 0.5), SYNC_EBROKEN));
    cr_assert(ge(dbl, fx_now() - t0, 0.5));
    cr_assert(eq(int, fx_waitpid(p, 10000), 0));
    cr_assert(lt(dbl, fx_now() - t0, 3.0), "the other party woke late");
    cr_assert(eq(int, atomic_load(&r->broken), 1));
    cr_assert(eq(int, sync_barrier_broken(b), 1));
    cr_assert(eq(int, sync_barrier_wait(b, 1), SYNC_EBROKEN));
    cr_assert(eq(int, sync_barrier_reset(b), 0));
    cr_assert(eq(int, sync_barrier_broken(b), 0));
    /* A reset wakes the round's waiters with SYNC_EBROKEN, unbroken. */
    p = fx_fork();
    if (p == 0)
        _exit(party(0, cfx_name("O"), r, 1, 20));
    wait_for_count(&r->arrived, 2);
    fx_sleep_ms(SETTLE_MS);
    cr_assert(eq(int, sync_barrier_reset(b), 0));
    cr_assert(eq(int, fx_waitpid(p, 10000), 0));
    cr_assert(eq(int, atomic_load(&r->broken), 2));
    cr_assert(eq(int, sync_barrier_broken(b), 0));
    cr_assert(eq(int, sync_barrier_abort(b), 0));
    cr_assert(eq(int, sync_barrier_broken(b), 1));
    sync_disconnect(a);
}

/* kill -9 of a waiting party: its lease is revoked, its arrival key goes,
 * and the party still waiting on the other host is told: broken. */
Test(cluster_prims, barrier_party_killed_breaks_it)
{
    struct round *r = fx_shared(sizeof(*r));
    atomic_int *in = fx_shared(sizeof(*in));
    sync_barrier *b = NULL;
    sync_client *a = cfx_connect(0);
    double t_kill;
    pid_t victim, other;

    cr_assert(eq(int, sync_barrier_open(a, cfx_name("K"), 3, &b), 0));
    victim = fx_fork();
    if (victim == 0) {
        sync_client *c = cfx_connect_nofail(0);
        sync_barrier *vb = NULL;

        if (c == NULL || sync_barrier_open(c, cfx_name("K"), 3, &vb) != 0)
            _exit(2);
        atomic_store(in, 1);
        (void)sync_barrier_wait(vb, 30);
        _exit(3);
    }
    wait_for_count(in, 1);
    other = fx_fork();
    if (other == 0)
        _exit(party(1, cfx_name("K"), r, 1, 20));
    wait_for_count(&r->arrived, 1);
    for (int k = 0; k < 200 && sync_barrier_n_waiting(b) < 2; k++)
        fx_sleep_ms(20);
    cr_assert(eq(int, sync_barrier_n_waiting(b), 2));
    t_kill = fx_now();
    cr_assert(eq(int, kill(victim, SIGKILL), 0));
    cr_assert(eq(int, fx_waitpid(other, 10000), 0));
    cr_assert(lt(dbl, fx_now() - t_kill, 2.0), "broken after %.3f s",
              fx_now() - t_kill);
    cr_assert(eq(int, atomic_load(&r->broken), 1));
    cr_assert(eq(int, sync_barrier_broken(b), 1));
    cr_assert(eq(int, fx_waitpid(victim, 5000), 128 + SIGKILL));
    sync_disconnect(a);
}

/* kill -9 of a waiting party's agent: its arrival key expires with the
 * lease (TTL 3 s), and the party waiting on the other host is told:
 * broken. */
Test(cluster_prims, agent_killed_party_breaks_barrier_after_ttl)
{
    struct round *r = fx_shared(sizeof(*r));
    atomic_int *in = fx_shared(sizeof(*in));
    sync_client *a = cfx_connect(0);
    sync_barrier *ba = NULL;
    double t_kill, waited;
    pid_t x, y;

    cr_assert(eq(int, sync_barrier_open(a, cfx_name("ATB"), 3, &ba), 0));
    x = fx_fork();
    if (x == 0) {
        sync_client *c = cfx_connect_nofail(1);
        sync_barrier *cb = NULL;

        if (c == NULL || sync_barrier_open(c, cfx_name("ATB"), 3, &cb) != 0)
            _exit(2);
        atomic_store(in, 1);
        (void)sync_barrier_wait(cb, 30); /* ends with its agent */
        _exit(0);
    }
    wait_for_count(in, 1);
    y = fx_fork();
    if (y == 0)
        _exit(party(0, cfx_name("ATB"), r, 1, 30));
    for (int k = 0; k < 250 && sync_barrier_n_waiting(ba) < 2; k++)
        fx_sleep_ms(20);
    cr_assert(eq(int, sync_barrier_n_waiting(ba), 2));
    t_kill = fx_now();
    cfx_kill_agent(1);
    cr_assert(eq(int, fx_waitpid(y, 15000), 0));
    waited = fx_now() - t_kill;
    cr_assert(eq(int, atomic_load(&r->broken), 1));
    cr_assert(ge(dbl, waited, 1.5), "broken after %.3f s", waited);
    cr_assert(lt(dbl, waited, 8.0), "broken after %.3f s", waited);
    cr_assert(eq(int, sync_barrier_broken(ba), 1));
    (void)fx_waitpid(x, 10000);
    sync_disconnect(a);
}

/* ---- Barrier action ------------------------------------------------------ */

#define ACT_ROUNDS 3

/* What the parties of an action test share. */
struct act_run {
    atomic_int actions[ACT_ROUNDS + 1]; /* actions run, per round */
    atomic_int effect[ACT_ROUNDS + 1];  /* the action's effect, once done */
    atomic_int early;       /* parties released before the effect showed */
    atomic_int actor_pid, actor_index;
    atomic_int result[4];   /* each party's last wait */
    atomic_int arrived;
    atomic_int during;      /* arrivals while round 0's action ran */
    int sleep_ms;           /* how long the action takes */
};

static struct act_run *ar;

/* Count the action per round and take a while, so that a party released
 * before it ended would see no effect yet. */
static int counting_action(void *arg)
{
    int round = *(int *)arg;

    atomic_store(&ar->actor_pid, (int)getpid());
    atomic_fetch_add(&ar->actions[round], 1);
    fx_sleep_ms(ar->sleep_ms > 0 ? ar->sleep_ms : 150);
    atomic_store(&ar->effect[round], 1);
    return 0;
}

/* A party on agent `agent`: ACT_ROUNDS rounds of barrier name (3
 * parties), offering action (NULL: none); returns its exit code. */
static int act_party(int agent, const char *name, int (*action)(void *),
                     int slot, int rounds)
{
    sync_client *c = cfx_connect_nofail(agent);
    sync_barrier *b = NULL;
    int r, idx;

    if (c == NULL || sync_barrier_open(c, name, 3, &b) != 0)
        return 2;
    for (r = 0; r < rounds; r++) {
        int round = r;

        atomic_fetch_add(&ar->arrived, 1);
        idx = sync_barrier_wait_action(b, 20, action, &round);
        atomic_store(&ar->result[slot], idx);
        if (idx < 0 || idx > 2)
            return 0;
        if (atomic_load(&ar->effect[r]) != 1)
            atomic_fetch_add(&ar->early, 1);
        if (atomic_load(&ar->actor_pid) == (int)getpid())
            atomic_store(&ar->actor_index, idx);
    }
    sync_disconnect(c);
    return 0;
}

/* Three processes on two hosts, every one offering the action: it runs
 * exactly once per round, in the last to arrive (index 2, as Python's),
 * and no party returns before its effect is visible. */
Test(cluster_prims, barrier_action_once_per_round_across_agents)
{
    pid_t p[3];
    int i, r;

    ar = fx_shared(sizeof(*ar));
    for (i = 0; i < 3; i++) {
        p[i] = fx_fork();
        if (p[i] == 0)
            _exit(act_party(i % 2, cfx_name("ACT"), counting_action, i,
                            ACT_ROUNDS));
    }
    for (i = 0; i < 3; i++)
        cr_assert(eq(int, fx_waitpid(p[i], 40000), 0), "party %d", i);
    for (i = 0; i < 3; i++)
        cr_assert(ge(int, atomic_load(&ar->result[i]), 0), "party %d: %s", i,
                  sync_strerror(atomic_load(&ar->result[i])));
    for (r = 0; r < ACT_ROUNDS; r++)
        cr_assert(eq(int, atomic_load(&ar->actions[r]), 1),
                  "round %d: the action ran %d times", r,
                  atomic_load(&ar->actions[r]));
    cr_assert(eq(int, atomic_load(&ar->early), 0),
              "%d parties returned before the action's effect showed",
              atomic_load(&ar->early));
    cr_assert(eq(int, atomic_load(&ar->actor_index), 2));
}

/* The action's runner reports success and etcd applies it, but the
 * answer is lost: the agent sends the report again, finds the action's
 * key gone, and must not take that for a barrier broken meanwhile. */
Test(cluster_prims, barrier_report_whose_answer_was_lost_acts_once)
{
    sync_client *a = cfx_connect(0);
    sync_barrier *b = NULL;
    pid_t p[3];
    int i;

    ar = fx_shared(sizeof(*ar));
    /* The success report: it compares versions and deletes the act key. */
    cfx_start_lossy_agent(0, false, "\"VERSION\"",
                          "\"request_delete_range\"");
    cr_assert(eq(int, sync_barrier_open(a, cfx_name("LOSTACT"), 3, &b), 0));
    for (i = 0; i < 2; i++) {
        p[i] = fx_fork();
        if (p[i] == 0)
            _exit(act_party(i, cfx_name("LOSTACT"), NULL, i, 1));
    }
    wait_for_count(&ar->arrived, 2);
    for (int k = 0; k < 500 && sync_barrier_n_waiting(b) < 2; k++)
        fx_sleep_ms(10);
    p[2] = fx_fork();
    if (p[2] == 0)
        _exit(act_party(CFX_LOSSY, cfx_name("LOSTACT"), counting_action, 2,
                        1));
    for (i = 0; i < 3; i++)
        cr_assert(eq(int, fx_waitpid(p[i], 40000), 0), "party %d", i);
    cr_assert(cfx_proxy_dropped(), "the report's answer was not dropped");
    for (i = 0; i < 3; i++)
        cr_assert(ge(int, atomic_load(&ar->result[i]), 0), "party %d: %s", i,
                  sync_strerror(atomic_load(&ar->result[i])));
    cr_assert(eq(int, atomic_load(&ar->actions[0]), 1));
    cr_assert(eq(int, sync_barrier_broken(b), 0));
    sync_barrier_close(b);
    sync_disconnect(a);
}

/*
 * Every answer to a party's arrival is lost for a while (its agent
 * reaches etcd through the lossy proxy alone): etcd may hold its arrival
 * key, the party is told SYNC_EUNAVAIL.  The round must not complete
 * short of that party: it breaks, as when a party times out (Python
 * breaks the barrier when anything interrupts a wait).
 */
Test(cluster_prims, barrier_arrival_whose_answers_were_lost_breaks_the_round)
{
    sync_client *a = cfx_connect(0), *l;
    sync_barrier *ba = NULL, *bl = NULL;
    atomic_int *rv = fx_shared(sizeof(*rv));
    pid_t p;

    /* The arrival: a guarded txn whose arrival key has the lease. */
    cfx_start_lossy_agent(6.5, true, "\"compare\"", "\"lease\"");
    l = cfx_connect(CFX_LOSSY);
    cr_assert(eq(int, sync_barrier_open(a, cfx_name("lost-arrival"), 3, &ba),
                 0));
    cr_assert(eq(int, sync_barrier_open(l, cfx_name("lost-arrival"), 3, &bl),
                 0));
    atomic_store(rv, 99);
    p = fx_fork();
    if (p == 0) {
        sync_client *c = cfx_connect_nofail(1);
        sync_barrier *b = NULL;

        if (c == NULL ||
            sync_barrier_open(c, cfx_name("lost-arrival"), 3, &b) != 0)
            _exit(2);
        atomic_store(rv, sync_barrier_wait(b, 30));
        _exit(0);
    }
    for (int k = 0; k < 500 && sync_barrier_n_waiting(ba) < 1; k++)
        fx_sleep_ms(10);
    cr_assert(eq(int, sync_barrier_wait(bl, 20), SYNC_EUNAVAIL));
    cr_assert(cfx_proxy_dropped(), "no answer was dropped");
    cr_assert(eq(int, fx_waitpid(p, 20000), 0));
    cr_assert(eq(int, atomic_load(rv), SYNC_EBROKEN),
              "the waiting party got %d", atomic_load(rv));
    cr_assert(eq(int, sync_barrier_wait(ba, 5), SYNC_EBROKEN));
    sync_disconnect(l);
    sync_disconnect(a);
}

/* Only the first party (host A) offers; the last to arrive (host B) does
 * not: the first is asked, the others return after it finished.  Then
 * arrivals during an action wait for it and make up the next round. */
Test(cluster_prims, barrier_action_queued_actor_and_arrivals_during_it)
{
    sync_client *a = cfx_connect(0);
    sync_barrier *b = NULL;
    pid_t p[3], q[3];
    int i;

    ar = fx_shared(sizeof(*ar));
    ar->sleep_ms = 1000;
    cr_assert(eq(int, sync_barrier_open(a, cfx_name("QA"), 3, &b), 0));
    p[0] = fx_fork();
    if (p[0] == 0)
        _exit(act_party(0, cfx_name("QA"), counting_action, 0, 1));
    wait_for_count(&ar->arrived, 1);
    for (int k = 0; k < 200 && sync_barrier_n_waiting(b) < 1; k++)
        fx_sleep_ms(10);
    for (i = 1; i < 3; i++) {
        p[i] = fx_fork();
        if (p[i] == 0)
            _exit(act_party(i == 1 ? 0 : 1, cfx_name("QA"), NULL, i, 1));
        wait_for_count(&ar->arrived, i + 1);
        for (int k = 0; k < 200 && sync_barrier_n_waiting(b) < i + 1 &&
                        atomic_load(&ar->actor_pid) == 0;
             k++)
            fx_sleep_ms(10);
    }
    /* The action runs in p[0]; three more arrive meanwhile, on both
     * hosts: they make up round 1 once it has ended, not round 0. */
    for (i = 0; i < 200 && atomic_load(&ar->actor_pid) == 0; i++)
        fx_sleep_ms(5);
    cr_assert(eq(int, atomic_load(&ar->actor_pid), (int)p[0]));
    /* threading's n_waiting: the round's 3 parties, the actor too. */
    cr_assert(eq(int, sync_barrier_n_waiting(b), 3), "during the action");
    for (i = 0; i < 3; i++) {
        q[i] = fx_fork();
        if (q[i] == 0) {
            sync_client *c = cfx_connect_nofail(i % 2);
            sync_barrier *qb = NULL;
            int round = 1, idx;

            if (c == NULL || sync_barrier_open(c, cfx_name("QA"), 3, &qb))
                _exit(2);
            if (atomic_load(&ar->effect[0]) == 0)
                atomic_fetch_add(&ar->during, 1);
            idx = sync_barrier_wait_action(qb, 20, counting_action, &round);
            if (idx < 0 || idx > 2)
                _exit(10 - idx);
            /* Released only after round 0's action and round 1's own. */
            _exit(atomic_load(&ar->effect[0]) == 1 &&
                          atomic_load(&ar->effect[1]) == 1
                      ? 0
                      : 4);
        }
    }
    for (i = 0; i < 3; i++)
        cr_assert(eq(int, fx_waitpid(p[i], 20000), 0), "party %d", i);
    for (i = 0; i < 3; i++)
        cr_assert(ge(int, atomic_load(&ar->result[i]), 0), "party %d: %s", i,
                  sync_strerror(atomic_load(&ar->result[i])));
    cr_assert(eq(int, atomic_load(&ar->result[0]), 0), "the actor's index");
    cr_assert(eq(int, atomic_load(&ar->early), 0));
    for (i = 0; i < 3; i++)
        cr_assert(eq(int, fx_waitpid(q[i], 20000), 0), "next round %d", i);
    cr_assert(eq(int, atomic_load(&ar->during), 3),
              "only %d arrived during the action", atomic_load(&ar->during));
    cr_assert(eq(int, atomic_load(&ar->actions[0]), 1));
    cr_assert(eq(int, atomic_load(&ar->actions[1]), 1));
    cr_assert(eq(int, sync_barrier_n_waiting(b), 0));
    sync_disconnect(a);
}

static int failing_action(void *arg)
{
    (void)arg;
    atomic_store(&ar->actor_pid, (int)getpid());
    return -4321;
}

/* A failing action breaks the barrier for every party, on both hosts;
 * its own party gets the action's value. */
Test(cluster_prims, barrier_action_failure_breaks_it_for_all)
{
    sync_client *a = cfx_connect(1);
    sync_barrier *b = NULL;
    pid_t p[3];
    int i, actor = -1;

    ar = fx_shared(sizeof(*ar));
    cr_assert(eq(int, sync_barrier_open(a, cfx_name("FA"), 3, &b), 0));
    for (i = 0; i < 3; i++) {
        p[i] = fx_fork();
        if (p[i] == 0)
            _exit(act_party(i % 2, cfx_name("FA"), failing_action, i, 1));
    }
    for (i = 0; i < 3; i++)
        cr_assert(eq(int, fx_waitpid(p[i], 20000), 0), "party %d", i);
    for (i = 0; i < 3; i++)
        if (p[i] == atomic_load(&ar->actor_pid))
            actor = i;
    cr_assert(ge(int, actor, 0), "no party ran the action");
    for (i = 0; i < 3; i++)
        cr_assert(eq(int, atomic_load(&ar->result[i]),
                     i == actor ? -4321 : SYNC_EBROKEN), "party %d", i);
    cr_assert(eq(int, sync_barrier_broken(b), 1));
    cr_assert(eq(int, sync_barrier_wait(b, 1), SYNC_EBROKEN));
    sync_disconnect(a);
}

static int hanging_action(void *arg)
{
    (void)arg;
    atomic_store(&ar->actor_pid, (int)getpid());
    for (;;)
        pause();
    return 0;
}

/* kill -9 of the party running the action: its lease is revoked, its
 * arrival key goes, the parties on both hosts are told: broken.  A later
 * arrival finds it broken too. */
Test(cluster_prims, barrier_action_runner_killed_breaks_it)
{
    sync_client *a = cfx_connect(0);
    sync_barrier *b = NULL;
    pid_t p[3];
    double t_kill;
    int i;

    ar = fx_shared(sizeof(*ar));
    cr_assert(eq(int, sync_barrier_open(a, cfx_name("KA"), 3, &b), 0));
    /* The last to arrive (host B) runs it, as Python's would. */
    for (i = 0; i < 3; i++) {
        p[i] = fx_fork();
        if (p[i] == 0)
            _exit(act_party(i == 1 ? 0 : 1, cfx_name("KA"),
                            i == 2 ? hanging_action : NULL, i, 1));
        wait_for_count(&ar->arrived, i + 1);
        for (int k = 0; i < 2 && k < 200 && sync_barrier_n_waiting(b) < i + 1;
             k++)
            fx_sleep_ms(10);
    }
    for (i = 0; i < 500 && atomic_load(&ar->actor_pid) == 0; i++)
        fx_sleep_ms(10);
    cr_assert(eq(int, atomic_load(&ar->actor_pid), (int)p[2]));
    fx_sleep_ms(SETTLE_MS);
    for (i = 0; i < 2; i++)
        cr_assert(eq(int, fx_wait_status(p[i], 0), -1), "released early");
    t_kill = fx_now();
    cr_assert(eq(int, kill(p[2], SIGKILL), 0));
    for (i = 0; i < 2; i++) {
        cr_assert(eq(int, fx_waitpid(p[i], 10000), 0), "party %d", i);
        cr_assert(eq(int, atomic_load(&ar->result[i]), SYNC_EBROKEN),
                  "party %d", i);
    }
    cr_assert(lt(dbl, fx_now() - t_kill, 2.0), "broken after %.3f s",
              fx_now() - t_kill);
    cr_assert(eq(int, fx_waitpid(p[2], 5000), 128 + SIGKILL));
    cr_assert(eq(int, sync_barrier_broken(b), 1));
    cr_assert(eq(int, sync_barrier_wait(b, 1), SYNC_EBROKEN));
    sync_disconnect(a);
}

/* A 2-party barrier's party on agent, offering action (NULL: none):
 * its wait's result goes to ar->result[slot]. */
static pid_t pair_party(int agent, const char *name, int (*action)(void *),
                        int slot)
{
    pid_t p = fx_fork();

    if (p == 0) {
        sync_client *c = cfx_connect_nofail(agent);
        sync_barrier *b = NULL;
        int round = slot;

        if (c == NULL || sync_barrier_open(c, name, 2, &b) != 0)
            _exit(2);
        atomic_fetch_add(&ar->arrived, 1);
        atomic_store(&ar->result[slot],
                     sync_barrier_wait_action(b, 20, action, &round));
        _exit(0);
    }
    return p;
}

/* pair_party in slot 0 without an action, once it waits (seen through
 * b). */
static pid_t pair_party_waiting(sync_barrier *b, int agent, const char *name)
{
    pid_t p = pair_party(agent, name, NULL, 0);

    wait_for_count(&ar->arrived, 1);
    for (int k = 0; k < 200 && sync_barrier_n_waiting(b) < 1; k++)
        fx_sleep_ms(10);
    cr_assert(eq(int, sync_barrier_n_waiting(b), 1));
    return p;
}

/* kill -9 of the agent of the party running the action: nothing revokes
 * its lease; when it expires (TTL 3 s) its arrival key goes and the
 * party waiting on the other host is told: broken. */
Test(cluster_prims, barrier_action_runners_agent_killed_breaks_after_ttl)
{
    sync_client *a = cfx_connect(0);
    sync_barrier *b = NULL;
    double t_kill, waited;
    pid_t p[2];

    ar = fx_shared(sizeof(*ar));
    cr_assert(eq(int, sync_barrier_open(a, cfx_name("KAA"), 2, &b), 0));
    p[0] = pair_party_waiting(b, 0, cfx_name("KAA"));
    /* The actor: its wait ends with its agent. */
    p[1] = pair_party(1, cfx_name("KAA"), hanging_action, 1);
    for (int i = 0; i < 500 && atomic_load(&ar->actor_pid) == 0; i++)
        fx_sleep_ms(10);
    cr_assert(eq(int, atomic_load(&ar->actor_pid), (int)p[1]));
    t_kill = fx_now();
    cfx_kill_agent(1);
    cr_assert(eq(int, fx_waitpid(p[0], 15000), 0));
    waited = fx_now() - t_kill;
    cr_assert(eq(int, atomic_load(&ar->result[0]), SYNC_EBROKEN));
    cr_assert(ge(dbl, waited, 1.5), "broken after %.3f s", waited);
    cr_assert(lt(dbl, waited, 8.0), "broken after %.3f s", waited);
    cr_assert(eq(int, sync_barrier_broken(b), 1));
    kill(p[1], SIGKILL);
    (void)fx_waitpid(p[1], 5000);
    sync_disconnect(a);
}

/* A reset while the action runs ends the round: the waiting party gets
 * SYNC_EBROKEN at once, the actor when it reports; the barrier is not
 * broken, and its next round runs its action once. */
Test(cluster_prims, barrier_reset_during_the_action_ends_the_round)
{
    sync_client *a = cfx_connect(1);
    sync_barrier *b = NULL;
    pid_t p[4];
    int i;

    ar = fx_shared(sizeof(*ar));
    ar->sleep_ms = 800;
    cr_assert(eq(int, sync_barrier_open(a, cfx_name("RA"), 2, &b), 0));
    p[0] = pair_party_waiting(b, 0, cfx_name("RA"));
    p[1] = pair_party(1, cfx_name("RA"), counting_action, 1);
    for (i = 0; i < 500 && atomic_load(&ar->actions[1]) == 0; i++)
        fx_sleep_ms(5);
    cr_assert(eq(int, atomic_load(&ar->actions[1]), 1));
    cr_assert(eq(int, sync_barrier_reset(b), 0));
    cr_assert(eq(int, fx_waitpid(p[0], 5000), 0));
    cr_assert(eq(int, atomic_load(&ar->result[0]), SYNC_EBROKEN));
    cr_assert(eq(int, atomic_load(&ar->effect[1]), 0), "woken late");
    cr_assert(eq(int, fx_waitpid(p[1], 5000), 0));
    cr_assert(eq(int, atomic_load(&ar->result[1]), SYNC_EBROKEN));
    cr_assert(eq(int, sync_barrier_broken(b), 0));
    /* Usable again: a new round, its action once. */
    ar->sleep_ms = 10;
    for (i = 2; i < 4; i++)
        p[i] = pair_party(i % 2, cfx_name("RA"), counting_action, i);
    for (i = 2; i < 4; i++) {
        cr_assert(eq(int, fx_waitpid(p[i], 10000), 0));
        cr_assert(ge(int, atomic_load(&ar->result[i]), 0), "party %d: %s",
                  i, sync_strerror(atomic_load(&ar->result[i])));
    }
    cr_assert(eq(int, atomic_load(&ar->actions[2]) +
                          atomic_load(&ar->actions[3]),
                 1));
    sync_disconnect(a);
}
