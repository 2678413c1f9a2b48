/*
 * lock.h: threading.Lock across processes.  Owned by an opaque owner (a
 * client); FIFO hand-off on release; a fencing token per acquisition; the
 * next holder learns when the previous one died holding it.
 */
#ifndef SYNCD_LOCK_H
#define SYNCD_LOCK_H

#include "object.h"

struct lock {
    struct object base;
    bool held;
    bool owner_died;     /* the last holder went away without releasing */
    uint64_t holder;     /* owner id while held */
    uint64_t tokens;     /* fencing tokens handed out so far */
    struct waitq waiters;
};

/* A new free lock called name (copied); NULL when out of memory. */
struct lock *lock_new(const char *name);

/*
 * Acquire for w->owner.  0 when granted now (w->token, w->owner_died set);
 * SYNCD_PENDING when queued (w completes later); SYNC_ETIMEDOUT when taken
 * and may_wait is false.
 */
int lock_acquire(struct lock *l, struct waiter *w, bool may_wait);

/* Release; the oldest waiter gets it.  SYNC_EPERM unless owner holds it. */
int lock_release(struct lock *l, uint64_t owner);

struct lock *lock_from_object(struct object *o);

#endif
