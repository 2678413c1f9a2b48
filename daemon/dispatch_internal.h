/*
 * dispatch_internal.h: what the dispatch files share (dispatch.c,
 * dispatch_wait.c, dispatch_client.c; inspect.c reads struct pending).
 */
#ifndef SYNCD_DISPATCH_INTERNAL_H
#define SYNCD_DISPATCH_INTERNAL_H

#include "codec.h"
#include "deadline.h"
#include "handle.h"
#include "session.h"
#include "waitq.h"

/*
 * A queued wait of a session: the object links w, the deadline heap links
 * deadline, the session's pending list links link.  Owned by the dispatch
 * layer (recycled through server->free_pending); completed exactly once,
 * by dispatch_complete_cb.
 */
struct pending {
    struct waiter w;
    struct deadline_entry deadline;
    struct list_node link;       /* in session->pending or the free list */
    struct session *session;     /* borrowed (owner: server) */
    uint64_t req_id;
    uint32_t handle;
    enum wire_op op;
    uint64_t queued_ms;          /* loop time when the wait began */
    bool expired;                /* its deadline ended the wait */
};

/* Answer rq's id with code (and an optional message). */
void dispatch_reply(struct session *s, uint64_t id, int code,
                    const char *message);

/* rq's handle if it exists and s may use it for rq's op; otherwise the
 * error is answered and NULL returned. */
struct handle *dispatch_handle(struct session *s, const struct request *rq);

/* o (or a condition's lock) is lent to a client (lock caching): take it
 * back, so the request sees the lock as it really is.  Every request on a
 * handle does this first (the borrower's own too: its client asks the
 * daemon only when its word did not let it act). */
void dispatch_unlend(struct server *srv, struct object *o);

/* o's durable state changed (created, flag, value): tell the store, if
 * the daemon has one. */
void dispatch_record(struct server *srv, struct object *o);

struct semaphore;
/*
 * The permits s holds through undo handles of sem changed by delta (the
 * caller changed the handle's own count): the semaphore's count of them,
 * and, for a client that can reclaim them, the state file's count of its
 * permits (store_permits_changed).
 */
void dispatch_undo_moved(struct session *s, struct semaphore *sem,
                         int64_t delta);

/* Answer SYNC_ETYPE naming o's type. */
void dispatch_wrong_type(struct session *s, const struct request *rq,
                         const struct object *o);

/* Start acquire / event wait / condition wait / barrier wait (dispatch_wait.c). */
void dispatch_wait(struct session *s, const struct request *rq);

/* Completion of a queued waiter: answers its request (unless the session
 * is closing) and recycles it. */
void dispatch_complete_cb(struct waiter *w, int code);

/* A wait record for s (recycled, or new), not yet on any list; NULL when
 * out of memory. */
struct pending *dispatch_pending_new(struct session *s, uint64_t req_id,
                                     uint32_t handle, enum wire_op op);
/* Put p on its session's list (an object queued it). */
void dispatch_pending_track(struct pending *p);
/* Unlink p from its session and its deadline, and recycle it. */
void dispatch_pending_free(struct pending *p);

/*
 * Cancel s's queued waits through handle id (0: all), each completed with
 * code.  Safe when one cancellation completes others.
 */
void dispatch_cancel_waits(struct session *s, uint32_t id, int code);

/*
 * Cancel s's pending wait started by request req_id as if its deadline
 * passed now (its reply says timed out; a condition wait first gets its
 * lock back, a barrier breaks).  0, or SYNC_ENOENT when no such wait is
 * queued (it completed, or is re-acquiring a condition's lock).
 */
int dispatch_cancel_request(struct session *s, uint64_t req_id);

/*
 * Close s's handle id: cancel its waits with SYNC_EBADF, release what s
 * holds through it if no other handle of s refers to the object, give back
 * undo permits, drop the object reference.  0 or SYNC_EBADF.
 */
int dispatch_close_handle(struct session *s, uint32_t id);

#endif
