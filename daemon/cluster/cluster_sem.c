/*
 * cluster_sem.c: a session's Semaphore/BoundedSemaphore requests on
 * cluster names.  Nothing is kept here between requests: the permits are
 * keys in etcd (recipe_sem.c), an UNDO handle's under the session's
 * lease, so its client's death gives them back when the lease is revoked.
 * What an UNDO handle holds is counted here (struct cundo), as its client
 * was told: when the lease ends those permits are lost (their keys went
 * with it), and their release says SYNC_ELOST instead of giving back a
 * permit someone else now holds.
 */
#include "cluster/cluster_prim.h"

#include <stdio.h>

#include "xalloc.h"

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

/* An UNDO grant held back until the lease is renewed (as a Lock's,
 * cluster_lock.c): its permit key lives under that lease. */
struct csem_held {
    struct list_node link;       /* in csess->sem_confirming */
    uint64_t id;                 /* the acquire to answer */
    uint32_t handle;
    int64_t token;
};

struct cundo *cluster_sem_undo_of(struct csess *cs, uint32_t h)
{
    uint32_t i = (h & ~CLUSTER_HANDLE_BIT) - 1;

    return cluster_handle(cs, h) != NULL ? &cs->undo[i] : NULL;
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

/* Start acquire j with a contender number of its own, once there is a
 * lease. */
static void cluster_sem_start(struct csess *cs, struct cjob *j)
{
    j->seq = ++cs->seq;
    cluster_holder_info(cs, j);
    cluster_with_lease(cs, j);
}

bool cluster_sem_request(struct csess *cs, struct cobj *o,
                         const struct request *rq)
{
    struct cundo *u;
    struct cjob *j;

    switch (rq->op) {
    case OP_ACQUIRE:
        if ((j = cluster_job_for(cs, o, rq, CJ_SEM_ACQUIRE)) != NULL)
            cluster_sem_start(cs, j);
        return true;
    case OP_RELEASE:
        if (rq->n == 0) {
            cluster_send(cs->s, rq->id, SYNC_EINVAL,
                         "a release gives back at least one permit");
            return true;
        }
        /* Permits lost with an earlier lease come back with it, not
         * here: what is released of them is only counted. */
        if ((u = o->undo ? cluster_sem_undo_of(cs, rq->handle) : NULL) !=
                NULL &&
            u->lost >= rq->n) {
            u->lost -= rq->n;
            cluster_send(cs->s, rq->id, SYNC_ELOST,
                         "the UNDO permits were lost: this agent's etcd "
                         "lease ended while they were held");
            return true;
        }
        if ((j = cluster_job_for(cs, o, rq, CJ_SEM_RELEASE)) == NULL)
            return true;
        j->n_lost = u != NULL ? u->lost : 0;
        j->n = rq->n - j->n_lost;
        if (u != NULL)
            u->lost = 0;
        /* An UNDO handle's own permits are under the live lease. */
        j->lease = cs->lease_state == LEASE_LIVE ? cs->lease : 0;
        cluster_job_start(j);
        return true;
    default:
        return false;
    }
}

/* UNDO permit j was taken: whether to tell it now (counted held).  Its
 * key lives under j's lease: a lease that ended took it along, and one
 * renewed too long ago may end before the client is done (then the grant
 * waits for a keepalive's answer, cluster_sem_confirmed). */
static bool cluster_sem_undo_granted(struct cjob *j)
{
    struct csess *cs = j->cs;
    struct cundo *u = cluster_sem_undo_of(cs, j->handle);
    struct csem_held *h;

    if (!cluster_job_lease_live(j)) {
        cluster_reply(j, SYNC_EUNAVAIL, "this agent's etcd lease ended "
                                        "while the permit was sought");
        return false;
    }
    if (u != NULL && cluster_lease_fresh(cs)) {
        u->held++;
        return true;
    }
    h = u != NULL ? xmalloc(sizeof(*h)) : NULL;
    if (h == NULL) {
        cluster_sem_undo(cs, j->obj, j->handle, j->seq, j->lease);
        cluster_reply(j, u != NULL ? SYNC_ENOMEM : SYNC_EBADF, NULL);
        return false;
    }
    log_info("cluster: UNDO permit of %s '%s' to pid %d uid %u held back "
             "until its lease is renewed (last keepalive answer %lld ms "
             "ago)", object_type_name((enum object_type)j->type), j->name,
             (int)cs->s->pid, (unsigned)cs->s->uid,
             (long long)(etcd_now_ms() - cs->lease_ok_ms));
    h->id = j->req_id;
    h->handle = j->handle;
    h->token = j->token;
    list_insert_tail(&cs->sem_confirming, &h->link);
    j->answered = true;
    cluster_keepalive_start(cs, etcd_now_ms());
    return false;
}

void cluster_sem_confirmed(struct csess *cs)
{
    struct list_node *n, *tmp;
    struct csem_held *h;
    struct cundo *u;

    list_foreach_safe(n, tmp, &cs->sem_confirming) {
        /* A late answer renews too little: one more keepalive. */
        if (!cluster_lease_fresh(cs)) {
            cluster_keepalive_start(cs, etcd_now_ms());
            return;
        }
        h = container_of(n, struct csem_held, link);
        list_remove(&h->link);
        if ((u = cluster_sem_undo_of(cs, h->handle)) != NULL)
            u->held++;
        cluster_send_grant_to(cs, h->id, 0, h->token, false);
        xfree(h);
    }
}

void cluster_sem_lost(struct csess *cs)
{
    struct list_node *n, *tmp;
    struct csem_held *h;
    uint32_t i;

    list_foreach_safe(n, tmp, &cs->sem_confirming) {
        h = container_of(n, struct csem_held, link);
        list_remove(&h->link);
        if (cs->s != NULL)
            cluster_send(cs->s, h->id, SYNC_EUNAVAIL,
                         "this agent's etcd lease ended while the permit "
                         "was sought");
        xfree(h);
    }
    for (i = 0; i < cs->cap; i++) {
        if (cs->handles[i] == NULL || cs->undo[i].held == 0)
            continue;
        log_warnx("cluster: %u UNDO permit(s) of %s '%s' held by pid %d "
                  "uid %u are lost: its lease ended", cs->undo[i].held,
                  object_type_name(cs->handles[i]->type),
                  cs->handles[i]->name, cs->s ? (int)cs->s->pid : -1,
                  cs->s ? (unsigned)cs->s->uid : 0);
        cs->undo[i].lost += cs->undo[i].held;
        cs->undo[i].held = 0;
    }
}

void cluster_sem_forget(struct csess *cs, uint32_t handle, bool reply)
{
    struct list_node *n, *tmp;
    struct csem_held *h;

    list_foreach_safe(n, tmp, &cs->sem_confirming) {
        h = container_of(n, struct csem_held, link);
        if (handle != 0 && h->handle != handle)
            continue;
        list_remove(&h->link);
        if (reply && cs->s != NULL)
            cluster_send(cs->s, h->id, SYNC_EBADF, NULL);
        xfree(h);
    }
}

/* Acquire j ended with its lease (cluster_requeue_due): sought again
 * under a new lease, its waiter or permit key of the old one deleted. */
static bool cluster_sem_again(struct cjob *j)
{
    struct cjob *again = cluster_job_again(j, "etcd ended the lease (a "
                                              "semaphore waiter's key is "
                                              "gone)");

    if (again == NULL)
        return false;
    if (j->lease != 0)
        cluster_sem_undo(j->cs, j->obj, j->handle, j->seq, j->lease);
    cluster_sem_start(j->cs, again);
    return true;
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
    /* (A permit taken without UNDO is not under the lease: it holds.) */
    if ((rv != 0 || j->obj->undo) && cluster_requeue_due(j, rv) &&
        cluster_sem_again(j))
        return;
    if (rv == 0) {
        if (j->obj->undo && !cluster_sem_undo_granted(j))
            return;
        cs->cl->srv->stats.acquisitions++;
        cluster_prim_granted(j, j->token, 0);
        return;
    }
    /* A take whose txn failed or was cut off may have been applied all
     * the same (its answer lost): its key would hold a permit nobody was
     * told of, for ever without UNDO.  Delete that key: gone or never
     * made, the permit is not held.  A timeout never follows a take. */
    if (rv != SYNC_ETIMEDOUT && j->lease != 0)
        cluster_sem_undo(cs, j->obj, j->handle, j->seq, j->lease);
    if (rv == SYNC_EINTR && j->cancel_as_timeout)
        rv = SYNC_ETIMEDOUT;
    cluster_reply(j, rv == SYNC_ENOENT ? SYNC_EUNAVAIL : rv,
                  rv == SYNC_ENOENT ? "this agent's etcd lease ended while "
                                      "the permit was sought"
                                    : NULL);
}

static void cluster_sem_released(struct cjob *j)
{
    struct cundo *u = j->obj->undo && !j->answered
                          ? cluster_sem_undo_of(j->cs, j->handle)
                          : NULL;

    if (j->rv == 0 && u != NULL)
        u->held -= j->n < u->held ? j->n : u->held;
    /* Not done: the lost ones are still to be told at the next try. */
    if (j->rv != 0 && u != NULL)
        u->lost += j->n_lost;
    if (j->rv == 0 && j->n_lost > 0)
        cluster_reply(j, SYNC_ELOST, "some of the UNDO permits were lost: "
                                     "this agent's etcd lease ended while "
                                     "they were held (the others are "
                                     "given back)");
    else
        cluster_reply(j, j->rv,
                      j->rv == SYNC_EVALUE ? "semaphore released too many "
                                             "times"
                                           : NULL);
    /* Not proven given back (etcd may have applied it): as a Lock's
     * release, end the lease, so the UNDO permits go with it and are
     * counted lost, and a release sent again cannot give back someone
     * else's permit in place of one already gone. */
    if (u != NULL && j->rv != 0 && j->rv != SYNC_EVALUE &&
        j->cs->s != NULL && j->cs->lease == j->lease)
        cluster_lease_lost(j->cs, "a release of UNDO permits did not reach "
                                  "etcd");
}

void cluster_sem_done(struct cjob *j)
{
    switch (j->kind) {
    case CJ_SEM_ACQUIRE:
        cluster_sem_acquired(j);
        break;
    case CJ_SEM_RELEASE:
        cluster_sem_released(j);
        break;
    default:
        if (j->rv != 0)
            log_warnx("cluster: %s '%s': giving back %s: %s (%s)",
                      object_type_name((enum object_type)j->type), j->name,
                      j->obj->undo ? "UNDO permits" : "a permit taken by "
                                                      "a failed acquire",
                      sync_strerror(j->rv),
                      j->obj->undo ? "they come back when the lease ends"
                                   : "it stays taken");
        else if (j->seq == 0 && j->cs->s != NULL)
            log_info("cluster: %s '%s': UNDO permits of pid %d uid %u given "
                     "back (handle closed)",
                     object_type_name((enum object_type)j->type), j->name,
                     (int)j->cs->s->pid, (unsigned)j->cs->s->uid);
        break;
    }
}
