/*
 * cluster_handle.c: a client's cluster handles (CLUSTER_HANDLE_BIT |
 * index) and the per-session objects they name; the requests on them
 * start jobs (cluster_job.c), answered when the job comes back.
 * Lock/RLock state is in cluster_lock.c, the lease and the session's
 * life in cluster.c.
 */
#include "cluster/cluster_prim.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codec.h"
#include "log.h"
#include "server.h"
#include "session.h"
#include "xalloc.h"

#define CLUSTER_TICK_MS 50

void cluster_send(struct session *s, uint64_t id, int code,
                         const char *why)
{
    struct reply rp = {.id = id, .code = code, .message = why};

    session_send(s, &rp);
}

void cluster_reply(struct cjob *j, int code, const char *why)
{
    if (j->answered || j->cs == NULL || j->cs->s == NULL)
        return;
    j->answered = true;
    if (code == SYNC_EUNAVAIL && why == NULL)
        why = "etcd is unreachable (no member answered in time)";
    cluster_send(j->cs->s, j->req_id, code, why);
}

struct csess *cluster_csess(struct session *s)
{
    struct cluster *cl = s->server->cluster;
    struct csess *cs = s->cluster;

    if (cs != NULL)
        return cs;
    cs = xmalloc(sizeof(*cs));
    if (cs == NULL)
        return NULL;
    memset(cs, 0, sizeof(*cs));
    cs->cl = cl;
    cs->s = s;
    list_init(&cs->objs);
    list_init(&cs->jobs);
    list_init(&cs->lease_wait);
    list_init(&cs->sem_confirming);
    list_insert_tail(&cl->sessions, &cs->link);
    s->cluster = cs;
    return cs;
}

/* Free cs once its client left and no job of it runs. */
void cluster_csess_maybe_free(struct csess *cs)
{
    if (cs->s != NULL || !list_empty(&cs->jobs) || !list_empty(&cs->objs))
        return;
    list_remove(&cs->link);
    xfree(cs->handles);
    xfree(cs->undo);
    xfree(cs);
}

void cluster_cobj_rele(struct csess *cs, struct cobj *o)
{
    if (--o->refs > 0)
        return;
    list_remove(&o->link);
    if (o->lock != NULL)
        cluster_cobj_rele(cs, o->lock);
    xfree(o);
}

struct cobj *cluster_handle(struct csess *cs, uint32_t h)
{
    uint32_t i = (h & ~CLUSTER_HANDLE_BIT) - 1;

    return cs != NULL && (h & CLUSTER_HANDLE_BIT) && i < cs->cap
               ? cs->handles[i]
               : NULL;
}

/* ---- open / unlink ----------------------------------------------------- */

void cluster_open(struct session *s, struct csess *cs,
                         const struct request *rq)
{
    struct cjob *j;
    int t = (int)rq->type;

    if (cluster_prim_open_refused(s, rq))
        return;
    if (cs->used >= s->server->limits.max_handles) {
        cluster_send(s, rq->id, SYNC_ELIMIT, "max_handles reached");
        return;
    }
    j = cluster_job_new(cs->cl, cs, CJ_OPEN);
    if (j == NULL) {
        cluster_send(s, rq->id, SYNC_ENOMEM, NULL);
        return;
    }
    j->req_id = rq->id;
    j->op = rq->op;
    j->type = t;
    j->existing = (rq->flags & WIRE_OPEN_FLAG_EXISTING) != 0;
    /* A reconnecting client asks for its old handle number. */
    j->handle = (s->caps & WIRE_CAP_RECLAIM) ? rq->handle : 0;
    snprintf(j->name, sizeof(j->name), "%s", rq->name);
    cluster_prim_open_job(j, rq);
    cluster_job_start(j);
}

struct cobj *cluster_cobj(struct csess *cs, const char *name,
                          enum object_type type, int64_t inc, bool undo)
{
    struct list_node *n;
    struct cobj *o;

    for (n = cs->objs.next; n != &cs->objs; n = n->next) {
        o = container_of(n, struct cobj, link);
        if (strcmp(o->name, name) == 0 && o->type == type &&
            o->inc == inc && o->undo == undo)
            return o;
    }
    o = xmalloc(sizeof(*o));
    if (o == NULL)
        return NULL;
    memset(o, 0, sizeof(*o));
    snprintf(o->name, sizeof(o->name), "%s", name);
    o->type = type;
    o->inc = inc;
    o->undo = undo;
    list_init(&o->parked);
    list_insert_tail(&cs->objs, &o->link);
    return o;
}

/*
 * A handle slot for o: the one asked for (a reconnecting client keeps its
 * handle numbers), else the lowest free one.  0 when out of memory or the
 * slot asked for is taken.
 */
