/*
 * barrier.h: threading.Barrier across processes.  `parties` waiters meet;
 * each gets a distinct arrival index 0..parties-1 and the barrier starts a
 * new round.  A timeout, an abort or a waiter that dies breaks it: every
 * waiter then (and later) gets SYNC_EBROKEN until reset(), or until no
 * handle to it is open anywhere (the registry then resets it).
 */
#ifndef SYNCD_BARRIER_H
#define SYNCD_BARRIER_H

#include "object.h"

struct barrier {
    struct object base;
    uint32_t parties;
    bool broken;
    uint64_t rounds;      /* rounds completed */
    struct waitq waiters; /* arrivals of the current round, in order */
};

/* A new barrier for parties (>= 1) parties; NULL when out of memory. */
struct barrier *barrier_new(const char *name, uint32_t parties);

/*
 * Arrive.  SYNC_EBROKEN when broken; 0 for the last arrival (w->value =
 * parties - 1; every queued waiter completes with 0 and its index);
 * otherwise SYNCD_PENDING with w->value = the arrival index.
 */
int barrier_wait(struct barrier *b, struct waiter *w);

/* Whether a wait now would queue (not last, not broken). */
bool barrier_would_queue(const struct barrier *b);

/* Python reset(): waiters get SYNC_EBROKEN; the barrier is usable again. */
void barrier_reset(struct barrier *b);
/* Python abort(): break it; waiters now and later get SYNC_EBROKEN. */
void barrier_abort(struct barrier *b);

struct barrier *barrier_from_object(struct object *o);

#endif
