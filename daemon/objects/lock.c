/*
 * lock.c: the Lock/RLock state machine.  Invariant: waiters are queued
 * only while the lock is held; a release hands the lock straight to the
 * oldest waiter (FIFO, no barging), so it is never free while someone
 * waits.  Blocked waiters are indexed in the wait-for graph.
 */
#include "lock.h"
#include "xalloc.h"

#include <stdlib.h>

#include "deadlock.h"
#include "syncclient.h"

static const struct object_ops lock_ops;

static struct lock *lock_alloc(const char *name, enum object_type type)
{
    struct lock *l = xcalloc(1, sizeof(*l));

    if (l == NULL)
        return NULL;
    if (object_init(&l->base, type, name, &lock_ops) != 0) {
        xfree(l);
        return NULL;
    }
    l->recursive = type == OBJECT_RLOCK;
    waitq_init(&l->waiters);
    return l;
}

struct lock *lock_new(const char *name)
{
    return lock_alloc(name, OBJECT_LOCK);
}

struct lock *rlock_new(const char *name)
{
    return lock_alloc(name, OBJECT_RLOCK);
}

struct lock *lock_from_object(struct object *o)
{
    return container_of(o, struct lock, base);
}

static void lock_grant(struct lock *l, struct waiter *w, uint32_t depth)
{
    l->held = true;
    l->holder = w->owner;
    l->holder_thread = w->thread;
    l->depth = depth;
    l->held_since = object_clock();
    w->token = ++l->tokens;
    /* The first holder after a death is told, then the flag is spent. */
    w->owner_died = l->owner_died;
    l->owner_died = false;
}

/* Queue w; false if the wait-for graph could not index it (out of memory),
 * in which case w is queued but invisible to deadlock detection. */
static bool lock_enqueue(struct lock *l, struct waiter *w)
{
    w->obj = &l->base;
    waitq_push(&l->waiters, w);
    return deadlock_track(w);
}

int lock_acquire(struct lock *l, struct waiter *w, bool may_wait)
{
    if (!l->held) {
        lock_grant(l, w, 1);
        return 0;
    }
    /* Python: "if this thread already owns the lock, increment the
     * recursion level by one, and return immediately." */
    if (l->recursive && l->holder == w->owner &&
        l->holder_thread == w->thread) {
        if (l->depth == UINT32_MAX)
            return SYNC_ELIMIT;
        l->depth++;
        w->token = l->tokens;
        w->owner_died = false;
        return 0;
    }
    if (!may_wait)
        return SYNC_ETIMEDOUT;
    if (!lock_enqueue(l, w)) {
        /* A wait the deadlock check cannot see is refused, not risked. */
        waitq_remove(w);
        return SYNC_ENOMEM;
    }
    return SYNCD_PENDING;
}

static void lock_hand_off(struct lock *l, bool died)
{
    struct waiter *next;

    l->held = false;
    l->holder = 0;
    l->holder_thread = 0;
    l->depth = 0;
    l->owner_died = died;
    next = waitq_pop(&l->waiters);
    if (next == NULL)
        return;
    lock_grant(l, next, next->reacquiring ? next->depth : 1);
    next->reacquiring = false;
    next->complete(next, next->grant_code);
}

bool lock_is_owner(const struct lock *l, uint64_t owner, uint64_t thread)
{
    return l->held && l->holder == owner &&
           (!l->recursive || l->holder_thread == thread);
}

int lock_release_by(struct lock *l, uint64_t owner, uint64_t thread)
{
    /* Python: releasing an unlocked lock, or an RLock owned by another
     * thread, raises RuntimeError. */
    if (!lock_is_owner(l, owner, thread))
        return SYNC_EPERM;
    if (--l->depth == 0)
        lock_hand_off(l, false);
    return 0;
}

int lock_release(struct lock *l, uint64_t owner)
{
    return lock_release_by(l, owner, l->holder_thread);
}

uint32_t lock_release_all(struct lock *l)
{
    uint32_t depth = l->depth;

    lock_hand_off(l, false);
    return depth;
}

void lock_reacquire(struct lock *l, struct waiter *w)
{
    if (!l->held) {
        lock_grant(l, w, w->depth);
        w->complete(w, w->grant_code);
        return;
    }
    w->reacquiring = true;
    /* Must queue (the condition wait already released the lock); out of
     * memory only costs this waiter its place in the wait-for graph. */
    (void)lock_enqueue(l, w);
}

static bool lock_holds(const struct object *o, uint64_t owner)
{
    const struct lock *l = container_of(o, struct lock, base);

    return l->held && l->holder == owner;
}

static bool lock_drop_owner(struct object *o, uint64_t owner)
{
    struct lock *l = lock_from_object(o);

    /* All recursion levels go at once. */
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
    xfree(l);
}

static const struct object_ops lock_ops = {
    .drop_owner = lock_drop_owner,
    .holds = lock_holds,
    .query = lock_query,
    .n_waiting = lock_n_waiting,
    .free = lock_free,
};
