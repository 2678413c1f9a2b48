/*
 * output_metrics.c: the daemon's status in the Prometheus text exposition
 * format (version 0.0.4), as bgpctl's ometric output: every family has
 * its HELP and TYPE lines, names start with syncd_, counters end in
 * _total, label values are escaped.
 */
#include <stdio.h>

#include "output.h"

static void metric_family(const char *name, const char *type, const char *help)
{
    printf("# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void metric_u64(const char *name,
                       const char *type,
                       const char *help,
                       uint64_t v)
{
    metric_family(name, type, help);
    printf("%s %llu\n", name, (unsigned long long)v);
}

/* A label value: backslash, double quote and newline escaped. */
static void metric_label_value(const char *s)
{
    for (; s != NULL && *s != '\0'; s++) {
        if (*s == '\\' || *s == '"')
            printf("\\%c", *s);
        else if (*s == '\n')
            printf("\\n");
        else
            putchar(*s);
    }
}

static void metric_requests(const Syncd__Counters *c)
{
    const char *name;
    size_t i;

    metric_family("syncd_requests_total", "counter",
                  "Requests handled, by request type.");
    for (i = 0; i < c->n_requests_by_op; i++) {
        name = output_op_name(i);
        if (name == NULL && c->requests_by_op[i] == 0)
            continue;
        if (name != NULL)
            printf("syncd_requests_total{op=\"%s\"} %llu\n", name,
                   (unsigned long long)c->requests_by_op[i]);
        else
            printf("syncd_requests_total{op=\"op%zu\"} %llu\n", i,
                   (unsigned long long)c->requests_by_op[i]);
    }
}

static void metric_counters(const Syncd__Counters *c)
{
    metric_requests(c);
    metric_u64("syncd_sessions_total", "counter",
               "Client connections accepted.", c->sessions_total);
    metric_u64("syncd_acquisitions_total", "counter",
               "Successful acquires and waits.", c->acquisitions);
    metric_u64("syncd_timeouts_total", "counter", "Waits that timed out.",
               c->timeouts);
    metric_u64("syncd_owner_deaths_total", "counter",
               "Holds released because the holder went away.", c->owner_deaths);
    metric_u64("syncd_deadlocks_total", "counter",
               "Acquires refused because they would deadlock.", c->deadlocks);
    metric_u64("syncd_denied_total", "counter",
               "Requests refused by access control.", c->denied);
    metric_u64("syncd_protocol_errors_total", "counter",
               "Connections closed for bad input.", c->protocol_errors);
    metric_u64("syncd_cache_lends_total", "counter",
               "Locks lent to a client (lock caching).", c->cache_lends);
    metric_u64("syncd_cache_reclaims_total", "counter",
               "Lent locks taken back.", c->cache_reclaims);
}

/* The cluster backend (--cluster): etcd calls as a summary, leases. */
static void metric_cluster(const Syncd__Counters *c)
{
    metric_family("syncd_cluster_call_seconds", "summary",
                  "Unary calls to etcd's gateway and their time, retries "
                  "included.");
    printf("syncd_cluster_call_seconds_sum %.6f\n",
           (double)c->cluster_latency_us / 1e6);
    printf("syncd_cluster_call_seconds_count %llu\n",
           (unsigned long long)c->cluster_calls);
    metric_family("syncd_cluster_call_seconds_max", "gauge",
                  "The slowest etcd call since the daemon started.");
    printf("syncd_cluster_call_seconds_max %.6f\n",
           (double)c->cluster_latency_max_us / 1e6);
    metric_u64("syncd_cluster_call_errors_total", "counter",
               "etcd calls no member answered in time (or not as etcd).",
               c->cluster_errors);
    metric_u64("syncd_cluster_leases", "gauge",
               "Live etcd leases of client sessions.", c->cluster_leases);
    metric_u64("syncd_cluster_leases_lost_total", "counter",
               "Session leases given up or found expired (locks lost).",
               c->cluster_leases_lost);
}

static void metric_limits(const Syncd__Limits *l)
{
    static const char *const names[] = {
        "max_frame", "max_objects", "max_handles", "max_waits",
        "max_name",  "max_clients", "max_backlog",
    };
    const uint32_t v[] = {l->max_frame,  l->max_objects, l->max_handles,
                          l->max_waits,  l->max_name,    l->max_clients,
                          l->max_backlog};
    size_t i;

    metric_family("syncd_limit", "gauge",
                  "Configured resource limits of the daemon.");
    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        printf("syncd_limit{limit=\"%s\"} %u\n", names[i], v[i]);
}

static void metrics_status(const Syncd__StatusResult *st, const char *used,
                           const char *why)
{
    (void)used;
    (void)why;
    metric_family("syncd_info", "gauge", "The daemon's version and pid.");
    printf("syncd_info{version=\"");
    metric_label_value(st->server_version);
    printf("\",pid=\"%u\"} 1\n", st->pid);
    metric_family("syncd_uptime_seconds", "gauge",
                  "Seconds since the daemon started.");
    printf("syncd_uptime_seconds %.3f\n", (double)st->uptime_ms / 1000.0);
    metric_u64("syncd_clients", "gauge", "Connected clients.", st->clients);
    metric_u64("syncd_objects", "gauge", "Named objects.", st->objects);
    metric_u64("syncd_waiters", "gauge", "Pending waits.", st->waiters);
    if (st->counters != NULL)
        metric_counters(st->counters);
    if (st->counters != NULL && st->cluster != NULL && st->cluster[0] != '\0')
        metric_cluster(st->counters);
    if (st->limits != NULL)
        metric_limits(st->limits);
}

/* Only status has a metrics form; main() runs nothing else through it. */
const struct output metrics_output = {
    .status = metrics_status,
};
