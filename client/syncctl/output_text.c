/*
 * output_text.c: the human back end: aligned tables and "key: value"
 * lines.  Names and command names come from other users: object names are
 * escaped (\xNN for what is not printable UTF-8), command names show '?'
 * for control bytes, so no terminal escape gets through.  Columns are
 * measured in display columns, and a name wider than its column gets a
 * line of its own, so the other columns stay aligned.
 */
#include <stdio.h>
#include <string.h>

#include "output.h"

#define TEXT_MAX 256
/* ls's NAME column at most; wider names take a line of their own. */
#define TEXT_NAME_COLS 40
/* An escaped 255-byte name: up to 4 bytes for each. */
#define TEXT_NAME_MAX (4 * 255 + 1)

/* Copy n bytes of s into buf, control characters replaced by '?'. */
static const char *text_clean(const void *s, size_t n, char *buf, size_t size)
{
    const unsigned char *p = s;
    size_t i;

    if (n >= size)
        n = size - 1;
    for (i = 0; i < n; i++)
        buf[i] = p[i] < 0x20 || p[i] == 0x7f ? '?' : (char)p[i];
    buf[n] = '\0';
    return buf;
}

static const char *text_str(const char *s, char *buf, size_t size)
{
    return text_clean(s, s != NULL ? strlen(s) : 0, buf, size);
}

static const char *text_name(const Syncd__ObjectInfo *o, char *buf, size_t size,
                             int *width)
{
    return output_escape(o->name.data, o->name.len, buf, size, width);
}

/* s (width display columns) padded to cols; a wider s ends its line and
 * the row goes on below, under the next column. */
static void text_pad(const char *s, int width, int cols)
{
    if (width > cols)
        printf("%s\n%*s", s, cols, "");
    else
        printf("%s%*s", s, cols - width, "");
}

/* A duration the way people read it: 350ms, 12.3s, 5m03s, 2h05m, 3d04h. */
static const char *text_duration(uint64_t ms, char *buf, size_t size)
{
    uint64_t s = ms / 1000;

    if (ms < 1000)
        snprintf(buf, size, "%llums", (unsigned long long)ms);
    else if (s < 60)
        snprintf(buf, size, "%.1fs", (double)ms / 1000.0);
    else if (s < 3600)
        snprintf(buf, size, "%llum%02llus", (unsigned long long)(s / 60),
                 (unsigned long long)(s % 60));
    else if (s < 86400)
        snprintf(buf, size, "%lluh%02llum", (unsigned long long)(s / 3600),
                 (unsigned long long)(s / 60 % 60));
    else
        snprintf(buf, size, "%llud%02lluh", (unsigned long long)(s / 86400),
                 (unsigned long long)(s / 3600 % 24));
    return buf;
}

/* "hello 3, open 2, ..." for the ops that ran, four to a line. */
static void text_requests_by_op(const Syncd__Counters *c)
{
    const char *name;
    char other[32];
    size_t i, col = 0;

    printf("%-16s", "  by type:");
    for (i = 0; i < c->n_requests_by_op; i++) {
        if (c->requests_by_op[i] == 0)
            continue;
        if ((name = output_op_name(i)) == NULL) {
            snprintf(other, sizeof(other), "op%zu", i);
            name = other;
        }
        printf("%s%s %llu",
               col == 0       ? " "
               : col % 4 == 0 ? ",\n                 "
                              : ", ",
               name, (unsigned long long)c->requests_by_op[i]);
        col++;
    }
    printf("\n");
}

