/*
 * test_cluster.c: Python's threading promises on cluster/ names, checked
 * through two agents ("hosts") that share one 3-member etcd: Lock, RLock
 * and Event semantics, fencing tokens, owner-died after a client's kill -9
 * (prompt: its lease is revoked) and after an agent's (its lease expires
 * after the TTL), the errors when etcd is not there, and what unlink
 * leaves in etcd.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "cluster_fx.h"

TestSuite(cluster, .init = cfx_init, .fini = cfx_fini, .timeout = 60);

/* Let a request reach etcd and block there (nothing observes it). */
#define SETTLE_MS 300

static sync_lock *open_lock(sync_client *c, const char *name)
{
    sync_lock *l = NULL;

    cr_assert(eq(int, sync_lock_open(c, name, &l), 0));
    return l;
}

/* Lock NAME through a lossy agent (alone) started with drop_s, m1, m2;
 * *l gets its connection. */
static sync_lock *lossy_lock(sync_client **l, double drop_s, const char *m1,
                             const char *m2, const char *name)
{
    cfx_start_lossy_agent(drop_s, true, m1, m2);
    *l = cfx_connect(CFX_LOSSY);
    return open_lock(*l, name);
}

/* lb gets its lock at once, with no owner-died, and lets it go. */
static void lock_is_free(sync_lock *lb, const char *why)
{
    cr_assert(eq(int, sync_lock_acquire(lb, true, 3), 0), "%s", why);
    cr_assert(eq(int, sync_lock_owner_died(lb), 0));
    cr_assert(eq(int, sync_lock_release(lb), 0));
}

/* A call started at t0 with a 1 s timeout (or a try: its bound is 1 s)
 * answered after 1 s and well before 2; an answer was dropped. */
static void answered_in_time(double t0)
{
    double took = fx_now() - t0;

    cr_assert(ge(dbl, took, 1.0));
    cr_assert(lt(dbl, took, 2.0), "the 1 s call took %.2f s", took);
    cr_assert(cfx_proxy_dropped(), "no answer was dropped");
}

/* A 1 s acquire of l (or a try) answers SYNC_ETIMEDOUT in time. */
static void acquire_times_out_in_time(sync_lock *l, bool blocking)
{
    double t0 = fx_now();

    cr_assert(eq(int, sync_lock_acquire(l, blocking, blocking ? 1 : -1),
                 SYNC_ETIMEDOUT));
    answered_in_time(t0);
}

/* The enqueue's answers are lost for 5 s: an acquire of NAME through the
 * lossy agent (blocking for 1 s, or a try) times out in time, and the
 * contender key etcd made is deleted behind the answer: B gets the lock
 * at once. */
static void enqueue_unanswered_times_out(const char *name, bool blocking)
{
    sync_client *b = cfx_connect(1), *l;
    sync_lock *lb = open_lock(b, name), *ll;

    ll = lossy_lock(&l, 5, "\"keys_only\"", "\"lease\"", name);
    acquire_times_out_in_time(ll, blocking);
    lock_is_free(lb, "the timed-out contender still holds the queue");
    sync_disconnect(l);
    sync_disconnect(b);
}

/* "It is created in the unlocked state"; locked() is seen from both hosts. */
Test(cluster, lock_state_is_shared_by_both_agents)
{
    sync_client *a = cfx_connect(0), *b = cfx_connect(1);
    sync_lock *la = open_lock(a, cfx_name("L")), *lb = open_lock(b, cfx_name("L"));

    cr_assert(eq(int, sync_lock_locked(lb), 0));
    cr_assert(eq(int, sync_lock_acquire(la, true, -1), 0));
    cr_assert(gt(u64, sync_lock_token(la), 0));
    cr_assert(eq(int, sync_lock_owner_died(la), 0));
    cr_assert(eq(int, sync_lock_locked(lb), 1));
    cr_assert(eq(int, sync_lock_locked(la), 1));
    /* Non-blocking from the other host fails at once. */
    double t0 = fx_now();
    cr_assert(eq(int, sync_lock_acquire(lb, false, -1), SYNC_ETIMEDOUT));
    cr_assert(lt(dbl, fx_now() - t0, 2.0));
    /* Releasing what B does not hold: RuntimeError. */
    cr_assert(eq(int, sync_lock_release(lb), SYNC_EPERM));
    cr_assert(eq(int, sync_lock_release(la), 0));
    cr_assert(eq(int, sync_lock_locked(lb), 0));
    cr_assert(eq(int, sync_lock_release(la), SYNC_EPERM));
    sync_lock_close(la);
    sync_lock_close(lb);
    sync_disconnect(a);
    sync_disconnect(b);
}

/*
 * Every answer to a Lock acquire's enqueue is lost for a while (its agent
 * reaches etcd through the lossy proxy alone): etcd made the contender
 * key and its mark, the client is told SYNC_EUNAVAIL.  That key must not
 * stay queued under the live lease: the next client on the other host
 * gets the lock at once, not told that a holder died.
 */
