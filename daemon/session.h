/*
 * session.h: one connected client.  A session owns everything its client
 * holds: handles (and through them object references and undo permits),
 * lock ownership (by session id) and pending waiters.  On close it gives
 * all of it back at once.
 */
#ifndef SYNCD_SESSION_H
#define SYNCD_SESSION_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

#include "codec.h"
#include "deadline.h"
#include "frame.h"
#include "handle.h"
#include "list.h"
#include "hash.h"
#include "waitq.h"

#define SESSION_MAX_GROUPS 64

struct server;

/* HANDSHAKE -> READY -> CLOSING; no way back. */
enum session_state { SESSION_HANDSHAKE, SESSION_READY, SESSION_CLOSING };

struct session {
    uv_pipe_t pipe;              /* embedded; freed from its close_cb */
    struct list_node link;       /* in server->sessions */
    struct server *server;       /* borrowed (owner: main) */
    uint64_t id;                 /* owner id given to objects; never 0 */
    enum session_state state;
    const char *doomed;          /* a reply was lost (out of memory): the
                                    next flush closes the session, why */
    pid_t pid;                   /* SO_PEERCRED */
    uid_t uid;
    gid_t gid;
    uint32_t groups[SESSION_MAX_GROUPS]; /* supplementary, from /proc */
    struct object_cred cred;     /* uid/gid/groups for access checks */
    UT_hash_handle hh;           /* server->by_id */
    bool indexed;                /* in by_id (false: out of memory) */
    char client_name[CODEC_CLIENT_NAME_MAX + 1];
    uint64_t connected_ms;       /* loop time at accept */
    struct frame_decoder decoder;
    struct handle_table handles;
    struct list_node pending;    /* struct pending.link, owned */
    uint32_t n_pending;
    /* Replies of this loop iteration, sent in one write by
     * session_flush (from the server's uv_check) or before closing. */
    uint8_t *out;                /* owned */
    size_t out_len, out_cap;
    struct list_node dirty;      /* in server->dirty while out_len > 0 */
};

/* A queued wait: the object links w, the deadline heap links deadline. */
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

/*
 * Accept a connection from the listener into a new session, record its
 * peer credentials and start reading.  0 or a SYNC_E* code (the connection
 * is then closed).
 */
int session_accept(struct server *srv);

/*
 * Close the session now: cancel its waits, release everything it holds
 * (locks go to their next waiter, marked owner-died), give back undo
 * permits, close its handles, then close the socket.  Idempotent.
 */
void session_abort(struct session *s, const char *why);

/*
 * Answer a request: the reply is appended to the session's output and
 * written with the others of this loop iteration by session_flush.
 * Dropped when closing (except id 0 errors, flushed before the close).
 */
void session_send(struct session *s, const struct reply *rp);

/* Write the queued replies now (uv_try_write, queueing what the kernel
 * does not take); aborts the session on backlog overflow. */
void session_flush(struct session *s);

/*
 * Close handle id: cancel its waits with SYNC_EBADF, release what the
 * session holds through it if no other handle of the session refers to the
 * object, give back undo permits, drop the object reference.
 * 0 or SYNC_EBADF.
 */
int session_close_handle(struct session *s, uint32_t id);

/*
 * Cancel the session's queued waits through handle id (0: all), each
 * completed with code.  Safe when one cancellation completes others.
 */
void session_cancel_waits(struct session *s, uint32_t id, int code);

/* A pending waiter for this session (recycled), or NULL. */
struct pending *session_pending_new(struct session *s, uint64_t req_id,
                                    uint32_t handle, enum wire_op op);
/* Put p on the session's list (it was queued by an object). */
void session_pending_track(struct session *s, struct pending *p);
/* Unlink p from the session and recycle it. */
void session_pending_free(struct pending *p);

#endif
