/*
 * test_lock_local.c: sync_lock_acquire_local / _release_local and the RLock
 * pair: lock caching's fast path alone.  They succeed exactly while the
 * daemon has lent the lock to this client (one CAS, no message) and
 * answer 1 otherwise, leaving the decision to the full calls.
 */
#include <pthread.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "daemon_fixture.h"
#include "syncclient.h"

TestSuite(lock_local, .init = syncd_fixture_init,
          .fini = syncd_fixture_fini, .timeout = 30);

static sync_client *connect_ok(void)
{
    sync_client *c = NULL;

    cr_assert(eq(int, sync_connect(syncd_fx.sock, &c), 0));
    return c;
}

Test(lock_local, lock_only_while_lent_and_as_the_full_calls_would)
{
    sync_client *c = connect_ok(), *o = connect_ok();
    sync_lock *l, *lo;
    uint64_t tok;
    int i;

    cr_assert(eq(int, sync_lock_open(c, "ll/a", &l), 0));
    cr_assert(eq(int, sync_lock_open(o, "ll/a", &lo), 0));
    /* Not lent yet: nothing done here, the lock stays free. */
    cr_assert(eq(int, sync_lock_acquire_local(l), 1));
    cr_assert(eq(int, sync_lock_release_local(l), 1));
    cr_assert(eq(int, sync_lock_locked(lo), 0));
    /* The second grant in a row lends it. */
    for (i = 0; i < 2; i++) {
        cr_assert(eq(int, sync_lock_acquire(l, true, 5.0), 0));
        cr_assert(eq(int, sync_lock_release(l), 0));
    }
    tok = sync_lock_token(l);
    cr_assert(eq(int, sync_lock_acquire_local(l), 0));
    cr_assert(eq(u64, sync_lock_token(l), tok + 1));
    cr_assert(eq(int, sync_lock_locked(l), 1));
    /* Held: a second local acquire cannot succeed, nor wait. */
    cr_assert(eq(int, sync_lock_acquire_local(l), 1));
    cr_assert(eq(int, sync_lock_release_local(l), 0));
    cr_assert(eq(int, sync_lock_locked(l), 0));
    /* Free and lent: a local release is not possible; the full call says
     * why (Python's RuntimeError). */
    cr_assert(eq(int, sync_lock_release_local(l), 1));
    cr_assert(eq(int, sync_lock_release(l), SYNC_EPERM));
    /* Another client takes it (back from the page): no longer lent here. */
    cr_assert(eq(int, sync_lock_acquire(lo, true, 5.0), 0));
    cr_assert(gt(u64, sync_lock_token(lo), tok + 1));
    cr_assert(eq(int, sync_lock_acquire_local(l), 1));
    cr_assert(eq(int, sync_lock_acquire(l, false, -1), SYNC_ETIMEDOUT));
    cr_assert(eq(int, sync_lock_release(lo), 0));
    cr_assert(eq(int, sync_lock_acquire_local(l), 1));
    cr_assert(eq(int, sync_lock_acquire(l, true, 5.0), 0));
    cr_assert(eq(int, sync_lock_release(l), 0));
    cr_assert(eq(int, sync_lock_acquire_local(NULL), SYNC_EINVAL));
    cr_assert(eq(int, sync_lock_release_local(NULL), SYNC_EINVAL));
    sync_lock_close(lo);
    sync_lock_close(l);
    sync_disconnect(o);
    sync_disconnect(c);
}

struct other {
    sync_rlock *r;
    int acquire_rv, release_rv;
};

static void *other_thread(void *p)
{
    struct other *a = p;

    a->acquire_rv = sync_rlock_acquire_local(a->r);
    a->release_rv = sync_rlock_release_local(a->r);
    return NULL;
}

Test(lock_local, rlock_reentry_and_levels_of_the_owning_thread_only)
{
    sync_client *c = connect_ok();
    struct other a = {.acquire_rv = -100, .release_rv = -100};
    sync_rlock *r;
    pthread_t t;
    int i;

    cr_assert(eq(int, sync_rlock_open(c, "ll/r", &r), 0));
    for (i = 0; i < 2; i++) {
        cr_assert(eq(int, sync_rlock_acquire(r, true, 5.0), 0));
        cr_assert(eq(int, sync_rlock_release(r), 0));
    }
    for (i = 1; i <= 3; i++) {
        cr_assert(eq(int, sync_rlock_acquire_local(r), 0));
        cr_assert(eq(int, sync_rlock_depth(r), i));
    }
    /* Another thread of the client neither enters nor releases it. */
    a.r = r;
    cr_assert(eq(int, pthread_create(&t, NULL, other_thread, &a), 0));
    cr_assert(eq(int, pthread_join(t, NULL), 0));
    cr_assert(eq(int, a.acquire_rv, 1));
    cr_assert(eq(int, a.release_rv, 1));
    for (i = 2; i >= 0; i--) {
        cr_assert(eq(int, sync_rlock_release_local(r), 0));
        cr_assert(eq(int, sync_rlock_depth(r), i));
    }
    cr_assert(eq(int, sync_rlock_release_local(r), 1));
    cr_assert(eq(int, sync_rlock_release(r), SYNC_EPERM));
    sync_rlock_close(r);
    sync_disconnect(c);
}

Test(lock_local, never_with_caching_off)
{
    sync_client *c = connect_ok();
    sync_lock *l;
    int i;

    cr_assert(eq(int, sync_set_lock_cache(c, false), 0));
    cr_assert(eq(int, sync_lock_open(c, "ll/off", &l), 0));
    for (i = 0; i < 3; i++) {
        cr_assert(eq(int, sync_lock_acquire(l, true, 5.0), 0));
        cr_assert(eq(int, sync_lock_release_local(l), 1));
        cr_assert(eq(int, sync_lock_release(l), 0));
        cr_assert(eq(int, sync_lock_acquire_local(l), 1));
    }
    cr_assert(eq(int, sync_lock_locked(l), 0));
    sync_lock_close(l);
    sync_disconnect(c);
}
