/*
 * inspect.c: builds syncctl's views from the registry and the sessions.
 * Read-only; objects a client may not read are invisible to it.
 */
#include "inspect.h"
#include "cluster/cluster.h"
#include "lockcache.h"
#include "xalloc.h"

#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "objects/barrier.h"
#include "objects/condition.h"
#include "objects/event.h"
#include "objects/lock.h"
#include "objects/semaphore.h"
#include "dispatch_internal.h"
#include "grace.h"
#include "server.h"
#include "session.h"
#include "store.h"

void inspect_status(struct session *s, struct status_info *out)
{
    struct server *srv = s->server;
    uint64_t now = uv_now(srv->loop);

    memset(out, 0, sizeof(*out));
    out->pid = (uint32_t)getpid();
    out->uptime_ms = now - srv->started_ms;
    out->socket = srv->socket_path[0] ? srv->socket_path
                                      : srv->activated_path;
    out->clients = srv->n_sessions;
    out->objects = srv->registry.count;
    out->waiters = srv->n_waiters;
    out->limits = srv->limits;
    out->requests = srv->stats.requests;
    out->sessions_total = srv->stats.sessions_total;
    out->acquisitions = srv->stats.acquisitions;
    out->timeouts = srv->stats.timeouts;
    out->owner_deaths = srv->stats.owner_deaths;
    out->deadlocks = srv->stats.deadlocks;
    out->protocol_errors = srv->stats.protocol_errors;
    out->denied = srv->stats.denied;
    out->cache_lends = srv->stats.cache_lends;
    out->cache_reclaims = srv->stats.cache_reclaims;
    memcpy(out->requests_by_op, srv->stats.requests_by_op,
           sizeof(out->requests_by_op));
    cluster_inspect_status(srv->cluster, out);
    if (srv->store != NULL) {
        out->state_dir = srv->state_dir;
        out->epoch = srv->store->epoch;
        out->fsync = store_fsync_name(srv->store->policy);
    }
    if (srv->grace != NULL && grace_left_ms(srv->grace) > 0) {
        out->grace_ms_left = grace_left_ms(srv->grace);
        grace_kept(srv->grace, &out->grace_holds, &out->grace_permits);
    }
}

static void inspect_party(struct server *srv, uint64_t session_id,
                          struct party_info *p)
{
    struct session *peer = server_find_session(srv, session_id);

    memset(p, 0, sizeof(*p));
    p->session_id = session_id;
    if (peer != NULL) {
        p->pid = (uint32_t)peer->pid;
        p->uid = (uint32_t)peer->uid;
        p->client_name = peer->client_name;
    }
}

/* The holder of a lock-like object (a condition's: its lock's), if any. */
static int inspect_lock_holder(struct server *srv, struct object *o,
                               struct object_info *out)
{
    struct lock *l = lock_from_object(object_root(o));
    struct session *borrower;
    uint64_t thread = l->holder_thread, token = l->tokens;
    uint32_t depth = l->depth;
    int lent = -1;

    /* A lent lock: its client's word says whether it is held, by which
     * thread, how deep, and the tokens used (read, not taken back). */
    if (l->lent_to != 0) {
        lent = lockcache_peek(srv, l, &thread, &depth, &token);
        borrower = server_find_session(srv, l->lent_to);
        out->cached = lent == 1 ? 2 : lent == 0 ? 1 : 0;
        out->cached_pid = borrower != NULL ? (uint32_t)borrower->pid : 0;
        if (o->type != OBJECT_CONDITION)
            out->value = lent == 1;
    }
    out->tokens = token > l->tokens ? token : l->tokens;
    if (!l->held || lent == 0)
        return 0;
    out->holders = xcalloc(1, sizeof(*out->holders));
    if (out->holders == NULL)
        return SYNC_ENOMEM;
    inspect_party(srv, l->holder, &out->holders[0]);
    out->holders[0].thread = thread;
    out->holders[0].for_ms = uv_now(srv->loop) - l->held_since;
    out->holders[0].token = lent == 1 ? token : l->holder_token;
    out->holders[0].depth = depth;
    out->n_holders = 1;
    return 0;
}

