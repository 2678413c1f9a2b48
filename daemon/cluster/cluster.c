/*
 * cluster.c: the agent: start and stop, which requests are the backend's,
 * and each session's etcd lease (granted on first need, kept alive from
 * the tick timer, revoked the moment its client goes, given up as lost
 * when no keepalive was answered for 4/5 of the TTL, so the agent never
 * lets a client believe it holds what etcd may already have handed on).
 */
#include "cluster/cluster_prim.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codec.h"
#include "log.h"
#include "registry.h"
#include "server.h"
#include "session.h"
#include "xalloc.h"

#define CLUSTER_TICK_MS 50

bool cluster_takes(struct session *s, const struct request *rq)
{
    struct csess *cs = s->cluster;
    struct list_node *n;

    switch (rq->op) {
    case OP_OPEN:
    case OP_UNLINK:
        return cluster_name(rq->name, rq->name_len);
    case OP_CANCEL:
        if (cs == NULL)
            return false;
        for (n = cs->jobs.next; n != &cs->jobs; n = n->next)
            if (container_of(n, struct cjob, slink)->req_id == rq->cancel_id)
                return true;
        return false;
    case OP_HELLO:
    case OP_STATUS:
    case OP_LIST_OBJECTS:
    case OP_SHOW_OBJECT:
    case OP_LIST_CLIENTS:
        return false;
    default:
        return (rq->handle & CLUSTER_HANDLE_BIT) != 0;
    }
}

static void cluster_cancel(struct csess *cs, const struct request *rq)
{
    struct list_node *n;
    struct cjob *j;

    for (n = cs->jobs.next; n != &cs->jobs; n = n->next) {
        j = container_of(n, struct cjob, slink);
        if (j->req_id == rq->cancel_id && !j->answered &&
            cluster_job_cancellable(j)) {
            j->cancel_as_timeout = true;
            etcd_ctx_cancel(&j->ctx);
            cluster_send(cs->s, rq->id, 0, NULL);
            return;
        }
    }
    cluster_send(cs->s, rq->id, SYNC_ENOENT, NULL);
}

static void cluster_unlink(struct csess *cs, const struct request *rq)
{
    struct cjob *j = cluster_job_new(cs->cl, cs, CJ_UNLINK);

    if (j == NULL) {
        cluster_send(cs->s, rq->id, SYNC_ENOMEM, NULL);
        return;
    }
    j->req_id = rq->id;
    snprintf(j->name, sizeof(j->name), "%s", rq->name);
    cluster_job_start(j);
}

void cluster_request(struct session *s, const struct request *rq)
{
    struct cluster *cl = s->server->cluster;
    const char *bad = NULL;
    struct csess *cs;

    if (rq->op == OP_OPEN || rq->op == OP_UNLINK)
        bad = registry_name_problem(&s->server->registry, rq->name,
                                    rq->name_len);
    if (bad != NULL) {
        cluster_send(s, rq->id, SYNC_ENAME, bad);
        return;
    }
    if (cl == NULL && (rq->op == OP_OPEN || rq->op == OP_UNLINK)) {
        log_warnx("client pid %d uid %u: '%s': cluster/ names need a daemon "
                  "started with --cluster", (int)s->pid, (unsigned)s->uid,
                  rq->name);
        cluster_send(s, rq->id, SYNC_EUNAVAIL,
                     "cluster/ names need a daemon started with --cluster");
        return;
    }
    cs = cl != NULL ? cluster_csess(s) : NULL;
    if (cs == NULL) {
        cluster_send(s, rq->id, cl ? SYNC_ENOMEM : SYNC_EBADF,
                     cl ? NULL : "unknown handle");
        return;
    }
    switch (rq->op) {
    case OP_OPEN:
        cluster_open(s, cs, rq);
        break;
    case OP_UNLINK:
        cluster_unlink(cs, rq);
        break;
    case OP_CLOSE:
        cluster_close(s, cs, rq);
        break;
    case OP_CANCEL:
        cluster_cancel(cs, rq);
        break;
    default:
        cluster_on_handle(s, cs, rq);
        break;
    }
}

/* Whether j waits under its session's lease for something it will hold
 * under that lease. */
static bool cluster_waits_on_lease(const struct cjob *j)
{
    switch (j->kind) {
    case CJ_ACQUIRE:
        return !j->adopt && j->op != OP_COND_WAIT;
    case CJ_SEM_ACQUIRE:
        return j->obj != NULL && j->obj->undo;
    default:
        return false;
    }
}

/*
 * cs's lease is being given up: its waits stop, to be sought again under
 * a new one (cluster_requeue_due), and its keepalive still trying (a
 * member that does not answer) stops too - else it would hold back the
 * next lease's keepalives until its retries end, and that lease would be
 * given up in turn.
 */
