/*
 * cluster_barrier.c: a session's Barrier requests on cluster names
 * (recipe_barrier.c).  A waiting party's arrival key lives under its
 * session's lease, so its death breaks the round for every party within
 * the lease's end.  The barrier action is refused: running a client's
 * code while parties on other hosts hold the round would need the round
 * held in etcd by a party that may die mid-action (not done yet).
 */
#include "cluster/cluster_prim.h"

#include "codec.h"
#include "log.h"
#include "cluster/recipe_prim.h"
#include "session.h"

void cluster_barrier_run(struct cjob *j)
{
    if (j->kind == CJ_BARRIER_WAIT)
        j->rv = recipe_barrier_wait(&j->ctx, j->name, j->inc, j->param,
                                    j->lease, j->seq, j->info,
                                    j->deadline_ms, &j->value);
    else
        j->rv = recipe_barrier_op(&j->ctx, j->name, j->inc, j->flag);
}

bool cluster_barrier_request(struct csess *cs, struct cobj *o,
                             const struct request *rq)
{
    struct session *s = cs->s;
    struct cjob *j;

    switch (rq->op) {
    case OP_BARRIER_WAIT:
        if (rq->action) {
            log_warnx("client pid %d uid %u: barrier '%s': an action was "
                      "offered; cluster barriers run none", (int)s->pid,
                      (unsigned)s->uid, o->name);
            cluster_send(s, rq->id, SYNC_EINVAL,
                         "a barrier on a cluster/ name runs no action: "
                         "wait without one");
            return true;
        }
        if ((j = cluster_job_for(cs, o, rq, CJ_BARRIER_WAIT)) == NULL)
            return true;
        /* No wait allowed: only the last arrival gets through. */
        if (!j->may_wait)
            j->deadline_ms = etcd_now_ms();
        j->seq = ++cs->seq;
        cluster_holder_info(cs, j);
        cluster_with_lease(cs, j);
        return true;
    case OP_BARRIER_RESET:
    case OP_BARRIER_ABORT:
        if ((j = cluster_job_for(cs, o, rq, CJ_BARRIER_OP)) == NULL)
            return true;
        j->flag = rq->op == OP_BARRIER_RESET;
        cluster_job_start(j);
        return true;
    case OP_BARRIER_ACTION_DONE:
        cluster_send(s, rq->id, SYNC_EPERM,
                     "no barrier action runs on cluster/ names");
        return true;
    default:
        return false;
    }
}

void cluster_barrier_done(struct cjob *j)
{
    struct session *s = j->cs->s;
    int rv = j->rv;

    if (j->kind == CJ_BARRIER_OP) {
        if (rv == 0 && s != NULL)
            log_info("cluster: barrier '%s' %s by pid %d uid %u", j->name,
                     j->flag ? "reset" : "aborted", (int)s->pid,
                     (unsigned)s->uid);
        cluster_reply(j, rv, NULL);
        return;
    }
    if (rv == 0) {
        cluster_prim_granted(j, 0, j->value);
        return;
    }
    /* A cancelled wait ends as a timeout does: it broke the barrier. */
    if (rv == SYNC_EINTR && j->cancel_as_timeout)
        rv = SYNC_EBROKEN;
    if (rv == SYNC_EBROKEN && s != NULL)
        log_info("cluster: barrier '%s': the wait of pid %d uid %u ended "
                 "broken", j->name, (int)s->pid, (unsigned)s->uid);
    cluster_reply(j, rv == SYNC_ENOENT ? SYNC_EUNAVAIL : rv,
                  rv == SYNC_EBROKEN
                      ? "the barrier is broken (a party timed out, died or "
                        "was cancelled, or it was aborted or reset)"
                      : NULL);
}