/* A barrier whose round waits for its action: the party running it, as
 * the barrier's one "holder" (who holds the others up, since when). */
static int inspect_barrier_actor(struct server *srv, const struct barrier *b,
                                 struct object_info *out)
{
    if (!b->acting)
        return 0;
    out->holders = xcalloc(1, sizeof(*out->holders));
    if (out->holders == NULL)
        return SYNC_ENOMEM;
    inspect_party(srv, b->actor, &out->holders[0]);
    out->holders[0].for_ms = uv_now(srv->loop) - b->acting_since;
    out->n_holders = 1;
    return 0;
}

/* The summary every listing has; holders of locks included. */
static int inspect_object(struct server *srv, struct object *o,
                          struct object_info *out)
{
    memset(out, 0, sizeof(*out));
    out->name = o->name;
    out->type = o->type;
    out->value = o->ops->query(o);
    out->n_waiting = (uint32_t)o->ops->n_waiting(o);
    /* Client handles only: a condition's reference to its lock is not
     * one. */
    out->handles = o->refs - (o->type == OBJECT_LOCK || o->type == OBJECT_RLOCK
                                  ? lock_from_object(o)->conditions
                                  : 0);
    out->uid = o->uid;
    out->gid = o->gid;
    out->mode = o->mode;
    switch (o->type) {
    case OBJECT_BARRIER:
        out->parties = barrier_from_object(o)->parties;
        out->broken = barrier_from_object(o)->broken;
        return inspect_barrier_actor(srv, barrier_from_object(o), out);
    case OBJECT_BOUNDED_SEMAPHORE:
        out->bound = semaphore_from_object(o)->bound;
        return 0;
    case OBJECT_CONDITION:
        if (!condition_from_object(o)->own_lock)
            out->lock_name = condition_from_object(o)->lock->base.name;
        out->n_waiting += (uint32_t)object_root(o)->ops->n_waiting(
            object_root(o));
        return inspect_lock_holder(srv, o, out);
    case OBJECT_LOCK:
    case OBJECT_RLOCK:
        return inspect_lock_holder(srv, o, out);
    case OBJECT_SEMAPHORE:
    case OBJECT_EVENT:
        break;
    }
    return 0;
}

void inspect_object_fini(struct object_info *o)
{
    xfree(o->holders);
    xfree(o->waiters);
    o->holders = o->waiters = NULL;
}

static int inspect_name_cmp(const void *a, const void *b)
{
    const struct object *const *x = a, *const *y = b;

    return strcmp((*x)->name, (*y)->name);
}

/* Readable objects matching pattern, sorted by name (owned array). */
static struct object **inspect_matching(struct session *s,
                                        const char *pattern, size_t *n)
{
    struct registry *r = &s->server->registry;
    struct object *o, *tmp, **v;
    size_t k = 0;

    v = xmalloc((HASH_COUNT(r->by_name) + 1) * sizeof(*v));
    if (v == NULL)
        return NULL;
    HASH_ITER(hh, r->by_name, o, tmp) {
        if (pattern != NULL && fnmatch(pattern, o->name, 0) != 0)
            continue;
        if (object_may(o, &s->cred, OBJECT_MAY_READ))
            v[k++] = o;
    }
    qsort(v, k, sizeof(*v), inspect_name_cmp);
    *n = k;
    return v;
}

int inspect_list(struct session *s, const char *pattern, const char *after,
                 uint32_t limit, struct object_list *out)
{
    struct object **v;
    size_t n, i = 0, k;

    memset(out, 0, sizeof(*out));
    if (limit == 0 || limit > INSPECT_PAGE)
        limit = INSPECT_PAGE;
    v = inspect_matching(s, pattern, &n);
    if (v == NULL)
        return SYNC_ENOMEM;
    while (after != NULL && i < n && strcmp(v[i]->name, after) <= 0)
        i++;
    out->v = xcalloc(limit, sizeof(*out->v));
    if (out->v == NULL) {
        xfree(v);
        return SYNC_ENOMEM;
    }
    for (k = 0; i < n && k < limit; i++, k++) {
        if (inspect_object(s->server, v[i], &out->v[k]) != 0) {
            out->n = k;
            inspect_list_fini(out);
            xfree(v);
            return SYNC_ENOMEM;
        }
    }
    out->n = k;
    out->more = i < n;
    xfree(v);
    return 0;
}

