/*
 * recipe_prim.h: Semaphore, BoundedSemaphore, Barrier and Condition on
 * cluster names, as etcd transactions run on cluster job threads.
 *
 * Their state lives under "syncd\x01NAME\x01INC/", INC being the create
 * revision of NAME's type key in hex: an unlinked and re-created object
 * starts from nothing while handles to the old one keep using the old
 * keys, as a local object's handles do.  Every state change is one txn
 * that compares the mod revision of the guard key INC/g with the one read
 * before (and writes it), retried on conflict; keys deleted by a lease's
 * end do not touch the guard, they only ever make the state read look
 * less free than it is, and the waiters watch for them.
 *
 *   Semaphore / BoundedSemaphore (type "T:INITIAL:")
 *     s/LEASE-HANDLE-SEQ  a permit taken; with the session lease when
 *                         taken through a SYNC_SEM_UNDO handle (HANDLE),
 *                         without one otherwise (HANDLE 0)
 *     x                   releases beyond the permits taken (Semaphore)
 *     w/LEASE-SEQ         a waiter (lease), FIFO by create revision
 *     value = INITIAL + x - count(s/)
 *   Barrier (type "T:PARTIES:")
 *     gen                 the round (absent: 0)
 *     a/ROUND/LEASE-SEQ   an arrival that waits (lease), "-a" appended
 *                         when it offers to run the action; the arrival
 *                         that completes the round only bumps gen, or
 *                         writes act
 *     act                 "ROUND WHO" (no lease): the round's action
 *                         runs in the party whose arrival key is
 *                         a/ROUND/WHO (under its lease: its death shows);
 *                         gen moves on only when that party reports
 *                         success, and a failure writes broken
 *     broken              exists while the barrier is broken
 *   Condition (type "T:0:LOCK", LOCK empty: its private RLock, whose
 *   q/ and m/ keys are the condition's own name's)
 *     w/LEASE-SEQ         a waiter (lease): "0" waiting, "1" notified
 */
#ifndef SYNCD_RECIPE_PRIM_H
#define SYNCD_RECIPE_PRIM_H

#include <stdbool.h>
#include <stdint.h>

#include "cluster/recipe.h"

#define RECIPE_LOCK_NAME_MAX 256

/*
 * Open NAME as type/param (extra: a Condition's lock name, else "").
 * existing: only if it exists, and take its param and extra.  0 with
 * *inc (its incarnation), *param and extra_out (cap bytes) from etcd;
 * SYNC_ETYPE, SYNC_EEXIST (other param or lock), SYNC_ENOENT, errors.
 */
int recipe_prim_open(struct etcd_ctx *c, const char *name, int type,
                     uint32_t param, const char *extra, bool existing,
                     bool *created, int64_t *inc, uint32_t *param_out,
                     char *extra_out, size_t extra_cap);

/* The key of NAME's incarnation inc with suffix into out; its length. */
size_t recipe_prim_key(char *out, const char *name, int64_t inc,
                       const char *suffix);
/* {"request_range": ...} of key k, or of every key under it (prefix:
 * oldest first), keys only or with values. */
json_t *recipe_prim_range(const char *k, size_t kl, bool prefix,
                          bool keys_only);
/* The kvs of the i-th response of a txn answer (NULL: none). */
json_t *recipe_prim_kvs(json_t *txn, size_t i);
/*
 * Run the txn {compare: cmp, success: ops} (arrays, consumed).  0 when
 * the compares held (*rev, if not NULL: its revision), 1 when one did
 * not, < 0 errors.
 */
int recipe_prim_commit(struct etcd_ctx *c, json_t *cmp, json_t *ops,
                       int64_t *rev);
/* The guard key g of an incarnation as read: every state change writes
 * it, if it is still as read. */
struct recipe_guard {
    int64_t mod;     /* its mod revision (0: absent) */
    int64_t version; /* its version: how many writes made it so */
};
/* The guard as kv (a keys-only read of g, NULL: absent) shows it. */
struct recipe_guard recipe_prim_guard_of(json_t *kv);
/*
 * recipe_prim_commit of ops plus a write of the guard key g of NAME's
 * incarnation, if g is still as read (g->mod).  Exactly once: g gets a
 * value no other write carries, so when the guard fails the answer tells
 * whether this txn's own earlier attempt moved it.  A request is sent
 * twice more often than it seems: etcd_post's retry after an attempt that
 * failed but was applied (a leader that died between commit and reply),
 * and libcurl's own, on a fresh connection, when a reused one closes
 * before the answer.  Then 0, as if this attempt had done it;
 * SYNC_EUNAVAIL if etcd's history cannot say.  Without it, a release
 * sent twice would give back someone else's permit too.
 */
