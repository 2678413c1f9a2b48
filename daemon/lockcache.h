/*
 * lockcache.h: lock caching's server side (WIRE_CAP_LOCK_CACHE): one
 * shared page per client session (proto/lockcache_page.h), the locks lent in
 * it, and the daemon's two moves on a word: lend (write it, then publish)
 * and take back (one atomic exchange: whatever the client did last is what
 * the daemon gets).  The lock objects only hear lock_lend/lock_return.
 * docs/lock-caching.md has the protocol and why it is safe.
 */
#ifndef SYNCD_LOCKCACHE_H
#define SYNCD_LOCKCACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "lockcache_page.h"

struct lock;
struct object;
struct server;
struct session;

struct lockcache_page {
    struct lc_slot *slots;       /* owned mapping of LC_PAGE_SIZE bytes */
    struct lock *lent[LC_SLOTS]; /* borrowed (owner: registry): the lock
                                    lent in each slot; NULL: free */
    uint32_t range[LC_SLOTS];    /* tokens lent with it */
    uint16_t gen[LC_SLOTS];      /* its lending's generation */
    uint32_t n_lent;
    uint32_t hint;               /* where to look for a free slot */
};

/* A new page for a session: a sealed memfd of LC_PAGE_SIZE bytes, mapped;
 * *fd is its descriptor to send to the client (the caller closes it).
 * 0 or a SYNC_E* code. */
int lockcache_page_new(struct lockcache_page **out, int *fd);

/*
 * The daemon's liveness, for clients whose locks are lent: one page per
 * daemon holding a robust process-shared mutex that the loop thread locks
 * at once and never releases.  When the daemon dies (kill -9 included)
 * the kernel marks the mutex's word owner-died; a client reads that word
 * (a read-only mapping) before every local acquire or release, so a lent
 * lock is never used past the daemon's death.  *fd: a read-only
 * descriptor of the page, owned by srv (the caller sends it).  0 or a
 * SYNC_E* code.
 */
int lockcache_alive_fd(struct server *srv, int *fd);
/* server_fini: unlock, unmap, close. */
void lockcache_alive_free(struct server *srv);

/* Unmap and free p; every lock must have been taken back. */
void lockcache_page_free(struct lockcache_page *p);

/*
 * Lend l, just granted to s's thread `thread` (depth levels), into s's
 * page when the lock allows it (lock_may_lend).  Returns the grant for
 * AcquireResult.cache (lc_grant), 0 when not lent.
 */
uint64_t lockcache_lend(struct session *s, struct lock *l, uint64_t thread);

/* The env->reclaim hook: take l back from the session it is lent to
 * (arg: the server). */
void lockcache_reclaim_cb(void *arg, struct object *o);

/* Take back everything lent to s (it is closing or closes a handle:
 * only_lock, or NULL for all). */
void lockcache_reclaim_session(struct session *s, struct lock *only_lock);

/* Take back every lent lock of every session (a clean stop: what the
 * state file keeps of each lock must be what its client's page says). */
void lockcache_reclaim_all(struct server *srv);

/*
 * What the word of a lent lock says now, without taking it back: 1 held
 * (thread, depth, token filled in), 0 free there, -1 not lent.
 */
int lockcache_peek(struct server *srv, const struct lock *l,
                   uint64_t *thread, uint32_t *depth, uint64_t *token);

#endif