Test(cluster, acquire_whose_answers_were_lost_leaves_no_contender)
{
    sync_client *b = cfx_connect(1), *l;
    sync_lock *lb = open_lock(b, cfx_name("lost-enqueue")), *ll;

    /* The enqueue: puts the contender key and reads keys only. */
    ll = lossy_lock(&l, 6.5, "\"request_put\"", "\"keys_only\"",
                    cfx_name("lost-enqueue"));
    cr_assert(eq(int, sync_lock_acquire(ll, true, 20), SYNC_EUNAVAIL));
    cr_assert(cfx_proxy_dropped(), "no answer was dropped");
    lock_is_free(lb, "a contender nobody knows of holds the queue");
    sync_disconnect(l);
    sync_disconnect(b);
}

/*
 * The enqueue's answers are lost, and so are those of the delete that
 * should take back the contender key etcd may have made: that key, under
 * a lease kept alive, would queue every contender behind nobody.  The
 * agent ends the lease (log: "could not be deleted"), which takes the
 * key: another host gets the lock at once.
 */
Test(cluster, acquire_whose_contender_cannot_be_deleted_ends_the_lease)
{
    sync_client *b = cfx_connect(1), *l;
    sync_lock *lb = open_lock(b, cfx_name("astray")), *ll;

    /* The enqueue (a put under the lease, reading keys only) and the
     * delete after it, for 13 s: both calls' 6 s of retries. */
    ll = lossy_lock(&l, 13, "\"keys_only\"|\"request_delete_range\"",
                    "\"lease\"|\"request_delete_range\"", cfx_name("astray"));
    cr_assert(eq(int, sync_lock_acquire(ll, true, 30), SYNC_EUNAVAIL));
    cr_assert(cfx_proxy_dropped(), "no answer was dropped");
    cr_assert(file_contains(cfx.log[CFX_LOSSY], "could not be deleted"),
              "the lease was not ended (see %s)", cfx.log[CFX_LOSSY]);
    /* (The proxy lets etcd apply the delete, only its answers are lost:
     * the mark went with it, and no holder died.) */
    lock_is_free(lb, "a contender nobody knows of holds the queue");
    sync_disconnect(l);
    sync_disconnect(b);
}

/*
 * A release applied by etcd whose answer is lost: sent again, it finds
 * its key gone.  That is the release done, not a lock lost (SYNC_ELOST
 * would tell a client that held its lock to the end that it had not).
 */
Test(cluster, release_whose_answer_was_lost_succeeds)
{
    sync_client *b = cfx_connect(1), *l;
    sync_lock *lb = open_lock(b, cfx_name("lost-release")), *ll;

    /* The release: compares the key's create revision, deletes it. */
    cfx_start_lossy_agent(0, false, "\"CREATE\"",
                          "\"request_delete_range\"");
    l = cfx_connect(CFX_LOSSY);
    ll = open_lock(l, cfx_name("lost-release"));
    cr_assert(eq(int, sync_lock_acquire(ll, true, 10), 0));
    cr_assert(eq(int, sync_lock_release(ll), 0));
    cr_assert(cfx_proxy_dropped(), "the release's answer was not dropped");
    lock_is_free(lb, "the released lock is not free");
    sync_disconnect(l);
    sync_disconnect(b);
}

/*
 * etcd applies the enqueue but no answer comes (the proxy loses them for
 * 5 s): an acquire with a 1 s timeout returns SYNC_ETIMEDOUT about then,
 * not after the call's 6 s of retries with SYNC_EUNAVAIL; the contender
 * key etcd made is deleted behind the answer, so another host gets the
 * lock at once.
 */
Test(cluster, timeout_is_kept_when_etcd_does_not_answer)
{
    enqueue_unanswered_times_out(cfx_name("late"), true);
}

/* A try (no waiting) answers within about a second when etcd does not
 * (before: after 6 s of retries, SYNC_EUNAVAIL). */
Test(cluster, try_acquire_is_bounded_when_etcd_does_not_answer)
{
    enqueue_unanswered_times_out(cfx_name("try"), false);
}

/* An Event wait with a 1 s timeout returns in time when etcd does not
 * answer its read (the proxy loses every range's answer for 5 s). */
Test(cluster, event_wait_timeout_is_kept_when_etcd_does_not_answer)
{
    sync_client *l;
    sync_event *e = NULL;
    double t0;

    cfx_start_lossy_agent(5, true, "/v3/kv/range", NULL);
    l = cfx_connect(CFX_LOSSY);
    cr_assert(eq(int, sync_event_open(l, cfx_name("late-event"), &e), 0));
    t0 = fx_now();
    cr_assert(eq(int, sync_event_wait(e, 1), SYNC_ETIMEDOUT));
    answered_in_time(t0);
    sync_disconnect(l);
}

