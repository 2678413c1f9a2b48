/*
 * cluster_lock.c: a session's Lock/RLock holds on cluster names.  Only one
 * contender key per session and lock exists at a time: another thread of
 * the same client parks here until the session's own hold ends (a Lock is
 * the client's, as a local one is), and an RLock's re-entry only counts.
 * Invariant: a hold is HELD only while the contender key it names was the
 * first in etcd and the session's lease is live; when the lease ends it
 * becomes LOST and the client's release says so.
 */
#include "cluster/cluster_prim.h"

#include <stdio.h>
#include <unistd.h>

#include "codec.h"
#include "log.h"
#include "server.h"
#include "session.h"

/* Free a job that never ran (or whose answer is given). */
static void cluster_job_discard(struct cjob *j)
{
    if (j->obj != NULL)
        cluster_cobj_rele(j->cs, j->obj);
    cluster_job_free(j);
}

/* A Condition's wait ends holding the lock again, notified or not: its
 * code is how the wait ended. */
static int cluster_grant_code(const struct cjob *j)
{
    return j->op == OP_COND_WAIT ? j->cond_rv : 0;
}

void cluster_send_grant_to(struct csess *cs, uint64_t id, int code,
                           int64_t token, bool died)
{
    struct reply rp = {.id = id, .kind = REPLY_ACQUIRE, .code = code};

    if (cs->s == NULL)
        return;
    rp.u.acquire.token = (uint64_t)token;
    rp.u.acquire.owner_died = died;
    cs->cl->srv->stats.acquisitions++;
    session_send(cs->s, &rp);
}

static void cluster_send_grant(struct cjob *j, int64_t token, bool died)
{
    if (j->answered || j->cs->s == NULL)
        return;
    j->answered = true;
    cluster_send_grant_to(j->cs, j->req_id, cluster_grant_code(j), token,
                          died);
}

/*
 * Whether a grant may be told now: the lease's last keepalive answer is
 * recent enough that the agent will not give the lease up (at 4/5 of the
 * TTL without one) while the holder is still in its critical section.
 * After an outage of etcd, the first grants would otherwise come moments
 * before that give-up, and the lock would go to another client with its
 * holder still inside.
 */
bool cluster_lease_fresh(const struct csess *cs)
{
    int64_t ttl = (int64_t)cs->cl->ttl_s * 1000;

    return etcd_now_ms() - cs->lease_ok_ms <= ttl / 2;
}

void cluster_with_lease(struct csess *cs, struct cjob *j)
{
    struct cjob *g;

    switch (cs->lease_state) {
    case LEASE_LIVE:
        j->lease = cs->lease;
        cluster_job_start(j);
        return;
    case LEASE_NONE:
        g = cluster_job_new(cs->cl, cs, CJ_GRANT);
        if (g == NULL) {
            j->rv = SYNC_ENOMEM;
            j->obj->st = COBJ_FREE;
            cluster_reply(j, SYNC_ENOMEM, NULL);
            cluster_job_discard(j);
            return;
        }
        cs->lease_state = LEASE_GRANTING;
        cluster_job_start(g);
        break;
    case LEASE_GRANTING:
        break;
    }
    list_insert_tail(&cs->lease_wait, &j->link);
}

/* Waiter w for a lease is answered code (not started): o's next may go. */
static void cluster_lease_wait_end(struct csess *cs, struct cjob *w, int code)
{
    struct cobj *o = w->obj;

    list_remove(&w->link);
    o->st = COBJ_FREE;
    cluster_reply(w, code, NULL);
    cluster_job_discard(w);
    if (cs->s != NULL)
        cluster_unpark(cs, o);
}

void cluster_lease_wait_expired(struct csess *cs, int64_t now)
{
    struct list_node *n, *tmp;
    struct cjob *w;

    int64_t due;

    list_foreach_safe(n, tmp, &cs->lease_wait) {
        w = container_of(n, struct cjob, link);
        due = cluster_job_due_ms(w);
        if (due >= 0 && now >= due)
            cluster_lease_wait_end(cs, w, SYNC_ETIMEDOUT);
    }
}