void inspect_list_fini(struct object_list *l)
{
    size_t i;

    for (i = 0; i < l->n; i++)
        inspect_object_fini(&l->v[i]);
    xfree(l->v);
    l->v = NULL;
    l->n = 0;
}

/* Append the waiters queued on q (every one is a session's pending). */
static void inspect_queue(struct server *srv, const struct waitq *q,
                          struct object_info *out, size_t max)
{
    const struct list_node *n;
    const struct pending *p;
    struct party_info *w;

    for (n = q->head.next; n != &q->head && out->n_waiters < max;
         n = n->next) {
        p = container_of(n, struct pending, w.node);
        w = &out->waiters[out->n_waiters++];
        inspect_party(srv, p->session->id, w);
        w->thread = p->w.thread;
        w->for_ms = uv_now(srv->loop) - p->queued_ms;
    }
}

/* The queue(s) of o, in order: a condition's own then its lock's. */
static int inspect_waiters(struct server *srv, struct object *o,
                           uint32_t max, struct object_info *out)
{
    const struct waitq *q[2] = {NULL, NULL};
    size_t i;

    if (max == 0 || max > INSPECT_MAX_WAITERS)
        max = INSPECT_MAX_WAITERS;
    switch (o->type) {
    case OBJECT_LOCK:
    case OBJECT_RLOCK:
        q[0] = &lock_from_object(o)->waiters;
        break;
    case OBJECT_CONDITION:
        q[0] = &condition_from_object(o)->waiters;
        q[1] = &condition_from_object(o)->lock->waiters;
        break;
    case OBJECT_SEMAPHORE:
    case OBJECT_BOUNDED_SEMAPHORE:
        q[0] = &semaphore_from_object(o)->waiters;
        break;
    case OBJECT_EVENT:
        q[0] = &container_of(o, struct event, base)->waiters;
        break;
    case OBJECT_BARRIER:
        /* The round's parties, then those waiting for the next. */
        q[0] = &barrier_from_object(o)->waiters;
        q[1] = &barrier_from_object(o)->next;
        break;
    }
    out->waiters = xcalloc(max, sizeof(*out->waiters));
    if (out->waiters == NULL)
        return SYNC_ENOMEM;
    for (i = 0; i < 2 && q[i] != NULL; i++)
        inspect_queue(srv, q[i], out, max);
    return 0;
}

/* One more holder entry in out (cap: its room); NULL when out of memory. */
static struct party_info *inspect_add_holder(struct object_info *out,
                                             size_t *cap)
{
    struct party_info *v;

    if (out->n_holders == *cap) {
        *cap = *cap ? *cap * 2 : 8;
        v = xrealloc(out->holders, *cap * sizeof(*v));
        if (v == NULL)
            return NULL;
        out->holders = v;
    }
    return &out->holders[out->n_holders++];
}

/* Clients holding undo permits of a semaphore, as its "holders"; in a
 * restart's grace period also the permits kept for clients not back yet
 * (no session: pid 0). */
static int inspect_sem_holders(struct server *srv, struct object *o,
                               struct object_info *out)
{
    struct list_node *n;
    struct session *s;
    struct handle *h;
    uint32_t id;
    size_t cap = 0, i;
    struct party_info *v;
    const struct grace *g = srv->grace;

    for (n = srv->sessions.next; n != &srv->sessions; n = n->next) {
        s = container_of(n, struct session, link);
        for (id = 1; id < handle_end(&s->handles); id++) {
            h = handle_find(&s->handles, id);
            if (h == NULL || h->obj != o || h->undo == 0)
                continue;
            if ((v = inspect_add_holder(out, &cap)) == NULL)
                return SYNC_ENOMEM;
            inspect_party(srv, s->id, v);
            v->depth = h->undo; /* permits held */
        }
    }
    for (i = 0; g != NULL && o->linked && i < g->pn; i++) {
        if (strcmp(g->pv[i].name, o->name) != 0 || g->pv[i].count == 0)
            continue;
        if ((v = inspect_add_holder(out, &cap)) == NULL)
            return SYNC_ENOMEM;
        memset(v, 0, sizeof(*v));
        v->client_name = "(kept for reclaim)";
        v->depth = g->pv[i].count;
    }
    return 0;
}

