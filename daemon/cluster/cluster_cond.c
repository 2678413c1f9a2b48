/*
 * cluster_cond.c: a session's Condition requests on cluster names.  The
 * condition's lock is the session's view of a cluster Lock/RLock
 * (cobj.lock, cluster_lock.c), so a Condition handle's acquire and
 * release are the lock's.  A wait is three jobs: enter (queue and release
 * in one txn), then, the lock being free for the client's other threads,
 * sleep until notified or timed out, then the lock's own acquire, whose
 * grant answers the wait with the levels it had (recipe_cond.c).  A
 * notify queued the woken waiter's contender key already: the acquire
 * adopts it.  One acquisition per client and lock runs at a time
 * (cluster_lock.c): a woken waiter whose client's other thread holds the
 * lock parks with its key, and the parked keys go in queue order, the
 * order of the notify, however their wake-ups reach the agent.  Only when
 * another thread's acquire is already on its way with a key queued after
 * the woken waiter's (it would wait for that key forever) is the woken
 * key dropped and the acquire queued anew.
 */
#include "cluster/cluster_prim.h"

#include <stdio.h>
#include <string.h>

#include "codec.h"
#include "log.h"
#include "cluster/recipe_prim.h"
#include "session.h"

void cluster_cond_open_run(struct cjob *j)
{
    struct etcd_ctx *c = &j->ctx;
    char lock[RECIPE_LOCK_NAME_MAX] = "";
    int type = OBJECT_RLOCK;

    /* A lock of the wrong type makes no condition. */
    j->rv = j->lock_name[0] && !j->existing
                ? recipe_cond_lock_open(c, j->lock_name, &type)
                : 0;
    if (j->rv == 0)
        j->rv = recipe_prim_open(c, j->name, OBJECT_CONDITION, 0,
                                 j->lock_name, j->existing, &j->created,
                                 &j->inc, &j->param, lock, sizeof(lock));
    if (j->rv == 0 && j->existing && lock[0])
        j->rv = recipe_cond_lock_open(c, lock, &type);
    /* No lock named: the condition's private RLock, under its own name. */
    snprintf(j->lock_name, sizeof(j->lock_name), "%s",
             lock[0] ? lock : j->name);
    j->value = type;
}

/* The recipe's view of job j's condition. */
static struct recipe_cond cluster_cond_of(const struct cjob *j)
{
    struct recipe_cond rc = {.name = j->name, .inc = j->inc, .info = j->info,
                             .lock = j->lock_name, .lease = j->lease,
                             .lock_seq = j->lock_seq, .grant = j->grant};

    return rc;
}

void cluster_cond_run(struct cjob *j)
{
    struct recipe_cond rc = cluster_cond_of(j);

    switch (j->kind) {
    case CJ_COND_ENTER:
        j->rv = recipe_cond_enter(&j->ctx, &rc, j->seq);
        break;
    case CJ_COND_SLEEP:
        j->rv = recipe_cond_sleep(&j->ctx, &rc, j->seq, j->deadline_ms,
                                  &j->ahead);
        break;
    case CJ_COND_DROP:
        recipe_lock_forget(&j->ctx, j->lock_name, j->lease, j->seq);
        break;
    default:
        j->rv = recipe_cond_notify(&j->ctx, &rc, j->n, j->flag);
        break;
    }
}

/* Whether the request's thread may wait or notify: it holds the lock. */
static bool cluster_cond_owned(const struct cobj *lk, uint64_t thread)
{
    return lk->st == COBJ_HELD &&
           (lk->type == OBJECT_LOCK || lk->thread == thread);
}

/* Copy the held lock's contender key into j. */
static void cluster_cond_hold(struct cjob *j, const struct cobj *lk)
{
    j->lease = lk->lease;
    j->lock_seq = lk->seq;
    j->grant = lk->grant;
    j->depth = lk->depth;
}

