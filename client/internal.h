/*
 * internal.h: what the files of libsyncclient share.  Non-static names use
 * the sync__ prefix (libuv's uv__ rule); nothing here is public.
 */
#ifndef SYNC_CLIENT_INTERNAL_H
#define SYNC_CLIENT_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "frame.h"
#include "lockcache_page.h"
#include "syncclient.h"
#include "wire.h"

/* One request, in plain form (wire.c turns it into bytes); its op and
 * object type are proto/wire.h's. */
struct sync__request {
    enum wire_op op;
    uint32_t handle;
    int64_t timeout_us;
    uint32_t n;           /* release, notify */
    bool all;             /* notify; barrier wait: offers to run the
                             action; barrier action done: it failed */
    uint64_t thread;      /* acquire/release/cond: the caller's thread */
    uint32_t value;       /* open */
    uint32_t flags;       /* open: WIRE_OPEN_FLAG_* */
    uint32_t mode;        /* open: filled in from the client */
    enum wire_type type;  /* open */
    const char *name;     /* open/unlink/show object, borrowed */
    const char *lock_name; /* open of a condition, borrowed; NULL: own */
    uint32_t pid;         /* hello */
    uint32_t caps;        /* hello: WIRE_CAP_* offered */
    const uint8_t *client_id; /* hello: 16 bytes, borrowed; NULL: none */
    uint64_t token;       /* reclaim: the token held */
    bool no_retry;        /* not re-sent after a reconnect (it may have
                             happened: a semaphore release) */
    /* Called with the daemon's code under c->mu as its reply is
     * delivered, before the call counts as done (not when the connection
     * fails it): what a handle holds is counted there, so that a
     * reconnect's restore - on another thread, the watcher's - never
     * reads the count between a grant and its caller's bookkeeping. */
    void (*on_reply)(void *arg, int code);
    void *on_reply_arg;
    /* pin_gen: sent only on connection generation gen (what the caller
     * decided the request from, see sync__client_gen); after a reconnect
     * the call returns SYNC__ESTALE unsent, for the caller to decide
     * again from what the reconnect changed. */
    bool pin_gen;
    uint64_t gen;
    const char *client_name; /* hello, borrowed */
    const char *pattern;  /* list objects: glob, borrowed; NULL: all */
    const char *after_name; /* list objects: page start, borrowed */
    uint64_t after_id;    /* list clients: page start */
    uint32_t limit;       /* list objects, list clients: page size */
    uint32_t max_waiters; /* show object */
    uint64_t cancel_id;   /* cancel: the request whose wait to end */
    uint32_t depth;       /* cond wait: the levels it gives back, taken
                             again first when it is sent anew after a
                             reconnect */
};

/* What a reply carries besides its code. */
struct sync__result {
    uint32_t handle;        /* open */
    bool created;           /* open */
    uint64_t token;         /* acquire */
    bool owner_died;        /* acquire */
    int64_t index;          /* barrier wait */
    bool run_action;        /* barrier wait: this party runs the action */
    uint64_t cache;         /* acquire: lc_grant() of a lending, 0: none */
    int64_t value;          /* query */
    uint32_t n_waiting;     /* query */
    uint32_t parties;       /* query (barrier) */
    bool broken;            /* query (barrier) */
    uint32_t depth;         /* query (lock types): levels the caller holds */
    bool lock_held;         /* query (lock types): held by anyone */
    uint8_t *raw;           /* inspection: the reply's ServerMessage bytes
                               (owned by the caller: free()) */
    size_t raw_len;
    uint32_t max_frame;     /* hello */
    uint32_t version;       /* hello */
    uint32_t server_pid;    /* hello */
    uint32_t caps;          /* hello: WIRE_CAP_* granted */
    uint64_t epoch;         /* hello: the daemon's start epoch */
    uint32_t grace_ms;      /* hello: reclaim grace left */
};

/* A call in flight; lives on its caller's stack. */
struct sync__call {
    uint64_t id;
    const struct sync__request *req; /* its on_reply hook */
    uint64_t conn_seq;       /* the connection it was sent on */
    bool want_raw;           /* keep a copy of the reply's bytes */
    bool done;
    int code;
    struct sync__result result;
    pthread_cond_t cv;
    struct sync__call *next; /* in the client's list of calls in flight */
    /* Interruptible waits (intr.c): the calling thread's check, and
     * whether a Cancel for this call was sent. */
    bool (*intr)(void *arg);
    void *intr_arg;
    bool cancelled;
};