static void text_status(const Syncd__StatusResult *st, const char *used,
                        const char *why)
{
    const Syncd__Counters *c = st->counters;
    const Syncd__Limits *l = st->limits;
    char buf[TEXT_MAX];

    printf("%-16s %s\n",
           "version:", text_str(st->server_version, buf, sizeof(buf)));
    printf("%-16s %u\n", "pid:", st->pid);
    printf("%-16s %s\n",
           "uptime:", text_duration(st->uptime_ms, buf, sizeof(buf)));
    printf("%-16s %s\n", "socket:", text_str(st->socket, buf, sizeof(buf)));
    printf("%-16s %s (%s)\n", "connected to:", text_str(used, buf, sizeof(buf)),
           why);
    printf("%-16s %u (%llu accepted since start)\n", "clients:", st->clients,
           c ? (unsigned long long)c->sessions_total : 0ULL);
    printf("%-16s %u\n%-16s %u\n", "objects:", st->objects,
           "waiters:", st->waiters);
    if (st->state_dir != NULL && st->state_dir[0] != '\0')
        printf("%-16s %s (epoch %llu, fsync %s)\n", "state:",
               text_str(st->state_dir, buf, sizeof(buf)),
               (unsigned long long)st->epoch, st->fsync);
    else
        printf("%-16s in memory (no --state-dir)\n", "state:");
    if (st->grace_ms_left > 0)
        printf("%-16s %u ms left; %u hold(s), %u undo permit(s) kept to "
               "reclaim\n", "grace period:", st->grace_ms_left,
               st->grace_holds, st->grace_permits);
    if (c != NULL) {
        printf("%-16s %llu\n", "requests:", (unsigned long long)c->requests);
        text_requests_by_op(c);
        printf(
            "%-16s %llu\n%-16s %llu\n%-16s %llu\n%-16s %llu\n"
            "%-16s %llu\n%-16s %llu\n%-16s %llu lent, %llu taken back\n",
            "acquisitions:", (unsigned long long)c->acquisitions,
            "timeouts:", (unsigned long long)c->timeouts,
            "owner deaths:", (unsigned long long)c->owner_deaths,
            "deadlocks:", (unsigned long long)c->deadlocks,
            "denied:", (unsigned long long)c->denied,
            "protocol errors:", (unsigned long long)c->protocol_errors,
            "lock cache:", (unsigned long long)c->cache_lends,
            (unsigned long long)c->cache_reclaims);
    }
    if (st->cluster != NULL && st->cluster[0] != '\0') {
        printf("%-16s etcd at %s\n", "cluster:",
               text_str(st->cluster, buf, sizeof(buf)));
        if (c != NULL)
            printf("%-16s %llu calls, %llu failed, mean %.2f ms, max %.2f ms"
                   "\n%-16s %u live, %llu lost\n",
                   "  etcd:", (unsigned long long)c->cluster_calls,
                   (unsigned long long)c->cluster_errors,
                   c->cluster_calls ? (double)c->cluster_latency_us /
                                          (double)c->cluster_calls / 1000.0
                                    : 0.0,
                   (double)c->cluster_latency_max_us / 1000.0, "  leases:",
                   c->cluster_leases,
                   (unsigned long long)c->cluster_leases_lost);
    }
    if (l != NULL)
        printf(
            "%-16s frame %u B, objects %u, clients %u, name %u B,\n"
            "%-16s handles %u/client, waits %u/client, "
            "backlog %u B/client\n",
            "limits:", l->max_frame, l->max_objects, l->max_clients,
            l->max_name, "", l->max_handles, l->max_waits, l->max_backlog);
}

/* A thread id, or "-" where the request carries none (barrier, event). */
static const char *text_thread(uint64_t tid, char *buf, size_t size)
{
    if (tid == 0)
        return "-";
    snprintf(buf, size, "%llu", (unsigned long long)tid);
    return buf;
}

/* Whether p is a cluster/ object's party (served by an agent on a host). */
static bool text_remote(const Syncd__Party *p)
{
    return p->host != NULL && p->host[0] != '\0';
}

/* "1234 (python3)" for an object's first holder, "1234@host" for a
 * cluster/ object's, or "-". */