/* Park j until the session's own turn: acquires adopting a key a notify
 * queued first, in the keys' queue order, then the others in arrival
 * order (their keys, made when they start, come after). */
static void cluster_park(struct cobj *o, struct cjob *j)
{
    struct list_node *n;
    struct cjob *q;

    for (n = o->parked.next; j->adopt && n != &o->parked; n = n->next) {
        q = container_of(n, struct cjob, link);
        if (!q->adopt || q->ahead.rev > j->ahead.rev)
            break;
    }
    list_insert_tail(j->adopt ? n : &o->parked, &j->link);
}

/* Whether j must wait for the session's own turn (parked). */
static bool cluster_lock_busy(const struct csess *cs, const struct cobj *o,
                              const struct cjob *j)
{
    return (o->st != COBJ_FREE && o->st != COBJ_LOST) ||
           !list_empty(&o->parked) ||
           (j->adopt && cluster_cond_ahead_waking(cs, j));
}

static void cluster_lock_start(struct csess *cs, struct cjob *j);

void cluster_lock_acquire(struct csess *cs, struct cjob *j)
{
    struct cobj *o = j->obj;

    if (o->st == COBJ_HELD && o->type == OBJECT_RLOCK &&
        o->thread == j->thread) {
        o->depth++;
        cluster_send_grant(j, o->token, false);
        cluster_job_discard(j);
        return;
    }
    if (!cluster_lock_busy(cs, o, j)) {
        cluster_lock_start(cs, j);
    } else if (!j->may_wait) {
        cluster_reply(j, SYNC_ETIMEDOUT, NULL);
        cluster_job_discard(j);
    } else {
        /* Held or sought by another thread of this client: its turn
         * comes when the session's own hold ends. */
        cluster_park(o, j);
        cluster_unpark(cs, o);
    }
}

static void cluster_lock_start(struct csess *cs, struct cjob *j)
{
    struct cobj *o = j->obj;

    o->st = COBJ_ACQUIRING;
    if (!j->adopt) {
        j->seq = ++cs->seq;
        cluster_holder_info(cs, j);
    }
    cluster_with_lease(cs, j);
}

void cluster_unpark(struct csess *cs, struct cobj *o)
{
    struct cjob *j;

    while (o->st == COBJ_FREE && !list_empty(&o->parked)) {
        j = container_of(o->parked.next, struct cjob, link);
        /* A sibling woken by the same notify with a key queued before
         * j's has not reached this agent yet: it goes first. */
        if (cs->s != NULL && j->adopt && cluster_cond_ahead_waking(cs, j))
            break;
        list_remove(&j->link);
        if (cs->s == NULL)
            cluster_job_discard(j);
        else
            cluster_lock_start(cs, j);
    }
}

/* Start deleting o's contender key; clean: also the owner mark. */
static void cluster_release_start(struct csess *cs, struct cobj *o,
                                  uint64_t req_id, bool clean)
{
    struct cjob *j = cluster_job_new(cs->cl, cs, CJ_RELEASE);

    if (j == NULL) {
        /* The key stays until the lease ends: end it now. */
        cluster_lease_lost(cs, "out of memory releasing a lock");
        if (req_id != 0)
            cluster_send(cs->s, req_id, SYNC_ENOMEM, NULL);
        return;
    }
    j->req_id = req_id;
    j->answered = req_id == 0;
    j->obj = o;
    o->refs++;
    snprintf(j->name, sizeof(j->name), "%s", o->name);
    j->lease = o->lease;
    j->seq = o->seq;
    j->token = o->token;
    j->grant = o->grant;
    j->flag = clean;
    o->st = COBJ_RELEASING;
    cluster_job_start(j);
}

