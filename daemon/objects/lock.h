/*
 * lock.h: threading.Lock and threading.RLock across processes, one state
 * machine.  A Lock is owned by a client (any of its threads may release
 * it); an RLock by a (client, thread) pair, which may acquire it again and
 * must release it as often.  FIFO hand-off on release; a fencing token per
 * acquisition; the next holder learns when the previous one died holding it.
 */
#ifndef SYNCD_LOCK_H
#define SYNCD_LOCK_H

#include "object.h"

struct lock {
    struct object base;
    bool recursive;      /* RLock */
    bool held;
    bool owner_died;     /* the last holder went away without releasing */
    uint64_t holder;     /* owner id while held */
    uint64_t holder_thread; /* thread that acquired it (RLock: the owner) */
    uint32_t depth;      /* RLock recursion level; 1 for a held Lock */
    uint64_t held_since; /* object_clock() at the grant */
    uint64_t tokens;     /* fencing tokens handed out so far */
    struct waitq waiters;
};

/* A new free Lock (or RLock when recursive) called name (copied); NULL when
 * out of memory. */
struct lock *lock_new(const char *name);
struct lock *rlock_new(const char *name);

/*
 * Acquire for (w->owner, w->thread).  0 when granted now (w->token,
 * w->owner_died set; an RLock's owner just goes one level deeper);
 * SYNCD_PENDING when queued (w completes later); SYNC_ETIMEDOUT when taken
 * and may_wait is false.
 */
int lock_acquire(struct lock *l, struct waiter *w, bool may_wait);

/* Release a Lock; the oldest waiter gets it.  SYNC_EPERM unless owner
 * holds it. */
int lock_release(struct lock *l, uint64_t owner);

/* Release one level of an RLock (or a Lock): SYNC_EPERM unless (owner,
 * thread) holds it (any thread of the owner, for a Lock). */
int lock_release_by(struct lock *l, uint64_t owner, uint64_t thread);

/* Whether (owner, thread) may release l now (see lock_release_by). */
bool lock_is_owner(const struct lock *l, uint64_t owner, uint64_t thread);

/*
 * Condition support: release every level at once (the oldest waiter gets
 * it) and return the depth to restore.  Caller checked lock_is_owner.
 */
uint32_t lock_release_all(struct lock *l);

/*
 * Condition support: queue w to get l back at depth w->depth, completing
 * it with w->grant_code once granted.  Completes at once if l is free.
 */
void lock_reacquire(struct lock *l, struct waiter *w);

struct lock *lock_from_object(struct object *o);

#endif
