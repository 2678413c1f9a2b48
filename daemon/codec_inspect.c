/*
 * codec_inspect.c: encodes the inspection replies.  Strings are borrowed
 * from the inspect structs (which borrow them from live objects); only the
 * message structs are allocated, and freed right after packing.
 */
#include "codec_inspect.h"
#include "xalloc.h"

#include <stdlib.h>
#include <string.h>

static ProtobufCBinaryData codec_bytes(const char *s)
{
    ProtobufCBinaryData b = {s ? strlen(s) : 0, (uint8_t *)s};

    return b;
}

static void codec_party(const struct party_info *p, Syncd__Party *m)
{
    syncd__party__init(m);
    m->session_id = p->session_id;
    m->pid = p->pid;
    m->uid = p->uid;
    m->client_name = (char *)(p->client_name ? p->client_name : "");
    m->thread = p->thread;
    m->for_ms = p->for_ms;
    m->fencing_token = p->token;
    m->depth = p->depth;
    m->host = (char *)(p->host ? p->host : "");
    m->agent_pid = p->agent_pid;
}

/* An array of n Party messages and the pointer array protobuf-c wants. */
static Syncd__Party **codec_parties(const struct party_info *v, size_t n)
{
    Syncd__Party **pp;
    Syncd__Party *m;
    size_t i;

    if (n == 0)
        return NULL;
    pp = xmalloc(n * (sizeof(*pp) + sizeof(*m)));
    if (pp == NULL)
        return NULL;
    m = (Syncd__Party *)(void *)(pp + n);
    for (i = 0; i < n; i++) {
        codec_party(&v[i], &m[i]);
        pp[i] = &m[i];
    }
    return pp;
}

static int codec_object(const struct object_info *o, Syncd__ObjectInfo *m)
{
    syncd__object_info__init(m);
    m->name = codec_bytes(o->name);
    m->type = (Syncd__ObjectType)o->type;
    m->value = o->value;
    m->n_waiting = o->n_waiting;
    m->parties = o->parties;
    m->broken = o->broken;
    m->bound = o->bound;
    m->handles = o->handles;
    m->uid = o->uid;
    m->gid = o->gid;
    m->mode = o->mode;
    m->lock_name = codec_bytes(o->lock_name);
    m->tokens = o->tokens;
    m->cached = o->cached;
    m->cached_pid = o->cached_pid;
    m->holders = codec_parties(o->holders, o->n_holders);
    m->waiters = codec_parties(o->waiters, o->n_waiters);
    if ((o->n_holders && m->holders == NULL) ||
        (o->n_waiters && m->waiters == NULL)) {
        xfree(m->holders);
        xfree(m->waiters);
        return SYNC_ENOMEM;
    }
    m->n_holders = o->n_holders;
    m->n_waiters = o->n_waiters;
    return 0;
}

static void codec_object_free(Syncd__ObjectInfo *m)
{
    xfree(m->holders);
    xfree(m->waiters);
}

static int codec_status(const struct status_info *st, Syncd__Reply *reply)
{
    struct {
        Syncd__StatusResult r;
        Syncd__Limits l;
        Syncd__Counters c;
    } *m = xcalloc(1, sizeof(*m));

    if (m == NULL)
        return SYNC_ENOMEM;
    syncd__status_result__init(&m->r);
    syncd__limits__init(&m->l);
    syncd__counters__init(&m->c);
    m->r.server_version = (char *)SYNCD_VERSION;
    m->r.pid = st->pid;
    m->r.uptime_ms = st->uptime_ms;
    m->r.socket = (char *)st->socket;
    m->r.clients = st->clients;
    m->r.objects = st->objects;
    m->r.waiters = st->waiters;
    m->l.max_frame = st->limits.max_frame;
    m->l.max_objects = st->limits.max_objects;
    m->l.max_handles = st->limits.max_handles;
    m->l.max_waits = st->limits.max_waits;
    m->l.max_name = st->limits.max_name;
    m->l.max_clients = st->limits.max_clients;
    m->l.max_backlog = st->limits.max_write_backlog;
    m->c.requests = st->requests;
    m->c.sessions_total = st->sessions_total;
    m->c.acquisitions = st->acquisitions;
    m->c.timeouts = st->timeouts;
    m->c.owner_deaths = st->owner_deaths;
    m->c.deadlocks = st->deadlocks;
    m->c.protocol_errors = st->protocol_errors;
    m->c.denied = st->denied;
    m->c.cache_lends = st->cache_lends;
    m->c.cache_reclaims = st->cache_reclaims;
    m->c.cluster_calls = st->cluster_calls;
    m->c.cluster_errors = st->cluster_errors;
    m->c.cluster_latency_us = st->cluster_latency_us;
    m->c.cluster_latency_max_us = st->cluster_latency_max_us;
    m->c.cluster_leases = st->cluster_leases;
    m->c.cluster_leases_lost = st->cluster_leases_lost;
    m->r.cluster = (char *)(st->cluster ? st->cluster : "");
    m->r.state_dir = (char *)(st->state_dir ? st->state_dir : "");
    m->r.epoch = st->epoch;
    m->r.fsync = (char *)(st->fsync ? st->fsync : "");
    m->r.grace_ms_left = st->grace_ms_left;
    m->r.grace_holds = st->grace_holds;
    m->r.grace_permits = st->grace_permits;
    m->c.n_requests_by_op = INSPECT_N_OPS;
    m->c.requests_by_op = (uint64_t *)st->requests_by_op;
    m->r.limits = &m->l;
    m->r.counters = &m->c;
    reply->result_case = SYNCD__REPLY__RESULT_STATUS;
    reply->status = &m->r;
    return 0;
}