void cluster_lock_release(struct csess *cs, struct cobj *o,
                          const struct request *rq)
{
    if (o->st == COBJ_LOST) {
        o->st = COBJ_FREE;
        cluster_send(cs->s, rq->id, SYNC_ELOST,
                     "the lock was lost: this agent's etcd lease ended "
                     "(etcd out of reach longer than the TTL)");
        cluster_unpark(cs, o);
        return;
    }
    if (o->st != COBJ_HELD ||
        (o->type == OBJECT_RLOCK && o->thread != rq->thread)) {
        cluster_send(cs->s, rq->id, SYNC_EPERM,
                     "the lock is not held by this client (or, for an "
                     "RLock, this thread)");
        return;
    }
    if (o->depth > 1) {
        o->depth--;
        cluster_send(cs->s, rq->id, 0, NULL);
        return;
    }
    cluster_release_start(cs, o, rq->id, true);
}

void cluster_lock_drop(struct csess *cs, struct cobj *o)
{
    struct cjob *j;

    while (!list_empty(&o->parked)) {
        j = container_of(o->parked.next, struct cjob, link);
        list_remove(&j->link);
        if (j->adopt)
            cluster_cond_forget(cs, o, j->lease, j->seq);
        cluster_reply(j, SYNC_EBADF, NULL);
        cluster_job_discard(j);
    }
    if (o->st == COBJ_HELD) {
        log_info("cluster: %s '%s' released: holder pid %d uid %u closed it",
                 object_type_name(o->type), o->name, (int)cs->s->pid,
                 (unsigned)cs->s->uid);
        cluster_release_start(cs, o, 0, false);
    } else if (o->st == COBJ_CONFIRMING) {
        /* Never told: a clean release, no owner-died for the next. */
        cluster_confirm_forget(o);
        cluster_release_start(cs, o, 0, true);
    }
}

void cluster_confirm_forget(struct cobj *o)
{
    struct cjob *j = o->confirm_job;

    o->confirm_job = NULL;
    if (j != NULL) {
        j->answered = true;
        cluster_job_discard(j);
    }
}

/* o's held-back grant died with its lease: true when its acquire, which
 * was never told, is parked to be sought again under a new lease (the
 * lease's give-up unparks it once the lease is reset). */
static bool cluster_confirm_again(struct cobj *o)
{
    struct cjob *j = o->confirm_job;

    o->confirm_job = NULL;
    if (j == NULL)
        return false;
    if (!cluster_requeue_left(j)) {
        j->answered = true;
        cluster_job_discard(j);
        return false;
    }
    cluster_requeue_log(j);
    j->requeues++;
    j->drop_lease = o->lease;
    j->drop_seq = o->seq;
    list_insert_tail(o->parked.next, &j->link); /* first */
    return true;
}

void cluster_lock_lost(struct csess *cs)
{
    struct list_node *n;
    struct cobj *o;

    for (n = cs->objs.next; n != &cs->objs; n = n->next) {
        o = container_of(n, struct cobj, link);
        if (o->st == COBJ_CONFIRMING) {
            /* Never told: nothing is held; the acquire is sought again,
             * or fails. */
            o->st = COBJ_FREE;
            o->depth = 0;
            if (cluster_confirm_again(o))
                continue;
            if (cs->s != NULL)
                cluster_send(cs->s, o->confirm_id, SYNC_EUNAVAIL,
                             "this agent's etcd lease ended while the lock "
                             "was sought");
            continue;
        }
        if (o->st != COBJ_HELD)
            continue;
        o->st = COBJ_LOST;
        o->depth = 0;
        log_warnx("cluster: %s '%s' of pid %d uid %u is lost: its lease "
                  "ended", object_type_name(o->type), o->name,
                  cs->s ? (int)cs->s->pid : -1,
                  cs->s ? (unsigned)cs->s->uid : 0);
    }
}

