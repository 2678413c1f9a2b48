/*
 * cluster_prim.c: where the cluster backend meets Semaphore,
 * BoundedSemaphore, Barrier and Condition: the open checks and inputs,
 * the per-session object's fields, closing a handle, queries, and the
 * routing of requests and jobs to cluster_sem.c, cluster_barrier.c and
 * cluster_cond.c.
 */
#include "cluster/cluster_prim.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "codec.h"
#include "log.h"
#include "cluster/recipe_prim.h"
#include "registry.h"
#include "server.h"
#include "session.h"

static bool cluster_prim_type(int t)
{
    return t == OBJECT_SEMAPHORE || t == OBJECT_BOUNDED_SEMAPHORE ||
           t == OBJECT_BARRIER || t == OBJECT_CONDITION;
}

static bool cluster_sem_type(int t)
{
    return t == OBJECT_SEMAPHORE || t == OBJECT_BOUNDED_SEMAPHORE;
}

void cluster_holder_info(struct csess *cs, struct cjob *j)
{
    struct session *s = cs->s;

    snprintf(j->info, sizeof(j->info),
             "{\"host\":\"%s\",\"pid\":%d,\"uid\":%u,\"agent\":%d,"
             "\"session\":%llu}",
             cs->cl->host, s ? (int)s->pid : -1, s ? (unsigned)s->uid : 0,
             (int)getpid(), s ? (unsigned long long)s->id : 0);
}

bool cluster_prim_open_refused(struct session *s, const struct request *rq)
{
    int t = (int)rq->type, code = SYNC_EINVAL;
    bool existing = (rq->flags & WIRE_OPEN_FLAG_EXISTING) != 0;
    const char *why = NULL;

    if (t < OBJECT_LOCK || t > OBJECT_BARRIER)
        why = "unknown object type";
    else if (t == OBJECT_BARRIER && rq->value == 0 && !existing)
        why = "a barrier needs at least one party";
    else if (cluster_sem_type(t) && rq->value > SYNC_SEM_VALUE_MAX)
        why = "a semaphore's value is at most SYNC_SEM_VALUE_MAX";
    else if ((rq->flags & WIRE_OPEN_FLAG_UNDO) && !cluster_sem_type(t))
        why = "flags not valid for this object type";
    else if (rq->lock_name_len > 0 && t != OBJECT_CONDITION)
        why = "invalid lock name for a condition";
    else if (rq->lock_name_len > 0 &&
             (why = registry_name_problem(&s->server->registry,
                                          rq->lock_name,
                                          rq->lock_name_len)) != NULL)
        code = SYNC_ENAME;
    else if (rq->lock_name_len > 0 &&
             !cluster_name(rq->lock_name, rq->lock_name_len))
        why = "a Condition on a cluster/ name needs a cluster/ Lock or "
              "RLock (a local lock cannot guard state other hosts see)";
    if (why == NULL)
        return false;
    log_warnx("client pid %d uid %u: open '%s': %s", (int)s->pid,
              (unsigned)s->uid, rq->name, why);
    cluster_send(s, rq->id, code, why);
    return true;
}

void cluster_prim_open_job(struct cjob *j, const struct request *rq)
{
    j->param = rq->value;
    j->flag = cluster_sem_type(j->type) &&
              (rq->flags & WIRE_OPEN_FLAG_UNDO) != 0;
    if (rq->lock_name_len > 0)
        snprintf(j->lock_name, sizeof(j->lock_name), "%s", rq->lock_name);
}

int cluster_prim_init(struct csess *cs, struct cobj *o, const struct cjob *j)
{
    if (!cluster_prim_type(j->type))
        return 0;
    o->param = j->param;
    if (o->type != OBJECT_CONDITION)
        return 0;
    /* The condition's lock is the session's view of that lock, shared
     * with the session's Lock/RLock handles on it. */
    o->lock = cluster_cobj(cs, j->lock_name, (enum object_type)j->value, 0,
                           false);
    if (o->lock == NULL)
        return SYNC_ENOMEM;
    o->lock->refs++;
    return 0;
}

void cluster_prim_job(struct cjob *j, const struct cobj *o)
{
    j->inc = o->inc;
    j->param = o->param;
    if (o->lock != NULL)
        snprintf(j->lock_name, sizeof(j->lock_name), "%s", o->lock->name);
}

struct cjob *cluster_prim_job_on(struct csess *cs, struct cobj *o,
                                 enum cjob_kind kind)
{
    struct cjob *j = cluster_job_new(cs->cl, cs, kind);

    if (j == NULL)
        return NULL;
    j->answered = true;
    j->obj = o;
    o->refs++;
    j->type = (int)o->type;
    snprintf(j->name, sizeof(j->name), "%s", o->name);
    cluster_prim_job(j, o);
    return j;
}

bool cluster_cobj_in_use(const struct csess *cs, const struct cobj *o)
{
    uint32_t i;

    for (i = 0; i < cs->cap; i++)
        if (cs->handles[i] != NULL &&
            (cs->handles[i] == o || cs->handles[i]->lock == o))
            return true;
    return false;
}

