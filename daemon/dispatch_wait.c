/*
 * dispatch_wait.c: the requests that may block (acquire, event wait,
 * condition wait, barrier wait).  A wait is started on its object with a
 * pending record (dispatch_client.c); if it queues, its deadline
 * goes into the server's heap and dispatch_complete_cb answers it exactly
 * once (grant, timeout, cancel).  A blocking Lock/RLock acquire the lock
 * refuses as a deadlock is logged with its cycle.
 */
#include "dispatch.h"

#include "dispatch_internal.h"
#include "grace.h"
#include "lockcache.h"
#include "log.h"
#include "objects/barrier.h"
#include "objects/condition.h"
#include "objects/event.h"
#include "objects/lock.h"
#include "objects/semaphore.h"
#include "server.h"
#include "store.h"

/* Answer an acquire/wait that holds what it asked for: granted (code 0),
 * or a condition wait that timed out but has its lock back
 * (SYNC_ETIMEDOUT: the re-acquisition's token belongs in the reply). */
static void dispatch_acquired(struct session *s, uint64_t id, int code,
                              const struct object *o, const struct waiter *w,
                              uint64_t cache)
{
    struct reply rp = {.id = id, .code = code, .kind = REPLY_ACQUIRE};

    if (code == 0)
        s->server->stats.acquisitions++;
    if (w->owner_died)
        log_info("%s '%s' granted to pid %d uid %u (%s) after its previous "
                 "holder died",
                 object_type_name(o->type), o->name, (int)s->pid,
                 (unsigned)s->uid, s->client_name);

    rp.u.acquire.token = w->token;
    rp.u.acquire.owner_died = w->owner_died;
    rp.u.acquire.index = w->value;
    rp.u.acquire.run_action = w->run_action;
    rp.u.acquire.cache = cache;
    session_send(s, &rp);
}

/*
 * A Lock or RLock granted at once through h: lend it to s's client when
 * the lock allows (its holder re-took it and nobody waits; lock caching).
 * Returns AcquireResult.cache.  Conditions and queued grants never lend:
 * a queued grant means someone else wanted the lock.
 */
static uint64_t dispatch_maybe_lend(struct session *s, struct handle *h,
                                    enum wire_op op, const struct waiter *w)
{
    if (s->cache == NULL || op != OP_ACQUIRE ||
        (h->flags & HANDLE_FLAG_NO_CACHE) ||
        (h->obj->type != OBJECT_LOCK && h->obj->type != OBJECT_RLOCK))
        return 0;
    return lockcache_lend(s, lock_from_object(h->obj), w->thread);
}

/* Log a refused acquire's wait-for cycle: who holds what. */
static void dispatch_log_cycle(struct session *s, const struct lock *l,
                               const struct waiter *w)
{
    struct lock_edge e[LOCK_MAX_CHAIN];
    size_t n = lock_find_cycle(l, w->owner, w->thread, e), i;
    struct session *peer;

    log_warnx("deadlock refused: pid %d uid %u thread %llu asked for '%s', "
              "closing a cycle of %zu:",
              (int)s->pid, (unsigned)s->uid, (unsigned long long)w->thread,
              l->base.name, n);
    for (i = 0; i < n; i++) {
        peer = server_find_session(s->server, e[(i + 1) % n].owner);
        log_warnx("  '%s' is held by pid %d thread %llu%s%s%s",
                  e[i].wants->base.name, peer ? (int)peer->pid : -1,
                  (unsigned long long)e[(i + 1) % n].thread,
                  i + 1 < n ? ", which waits for '" : "",
                  i + 1 < n ? e[i + 1].wants->base.name : "",
                  i + 1 < n ? "'" : "");
    }
}

/*
 * An acquire that finds its own client's ghost holding the lock for the
 * same thread, in a restart's grace period: a hold the client does not
 * know of (the daemon granted it and stopped before the reply, which the
 * client now sends again; or the lock was lent and free in its page).
 * The ghost lets go cleanly, rather than the acquire waiting behind its
 * own client until the period ends and a false owner-died.
 */
static void dispatch_lock_own_ghost(struct session *s, struct lock *l,
                                    uint64_t thread)
{
    struct object *named;

    if (s->server->grace == NULL || s->server->store == NULL ||
        !(s->caps & WIRE_CAP_RECLAIM))
        return;
    named = store_named(s->server->store, &l->base);
    if (named != NULL &&
        grace_drop_own(s->server->grace, named->name, l, s->client_id,
                       thread) == 0)
        log_info("client pid %d uid %u: '%s' was held for it across the "
                 "restart unknown to it: let go", (int)s->pid,
                 (unsigned)s->uid, l->base.name);
}

