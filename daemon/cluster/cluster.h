/*
 * cluster.h: objects whose names begin with "cluster/" live in etcd, with
 * this daemon as the agent of its local clients.  dispatch_request asks
 * cluster_takes() once per request; everything the backend does happens
 * behind cluster_request() and answers through session_send.
 */
#ifndef SYNCD_CLUSTER_H
#define SYNCD_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cluster/etcd.h"

struct client_info;
struct cluster;
struct request;
struct server;
struct session;
struct status_info;

#define CLUSTER_PREFIX "cluster/"
#define CLUSTER_PREFIX_LEN 8
/* Cluster handles carry this bit, so one handle space serves both. */
#define CLUSTER_HANDLE_BIT 0x40000000u

struct cluster_config {
    const char *urls;        /* "http://h:p,..." */
    unsigned ttl_s;          /* session lease TTL */
    struct etcd_tls tls;
};

struct cluster_stats {
    uint64_t requests;       /* etcd jobs run */
    uint64_t errors;         /* jobs that found etcd unavailable */
    uint64_t latency_ms_sum; /* their total time */
    uint64_t leases_lost;    /* sessions whose lease ended under them */
};

static inline bool cluster_name(const char *name, size_t len)
{
    return len >= CLUSTER_PREFIX_LEN &&
           memcmp(name, CLUSTER_PREFIX, CLUSTER_PREFIX_LEN) == 0;
}

/*
 * Start the backend on srv's loop (srv->cluster is set).  0, or
 * SYNC_EINVAL (bad URLs: why says what), SYNC_ENOMEM, SYNC_EINTERNAL.
 */
int cluster_start(struct server *srv, const struct cluster_config *cfg,
                  const char **why);
/*
 * The server has finished: wait for the worker threads still running (a
 * lease revoke of a client that left), close the loop handles, free the
 * backend, then call done(arg).
 */
void cluster_stop(struct cluster *cl, void (*done)(void *arg), void *arg);

/* Whether rq is the cluster backend's (a cluster/ name, handle or wait). */
bool cluster_takes(struct session *s, const struct request *rq);
/* Serve rq (cluster_takes said so). */
void cluster_request(struct session *s, const struct request *rq);
/* ---- syncctl's views (cluster_inspect.c) ---- */
/* `show NAME` of a cluster/ name: answered once etcd was read. */
void cluster_inspect_show(struct session *s, const struct request *rq);
/* `ls`: true when cluster/ names may match (the reply, local and cluster
 * objects merged, is then sent once etcd was read); false: list locally. */
bool cluster_inspect_list(struct session *s, const struct request *rq);
/* status: the backend's URLs and counters (cl NULL: leaves st alone). */
void cluster_inspect_status(struct cluster *cl, struct status_info *st);
/* clients: s's lease and the cluster locks it holds. */
void cluster_inspect_client(const struct session *s, struct client_info *c);

/* s is closing: drop its waits, revoke its lease (its holds go to the
 * next contender at once, with owner-died). */
void cluster_session_closing(struct session *s);

#endif
