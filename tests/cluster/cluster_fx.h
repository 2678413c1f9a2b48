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
/* The index of the agent cfx_start_lossy_agent starts, beside A and B. */
#define CFX_LOSSY CFX_AGENTS

struct cluster_fx {
    char dir[64];
    char sock[CFX_AGENTS + 1][128];
    char log[CFX_AGENTS + 1][128];
    pid_t pid[CFX_AGENTS + 1];
    bool killed[CFX_AGENTS + 1];
    pid_t proxy_pid;
    char proxy_log[128];
    const char *urls;
    const char *ttl; /* --cluster-ttl of the agents: CFX_TTL or "5" */
    char prefix[48];
};

extern struct cluster_fx cfx;

/* .init: skip the test unless SYNCD_ETCD_URLS is set (run through
 * etcd_cluster.sh); start both agents, with a lease TTL of CFX_TTL s
 * (short, so that the tests that wait for one are quick). */
void cfx_init(void);
/* The same with the default TTL (5 s), which outlasts a leader election
 * (about 2 s, longer on a loaded machine) by its documented margin. */
void cfx_init_default_ttl(void);
/* .fini: stop the agents, check them, remove the directory. */
void cfx_fini(void);
/* Start agent i (again) with --cluster urls and the suite's TTL. */
void cfx_start_agent(int i, const char *urls);
/*
 * A third agent (index CFX_LOSSY) whose first etcd member is reached
 * through tests/cluster/lossy_proxy.py: etcd applies the first txn whose
 * body holds both match strings, and its answer is lost; so are those of
 * the matching txns of the next drop_s seconds.  A match string that is
 * a gateway path ("/v3/lease/keepalive") picks those calls instead of
 * txns (match2 may be NULL); one of the form "A|B" is A or B.  The agent sends them again: to the other
 * members, or (alone) through the proxy only.
 * cfx_fini stops both.
 */
void cfx_start_lossy_agent(double drop_s, bool alone, const char *match1,
                           const char *match2);
/* A lossy agent (alone) whose keepalives' answers are lost for 2.7 s
 * from the first: at the suite's TTL (3 s) it gives its first lease up
 * 2.4 s after granting it, and a new lease's keepalives are answered. */
void cfx_start_keepalive_losing_agent(void);
/* Wait (asserts, 10 s at most) until that agent has given a lease up,
 * then until its drops are over. */
void cfx_await_lease_given_up(void);
/* Whether the proxy has dropped that answer. */
bool cfx_proxy_dropped(void);
/* SIGKILL agent i and reap it. */
void cfx_kill_agent(int i);
/* A connection to agent i (asserts). */
sync_client *cfx_connect(int i);
/* Same, for a worker process (no cr_assert): NULL on failure. */
sync_client *cfx_connect_nofail(int i);
/* "cluster/<pid>/base" in a static buffer per call slot (4 slots). */
const char *cfx_name(const char *base);

#endif