/* Acquire a Lock/RLock; the lock refuses a wait that would deadlock. */
static int dispatch_lock_acquire(struct session *s, struct lock *l,
                                 struct pending *p, bool may_wait)
{
    int rv;

    if (l->held && grace_is_ghost(l->holder))
        dispatch_lock_own_ghost(s, l, p->w.thread);
    rv = lock_acquire(l, &p->w, may_wait);

    if (rv == SYNC_EDEADLK) {
        s->server->stats.deadlocks++;
        dispatch_log_cycle(s, l, &p->w);
    }
    return rv;
}

/* Start one wait-capable operation on o for p; returns 0, PENDING or <0. */
static int dispatch_start(struct session *s, struct object *o,
                          enum wire_op op, struct pending *p,
                          bool may_wait)
{
    switch (o->type) {
    case OBJECT_LOCK:
    case OBJECT_RLOCK:
    case OBJECT_CONDITION:
        if (op == OP_ACQUIRE)
            return dispatch_lock_acquire(s, lock_from_object(object_root(o)),
                                         p, may_wait);
        if (op == OP_COND_WAIT && o->type == OBJECT_CONDITION)
            return condition_wait(condition_from_object(o), &p->w);
        break;
    case OBJECT_SEMAPHORE:
    case OBJECT_BOUNDED_SEMAPHORE:
        if (op == OP_ACQUIRE)
            return semaphore_acquire(semaphore_from_object(o), &p->w,
                                     may_wait);
        break;
    case OBJECT_EVENT:
        if (op == OP_EVENT_WAIT)
            return event_wait(event_from_object(o), &p->w, may_wait);
        break;
    case OBJECT_BARRIER:
        if (op == OP_BARRIER_WAIT)
            return barrier_wait(barrier_from_object(o), &p->w);
        break;
    }
    return SYNC_ETYPE;
}

/* An acquire succeeded through h: count it for undo. */
static void dispatch_note_grant(struct session *s, struct handle *h,
                                enum wire_op op)
{
    if (op == OP_ACQUIRE && (h->flags & HANDLE_FLAG_UNDO)) {
        h->undo++;
        dispatch_undo_moved(s, semaphore_from_object(h->obj), 1);
    }
}

/*
 * A semaphore acquire through an undo handle, in a restart's grace
 * period, when the file kept permits of this client that it did not
 * reclaim: the daemon granted an acquire and stopped before its reply,
 * which the client now sends again.  It gets that permit back at once
 * (true), rather than a free one while its own waits for the period to
 * end.
 */
static bool dispatch_sem_own_ghost(struct session *s, struct handle *h,
                                   enum wire_op op)
{
    struct grace *g = s->server->grace;

    if (op != OP_ACQUIRE || !(h->flags & HANDLE_FLAG_UNDO) || g == NULL ||
        !s->has_client_id || grace_left_ms(g) == 0 ||
        (h->obj->type != OBJECT_SEMAPHORE &&
         h->obj->type != OBJECT_BOUNDED_SEMAPHORE) ||
        !h->obj->linked || h->obj->transient ||
        grace_take_permits(g, h->obj->name, semaphore_from_object(h->obj),
                           s->client_id, 1) == 0)
        return false;
    log_info("client pid %d uid %u: '%s': an undo permit kept for it across "
             "the restart, unknown to it, is its acquire's",
             (int)s->pid, (unsigned)s->uid, h->obj->name);
    return true;
}

/* A wait on o succeeded: a semaphore's value changed.  The store is
 * tested first: an in-memory daemon pays one branch per grant (W1). */
static void dispatch_record_grant(struct server *srv, struct object *o)
{
    if (srv->store != NULL && (o->type == OBJECT_SEMAPHORE ||
                               o->type == OBJECT_BOUNDED_SEMAPHORE))
        dispatch_record(srv, o);
}

/* Condition waits always queue, even with a zero timeout (Python's
 * wait(0) still releases and re-acquires the lock), and barrier waits
 * unless they complete the round; the others queue only when they may
 * block. */
static bool dispatch_always_queues(const struct request *rq,
                                   struct object *o)
{
    return rq->op == OP_COND_WAIT ||
           (rq->op == OP_BARRIER_WAIT && o->type == OBJECT_BARRIER &&
            barrier_would_queue(barrier_from_object(o), rq->action));
}

static void dispatch_wait_limit(struct session *s, const struct request *rq,
                                const struct object *o)
{
    log_warnx("client pid %d uid %u: '%s': max_waits (%u) reached",
              (int)s->pid, (unsigned)s->uid, o->name,
              s->server->limits.max_waits);
    dispatch_reply(s, rq->id, SYNC_ELIMIT, "too many pending waits");
}