struct sync_client {
    int fd;                      /* owned; -1 once closed or forked */
    uint64_t conn_seq;           /* which connection fd is: one more at
                                    every reconnect (changed under mu and
                                    write_mu) */
    bool forked;                 /* this copy was inherited by fork() */
    pthread_mutex_t mu;          /* guards everything below but `reader` */
    pthread_mutex_t write_mu;    /* one frame written at a time */
    pthread_cond_t idle_cv;      /* signalled when calls drain (disconnect) */
    unsigned refs;               /* user's + one per open object */
    uint64_t next_id;
    unsigned create_mode;        /* for objects created by this client */
    bool open_existing;          /* opens never create (sync_set_open_existing) */
    bool reader_busy;            /* a caller thread is reading the socket */
    int dead;                    /* 0, or the code every call now gets */
    uint32_t caps;               /* WIRE_CAP_* the daemon granted
                                    (sync__client_has_cap) */
    uint64_t epoch;              /* the daemon's start epoch (Hello) */
    /* Reconnecting (reconnect.c). */
    char path[108];              /* the socket dialled */
    uint8_t client_id[16];       /* random: who reclaims (Hello) */
    bool reconnect_on;           /* reconnect when the connection drops */
    unsigned reconnect_ms;       /* for at most this long in all */
    bool closing;                /* sync_disconnect: never reconnect */
    bool reconnecting;           /* one thread re-dials and restores */
    pthread_t reconnector;       /* that thread (its calls pass) */
    pthread_cond_t reconn_cv;    /* reconnecting ended; reader left */
    pthread_t watcher;           /* watch.c: reconnects an idle client */
    bool watching;               /* the watcher runs (join it) */
    uint64_t gen;                /* connections so far - 1 */
    struct sync__object *objects; /* open handles, to re-open */
    /* Lock caching (cache.c): the page the daemon shares with this
     * connection, mapped once at the handshake (NULL: no caching), and the
     * descriptor that came with the HelloResult until it is mapped. */
    struct lc_slot *cache_page;  /* owned mapping; NULL: none */
    uint16_t cache_seq;          /* which mapping: a grant names it */
    int cache_fd;                /* received, not yet mapped; -1 */
    int cache_alive_fd;          /* the daemon's liveness page, too */
    const uint32_t *cache_alive; /* owned read-only mapping: its first
                                    word is the daemon's robust mutex */
    uint32_t cache_alive_word;   /* ... while the daemon lives */
    bool cache_fd_done;          /* later descriptors are closed */
    bool no_cache;               /* sync_set_lock_cache(c, false) */
    struct sync__cache_old *cache_old; /* owned: pages of earlier
                                    connections (a reconnect), unmapped
                                    only when c is freed: a thread may
                                    still be reading one */
    struct sync__call *calls;    /* in flight */
    struct frame_decoder reader; /* only touched by the reading thread */
    struct sync_client *next_all; /* in the process-wide list (fork) */
};

/* Common part of every object handle. */
struct sync__object {
    sync_client *client;  /* one reference held */
    uint32_t handle;      /* the same number after a reconnect */
    char name[SYNC_NAME_MAX + 1]; /* as opened, or generated (anonymous) */
    /* Reconnecting: how to open it again, and the list of c->objects
     * (under c->mu). */
    struct sync__request reopen;  /* name/lock_name point below */
    char lock_name[SYNC_NAME_MAX + 1];
    uint32_t lock_hash;   /* of sync__object_lock_name(): a cheap first
                             test when looking for a lock's handles */
    struct sync__lockable *lockable; /* this handle's, if lock-like */
    struct sync__permits *permits;   /* this handle's, if a semaphore
                                        opened with SYNC_SEM_UNDO */
    struct sync__object *next_obj, *prev_obj;
};

/* What a semaphore handle opened with SYNC_SEM_UNDO holds: what a
 * reconnect reclaims (the daemon gives such permits back when the client
 * goes, and keeps them across its own restart for the client). */
struct sync__permits {
    pthread_mutex_t mu;     /* guards held, lost */
    uint32_t held;          /* acquired through the handle, not released */
    uint32_t lost;          /* held, but a reconnect could not take them
                               back: a release of them returns SYNC_ELOST
                               and sends nothing (the daemon gave them
                               back already) */
};

/* What Lock, RLock and Condition handles share: the handle and the
 * results of the last acquisition through it. */
struct sync__lockable {
    struct sync__object o;
    pthread_mutex_t mu;     /* guards token, owner_died, levels, lost */
    uint64_t token;
    bool owner_died;
    uint32_t levels;        /* held through this handle (all threads):
                               what a reconnect reclaims */
    bool lost;              /* a reclaim was refused (sync_lock_owner_lost),
                               until the next acquire */
    uint32_t lost_levels;   /* levels a reconnect could not reclaim: a
                               release with no live level left returns
                               SYNC_ELOST for each (a later acquire does
                               not clear them: its own release is
                               balanced by its own level) */
    uint32_t cond_wait_levels; /* levels the condition waits in flight
                               through this handle gave back: counted in
                               `levels` of this or another handle on the
                               same lock, but the daemon holds them for
                               nobody while the waits wait */
    bool recursive;         /* an RLock */
    /* atomic: the daemon lent the lock with the last grant through this
     * handle: lc_grant() | cache_seq << 48; 0: not lent (cache.c) */
    uint64_t cache;
};