/* A 1 s acquire while the session's lease is still to be granted and
 * etcd does not answer the grant. */
Test(cluster, timeout_is_kept_while_the_lease_is_granted)
{
    sync_client *l;
    sync_lock *ll = lossy_lock(&l, 4, "/v3/lease/grant", NULL,
                               cfx_name("late-lease"));

    acquire_times_out_in_time(ll, true);
    /* Once etcd answers, the same client gets it. */
    cr_assert(eq(int, sync_lock_acquire(ll, true, 15), 0));
    cr_assert(eq(int, sync_lock_release(ll), 0));
    sync_disconnect(l);
}

/* A timeout is honoured: not before it, not much after. */
Test(cluster, lock_timeout_across_agents)
{
    sync_client *a = cfx_connect(0), *b = cfx_connect(1);
    sync_lock *la = open_lock(a, cfx_name("T")), *lb = open_lock(b, cfx_name("T"));
    double t0;

    cr_assert(eq(int, sync_lock_acquire(la, true, -1), 0));
    t0 = fx_now();
    cr_assert(eq(int, sync_lock_acquire(lb, true, 0.5), SYNC_ETIMEDOUT));
    cr_assert(ge(dbl, fx_now() - t0, 0.5));
    cr_assert(lt(dbl, fx_now() - t0, 3.5));
    /* The timed-out contender left the queue: a release frees the lock
     * for a third party at once. */
    cr_assert(eq(int, sync_lock_release(la), 0));
    cr_assert(eq(int, sync_lock_acquire(lb, false, -1), 0));
    cr_assert(eq(int, sync_lock_release(lb), 0));
    sync_disconnect(a);
    sync_disconnect(b);
}

struct handoff {
    atomic_int waiting;
    atomic_int got;
    uint64_t token;
    int died;
    double t_got;
};

static int waiter_proc(int agent, const char *name, struct handoff *h)
{
    sync_client *c = cfx_connect_nofail(agent);
    sync_lock *l = NULL;

    if (c == NULL || sync_lock_open(c, name, &l) != 0)
        return 2;
    atomic_store(&h->waiting, 1);
    if (sync_lock_acquire(l, true, 20) != 0)
        return 3;
    h->t_got = fx_now();
    h->token = sync_lock_token(l);
    h->died = sync_lock_owner_died(l);
    atomic_store(&h->got, 1);
    if (sync_lock_release(l) != 0)
        return 4;
    sync_disconnect(c);
    return 0;
}

/* Release on A hands the lock to the waiter on B within milliseconds,
 * with a larger token and no owner-died. */
Test(cluster, release_hands_over_between_agents)
{
    struct handoff *h = fx_shared(sizeof(*h));
    sync_client *a = cfx_connect(0);
    sync_lock *la = open_lock(a, cfx_name("H"));
    uint64_t t1;
    double t_rel;
    pid_t pid;

    cr_assert(eq(int, sync_lock_acquire(la, true, -1), 0));
    t1 = sync_lock_token(la);
    pid = fx_fork();
    if (pid == 0)
        _exit(waiter_proc(1, cfx_name("H"), h));
    while (!atomic_load(&h->waiting))
        fx_sleep_ms(2);
    fx_sleep_ms(SETTLE_MS);
    cr_assert(eq(int, atomic_load(&h->got), 0), "mutual exclusion");
    t_rel = fx_now();
    cr_assert(eq(int, sync_lock_release(la), 0));
    cr_assert(eq(int, fx_waitpid(pid, 10000), 0));
    cr_assert(gt(u64, h->token, t1), "tokens grow across agents");
    cr_assert(eq(int, h->died, 0));
    cr_assert(lt(dbl, h->t_got - t_rel, 0.5), "handoff took %.3f s",
              h->t_got - t_rel);
    sync_disconnect(a);
}

/* lb (on B) holds NAME, its token in *t1; a waiter of a keepalive-losing
 * agent (cfx_start_keepalive_losing_agent) queues behind it: its pid. */
static pid_t lossy_waiter_behind(sync_lock *lb, const char *name,
                                 struct handoff *h, uint64_t *t1)
{
    pid_t pid;

    cr_assert(eq(int, sync_lock_acquire(lb, true, 3), 0));
    *t1 = sync_lock_token(lb);
    cfx_start_keepalive_losing_agent();
    pid = fx_fork();
    if (pid == 0)
        _exit(waiter_proc(CFX_LOSSY, name, h));
    while (!atomic_load(&h->waiting))
        fx_sleep_ms(2);
    return pid;
}

/* That waiter got the lock after lb's release (token above t1), with no
 * owner-died, and let it go. */
static void lossy_waiter_got_it(pid_t pid, const struct handoff *h,
                                uint64_t t1)
{
    cr_assert(eq(int, fx_waitpid(pid, 15000), 0),
              "the waiter failed (see %s)", cfx.log[CFX_LOSSY]);
    cr_assert(gt(u64, h->token, t1));
    cr_assert(eq(int, h->died, 0));
    cr_assert(file_contains(cfx.log[CFX_LOSSY], "under a new lease"));
}

