/*
 * cluster_sem.c: a session's Semaphore/BoundedSemaphore requests on
 * cluster names.  Nothing is kept here between requests: the permits are
 * keys in etcd (recipe_sem.c), an UNDO handle's under the session's
 * lease, so its client's death gives them back when the lease is revoked.
 */
#include "cluster/cluster_prim.h"

#include <stdio.h>

#include "codec.h"
#include "log.h"
#include "cluster/recipe_prim.h"
#include "server.h"
#include "session.h"

/* The recipe's view of job j's semaphore. */
static struct recipe_sem cluster_sem_of(const struct cjob *j)
{
    struct recipe_sem rs = {
        .name = j->name, .inc = j->inc, .initial = j->param,
        .bounded = j->type == OBJECT_BOUNDED_SEMAPHORE, .lease = j->lease,
        .handle = j->obj != NULL && j->obj->undo ? j->handle : 0,
        .seq = j->seq};

    return rs;
}

void cluster_sem_run(struct cjob *j)
{
    struct recipe_sem rs = cluster_sem_of(j);

    switch (j->kind) {
    case CJ_SEM_ACQUIRE:
        j->rv = recipe_sem_acquire(&j->ctx, &rs, j->info, j->deadline_ms,
                                   j->may_wait, &j->token);
        break;
    case CJ_SEM_RELEASE:
        j->rv = recipe_sem_release(&j->ctx, &rs, j->n);
        break;
    default:
        j->rv = recipe_sem_undo(&j->ctx, &rs);
        break;
    }
}

void cluster_sem_undo(struct csess *cs, struct cobj *o, uint32_t h,
                      uint64_t seq, int64_t lease)
{
    struct cjob *j = cluster_prim_job_on(cs, o, CJ_SEM_UNDO);

    if (j == NULL) {
        /* The permits stay taken until the lease ends: end it now. */
        cluster_lease_lost(cs, "out of memory giving back UNDO permits");
        return;
    }
    j->handle = h;
    j->seq = seq;
    j->lease = lease;
    cluster_job_start(j);
}

bool cluster_sem_request(struct csess *cs, struct cobj *o,
                         const struct request *rq)
{
    struct cjob *j;

    switch (rq->op) {
    case OP_ACQUIRE:
        if ((j = cluster_job_for(cs, o, rq, CJ_SEM_ACQUIRE)) == NULL)
            return true;
        j->seq = ++cs->seq;
        cluster_holder_info(cs, j);
        cluster_with_lease(cs, j);
        return true;
    case OP_RELEASE:
        if (rq->n == 0) {
            cluster_send(cs->s, rq->id, SYNC_EINVAL,
                         "a release gives back at least one permit");
            return true;
        }
        if ((j = cluster_job_for(cs, o, rq, CJ_SEM_RELEASE)) == NULL)
            return true;
        j->n = rq->n;
        /* An UNDO handle's own permits are under the live lease. */
        j->lease = cs->lease_state == LEASE_LIVE ? cs->lease : 0;
        cluster_job_start(j);
        return true;
    default:
        return false;
    }
}

static void cluster_sem_acquired(struct cjob *j)
{
    struct csess *cs = j->cs;
    int rv = j->rv;

    if (rv == 0 && (j->answered || cs->s == NULL)) {
        /* Taken after the wait ended (its handle closed, its client
         * left): give that permit back. */
        cluster_sem_undo(cs, j->obj, j->handle, j->seq, j->lease);
        return;
    }
    if (rv == 0) {
        cs->cl->srv->stats.acquisitions++;
        cluster_prim_granted(j, j->token, 0);
        return;
    }
    if (rv == SYNC_EINTR && j->cancel_as_timeout)
        rv = SYNC_ETIMEDOUT;
    cluster_reply(j, rv == SYNC_ENOENT ? SYNC_EUNAVAIL : rv,
                  rv == SYNC_ENOENT ? "this agent's etcd lease ended while "
                                      "the permit was sought"
                                    : NULL);
}

void cluster_sem_done(struct cjob *j)
{
    switch (j->kind) {
    case CJ_SEM_ACQUIRE:
        cluster_sem_acquired(j);
        break;
    case CJ_SEM_RELEASE:
        cluster_reply(j, j->rv,
                      j->rv == SYNC_EVALUE ? "semaphore released too many "
                                             "times"
                                           : NULL);
        break;
    default:
        if (j->rv != 0)
            log_warnx("cluster: %s '%s': giving back UNDO permits: %s (they "
                      "come back when the lease ends)",
                      object_type_name((enum object_type)j->type), j->name,
                      sync_strerror(j->rv));
        else if (j->seq == 0 && j->cs->s != NULL)
            log_info("cluster: %s '%s': UNDO permits of pid %d uid %u given "
                     "back (handle closed)",
                     object_type_name((enum object_type)j->type), j->name,
                     (int)j->cs->s->pid, (unsigned)j->cs->s->uid);
        break;
    }
}