static void dispatch_wait_failed(struct session *s, const struct request *rq,
                                 const struct object *o, int rv)
{
    if (rv == SYNC_ETYPE) {
        dispatch_wrong_type(s, rq, o);
        return;
    }
    if (rv == SYNC_ENOMEM)
        log_warnx("client pid %d uid %u: '%s': out of memory starting a "
                  "wait", (int)s->pid, (unsigned)s->uid, o->name);
    if (rv == SYNC_EBROKEN) {
        char why[SYNC_NAME_MAX + 96];

        /* Say the remedy: a later run otherwise fails here forever. */
        snprintf(why, sizeof(why),
                 "the barrier is broken; 'syncctl barrier %s reset' makes it "
                 "usable again",
                 o->name);
        dispatch_reply(s, rq->id, rv, why);
        return;
    }
    dispatch_reply(s, rq->id, rv,
                   rv == SYNC_EPERM     ? "the lock is not held by this thread"
                   : rv == SYNC_EDEADLK ? "acquiring would deadlock"
                   : rv == SYNC_ENOMEM  ? "out of memory"
                                        : NULL);
}

void dispatch_wait(struct session *s, const struct request *rq)
{
    struct handle *h = dispatch_handle(s, rq);
    bool at_limit = s->n_pending >= s->server->limits.max_waits;
    struct pending *p;
    int rv;

    if (h == NULL)
        return;
    if (at_limit && dispatch_always_queues(rq, h->obj)) {
        dispatch_wait_limit(s, rq, h->obj);
        return;
    }
    /* Room for the deadline before the object acts: once a condition
     * wait has released its lock, or a party joined a barrier, the wait
     * can no longer fail cleanly. */
    p = rq->timeout_us >= 0 && deadline_reserve(&s->server->deadlines) != 0
            ? NULL
            : dispatch_pending_new(s, rq->id, rq->handle, rq->op);
    if (p == NULL) {
        dispatch_wait_failed(s, rq, h->obj, SYNC_ENOMEM);
        return;
    }
    p->w.thread = rq->thread;
    p->w.offers_action = rq->op == OP_BARRIER_WAIT && rq->action;
    /* At the limit, still serve what needs no queueing: try once.  A
     * grant's changes (a ghost's permit taken, the value, the client's
     * undo permits) reach the disk in one commit, before the reply. */
    store_batch_begin(s->server->store);
    rv = dispatch_sem_own_ghost(s, h, rq->op)
             ? 0
             : dispatch_start(s, h->obj, rq->op, p,
                              rq->timeout_us != 0 && !at_limit);
    if (rv == 0) {
        dispatch_note_grant(s, h, rq->op);
        dispatch_record_grant(s->server, h->obj);
    }
    store_batch_end(s->server->store);
    if (rv == SYNCD_PENDING) {
        dispatch_pending_track(p);
        /* A zero timeout (a condition's or barrier's wait(0), queued all
         * the same) is over now: a deadline would wait for the timer's
         * next millisecond.  Else round up, so a wait never ends before
         * its timeout; cannot fail: the room was reserved above. */
        if (rq->timeout_us == 0)
            p->deadline.expire(&p->deadline);
        else if (rq->timeout_us > 0)
            (void)deadline_add(&s->server->deadlines, &p->deadline,
                               ((uint64_t)rq->timeout_us + 999) / 1000);
        return;
    }
    if (rv == 0) {
        dispatch_acquired(s, rq->id, 0, h->obj, &p->w,
                          dispatch_maybe_lend(s, h, rq->op, &p->w));
    } else if (rv == SYNC_ETIMEDOUT && at_limit && rq->timeout_us != 0) {
        dispatch_wait_limit(s, rq, h->obj);
    } else {
        dispatch_wait_failed(s, rq, h->obj, rv);
    }
    dispatch_pending_free(p);
}

void dispatch_complete_cb(struct waiter *w, int code)
{
    struct pending *p = container_of(w, struct pending, w);
    struct session *s = p->session;
    struct handle *h;

    if (code == 0) {
        store_batch_begin(s->server->store);
        h = handle_find(&s->handles, p->handle);
        if (h != NULL)
            dispatch_note_grant(s, h, p->op);
        dispatch_record_grant(s->server, w->obj);
        store_batch_end(s->server->store);
    }
    if (p->expired)
        s->server->stats.timeouts++;
    if (s->state != SESSION_CLOSING) {
        if (code == 0 || (code == SYNC_ETIMEDOUT && p->op == OP_COND_WAIT))
            dispatch_acquired(s, p->req_id, code, w->obj, w, 0);
        else
            dispatch_reply(s, p->req_id, code, NULL);
    }
    dispatch_pending_free(p);
}