static void cluster_lease_stop_jobs(struct csess *cs)
{
    struct list_node *n;
    struct cjob *j;

    for (n = cs->jobs.next; n != &cs->jobs; n = n->next) {
        j = container_of(n, struct cjob, slink);
        if (j->lease != cs->lease || j->answered)
            continue;
        if (cluster_waits_on_lease(j))
            j->requeue = true;
        else if (j->kind != CJ_KEEPALIVE)
            continue;
        etcd_ctx_cancel(&j->ctx);
    }
    cs->ka_inflight = false;
}

bool cluster_job_lease_live(const struct cjob *j)
{
    return j->cs->lease_state == LEASE_LIVE && j->cs->lease == j->lease;
}

bool cluster_requeue_left(const struct cjob *j)
{
    return j->cs->s != NULL && !j->answered && !j->cancel_as_timeout &&
           j->requeues < CLUSTER_REQUEUE_MAX &&
           (j->deadline_ms < 0 || etcd_now_ms() < j->deadline_ms);
}

bool cluster_requeue_due(const struct cjob *j, int rv)
{
    /* ENOENT: etcd ended the lease before the agent saw it.  Else the
     * agent gave it up: granted under it, or stopped for that. */
    return cluster_requeue_left(j) &&
           (rv == SYNC_ENOENT ||
            (!cluster_job_lease_live(j) &&
             (rv == 0 || (rv == SYNC_EINTR && j->requeue))));
}

struct cjob *cluster_job_clone(const struct cjob *j)
{
    struct cjob *again = cluster_job_new(j->cl, j->cs, j->kind);

    if (again == NULL)
        return NULL;
    again->req_id = j->req_id;
    again->op = j->op;
    again->handle = j->handle;
    again->thread = j->thread;
    again->type = j->type;
    again->obj = j->obj;
    j->obj->refs++;
    snprintf(again->name, sizeof(again->name), "%s", j->name);
    cluster_prim_job(again, j->obj);
    again->may_wait = j->may_wait;
    again->deadline_ms = j->deadline_ms;
    again->requeues = j->requeues;
    return again;
}

void cluster_requeue_log(const struct cjob *j)
{
    const struct csess *cs = j->cs;

    log_info("cluster: %s '%s': pid %d uid %u waits on under a new lease "
             "(the one it waited under ended)",
             object_type_name((enum object_type)j->type), j->name,
             (int)cs->s->pid, (unsigned)cs->s->uid);
}

struct cjob *cluster_job_again(struct cjob *j, const char *gone)
{
    struct cjob *again = cluster_job_clone(j);

    if (again == NULL)
        return NULL;
    cluster_requeue_log(j);
    again->requeues++;
    j->answered = true;
    /* SYNC_ENOENT under the live lease: etcd ended it first; so are the
     * session's holds. */
    if (cluster_job_lease_live(j))
        cluster_lease_lost(j->cs, gone);
    return again;
}

void cluster_lease_lost(struct csess *cs, const char *why)
{
    struct list_node *n;
    struct cjob *r;

    if (cs->lease_state != LEASE_LIVE)
        return;
    cs->cl->stats.leases_lost++;
    log_warnx("cluster: lease %llx of pid %d uid %u given up: %s",
              (unsigned long long)cs->lease, cs->s ? (int)cs->s->pid : -1,
              cs->s ? (unsigned)cs->s->uid : 0, why);
    cluster_lock_lost(cs);
    cluster_sem_lost(cs);
    cluster_lease_stop_jobs(cs);
    /* If etcd still has it, free its keys now rather than at expiry. */
    r = cluster_job_new(cs->cl, NULL, CJ_REVOKE);
    if (r != NULL) {
        r->lease = cs->lease;
        cluster_job_start(r);
    }
    cs->lease_state = LEASE_NONE;
    cs->lease = 0;
    /* Grants held back for a keepalive were refused: the next acquires of
     * this session may go (with a new lease). */
    for (n = cs->objs.next; cs->s != NULL && n != &cs->objs; n = n->next)
        cluster_unpark(cs, container_of(n, struct cobj, link));
}

