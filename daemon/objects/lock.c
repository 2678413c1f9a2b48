/*
 * lock.c: the Lock state machine.  Invariant: waiters are queued only while
 * the lock is held; a release hands the lock straight to the oldest waiter
 * (FIFO, no barging), so it is never free while someone waits.
 */
#include "lock.h"

#include <stdlib.h>

#include "syncclient.h"

static const struct object_ops lock_ops;

struct lock *lock_new(const char *name)
{
    struct lock *l = calloc(1, sizeof(*l));

    if (l == NULL)
        return NULL;
    if (object_init(&l->base, OBJECT_LOCK, name, &lock_ops) != 0) {
        free(l);
        return NULL;
    }
    waitq_init(&l->waiters);
    return l;
}

struct lock *lock_from_object(struct object *o)
{
    return container_of(o, struct lock, base);
}

static void lock_grant(struct lock *l, struct waiter *w)
{
    l->held = true;
    l->holder = w->owner;
    w->token = ++l->tokens;
    /* The first holder after a death is told, then the flag is spent. */
    w->owner_died = l->owner_died;
    l->owner_died = false;
}

int lock_acquire(struct lock *l, struct waiter *w, bool may_wait)
{
    if (!l->held) {
        lock_grant(l, w);
        return 0;
    }
    if (!may_wait)
        return SYNC_ETIMEDOUT;
    w->obj = &l->base;
    waitq_push(&l->waiters, w);
    return SYNCD_PENDING;
}

static void lock_hand_off(struct lock *l, bool died)
{
    struct waiter *next;

    l->held = false;
    l->holder = 0;
    l->owner_died = died;
    next = waitq_pop(&l->waiters);
    if (next == NULL)
        return;
    lock_grant(l, next);
    next->complete(next, 0);
}

int lock_release(struct lock *l, uint64_t owner)
{
    /* Python: releasing an unlocked lock raises RuntimeError. */
    if (!l->held || l->holder != owner)
        return SYNC_EPERM;
    lock_hand_off(l, false);
    return 0;
}

static bool lock_holds(const struct object *o, uint64_t owner)
{
    const struct lock *l = container_of(o, struct lock, base);

    return l->held && l->holder == owner;
}

static bool lock_drop_owner(struct object *o, uint64_t owner)
{
    struct lock *l = lock_from_object(o);

    if (!lock_holds(o, owner))
        return false;
    lock_hand_off(l, true);
    return true;
}

static int64_t lock_query(const struct object *o)
{
    return container_of(o, struct lock, base)->held ? 1 : 0;
}

static size_t lock_n_waiting(const struct object *o)
{
    return waitq_len(&container_of(o, struct lock, base)->waiters);
}

static void lock_free(struct object *o)
{
    struct lock *l = lock_from_object(o);

    object_fini(o);
    free(l);
}

static const struct object_ops lock_ops = {
    .drop_owner = lock_drop_owner,
    .holds = lock_holds,
    .query = lock_query,
    .n_waiting = lock_n_waiting,
    .free = lock_free,
};