/*
 * The waiter's agent gives its lease up while the waiter is queued (no
 * keepalive answered for 4/5 of the TTL: the proxy loses their answers
 * for 2.7 s).  Its contender key goes with the lease, but it held
 * nothing: it waits on under a new lease and gets the lock when the
 * holder lets go, rather than an error for what its agent did.
 */
Test(cluster, waiter_whose_lease_was_given_up_waits_on)
{
    struct handoff *h = fx_shared(sizeof(*h));
    sync_client *b = cfx_connect(1);
    sync_lock *lb = open_lock(b, cfx_name("requeue"));
    uint64_t t1;
    double t_rel;
    pid_t pid = lossy_waiter_behind(lb, cfx_name("requeue"), h, &t1);

    cfx_await_lease_given_up();
    cr_assert(eq(int, atomic_load(&h->got), 0), "mutual exclusion");
    t_rel = fx_now();
    cr_assert(eq(int, sync_lock_release(lb), 0));
    lossy_waiter_got_it(pid, h, t1);
    cr_assert(lt(dbl, h->t_got - t_rel, 1.5), "handoff took %.3f s",
              h->t_got - t_rel);
    lock_is_free(lb, "the waiter's lock was not given back");
    sync_disconnect(b);
}

/*
 * The same, when the lock comes to the waiter while its lease is stale
 * (no keepalive answered for over half the TTL: the grant is held back
 * until one is) and the lease is then given up: the waiter, never told,
 * seeks the lock again under a new lease and gets it, told of no death
 * (its old contender's mark goes first).
 */
Test(cluster, waiter_granted_as_its_lease_is_given_up_gets_the_lock)
{
    struct handoff *h = fx_shared(sizeof(*h));
    sync_client *b = cfx_connect(1);
    sync_lock *lb = open_lock(b, cfx_name("confirm"));
    uint64_t t1;
    pid_t pid = lossy_waiter_behind(lb, cfx_name("confirm"), h, &t1);

    /* Its lease was granted as it queued: stale after 1.5 s, given up
     * after 2.4 s (TTL 3). */
    fx_sleep_ms(1900);
    cr_assert(eq(int, sync_lock_release(lb), 0));
    lossy_waiter_got_it(pid, h, t1);
    lock_is_free(lb, "the waiter's lock was not given back");
    sync_disconnect(b);
}

/* kill -9 of the holder: its agent revokes its lease at once; the waiter
 * on the other agent gets the lock promptly, told the owner died. */
Test(cluster, holder_killed_hands_over_with_owner_died)
{
    struct handoff *h = fx_shared(sizeof(*h));
    atomic_int *held = fx_shared(sizeof(*held));
    pid_t holder, waiter;
    double t_kill;

    holder = fx_fork();
    if (holder == 0) {
        sync_client *c = cfx_connect_nofail(0);
        sync_lock *l = NULL;

        if (c == NULL || sync_lock_open(c, cfx_name("K"), &l) != 0 ||
            sync_lock_acquire(l, true, -1) != 0)
            _exit(2);
        atomic_store(held, 1);
        pause();
        _exit(0);
    }
    while (!atomic_load(held))
        fx_sleep_ms(2);
    waiter = fx_fork();
    if (waiter == 0)
        _exit(waiter_proc(1, cfx_name("K"), h));
    while (!atomic_load(&h->waiting))
        fx_sleep_ms(2);
    fx_sleep_ms(SETTLE_MS);
    t_kill = fx_now();
    cr_assert(eq(int, kill(holder, SIGKILL), 0));
    cr_assert(eq(int, fx_waitpid(holder, 5000), 128 + SIGKILL));
    cr_assert(eq(int, fx_waitpid(waiter, 10000), 0));
    cr_assert(eq(int, h->died, 1), "owner_died after the holder's kill -9");
    cr_assert(lt(dbl, h->t_got - t_kill, 1.0), "handoff took %.3f s",
              h->t_got - t_kill);
}

/* kill -9 of the holder's agent: nothing revokes the lease; it expires
 * after the TTL (3 s here) and the waiter on B gets the lock, owner died. */
Test(cluster, agent_killed_lease_expires_after_ttl, .timeout = 60)
{
    struct handoff *h = fx_shared(sizeof(*h));
    sync_client *a = cfx_connect(0);
    sync_lock *la = open_lock(a, cfx_name("A"));
    double t_kill, waited;
    pid_t waiter;

    cr_assert(eq(int, sync_lock_acquire(la, true, -1), 0));
    waiter = fx_fork();
    if (waiter == 0)
        _exit(waiter_proc(1, cfx_name("A"), h));
    while (!atomic_load(&h->waiting))
        fx_sleep_ms(2);
    fx_sleep_ms(SETTLE_MS);
    t_kill = fx_now();
    cfx_kill_agent(0);
    cr_assert(eq(int, fx_waitpid(waiter, 20000), 0));
    waited = h->t_got - t_kill;
    /* Lease TTL 3 s after the last keepalive (sent every TTL/4). */
    cr_assert(ge(dbl, waited, 1.5), "handed over after %.3f s", waited);
    cr_assert(lt(dbl, waited, 6.0), "handed over after %.3f s", waited);
    cr_assert(eq(int, h->died, 1));
    sync_lock_close(la);
    sync_disconnect(a);
}

