/*
 * test_deadlock.c: the locks' wait-for graph (objects/lock.c), built from
 * real Locks/RLocks and queued fake waiters as dispatch builds it: a cycle is
 * found exactly when every lock on the chain is held by someone waiting
 * for the next, and a waiter leaves the graph when it leaves its queue.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "fake_waiter.h"
#include "objects/condition.h"
#include "objects/lock.h"
#include "syncclient.h"

enum { A = 1, B = 2, C = 3, D = 4 };
enum { T1 = 11, T2 = 12 };

#define N_LOCKS 70

static struct lock *lk[N_LOCKS];
static struct fake_waiter holds[N_LOCKS], waits[N_LOCKS];
static struct lock_edge cycle[LOCK_MAX_CHAIN];
static struct object_env env; /* as a registry's: the graph lives here */

static void setup(void)
{
    char name[16];
    int i;

    for (i = 0; i < N_LOCKS; i++) {
        snprintf(name, sizeof(name), "L%d", i);
        lk[i] = i % 2 ? rlock_new(name) : lock_new(name);
        cr_assert(ne(ptr, lk[i], NULL));
        lk[i]->base.env = &env;
    }
}

static void teardown(void)
{
    int i;

    /* Cancel whatever a test left queued, then free. */
    for (i = 0; i < N_LOCKS; i++)
        object_cancel(&waits[i].w, SYNC_ESHUTDOWN);
    for (i = 0; i < N_LOCKS; i++) {
        TEST_FINI_CHECK(lk[i]->base.ops->n_waiting(&lk[i]->base) == 0,
                        "waiters left");
        lk[i]->base.ops->free(&lk[i]->base);
    }
    TEST_FINI_CHECK(env.wait_for == NULL, "waiters left in the graph");
}

TestSuite(deadlock, .init = setup, .fini = teardown);

/* Named locks for readability: X = L0 (Lock), Y = L1 (RLock), ... */
#define X lk[0]
#define Y lk[1]
#define Z lk[2]
#define R lk[3] /* an RLock */

/* (owner, thread) takes l; slot picks the fake waiter. */
static void hold(int slot, struct lock *l, uint64_t owner, uint64_t thread)
{
    fake_waiter_init_thread(&holds[slot], owner, thread);
    cr_assert(eq(int, lock_acquire(l, &holds[slot].w, true), 0));
}

/* (owner, thread) blocks on l. */
static void block(int slot, struct lock *l, uint64_t owner, uint64_t thread)
{
    fake_waiter_init_thread(&waits[slot], owner, thread);
    cr_assert(eq(int, lock_acquire(l, &waits[slot].w, true), SYNCD_PENDING));
    cr_assert(eq(int, waits[slot].w.waits_for_lock, true));
}

/* What lock_acquire checks before queueing. */
static size_t would_deadlock(struct lock *l, uint64_t owner, uint64_t thread)
{
    if (!l->held || lock_is_owner(l, owner, thread))
        return 0;
    return lock_find_cycle(l, owner, thread, cycle);
}

static void assert_edge(size_t i,
                        uint64_t owner,
                        uint64_t thread,
                        const struct lock *wants)
{
    cr_assert(eq(u64, cycle[i].owner, owner), "edge %zu owner", i);
    cr_assert(eq(u64, cycle[i].thread, thread), "edge %zu thread", i);
    cr_assert(eq(ptr, (void *)cycle[i].wants, (void *)wants), "edge %zu lock",
              i);
}

Test(deadlock, two_party_cycle_is_found_with_its_edges)
{
    hold(0, X, A, T1);
    hold(1, Y, B, T1);
    block(0, Y, A, T1);
    /* B asking for X would close A -> Y -> B -> X -> A. */
    cr_assert(eq(sz, lock_find_cycle(X, B, T1, cycle), 2));
    assert_edge(0, B, T1, X);
    assert_edge(1, A, T1, Y);
    cr_assert(eq(sz, would_deadlock(X, B, T1), 2));
}