void cluster_prim_close(struct csess *cs, struct cobj *o, uint32_t h)
{
    if (cluster_sem_type(o->type) && o->undo &&
        cs->lease_state == LEASE_LIVE)
        cluster_sem_undo(cs, o, h, 0, cs->lease);
    if (o->lock != NULL && !cluster_cobj_in_use(cs, o->lock))
        cluster_lock_drop(cs, o->lock);
    if (o->type == OBJECT_BARRIER)
        cluster_barrier_close(cs, o);
}

bool cluster_job_cancellable(const struct cjob *j)
{
    switch (j->kind) {
    case CJ_ACQUIRE:
        /* A Condition's wait re-acquiring its lock: it ends holding it. */
        return j->op != OP_COND_WAIT;
    case CJ_EVENT_WAIT:
    case CJ_SEM_ACQUIRE:
    case CJ_BARRIER_WAIT:
    case CJ_COND_SLEEP:
        return true;
    default:
        return false;
    }
}

bool cluster_prim_request(struct session *s, struct csess *cs,
                          struct cobj *o, const struct request *rq)
{
    (void)s;
    switch (o->type) {
    case OBJECT_SEMAPHORE:
    case OBJECT_BOUNDED_SEMAPHORE:
        return cluster_sem_request(cs, o, rq);
    case OBJECT_BARRIER:
        return cluster_barrier_request(cs, o, rq);
    case OBJECT_CONDITION:
        return cluster_cond_request(cs, o, rq);
    default:
        return false;
    }
}

void cluster_prim_granted(struct cjob *j, int64_t token, int64_t index)
{
    struct reply rp = {.id = j->req_id, .kind = REPLY_ACQUIRE};

    if (j->answered || j->cs->s == NULL)
        return;
    j->answered = true;
    rp.u.acquire.token = (uint64_t)token;
    rp.u.acquire.index = index;
    /* A barrier party told to run the round's action. */
    rp.u.acquire.run_action = j->kind == CJ_BARRIER_WAIT && j->act.rev != 0;
    session_send(j->cs->s, &rp);
}

/* A query of a Semaphore, Barrier or Condition (cluster_query_done in
 * cluster_handle.c answers it). */
static void cluster_prim_query(struct cjob *j)
{
    struct etcd_ctx *c = &j->ctx;
    int64_t held;
    uint32_t lock_waiting;

    switch (j->type) {
    case OBJECT_SEMAPHORE:
    case OBJECT_BOUNDED_SEMAPHORE: {
        struct recipe_sem rs = {.name = j->name, .inc = j->inc,
                                .initial = j->param};

        j->rv = recipe_sem_state(c, &rs, &j->value, &j->waiting);
        break;
    }
    case OBJECT_BARRIER:
        j->rv = recipe_barrier_state(c, j->name, j->inc, &j->waiting,
                                     &j->flag);
        j->value = j->waiting;
        break;
    default:
        j->rv = recipe_lock_state(c, j->lock_name, &held, &lock_waiting);
        if (j->rv == 0)
            j->rv = recipe_cond_waiting(c, j->name, j->inc, &j->waiting);
        j->value = held;
        break;
    }
}

bool cluster_prim_run(struct cjob *j)
{
    switch (j->kind) {
    case CJ_OPEN:
        if (j->type == OBJECT_CONDITION)
            cluster_cond_open_run(j);
        else if (cluster_prim_type(j->type))
            j->rv = recipe_prim_open(&j->ctx, j->name, j->type, j->param, "",
                                     j->existing, &j->created, &j->inc,
                                     &j->param, j->lock_name,
                                     sizeof(j->lock_name));
        return cluster_prim_type(j->type);
    case CJ_QUERY:
        if (!cluster_prim_type(j->type))
            return false;
        cluster_prim_query(j);
        return true;
    case CJ_SEM_ACQUIRE:
    case CJ_SEM_RELEASE:
    case CJ_SEM_UNDO:
        cluster_sem_run(j);
        return true;
    case CJ_BARRIER_WAIT:
    case CJ_BARRIER_OP:
        cluster_barrier_run(j);
        return true;
    case CJ_COND_ENTER:
    case CJ_COND_SLEEP:
    case CJ_COND_NOTIFY:
    case CJ_COND_DROP:
        cluster_cond_run(j);
        return true;
    default:
        return false;
    }
}

bool cluster_prim_done(struct cjob *j)
{
    switch (j->kind) {
    case CJ_SEM_ACQUIRE:
    case CJ_SEM_RELEASE:
    case CJ_SEM_UNDO:
        cluster_sem_done(j);
        return true;
    case CJ_BARRIER_WAIT:
    case CJ_BARRIER_OP:
        cluster_barrier_done(j);
        return true;
    case CJ_COND_ENTER:
    case CJ_COND_SLEEP:
    case CJ_COND_NOTIFY:
    case CJ_COND_DROP:
        cluster_cond_done(j);
        return true;
    default:
        return false;
    }
}