struct mutex_run {
    atomic_int inside, overlaps, regressions, done;
    atomic_ullong last_token;
};

static int mutex_worker(int agent, const char *name, struct mutex_run *m)
{
    sync_client *c = cfx_connect_nofail(agent);
    sync_lock *l = NULL;
    uint64_t tok;
    int i;

    if (c == NULL || sync_lock_open(c, name, &l) != 0)
        return 2;
    for (i = 0; i < 8; i++) {
        if (sync_lock_acquire(l, true, 30) != 0)
            return 3;
        if (atomic_fetch_add(&m->inside, 1) != 0)
            atomic_fetch_add(&m->overlaps, 1);
        tok = sync_lock_token(l);
        if (tok <= atomic_load(&m->last_token))
            atomic_fetch_add(&m->regressions, 1);
        atomic_store(&m->last_token, tok);
        fx_sleep_ms(3);
        atomic_fetch_sub(&m->inside, 1);
        if (sync_lock_release(l) != 0)
            return 4;
        atomic_fetch_add(&m->done, 1);
    }
    sync_disconnect(c);
    return 0;
}

/* The holder's agent restarts: the client reconnects (libsyncclient's
 * reconnect), but its cluster lock went with the old agent's lease: the
 * reclaim is refused, sync_lock_owner_lost() says so and the release
 * answers SYNC_ELOST; the waiter on B gets the lock, owner died. */
Test(cluster, agent_restart_tells_reconnected_client_lock_lost,
     .timeout = 60)
{
    struct handoff *h = fx_shared(sizeof(*h));
    sync_client *a;
    sync_lock *la;
    pid_t waiter;

    setenv("SYNCD_RECONNECT", "1", 1);
    a = cfx_connect(0);
    la = open_lock(a, cfx_name("R2"));
    cr_assert(eq(int, sync_lock_acquire(la, true, -1), 0));
    waiter = fx_fork();
    if (waiter == 0)
        _exit(waiter_proc(1, cfx_name("R2"), h));
    while (!atomic_load(&h->waiting))
        fx_sleep_ms(2);
    cfx_kill_agent(0);
    cfx_start_agent(0, cfx.urls);
    /* The client notices on its next call and reconnects. */
    cr_assert(ge(int, sync_lock_locked(la), 0));
    cr_assert(eq(int, sync_lock_owner_lost(la), 1));
    cr_assert(eq(int, sync_lock_release(la), SYNC_ELOST));
    cr_assert(eq(int, fx_waitpid(waiter, 20000), 0));
    cr_assert(eq(int, h->died, 1));
    sync_lock_close(la);
    sync_disconnect(a);
}

/* Four processes, two per agent: one holder at a time, tokens only grow. */
Test(cluster, mutual_exclusion_and_monotonic_tokens, .timeout = 90)
{
    struct mutex_run *m = fx_shared(sizeof(*m));
    pid_t pids[4];
    int i;

    for (i = 0; i < 4; i++) {
        pids[i] = fx_fork();
        if (pids[i] == 0)
            _exit(mutex_worker(i % 2, cfx_name("M"), m));
    }
    for (i = 0; i < 4; i++)
        cr_assert(eq(int, fx_waitpid(pids[i], 80000), 0), "worker %d", i);
    cr_assert(eq(int, atomic_load(&m->done), 32));
    cr_assert(eq(int, atomic_load(&m->overlaps), 0));
    cr_assert(eq(int, atomic_load(&m->regressions), 0));
}

struct same_client {
    sync_lock *l;
    atomic_int started, got;
};

static void *second_thread(void *p)
{
    struct same_client *sc = p;

    atomic_store(&sc->started, 1);
    if (sync_lock_acquire(sc->l, true, 10) == 0) {
        atomic_store(&sc->got, 1);
        sync_lock_release(sc->l);
    }
    return NULL;
}

/* "A second acquire from the same client waits like anyone else". */
Test(cluster, second_thread_of_one_client_waits)
{
    sync_client *a = cfx_connect(0);
    struct same_client sc = {.l = open_lock(a, cfx_name("S"))};
    pthread_t t;

    cr_assert(eq(int, sync_lock_acquire(sc.l, true, -1), 0));
    pthread_create(&t, NULL, second_thread, &sc);
    while (!atomic_load(&sc.started))
        fx_sleep_ms(2);
    fx_sleep_ms(SETTLE_MS);
    cr_assert(eq(int, atomic_load(&sc.got), 0));
    cr_assert(eq(int, sync_lock_release(sc.l), 0));
    pthread_join(t, NULL);
    cr_assert(eq(int, atomic_load(&sc.got), 1));
    sync_lock_close(sc.l);
    sync_disconnect(a);
}