static int codec_list(const struct object_list *l, Syncd__Reply *reply)
{
    Syncd__ListResult *r = xmalloc(sizeof(*r));
    Syncd__ObjectInfo **pp = NULL, *m = NULL;
    size_t i;

    if (r == NULL)
        return SYNC_ENOMEM;
    syncd__list_result__init(r);
    if (l->n > 0) {
        pp = xmalloc(l->n * (sizeof(*pp) + sizeof(*m)));
        if (pp == NULL)
            goto err_result;
        m = (Syncd__ObjectInfo *)(void *)(pp + l->n);
    }
    for (i = 0; i < l->n; i++) {
        if (codec_object(&l->v[i], &m[i]) != 0)
            goto err_objects;
        pp[i] = &m[i];
    }
    r->objects = pp;
    r->n_objects = l->n;
    r->more = l->more;
    r->cluster_error = (char *)(l->cluster_error ? l->cluster_error : "");
    reply->result_case = SYNCD__REPLY__RESULT_LIST;
    reply->list = r;
    return 0;

err_objects:
    while (i-- > 0)
        codec_object_free(&m[i]);
    xfree(pp);
err_result:
    xfree(r);
    return SYNC_ENOMEM;
}

static int codec_clients(const struct client_list *l, Syncd__Reply *reply)
{
    Syncd__ClientsResult *r = xmalloc(sizeof(*r));
    Syncd__ClientInfo **pp = NULL, *m = NULL;
    size_t i;

    if (r == NULL)
        return SYNC_ENOMEM;
    syncd__clients_result__init(r);
    if (l->n > 0) {
        pp = xmalloc(l->n * (sizeof(*pp) + sizeof(*m)));
        if (pp == NULL) {
            xfree(r);
            return SYNC_ENOMEM;
        }
        m = (Syncd__ClientInfo *)(void *)(pp + l->n);
    }
    for (i = 0; i < l->n; i++) {
        syncd__client_info__init(&m[i]);
        m[i].session_id = l->v[i].session_id;
        m[i].pid = l->v[i].pid;
        m[i].uid = l->v[i].uid;
        m[i].gid = l->v[i].gid;
        m[i].client_name = (char *)l->v[i].client_name;
        m[i].connected_ms = l->v[i].connected_ms;
        m[i].handles = l->v[i].handles;
        m[i].held = l->v[i].held;
        m[i].waiting = l->v[i].waiting;
        m[i].cluster_lease = l->v[i].cluster_lease;
        m[i].cluster_held = l->v[i].cluster_held;
        pp[i] = &m[i];
    }
    r->clients = pp;
    r->n_clients = l->n;
    r->more = l->more;
    reply->result_case = SYNCD__REPLY__RESULT_CLIENTS;
    reply->clients = r;
    return 0;
}

int codec_inspect_attach(const struct reply *rp, Syncd__Reply *reply)
{
    Syncd__ObjectInfo *m;

    switch (rp->kind) {
    case REPLY_STATUS:
        return codec_status(rp->u.status, reply);
    case REPLY_LIST:
        return codec_list(rp->u.list, reply);
    case REPLY_CLIENTS:
        return codec_clients(rp->u.clients, reply);
    case REPLY_OBJECT:
        m = xmalloc(sizeof(*m));
        if (m == NULL || codec_object(rp->u.object, m) != 0) {
            xfree(m);
            return SYNC_ENOMEM;
        }
        reply->result_case = SYNCD__REPLY__RESULT_OBJECT;
        reply->object = m;
        return 0;
    case REPLY_PLAIN:
    case REPLY_HELLO:
    case REPLY_OPEN:
    case REPLY_ACQUIRE:
    case REPLY_QUERY:
        break;
    }
    return 0;
}

void codec_inspect_detach(Syncd__Reply *reply)
{
    size_t i;

    switch (reply->result_case) {
    case SYNCD__REPLY__RESULT_STATUS:
        xfree(reply->status); /* one block with its limits and counters */
        break;
    case SYNCD__REPLY__RESULT_LIST:
        for (i = 0; i < reply->list->n_objects; i++)
            codec_object_free(reply->list->objects[i]);
        xfree(reply->list->objects);
        xfree(reply->list);
        break;
    case SYNCD__REPLY__RESULT_OBJECT:
        codec_object_free(reply->object);
        xfree(reply->object);
        break;
    case SYNCD__REPLY__RESULT_CLIENTS:
        xfree(reply->clients->clients);
        xfree(reply->clients);
        break;
    case SYNCD__REPLY__RESULT__NOT_SET:
    case SYNCD__REPLY__RESULT_HELLO:
    case SYNCD__REPLY__RESULT_OPEN:
    case SYNCD__REPLY__RESULT_ACQUIRE:
    case SYNCD__REPLY__RESULT_QUERY:
    case _SYNCD__REPLY__RESULT__CASE_IS_INT_SIZE:
        break;
    }
}