void cluster_session_closing(struct session *s)
{
    struct csess *cs = s->cluster;
    struct list_node *n, *tmp, *m, *mt;
    struct cobj *o;
    struct cjob *j, *r;
    uint32_t i;

    if (cs == NULL)
        return;
    s->cluster = NULL;
    list_foreach_safe(n, tmp, &cs->jobs) {
        j = container_of(n, struct cjob, slink);
        j->answered = true;
        etcd_ctx_cancel(&j->ctx);
    }
    list_foreach_safe(n, tmp, &cs->objs) {
        o = container_of(n, struct cobj, link);
        if (o->st == COBJ_HELD)
            log_info("cluster: %s '%s' released: holder pid %d uid %u is "
                     "gone (lease revoked)", object_type_name(o->type),
                     o->name, (int)s->pid, (unsigned)s->uid);
        if (o->act.rev != 0)
            log_info("cluster: barrier '%s' broken: pid %d uid %u died "
                     "running its action (lease revoked)", o->name,
                     (int)s->pid, (unsigned)s->uid);
        list_foreach_safe(m, mt, &o->parked) {
            j = container_of(m, struct cjob, link);
            list_remove(&j->link);
            cluster_cobj_rele(cs, j->obj);
            cluster_job_free(j);
        }
        cluster_confirm_forget(o);
    }
    cs->s = NULL;
    cluster_sem_forget(cs, 0, false);
    for (i = 0; i < cs->cap; i++)
        if (cs->handles[i] != NULL) {
            o = cs->handles[i];
            cs->handles[i] = NULL;
            cluster_cobj_rele(cs, o);
        }
    if (cs->lease_state == LEASE_LIVE) {
        r = cluster_job_new(cs->cl, NULL, CJ_REVOKE);
        if (r != NULL) {
            r->lease = cs->lease;
            cluster_job_start(r);
        }
    }
    cluster_csess_maybe_free(cs);
}

/* Parked acquires whose timeout passed answer "timed out". */
static void cluster_tick_parked(struct csess *cs, int64_t now)
{
    struct list_node *n, *m, *mt;
    struct cobj *o;
    struct cjob *j;

    for (n = cs->objs.next; n != &cs->objs; n = n->next) {
        o = container_of(n, struct cobj, link);
        list_foreach_safe(m, mt, &o->parked) {
            j = container_of(m, struct cjob, link);
            if (j->deadline_ms < 0 || now < j->deadline_ms)
                continue;
            list_remove(&j->link);
            cluster_reply(j, SYNC_ETIMEDOUT, NULL);
            o->refs--; /* o stays: it is on cs->objs with a handle */
            cluster_job_free(j);
        }
    }
}

/* Whether j, ended at its deadline, may be answered before its job is
 * done: what the job still does is clean-up the client need not wait for
 * (a grant that lands after is released; a permit taken is given back).
 * Not a Barrier wait (its timeout breaks the round: the others must see
 * that first) nor a Condition's (it ends holding the lock again). */
static bool cluster_job_ends_early(const struct cjob *j)
{
    return j->kind == CJ_ACQUIRE || j->kind == CJ_SEM_ACQUIRE ||
           j->kind == CJ_EVENT_WAIT;
}

int64_t cluster_job_due_ms(const struct cjob *j)
{
    if (j->deadline_ms >= 0)
        return j->deadline_ms + CLUSTER_LATE_MS;
    /* A try (no waiting) is one txn when etcd answers: it must not hang
     * for an election. */
    if (!j->may_wait && cluster_job_ends_early(j))
        return j->started_ms + CLUSTER_TRY_MS;
    return -1;
}

/*
 * Waits whose deadline passed while an etcd call of theirs hangs: a wait
 * with a timeout returns in time when etcd does not answer (without this,
 * after every call's own retries: up to 6 s each, then SYNC_EUNAVAIL).
 * As a client's cancel does, the job is stopped and ends as a timeout.
 */
static void cluster_tick_running(struct csess *cs, int64_t now)
{
    struct list_node *n;
    struct cjob *j;
    int64_t due;

    for (n = cs->jobs.next; n != &cs->jobs; n = n->next) {
        j = container_of(n, struct cjob, slink);
        due = cluster_job_due_ms(j);
        if (j->answered || j->cancel_as_timeout || due < 0 || now < due ||
            !cluster_job_cancellable(j))
            continue;
        j->cancel_as_timeout = true;
        etcd_ctx_cancel(&j->ctx);
        if (cluster_job_ends_early(j)) {
            log_info("cluster: %s '%s': the wait of pid %d uid %u timed out "
                     "with an etcd call unanswered",
                     object_type_name((enum object_type)j->type), j->name,
                     (int)cs->s->pid, (unsigned)cs->s->uid);
            cluster_reply(j, SYNC_ETIMEDOUT, NULL);
        }
    }
}