/* RLock: the owning thread re-enters; the other host waits for the last
 * release; a release by another client is RuntimeError. */
Test(cluster, rlock_reentry_across_agents)
{
    sync_client *a = cfx_connect(0), *b = cfx_connect(1);
    sync_rlock *ra = NULL, *rb = NULL;
    uint64_t tok;

    cr_assert(eq(int, sync_rlock_open(a, cfx_name("R"), &ra), 0));
    cr_assert(eq(int, sync_rlock_open(b, cfx_name("R"), &rb), 0));
    cr_assert(eq(int, sync_rlock_acquire(ra, true, -1), 0));
    tok = sync_rlock_token(ra);
    cr_assert(eq(int, sync_rlock_acquire(ra, true, -1), 0));
    cr_assert(eq(int, sync_rlock_acquire(ra, false, -1), 0));
    cr_assert(eq(int, sync_rlock_depth(ra), 3));
    cr_assert(eq(int, sync_rlock_is_owned(ra), 1));
    cr_assert(eq(int, sync_rlock_is_owned(rb), 0));
    cr_assert(eq(int, sync_rlock_release(rb), SYNC_EPERM));
    cr_assert(eq(int, sync_rlock_release(ra), 0));
    cr_assert(eq(int, sync_rlock_release(ra), 0));
    cr_assert(eq(int, sync_rlock_acquire(rb, false, -1), SYNC_ETIMEDOUT));
    cr_assert(eq(int, sync_rlock_release(ra), 0));
    cr_assert(eq(int, sync_rlock_release(ra), SYNC_EPERM));
    cr_assert(eq(int, sync_rlock_acquire(rb, false, -1), 0));
    cr_assert(gt(u64, sync_rlock_token(rb), tok));
    cr_assert(eq(int, sync_rlock_locked(ra), 1));
    cr_assert(eq(int, sync_rlock_release(rb), 0));
    sync_disconnect(a);
    sync_disconnect(b);
}

struct ev_wait {
    atomic_int waiting;
    int rv;
    double t_done;
};

/* Event: set on one host wakes a waiter on the other; clear; timeout. */
Test(cluster, event_across_agents)
{
    struct ev_wait *w = fx_shared(sizeof(*w));
    sync_client *a = cfx_connect(0), *b = cfx_connect(1);
    sync_event *ea = NULL, *eb = NULL;
    double t0, t_set;
    pid_t pid;

    cr_assert(eq(int, sync_event_open(a, cfx_name("E"), &ea), 0));
    cr_assert(eq(int, sync_event_open(b, cfx_name("E"), &eb), 0));
    cr_assert(eq(int, sync_event_is_set(eb), 0));
    t0 = fx_now();
    cr_assert(eq(int, sync_event_wait(eb, 0.4), SYNC_ETIMEDOUT));
    cr_assert(ge(dbl, fx_now() - t0, 0.4));
    pid = fx_fork();
    if (pid == 0) {
        sync_client *c = cfx_connect_nofail(1);
        sync_event *e = NULL;

        if (c == NULL || sync_event_open(c, cfx_name("E"), &e) != 0)
            _exit(2);
        atomic_store(&w->waiting, 1);
        w->rv = sync_event_wait(e, 20);
        w->t_done = fx_now();
        _exit(0);
    }
    while (!atomic_load(&w->waiting))
        fx_sleep_ms(2);
    fx_sleep_ms(SETTLE_MS);
    t_set = fx_now();
    cr_assert(eq(int, sync_event_set(ea), 0));
    cr_assert(eq(int, fx_waitpid(pid, 10000), 0));
    cr_assert(eq(int, w->rv, 0));
    cr_assert(lt(dbl, w->t_done - t_set, 0.5));
    cr_assert(eq(int, sync_event_is_set(eb), 1));
    cr_assert(eq(int, sync_event_wait(eb, 5), 0));
    cr_assert(eq(int, sync_event_clear(eb), 0));
    cr_assert(eq(int, sync_event_is_set(ea), 0));
    sync_disconnect(a);
    sync_disconnect(b);
}

