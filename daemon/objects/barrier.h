/*
 * barrier.h: threading.Barrier across processes.  `parties` waiters meet;
 * each gets a distinct arrival index 0..parties-1 and the barrier starts a
 * new round.  A timeout, an abort or a waiter that dies breaks it: every
 * waiter then (and later) gets SYNC_EBROKEN until reset(), or until no
 * handle to it is open anywhere (the registry then resets it).
 *
 * The action (Barrier(parties, action)): when the round is full and a
 * party offers to run it, exactly one party is told to (the last arrival
 * if it offers, as in CPython; else the latest queued party that does).
 * The others stay queued until that party reports: done releases the
 * round, failed breaks it, and so does the actor dying (drop_owner) or
 * any waiter's deadline passing meanwhile.  Arrivals during the action
 * wait for it to end and then make up the next round.
 */
#ifndef SYNCD_BARRIER_H
#define SYNCD_BARRIER_H

#include "object.h"

struct barrier {
    struct object base;
    uint32_t parties;
    bool broken;
    bool acting;          /* the round's action runs; the round waits */
    uint64_t actor;       /* owner told to run the action (0: none); kept
                             after the round broke, so its report gets
                             SYNC_EBROKEN rather than SYNC_EPERM */
    uint64_t acting_since; /* clock (object_now) when the action began */
    uint64_t rounds;      /* rounds completed */
    struct waitq waiters; /* arrivals of the current round, in order */
    struct waitq next;    /* arrivals while the action runs */
};

/* A new barrier for parties (>= 1) parties; NULL when out of memory. */
struct barrier *barrier_new(const char *name, uint32_t parties);

/*
 * Arrive (w->offers_action: this party can run the action).  SYNC_EBROKEN
 * when broken; 0 for the last arrival (w->value = parties - 1; every
 * queued waiter completes with 0 and its index), or, when the round has an
 * action and w is to run it, 0 with w->run_action set and the round held;
 * otherwise SYNCD_PENDING with w->value = the arrival index (a queued
 * waiter may later complete with run_action set).
 */
int barrier_wait(struct barrier *b, struct waiter *w);

/*
 * The party told to run the action (owner) reports: ok releases the
 * round's parties, !ok breaks the barrier.  0; SYNC_EBROKEN when the round
 * broke (or was reset) while the action ran; SYNC_EPERM when owner is not
 * running this barrier's action.
 */
int barrier_action_done(struct barrier *b, uint64_t owner, bool ok);

/* Whether a wait now would queue (not the last, or the last but another
 * party runs the action, or an action runs; not broken). */
bool barrier_would_queue(const struct barrier *b, bool offers_action);

/* Python's Barrier.n_waiting: the parties of the round, the one running
 * its action among them (threading counts it until the round ends);
 * arrivals for the next round are not counted before it starts. */
uint32_t barrier_parties_waiting(const struct barrier *b);
/* Python reset(): waiters get SYNC_EBROKEN; the barrier is usable again. */
void barrier_reset(struct barrier *b);
/* Python abort(): break it; waiters now and later get SYNC_EBROKEN. */
void barrier_abort(struct barrier *b);

struct barrier *barrier_from_object(struct object *o);

#endif