bool cluster_cond_request(struct csess *cs, struct cobj *o,
                          const struct request *rq)
{
    struct cobj *lk = o->lock;
    struct cjob *j;

    switch (rq->op) {
    case OP_ACQUIRE:
        if ((j = cluster_job_for(cs, lk, rq, CJ_ACQUIRE)) != NULL)
            cluster_lock_acquire(cs, j);
        return true;
    case OP_RELEASE:
        cluster_lock_release(cs, lk, rq);
        return true;
    case OP_COND_WAIT:
    case OP_COND_NOTIFY:
        break;
    default:
        return false;
    }
    if (lk->st == COBJ_LOST) {
        cluster_send(cs->s, rq->id, SYNC_ELOST,
                     "the condition's lock was lost: this agent's etcd "
                     "lease ended");
        return true;
    }
    if (!cluster_cond_owned(lk, rq->thread)) {
        cluster_send(cs->s, rq->id, SYNC_EPERM,
                     rq->op == OP_COND_WAIT
                         ? "wait needs the condition's lock"
                         : "notify needs the condition's lock");
        return true;
    }
    j = cluster_job_for(cs, o, rq,
                        rq->op == OP_COND_WAIT ? CJ_COND_ENTER
                                               : CJ_COND_NOTIFY);
    if (j == NULL)
        return true;
    cluster_cond_hold(j, lk);
    if (rq->op == OP_COND_NOTIFY) {
        j->n = rq->n;
        j->flag = rq->notify_all;
    } else {
        j->seq = ++cs->seq;
        cluster_holder_info(cs, j);
        /* The lock is on its way out: the client's other threads wait
         * for the release to be done. */
        lk->st = COBJ_RELEASING;
    }
    cluster_job_start(j);
    return true;
}

/* The next job of wait prev (the same request and thread) on obj. */
static struct cjob *cluster_cond_next(struct cjob *prev, enum cjob_kind kind,
                                      struct cobj *obj)
{
    struct cjob *j = cluster_job_new(prev->cl, prev->cs, kind);

    if (j == NULL)
        return NULL;
    j->req_id = prev->req_id;
    j->op = OP_COND_WAIT;
    j->handle = prev->handle;
    j->thread = prev->thread;
    j->type = (int)obj->type;
    j->obj = obj;
    obj->refs++;
    snprintf(j->name, sizeof(j->name), "%s", obj->name);
    cluster_prim_job(j, obj);
    j->depth = prev->depth;
    j->lease = prev->lease;
    j->seq = prev->seq;
    memcpy(j->info, prev->info, sizeof(j->info));
    return j;
}

/* Released and queued: sleep in a job of its own. */
static void cluster_cond_entered(struct cjob *e)
{
    struct csess *cs = e->cs;
    struct cobj *lk = e->obj->lock;
    struct cjob *j;

    lk->st = COBJ_FREE;
    lk->depth = 0;
    if (e->rv != 0) {
        if (e->rv != SYNC_ENOENT && cs->s != NULL && cs->lease == e->lease)
            cluster_lease_lost(cs, "a condition wait's release did not "
                                   "reach etcd");
        cluster_reply(e, e->rv == SYNC_ENOENT ? SYNC_ELOST : e->rv,
                      e->rv == SYNC_ENOENT ? "the condition's lock was lost "
                                             "before the wait"
                                           : NULL);
    } else if (cs->s != NULL &&
               (j = cluster_cond_next(e, CJ_COND_SLEEP, e->obj)) != NULL) {
        j->answered = e->answered;
        /* A wait already answered (its handle closed) withdraws now. */
        j->deadline_ms = e->answered || !e->may_wait ? etcd_now_ms()
                                                     : e->deadline_ms;
        cluster_job_start(j);
    } else {
        cluster_reply(e, SYNC_ENOMEM, NULL);
    }
    cluster_unpark(cs, lk);
}

void cluster_cond_forget(struct csess *cs, struct cobj *lk, int64_t lease,
                         uint64_t seq)
{
    struct cjob *d = cluster_prim_job_on(cs, lk, CJ_COND_DROP);

    if (d == NULL) {
        cluster_lease_lost(cs, "out of memory dropping a condition "
                               "waiter's lock key");
        return;
    }
    d->lease = lease;
    d->seq = seq;
    snprintf(d->lock_name, sizeof(d->lock_name), "%s", lk->name);
    cluster_job_start(d);
}