/* Open name as a lock-like object (open->type) into a new *out. */
int sync__lockable_open(sync_client *c, const struct sync__request *open,
                        struct sync__lockable **out);
int sync__lockable_acquire(struct sync__lockable *l, bool blocking,
                           double timeout);
int sync__lockable_release(struct sync__lockable *l);
/* The lock-caching fast path alone (no message, never blocks): 0 done,
 * 1 not possible here, SYNC_EINVAL for NULL. */
int sync__lockable_acquire_local(struct sync__lockable *l);
int sync__lockable_release_local(struct sync__lockable *l);
int sync__lockable_locked(struct sync__lockable *l);
int sync__lockable_owner_died(struct sync__lockable *l);
/* From one query: the levels the calling thread holds (for a Lock, 1 when
 * its client holds it), and whether anyone holds the lock. */
int sync__lockable_depth(struct sync__lockable *l);
int sync__lockable_is_owned(struct sync__lockable *l); /* depth > 0 */
int sync__lockable_held(struct sync__lockable *l);
uint64_t sync__lockable_token(struct sync__lockable *l);
void sync__lockable_close(struct sync__lockable *l);
/* Record an acquisition's results. */
void sync__lockable_note(struct sync__lockable *l,
                         const struct sync__result *res);

/* The capabilities libsyncclient offers in its Hello (WIRE_CAP_*): each
 * feature adds its bit when its client side exists. */
#define SYNC__CAPS_OFFERED                                                    \
    (WIRE_CAP_OWNERSHIP | WIRE_CAP_BARRIER_ACTION | WIRE_CAP_CLUSTER |        \
     WIRE_CAP_RECLAIM | WIRE_CAP_LOCK_CACHE)

/* Whether the daemon granted capability `cap` (a WIRE_CAP_* bit) on c's
 * connection: the one place every feature asks. */
static inline bool sync__client_has_cap(const sync_client *c, uint32_t cap)
{
    return (__atomic_load_n(&c->caps, __ATOMIC_RELAXED) & cap) == cap;
}

/* Record a successful acquire (+1) or release (-1) through l. */
void sync__lockable_count(struct sync__lockable *l, int delta);
/* Whether a reclaim of l was refused after a reconnect (owner lost). */
int sync__lockable_owner_lost(struct sync__lockable *l);
/* How many of the permits held through the undo handle s a reconnect could
 * not take back (0 for a handle without SYNC_SEM_UNDO): syncctl sem's
 * "is my permit still mine" after a daemon restart. */
uint32_t sync__sem_permits_lost(sync_sem *s);

/* ---- reconnect.c ---- */
/* Fill c's reconnect settings (opts NULL: defaults and environment) and
 * its random client id. */
void sync__reconnect_init(sync_client *c,
                          const struct sync_connect_opts *opts);
/*
 * req failed with rv (SYNC_ECONN, or SYNC_ESHUTDOWN for a wait) on
 * connection generation gen, started at t0_us: reconnect (once for all
 * threads), restore handles and holds, and send req again with what is
 * left of its timeout.  Returns the final code: rv when no reconnect is
 * wanted or possible.
 */
int sync__reconnect_retry(sync_client *c, const struct sync__request *req,
                          struct sync__result *res, int rv, uint64_t gen,
                          int64_t t0_us);
/* Reconnect c, whose connection generation gen failed, unless another
 * thread already did: re-dial, restore handles and holds.  0 when a new
 * connection is up. */
int sync__reconnect(sync_client *c, uint64_t gen);
/* Monotonic clock in microseconds. */
int64_t sync__now_us(void);

/* ---- watch.c ---- */
/* Start c's watcher thread when c reconnects (0, or SYNC_ENOMEM). */
int sync__watch_start(sync_client *c);
/* Join it (c->closing set and the socket shut down first). */
void sync__watch_stop(sync_client *c);

/* ---- client.c, for reconnect.c ---- */
/* One send and wait on the current connection; *gen gets the
 * connection's generation. */
int sync__call_once(sync_client *c, const struct sync__request *req,
                    struct sync__result *res, uint64_t *gen);
/* Dial path (and check the peer): 0 and *fd, or SYNC_E*. */
int sync__dial(const char *path, int *fd);
/* Hello (version 2, capabilities, client id) on the current connection. */
int sync__handshake(sync_client *c);
/* Mark the connection dead: every call in flight gets code. */
void sync__client_fail(sync_client *c, int code);
/* Add o to / remove it from c's open objects (reconnect re-opens them). */
void sync__objects_add(sync_client *c, struct sync__object *o);
void sync__objects_remove(sync_client *c, struct sync__object *o);
/* ---- lock caching (cache.c; docs/lock-caching.md) ---- */