Test(deadlock, acquire_that_would_close_a_cycle_is_refused_unqueued)
{
    struct fake_waiter w;

    hold(0, X, A, T1);
    hold(1, Y, B, T1);
    block(0, Y, A, T1);
    fake_waiter_init_thread(&w, B, T1);
    cr_assert(eq(int, lock_acquire(X, &w.w, true), SYNC_EDEADLK));
    cr_assert(eq(ptr, (void *)w.w.queue, NULL));
    cr_assert(eq(int, w.w.waits_for_lock, false));
    cr_assert(eq(sz, waitq_len(&X->waiters), 0));
    /* Trying once never waits, so it is no deadlock. */
    cr_assert(eq(int, lock_acquire(X, &w.w, false), SYNC_ETIMEDOUT));
    FAKE_ASSERT_UNTOUCHED(&w);
}

Test(deadlock, no_cycle_when_holder_is_not_waiting)
{
    hold(0, X, A, T1);
    hold(1, Y, B, T1);
    /* A holds X but waits for nothing: B would just wait. */
    cr_assert(eq(sz, lock_find_cycle(X, B, T1, cycle), 0));
    cr_assert(eq(sz, would_deadlock(Y, A, T1), 0));
    block(0, X, B, T1);
    /* Now B waits for X; A asking for Y closes it. */
    cr_assert(eq(sz, would_deadlock(Y, A, T1), 2));
    assert_edge(0, A, T1, Y);
    assert_edge(1, B, T1, X);
}

Test(deadlock, free_lock_is_never_a_cycle)
{
    hold(0, X, A, T1);
    block(0, X, B, T1);
    cr_assert(eq(sz, lock_find_cycle(Y, A, T1, cycle), 0));
    cr_assert(eq(sz, would_deadlock(Y, A, T1), 0));
}

Test(deadlock, three_party_cycle_is_found)
{
    hold(0, X, A, T1);
    hold(1, Y, B, T1);
    hold(2, Z, C, T1);
    block(0, Y, A, T1); /* A -> B */
    block(1, Z, B, T1); /* B -> C */
    /* C asking for X: C -> A -> B -> C. */
    cr_assert(eq(sz, would_deadlock(X, C, T1), 3));
    assert_edge(0, C, T1, X);
    assert_edge(1, A, T1, Y);
    assert_edge(2, B, T1, Z);
}

Test(deadlock, chain_without_cycle_is_zero)
{
    hold(0, X, A, T1);
    hold(1, Y, B, T1);
    hold(2, Z, C, T1);
    block(0, Y, A, T1);
    block(1, Z, B, T1);
    /* D is on no chain: asking for X just waits behind A -> B -> C. */
    cr_assert(eq(sz, would_deadlock(X, D, T1), 0));
    cr_assert(eq(sz, would_deadlock(Z, D, T1), 0));
    /* Another thread of the chain's last owner is another node. */
    cr_assert(eq(sz, would_deadlock(Y, C, T2), 0));
}

Test(deadlock, cancelled_waiter_leaves_the_graph)
{
    hold(0, X, A, T1);
    hold(1, Y, B, T1);
    block(0, Y, A, T1);
    cr_assert(eq(sz, would_deadlock(X, B, T1), 2));
    object_cancel(&waits[0].w, SYNC_ETIMEDOUT);
    FAKE_ASSERT_DONE(&waits[0], SYNC_ETIMEDOUT);
    cr_assert(eq(int, waits[0].w.waits_for_lock, false));
    cr_assert(eq(sz, would_deadlock(X, B, T1), 0));
}

Test(deadlock, expired_waiter_leaves_the_graph)
{
    hold(0, X, A, T1);
    hold(1, Y, B, T1);
    block(0, Y, A, T1);
    object_expire(&waits[0].w);
    FAKE_ASSERT_DONE(&waits[0], SYNC_ETIMEDOUT);
    cr_assert(eq(sz, would_deadlock(X, B, T1), 0));
}

