/*
 * test_barrier.c: the Barrier state machine (daemon/objects/barrier.c):
 * arrival indices, rounds, and how a timeout, an abort, a reset or a dead
 * party breaks it; the action (one party runs it, the round waits for its
 * report; failure, the actor's death or a timeout break it); then the registry's parties check (daemon/registry.c).
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/lsan_interface.h>
#endif

#include "fake_waiter.h"
#include "objects/barrier.h"
#include "registry.h"
#include "syncclient.h"

enum { A = 1, B = 2, C = 3, D = 4 };

static struct barrier *b;

static void setup(void)
{
    b = barrier_new("test-barrier", 3);
    cr_assert(ne(ptr, b, NULL));
}

static void teardown(void)
{
    TEST_FINI_CHECK(b->base.ops->n_waiting(&b->base) == 0,
                    "test left waiters queued");
    b->base.ops->free(&b->base);
}

TestSuite(barrier, .init = setup, .fini = teardown);

static size_t n_waiting(void)
{
    return b->base.ops->n_waiting(&b->base);
}

/* Arrive with a fresh waiter of owner that must be queued as index. */
static void arrive(struct fake_waiter *f, uint64_t owner, int64_t index)
{
    fake_waiter_init(f, owner);
    cr_assert(eq(int, barrier_wait(b, &f->w), SYNCD_PENDING));
    FAKE_ASSERT_PENDING(f);
    cr_assert(eq(i64, f->w.value, index));
    cr_assert(eq(ptr, f->w.obj, &b->base));
}

/* Arrive last: must pass at once with index parties - 1. */
static void arrive_last(struct fake_waiter *f, uint64_t owner)
{
    fake_waiter_init(f, owner);
    cr_assert(eq(int, barrier_wait(b, &f->w), 0));
    FAKE_ASSERT_UNTOUCHED(f);
    cr_assert(eq(i64, f->w.value, (int64_t)b->parties - 1));
}

static void arrive_broken(struct fake_waiter *f, uint64_t owner)
{
    fake_waiter_init(f, owner);
    cr_assert(eq(int, barrier_wait(b, &f->w), SYNC_EBROKEN));
    FAKE_ASSERT_UNTOUCHED(f);
}

Test(barrier, new_barrier_has_parties_and_is_whole)
{
    cr_assert(eq(int, b->base.type, OBJECT_BARRIER));
    cr_assert(eq(u32, b->parties, 3));
    cr_assert(eq(u32, b->base.param, 3));
    cr_assert(eq(int, b->broken, false));
    cr_assert(eq(u64, b->rounds, 0));
    cr_assert(eq(i64, b->base.ops->query(&b->base), 0));
}

Test(barrier, zero_parties_is_refused)
{
    cr_assert(eq(ptr, barrier_new("zero", 0), NULL));
}

Test(barrier, three_parties_meet_with_indices_0_1_2)
{
    struct fake_waiter w[3];

    arrive(&w[0], A, 0);
    arrive(&w[1], B, 1);
    cr_assert(eq(sz, n_waiting(), 2));
    cr_assert(eq(i64, b->base.ops->query(&b->base), 2));
    arrive_last(&w[2], C);
    FAKE_ASSERT_DONE(&w[0], 0);
    FAKE_ASSERT_DONE(&w[1], 0);
    /* Indices survive completion. */
    cr_assert(eq(i64, w[0].w.value, 0));
    cr_assert(eq(i64, w[1].w.value, 1));
    cr_assert(eq(sz, n_waiting(), 0));
    cr_assert(eq(u64, b->rounds, 1));
    cr_assert(eq(int, b->broken, false));
}

Test(barrier, next_round_starts_over_at_index_0)
{
    struct fake_waiter w[3], v[3];
    int round;

    for (round = 0; round < 2; round++) {
        struct fake_waiter *x = round == 0 ? w : v;

        arrive(&x[0], C, 0);
        arrive(&x[1], A, 1);
        arrive_last(&x[2], B);
        FAKE_ASSERT_DONE(&x[0], 0);
        FAKE_ASSERT_DONE(&x[1], 0);
        cr_assert(eq(u64, b->rounds, (uint64_t)round + 1));
    }
    /* The first round's waiters were not touched again. */
    cr_assert(eq(int, w[0].n_complete, 1));
    cr_assert(lt(u32, w[1].seq, v[0].seq));
}

