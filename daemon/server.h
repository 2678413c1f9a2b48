/*
 * server.h: the listening socket, the list of sessions, and the state all
 * sessions share (registry, deadlines, limits, counters).  Shutdown has one
 * place to finish: server_maybe_finish().
 */
#ifndef SYNCD_SERVER_H
#define SYNCD_SERVER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/un.h>
#include <uv.h>

#include "deadline.h"
#include "syncd_limits.h"
#include "list.h"
#include "registry.h"

#define SERVER_READ_BUF_SIZE (64 * 1024)

struct cluster;
struct session_handler;
struct store;
struct grace;

struct server_stats {
    uint64_t requests;        /* requests handled */
    uint64_t sessions_total;  /* sessions ever accepted */
    uint64_t owner_deaths;    /* locks released because their holder left */
    uint64_t timeouts;        /* waits that timed out */
    uint64_t protocol_errors; /* sessions closed for bad input */
    uint64_t deadlocks;       /* acquires refused with SYNC_EDEADLK */
    uint64_t cache_lends;     /* locks lent to a client (lock caching) */
    uint64_t cache_reclaims;  /* lent locks taken back */
    uint64_t acquisitions;    /* successful acquires and waits */
    uint64_t denied;          /* requests refused by access control */
    uint64_t requests_by_op[32]; /* by enum wire_op */
};

struct server {
    uv_loop_t *loop;               /* borrowed (owner: main) */
    uv_pipe_t listener;            /* embedded */
    struct deadlines deadlines;    /* embedded, owns its timer */
    struct registry registry;      /* embedded */
    struct store *store;           /* borrowed (owner: main); NULL: the
                                      state lives in memory only */
    struct cluster *cluster;       /* owned (cluster_start/_stop); NULL:
                                      no --cluster */
    struct grace *grace;           /* borrowed (owner: main); NULL: no
                                      holds to reclaim (in memory) */
    const char *state_dir;         /* borrowed (config); NULL: in memory */
    struct syncd_limits limits;
    bool lock_cache_off;           /* config lock-cache = off: lend nothing */
    struct lockcache_alive *cache_alive; /* owned: the page that tells
                                    clients the daemon lives (lockcache.c);
                                    NULL until the first one is sent */
    const struct session_handler *handler; /* borrowed (static) */
    struct list_node sessions;     /* struct session.link, owned */
    struct session *by_id;         /* uthash over the same sessions */
    uint32_t n_sessions;
    uint32_t sessions_peak;       /* since the last malloc_trim */
    uint32_t n_waiters;            /* pending waits of all sessions */
    uint64_t next_session_id;
    struct list_node dirty;        /* sessions with replies to flush */
    uv_check_t flusher;            /* flushes them after I/O callbacks */
    uv_prepare_t flusher_pre;      /* ... and after timers, before poll */
    bool flusher_open;
    bool flusher_pre_open;
    struct list_node free_pending; /* the handler's recycled waits */
    uint32_t n_free_pending;
    struct server_stats stats;
    uint64_t started_ms;
    unsigned socket_mode;
    /* A connection no session could be allocated for is accepted into
     * this spare handle, told SYNC_ENOMEM (a frame encoded at start-up)
     * and closed: libuv stops accepting until a pending connection is
     * taken, so it must never be left in the backlog. */
    uv_pipe_t refuse_pipe;
    bool refuse_busy;              /* refuse_pipe is closing */
    bool refuse_waiting;           /* another waits for refuse_pipe */
    uint8_t enomem_frame[64];
    size_t enomem_len;
    bool listening;                /* listener open */
    bool timer_open;               /* deadline timer open */
    bool closing;
    void (*on_finish)(struct server *srv); /* borrowed: called once */
    char socket_path[sizeof(((struct sockaddr_un *)0)->sun_path)]; /* ours
                                      to unlink; empty when inherited */
    char activated_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    /* Shared by every session: the loop is single-threaded and each
     * read_cb consumes its buffer before the next alloc_cb. */
    char read_buf[SERVER_READ_BUF_SIZE];
};

/* Accept the pending connection only to answer SYNC_ENOMEM and close it
 * (no memory for a session). */
void server_refuse_connection(struct server *srv);

/* Initialise srv on loop with the given limits; sessions hand their
 * requests to handler.  0, or a SYNC_E* code after closing what it had
 * opened (the handles finish closing when the loop next runs). */
int server_init(struct server *srv, uv_loop_t *loop,
                const struct syncd_limits *limits,
                const struct session_handler *handler);

/*
 * Listen on path: refuse (SYNC_EEXIST) when a live daemon answers there,
 * remove a stale socket file, bind with mode (through the umask, so the
 * file never exists with other permissions), listen.  Logs the cause of
 * any failure; returns 0, SYNC_EEXIST, SYNC_EINVAL, SYNC_EPERM, SYNC_ENOMEM
 * or SYNC_EINTERNAL.
 */
int server_listen(struct server *srv, const char *path, unsigned mode);

/*
 * Listen on an inherited, already listening socket (systemd socket
 * activation).  Its file belongs to systemd: shutdown leaves it alone.
 * 0 or SYNC_EINTERNAL.
 */
int server_listen_fd(struct server *srv, int fd);

/* Set the socket file's owner/group (-1: unchanged).  0 or SYNC_EPERM. */
int server_chown_socket(struct server *srv, long uid, long gid);

/*
 * Apply new limits at once (SIGHUP): to new and existing sessions alike.
 * Nothing already granted is taken back; a lowered limit only refuses
 * what comes next.
 */
void server_set_limits(struct server *srv, const struct syncd_limits *l);

/*
 * Begin graceful shutdown: stop accepting, remove the socket file, answer
 * every waiter with SYNC_ESHUTDOWN and close every session.  on_finish runs
 * once everything is closed.  Idempotent.
 */
void server_shutdown(struct server *srv);

/* Called whenever a handle closes; fires on_finish once all are gone. */
void server_maybe_finish(struct server *srv);

/* The live session with this id, or NULL. */
struct session *server_find_session(struct server *srv, uint64_t id);

/* Free what is left after the loop has stopped. */
void server_fini(struct server *srv);

#endif