int recipe_prim_guarded(struct etcd_ctx *c, const char *name, int64_t inc,
                        const struct recipe_guard *g, json_t *ops,
                        int64_t *rev);
/*
 * The exactly-once part alone: run {compare: cmp, success: ops plus a
 * write of g with a tag of its own} (consumed); when a compare fails,
 * 0 all the same if an earlier sending of this txn wrote g after
 * revision since.  g (or NULL): the guard as read, if cmp holds it.
 */
int recipe_prim_tagged(struct etcd_ctx *c, const char *name, int64_t inc,
                       json_t *cmp, json_t *ops, int64_t since,
                       const struct recipe_guard *g, int64_t *rev);
/* The same with more compares (cmp: an array, consumed, or NULL). */
int recipe_prim_guarded_if(struct etcd_ctx *c, const char *name, int64_t inc,
                           const struct recipe_guard *g, json_t *cmp,
                           json_t *ops, int64_t *rev);
/* A txn answer's revision. */
int64_t recipe_prim_rev(json_t *out);
/* Watch every key of NAME's incarnation from rev until fn says so. */
int recipe_prim_watch(struct etcd_ctx *c, const char *name, int64_t inc,
                      int64_t rev, int64_t deadline_ms, etcd_event_fn fn,
                      void *arg);
/* Delete key k even when the ctx was cancelled (a wait that ends must
 * not leave its key behind until its lease ends).  0 or errors. */
int recipe_prim_delete(struct etcd_ctx *c, const char *k, size_t kl,
                       bool prefix);

/* ---- Semaphore (recipe_sem.c) ------------------------------------------ */

struct recipe_sem {
    const char *name;
    int64_t inc;
    uint32_t initial;
    bool bounded;
    int64_t lease;      /* the session's */
    uint32_t handle;    /* an UNDO handle's number, 0: a plain handle */
    uint64_t seq;       /* unique in the session */
};

/*
 * Take one permit, FIFO behind the waiters queued before us.  info is the
 * holder's description.  0 and *token (the permit key's create
 * revision); SYNC_ETIMEDOUT; SYNC_EINTR; SYNC_ENOENT (lease gone);
 * SYNC_EUNAVAIL.
 */
int recipe_sem_acquire(struct etcd_ctx *c, const struct recipe_sem *s,
                       const char *info, int64_t deadline_ms, bool may_wait,
                       int64_t *token);
/*
 * Give back n permits: the releasing UNDO handle's own permit keys first,
 * then the oldest taken without UNDO, then anyone's; beyond those, a
 * Semaphore counts them in x and a BoundedSemaphore refuses
 * (SYNC_EVALUE, nothing changes).  0 or errors.
 */
int recipe_sem_release(struct etcd_ctx *c, const struct recipe_sem *s,
                       uint32_t n);
/* Give back what UNDO handle s->handle took (s->seq 0), or the one permit
 * s->seq names.  0 or errors. */
int recipe_sem_undo(struct etcd_ctx *c, const struct recipe_sem *s);
/* *value and *waiting.  0 or errors. */
int recipe_sem_state(struct etcd_ctx *c, const struct recipe_sem *s,
                     int64_t *value, uint32_t *waiting);

/* ---- Barrier (recipe_barrier.c) ---------------------------------------- */

/* The round's action, as the party told to run it knows it. */
struct recipe_barrier_act {
    int64_t rev;                  /* the act key's create revision (0: this
                                     party runs no action) */
    int64_t round;
    char who[RECIPE_SUFFIX_MAX];  /* the actor's arrival key suffix */
};

struct recipe_barrier {
    const char *name;
    int64_t inc;
    uint32_t parties;
    int64_t lease;      /* the session's */
    uint64_t seq;       /* unique in the session */
    bool offers;        /* this party can run the action */
};