Test(barrier, same_owner_may_arrive_twice)
{
    struct fake_waiter w[3];

    /* Two threads of one client are two parties. */
    arrive(&w[0], A, 0);
    arrive(&w[1], A, 1);
    arrive_last(&w[2], A);
    FAKE_ASSERT_DONE(&w[0], 0);
    FAKE_ASSERT_DONE(&w[1], 0);
}

Test(barrier, abort_breaks_waiters_and_later_arrivals)
{
    struct fake_waiter w[2], x;

    arrive(&w[0], A, 0);
    arrive(&w[1], B, 1);
    barrier_abort(b);
    FAKE_ASSERT_DONE(&w[0], SYNC_EBROKEN);
    FAKE_ASSERT_DONE(&w[1], SYNC_EBROKEN);
    cr_assert(lt(u32, w[0].seq, w[1].seq));
    cr_assert(eq(int, b->broken, true));
    cr_assert(eq(sz, n_waiting(), 0));
    arrive_broken(&x, C);
    arrive_broken(&x, C);
    cr_assert(eq(int, b->broken, true));
    cr_assert(eq(u64, b->rounds, 0));
}

Test(barrier, abort_without_waiters_breaks_it)
{
    struct fake_waiter x;

    barrier_abort(b);
    barrier_abort(b);
    cr_assert(eq(int, b->broken, true));
    arrive_broken(&x, A);
}

Test(barrier, reset_wakes_waiters_broken_and_makes_it_usable)
{
    struct fake_waiter w[2], v[3];

    arrive(&w[0], A, 0);
    arrive(&w[1], B, 1);
    barrier_reset(b);
    FAKE_ASSERT_DONE(&w[0], SYNC_EBROKEN);
    FAKE_ASSERT_DONE(&w[1], SYNC_EBROKEN);
    cr_assert(eq(int, b->broken, false));
    cr_assert(eq(sz, n_waiting(), 0));

    arrive(&v[0], C, 0);
    arrive(&v[1], D, 1);
    arrive_last(&v[2], A);
    FAKE_ASSERT_DONE(&v[0], 0);
    FAKE_ASSERT_DONE(&v[1], 0);
    cr_assert(eq(u64, b->rounds, 1));
}

Test(barrier, reset_repairs_broken_barrier)
{
    struct fake_waiter x, v[3];

    barrier_abort(b);
    arrive_broken(&x, A);
    barrier_reset(b);
    cr_assert(eq(int, b->broken, false));
    arrive(&v[0], A, 0);
    arrive(&v[1], B, 1);
    arrive_last(&v[2], C);
    FAKE_ASSERT_DONE(&v[0], 0);
    FAKE_ASSERT_DONE(&v[1], 0);
}

Test(barrier, expire_of_waiter_breaks_barrier_for_all)
{
    struct fake_waiter w[2], x;

    arrive(&w[0], A, 0);
    arrive(&w[1], B, 1);
    object_expire(&w[1].w);
    /* Python: the one that timed out gets BrokenBarrierError too. */
    FAKE_ASSERT_DONE(&w[1], SYNC_EBROKEN);
    FAKE_ASSERT_DONE(&w[0], SYNC_EBROKEN);
    cr_assert(eq(int, b->broken, true));
    cr_assert(eq(sz, n_waiting(), 0));
    arrive_broken(&x, C);
    /* Completed: expiring or cancelling again does nothing. */
    object_expire(&w[1].w);
    object_cancel(&w[0].w, SYNC_ECONN);
    FAKE_ASSERT_DONE(&w[1], SYNC_EBROKEN);
    FAKE_ASSERT_DONE(&w[0], SYNC_EBROKEN);
}

Test(barrier, expire_of_only_waiter_breaks_barrier)
{
    struct fake_waiter w, x;

    arrive(&w, A, 0);
    object_expire(&w.w);
    FAKE_ASSERT_DONE(&w, SYNC_EBROKEN);
    cr_assert(eq(int, b->broken, true));
    arrive_broken(&x, B);
}

