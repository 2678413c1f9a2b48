/*
 * lock.c: sync_lock_* and sync_rlock_*, over one shared "lockable" handle
 * that Condition handles reuse too: each call is one request/reply, unless
 * the daemon lent the lock to this client (cache.c: one CAS, no message);
 * the daemon tells a Lock (owned by the client) from an RLock (owned by
 * the client's thread).
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct sync_lock {
    struct sync__lockable l;
};

struct sync_rlock {
    struct sync__lockable l;
};

int sync__lockable_open(sync_client *c, const struct sync__request *open,
                        struct sync__lockable **out)
{
    struct sync__lockable *l = calloc(1, sizeof(*l));
    int rv;

    if (l == NULL)
        return SYNC_ENOMEM;
    rv = sync__object_open(c, open, &l->o);
    if (rv != 0) {
        free(l);
        return rv;
    }
    pthread_mutex_init(&l->mu, NULL);
    l->o.lockable = l;
    l->recursive = open->type == WIRE_TYPE_RLOCK;
    *out = l;
    return 0;
}

/* levels is atomic: a lent lock's acquire and release count it without
 * l->mu (cache.c), the rest under it. */
static void lockable_levels_add(struct sync__lockable *l, int delta)
{
    uint32_t n = __atomic_load_n(&l->levels, __ATOMIC_RELAXED);

    if (delta > 0) {
        __atomic_add_fetch(&l->levels, 1, __ATOMIC_RELAXED);
        return;
    }
    while (n > 0 && !__atomic_compare_exchange_n(&l->levels, &n, n - 1, false,
                                                 __ATOMIC_RELAXED,
                                                 __ATOMIC_RELAXED))
        ;
}

void sync__lockable_count(struct sync__lockable *l, int delta)
{
    pthread_mutex_lock(&l->mu);
    lockable_levels_add(l, delta);
    if (delta > 0)
        l->lost = false;
    pthread_mutex_unlock(&l->mu);
}

/* on_reply hooks (under c->mu, at the reply): a granted acquire is one
 * level more, a release one less. */
static void lockable_acquired(void *arg, int code)
{
    if (code == 0)
        sync__lockable_count(arg, 1);
}

static void lockable_released(void *arg, int code)
{
    if (code == 0)
        sync__lockable_count(arg, -1);
}

int sync__lockable_owner_lost(struct sync__lockable *l)
{
    int lost;

    if (l == NULL)
        return SYNC_EINVAL;
    pthread_mutex_lock(&l->mu);
    lost = l->lost;
    pthread_mutex_unlock(&l->mu);
    return lost;
}

void sync__lockable_note(struct sync__lockable *l,
                         const struct sync__result *res)
{
    __atomic_store_n(&l->token, res->token, __ATOMIC_RELAXED);
    __atomic_store_n(&l->owner_died, res->owner_died, __ATOMIC_RELAXED);
}

int sync__lockable_acquire_local(struct sync__lockable *l)
{
    if (l == NULL)
        return SYNC_EINVAL;
    /* Lent here: one CAS.  A lending comes with a grant of the connection
     * now up, whose acquire already cleared any lost hold: levels only. */
    if (sync__cache_acquire(l) != 0)
        return 1;
    lockable_levels_add(l, 1);
    return 0;
}

int sync__lockable_release_local(struct sync__lockable *l)
{
    if (l == NULL)
        return SYNC_EINVAL;
    /* Anything but a release here (not lent, taken back, not held: an
     * error the daemon path reports) is the full path's to decide. */
    if (sync__cache_release(l) != 0)
        return 1;
    lockable_levels_add(l, -1);
    return 0;
}

int sync__lockable_acquire(struct sync__lockable *l, bool blocking,
                           double timeout)
{
    struct sync__request req = {.op = OP_ACQUIRE,
                                .on_reply = lockable_acquired,
                                .on_reply_arg = l};
    struct sync__result res;
    int rv;

    if (l == NULL)
        return SYNC_EINVAL;
    rv = sync__timeout_us(blocking, timeout, &req.timeout_us);
    if (rv != 0)
        return rv;
    if (sync__lockable_acquire_local(l) == 0)
        return 0;
    rv = sync__object_call(&l->o, &req, &res);
    if (rv == 0) {
        sync__lockable_note(l, &res);
        /* A grant from the daemon ends any earlier lending (it took the
         * lock back first); it may start a new one. */
        sync__cache_note(l, res.cache);
    }
    return rv;
}