/* One name, one type, across hosts; other types are refused clearly. */
Test(cluster, types_are_checked_across_agents)
{
    sync_client *a = cfx_connect(0), *b = cfx_connect(1);
    sync_lock *l = NULL;
    sync_event *e = NULL;
    sync_sem *s = NULL;

    cr_assert(eq(int, sync_lock_open(a, cfx_name("X"), &l), 0));
    cr_assert(eq(int, sync_event_open(b, cfx_name("X"), &e), SYNC_ETYPE));
    /* A semaphore's type key (test_cluster_prims.c) is checked too. */
    cr_assert(eq(int, sync_sem_open(b, cfx_name("X"), 2, &s), SYNC_ETYPE));
    cr_assert(eq(int, sync_sem_open(b, cfx_name("Y"), 2, &s), 0));
    cr_assert(eq(int, sync_lock_open(a, cfx_name("Y"), &l), SYNC_ETYPE));
    /* Local names on the same agents are untouched. */
    cr_assert(eq(int, sync_event_open(b, "X", &e), 0));
    cr_assert(eq(int, sync_event_set(e), 0));
    sync_disconnect(a);
    sync_disconnect(b);
}

/* ---- unlink: the keys left in etcd ----------------------------------- */

/* How many keys etcd holds for NAME ("syncd\x01NAME\x01..."), read with
 * etcdctl through the test's etcd. */
static int etcd_keys(const char *name)
{
    char cmd[768], line[512];
    FILE *f;
    int n = 0;

    snprintf(cmd, sizeof(cmd),
             "ETCDCTL_API=3 etcdctl --endpoints='%s' --command-timeout=5s "
             "get --prefix --keys-only 'syncd\001%s\001'",
             cfx.urls, name);
    f = popen(cmd, "r");
    cr_assert(ne(ptr, f, NULL));
    while (fgets(line, sizeof(line), f) != NULL)
        n += line[0] != '\n';
    cr_assert(eq(int, pclose(f), 0), "%s", cmd);
    return n;
}

/* A lock whose holder died: its mark stays (owner-died for the next). */
static void lock_with_dead_holder_mark(const char *name)
{
    pid_t p = fx_fork();

    if (p == 0) {
        sync_client *c = cfx_connect_nofail(1);
        sync_lock *l = NULL;

        if (c == NULL || sync_lock_open(c, name, &l) != 0 ||
            sync_lock_acquire(l, true, 10) != 0)
            _exit(2);
        _exit(0); /* holding it: the agent revokes the lease */
    }
    cr_assert(eq(int, fx_waitpid(p, 10000), 0));
}

/* An object nobody holds or waits on leaves nothing in etcd once
 * unlinked: not its type key, nor its keys without a lease (a dead
 * holder's mark, an Event's flag, a Semaphore's counter, a Barrier's
 * round, the guards).  A new object of that name starts afresh. */
Test(cluster, unlink_of_an_idle_object_deletes_every_key)
{
    sync_client *a = cfx_connect(0), *b = cfx_connect(1);
    const char *names[] = {"UL", "UE", "US", "UB", "UC"};
    sync_lock *l = NULL;
    sync_event *e = NULL;
    sync_sem *s = NULL;
    sync_barrier *br = NULL;
    sync_cond *cv = NULL;
    size_t i;

    lock_with_dead_holder_mark(cfx_name("UL"));
    cr_assert(eq(int, sync_lock_open(a, cfx_name("UL"), &l), 0));
    cr_assert(eq(int, sync_event_open(a, cfx_name("UE"), &e), 0));
    cr_assert(eq(int, sync_event_set(e), 0));
    cr_assert(eq(int, sync_sem_open(a, cfx_name("US"), 1, &s), 0));
    cr_assert(eq(int, sync_sem_acquire(s, true, 5), 0));
    cr_assert(eq(int, sync_sem_release(s, 1), 0));
    cr_assert(eq(int, sync_sem_release(s, 1), 0)); /* value 2: a counter */
    cr_assert(eq(int, sync_barrier_open(a, cfx_name("UB"), 1, &br), 0));
    cr_assert(eq(int, sync_barrier_wait(br, 5), 0));
    cr_assert(eq(int, sync_cond_open(a, cfx_name("UC"), NULL, &cv), 0));
    cr_assert(eq(int, sync_cond_acquire(cv, true, 5), 0));
    cr_assert(eq(int, sync_cond_wait(cv, 0.1), SYNC_ETIMEDOUT));
    cr_assert(eq(int, sync_cond_release(cv), 0));
    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        cr_assert(gt(int, etcd_keys(cfx_name(names[i])), 1), "%s",
                  names[i]);
        /* From the other host. */
        cr_assert(eq(int, sync_unlink(b, cfx_name(names[i])), 0));
        cr_assert(eq(int, etcd_keys(cfx_name(names[i])), 0),
                  "%s: %d keys left", names[i],
                  etcd_keys(cfx_name(names[i])));
        cr_assert(eq(int, sync_unlink(b, cfx_name(names[i])), SYNC_ENOENT));
    }
    /* Afresh: no owner-died, clear, the initial value. */
    sync_event_close(e);
    cr_assert(eq(int, sync_event_open(b, cfx_name("UE"), &e), 0));
    cr_assert(eq(int, sync_event_is_set(e), 0));
    cr_assert(eq(int, sync_lock_open(b, cfx_name("UL"), &l), 0));
    cr_assert(eq(int, sync_lock_acquire(l, true, 5), 0));
    cr_assert(eq(int, sync_lock_owner_died(l), 0));
    cr_assert(eq(int, sync_lock_release(l), 0));
    sync_sem_close(s);
    cr_assert(eq(int, sync_sem_open(b, cfx_name("US"), 1, &s), 0));
    cr_assert(eq(int, sync_sem_value(s), 1));
    sync_disconnect(a);
    sync_disconnect(b);
}