Test(barrier, cancel_of_dead_party_breaks_it_for_the_others)
{
    struct fake_waiter w[2], x;

    arrive(&w[0], A, 0);
    arrive(&w[1], B, 1);
    object_cancel(&w[0].w, SYNC_ECONN);
    FAKE_ASSERT_DONE(&w[0], SYNC_ECONN);
    FAKE_ASSERT_DONE(&w[1], SYNC_EBROKEN);
    cr_assert(lt(u32, w[0].seq, w[1].seq));
    cr_assert(eq(int, b->broken, true));
    cr_assert(eq(sz, n_waiting(), 0));
    arrive_broken(&x, C);
    object_cancel(&w[0].w, SYNC_ECONN);
    FAKE_ASSERT_DONE(&w[0], SYNC_ECONN);
}

Test(barrier, arrival_after_break_and_reset_gets_fresh_indices)
{
    struct fake_waiter w, v[3];

    arrive(&w, A, 0);
    object_cancel(&w.w, SYNC_ECONN);
    barrier_reset(b);
    arrive(&v[0], B, 0);
    arrive(&v[1], C, 1);
    arrive_last(&v[2], D);
    FAKE_ASSERT_DONE(&v[0], 0);
    FAKE_ASSERT_DONE(&v[1], 0);
}

Test(barrier, one_party_passes_at_once_with_index_0)
{
    struct barrier *one = barrier_new("one", 1);
    struct fake_waiter f;
    int i;

    cr_assert(ne(ptr, one, NULL));
    for (i = 0; i < 3; i++) {
        fake_waiter_init(&f, A);
        cr_assert(eq(int, barrier_wait(one, &f.w), 0));
        cr_assert(eq(i64, f.w.value, 0));
        FAKE_ASSERT_UNTOUCHED(&f);
    }
    cr_assert(eq(u64, one->rounds, 3));
    cr_assert(eq(sz, one->base.ops->n_waiting(&one->base), 0));
    one->base.ops->free(&one->base);
}

Test(barrier, no_owner_state)
{
    struct fake_waiter w;

    /* Without an action running a barrier holds nothing for anyone:
     * drop_owner is a no-op. */
    arrive(&w, A, 0);
    cr_assert(eq(int, object_drop_owner(&b->base, A), false));
    cr_assert(eq(int, object_holds(&b->base, A), false));
    FAKE_ASSERT_PENDING(&w);
    cr_assert(eq(ptr, object_root(&b->base), &b->base));
    object_cancel(&w.w, SYNC_ECONN);
}

/* ---- the action: one party runs it, the round waits for it ------------- */

/* Arrive offering (or not) to run the action; queued as index. */
static void arrive_offer(struct fake_waiter *f, uint64_t owner, bool offer,
                         int64_t index)
{
    fake_waiter_init(f, owner);
    f->w.offers_action = offer;
    cr_assert(eq(int, barrier_wait(b, &f->w), SYNCD_PENDING));
    FAKE_ASSERT_PENDING(f);
    cr_assert(eq(i64, f->w.value, index));
}

/* Fill the round as owner, offering, and be told to run the action. */
static void arrive_actor(struct fake_waiter *f, uint64_t owner)
{
    fake_waiter_init(f, owner);
    f->w.offers_action = true;
    cr_assert(eq(int, barrier_wait(b, &f->w), 0));
    FAKE_ASSERT_UNTOUCHED(f);
    cr_assert(f->w.run_action);
    cr_assert(eq(i64, f->w.value, (int64_t)b->parties - 1));
    cr_assert(b->acting);
    cr_assert(object_holds(&b->base, owner));
}

