/*
 * inspect.h: read-only views of the daemon for syncctl (status, objects,
 * one object in full, clients), as plain structs the codec encodes.  Every
 * string is borrowed from a live object or session and valid only until
 * the loop runs again: build, send, free in one go.
 */
#ifndef SYNCD_INSPECT_H
#define SYNCD_INSPECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "objects/object.h"
#include "syncd_limits.h"

struct session;

/* Default and largest page of ls/clients, so a reply fits in a frame. */
#define INSPECT_PAGE 100
#define INSPECT_MAX_WAITERS 200

struct party_info {
    uint64_t session_id;
    uint32_t pid, uid;
    const char *client_name;
    uint64_t thread;
    uint64_t for_ms;
    uint64_t token;
    uint32_t depth;
    const char *host;           /* cluster/ objects: the party's agent's
                                   host; NULL for local ones */
    uint32_t agent_pid;         /*   ... and that agent's pid */
};

struct object_info {
    const char *name;
    enum object_type type;
    int64_t value;
    uint32_t n_waiting, parties, bound, handles, uid, gid, mode;
    bool broken;
    const char *lock_name;      /* condition's named lock, or NULL */
    uint64_t tokens;
    uint32_t cached;            /* locks: 0 not lent, 1 lent and free
                                   there, 2 lent and held there */
    uint32_t cached_pid;        /* the client it is lent to */
    struct party_info *holders; /* owned */
    size_t n_holders;
    struct party_info *waiters; /* owned */
    size_t n_waiters;
};

struct client_info {
    uint64_t session_id;
    uint32_t pid, uid, gid;
    const char *client_name;
    uint64_t connected_ms;
    uint32_t handles, held, waiting;
    uint64_t cluster_lease;     /* its etcd lease, 0 when none */
    uint32_t cluster_held;      /* cluster/ locks it holds */
};

#define INSPECT_N_OPS 32

struct status_info {
    uint32_t pid;
    uint64_t uptime_ms;
    const char *socket;
    uint32_t clients, objects, waiters;
    struct syncd_limits limits;
    uint64_t requests, sessions_total, acquisitions, timeouts, owner_deaths,
        deadlocks, protocol_errors, denied, cache_lends, cache_reclaims;
    uint64_t requests_by_op[INSPECT_N_OPS];
    const char *cluster;        /* etcd URLs, NULL without --cluster */
    uint64_t cluster_calls, cluster_errors, cluster_latency_us,
        cluster_latency_max_us, cluster_leases_lost;
    uint32_t cluster_leases;
    const char *state_dir;      /* NULL: in memory */
    uint64_t epoch;
    const char *fsync;          /* NULL: in memory */
    uint32_t grace_ms_left, grace_holds, grace_permits;
};

struct object_list {
    struct object_info *v;      /* owned */
    size_t n;
    bool more;
    const char *cluster_error;  /* why cluster/ objects are missing, or
                                   NULL (borrowed) */
};

struct client_list {
    struct client_info *v;      /* owned */
    size_t n;
    bool more;
};

void inspect_status(struct session *s, struct status_info *out);

/*
 * Objects s may read whose name matches the glob pattern (NULL: all),
 * sorted by name, after `after` (NULL: from the start), at most limit.
 * 0 or SYNC_ENOMEM.
 */
int inspect_list(struct session *s, const char *pattern, const char *after,
                 uint32_t limit, struct object_list *out);

/* One object with holders and up to max_waiters waiters.  0, SYNC_ENOENT
 * (also when s may not read it), SYNC_ENOMEM. */
int inspect_show(struct session *s, const char *name, uint32_t max_waiters,
                 struct object_info *out);

/* Sessions with id > after, at most limit.  0 or SYNC_ENOMEM. */
int inspect_clients(struct session *s, uint64_t after, uint32_t limit,
                    struct client_list *out);

void inspect_object_fini(struct object_info *o);
void inspect_list_fini(struct object_list *l);
void inspect_clients_fini(struct client_list *l);

#endif
