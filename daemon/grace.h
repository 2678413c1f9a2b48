/*
 * grace.h: the reclaim grace period after a start on a state directory
 * that had lock holders.  Each hold the file kept is restored as a
 * "ghost": the lock is held by an owner id no session has, so nobody else
 * can take it (a try-acquire is refused as busy, a blocking acquire
 * queues).  The client that held it (same Hello.client_id) reclaims it
 * with the same token, depth and thread (grace_reclaim); when the period
 * ends, every ghost left is dropped as a dead owner: the next waiter gets
 * the lock with owner_died.  Tokens continue above the reservation, so
 * above every earlier token.
 *
 * Semaphore permits a client held through undo handles are kept the same
 * way: a ghost holds them (the semaphore counts them as taken) until the
 * client takes them back (grace_take_permits) or the period ends and
 * gives them back, as the client's death would.
 */
#ifndef SYNCD_GRACE_H
#define SYNCD_GRACE_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "objects/lock.h"
#include "registry.h"
#include "syncclient.h"

struct semaphore;
struct store;
struct store_hold;
struct store_permits;

/* Owner ids of ghosts: above any session id (a counter from 1). */
#define GRACE_GHOST_BASE (UINT64_C(1) << 62)

/* The default --grace-ms. */
#define GRACE_DEFAULT_MS 5000u

struct grace_ghost {
    char name[SYNC_NAME_MAX + 1];  /* the object the file kept it under */
    uint8_t client_id[16];
    uint64_t owner;                /* the ghost's owner id */
    uint64_t token;
};

/* A client's undo permits of a semaphore, kept across the restart. */
struct grace_permits {
    char name[SYNC_NAME_MAX + 1];
    uint8_t client_id[16];
    uint32_t count;                /* not reclaimed yet */
};

struct grace {
    struct registry *registry;     /* borrowed */
    uv_timer_t timer;              /* embedded */
    bool timer_open;
    uint64_t ends_ms;              /* loop time the period ends; 0: none */
    uv_loop_t *loop;               /* borrowed */
    struct grace_ghost *v;         /* owned */
    size_t n, cap;
    struct grace_permits *pv;      /* owned */
    size_t pn, pcap;
    struct store *store;           /* borrowed: records given-back permits */
    uint32_t reclaimed, released;
    uint32_t permits_reclaimed, permits_released;
};

static inline bool grace_is_ghost(uint64_t owner)
{
    return owner >= GRACE_GHOST_BASE;
}

void grace_init(struct grace *g, struct registry *r);

/* The lock o's hold is kept for: a Lock's or RLock's, a condition's own
 * lock; NULL for other objects (and conditions bound to a named lock,
 * whose hold is that lock's). */
struct lock *grace_lock_of(struct object *o);

/* Restore h (from the file) on l: held by a new ghost.  0, or -1 when
 * out of memory. */
int grace_add(struct grace *g, struct lock *l, const struct store_hold *h);

/* Restore p (from the file) on s: held by a ghost, counted as taken
 * through undo.  0, or -1 when out of memory. */
int grace_add_permits(struct grace *g, struct semaphore *s,
                      const struct store_permits *p);

/*
 * Take up to n of the permits of s (kept under name) that client
 * client_id held through undo handles before the restart, for one of its
 * sessions: the ghost lets go of them and the caller counts them as its
 * handle's (dispatch_undo_moved), so they never pass through the value.
 * Returns how many.
 */
uint32_t grace_take_permits(struct grace *g, const char *name,
                            struct semaphore *s, const uint8_t client_id[16],
                            uint32_t n);

/* Start the period of ms milliseconds when there are ghosts (0 ms: drop
 * them at once).  0, or -1 when the timer cannot be created. */
int grace_start(struct grace *g, uv_loop_t *loop, uint64_t ms);

/* Milliseconds left of the period; 0 when none. */
uint32_t grace_left_ms(const struct grace *g);

/* What the period still keeps for clients: holds, and undo permits. */
void grace_kept(const struct grace *g, uint32_t *holds, uint32_t *permits);

/*
 * The client `client_id` (session `to`) reclaims its hold of l, kept
 * under `name`; token 0 or the hold's; depth 0 or the RLock levels the
 * client counts (they win over the kept depth: an acquire or release in
 * flight at the crash is sent again afterwards).  0 with *token_out, or
 * SYNC_ELOST with *why.
 */
int grace_reclaim(struct grace *g, const char *name, struct lock *l,
                  const uint8_t client_id[16], uint64_t token, uint32_t depth,
                  uint64_t to, uint64_t *token_out, const char **why);
/*
 * An acquire by `thread` of client client_id that finds l held by that
 * client's own ghost for the same thread: a hold its client does not know
 * of (the daemon stopped before the grant's reply, or the lock was lent
 * and free in the client's page).  The ghost lets go of it cleanly - the
 * next waiter gets it without owner-died, or the acquire then takes it
 * with a fresh token, as any grant.  0 when it did, SYNC_ELOST when l is
 * not such a hold.
 */
int grace_drop_own(struct grace *g, const char *name, struct lock *l,
                   const uint8_t client_id[16], uint64_t thread);

/*
 * Client client_id reclaimed all it holds (Reclaim with handle 0, after
 * its reconnect): whatever is still kept for it, it does not hold - a
 * lock lent to it and free in its page, a grant or a release whose reply
 * it never saw (it sends the call again).  Locks are let go cleanly (the
 * next waiter gets it without owner-died), undo permits given back.
 * *locks and *permits say how many.
 */
void grace_client_done(struct grace *g, const uint8_t client_id[16],
                       uint32_t *locks, uint32_t *permits);

/* Stopping: close the timer; the ghosts stay in the file. */
void grace_close(struct grace *g);
void grace_fini(struct grace *g);

#endif