Test(barrier, last_arrival_runs_action_and_the_round_waits_for_it)
{
    struct fake_waiter w[3];

    arrive_offer(&w[0], A, true, 0);
    arrive_offer(&w[1], B, true, 1);
    arrive_actor(&w[2], C);
    /* The others are held until the action is reported. */
    FAKE_ASSERT_PENDING(&w[0]);
    FAKE_ASSERT_PENDING(&w[1]);
    cr_assert(eq(int, w[0].w.run_action, false));
    cr_assert(eq(u64, b->rounds, 0));
    cr_assert(eq(int, object_holds(&b->base, A), false));
    cr_assert(eq(int, barrier_action_done(b, C, true), 0));
    FAKE_ASSERT_DONE(&w[0], 0);
    FAKE_ASSERT_DONE(&w[1], 0);
    cr_assert(eq(i64, w[0].w.value, 0));
    cr_assert(eq(i64, w[1].w.value, 1));
    cr_assert(eq(u64, b->rounds, 1));
    cr_assert(eq(int, b->acting, false));
    cr_assert(eq(int, object_holds(&b->base, C), false));
    /* Reported once: a second report is not the actor's any more. */
    cr_assert(eq(int, barrier_action_done(b, C, true), SYNC_EPERM));
}

Test(barrier, latest_offering_party_runs_it_when_the_last_does_not)
{
    struct fake_waiter w[3];

    arrive_offer(&w[0], A, true, 0);
    arrive_offer(&w[1], B, false, 1);
    cr_assert(barrier_would_queue(b, false));
    cr_assert(eq(int, barrier_would_queue(b, true), false));
    /* C fills the round without offering: A, the party that offered, is
     * answered now and told to run it; C waits in its place. */
    fake_waiter_init(&w[2], C);
    cr_assert(eq(int, barrier_wait(b, &w[2].w), SYNCD_PENDING));
    FAKE_ASSERT_PENDING(&w[2]);
    cr_assert(eq(i64, w[2].w.value, 2));
    FAKE_ASSERT_DONE(&w[0], 0);
    cr_assert(w[0].w.run_action);
    cr_assert(eq(i64, w[0].w.value, 0));
    FAKE_ASSERT_PENDING(&w[1]);
    cr_assert(eq(sz, n_waiting(), 2));
    cr_assert(object_holds(&b->base, A));
    cr_assert(eq(int, barrier_action_done(b, A, true), 0));
    FAKE_ASSERT_DONE(&w[1], 0);
    FAKE_ASSERT_DONE(&w[2], 0);
    cr_assert(eq(int, w[1].w.run_action || w[2].w.run_action, false));
    cr_assert(eq(u64, b->rounds, 1));
}

Test(barrier, no_party_offering_releases_the_round_at_once)
{
    struct fake_waiter w[3];

    arrive_offer(&w[0], A, false, 0);
    arrive_offer(&w[1], B, false, 1);
    arrive_last(&w[2], C);
    cr_assert(eq(int, w[2].w.run_action, false));
    FAKE_ASSERT_DONE(&w[0], 0);
    FAKE_ASSERT_DONE(&w[1], 0);
    cr_assert(eq(int, b->acting, false));
}

Test(barrier, failed_action_breaks_the_barrier_for_every_waiter)
{
    struct fake_waiter w[3], x;

    arrive_offer(&w[0], A, true, 0);
    arrive_offer(&w[1], B, true, 1);
    arrive_actor(&w[2], C);
    cr_assert(eq(int, barrier_action_done(b, C, false), 0));
    FAKE_ASSERT_DONE(&w[0], SYNC_EBROKEN);
    FAKE_ASSERT_DONE(&w[1], SYNC_EBROKEN);
    cr_assert(b->broken);
    cr_assert(eq(u64, b->rounds, 0));
    arrive_broken(&x, D);
}

Test(barrier, actor_going_away_breaks_the_barrier)
{
    struct fake_waiter w[3];

    arrive_offer(&w[0], A, true, 0);
    arrive_offer(&w[1], B, true, 1);
    arrive_actor(&w[2], C);
    cr_assert(eq(int, object_drop_owner(&b->base, B), false));
    FAKE_ASSERT_PENDING(&w[0]);
    cr_assert(object_drop_owner(&b->base, C));
    FAKE_ASSERT_DONE(&w[0], SYNC_EBROKEN);
    FAKE_ASSERT_DONE(&w[1], SYNC_EBROKEN);
    cr_assert(b->broken);
    cr_assert(eq(int, object_holds(&b->base, C), false));
    /* Its report, had it come, says the round broke. */
    cr_assert(eq(int, barrier_action_done(b, C, true), SYNC_EBROKEN));
}