/* Whether a release reports one lost level (and counts it said): when
 * levels were lost in a restart and, if only_unheld, no live level is
 * left to release. */
static bool lockable_say_lost(struct sync__lockable *l, bool only_unheld)
{
    bool lost;

    pthread_mutex_lock(&l->mu);
    lost = l->lost_levels > 0 &&
           (!only_unheld ||
            __atomic_load_n(&l->levels, __ATOMIC_RELAXED) == 0);
    if (lost)
        l->lost_levels--;
    pthread_mutex_unlock(&l->mu);
    return lost;
}

int sync__lockable_release(struct sync__lockable *l)
{
    struct sync__request req = {.op = OP_RELEASE, .n = 1,
                                .on_reply = lockable_released,
                                .on_reply_arg = l};
    int rv;

    if (l == NULL)
        return SYNC_EINVAL;
    /* Lent here: one CAS, no message (a lending from the connection now
     * up, so no hold of it was lost in a restart). */
    rv = sync__cache_release(l);
    if (rv == 0)
        lockable_levels_add(l, -1);
    if (rv != 1)
        return rv;
    /* A level lost in a daemon restart: this release says so (once per
     * lost level, once no live level is left to release). */
    if (lockable_say_lost(l, true))
        return SYNC_ELOST;
    rv = sync__object_call(&l->o, &req, NULL);
    /* The connection dropped under this release and the reconnect could
     * not reclaim the hold (it marked it lost meanwhile): the daemon's
     * "not held" means the hold was lost, not a misuse. */
    if (rv == SYNC_EPERM && lockable_say_lost(l, false))
        rv = SYNC_ELOST;
    return rv;
}

/* One query of l's object: held by anyone, the caller's depth; from the
 * page while the lock is lent here (a query must not take it back). */
static int lockable_query(struct sync__lockable *l, struct sync__result *res)
{
    bool held;
    uint32_t depth;

    if (l == NULL)
        return SYNC_EINVAL;
    if (sync__cache_query(l, &held, &depth) == 0) {
        memset(res, 0, sizeof(*res));
        res->value = held;
        res->lock_held = held;
        res->depth = depth;
        return 0;
    }
    return sync__object_query(&l->o, res);
}

int sync__lockable_locked(struct sync__lockable *l)
{
    struct sync__result res;
    int rv = lockable_query(l, &res);

    return rv != 0 ? rv : res.value != 0;
}

/* A query for the ownership fields (QueryResult.depth, lock_held), which
 * a daemon without WIRE_CAP_OWNERSHIP does not fill in: SYNC_EVERSION
 * then, rather than a "not owned" that may be false. */
static int lockable_query_ownership(struct sync__lockable *l,
                                    struct sync__result *res)
{
    if (l == NULL)
        return SYNC_EINVAL;
    if (!sync__client_has_cap(l->o.client, WIRE_CAP_OWNERSHIP))
        return SYNC_EVERSION;
    return lockable_query(l, res);
}

int sync__lockable_depth(struct sync__lockable *l)
{
    struct sync__result res;
    int rv = lockable_query_ownership(l, &res);

    return rv != 0 ? rv : (int)(res.depth > INT_MAX ? INT_MAX : res.depth);
}

int sync__lockable_is_owned(struct sync__lockable *l)
{
    int depth = sync__lockable_depth(l);

    return depth < 0 ? depth : depth > 0;
}

int sync__lockable_held(struct sync__lockable *l)
{
    struct sync__result res;
    int rv = lockable_query_ownership(l, &res);

    return rv != 0 ? rv : res.lock_held;
}

