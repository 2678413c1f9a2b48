/*
 * output_json.c: the machine back end, built with jansson (which escapes
 * strings correctly) and printed as one indented JSON document.  Field
 * names follow proto/syncd.proto; durations stay in milliseconds.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"

static void json_print(json_t *root)
{
    if (root == NULL || json_dumpf(root, stdout, JSON_INDENT(2)) != 0)
        fprintf(stderr, "syncctl: cannot build JSON output\n");
    else
        putchar('\n');
    json_decref(root);
}

static json_t *json_u64(uint64_t v)
{
    return json_integer((json_int_t)v);
}

/*
 * Names are bytes on the wire and command names come from other processes;
 * the daemon admits only UTF-8 names, but a JSON string must never carry
 * anything else, so any other bytes become '?'.
 */
static json_t *json_text(const char *p, size_t n)
{
    json_t *s = json_stringn(p != NULL ? p : "", p != NULL ? n : 0);
    char *copy;
    size_t i;

    if (s != NULL)
        return s;
    copy = malloc(n + 1);
    if (copy == NULL)
        return NULL;
    for (i = 0; i < n; i++)
        copy[i] = (unsigned char)p[i] < 0x80 ? p[i] : '?';
    s = json_stringn(copy, n);
    free(copy);
    return s;
}

static json_t *json_bytes(const ProtobufCBinaryData *b)
{
    return json_text((const char *)b->data, b->len);
}

static json_t *json_str(const char *s)
{
    return json_text(s, s != NULL ? strlen(s) : 0);
}

static json_t *json_party(const Syncd__Party *p, int type, bool holder)
{
    json_t *j = json_object();

    json_object_set_new(j, "session_id", json_u64(p->session_id));
    json_object_set_new(j, "pid", json_integer(p->pid));
    json_object_set_new(j, "uid", json_integer(p->uid));
    json_object_set_new(j, "command", json_str(p->client_name));
    /* A cluster/ object's party: which agent (host) serves it. */
    if (p->host != NULL && p->host[0] != '\0') {
        json_object_set_new(j, "host", json_str(p->host));
        json_object_set_new(j, "agent_pid", json_integer(p->agent_pid));
    }
    if (holder && output_is_sem(type)) {
        json_object_set_new(j, "permits", json_integer(p->depth));
        return j;
    }
    json_object_set_new(j, "thread", json_u64(p->thread));
    json_object_set_new(j, holder ? "held_ms" : "waited_ms",
                        json_u64(p->for_ms));
    if (holder) {
        json_object_set_new(j, "fencing_token", json_u64(p->fencing_token));
        json_object_set_new(j, "depth", json_integer(p->depth));
    }
    return j;
}

static json_t *json_parties(Syncd__Party *const *v,
                            size_t n,
                            int type,
                            bool holder)
{
    json_t *a = json_array();
    size_t i;

    for (i = 0; i < n; i++)
        json_array_append_new(a, json_party(v[i], type, holder));
    return a;
}

static json_t *json_info(const Syncd__ObjectInfo *o, bool full)
{
    json_t *j = json_object();
    char state[64];

    output_state(o, state, sizeof(state));
    json_object_set_new(j, "name", json_bytes(&o->name));
    json_object_set_new(j, "type", json_string(output_type_name(o->type)));
    json_object_set_new(j, "state", json_string(state));
    json_object_set_new(j, "value", json_integer(o->value));
    json_object_set_new(j, "n_waiting", json_integer(o->n_waiting));
    if (o->type == SYNCD__OBJECT_TYPE__BARRIER) {
        json_object_set_new(j, "parties", json_integer(o->parties));
        json_object_set_new(j, "broken", json_boolean(o->broken));
    }
    if (o->type == SYNCD__OBJECT_TYPE__BOUNDED_SEMAPHORE)
        json_object_set_new(j, "bound", json_integer(o->bound));
    if (o->type == SYNCD__OBJECT_TYPE__CONDITION)
        json_object_set_new(j, "lock_name", json_bytes(&o->lock_name));
    if (output_is_lockish(o->type)) {
        json_object_set_new(j, "tokens", json_u64(o->tokens));
        /* Lock caching: "held" or "free" in the client it is lent to. */
        if (o->cached != 0) {
            json_object_set_new(j, "cached",
                                json_string(o->cached == 2 ? "held" : "free"));
            json_object_set_new(j, "cached_pid", json_integer(o->cached_pid));
        }
    }
    json_object_set_new(j, "handles", json_integer(o->handles));
    json_object_set_new(j, "uid", json_integer(o->uid));
    json_object_set_new(j, "gid", json_integer(o->gid));
    {
        char mode[8];

        /* Octal, as the text output and chmod(1) write it: "0660". */
        snprintf(mode, sizeof(mode), "%04o", o->mode & 07777u);
        json_object_set_new(j, "mode", json_string(mode));
    }
    json_object_set_new(j, "holders",
                        json_parties(o->holders, o->n_holders, o->type, true));
    if (full)
        json_object_set_new(
            j, "waiters",
            json_parties(o->waiters, o->n_waiters, o->type, false));
    return j;
}