Test(deadlock, granted_waiter_leaves_the_graph)
{
    hold(0, X, A, T1);
    hold(1, Y, B, T1);
    block(0, Y, A, T1);
    cr_assert(eq(int, lock_release_by(Y, B, T1), 0));
    FAKE_ASSERT_DONE(&waits[0], 0);
    cr_assert(eq(int, waits[0].w.waits_for_lock, false));
    /* A holds X and Y and waits for nothing. */
    cr_assert(eq(sz, would_deadlock(X, B, T1), 0));
    cr_assert(eq(sz, would_deadlock(Y, B, T1), 0));
}

Test(deadlock, dropped_owner_hand_off_leaves_the_graph)
{
    hold(0, X, A, T1);
    hold(1, Y, B, T1);
    block(0, Y, A, T1);
    cr_assert(eq(int, object_drop_owner(&Y->base, B), true));
    FAKE_ASSERT_DONE(&waits[0], 0);
    cr_assert(eq(sz, would_deadlock(X, B, T1), 0));
}

Test(deadlock, rlock_reentry_by_owner_is_not_a_cycle)
{
    hold(0, R, A, T1);
    /* dispatch checks ownership first: re-entry never waits. */
    cr_assert(eq(int, lock_is_owner(R, A, T1), true));
    cr_assert(eq(sz, would_deadlock(R, A, T1), 0));
    hold(1, R, A, T1);
    cr_assert(eq(u32, R->depth, 2));
    /* Without that check the walk would see A waiting for itself. */
    cr_assert(eq(sz, lock_find_cycle(R, A, T1, cycle), 1));
    lock_release_by(R, A, T1);
    lock_release_by(R, A, T1);
}

Test(deadlock, rlock_other_thread_of_owner_just_waits)
{
    hold(0, R, A, T1);
    cr_assert(eq(int, lock_is_owner(R, A, T2), false));
    cr_assert(eq(sz, would_deadlock(R, A, T2), 0));
    block(0, R, A, T2);
}

Test(deadlock, threads_of_one_client_are_separate_nodes)
{
    struct lock *r1 = lk[3], *r2 = lk[5]; /* RLocks */

    hold(0, r1, A, T1);
    hold(1, r2, A, T2);
    block(0, r2, A, T1);
    /* T2 asking for r1: T2 -> T1 -> T2. */
    cr_assert(eq(sz, would_deadlock(r1, A, T2), 2));
    assert_edge(0, A, T2, r1);
    assert_edge(1, A, T1, r2);
}

Test(deadlock, several_waiters_on_one_lock_are_indexed_each)
{
    hold(0, X, A, T1);
    hold(1, Y, B, T1);
    hold(2, Z, C, T1);
    block(0, X, B, T1); /* B -> A */
    block(1, X, C, T1); /* C -> A */
    cr_assert(eq(sz, would_deadlock(Y, A, T1), 2));
    assert_edge(1, B, T1, X);
    cr_assert(eq(sz, would_deadlock(Z, A, T1), 2));
    assert_edge(1, C, T1, X);
    object_cancel(&waits[0].w, SYNC_ECONN);
    cr_assert(eq(sz, would_deadlock(Y, A, T1), 0));
    cr_assert(eq(sz, would_deadlock(Z, A, T1), 2));
}

Test(deadlock, condition_waiter_reacquiring_its_lock_is_an_edge)
{
    struct condition *cv = condition_new("cv", Y, false);
    struct fake_waiter cw;
    uint32_t woken;

    cr_assert(ne(ptr, cv, NULL));
    hold(0, X, A, T1);
    hold(1, Y, A, T1);
    fake_waiter_init_thread(&cw, A, T1);
    cr_assert(eq(int, condition_wait(cv, &cw.w), SYNCD_PENDING));
    /* Waiting for a notify is no edge: anyone may notify. */
    cr_assert(eq(int, cw.w.waits_for_lock, false));
    hold(2, Y, B, T1);
    cr_assert(eq(int, condition_notify(cv, B, T1, 1, &woken), 0));
    cr_assert(eq(u32, woken, 1));
    /* Now A waits for Y held by B: B asking for X closes the cycle. */
    cr_assert(eq(int, cw.w.waits_for_lock, true));
    cr_assert(eq(sz, would_deadlock(X, B, T1), 2));
    assert_edge(0, B, T1, X);
    assert_edge(1, A, T1, Y);
    cr_assert(eq(int, lock_release_by(Y, B, T1), 0));
    FAKE_ASSERT_DONE(&cw, 0);
    cr_assert(eq(sz, would_deadlock(X, B, T1), 0));
    cv->base.ops->free(&cv->base);
}

