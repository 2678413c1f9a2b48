/*
 * recipe.h: the cluster objects' semantics written as etcd transactions,
 * each a blocking function run on a cluster job's thread.  Keys of the
 * object NAME live under "syncd\x01NAME\x01" (a control character cannot
 * occur in a name, so no name's keys fall inside another's prefix):
 *   type           "T:P" (object type, creation parameter), no lease
 *   q/LEASE-SEQ    a Lock/RLock contender, under its session's lease; the
 *                  one with the lowest create revision holds the lock
 *   m/LEASE-SEQ    its mark, without a lease: deleted with q/ by a clean
 *                  release or an ended wait, left behind by a holder that
 *                  dies; a new holder that finds marks older than its own
 *                  key is told owner-died (and its clean release deletes
 *                  them)
 *   flag           an Event: "1" set, "0" clear
 */
#ifndef SYNCD_RECIPE_H
#define SYNCD_RECIPE_H

#include <stdbool.h>
#include <stdint.h>

#include "cluster/etcd.h"

/* A lease of ttl_s seconds: 0 and *lease, or etcd_post's codes. */
int recipe_lease_grant(struct etcd_ctx *c, unsigned ttl_s, int64_t *lease);
/* 0 (renewed), SYNC_ENOENT (expired or unknown), etcd_post's codes. */
int recipe_lease_keepalive(struct etcd_ctx *c, int64_t lease);
/* Revoke: every key under the lease goes at once.  0 (also when it had
 * already expired) or etcd_post's codes. */
int recipe_lease_revoke(struct etcd_ctx *c, int64_t lease);

/*
 * Open NAME as type/param: create its type key unless it exists (or
 * `existing` is set).  0 (*created says which), SYNC_ETYPE, SYNC_EEXIST,
 * SYNC_ENOENT (existing only, absent), etcd_post's codes.
 */
int recipe_open(struct etcd_ctx *c, const char *name, int type,
                uint32_t param, bool existing, bool *created);
/* Remove NAME's type key (handles in use keep working), and every other
 * key of NAME when nobody holds or waits on it (recipe_unlink.c).  0,
 * SYNC_ENOENT, errors. */
int recipe_unlink(struct etcd_ctx *c, const char *name);

#define RECIPE_STALE_MAX 4
#define RECIPE_SUFFIX_MAX 40

struct recipe_grant {
    int64_t token;     /* the contender key's create revision */
    bool owner_died;   /* a previous holder never released */
    int n_stale;       /* marks of dead holders found (some of them) */
    char stale[RECIPE_STALE_MAX][RECIPE_SUFFIX_MAX]; /* their LEASE-SEQ */
    bool astray;       /* failed, and its contender key (which etcd may
                          have made) could not be deleted */
};

/*
 * Contend for the lock NAME with key q/LEASE-SEQ (value: info, who holds
 * it), FIFO by create revision, watching only the predecessor's key.
 * deadline_ms: monotonic; < 0 none.  may_wait false: try once.  On any
 * failure the key is deleted again, even when the enqueue itself failed
 * (etcd may have applied it); g->astray when that delete failed too.
 * 0 and *g; SYNC_ETIMEDOUT; SYNC_EINTR; SYNC_ENOENT (the lease is gone:
 * nothing is held); SYNC_EUNAVAIL.
 */
int recipe_lock_acquire(struct etcd_ctx *c, const char *name, int64_t lease,
                        uint64_t seq, const char *info, int64_t deadline_ms,
                        bool may_wait, struct recipe_grant *g);
/*
 * Contend with the key q/LEASE-SEQ someone else queued for us (a
 * Condition's notify queues the waiters it wakes, in its order), waiting
 * as long as it takes.  0 and *g; SYNC_ENOENT (no such key: its lease
 * ended); SYNC_EINTR; SYNC_EUNAVAIL.
 */
int recipe_lock_adopt(struct etcd_ctx *c, const char *name, int64_t lease,
                      uint64_t seq, struct recipe_grant *g);
