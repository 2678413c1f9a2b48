/*
 * session.h: one connected client: its bytes (frames in, replies out), its
 * credentials and its handle table.  Decoded requests go to the handler
 * the server registered at start (the dispatch layer), which also keeps
 * the client's waits and gives back what it holds when the session closes.
 */
#ifndef SYNCD_SESSION_H
#define SYNCD_SESSION_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

#include "codec.h"
#include "frame.h"
#include "handle.h"
#include "list.h"
#include "hash.h"

#define SESSION_MAX_GROUPS 64

struct csess;
struct server;
struct session;

/*
 * What a session hands on, registered once at start (server_init): the
 * session calls down through it and never names the layer below, which
 * answers through session_send (libuv's handles report the same way).
 */
struct session_handler {
    /* One decoded request.  May abort the session. */
    void (*request)(struct session *s, const struct request *rq);
    /* Complete every queued wait of s with code (shutdown). */
    void (*cancel_waits)(struct session *s, int code);
    /* s is closing: cancel its waits, then give back all it holds through
     * its handles and close them. */
    void (*closing)(struct session *s);
    /* The server is freed: free what the handler kept for reuse. */
    void (*fini)(struct server *srv);
};

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
    bool hash_oom;               /* adding to by_id failed (hash.h) */
    bool indexed;                /* in by_id (false: out of memory) */
    char client_name[CODEC_CLIENT_NAME_MAX + 1];
    uint32_t version;            /* protocol version of its Hello */
    uint32_t caps;               /* WIRE_CAP_* granted (version 2) */
    bool has_client_id;          /* Hello.client_id given (RECLAIM) */
    uint8_t client_id[16];
    struct lockcache_page *cache; /* owned: the shared page of lock
                                    caching; NULL when not granted */
    uint64_t connected_ms;       /* loop time at accept */
    struct frame_decoder decoder;
    struct handle_table handles;
    struct list_node pending;    /* the handler's waits of this client
                                    (dispatch's struct pending.link) */
    uint32_t n_pending;
    /* Replies of this loop iteration, sent in one write by
     * session_flush (from the server's uv_check) or before closing. */
    uint8_t *out;                /* owned */
    size_t out_len, out_cap;
    struct list_node dirty;      /* in server->dirty while out_len > 0 */
    struct csess *cluster;       /* owned by cluster/ (freed there once
                                    its etcd work ends); NULL until the
                                    client names a cluster/ object */
};

/*
 * Accept a connection from the listener into a new session, record its
 * peer credentials and start reading.  0 or a SYNC_E* code (the connection
 * is then closed).
 */
int session_accept(struct server *srv);

/*
 * Close the session now: the handler cancels its waits and gives back
 * everything it holds (locks go to their next waiter, marked owner-died;
 * undo permits return), then the socket closes.  Idempotent.
 */
void session_abort(struct session *s, const char *why);

/*
 * Answer a request: the reply is appended to the session's output and
 * written with the others of this loop iteration by session_flush.
 * Dropped when closing (except id 0 errors, flushed before the close).
 */
void session_send(struct session *s, const struct reply *rp);

/*
 * Answer with rp and pass the n_fds (1..2) descriptors fds along with its
 * bytes (SCM_RIGHTS; the caller still owns them).  Only before any other output
 * is queued (the handshake): 0, or a SYNC_E* code and nothing was sent.
 */
int session_send_fd(struct session *s, const struct reply *rp,
                    const int *fds, int n_fds);

/* Write the queued replies now (uv_try_write, queueing what the kernel
 * does not take); aborts the session on backlog overflow. */
void session_flush(struct session *s);

#endif