static json_t *json_counters(const Syncd__Counters *c)
{
    json_t *j = json_object(), *by = json_object();
    char other[32];
    const char *name;
    size_t i;

    json_object_set_new(j, "requests", json_u64(c->requests));
    json_object_set_new(j, "sessions_total", json_u64(c->sessions_total));
    json_object_set_new(j, "acquisitions", json_u64(c->acquisitions));
    json_object_set_new(j, "timeouts", json_u64(c->timeouts));
    json_object_set_new(j, "owner_deaths", json_u64(c->owner_deaths));
    json_object_set_new(j, "deadlocks", json_u64(c->deadlocks));
    json_object_set_new(j, "protocol_errors", json_u64(c->protocol_errors));
    json_object_set_new(j, "denied", json_u64(c->denied));
    json_object_set_new(j, "cache_lends", json_u64(c->cache_lends));
    json_object_set_new(j, "cache_reclaims", json_u64(c->cache_reclaims));
    for (i = 0; i < c->n_requests_by_op; i++) {
        name = output_op_name(i);
        if (name == NULL && c->requests_by_op[i] == 0)
            continue;
        if (name == NULL) {
            snprintf(other, sizeof(other), "op%zu", i);
            name = other;
        }
        json_object_set_new(by, name, json_u64(c->requests_by_op[i]));
    }
    json_object_set_new(j, "requests_by_op", by);
    return j;
}

/* The cluster backend's part of status (only with --cluster). */
static json_t *json_cluster(const Syncd__StatusResult *st)
{
    const Syncd__Counters *c = st->counters;
    json_t *j = json_object();

    json_object_set_new(j, "etcd", json_str(st->cluster));
    if (c == NULL)
        return j;
    json_object_set_new(j, "calls", json_u64(c->cluster_calls));
    json_object_set_new(j, "errors", json_u64(c->cluster_errors));
    json_object_set_new(j, "latency_us", json_u64(c->cluster_latency_us));
    json_object_set_new(j, "latency_mean_us",
                        json_u64(c->cluster_calls
                                     ? c->cluster_latency_us / c->cluster_calls
                                     : 0));
    json_object_set_new(j, "latency_max_us",
                        json_u64(c->cluster_latency_max_us));
    json_object_set_new(j, "leases", json_integer(c->cluster_leases));
    json_object_set_new(j, "leases_lost", json_u64(c->cluster_leases_lost));
    return j;
}

/* Key, value pairs, one per line. */
/* clang-format off */
static json_t *json_limits(const Syncd__Limits *l)
{
    return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
                     "max_frame", (json_int_t)l->max_frame,
                     "max_objects", (json_int_t)l->max_objects,
                     "max_handles", (json_int_t)l->max_handles,
                     "max_waits", (json_int_t)l->max_waits,
                     "max_name", (json_int_t)l->max_name,
                     "max_clients", (json_int_t)l->max_clients,
                     "max_backlog", (json_int_t)l->max_backlog);
}
/* clang-format on */

