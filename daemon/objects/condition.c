/*
 * condition.c: the Condition state machine.  A waiter is in exactly one of
 * two queues: the condition's (waiting for a notify, its deadline armed)
 * or its lock's (re-acquiring, w->reacquiring set, deadline ignored).
 */
#include "condition.h"
#include "xalloc.h"

#include <stdlib.h>

#include "syncclient.h"

static const struct object_ops condition_ops;

struct condition *condition_new(const char *name, struct lock *lock,
                                bool own_lock)
{
    struct condition *c = xcalloc(1, sizeof(*c));

    if (c == NULL)
        return NULL;
    if (object_init(&c->base, OBJECT_CONDITION, name, &condition_ops) != 0) {
        xfree(c);
        return NULL;
    }
    c->lock = lock;
    lock->conditions++;
    c->own_lock = own_lock;
    waitq_init(&c->waiters);
    return c;
}

int condition_rebind(struct condition *c, struct lock *lock,
                     struct lock **old)
{
    if (!waitq_empty(&c->waiters) || c->lock->held ||
        !waitq_empty(&c->lock->waiters))
        return SYNC_EEXIST;
    *old = c->lock;
    c->lock->conditions--;
    c->lock = lock;
    lock->conditions++;
    return 0;
}

struct condition *condition_from_object(struct object *o)
{
    return container_of(o, struct condition, base);
}

int condition_wait(struct condition *c, struct waiter *w)
{
    /* Python: "If the calling thread has not acquired the lock when this
     * method is called, a RuntimeError is raised." */
    if (!lock_is_owner(c->lock, w->owner, w->thread))
        return SYNC_EPERM;
    w->obj = &c->base;
    w->grant_code = 0;
    w->reacquiring = false;
    /* Queue before releasing: a waiter granted the lock by this release
     * may notify at once, and must find us. */
    waitq_push(&c->waiters, w);
    w->depth = lock_release_all(c->lock);
    return SYNCD_PENDING;
}

int condition_notify(struct condition *c, uint64_t owner, uint64_t thread,
                     uint32_t n, uint32_t *woken)
{
    struct waiter *w;
    uint32_t k = 0;

    *woken = 0;
    if (!lock_is_owner(c->lock, owner, thread))
        return SYNC_EPERM;
    while (k < n && (w = waitq_pop(&c->waiters)) != NULL) {
        lock_reacquire(c->lock, w);
        k++;
    }
    *woken = k;
    return 0;
}

/* A deadline passed while waiting for a notify: get the lock back, then
 * report the timeout ("the lock is held again on return"). */
static void condition_expire(struct object *o, struct waiter *w)
{
    struct condition *c = condition_from_object(o);

    waitq_remove(w);
    w->grant_code = SYNC_ETIMEDOUT;
    lock_reacquire(c->lock, w);
}

/* What a client holds through a condition is its lock. */
static struct object *condition_root(struct object *o)
{
    return &condition_from_object(o)->lock->base;
}

static int64_t condition_query(const struct object *o)
{
    return (int64_t)waitq_len(&container_of(o, struct condition, base)->waiters);
}

static size_t condition_n_waiting(const struct object *o)
{
    return waitq_len(&container_of(o, struct condition, base)->waiters);
}

static void condition_free(struct object *o)
{
    struct condition *c = condition_from_object(o);

    /* The registry drops our lock reference (registry_free_object). */
    object_fini(o);
    xfree(c);
}

static const struct object_ops condition_ops = {
    .expire = condition_expire,
    .root = condition_root,
    .query = condition_query,
    .n_waiting = condition_n_waiting,
    .free = condition_free,
};
