/*
 * deadlock.h: the wait-for graph over Locks and RLocks.  Nodes are
 * (owner, thread) pairs; an edge goes from a queued waiter to the holder of
 * the lock it waits for.  A blocking acquire that would close a cycle is
 * refused with SYNC_EDEADLK instead of hanging forever.
 */
#ifndef SYNCD_DEADLOCK_H
#define SYNCD_DEADLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "waitq.h"

struct lock;

/* Longest cycle reported (and searched), inclusive: a chain longer than
 * this is not followed further, so it is never reported. */
#define DEADLOCK_MAX_CHAIN 64

/* One edge of a cycle: `owner/thread` holds `held` and waits for `wants`. */
struct deadlock_edge {
    uint64_t owner;
    uint64_t thread;
    const struct lock *wants;
};

/* Index w (queued on a lock) by its (owner, thread); false when the index
 * could not allocate (w is then not part of the graph). */
bool deadlock_track(struct waiter *w);
/* Remove w from the index; no-op when not indexed. */
void deadlock_untrack(struct waiter *w);

/*
 * Would (owner, thread) waiting for l close a cycle?  Follows holder ->
 * the lock that holder's thread waits for -> its holder ... Returns the
 * number of edges in the cycle (filled into cycle[], first the requester),
 * or 0 when there is none.
 */
size_t deadlock_find_cycle(const struct lock *l, uint64_t owner,
                           uint64_t thread,
                           struct deadlock_edge cycle[DEADLOCK_MAX_CHAIN]);

#endif