/* Unlinked while held or waited on, an object keeps its keys (only its
 * name goes): its holders and the handles opened before keep its state,
 * as a local object's do. */
Test(cluster, unlink_of_a_used_object_keeps_its_state)
{
    sync_client *a = cfx_connect(0), *b = cfx_connect(1);
    sync_lock *l = NULL;
    sync_sem *s = NULL, *s2 = NULL;

    cr_assert(eq(int, sync_lock_open(a, cfx_name("HL"), &l), 0));
    cr_assert(eq(int, sync_lock_acquire(l, true, 5), 0));
    cr_assert(eq(int, sync_unlink(b, cfx_name("HL")), 0));
    cr_assert(gt(int, etcd_keys(cfx_name("HL")), 0));
    cr_assert(eq(int, sync_lock_locked(l), 1));
    cr_assert(eq(int, sync_lock_release(l), 0));
    /* A permit given out without UNDO is a holder too. */
    cr_assert(eq(int, sync_sem_open(a, cfx_name("HS"), 2, &s), 0));
    cr_assert(eq(int, sync_sem_acquire(s, true, 5), 0));
    cr_assert(eq(int, sync_unlink(b, cfx_name("HS")), 0));
    cr_assert(gt(int, etcd_keys(cfx_name("HS")), 0));
    cr_assert(eq(int, sync_sem_value(s), 1));
    cr_assert(eq(int, sync_sem_open(b, cfx_name("HS"), 2, &s2), 0));
    cr_assert(eq(int, sync_sem_value(s2), 2), "the new one starts afresh");
    cr_assert(eq(int, sync_sem_release(s, 1), 0));
    cr_assert(eq(int, sync_sem_value(s), 2));
    sync_disconnect(a);
    sync_disconnect(b);
}

/* Without --cluster, a cluster/ name is refused, never served locally. */
Test(cluster, daemon_without_cluster_refuses_cluster_names)
{
    char sock[160], log[160];
    pid_t pid;
    sync_client *c = NULL;
    sync_lock *l = NULL;

    snprintf(sock, sizeof(sock), "%s/plain.sock", cfx.dir);
    snprintf(log, sizeof(log), "%s/plain.log", cfx.dir);
    pid = syncd_spawn(sock, log, (const char *[]){"--config", "/dev/null",
                                                  NULL});
    cr_assert(syncd_wait_ready(sock, pid, 10000));
    cr_assert(eq(int, sync_connect(sock, &c), 0));
    cr_assert(eq(int, sync_lock_open(c, "cluster/x", &l), SYNC_EUNAVAIL));
    cr_assert(eq(int, sync_lock_open(c, "local", &l), 0));
    cr_assert(eq(int, sync_lock_acquire(l, true, -1), 0));
    sync_disconnect(c);
    kill(pid, SIGTERM);
    cr_assert(eq(int, fx_waitpid(pid, 10000), 0));
    cr_assert(file_contains(log, "cluster/ names need a daemon started "
                                 "with --cluster"));
}

/* etcd out of reach: SYNC_EUNAVAIL in bounded time; local names work. */
Test(cluster, unreachable_etcd_is_unavail_and_local_names_work,
     .timeout = 60)
{
    char sock[160], log[160];
    pid_t pid;
    sync_client *c = NULL;
    sync_lock *l = NULL;
    double t0;

    snprintf(sock, sizeof(sock), "%s/cut.sock", cfx.dir);
    snprintf(log, sizeof(log), "%s/cut.log", cfx.dir);
    /* Port 9 (discard) on loopback: nothing listens there. */
    pid = syncd_spawn(sock, log, (const char *[]){
        "--cluster", "http://127.0.0.1:9,http://127.0.0.1:9", "--config",
        "/dev/null", NULL});
    cr_assert(syncd_wait_ready(sock, pid, 10000));
    cr_assert(eq(int, sync_connect(sock, &c), 0));
    t0 = fx_now();
    cr_assert(eq(int, sync_lock_open(c, "cluster/x", &l), SYNC_EUNAVAIL));
    cr_assert(lt(dbl, fx_now() - t0, 10.0));
    cr_assert(eq(int, sync_lock_open(c, "local", &l), 0));
    cr_assert(eq(int, sync_lock_acquire(l, true, -1), 0));
    cr_assert(eq(int, sync_lock_release(l), 0));
    sync_disconnect(c);
    kill(pid, SIGTERM);
    cr_assert(eq(int, fx_waitpid(pid, 15000), 0));
}