void cluster_lock_confirmed(struct csess *cs)
{
    struct list_node *n;
    struct cobj *o;

    for (n = cs->objs.next; n != &cs->objs; n = n->next) {
        o = container_of(n, struct cobj, link);
        if (o->st != COBJ_CONFIRMING)
            continue;
        /* The answer of a keepalive sent long ago (stuck on a member that
         * died) renews too little: one more, sent now. */
        if (!cluster_lease_fresh(cs)) {
            cluster_keepalive_start(cs, etcd_now_ms());
            return;
        }
        o->st = COBJ_HELD;
        cluster_confirm_forget(o);
        cluster_send_grant_to(cs, o->confirm_id, o->confirm_code, o->token,
                              o->grant.owner_died);
    }
}

/*
 * Lock acquire j ended with its lease (cluster_requeue_due): sought again
 * under a new lease.  Not a Condition's re-acquire (a notify queued its
 * key) nor one adopting a key.
 */
static bool cluster_acquire_again(struct cjob *j, int rv)
{
    struct cobj *o = j->obj;
    struct cjob *again;

    if (j->adopt || j->op == OP_COND_WAIT || !cluster_requeue_due(j, rv))
        return false;
    /* o stays taken meanwhile: a lease given up here unparks, and its
     * parked acquires must not start beside this one. */
    o->st = COBJ_ACQUIRING;
    again = cluster_job_again(j, "etcd ended the lease (a waiting "
                                 "contender key is gone)");
    if (again == NULL) {
        o->st = COBJ_FREE;
        return false;
    }
    again->drop_lease = j->lease;
    again->drop_seq = j->seq;
    cluster_lock_start(j->cs, again);
    return true;
}

static void cluster_acquire_done(struct cjob *j)
{
    struct csess *cs = j->cs;
    struct cobj *o = j->obj;
    bool live = cs->s != NULL && cluster_job_lease_live(j);
    int rv = j->rv;

    o->st = COBJ_FREE;
    if (cluster_acquire_again(j, rv))
        return;
    if (rv == 0 && live && !j->answered) {
        o->st = COBJ_HELD;
        o->thread = j->thread;
        o->depth = j->op == OP_COND_WAIT && j->depth > 0 ? j->depth : 1;
        o->token = j->grant.token;
        o->grant = j->grant;
        o->lease = j->lease;
        o->seq = j->seq;
        if (j->grant.owner_died)
            log_info("cluster: %s '%s' granted to pid %d uid %u after its "
                     "previous holder died", object_type_name(o->type),
                     o->name, (int)cs->s->pid, (unsigned)cs->s->uid);
        if (!cluster_lease_fresh(cs)) {
            log_info("cluster: grant of %s '%s' to pid %d uid %u held back "
                     "until its lease is renewed (last keepalive answer "
                     "%lld ms ago)", object_type_name(o->type), o->name,
                     (int)cs->s->pid, (unsigned)cs->s->uid,
                     (long long)(etcd_now_ms() - cs->lease_ok_ms));
            o->st = COBJ_CONFIRMING;
            o->confirm_id = j->req_id;
            o->confirm_code = cluster_grant_code(j);
            o->confirm_job = j->op != OP_COND_WAIT && !j->adopt
                                 ? cluster_job_clone(j)
                                 : NULL;
            j->answered = true;
            cluster_keepalive_start(cs, etcd_now_ms());
            return;
        }
        cluster_send_grant(j, j->grant.token, j->grant.owner_died);
        return;
    }
    if (rv == 0 && live) {
        /* Granted after the wait was answered (its handle closed). */
        o->lease = j->lease;
        o->seq = j->seq;
        o->token = j->grant.token;
        o->grant = j->grant;
        cluster_release_start(cs, o, 0, true);
        return;
    }
    if (rv == 0 || rv == SYNC_ENOENT)
        rv = SYNC_EUNAVAIL;
    if (rv == SYNC_EINTR && j->cancel_as_timeout)
        rv = SYNC_ETIMEDOUT;
    cluster_reply(j, rv, rv == SYNC_EUNAVAIL && live
                             ? NULL
                             : rv == SYNC_EUNAVAIL
                                   ? "this agent's etcd lease ended while "
                                     "the lock was sought"
                                   : NULL);
    /* A contender key left in etcd would queue everyone behind nobody
     * for as long as the lease lives: end it. */
    if (j->grant.astray && live)
        cluster_lease_lost(cs, "the contender key of a failed acquire "
                               "could not be deleted");
    cluster_unpark(cs, o);
}