static const char *text_holder(const Syncd__ObjectInfo *o,
                               char *buf,
                               size_t size)
{
    char cmd[64];

    if (o->n_holders == 0)
        return "-";
    if (text_remote(o->holders[0])) {
        snprintf(buf, size, "%u@%s", o->holders[0]->pid,
                 text_str(o->holders[0]->host, cmd, sizeof(cmd)));
        return buf;
    }
    snprintf(buf, size, "%u (%s)%s", o->holders[0]->pid,
             text_str(o->holders[0]->client_name, cmd, sizeof(cmd)),
             o->n_holders > 1 ? " ..." : "");
    return buf;
}

static void text_objects(Syncd__ObjectInfo *const *v, size_t n,
                         const char *cluster_error)
{
    char name[TEXT_NAME_MAX], state[64], holder[96];
    int wn = 4, wh = 6, len, w;
    size_t i;

    for (i = 0; i < n; i++) {
        text_name(v[i], name, sizeof(name), &w);
        wn = w > wn ? (w < TEXT_NAME_COLS ? w : TEXT_NAME_COLS) : wn;
        len = (int)strlen(text_holder(v[i], holder, sizeof(holder)));
        wh = len > wh ? len : wh;
    }
    printf("%-*s  %-10s  %-14s  %-*s  %s\n", wn, "NAME", "TYPE", "STATE", wh,
           "HOLDER", "WAITERS");
    for (i = 0; i < n; i++) {
        output_state(v[i], state, sizeof(state));
        text_name(v[i], name, sizeof(name), &w);
        text_pad(name, w, wn);
        printf("  %-10s  %-14s  %-*s  %u\n", output_type_name(v[i]->type),
               state, wh, text_holder(v[i], holder, sizeof(holder)),
               v[i]->n_waiting);
    }
    (void)cluster_error; /* said on stderr by the verb (view.c) */
}

/* show's first lines: name, type, state (buf: scratch of size bytes). */
static void text_head(const Syncd__ObjectInfo *o, char *buf, size_t size)
{
    printf("%-10s %s\n", "name:", text_name(o, buf, size, NULL));
    printf("%-10s %s\n", "type:", output_type_name(o->type));
    output_state(o, buf, size);
    printf("%-10s %s\n", "state:", buf);
}

/* A Condition's lock: its name, or its own. */
static void text_cond_lock(const Syncd__ObjectInfo *o, char *buf,
                           size_t size)
{
    if (o->type == SYNCD__OBJECT_TYPE__CONDITION)
        printf("%-10s %s\n", "lock:",
               o->lock_name.len > 0
                   ? output_escape(o->lock_name.data, o->lock_name.len, buf,
                                   size, NULL)
                   : "(its own)");
}

/* A cluster/ object's holders and waiters: which host (agent) serves
 * each; thread and depth are known only to the holder's own agent. */
static void text_cluster_parties(const Syncd__ObjectInfo *o)
{
    char host[64], cmd[64], tid[24], depth[16];
    const Syncd__Party *p;
    size_t i;

    printf("%-10s %zu\n", "holders:", o->n_holders);
    if (o->n_holders > 0)
        printf("  %-16s %-7s %-8s %-7s %-16s %-8s %-8s %s\n", "HOST", "AGENT",
               "PID", "UID", "COMMAND", "THREAD", "TOKEN", "DEPTH");
    for (i = 0; i < o->n_holders; i++) {
        p = o->holders[i];
        printf("  %-16s %-7u %-8u %-7u %-16s %-8s %-8llu %s\n",
               text_str(p->host, host, sizeof(host)), p->agent_pid, p->pid,
               p->uid,
               p->client_name && p->client_name[0]
                   ? text_str(p->client_name, cmd, sizeof(cmd))
                   : "-",
               text_thread(p->thread, tid, sizeof(tid)),
               (unsigned long long)p->fencing_token,
               p->depth ? (snprintf(depth, sizeof(depth), "%u", p->depth), depth)
                        : "-");
    }
    printf("%-10s %u\n", "waiters:", o->n_waiting);
    if (o->n_waiters > 0)
        printf("  %-4s %-16s %-7s %-8s %-7s %-16s %s\n", "#", "HOST", "AGENT",
               "PID", "UID", "COMMAND", "REVISION");
    for (i = 0; i < o->n_waiters; i++) {
        p = o->waiters[i];
        printf("  %-4zu %-16s %-7u %-8u %-7u %-16s %llu\n", i + 1,
               text_str(p->host, host, sizeof(host)), p->agent_pid, p->pid,
               p->uid,
               p->client_name && p->client_name[0]
                   ? text_str(p->client_name, cmd, sizeof(cmd))
                   : "-",
               (unsigned long long)p->fencing_token);
    }
    if (o->n_waiting > o->n_waiters)
        printf("  (%zu more not shown)\n", o->n_waiting - o->n_waiters);
}

