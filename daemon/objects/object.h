/*
 * object.h: the base every named sync object embeds, and the operations
 * common to all types.  Objects are pure state machines: they know owners
 * only as opaque ids and waiters only through struct waiter.
 */
#ifndef SYNCD_OBJECT_H
#define SYNCD_OBJECT_H

#include <stdbool.h>
#include <stdint.h>

#include "hash.h"
#include "waitq.h"

/* Values match the wire protocol's ObjectType. */
enum object_type {
    OBJECT_LOCK = 1,
    OBJECT_RLOCK = 2,
    OBJECT_SEMAPHORE = 3,
    OBJECT_BOUNDED_SEMAPHORE = 4,
    OBJECT_EVENT = 5,
    OBJECT_CONDITION = 6,
    OBJECT_BARRIER = 7,
};

struct object;

/*
 * What the objects of one registry share, kept there instead of in
 * file-scope globals: the clock for "held since" stamps and the locks'
 * wait-for graph (lock.c).
 */
struct object_env {
    uint64_t (*clock)(void *arg); /* loop time in ms; NULL: no clock (0) */
    void *clock_arg;              /* borrowed */
    struct waiter *wait_for;      /* owned by lock.c: queued Lock/RLock
                                     waiters by (owner, thread), uthash */
    /* A lock is about to hand out a fencing token at its reserved limit
     * (struct lock.token_limit): raise the limit after recording it where
     * a restart finds it, so tokens never repeat.  NULL: nothing records
     * them (an in-memory daemon); the limit is lifted. */
    void (*reserve_tokens)(void *arg, struct object *o);
    void *reserve_arg;            /* borrowed */
    /* A lock's holder, depth or hold changed (granted, released, handed
     * on, transferred): record it where a restart finds it.  NULL: nobody
     * records holds. */
    void (*hold_changed)(void *arg, struct object *o);
    void *hold_arg;               /* borrowed */
    /* A lock lent to a client (lock caching) is about to get a waiter or
     * a grant: take it back first (the hook calls lock_return).  NULL:
     * nothing is ever lent. */
    void (*reclaim)(void *arg, struct object *o);
    void *reclaim_arg;            /* borrowed */
};

struct object_ops {
    /* Release whatever owner holds, as when it dies (locks: owner died).
     * Returns true when something was released.  NULL: types without an
     * owner (semaphores, events). */
    bool (*drop_owner)(struct object *o, uint64_t owner);
    /* Whether owner holds something in o.  NULL: types without owner. */
    bool (*holds)(const struct object *o, uint64_t owner);
    /* Optional: the object ownership really lives in (a condition's
     * lock).  NULL: the object itself. */
    struct object *(*root)(struct object *o);
    /* The state as one number (lock: locked, semaphore: value, event: set). */
    int64_t (*query)(const struct object *o);
    /* Number of queued waiters. */
    size_t (*n_waiting)(const struct object *o);
    /* Optional: w was removed from o's queue by a cancellation (client
     * gone, handle closed, shutdown); the hook must complete w.  NULL:
     * complete w with the code. */
    void (*cancelled)(struct object *o, struct waiter *w, int code);
    /* Optional: w's deadline passed while queued on o; the hook must take
     * w off the queue and complete it (now or later).  NULL: cancel with
     * SYNC_ETIMEDOUT. */
    void (*expire)(struct object *o, struct waiter *w);
    /* Free the object; only called with no handles and no waiters. */
    void (*free)(struct object *o);
};

struct object {
    enum object_type type;
    char *name;                  /* owned, NUL-terminated */
    uint32_t param;              /* creation parameter compared on open */
    uint32_t refs;               /* open handles */
    uint32_t uid;                /* creator, for access control */
    uint32_t gid;
    uint32_t mode;               /* OBJECT_MODE_* bits, like a file's */
    bool linked;                 /* reachable by name in the registry */
    bool transient;              /* unlinked when the last handle closes */
    const struct object_ops *ops; /* borrowed (static) */
    struct object_env *env;      /* borrowed (owner: registry); NULL for an
                                    object outside one: no clock and no
                                    deadlock detection */
    UT_hash_handle hh;           /* registry name map */
    bool hash_oom;               /* adding to the map failed (hash.h) */
};

/* Permission bits (a file's, without execute). */
#define OBJECT_MODE_DEFAULT 0660u
#define OBJECT_MODE_MASK 0666u
#define OBJECT_MAY_READ 04u
#define OBJECT_MAY_WRITE 02u

/* The credentials an access check is made for. */
struct object_cred {
    uint32_t uid;
    uint32_t gid;
    const uint32_t *groups;  /* supplementary groups, borrowed */
    size_t n_groups;
};

const char *object_type_name(enum object_type t);

/*
 * Whether cred may do `want` (OBJECT_MAY_READ and/or OBJECT_MAY_WRITE) on
 * o: root may do all; else the owner, group or other bits apply, the first
 * class that matches deciding, as for files.
 */
bool object_may(const struct object *o, const struct object_cred *cred,
                unsigned want);

/* o's environment's clock (loop time in ms), or 0 without one. */
static inline uint64_t object_now(const struct object *o)
{
    return o->env != NULL && o->env->clock != NULL
               ? o->env->clock(o->env->clock_arg)
               : 0;
}

/* Fill in the base with a copy of name.  0 or SYNC_ENOMEM. */
int object_init(struct object *o, enum object_type type, const char *name,
                const struct object_ops *ops);
/* Free what object_init allocated. */
void object_fini(struct object *o);

/* Release what owner holds in o; true when something was released. */
bool object_drop_owner(struct object *o, uint64_t owner);
/* The object ownership of o lives in (see ops->root). */
struct object *object_root(struct object *o);
/* Whether owner holds something in o. */
bool object_holds(const struct object *o, uint64_t owner);

/*
 * Remove w from its object's queue and complete it with code (client gone,
 * handle closed, shutdown).  Idempotent: a no-op once w was completed.
 */
void object_cancel(struct waiter *w, int code);

/*
 * w's deadline passed: usually completes it with SYNC_ETIMEDOUT; a
 * condition waiter first gets its lock back, a barrier breaks.  No-op once
 * w was completed or while it re-acquires a condition's lock.
 */
void object_expire(struct waiter *w);

#endif