int inspect_show(struct session *s, const char *name, uint32_t max_waiters,
                 struct object_info *out)
{
    struct object *o = registry_lookup(&s->server->registry, name);
    int rv;

    memset(out, 0, sizeof(*out));
    if (o == NULL || !object_may(o, &s->cred, OBJECT_MAY_READ))
        return SYNC_ENOENT;
    rv = inspect_object(s->server, o, out);
    if (rv == 0 && (o->type == OBJECT_SEMAPHORE ||
                    o->type == OBJECT_BOUNDED_SEMAPHORE))
        rv = inspect_sem_holders(s->server, o, out);
    if (rv == 0)
        rv = inspect_waiters(s->server, o, max_waiters, out);
    if (rv != 0)
        inspect_object_fini(out);
    return rv;
}

/* Whether a lock held by its owner is held indeed: a lent lock only when
 * its client's word says so. */
static bool inspect_really_held(struct server *srv, struct object *root)
{
    struct lock *l;
    uint64_t thread, token;
    uint32_t depth;

    if (root->type != OBJECT_LOCK && root->type != OBJECT_RLOCK)
        return true;
    l = lock_from_object(root);
    return l->lent_to == 0 ||
           lockcache_peek(srv, l, &thread, &depth, &token) != 0;
}

/* Locks (and RLocks) s holds, each counted once however many handles
 * (or conditions) lead to it. */
static uint32_t inspect_held(struct session *s)
{
    uint32_t id, prev, held = 0;
    struct object *root;
    struct handle *h, *p;

    for (id = 1; id < handle_end(&s->handles); id++) {
        h = handle_find(&s->handles, id);
        /* A barrier's actor "holds" it, but it is no lock. */
        if (h == NULL || !object_holds(root = object_root(h->obj), s->id) ||
            root->type == OBJECT_BARRIER ||
            !inspect_really_held(s->server, root))
            continue;
        for (prev = 1; prev < id; prev++) {
            p = handle_find(&s->handles, prev);
            if (p != NULL && object_root(p->obj) == root)
                break;
        }
        held += prev == id;
    }
    return held;
}

int inspect_clients(struct session *self, uint64_t after, uint32_t limit,
                    struct client_list *out)
{
    struct server *srv = self->server;
    struct list_node *n;
    struct session *s;
    struct client_info *c;

    memset(out, 0, sizeof(*out));
    if (limit == 0 || limit > INSPECT_PAGE)
        limit = INSPECT_PAGE;
    out->v = xcalloc(limit, sizeof(*out->v));
    if (out->v == NULL)
        return SYNC_ENOMEM;
    /* Sessions are listed in accept order, which is id order.  Only root
     * sees other users' clients. */
    for (n = srv->sessions.next; n != &srv->sessions; n = n->next) {
        s = container_of(n, struct session, link);
        if (s->id <= after || s->state == SESSION_CLOSING ||
            (self->uid != 0 && s->uid != self->uid))
            continue;
        if (out->n == limit) {
            out->more = true;
            break;
        }
        c = &out->v[out->n++];
        c->session_id = s->id;
        c->pid = (uint32_t)s->pid;
        c->uid = (uint32_t)s->uid;
        c->gid = (uint32_t)s->gid;
        c->client_name = s->client_name;
        c->connected_ms = uv_now(srv->loop) - s->connected_ms;
        c->handles = s->handles.used;
        c->held = inspect_held(s);
        c->waiting = s->n_pending;
        cluster_inspect_client(s, c);
    }
    return 0;
}

void inspect_clients_fini(struct client_list *l)
{
    xfree(l->v);
    l->v = NULL;
    l->n = 0;
}
