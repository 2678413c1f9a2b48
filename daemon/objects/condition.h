/*
 * condition.h: threading.Condition across processes, bound to a Lock or an
 * RLock.  wait() releases the lock (every RLock level) and queues the
 * waiter in one step, so no notify can fall between them; a notified or
 * timed-out waiter then queues for the lock and returns holding it again.
 */
#ifndef SYNCD_CONDITION_H
#define SYNCD_CONDITION_H

#include "lock.h"
#include "object.h"

struct condition {
    struct object base;
    struct lock *lock;   /* one reference held (owner: registry) */
    bool own_lock;       /* lock is private to this condition */
    struct waitq waiters; /* waiting for a notify */
};

/* A new condition over lock (the caller's reference passes to it);
 * own_lock marks a private lock.  NULL when out of memory. */
struct condition *condition_new(const char *name, struct lock *lock,
                                bool own_lock);

/*
 * Atomically release the lock and wait for a notify.  SYNC_EPERM when
 * (w->owner, w->thread) does not hold the lock; else SYNCD_PENDING: w
 * completes once it holds the lock again, with 0 when notified or
 * SYNC_ETIMEDOUT when its deadline passed (object_expire) first.
 */
int condition_wait(struct condition *c, struct waiter *w);

/* Wake up to n waiters (CONDITION_NOTIFY_ALL: all) in FIFO order; they
 * queue for the lock.  SYNC_EPERM unless (owner, thread) holds the lock.
 * *woken gets how many were woken. */
#define CONDITION_NOTIFY_ALL UINT32_MAX
int condition_notify(struct condition *c, uint64_t owner, uint64_t thread,
                     uint32_t n, uint32_t *woken);

/*
 * Bind c to lock instead of its current lock (the caller's reference to
 * lock passes to c, and *old gets c's reference to the previous lock for
 * the caller to drop).  Only while c is idle: SYNC_EEXIST when a waiter
 * waits on c or its current lock is held (they would be split between two
 * locks).
 */
int condition_rebind(struct condition *c, struct lock *lock,
                     struct lock **old);

struct condition *condition_from_object(struct object *o);

#endif