Test(deadlock, same_thread_queued_twice_stays_consistent)
{
    /* A misbehaving client may send a second blocking acquire for a
     * thread that already waits (thread ids are the client's word): the
     * index must keep both and drop each with its own waiter. */
    hold(0, X, A, T1);
    hold(1, Z, B, T1);
    hold(2, R, C, T1);
    block(0, Z, C, T1); /* C -> B */
    block(1, X, C, T1); /* C -> A */
    object_cancel(&waits[0].w, SYNC_ECONN);
    cr_assert(eq(int, waits[0].w.waits_for_lock, false));
    cr_assert(eq(int, waits[1].w.waits_for_lock, true));
    /* The X wait is still indexed: A asking for R (held by C) closes it. */
    cr_assert(eq(sz, would_deadlock(R, A, T1), 2));
    assert_edge(1, C, T1, X);
    /* B does not: C no longer waits for Z. */
    cr_assert(eq(sz, would_deadlock(R, B, T1), 0));
    object_cancel(&waits[1].w, SYNC_ECONN);
    cr_assert(eq(sz, would_deadlock(R, A, T1), 0));
}

/* A cycle through n distinct owners: owner i holds lk[i] and (for i >= 1)
 * waits for lk[i + 1 mod n]; owner 0 then asks for lk[1]. */
static size_t ring(size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        hold((int)i, lk[i], 100 + i, T1);
    for (i = 1; i < n; i++)
        block((int)i, lk[(i + 1) % n], 100 + i, T1);
    return would_deadlock(lk[1], 100, T1);
}

Test(deadlock, long_cycle_within_limit_is_found)
{
    size_t i, n = LOCK_MAX_CHAIN - 1;

    cr_assert(eq(sz, ring(n), n));
    for (i = 0; i < n; i++)
        assert_edge(i, 100 + i, T1, lk[(i + 1) % n]);
}

Test(deadlock, cycle_longer_than_limit_is_not_reported)
{
    /* Never a false positive, and never a write past cycle[]. */
    cr_assert(eq(sz, ring(LOCK_MAX_CHAIN + 1), 0));
}

Test(deadlock, much_longer_cycle_is_not_reported)
{
    cr_assert(eq(sz, ring(N_LOCKS), 0));
}

/* LOCK_MAX_CHAIN is the longest cycle reported, inclusive. */
Test(deadlock, cycle_of_exactly_max_chain_is_found)
{
    cr_assert(eq(sz, ring(LOCK_MAX_CHAIN), LOCK_MAX_CHAIN));
}

/*
 * Documented semantics (lock.h, syncclient.h): a plain Lock's node in
 * the wait-for graph is the thread that acquired it.  Another thread of
 * the same client could release it, but a program that does so while the
 * acquiring thread is blocked is the rare case; reporting the cycle is what
 * catches the classic lock-order deadlock between processes.
 */
Test(deadlock, plain_lock_is_attributed_to_the_acquiring_thread)
{
    cr_assert(eq(int, X->recursive, false));
    hold(0, X, A, T1);
    hold(1, Y, B, T1);
    block(0, Y, A, T1);
    cr_assert(eq(int, lock_is_owner(X, A, T2), true), "T2 may release X");
    cr_assert(eq(sz, would_deadlock(X, B, T1), 2));
}