/* Acquire l in the shared page when its word lets us (one CAS): 0 done
 * (token and owner_died noted), 1 ask the daemon. */
int sync__cache_acquire(struct sync__lockable *l);
/* Release l in the page: 0 done, SYNC_EPERM (not held by the caller), 1
 * ask the daemon. */
int sync__cache_release(struct sync__lockable *l);
/* Answer a query of l from the page: 0 with *held and *depth (the
 * caller's levels) filled, 1 ask the daemon. */
int sync__cache_query(struct sync__lockable *l, bool *held, uint32_t *depth);
/* Note what an acquire's reply says about lending (res->cache). */
void sync__cache_note(struct sync__lockable *l, uint64_t grant);
/* After the handshake: map the pages that came with it (granted: the
 * daemon, whose pid is server_pid, granted WIRE_CAP_LOCK_CACHE); else
 * drop what came. */
void sync__cache_attach(sync_client *c, bool granted, uint32_t server_pid);
/* client_free: unmap. */
void sync__cache_detach(sync_client *c);
/* Whether this process offers lock caching (SYNCD_CACHE=0 turns it off). */
bool sync__cache_wanted(void);

/* Send req and wait for its reply.  Returns the reply's code. */
int sync__call(sync_client *c, const struct sync__request *req,
               struct sync__result *res);

/* Encode req (with id) as one frame into buf (cap bytes); returns its
 * length, or 0 if it does not fit. */
size_t sync__wire_encode(const struct sync__request *req, uint64_t id,
                         uint8_t *buf, size_t cap);
/* Bytes sync__wire_encode needs. */
size_t sync__wire_size(const struct sync__request *req, uint64_t id);

/* A decoded server frame. */
struct sync__incoming {
    bool is_reply;        /* false: a notice, to be ignored */
    uint64_t id;
    int code;
    struct sync__result result;
};
/* Whether op's reply must be kept raw (inspection). */
bool sync__wire_raw_reply(enum wire_op op);
/* Decode one frame's payload; 0 or SYNC_EPROTO. */
int sync__wire_decode(const uint8_t *p, size_t n, struct sync__incoming *in);

/* Open name as type through c; fills o.  SYNC_E* on failure. */
int sync__object_open(sync_client *c, const struct sync__request *open,
                      struct sync__object *o);
/* Close o's handle on the daemon (best effort) and drop the client ref. */
void sync__object_close(struct sync__object *o);
/* Simple request on o's handle returning only a code. */
int sync__object_simple(struct sync__object *o, enum wire_op op);
/* The name of the lock o's levels are of: a condition's lock, else o's
 * own name. */
const char *sync__object_lock_name(const struct sync__object *o);
/* A hash of a name, for sync__object.lock_hash. */
uint32_t sync__name_hash(const char *name);
/* Query o's state; 0 or <0 error. */
int sync__object_query(struct sync__object *o, struct sync__result *res);
/* Send a request with o's handle and the calling thread's id. */
int sync__object_call(struct sync__object *o, struct sync__request *req,
                      struct sync__result *res);
/* The calling thread's id, as the daemon knows it. */
uint64_t sync__thread_id(void);
/* In a fork child: the calling thread has a new id (client.c's handler). */
void sync__thread_id_forget(void);
/* Convert (blocking, timeout seconds) to the wire's timeout_us. */
int sync__timeout_us(bool blocking, double timeout, int64_t *out);

/* How often a thread waiting for another's read looks at its interrupt
 * check (a signal does not end a condition variable wait). */
#define SYNC__INTR_POLL_MS 20

/* A pin_gen request not sent: a reconnect came first.  Never returned by
 * the public API. */
#define SYNC__ESTALE (-100000)

/* The connection generation, once no reconnect is under way (the caller's
 * own, if it is the reconnector). */
uint64_t sync__client_gen(sync_client *c);

/* Set up call's interrupt check from the calling thread's (for ops that
 * can wait; intr.c). */
void sync__intr_attach(struct sync__call *call,
                       const struct sync__request *req);
/* A signal interrupted the wait for call, or a follower's poll interval
 * passed: ask the check, and send a Cancel when it says so.  Called
 * without c->mu. */
void sync__intr_poll(sync_client *c, struct sync__call *call);
/* The code a finished call returns: SYNC_EINTR for a cancelled wait that
 * ended without its grant. */
int sync__intr_code(const struct sync__call *call, enum wire_op op);
/* Write one frame on c's connection; 0 or non-zero (client.c). */
int sync__write_frame(sync_client *c, const uint8_t *p, size_t n);

/* Drop one reference to c; frees it with the last one. */
void sync__client_rele(sync_client *c);

#endif