static uint32_t cluster_handle_add(struct csess *cs, struct cobj *o,
                                   uint32_t want)
{
    uint32_t i = want != 0 ? (want & ~CLUSTER_HANDLE_BIT) - 1 : 0, cap;
    struct cobj **a;
    struct cundo *u;

    if (want != 0 && (!(want & CLUSTER_HANDLE_BIT) || i >= (1u << 24) ||
                      (i < cs->cap && cs->handles[i] != NULL)))
        return 0;
    for (; want == 0 && i < cs->cap && cs->handles[i] != NULL; i++)
        ;
    if (i >= cs->cap) {
        cap = i * 2 + 8;
        u = xrealloc(cs->undo, sizeof(*u) * cap);
        if (u == NULL)
            return 0;
        cs->undo = u;
        a = xrealloc(cs->handles, sizeof(*a) * cap);
        if (a == NULL)
            return 0;
        memset(a + cs->cap, 0, sizeof(*a) * (cap - cs->cap));
        cs->handles = a;
        cs->cap = cap;
    }
    cs->handles[i] = o;
    cs->undo[i] = (struct cundo){0, 0};
    o->refs++;
    cs->used++;
    return CLUSTER_HANDLE_BIT | (i + 1);
}

static void cluster_open_done(struct cjob *j)
{
    struct csess *cs = j->cs;
    struct reply rp = {.id = j->req_id, .kind = REPLY_OPEN};
    struct cobj *o;

    if (cs->s == NULL)
        return;
    if (j->rv != 0) {
        cluster_reply(j, j->rv,
                      j->rv == SYNC_ETYPE    ? "name exists with another type"
                      : j->rv == SYNC_ENOENT ? "not created (opened as "
                                               "existing only)"
                                             : NULL);
        return;
    }
    o = cluster_cobj(cs, j->name, (enum object_type)j->type, j->inc,
                     j->flag);
    if (o != NULL && o->refs == 0 && cluster_prim_init(cs, o, j) != 0) {
        o->refs = 1;
        cluster_cobj_rele(cs, o);
        o = NULL;
    }
    rp.u.open.handle = o != NULL ? cluster_handle_add(cs, o, j->handle) : 0;
    if (rp.u.open.handle == 0) {
        if (o != NULL && o->refs == 0) {
            o->refs = 1;
            cluster_cobj_rele(cs, o);
        }
        cluster_reply(j, j->handle != 0 && o != NULL ? SYNC_EEXIST
                                                     : SYNC_ENOMEM,
                      j->handle != 0 && o != NULL
                          ? "the handle number asked for is in use"
                          : NULL);
        return;
    }
    if (j->created)
        log_debug("cluster: %s '%s' created by pid %d uid %u",
                  object_type_name((enum object_type)j->type), j->name,
                  (int)cs->s->pid, (unsigned)cs->s->uid);
    rp.u.open.created = j->created;
    j->answered = true;
    session_send(cs->s, &rp);
}

void cluster_close(struct session *s, struct csess *cs,
                          const struct request *rq)
{
    struct cobj *o = cluster_handle(cs, rq->handle);
    struct list_node *n, *tmp;

    if (o == NULL) {
        cluster_send(s, rq->id, SYNC_EBADF, "unknown handle");
        return;
    }
    cs->handles[(rq->handle & ~CLUSTER_HANDLE_BIT) - 1] = NULL;
    cs->used--;
    /* Its waits end with SYNC_EBADF, as a local handle's do. */
    list_foreach_safe(n, tmp, &cs->jobs) {
        struct cjob *j = container_of(n, struct cjob, slink);

        if (j->handle == rq->handle && !j->answered) {
            cluster_reply(j, SYNC_EBADF, NULL);
            etcd_ctx_cancel(&j->ctx);
        }
    }
    cluster_prim_close(cs, o, rq->handle);
    cluster_sem_forget(cs, rq->handle, true);
    if (!cluster_cobj_in_use(cs, o))
        cluster_lock_drop(cs, o);
    cluster_cobj_rele(cs, o);
    cluster_send(s, rq->id, 0, NULL);
}

/* ---- the requests on a handle ------------------------------------------ */

struct cjob *cluster_job_for(struct csess *cs, struct cobj *o,
                             const struct request *rq, enum cjob_kind kind)
{
    struct cjob *j = cluster_job_new(cs->cl, cs, kind);

    if (j == NULL) {
        cluster_send(cs->s, rq->id, SYNC_ENOMEM, NULL);
        return NULL;
    }
    j->req_id = rq->id;
    j->op = rq->op;
    j->handle = rq->handle;
    j->thread = rq->thread;
    j->type = (int)o->type;
    j->obj = o;
    o->refs++;
    snprintf(j->name, sizeof(j->name), "%s", o->name);
    cluster_prim_job(j, o);
    j->may_wait = rq->timeout_us != 0;
    /* Rounded up, now included (etcd_now_ms truncates): a wait never
     * times out before its timeout has passed since its request came. */
    if (rq->timeout_us > 0)
        j->deadline_ms = etcd_now_ms() + 1 + (rq->timeout_us + 999) / 1000;
    return j;
}

static bool cluster_is_lock(const struct cobj *o)
{
    return o->type == OBJECT_LOCK || o->type == OBJECT_RLOCK;
}