/* The contender key a notify queued for wait w serves nobody: drop it
 * (else it would hold up the lock until w's lease ends). */
static void cluster_cond_drop(struct cjob *w)
{
    cluster_cond_forget(w->cs, w->obj->lock, w->lease, w->seq);
}

bool cluster_cond_ahead_waking(const struct csess *cs, const struct cjob *j)
{
    const struct list_node *n;
    const struct cjob *s;
    uint32_t i;

    for (n = cs->jobs.next; n != &cs->jobs; n = n->next) {
        s = container_of(n, struct cjob, slink);
        if (s->kind != CJ_COND_SLEEP || s->obj->lock != j->obj)
            continue;
        for (i = 0; i < j->ahead.n && i < RECIPE_AHEAD_MAX; i++)
            if (j->ahead.seq[i] == s->seq)
                return true;
    }
    return false;
}

/* Whether woken acquire a may keep the key its notify queued: not when
 * another acquire of the session is on its way with a key queued after
 * it (a fresh acquire's key is newer than any key a notify queued before
 * it started; an adopting one's revision is known). */
static bool cluster_cond_may_keep(const struct csess *cs,
                                  const struct cobj *lk, const struct cjob *a)
{
    const struct list_node *n;
    const struct cjob *q;

    if (lk->st != COBJ_ACQUIRING)
        return a->ahead.rev != 0;
    for (n = cs->jobs.next; n != &cs->jobs; n = n->next) {
        q = container_of(n, struct cjob, slink);
        if (q->kind == CJ_ACQUIRE && q->obj == lk)
            return q->adopt && q->ahead.rev < a->ahead.rev;
    }
    return false; /* waiting for the session's lease: a fresh one */
}

/* Notified or timed out: get the lock back as the lock's own acquire. */
static void cluster_cond_woken(struct cjob *w)
{
    struct csess *cs = w->cs;
    struct cobj *lk = w->obj->lock;
    int rv = w->rv == SYNC_EINTR ? SYNC_ETIMEDOUT : w->rv;
    bool notified = w->rv == 0;
    struct cjob *a;

    if (w->answered || cs->s == NULL) {
        if (notified && cs->s != NULL)
            cluster_cond_drop(w);
    } else if (rv != 0 && rv != SYNC_ETIMEDOUT) {
        cluster_reply(w, rv == SYNC_ENOENT ? SYNC_ELOST : rv,
                      rv == SYNC_ENOENT ? "the condition's wait ended with "
                                          "this agent's etcd lease"
                                        : NULL);
    } else if ((a = cluster_cond_next(w, CJ_ACQUIRE, lk)) == NULL) {
        if (notified)
            cluster_cond_drop(w);
        cluster_reply(w, SYNC_ENOMEM, NULL);
    } else {
        a->may_wait = true;
        a->cond_rv = rv;
        a->ahead = w->ahead;
        a->adopt = notified && cluster_cond_may_keep(cs, lk, a);
        if (notified && !a->adopt)
            cluster_cond_drop(w);
        w->answered = true; /* the acquire answers */
        cluster_lock_acquire(cs, a);
    }
    /* A woken sibling parked until this wake-up came may go now. */
    if (cs->s != NULL)
        cluster_unpark(cs, lk);
}

void cluster_cond_done(struct cjob *j)
{
    switch (j->kind) {
    case CJ_COND_ENTER:
        cluster_cond_entered(j);
        break;
    case CJ_COND_SLEEP:
        cluster_cond_woken(j);
        break;
    case CJ_COND_DROP:
        break;
    default:
        cluster_reply(j, j->rv == SYNC_ENOENT ? SYNC_ELOST : j->rv,
                      j->rv == SYNC_ENOENT ? "the condition's lock was lost"
                                           : NULL);
        break;
    }
}