static void json_status(const Syncd__StatusResult *st, const char *used,
                        const char *why)
{
    json_t *j = json_object();

    json_object_set_new(j, "version", json_str(st->server_version));
    json_object_set_new(j, "pid", json_integer(st->pid));
    json_object_set_new(j, "uptime_ms", json_u64(st->uptime_ms));
    json_object_set_new(j, "socket", json_str(st->socket));
    json_object_set_new(j, "connected_to", json_string(used));
    json_object_set_new(j, "connected_because", json_string(why));
    json_object_set_new(j, "clients", json_integer(st->clients));
    json_object_set_new(j, "objects", json_integer(st->objects));
    json_object_set_new(j, "waiters", json_integer(st->waiters));
    /* null: in memory. */
    json_object_set_new(j, "state",
                        st->state_dir != NULL && st->state_dir[0] != '\0'
                            ? json_pack("{s:o, s:o, s:o}", "dir",
                                        json_str(st->state_dir), "epoch",
                                        json_u64(st->epoch), "fsync",
                                        json_str(st->fsync))
                            : json_null());
    json_object_set_new(j, "grace",
                        st->grace_ms_left > 0
                            ? json_pack("{s:I, s:I, s:I}", "ms_left",
                                        (json_int_t)st->grace_ms_left,
                                        "holds", (json_int_t)st->grace_holds,
                                        "undo_permits",
                                        (json_int_t)st->grace_permits)
                            : json_null());
    if (st->limits != NULL)
        json_object_set_new(j, "limits", json_limits(st->limits));
    if (st->counters != NULL)
        json_object_set_new(j, "counters", json_counters(st->counters));
    if (st->cluster != NULL && st->cluster[0] != '\0')
        json_object_set_new(j, "cluster", json_cluster(st));
    json_print(j);
}

static void json_objects(Syncd__ObjectInfo *const *v, size_t n,
                         const char *cluster_error)
{
    json_t *a = json_array(), *root;
    size_t i;

    for (i = 0; i < n; i++)
        json_array_append_new(a, json_info(v[i], false));
    root = json_pack("{s:o}", "objects", a);
    if (cluster_error != NULL)
        json_object_set_new(root, "cluster_error", json_str(cluster_error));
    json_print(root);
}

static void json_object_out(const Syncd__ObjectInfo *o)
{
    json_print(json_info(o, true));
}

/* Key, value pairs, one per line. */
/* clang-format off */
static json_t *json_client(const Syncd__ClientInfo *c)
{
    return json_pack("{s:I, s:I, s:I, s:I, s:o, s:I, s:I, s:I, s:I, s:I, "
                     "s:I}",
                     "session_id", (json_int_t)c->session_id,
                     "pid", (json_int_t)c->pid, "uid", (json_int_t)c->uid,
                     "gid", (json_int_t)c->gid,
                     "command", json_str(c->client_name),
                     "connected_ms", (json_int_t)c->connected_ms,
                     "handles", (json_int_t)c->handles,
                     "held", (json_int_t)c->held,
                     "waiting", (json_int_t)c->waiting,
                     "cluster_lease", (json_int_t)c->cluster_lease,
                     "cluster_held", (json_int_t)c->cluster_held);
}
/* clang-format on */

static void json_clients(Syncd__ClientInfo *const *v, size_t n)
{
    json_t *a = json_array();
    size_t i;

    for (i = 0; i < n; i++)
        json_array_append_new(a, json_client(v[i]));
    json_print(json_pack("{s:o}", "clients", a));
}

static void json_barrier(const char *name, long index)
{
    json_print(json_pack("{s:o, s:I}", "name", json_str(name), "index",
                         (json_int_t)index));
}

static void json_event(const char *name, bool set)
{
    json_print(json_pack("{s:o, s:b}", "name", json_str(name), "set", set));
}

static void json_sem_value(const char *name, bool bounded, int value)
{
    json_print(json_pack("{s:o, s:s, s:i}", "name", json_str(name), "type",
                         bounded ? "bounded_semaphore" : "semaphore", "value",
                         value));
}

const struct output json_output = {
    .status = json_status,
    .objects = json_objects,
    .object = json_object_out,
    .clients = json_clients,
    .barrier = json_barrier,
    .event = json_event,
    .sem_value = json_sem_value,
};