/* Delete contender LEASE-SEQ's q/ and m/ keys (best effort). */
void recipe_lock_forget(struct etcd_ctx *c, const char *name, int64_t lease,
                        uint64_t seq);
/*
 * Give the lock up: delete the contender key if it still has g's token as
 * create revision (and, when clean, its mark and the dead holders' marks
 * in g: a release that is not clean leaves owner-died for the next
 * holder).  0; SYNC_ENOENT when the key was already gone (its lease
 * ended: the lock had been lost); SYNC_EUNAVAIL.
 */
int recipe_lock_release(struct etcd_ctx *c, const char *name, int64_t lease,
                        uint64_t seq, const struct recipe_grant *g,
                        bool clean);
/* The same, doing also (one txn operation, consumed; NULL: none) in the
 * release's txn (a Condition's wait queues its waiter so). */
int recipe_lock_release_and(struct etcd_ctx *c, const char *name,
                            int64_t lease, uint64_t seq,
                            const struct recipe_grant *g, bool clean,
                            json_t *also);
/*
 * The same two as one request and its answer each, for a caller that
 * sends the request itself (cluster_fast.c, on the event loop):
 * recipe_lock_enqueue_req is recipe_lock_acquire's first txn (NULL: out of
 * memory); recipe_lock_enqueue_seen reads its answer: 0 and *myrev, our
 * key's create revision, with g->token = *myrev and g filled when the lock
 * is ours, g->token 0 when contenders precede us (recipe_lock_queued goes
 * on from there, as recipe_lock_acquire would); or SYNC_EINTERNAL.
 * recipe_lock_release_req is recipe_lock_release's txn;
 * recipe_lock_release_seen its answer: 0 or SYNC_ENOENT.
 */
json_t *recipe_lock_enqueue_req(const char *name, int64_t lease,
                                uint64_t seq, const char *info);
int recipe_lock_enqueue_seen(const char *name, json_t *out, int64_t *myrev,
                             struct recipe_grant *g);
int recipe_lock_queued(struct etcd_ctx *c, const char *name, int64_t lease,
                       uint64_t seq, int64_t myrev, int64_t deadline_ms,
                       bool may_wait, struct recipe_grant *g);
json_t *recipe_lock_release_req(const char *name, int64_t lease,
                                uint64_t seq, const struct recipe_grant *g,
                                bool clean);
int recipe_lock_release_seen(json_t *out);
/* Contenders of lock NAME: *held (0/1) and *waiting.  0 or errors. */
int recipe_lock_state(struct etcd_ctx *c, const char *name, int64_t *held,
                      uint32_t *waiting);

/* Set (1) or clear (0) the Event NAME.  0 or etcd_post's codes. */
int recipe_event_put(struct etcd_ctx *c, const char *name, bool set);
/* *set = the Event's flag.  0 or etcd_post's codes. */
int recipe_event_get(struct etcd_ctx *c, const char *name, int64_t *set);
/* Wait until the Event is set: 0, SYNC_ETIMEDOUT, SYNC_EINTR, errors. */
int recipe_event_wait(struct etcd_ctx *c, const char *name,
                      int64_t deadline_ms, bool may_wait);

/* ---- what the other recipe files share (recipe_prim.h) --------------- */

/* NAME's key with suffix into out (ETCD_KEY_MAX bytes); its length. */
size_t recipe_key(char *out, const char *name, const char *suffix);
/* POST req (consumed; NULL: SYNC_ENOMEM) to /v3/kv/txn; the answer. */
json_t *recipe_txn(struct etcd_ctx *c, json_t *req, int *rv);
/* The kvs[0] of the i-th response of a txn answer (a range), or NULL. */
json_t *recipe_kv(json_t *txn, size_t i);
/* Whether the txn's compares held (a failed txn omits "succeeded"). */
bool recipe_ok(json_t *txn);

#endif