/* show of a cluster/ object: what etcd holds (no owner, mode or handle
 * count: those are one daemon's). */
static void text_cluster_object(const Syncd__ObjectInfo *o)
{
    char buf[TEXT_NAME_MAX];

    text_head(o, buf, sizeof(buf));
    printf("%-10s etcd (a cluster/ name: holders and waiters on every "
           "host)\n", "where:");
    if (o->type == SYNCD__OBJECT_TYPE__BARRIER)
        printf("%-10s %u%s\n", "parties:", o->parties,
               o->broken ? " (broken)" : "");
    /* A barrier's round held for its action: who runs it, where. */
    if (o->type == SYNCD__OBJECT_TYPE__BARRIER && o->n_holders > 0)
        printf("%-10s running in pid %u uid %u on %s; the round waits\n",
               "action:", o->holders[0]->pid, o->holders[0]->uid,
               text_str(o->holders[0]->host, buf, sizeof(buf)));
    text_cond_lock(o, buf, sizeof(buf));
    if (output_is_lockish(o->type))
        text_cluster_parties(o);
    else
        printf("%-10s %u\n", "waiters:", o->n_waiting);
}

static void text_holders(const Syncd__ObjectInfo *o)
{
    char cmd[64], held[32], tid[24];
    size_t i;
    const Syncd__Party *p;

    printf("%-10s %zu\n", "holders:", o->n_holders);
    if (o->n_holders == 0)
        return;
    if (output_is_sem(o->type))
        printf("  %-8s %-7s %-16s %s\n", "PID", "UID", "COMMAND", "PERMITS");
    else
        printf("  %-8s %-7s %-16s %-8s %-8s %-8s %s\n", "PID", "UID", "COMMAND",
               "THREAD", "HELD", "TOKEN", "DEPTH");
    for (i = 0; i < o->n_holders; i++) {
        p = o->holders[i];
        text_str(p->client_name, cmd, sizeof(cmd));
        if (output_is_sem(o->type))
            printf("  %-8u %-7u %-16s %u\n", p->pid, p->uid, cmd, p->depth);
        else
            printf("  %-8u %-7u %-16s %-8s %-8s %-8llu %u\n", p->pid, p->uid,
                   cmd, text_thread(p->thread, tid, sizeof(tid)),
                   text_duration(p->for_ms, held, sizeof(held)),
                   (unsigned long long)p->fencing_token, p->depth);
    }
}

/* A barrier's round held for its action: who runs it, for how long. */
static void text_action(const Syncd__Party *p)
{
    char cmd[64], since[32];

    printf("%-10s running in pid %u uid %u (%s) for %s; the round waits\n",
           "action:", p->pid, p->uid,
           text_str(p->client_name, cmd, sizeof(cmd)),
           text_duration(p->for_ms, since, sizeof(since)));
}

