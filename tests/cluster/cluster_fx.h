/*
 * cluster_fx.h: two syncd agents ("hosts" A and B) on two sockets, both
 * with --cluster pointing at the 3-member etcd that etcd_cluster.sh
 * started for this test binary (SYNCD_ETCD_URLS).  Each test gets its own
 * agents and its own name prefix (cluster/<pid>/), so tests running in
 * parallel share etcd and nothing else.  The fini stops the agents with
 * SIGTERM and requires exit status 0 (unless a test killed one) and no
 * sanitizer report in their logs.
 */
#ifndef SYNCD_CLUSTER_FX_H
#define SYNCD_CLUSTER_FX_H

#include <stdbool.h>
#include <sys/types.h>

#include "daemon_fixture.h"
#include "syncclient.h"

#define CFX_AGENTS 2
#define CFX_TTL "3"

struct cluster_fx {
    char dir[64];
    char sock[CFX_AGENTS][128];
    char log[CFX_AGENTS][128];
    pid_t pid[CFX_AGENTS];
    bool killed[CFX_AGENTS];
    const char *urls;
    char prefix[48];
};

extern struct cluster_fx cfx;

/* .init: skip the test unless SYNCD_ETCD_URLS is set (run through
 * etcd_cluster.sh); start both agents. */
void cfx_init(void);
/* .fini: stop the agents, check them, remove the directory. */
void cfx_fini(void);
/* Start agent i (again) with --cluster urls, TTL CFX_TTL s. */
void cfx_start_agent(int i, const char *urls);
/* SIGKILL agent i and reap it. */
void cfx_kill_agent(int i);
/* A connection to agent i (asserts). */
sync_client *cfx_connect(int i);
/* Same, for a worker process (no cr_assert): NULL on failure. */
sync_client *cfx_connect_nofail(int i);
/* "cluster/<pid>/base" in a static buffer per call slot (4 slots). */
const char *cfx_name(const char *base);

#endif