Test(barrier, waiter_timing_out_during_the_action_breaks_it)
{
    struct fake_waiter w[3];

    arrive_offer(&w[0], A, true, 0);
    arrive_offer(&w[1], B, true, 1);
    arrive_actor(&w[2], C);
    object_expire(&w[1].w);
    FAKE_ASSERT_DONE(&w[1], SYNC_EBROKEN);
    FAKE_ASSERT_DONE(&w[0], SYNC_EBROKEN);
    cr_assert(b->broken);
    cr_assert(eq(int, barrier_action_done(b, C, true), SYNC_EBROKEN));
    cr_assert(eq(int, barrier_action_done(b, C, true), SYNC_EPERM));
}

Test(barrier, report_from_a_party_not_running_it_is_eperm)
{
    struct fake_waiter w[3];

    cr_assert(eq(int, barrier_action_done(b, A, true), SYNC_EPERM));
    cr_assert(eq(int, barrier_action_done(b, 0, true), SYNC_EPERM));
    arrive_offer(&w[0], A, true, 0);
    arrive_offer(&w[1], B, true, 1);
    arrive_actor(&w[2], C);
    cr_assert(eq(int, barrier_action_done(b, A, false), SYNC_EPERM));
    /* Nothing changed for the round. */
    FAKE_ASSERT_PENDING(&w[0]);
    cr_assert(b->acting);
    cr_assert(eq(int, b->broken, false));
    cr_assert(eq(int, barrier_action_done(b, C, true), 0));
    FAKE_ASSERT_DONE(&w[0], 0);
    FAKE_ASSERT_DONE(&w[1], 0);
}

Test(barrier, arrivals_during_the_action_make_up_the_next_round)
{
    struct fake_waiter w[3], v[3];

    arrive_offer(&w[0], A, true, 0);
    arrive_offer(&w[1], B, true, 1);
    arrive_actor(&w[2], C);
    cr_assert(barrier_would_queue(b, true));
    /* Three early arrivals: the next round, complete, offering. */
    fake_waiter_init(&v[0], D);
    fake_waiter_init(&v[1], A);
    fake_waiter_init(&v[2], B);
    v[2].w.offers_action = true;
    cr_assert(eq(int, barrier_wait(b, &v[0].w), SYNCD_PENDING));
    cr_assert(eq(int, barrier_wait(b, &v[1].w), SYNCD_PENDING));
    cr_assert(eq(int, barrier_wait(b, &v[2].w), SYNCD_PENDING));
    cr_assert(eq(sz, n_waiting(), 5));
    cr_assert(eq(int, barrier_action_done(b, C, true), 0));
    FAKE_ASSERT_DONE(&w[0], 0);
    FAKE_ASSERT_DONE(&w[1], 0);
    /* The next round filled at once; its last arrival runs its action. */
    FAKE_ASSERT_PENDING(&v[0]);
    FAKE_ASSERT_PENDING(&v[1]);
    FAKE_ASSERT_DONE(&v[2], 0);
    cr_assert(v[2].w.run_action);
    cr_assert(eq(i64, v[0].w.value, 0));
    cr_assert(eq(i64, v[1].w.value, 1));
    cr_assert(eq(i64, v[2].w.value, 2));
    cr_assert(object_holds(&b->base, B));
    cr_assert(eq(int, barrier_action_done(b, B, true), 0));
    FAKE_ASSERT_DONE(&v[0], 0);
    FAKE_ASSERT_DONE(&v[1], 0);
    cr_assert(eq(u64, b->rounds, 2));
}

