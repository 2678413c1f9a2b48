/*
 * semaphore.h: threading.Semaphore and threading.BoundedSemaphore across
 * processes.  No owner (Python semantics); permits are granted FIFO.
 */
#ifndef SYNCD_SEMAPHORE_H
#define SYNCD_SEMAPHORE_H

#include "object.h"

/* Largest value a semaphore may reach (sync_sem_value returns an int). */
#define SEMAPHORE_VALUE_MAX 0x7fffffffu

struct semaphore {
    struct object base;
    uint32_t value;      /* free permits */
    uint32_t bound;      /* bounded: the initial value, never exceeded */
    uint32_t undo_out;   /* permits taken through undo handles and not yet
                            released or given back (kept by dispatch; a
                            restart keeps them for their clients to
                            reclaim, grace.h) */
    uint32_t undo_kept;  /* of undo_out, those of clients that can reclaim
                            them (Hello.client_id): the state file keeps
                            them per client, not in the value */
    struct waitq waiters;
};

/*
 * A new semaphore with the initial value; bounded makes it a
 * BoundedSemaphore whose bound is value.  NULL when out of memory.
 */
struct semaphore *semaphore_new(const char *name, uint32_t value,
                                bool bounded);

/* Take one permit: 0 now, SYNCD_PENDING queued, SYNC_ETIMEDOUT if none and
 * may_wait is false. */
int semaphore_acquire(struct semaphore *s, struct waiter *w, bool may_wait);

/*
 * Give back n permits, waking up to n waiters in FIFO order.  SYNC_EINVAL
 * for n == 0; SYNC_EVALUE when a bounded semaphore would exceed its bound or
 * the value would pass SEMAPHORE_VALUE_MAX (then nothing changes).
 */
int semaphore_release(struct semaphore *s, uint32_t n);

/*
 * Give back up to n permits a dead or closing owner took with undo: as
 * many as fit under the bound (a bounded semaphore may have been raised
 * meanwhile) and SEMAPHORE_VALUE_MAX.  Returns how many were given.
 */
uint32_t semaphore_undo(struct semaphore *s, uint32_t n);

/*
 * Take up to n free permits at once, never queueing (a reclaim after a
 * restart: permits the client held that the file did not keep yet).
 * Returns how many were taken.
 */
uint32_t semaphore_take(struct semaphore *s, uint32_t n);

struct semaphore *semaphore_from_object(struct object *o);

#endif
