/*
 * waitq.h: the FIFO queue of waiters every object keeps, and the waiter
 * itself.  Rule: a waiter is completed exactly once, by whoever removes it
 * from its queue (grant, timeout, cancel, shutdown); the completion function
 * belongs to the layer above and must not call back into object code.
 */
#ifndef SYNCD_WAITQ_H
#define SYNCD_WAITQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "list.h"
#include "hash.h"

/* Returned by object operations when the waiter was queued. */
#define SYNCD_PENDING 1

struct object;
struct waitq;

struct waiter {
    struct list_node node;   /* link in the queue while queued */
    struct waitq *queue;     /* borrowed (owner: object); NULL if not queued */
    struct object *obj;      /* borrowed (owner: registry) */
    uint64_t owner;          /* opaque owner id: the session id */
    uint64_t thread;         /* the owner's thread (RLock, deadlocks) */
    uint32_t depth;          /* condition: RLock depth to restore */
    int grant_code;          /* condition: code to complete with once the
                                lock is re-acquired (0 or SYNC_ETIMEDOUT) */
    bool reacquiring;        /* condition: queued on the lock to get it
                                back; a deadline no longer applies */
    /* Results an object fills in before completing (or returning 0). */
    uint64_t token;          /* lock: fencing token of the acquisition */
    bool owner_died;         /* lock: previous holder died holding it */
    int64_t value;           /* barrier: arrival index */
    bool offers_action;      /* barrier: the party can run the action */
    bool run_action;         /* barrier: result: this party runs it */
    /* Wait-for graph (lock.c): indexed by (owner, thread) while the
     * waiter is queued on a Lock or RLock. */
    bool waits_for_lock;
    UT_hash_handle wf_hh;
    bool hash_oom;           /* indexing it failed (hash.h) */
    /* Called once when the object removes the waiter; code 0 or SYNC_E*. */
    void (*complete)(struct waiter *w, int code);
};

struct waitq {
    struct list_node head;
    size_t len;
};

void waitq_init(struct waitq *q);
bool waitq_empty(const struct waitq *q);
size_t waitq_len(const struct waitq *q);
/* Append w (which must not be queued) at the tail. */
void waitq_push(struct waitq *q, struct waiter *w);
/* Remove and return the oldest waiter, or NULL. */
struct waiter *waitq_pop(struct waitq *q);
/* Oldest waiter without removing it, or NULL. */
struct waiter *waitq_peek(const struct waitq *q);
/* Remove w from whatever queue holds it; no-op if not queued. */
void waitq_remove(struct waiter *w);
/* Remove w and call its completion with code. */
void waitq_complete(struct waiter *w, int code);

#endif
