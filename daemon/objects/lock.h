/*
 * lock.h: threading.Lock and threading.RLock across processes, one state
 * machine.  A Lock is owned by a client (any of its threads may release
 * it); an RLock by a (client, thread) pair, which may acquire it again and
 * must release it as often.  FIFO hand-off on release; a fencing token per
 * acquisition; the next holder learns when the previous one died holding it.
 * A blocking acquire that would close a cycle in the wait-for graph (nodes
 * are (owner, thread) pairs; an edge goes from a queued waiter to the holder
 * of the lock it waits for) is refused with SYNC_EDEADLK instead of hanging.
 */
#ifndef SYNCD_LOCK_H
#define SYNCD_LOCK_H

#include "object.h"

/* Longest cycle reported (and searched), inclusive: a chain longer than
 * this is not followed further, so it is never reported. */
#define LOCK_MAX_CHAIN 64

/* One edge of a cycle: `owner/thread` waits for `wants`. */
struct lock_edge {
    uint64_t owner;
    uint64_t thread;
    const struct lock *wants;
};

struct lock {
    struct object base;
    bool recursive;      /* RLock */
    bool held;
    bool owner_died;     /* the last holder went away without releasing */
    uint64_t holder;     /* owner id while held */
    uint64_t holder_thread; /* thread that acquired it (RLock: the owner) */
    uint32_t depth;      /* RLock recursion level; 1 for a held Lock */
    uint64_t holder_token; /* the fencing token of the current hold */
    uint64_t held_since; /* object_now() at the grant */
    uint64_t tokens;     /* fencing tokens handed out so far */
    uint64_t token_limit; /* tokens reserved where a restart finds them:
                            reaching it calls env->reserve_tokens */
    uint32_t conditions; /* references held by conditions bound to it (the
                            rest of base.refs are client handles) */
    struct waitq waiters;
    /* Lock caching (docs/lock-caching.md): the lock may be lent to its
     * holder's client, which then takes and releases it itself until the
     * server layer takes it back.  While lent the lock counts as held by
     * that owner and has no waiters. */
    uint64_t lent_to;    /* owner it is lent to; 0: not lent */
    uint32_t lent_slot;  /* the server layer's note of where */
    uint64_t last_owner; /* owner of the last grant */
    uint32_t retakes;    /* grants in a row to last_owner */
    uint32_t lend_after; /* retakes that earn a lending (LOCK_LEND_MIN..
                            LOCK_LEND_MAX): doubled when a lending served
                            little before someone else wanted the lock */
};

/* A new free Lock (or RLock when recursive) called name (copied); NULL when
 * out of memory. */
struct lock *lock_new(const char *name);
struct lock *rlock_new(const char *name);

/*
 * Acquire for (w->owner, w->thread).  0 when granted now (w->token,
 * w->owner_died set; an RLock's owner just goes one level deeper);
 * SYNCD_PENDING when queued (w completes later); SYNC_ETIMEDOUT when taken
 * and may_wait is false; SYNC_EDEADLK when waiting would close a cycle of
 * the wait-for graph (lock_find_cycle names it); SYNC_ENOMEM when the
 * graph could not index the wait.  The holder's own thread asking again
 * is RLock re-entry or, for a Lock, a signal another thread will release
 * (legal in Python): never a cycle.
 */
int lock_acquire(struct lock *l, struct waiter *w, bool may_wait);

/*
 * Would (owner, thread) waiting for l close a cycle?  Follows holder ->
 * the lock that holder's thread waits for -> its holder ...  Returns the
 * number of edges in the cycle (filled into cycle[] unless it is NULL,
 * first the requester), or 0 when there is none (or l has no
 * environment).
 */
size_t lock_find_cycle(const struct lock *l, uint64_t owner, uint64_t thread,
                       struct lock_edge cycle[LOCK_MAX_CHAIN]);

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

/*
 * Restarts: l (free) is held by owner/thread at depth with token, as a
 * state file says (a holder that may come back to reclaim it).
 */
void lock_hold_restore(struct lock *l, uint64_t owner, uint64_t thread,
                       uint32_t depth, uint64_t token);

/* The hold of `from` becomes `to`'s (same thread, depth, token): a
 * reclaim.  SYNC_EPERM unless `from` holds l. */
int lock_transfer(struct lock *l, uint64_t from, uint64_t to);
/* The held RLock's depth becomes depth (>= 1; a Lock stays at 1): the
 * levels its reclaiming holder counts. */
void lock_set_depth(struct lock *l, uint32_t depth);

/* Lock caching's adaptive grant: a lock is lent once its holder took it
 * lend_after times in a row; a lending taken back after fewer than
 * LOCK_LEND_USEFUL local acquisitions (contention) doubles lend_after up
 * to LOCK_LEND_MAX, a useful one resets it to LOCK_LEND_MIN. */
#define LOCK_LEND_MIN 2
#define LOCK_LEND_MAX 1024
#define LOCK_LEND_USEFUL 8

/*
 * Lock caching.  lock_may_lend: whether l may be lent to its holder now:
 * held at most max_depth deep, nobody waiting, not lent, and its holder
 * took it lend_after times in a row (a lock nobody else asked for).
 */
bool lock_may_lend(const struct lock *l, uint32_t max_depth);

/* Lend l (lock_may_lend was true) to its holder; slot is the caller's
 * note.  Returns how many tokens the holder may hand out itself (at most
 * max_tokens; 0: none reserved, do not lend): they are l->tokens + 1 ..,
 * reserved now, so no one else gets them. */
uint64_t lock_lend(struct lock *l, uint32_t slot, uint64_t max_tokens);

/*
 * l comes back from its lending (lent_to is cleared).  held: the client
 * holds it, by thread at depth (the daemon now keeps that hold); else it
 * is free.  tokens: the last token the client used (never lowers
 * l->tokens); used: how many of the lent tokens it used (the adaptive
 * grant's measure of the lending's worth).
 */
void lock_return(struct lock *l, bool held, uint64_t thread, uint32_t depth,
                 uint64_t tokens, uint32_t used);

#endif