void cluster_on_handle(struct session *s, struct csess *cs,
                              const struct request *rq)
{
    struct cobj *o = cluster_handle(cs, rq->handle);
    struct cjob *j;

    if (o == NULL) {
        cluster_send(s, rq->id, SYNC_EBADF, "unknown handle");
        return;
    }
    if (cluster_prim_request(s, cs, o, rq))
        return;
    switch (rq->op) {
    case OP_ACQUIRE:
        if (!cluster_is_lock(o))
            break;
        if ((j = cluster_job_for(cs, o, rq, CJ_ACQUIRE)) != NULL)
            cluster_lock_acquire(cs, j);
        return;
    case OP_RELEASE:
        if (!cluster_is_lock(o))
            break;
        cluster_lock_release(cs, o, rq);
        return;
    case OP_RECLAIM:
        /* The hold belonged to the lease of an agent that is gone: etcd
         * ends it after the TTL (or has); this agent cannot prove it. */
        log_info("client pid %d uid %u: reclaim of '%s' refused: a cluster "
                 "lock does not outlive its agent's lease", (int)s->pid,
                 (unsigned)s->uid, o->name);
        cluster_send(s, rq->id, SYNC_ELOST,
                     "a cluster lock does not outlive the lease of the "
                     "agent that granted it");
        return;
    case OP_QUERY:
        if ((j = cluster_job_for(cs, o, rq, CJ_QUERY)) != NULL)
            cluster_job_start(j);
        return;
    case OP_EVENT_SET:
    case OP_EVENT_CLEAR:
        if (o->type != OBJECT_EVENT)
            break;
        if ((j = cluster_job_for(cs, o, rq, CJ_EVENT_PUT)) != NULL) {
            j->flag = rq->op == OP_EVENT_SET;
            cluster_job_start(j);
        }
        return;
    case OP_EVENT_WAIT:
        if (o->type != OBJECT_EVENT)
            break;
        if ((j = cluster_job_for(cs, o, rq, CJ_EVENT_WAIT)) != NULL)
            cluster_job_start(j);
        return;
    default:
        break;
    }
    cluster_send(s, rq->id, SYNC_ETYPE, "operation not valid on this "
                                        "cluster object's type");
}

static void cluster_query_done(struct cjob *j)
{
    struct reply rp = {.id = j->req_id, .kind = REPLY_QUERY};
    struct cobj *o = j->obj;

    if (j->rv != 0) {
        cluster_reply(j, j->rv, NULL);
        return;
    }
    rp.u.query.value = j->value;
    rp.u.query.n_waiting = j->waiting;
    if (o->type == OBJECT_BARRIER) {
        rp.u.query.parties = o->param;
        rp.u.query.broken = j->flag;
    }
    /* A Condition answers for its lock (held, this thread's depth). */
    if (o->type == OBJECT_CONDITION && o->lock != NULL)
        o = o->lock;
    if (cluster_is_lock(o)) {
        rp.u.query.lock_held = j->value != 0;
        if (o->st == COBJ_HELD &&
            (o->type == OBJECT_LOCK || o->thread == j->thread))
            rp.u.query.depth = o->depth;
    }
    if (!j->answered && j->cs->s != NULL) {
        j->answered = true;
        session_send(j->cs->s, &rp);
    }
}

static void cluster_wait_done(struct cjob *j)
{
    struct reply rp = {.id = j->req_id, .kind = REPLY_ACQUIRE};
    int rv = j->rv;

    if (rv == SYNC_EINTR && j->cancel_as_timeout)
        rv = SYNC_ETIMEDOUT;
    if (rv != 0) {
        cluster_reply(j, rv, NULL);
        return;
    }
    if (!j->answered && j->cs->s != NULL) {
        j->answered = true;
        session_send(j->cs->s, &rp);
    }
}

void cluster_job_done(struct cjob *j)
{
    struct csess *cs = j->cs;

    if (cluster_prim_done(j))
        goto done;
    switch (j->kind) {
    case CJ_OPEN:
        cluster_open_done(j);
        break;
    case CJ_UNLINK:
    case CJ_EVENT_PUT:
        if (j->rv == 0 && j->kind == CJ_UNLINK && cs->s != NULL)
            log_info("cluster: '%s' unlinked by pid %d uid %u", j->name,
                     (int)cs->s->pid, (unsigned)cs->s->uid);
        cluster_reply(j, j->rv, NULL);
        break;
    case CJ_QUERY:
        cluster_query_done(j);
        break;
    case CJ_EVENT_WAIT:
        cluster_wait_done(j);
        break;
    case CJ_ACQUIRE:
    case CJ_RELEASE:
    case CJ_GRANT:
    case CJ_KEEPALIVE:
    case CJ_REVOKE:
        cluster_lock_done(j);
        break;
    case CJ_INSPECT:
        cluster_inspect_done(j);
        break;
    default:
        break;
    }
done:
    if (j->obj != NULL)
        cluster_cobj_rele(cs, j->obj);
    if (cs != NULL)
        cluster_csess_maybe_free(cs);
    cluster_job_free(j);
}