/*
 * Arrive and wait for the round to fill.  0 and *index (distinct in the
 * round, parties - 1 for the last arrival); when *act says so (act->rev
 * != 0), this party is to run the round's action and report it with
 * recipe_barrier_acted while the others wait: the last arrival if it
 * offers, else the latest queued arrival that does.  An arrival while an
 * action runs waits for it to end, then joins the next round.
 * SYNC_EBROKEN (broken, reset, a party left or died, the actor died, or
 * our deadline passed: then we broke it); SYNC_EINTR (cancelled: we
 * broke it too); SYNC_EUNAVAIL.
 */
int recipe_barrier_wait(struct etcd_ctx *c, const struct recipe_barrier *b,
                        const char *info, int64_t deadline_ms,
                        int64_t *index, struct recipe_barrier_act *act);
/*
 * The actor reports: ok completes the round (gen moves on, the parties
 * return), !ok breaks the barrier.  0; SYNC_EBROKEN when the round ended
 * otherwise meanwhile (broken, reset, the actor's lease ended); errors.
 */
int recipe_barrier_acted(struct etcd_ctx *c, const char *name, int64_t inc,
                         const struct recipe_barrier_act *act, bool ok);
/* reset: waiters get SYNC_EBROKEN, a new round starts unbroken; else
 * abort: broken until reset.  0 or errors. */
int recipe_barrier_op(struct etcd_ctx *c, const char *name, int64_t inc,
                      bool reset);
/* Waiters of the current round and whether it is broken. */
int recipe_barrier_state(struct etcd_ctx *c, const char *name, int64_t inc,
                         uint32_t *waiting, bool *broken);

/* ---- Condition (recipe_cond.c) ----------------------------------------- */

/*
 * Open the lock a Condition binds to: an RLock unless it exists as a
 * Lock.  0 and *type (OBJECT_LOCK/OBJECT_RLOCK); SYNC_ETYPE; errors.
 */
int recipe_cond_lock_open(struct etcd_ctx *c, const char *lock, int *type);

struct recipe_cond {
    const char *name;          /* the condition */
    int64_t inc;
    const char *info;          /* the waiter's description */
    const char *lock;          /* its lock's name */
    int64_t lease;             /* the session's */
    uint64_t lock_seq;         /* the held contender key's */
    struct recipe_grant grant; /*   ... and its grant */
};

/*
 * wait, first half: in one txn, queue waiter w/LEASE-wseq (value "0"
 * and info) and release the held lock.  0; SYNC_ENOENT (the lock was no
 * longer ours); errors.
 */
int recipe_cond_enter(struct etcd_ctx *c, const struct recipe_cond *k,
                      uint64_t wseq);
#define RECIPE_AHEAD_MAX 8

/* Where a notify queued a woken waiter's contender key for the lock. */
struct recipe_cond_ahead {
    int64_t rev;       /* its create revision (0: not found) */
    uint32_t n;        /* keys of the same lease queued before it (seq[],
                          the first RECIPE_AHEAD_MAX of them) */
    uint64_t seq[RECIPE_AHEAD_MAX];
};

/*
 * wait, second half: until notified (0: the notifier queued our lock
 * contender key q/LEASE-wseq, for recipe_lock_adopt; *ahead says where)
 * or the deadline (SYNC_ETIMEDOUT; a notify that came first wins: 0).
 * SYNC_EINTR when cancelled (the waiter key is withdrawn as on a
 * timeout, unless notified: 0); SYNC_ENOENT when the key went (lease
 * gone).
 */
int recipe_cond_sleep(struct etcd_ctx *c, const struct recipe_cond *k,
                      uint64_t wseq, int64_t deadline_ms,
                      struct recipe_cond_ahead *ahead);
/*
 * Mark the first n waiters (all: every one) notified ("1"), while the
 * lock's contender key is still ours, and queue for each, in that order,
 * its contender key for the lock (under its lease, with its mark): the
 * woken waiters get the lock back FIFO, as a local Condition's do.  0;
 * SYNC_ENOENT (lock lost); errors.
 */
int recipe_cond_notify(struct etcd_ctx *c, const struct recipe_cond *k,
                       uint32_t n, bool all);
/* The waiters of the condition. */
int recipe_cond_waiting(struct etcd_ctx *c, const char *name, int64_t inc,
                        uint32_t *waiting);

#endif