int sync__lockable_owner_died(struct sync__lockable *l)
{
    int died;

    if (l == NULL)
        return SYNC_EINVAL;
    died = __atomic_load_n(&l->owner_died, __ATOMIC_RELAXED);
    return died;
}

uint64_t sync__lockable_token(struct sync__lockable *l)
{
    uint64_t t;

    if (l == NULL)
        return 0;
    t = __atomic_load_n(&l->token, __ATOMIC_RELAXED);
    return t;
}

void sync__lockable_close(struct sync__lockable *l)
{
    if (l == NULL)
        return;
    sync__object_close(&l->o);
    pthread_mutex_destroy(&l->mu);
    free(l);
}

/* ---- Lock --------------------------------------------------------------- */

int sync_lock_open(sync_client *c, const char *name, sync_lock **out)
{
    struct sync__request open = {.op = OP_OPEN, .name = name,
                                 .type = WIRE_TYPE_LOCK};

    if (out == NULL)
        return SYNC_EINVAL;
    *out = NULL;
    return sync__lockable_open(c, &open, (struct sync__lockable **)out);
}

int sync_lock_acquire(sync_lock *l, bool blocking, double timeout)
{
    return sync__lockable_acquire((struct sync__lockable *)l, blocking, timeout);
}

int sync_lock_release(sync_lock *l)
{
    return sync__lockable_release((struct sync__lockable *)l);
}

int sync_lock_acquire_local(sync_lock *l)
{
    return sync__lockable_acquire_local((struct sync__lockable *)l);
}

int sync_lock_release_local(sync_lock *l)
{
    return sync__lockable_release_local((struct sync__lockable *)l);
}

int sync_lock_locked(sync_lock *l)
{
    return sync__lockable_locked((struct sync__lockable *)l);
}

int sync_lock_owner_died(sync_lock *l)
{
    return sync__lockable_owner_died((struct sync__lockable *)l);
}

int sync_lock_owner_lost(sync_lock *l)
{
    return sync__lockable_owner_lost((struct sync__lockable *)l);
}

uint64_t sync_lock_token(sync_lock *l)
{
    return sync__lockable_token((struct sync__lockable *)l);
}

void sync_lock_close(sync_lock *l)
{
    sync__lockable_close((struct sync__lockable *)l);
}

/* ---- RLock -------------------------------------------------------------- */

int sync_rlock_open(sync_client *c, const char *name, sync_rlock **out)
{
    struct sync__request open = {.op = OP_OPEN, .name = name,
                                 .type = WIRE_TYPE_RLOCK};

    if (out == NULL)
        return SYNC_EINVAL;
    *out = NULL;
    return sync__lockable_open(c, &open, (struct sync__lockable **)out);
}

int sync_rlock_acquire(sync_rlock *r, bool blocking, double timeout)
{
    return sync__lockable_acquire((struct sync__lockable *)r, blocking, timeout);
}

int sync_rlock_release(sync_rlock *r)
{
    return sync__lockable_release((struct sync__lockable *)r);
}

int sync_rlock_acquire_local(sync_rlock *r)
{
    return sync__lockable_acquire_local((struct sync__lockable *)r);
}

int sync_rlock_release_local(sync_rlock *r)
{
    return sync__lockable_release_local((struct sync__lockable *)r);
}

int sync_rlock_locked(sync_rlock *r)
{
    return sync__lockable_locked((struct sync__lockable *)r);
}

int sync_rlock_is_owned(sync_rlock *r)
{
    return sync__lockable_is_owned((struct sync__lockable *)r);
}

int sync_rlock_depth(sync_rlock *r)
{
    return sync__lockable_depth((struct sync__lockable *)r);
}

int sync_rlock_owner_died(sync_rlock *r)
{
    return sync__lockable_owner_died((struct sync__lockable *)r);
}

int sync_rlock_owner_lost(sync_rlock *r)
{
    return sync__lockable_owner_lost((struct sync__lockable *)r);
}

uint64_t sync_rlock_token(sync_rlock *r)
{
    return sync__lockable_token((struct sync__lockable *)r);
}

void sync_rlock_close(sync_rlock *r)
{
    sync__lockable_close((struct sync__lockable *)r);
}
