/*
 * cond.c: sync_cond_*: a Condition handle is a lockable handle (acquire and
 * release go to its lock) plus wait and notify.
 */
#include <limits.h>
#include <math.h>
#include <string.h>
#include <time.h>

#include "internal.h"

struct sync_cond {
    struct sync__lockable l;
};

int sync_cond_open(sync_client *c, const char *name, const char *lock_name,
                   sync_cond **out)
{
    struct sync__request open = {.op = OP_OPEN, .name = name,
                                 .type = WIRE_TYPE_CONDITION,
                                 .lock_name = lock_name};

    if (out == NULL)
        return SYNC_EINVAL;
    *out = NULL;
    if (lock_name != NULL && lock_name[0] == '\0')
        return SYNC_ENAME;
    return sync__lockable_open(c, &open, (struct sync__lockable **)out);
}

int sync_cond_acquire(sync_cond *cv, bool blocking, double timeout)
{
    return sync__lockable_acquire((struct sync__lockable *)cv, blocking,
                                  timeout);
}

int sync_cond_release(sync_cond *cv)
{
    return sync__lockable_release((struct sync__lockable *)cv);
}

int sync_cond_locked(sync_cond *cv)
{
    return sync__lockable_held((struct sync__lockable *)cv);
}

int sync_cond_is_owned(sync_cond *cv)
{
    return sync__lockable_is_owned((struct sync__lockable *)cv);
}

int sync_cond_owner_lost(sync_cond *cv)
{
    return sync__lockable_owner_lost((struct sync__lockable *)cv);
}

int sync_cond_depth(sync_cond *cv)
{
    return sync__lockable_depth((struct sync__lockable *)cv);
}

int sync_cond_n_waiting(sync_cond *cv)
{
    struct sync__result res;
    int rv;

    if (cv == NULL)
        return SYNC_EINVAL;
    /* Always the daemon's: waits are never in the lending page. */
    rv = sync__object_query(&cv->l.o, &res);
    return rv != 0 ? rv : (int)(res.n_waiting > INT_MAX ? INT_MAX
                                                         : res.n_waiting);
}

struct cond_wait_ctx {
    struct sync__lockable *l;
    uint32_t levels;        /* the levels the wait gives back */
    bool back;              /* the reply said the lock is held again */
};

/*
 * How many levels of its lock a wait through cv gives back: the calling
 * thread's depth, which the daemon releases whole.  Only the owner may
 * wait, and an owned lock has no other holder here, so that depth is
 * what this client counts on every handle of the lock less what the
 * waits in flight gave back (their threads hold nothing).  A caller that
 * does not own it is refused by the daemon; 0 then.
 */
static uint32_t cond_depth_given_back(sync_cond *cv)
{
    sync_client *c = cv->l.o.client;
    const char *lock = sync__object_lock_name(&cv->l.o);
    uint32_t hash = cv->l.o.lock_hash;
    struct sync__object *o;
    int64_t depth = 0;

    pthread_mutex_lock(&c->mu);
    for (o = c->objects; o != NULL; o = o->next_obj) {
        if (o->lock_hash != hash || o->lockable == NULL ||
            strcmp(sync__object_lock_name(o), lock) != 0)
            continue;
        pthread_mutex_lock(&o->lockable->mu);
        depth += __atomic_load_n(&o->lockable->levels, __ATOMIC_RELAXED);
        depth -= o->lockable->cond_wait_levels;
        pthread_mutex_unlock(&o->lockable->mu);
    }
    pthread_mutex_unlock(&c->mu);
    return depth > 0 ? (uint32_t)depth : 0;
}

/* on_reply (under c->mu, at the reply): notified or timed out, the lock
 * is held again at once - a reconnect's restore after this reclaims it. */
static void cond_woken(void *arg, int code)
{
    struct cond_wait_ctx *w = arg;

    if ((code != 0 && code != SYNC_ETIMEDOUT) || w->back)
        return;
    pthread_mutex_lock(&w->l->mu);
    w->l->cond_wait_levels -= w->levels;
    pthread_mutex_unlock(&w->l->mu);
    w->back = true;
}

int sync_cond_wait(sync_cond *cv, double timeout)
{
    struct cond_wait_ctx ctx;
    struct sync__request req = {.op = OP_COND_WAIT, .on_reply = cond_woken,
                                .on_reply_arg = &ctx};
    struct sync__result res;
    int rv;

    if (cv == NULL)
        return SYNC_EINVAL;
    rv = sync__timeout_us(true, timeout, &req.timeout_us);
    if (rv != 0)
        return rv;
    ctx = (struct cond_wait_ctx){.l = &cv->l,
                                 .levels = cond_depth_given_back(cv)};
    req.depth = ctx.levels;
    pthread_mutex_lock(&cv->l.mu);
    cv->l.cond_wait_levels += ctx.levels;
    pthread_mutex_unlock(&cv->l.mu);
    rv = sync__object_call(&cv->l.o, &req, &res);
    if (!ctx.back) {
        pthread_mutex_lock(&cv->l.mu);
        cv->l.cond_wait_levels -= ctx.levels;
        pthread_mutex_unlock(&cv->l.mu);
    }
    /* Notified or timed out, the lock was re-acquired. */
    if (rv == 0 || rv == SYNC_ETIMEDOUT)
        sync__lockable_note(&cv->l, &res);
    return rv;
}

static double cond_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int sync_cond_wait_for(sync_cond *cv, bool (*predicate)(void *), void *arg,
                       double timeout)
{
    double deadline = timeout >= 0 ? cond_now() + timeout : INFINITY;
    double left = timeout;
    int rv;

    if (cv == NULL || predicate == NULL || isnan(timeout))
        return SYNC_EINVAL;
    /* Python's wait_for: check, wait the time left, check again. */
    while (!predicate(arg)) {
        if (timeout >= 0) {
            left = deadline - cond_now();
            if (left <= 0)
                return SYNC_ETIMEDOUT;
        }
        rv = sync_cond_wait(cv, left);
        if (rv != 0 && rv != SYNC_ETIMEDOUT)
            return rv;
    }
    return 0;
}

static int cond_notify(sync_cond *cv, unsigned n, bool all)
{
    struct sync__request req = {.op = OP_COND_NOTIFY, .n = n,
                                .all = all};

    if (cv == NULL)
        return SYNC_EINVAL;
    return sync__object_call(&cv->l.o, &req, NULL);
}

int sync_cond_notify(sync_cond *cv, unsigned n)
{
    return cond_notify(cv, n, false);
}

int sync_cond_notify_all(sync_cond *cv)
{
    return cond_notify(cv, 0, true);
}

void sync_cond_close(sync_cond *cv)
{
    sync__lockable_close((struct sync__lockable *)cv);
}