static void cluster_release_done(struct cjob *j)
{
    struct csess *cs = j->cs;
    struct cobj *o = j->obj;

    o->st = COBJ_FREE;
    if (j->rv == SYNC_ENOENT)
        cluster_reply(j, SYNC_ELOST, "the lock had been lost: its "
                                     "lease ended before the release");
    else
        cluster_reply(j, j->rv, NULL);
    /* Not proven released: end the lease so etcd frees the key. */
    if (j->rv != 0 && j->rv != SYNC_ENOENT && cs->s != NULL &&
        cs->lease == j->lease)
        cluster_lease_lost(cs, "a release did not reach etcd");
    cluster_unpark(cs, o);
}

/* When j's answered etcd call was sent (its last attempt). */
static int64_t cluster_job_sent_ms(const struct cjob *j)
{
    return j->ctx.sent_ms > j->started_ms ? j->ctx.sent_ms : j->started_ms;
}

static void cluster_grant_done(struct cjob *j)
{
    struct csess *cs = j->cs;
    struct cjob *w;

    if (j->rv == 0 && cs->s == NULL) {
        struct cjob *r = cluster_job_new(cs->cl, NULL, CJ_REVOKE);

        if (r != NULL) {
            r->lease = j->lease;
            cluster_job_start(r);
        }
    }
    cs->lease_state = j->rv == 0 ? LEASE_LIVE : LEASE_NONE;
    cs->lease = j->rv == 0 ? j->lease : 0;
    /* The TTL runs from when etcd granted it: after the attempt that got
     * the answer was sent (not the first of the call's retries). */
    cs->lease_ok_ms = cs->ka_sent_ms = cluster_job_sent_ms(j);
    while (!list_empty(&cs->lease_wait)) {
        w = container_of(cs->lease_wait.next, struct cjob, link);
        if (j->rv == 0 && cs->s != NULL) {
            list_remove(&w->link);
            w->lease = cs->lease;
            cluster_job_start(w);
            continue;
        }
        cluster_lease_wait_end(cs, w, j->rv != 0 ? j->rv : SYNC_ECONN);
    }
}

void cluster_lock_done(struct cjob *j)
{
    struct csess *cs = j->cs;

    switch (j->kind) {
    case CJ_ACQUIRE:
        cluster_acquire_done(j);
        break;
    case CJ_RELEASE:
        cluster_release_done(j);
        break;
    case CJ_GRANT:
        cluster_grant_done(j);
        break;
    case CJ_KEEPALIVE:
        /* One of a lease given up was let go of then (cluster_lease_lost);
         * the flag may be a new lease's now. */
        if (cs->s == NULL || cs->lease != j->lease)
            break;
        cs->ka_inflight = false;
        if (j->rv == 0) {
            cs->lease_ok_ms = cluster_job_sent_ms(j);
            cluster_lock_confirmed(cs);
            cluster_sem_confirmed(cs);
        } else if (j->rv == SYNC_ENOENT)
            cluster_lease_lost(cs, "etcd says the lease expired");
        break;
    case CJ_REVOKE:
        if (j->rv != 0)
            log_warnx("cluster: revoking lease %llx: %s (it expires by "
                      "itself after its TTL)", (unsigned long long)j->lease,
                      sync_strerror(j->rv));
        break;
    default:
        break;
    }
}