static void cluster_tick_cb(uv_timer_t *t)
{
    struct cluster *cl = t->data;
    int64_t now = etcd_now_ms(), ttl = (int64_t)cl->ttl_s * 1000;
    struct list_node *n, *tmp;
    struct csess *cs;

    list_foreach_safe(n, tmp, &cl->sessions) {
        cs = container_of(n, struct csess, link);
        if (cs->s == NULL)
            continue;
        cluster_tick_parked(cs, now);
        cluster_tick_running(cs, now);
        cluster_lease_wait_expired(cs, now);
        if (cs->lease_state != LEASE_LIVE)
            continue;
        if (now - cs->lease_ok_ms > ttl - ttl / 5) {
            cluster_lease_lost(cs, "no keepalive answered in 4/5 of the "
                                   "TTL (etcd out of reach)");
            continue;
        }
        if (now - cs->ka_sent_ms >= ttl / 4)
            cluster_keepalive_start(cs, now);
    }
}

void cluster_keepalive_start(struct csess *cs, int64_t now)
{
    struct cjob *k;

    if (cs->ka_inflight || cs->lease_state != LEASE_LIVE)
        return;
    k = cluster_job_new(cs->cl, cs, CJ_KEEPALIVE);
    if (k == NULL)
        return;
    k->lease = cs->lease;
    cs->ka_inflight = true;
    cs->ka_sent_ms = now;
    cluster_job_start(k);
}

int cluster_start(struct server *srv, const struct cluster_config *cfg,
                  const char **why)
{
    struct cluster *cl = xmalloc(sizeof(*cl));
    int rv;

    *why = NULL;
    if (cl == NULL)
        return SYNC_ENOMEM;
    memset(cl, 0, sizeof(*cl));
    cl->srv = srv;
    cl->ttl_s = cfg->ttl_s;
    list_init(&cl->sessions);
    if (gethostname(cl->host, sizeof(cl->host) - 1) != 0)
        strcpy(cl->host, "?");
    /* Characters that would need escaping in the holder's JSON go. */
    for (char *p = cl->host; *p; p++)
        if (*p == '"' || *p == '\\' || (unsigned char)*p < 0x20)
            *p = '_';
    /* One attempt 2 s; a call with its failovers 6 s: beyond a leader
     * election (~2 s), short of a client's patience. */
    rv = etcd_new(&cl->etcd, cfg->urls, &cfg->tls, 2000, 6000, why);
    if (rv != 0) {
        xfree(cl);
        return rv;
    }
    if (cluster_jobs_init(cl) != 0) {
        etcd_free(cl->etcd);
        xfree(cl);
        return SYNC_EINTERNAL;
    }
    /* Without it every job runs on a worker, only slower. */
    cl->eloop = etcd_loop_new(cl->etcd, srv->loop);
    uv_timer_init(srv->loop, &cl->tick);
    cl->tick.data = cl;
    uv_timer_start(&cl->tick, cluster_tick_cb, CLUSTER_TICK_MS,
                   CLUSTER_TICK_MS);
    srv->cluster = cl;
    log_info("cluster: cluster/ names in etcd at %s (%zu member(s)), "
             "session lease TTL %u s", cfg->urls,
             etcd_n_endpoints(cl->etcd), cl->ttl_s);
    return 0;
}

static void cluster_closed(struct cluster *cl)
{
    /* libuv runs close callbacks in no promised order: whichever of the
     * handles comes last frees cl (the others must not touch it after
     * that one freed it). */
    if (--cl->closing > 0)
        return;
    log_info("cluster: stopped after %llu etcd request(s), %llu failed, "
             "%llu lease(s) lost", (unsigned long long)cl->stats.requests,
             (unsigned long long)cl->stats.errors,
             (unsigned long long)cl->stats.leases_lost);
    cl->srv->cluster = NULL;
    cluster_jobs_fini(cl);
    etcd_free(cl->etcd);
    if (cl->on_stopped != NULL)
        cl->on_stopped(cl->stopped_arg);
    xfree(cl);
}

static void cluster_closed_cb(uv_handle_t *h)
{
    cluster_closed(h->data);
}

static void cluster_eloop_closed(void *arg)
{
    cluster_closed(arg);
}

void cluster_maybe_stopped(struct cluster *cl)
{
    if (!cl->stopping || cl->running > 0 || cl->closed)
        return;
    cl->closed = true;
    cl->closing = cl->eloop != NULL ? 3 : 2;
    uv_close((uv_handle_t *)&cl->tick, cluster_closed_cb);
    uv_close((uv_handle_t *)&cl->async, cluster_closed_cb);
    if (cl->eloop != NULL)
        etcd_loop_close(cl->eloop, cluster_eloop_closed, cl);
}

void cluster_stop(struct cluster *cl, void (*done)(void *arg), void *arg)
{
    cl->stopping = true;
    cl->on_stopped = done;
    cl->stopped_arg = arg;
    uv_timer_stop(&cl->tick);
    cluster_maybe_stopped(cl);
}