static void text_waiters(const Syncd__ObjectInfo *o)
{
    char cmd[64], waited[32], tid[24];
    size_t i;
    const Syncd__Party *p;

    printf("%-10s %u\n", "waiters:", o->n_waiting);
    if (o->n_waiters == 0)
        return;
    printf("  %-4s %-8s %-7s %-16s %-8s %s\n", "#", "PID", "UID", "COMMAND",
           "THREAD", "WAITED");
    for (i = 0; i < o->n_waiters; i++) {
        p = o->waiters[i];
        printf("  %-4zu %-8u %-7u %-16s %-8s %s\n", i + 1, p->pid, p->uid,
               text_str(p->client_name, cmd, sizeof(cmd)),
               text_thread(p->thread, tid, sizeof(tid)),
               text_duration(p->for_ms, waited, sizeof(waited)));
    }
    if (o->n_waiting > o->n_waiters)
        printf("  (%zu more not shown)\n", o->n_waiting - o->n_waiters);
}

static void text_object(const Syncd__ObjectInfo *o)
{
    char buf[TEXT_NAME_MAX];

    if (o->name.len >= 8 && memcmp(o->name.data, "cluster/", 8) == 0) {
        text_cluster_object(o);
        return;
    }

    text_head(o, buf, sizeof(buf));
    printf("%-10s uid %u, gid %u, mode %04o\n", "owner:", o->uid, o->gid,
           o->mode);
    printf("%-10s %u\n", "handles:", o->handles);
    text_cond_lock(o, buf, sizeof(buf));
    if (output_is_lockish(o->type))
        printf("%-10s %llu issued\n", "tokens:", (unsigned long long)o->tokens);
    if (o->type == SYNCD__OBJECT_TYPE__BARRIER)
        printf("%-10s %u%s\n", "parties:", o->parties,
               o->broken ? " (broken)" : "");
    if (o->type == SYNCD__OBJECT_TYPE__BARRIER && o->n_holders > 0)
        text_action(o->holders[0]);
    if (output_is_lockish(o->type) || output_is_sem(o->type))
        text_holders(o);
    text_waiters(o);
}

static void text_clients(Syncd__ClientInfo *const *v, size_t n)
{
    char cmd[64], since[32];
    bool cluster = false;
    size_t i;

    /* The cluster columns only where a client has used cluster/ names. */
    for (i = 0; i < n; i++)
        cluster |= v[i]->cluster_lease != 0 || v[i]->cluster_held != 0;
    printf("%-8s %-8s %-7s %-16s %-10s %-5s %-5s %s", "SESSION", "PID",
           "UID", "COMMAND", "CONNECTED", "OPEN", "HELD", "WAITING");
    printf(cluster ? " %-16s %s\n" : "\n", "CLUSTER-LEASE", "CLUSTER-HELD");
    for (i = 0; i < n; i++) {
        printf(cluster ? "%-8llu %-8u %-7u %-16s %-10s %-5u %-5u %-7u"
                       : "%-8llu %-8u %-7u %-16s %-10s %-5u %-5u %u",
               (unsigned long long)v[i]->session_id, v[i]->pid, v[i]->uid,
               text_str(v[i]->client_name, cmd, sizeof(cmd)),
               text_duration(v[i]->connected_ms, since, sizeof(since)),
               v[i]->handles, v[i]->held, v[i]->waiting);
        if (cluster && v[i]->cluster_lease != 0)
            printf(" %-16llx %u", (unsigned long long)v[i]->cluster_lease,
                   v[i]->cluster_held);
        else if (cluster)
            printf(" %-16s %u", "-", v[i]->cluster_held);
        printf("\n");
    }
}

static void text_barrier(const char *name, long index)
{
    (void)name;
    printf("%ld\n", index);
}

static void text_event(const char *name, bool set)
{
    /* Like test(1): the exit status is the answer. */
    (void)name;
    (void)set;
}

static void text_sem_value(const char *name, bool bounded, int value)
{
    (void)name;
    (void)bounded;
    printf("%d\n", value);
}

const struct output text_output = {
    .status = text_status,
    .objects = text_objects,
    .object = text_object,
    .clients = text_clients,
    .barrier = text_barrier,
    .event = text_event,
    .sem_value = text_sem_value,
};