Test(barrier, abort_and_reset_during_the_action_end_the_round)
{
    struct fake_waiter w[3], x, v[3];

    arrive_offer(&w[0], A, true, 0);
    arrive_offer(&w[1], B, true, 1);
    arrive_actor(&w[2], C);
    fake_waiter_init(&x, D);
    cr_assert(eq(int, barrier_wait(b, &x.w), SYNCD_PENDING));
    barrier_reset(b);
    FAKE_ASSERT_DONE(&w[0], SYNC_EBROKEN);
    FAKE_ASSERT_DONE(&w[1], SYNC_EBROKEN);
    FAKE_ASSERT_DONE(&x, SYNC_EBROKEN);
    cr_assert(eq(int, b->broken, false));
    cr_assert(eq(int, barrier_action_done(b, C, true), SYNC_EBROKEN));

    arrive_offer(&v[0], A, true, 0);
    arrive_offer(&v[1], B, true, 1);
    arrive_actor(&v[2], C);
    barrier_abort(b);
    FAKE_ASSERT_DONE(&v[0], SYNC_EBROKEN);
    FAKE_ASSERT_DONE(&v[1], SYNC_EBROKEN);
    cr_assert(b->broken);
    cr_assert(eq(int, barrier_action_done(b, C, true), SYNC_EBROKEN));
}

Test(barrier, one_party_with_an_action_runs_it_every_round)
{
    struct barrier *one = barrier_new("one", 1);
    struct fake_waiter f;
    int i;

    cr_assert(ne(ptr, one, NULL));
    for (i = 0; i < 2; i++) {
        fake_waiter_init(&f, A);
        f.w.offers_action = true;
        cr_assert(eq(int, barrier_wait(one, &f.w), 0));
        cr_assert(f.w.run_action);
        cr_assert(eq(i64, f.w.value, 0));
        cr_assert(eq(int, barrier_action_done(one, A, true), 0));
    }
    cr_assert(eq(u64, one->rounds, 2));
    one->base.ops->free(&one->base);
}

/* ---- registry: parties are the creation parameter ----------------------- */

static struct registry r;

static void reg_setup(void)
{
    registry_init(&r, 100, SYNC_NAME_MAX);
}

static void reg_teardown(void)
{
    registry_fini(&r);
    TEST_FINI_CHECK(r.count == 0, "objects left after registry_fini");
#ifdef __SANITIZE_ADDRESS__
    TEST_FINI_CHECK(__lsan_do_recoverable_leak_check() == 0, "memory leaked");
#endif
}

TestSuite(barrier_registry, .init = reg_setup, .fini = reg_teardown);

static struct object_spec bar_spec(uint32_t parties)
{
    return (struct object_spec){.type = OBJECT_BARRIER, .value = parties};
}

Test(barrier_registry, other_parties_is_eexist_same_parties_reopens)
{
    struct object_spec s3 = bar_spec(3), s4 = bar_spec(4);
    struct object *o = NULL, *o2 = NULL, *bad = (struct object *)&r;
    bool created = false;

    cr_assert(eq(int, registry_open(&r, "b", &s3, &o, &created), 0));
    cr_assert(eq(int, created, true));
    cr_assert(eq(int, o->type, OBJECT_BARRIER));
    cr_assert(eq(u32, barrier_from_object(o)->parties, 3));
    cr_assert(
        eq(int, registry_open(&r, "b", &s4, &bad, &created), SYNC_EEXIST));
    cr_assert(eq(ptr, bad, NULL));
    cr_assert(eq(int, created, false));
    cr_assert(eq(u32, o->refs, 1));
    cr_assert(eq(int, registry_open(&r, "b", &s3, &o2, &created), 0));
    cr_assert(eq(ptr, o2, o));
    cr_assert(eq(int, created, false));
    registry_rele(&r, o);
    registry_rele(&r, o2);
}

Test(barrier_registry, zero_parties_is_einval)
{
    struct object_spec s0 = bar_spec(0);
    struct object *o = NULL;
    bool created = true;

    cr_assert(eq(int, registry_open(&r, "b", &s0, &o, &created), SYNC_EINVAL));
    cr_assert(eq(ptr, o, NULL));
    cr_assert(eq(int, created, false));
    cr_assert(eq(u32, r.count, 0));
}

Test(barrier_registry, unlinked_barrier_freed_with_last_ref)
{
    struct object_spec s2 = bar_spec(2);
    struct object *o = NULL;
    bool created;

    cr_assert(eq(int, registry_open(&r, "b", &s2, &o, &created), 0));
    cr_assert(eq(int, registry_unlink(&r, "b"), 0));
    cr_assert(eq(u32, r.count, 1));
    registry_rele(&r, o);
    cr_assert(eq(u32, r.count, 0));
}
