/*
 * conf_on_cluster.h: forced (-include) before a conformance test source
 * (tests/conformance/test_conf_*.c) to run the same scenarios on cluster/
 * names: every object name the test opens becomes "cluster/<pid>/NAME"
 * (the pid of the test's process, so the tests running at once share the
 * etcd and nothing else), and the daemon of each test starts with
 * --cluster $SYNCD_ETCD_URLS (etcd_cluster.sh).  The scenarios stay
 * written once, for local names.
 */
#ifndef SYNCD_CONF_ON_CLUSTER_H
#define SYNCD_CONF_ON_CLUSTER_H

#include "daemon_fixture.h"
#include "syncclient.h"

/* NAME as the test's cluster name (NULL stays NULL); a ring of buffers. */
const char *conf_cluster_name(const char *name);
/* The suite's .init: skip unless beside etcd, start a --cluster daemon. */
void conf_cluster_fixture_init(void);

#define syncd_fixture_init conf_cluster_fixture_init
#define sync_lock_open(c, n, o) (sync_lock_open)(c, conf_cluster_name(n), o)
#define sync_rlock_open(c, n, o) (sync_rlock_open)(c, conf_cluster_name(n), o)
#define sync_event_open(c, n, o) (sync_event_open)(c, conf_cluster_name(n), o)
#define sync_sem_open(c, n, v, o)                                             \
    (sync_sem_open)(c, conf_cluster_name(n), v, o)
#define sync_bsem_open(c, n, v, o)                                            \
    (sync_bsem_open)(c, conf_cluster_name(n), v, o)
#define sync_sem_open_flags(c, n, v, b, f, o)                                 \
    (sync_sem_open_flags)(c, conf_cluster_name(n), v, b, f, o)
#define sync_cond_open(c, n, l, o)                                            \
    (sync_cond_open)(c, conf_cluster_name(n), conf_cluster_name(l), o)
#define sync_barrier_open(c, n, p, o)                                         \
    (sync_barrier_open)(c, conf_cluster_name(n), p, o)
#define sync_unlink(c, n) (sync_unlink)(c, conf_cluster_name(n))

#endif
