/*
 * cluster_barrier.c: a session's Barrier requests on cluster names
 * (recipe_barrier.c).  A waiting party's arrival key lives under its
 * session's lease, so its death breaks the round for every party within
 * the lease's end.  The barrier action: the party told to run it keeps
 * its arrival key while it runs (the session remembers the round's act
 * key in its cobj); its report completes the round or breaks it, and its
 * death (the lease ends) or its handle closing breaks it.
 */
#include "cluster/cluster_prim.h"

#include <stdio.h>

#include "codec.h"
#include "log.h"
#include "cluster/recipe_prim.h"
#include "session.h"

/* CJ_BARRIER_OP's j->n. */
enum barrier_op { BARRIER_ABORT, BARRIER_RESET, BARRIER_ACTED_OK,
                  BARRIER_ACTED_FAILED };

void cluster_barrier_run(struct cjob *j)
{
    struct recipe_barrier b = {.name = j->name, .inc = j->inc,
                               .parties = j->param, .lease = j->lease,
                               .seq = j->seq, .offers = j->flag};

    if (j->kind == CJ_BARRIER_WAIT)
        j->rv = recipe_barrier_wait(&j->ctx, &b, j->info, j->deadline_ms,
                                    &j->value, &j->act);
    else if (j->n == BARRIER_ACTED_OK || j->n == BARRIER_ACTED_FAILED)
        j->rv = recipe_barrier_acted(&j->ctx, j->name, j->inc, &j->act,
                                     j->n == BARRIER_ACTED_OK);
    else
        j->rv = recipe_barrier_op(&j->ctx, j->name, j->inc,
                                  j->n == BARRIER_RESET);
}

/* Report o's action (act) as failed for a party that cannot: the round
 * breaks for the others rather than waiting for a report that will not
 * come. */
static void cluster_barrier_unact(struct csess *cs, struct cobj *o,
                                  const struct recipe_barrier_act *act,
                                  const char *why)
{
    struct cjob *j = cluster_prim_job_on(cs, o, CJ_BARRIER_OP);

    if (cs->s != NULL)
        log_info("cluster: barrier '%s' broken: %s (pid %d uid %u)",
                 o->name, why, (int)cs->s->pid, (unsigned)cs->s->uid);
    if (j == NULL) {
        /* Its arrival key goes with the lease: end it now. */
        cluster_lease_lost(cs, "out of memory breaking a barrier");
        return;
    }
    j->n = BARRIER_ACTED_FAILED;
    j->act = *act;
    cluster_job_start(j);
}

void cluster_barrier_close(struct csess *cs, struct cobj *o)
{
    struct recipe_barrier_act act = o->act;

    if (act.rev == 0 || cluster_cobj_in_use(cs, o))
        return;
    o->act.rev = 0;
    cluster_barrier_unact(cs, o, &act,
                          "the handle of the party running its action "
                          "closed");
}

bool cluster_barrier_request(struct csess *cs, struct cobj *o,
                             const struct request *rq)
{
    struct session *s = cs->s;
    struct cjob *j;

    switch (rq->op) {
    case OP_BARRIER_WAIT:
        if ((j = cluster_job_for(cs, o, rq, CJ_BARRIER_WAIT)) == NULL)
            return true;
        /* No wait allowed: only the last arrival gets through. */
        if (!j->may_wait)
            j->deadline_ms = etcd_now_ms();
        j->flag = rq->action;
        j->seq = ++cs->seq;
        cluster_holder_info(cs, j);
        cluster_with_lease(cs, j);
        return true;
    case OP_BARRIER_RESET:
    case OP_BARRIER_ABORT:
        if ((j = cluster_job_for(cs, o, rq, CJ_BARRIER_OP)) == NULL)
            return true;
        j->n = rq->op == OP_BARRIER_RESET ? BARRIER_RESET : BARRIER_ABORT;
        cluster_job_start(j);
        return true;
    case OP_BARRIER_ACTION_DONE:
        if (o->act.rev == 0) {
            log_warnx("client pid %d uid %u: barrier '%s': action reported "
                      "by a client not running it", (int)s->pid,
                      (unsigned)s->uid, o->name);
            cluster_send(s, rq->id, SYNC_EPERM,
                         "this client is not running the barrier's action");
            return true;
        }
        if ((j = cluster_job_for(cs, o, rq, CJ_BARRIER_OP)) == NULL)
            return true;
        /* rq->action: the action failed. */
        j->n = rq->action ? BARRIER_ACTED_FAILED : BARRIER_ACTED_OK;
        j->act = o->act;
        o->act.rev = 0;
        cluster_job_start(j);
        return true;
    default:
        return false;
    }
}

static void cluster_barrier_op_done(struct cjob *j)
{
    struct session *s = j->cs->s;
    int rv = j->rv;

    if (rv == 0 && s != NULL && j->n == BARRIER_ACTED_FAILED && !j->answered)
        log_info("cluster: barrier '%s' broken: its action failed in pid %d "
                 "uid %u", j->name, (int)s->pid, (unsigned)s->uid);
    else if (rv == 0 && s != NULL &&
             (j->n == BARRIER_RESET || j->n == BARRIER_ABORT))
        log_info("cluster: barrier '%s' %s by pid %d uid %u", j->name,
                 j->n == BARRIER_RESET ? "reset" : "aborted", (int)s->pid,
                 (unsigned)s->uid);
    else if (rv != 0 && rv != SYNC_EBROKEN && j->n >= BARRIER_ACTED_OK)
        log_warnx("cluster: barrier '%s': reporting its action: %s (its "
                  "round ends with the lease of the party that ran it)",
                  j->name, sync_strerror(rv));
    cluster_reply(j, rv,
                  rv == SYNC_EBROKEN ? "the barrier broke while the action "
                                       "ran"
                                     : NULL);
}

void cluster_barrier_done(struct cjob *j)
{
    struct csess *cs = j->cs;
    struct session *s = cs->s;
    int rv = j->rv;

    if (j->kind == CJ_BARRIER_OP) {
        cluster_barrier_op_done(j);
        return;
    }
    if (rv == 0 && j->act.rev != 0) {
        if (j->answered || s == NULL) {
            /* Told to run the action after its wait ended (cancelled,
             * handle closed, client gone). */
            cluster_barrier_unact(cs, j->obj, &j->act,
                                  "the party told to run its action had "
                                  "stopped waiting");
            return;
        }
        j->obj->act = j->act;
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
                        "was cancelled, its action failed, or it was "
                        "aborted or reset)"
                      : NULL);
}
