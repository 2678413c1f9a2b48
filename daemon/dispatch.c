/*
 * dispatch.c: turns each request into registry and object calls and each
 * outcome into a reply.  Immediate outcomes are answered here; queued
 * waiters are answered by dispatch_complete_cb, exactly once.
 */
#include "dispatch.h"

#include <unistd.h>

#include "deadlock.h"
#include "log.h"
#include "objects/barrier.h"
#include "objects/condition.h"
#include "objects/event.h"
#include "objects/lock.h"
#include "objects/semaphore.h"
#include "server.h"

static void dispatch_reply(struct session *s, uint64_t id, int code,
                           const char *message)
{
    struct reply rp = {.id = id, .code = code, .message = message};

    session_send(s, &rp);
}

static void dispatch_hello(struct session *s, const struct request *rq)
{
    struct reply rp = {.id = rq->id, .kind = REPLY_HELLO};
    char why[96];

    if (s->state != SESSION_HANDSHAKE) {
        dispatch_reply(s, rq->id, SYNC_EPROTO, "duplicate handshake");
        return;
    }
    if (rq->version != SYNCD_PROTOCOL_VERSION) {
        snprintf(why, sizeof(why),
                 "protocol version %u not supported (daemon speaks %u)",
                 rq->version, SYNCD_PROTOCOL_VERSION);
        log_warnx("client pid %d uid %u: %s", (int)s->pid, (unsigned)s->uid,
                  why);
        dispatch_reply(s, rq->id, SYNC_EVERSION, why);
        session_abort(s, "version mismatch");
        return;
    }
    s->state = SESSION_READY;
    if (rq->client_name[0] != '\0')
        snprintf(s->client_name, sizeof(s->client_name), "%s",
                 rq->client_name);
    rp.u.hello.version = SYNCD_PROTOCOL_VERSION;
    rp.u.hello.server_pid = (uint32_t)getpid();
    rp.u.hello.session_id = s->id;
    rp.u.hello.max_frame = s->server->limits.max_frame;
    session_send(s, &rp);
}

/* Map a wire ObjectType to an object type; 0 if unknown. */
static enum object_type dispatch_object_type(uint32_t wire)
{
    return wire >= OBJECT_LOCK && wire <= OBJECT_BARRIER
               ? (enum object_type)wire
               : 0;
}

static int dispatch_check_open(struct session *s, const struct request *rq,
                               enum object_type type, const char **why)
{
    int rv = registry_check_name(&s->server->registry, rq->name,
                                 rq->name_len);

    if (rv != 0) {
        *why = "name must be 1 to max_name bytes of UTF-8 without NUL";
        return rv;
    }
    if (type == 0) {
        *why = "unknown object type";
        return SYNC_EINVAL;
    }
    if (type == OBJECT_BARRIER && rq->value == 0) {
        *why = "a barrier needs at least one party";
        return SYNC_EINVAL;
    }
    if (rq->lock_name_len > 0 &&
        (type != OBJECT_CONDITION ||
         registry_check_name(&s->server->registry, rq->lock_name,
                             rq->lock_name_len) != 0)) {
        *why = "invalid lock name for a condition";
        return type != OBJECT_CONDITION ? SYNC_EINVAL : SYNC_ENAME;
    }
    if ((rq->flags & ~OPEN_FLAG_UNDO) != 0 ||
        ((rq->flags & OPEN_FLAG_UNDO) && type != OBJECT_SEMAPHORE &&
         type != OBJECT_BOUNDED_SEMAPHORE)) {
        *why = "flags not valid for this object type";
        return SYNC_EINVAL;
    }
    return 0;
}

static void dispatch_open(struct session *s, const struct request *rq)
{
    enum object_type type = dispatch_object_type(rq->type);
    struct object_spec spec = {
        .type = type, .value = rq->value,
        .lock_name = rq->lock_name_len > 0 ? rq->lock_name : NULL};
    struct reply rp = {.id = rq->id, .kind = REPLY_OPEN};
    const char *why = NULL;
    struct object *o;
    bool created;
    uint32_t id;
    int rv = dispatch_check_open(s, rq, type, &why);

    if (rv == 0) {
        rv = registry_open(&s->server->registry, rq->name, &spec, &o,
                           &created);
        why = rv == SYNC_ETYPE    ? "name exists with another type"
              : rv == SYNC_EEXIST ? "name exists with other parameters"
              : rv == SYNC_ELIMIT ? "max_objects reached"
                                  : NULL;
    }
    if (rv == 0) {
        rv = handle_add(&s->handles, o,
                        (rq->flags & OPEN_FLAG_UNDO) ? HANDLE_FLAG_UNDO : 0,
                        &id);
        if (rv != 0)
            registry_rele(&s->server->registry, o);
    }
    if (rv != 0) {
        log_warnx("client pid %d uid %u: open '%s': %s%s%s", (int)s->pid,
                  (unsigned)s->uid, rq->name, sync_strerror(rv),
                  why ? ": " : "", why ? why : "");
        dispatch_reply(s, rq->id, rv, why);
        return;
    }
    if (created)
        log_debug("%s '%s' created by pid %d uid %u", object_type_name(type),
                  rq->name, (int)s->pid, (unsigned)s->uid);
    rp.u.open.handle = id;
    rp.u.open.created = created;
    session_send(s, &rp);
}

static void dispatch_unlink(struct session *s, const struct request *rq)
{
    int rv = registry_check_name(&s->server->registry, rq->name,
                                 rq->name_len);

    if (rv == 0)
        rv = registry_unlink(&s->server->registry, rq->name);
    if (rv == 0)
        log_info("'%s' unlinked by pid %d uid %u", rq->name, (int)s->pid,
                 (unsigned)s->uid);
    dispatch_reply(s, rq->id, rv, NULL);
}

/* The handle of rq, or NULL after answering SYNC_EBADF. */
static struct handle *dispatch_handle(struct session *s,
                                      const struct request *rq)
{
    struct handle *h = handle_find(&s->handles, rq->handle);

    if (h == NULL) {
        log_debug("client pid %d uid %u: unknown handle %u", (int)s->pid,
                  (unsigned)s->uid, rq->handle);
        dispatch_reply(s, rq->id, SYNC_EBADF, "unknown handle");
    }
    return h;
}

static void dispatch_wrong_type(struct session *s, const struct request *rq,
                                const struct object *o)
{
    char why[80];

    snprintf(why, sizeof(why), "operation not valid on a %s",
             object_type_name(o->type));
    dispatch_reply(s, rq->id, SYNC_ETYPE, why);
}

static void dispatch_acquired(struct session *s, uint64_t id,
                              const struct object *o, const struct waiter *w)
{
    struct reply rp = {.id = id, .kind = REPLY_ACQUIRE};

    if (w->owner_died)
        log_info("%s '%s' granted to pid %d uid %u (%s) after its previous "
                 "holder died",
                 object_type_name(o->type), o->name, (int)s->pid,
                 (unsigned)s->uid, s->client_name);

    rp.u.acquire.token = w->token;
    rp.u.acquire.owner_died = w->owner_died;
    rp.u.acquire.index = w->value;
    session_send(s, &rp);
}

/* Log a refused acquire's wait-for cycle: who holds what. */
static void dispatch_log_cycle(struct session *s, const struct deadlock_edge *e,
                               size_t n)
{
    struct session *peer;
    size_t i;

    log_warnx("deadlock refused: pid %d uid %u thread %llu asked for '%s', "
              "closing a cycle of %zu:",
              (int)s->pid, (unsigned)s->uid, (unsigned long long)e[0].thread,
              e[0].wants->base.name, n);
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

/* Acquire a Lock/RLock, refusing one that would close a wait-for cycle. */
static int dispatch_lock_acquire(struct session *s, struct lock *l,
                                 struct pending *p, bool may_wait)
{
    struct deadlock_edge cycle[DEADLOCK_MAX_CHAIN];
    size_t n;

    if (may_wait && l->held && !lock_is_owner(l, p->w.owner, p->w.thread)) {
        n = deadlock_find_cycle(l, p->w.owner, p->w.thread, cycle);
        if (n > 0) {
            s->server->stats.deadlocks++;
            dispatch_log_cycle(s, cycle, n);
            return SYNC_EDEADLK;
        }
    }
    return lock_acquire(l, &p->w, may_wait);
}

/* Start one wait-capable operation on o for p; returns 0, PENDING or <0. */
static int dispatch_start(struct session *s, struct object *o,
                          enum request_op op, struct pending *p,
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
static void dispatch_note_grant(struct handle *h, enum request_op op)
{
    if (op == OP_ACQUIRE && (h->flags & HANDLE_FLAG_UNDO))
        h->undo++;
}

/* Condition and barrier waits always queue, even with a zero timeout
 * (Python's wait(0) still releases and re-acquires the lock); the others
 * queue only when they may block. */
static bool dispatch_always_queues(enum request_op op)
{
    return op == OP_COND_WAIT || op == OP_BARRIER_WAIT;
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
    dispatch_reply(s, rq->id, rv,
                   rv == SYNC_EPERM     ? "the lock is not held by this thread"
                   : rv == SYNC_EDEADLK ? "acquiring would deadlock"
                   : rv == SYNC_EBROKEN ? "the barrier is broken"
                                        : NULL);
}

static void dispatch_wait(struct session *s, const struct request *rq)
{
    struct handle *h = dispatch_handle(s, rq);
    bool at_limit = s->n_pending >= s->server->limits.max_waits;
    struct pending *p;
    int rv;

    if (h == NULL)
        return;
    if (at_limit && dispatch_always_queues(rq->op)) {
        dispatch_wait_limit(s, rq, h->obj);
        return;
    }
    p = session_pending_new(s, rq->id, rq->handle, rq->op);
    if (p == NULL) {
        dispatch_reply(s, rq->id, SYNC_ENOMEM, NULL);
        return;
    }
    p->w.thread = rq->thread;
    /* At the limit, still serve what needs no queueing: try once. */
    rv = dispatch_start(s, h->obj, rq->op, p, rq->timeout_us != 0 && !at_limit);
    if (rv == SYNCD_PENDING) {
        session_pending_track(s, p);
        /* Round up, plus the millisecond the loop clock may lag, so a wait
         * never ends before its timeout. */
        if (rq->timeout_us >= 0 &&
            deadline_add(&s->server->deadlines, &p->deadline,
                         ((uint64_t)rq->timeout_us + 999) / 1000 +
                             (rq->timeout_us > 0)) != 0)
            object_cancel(&p->w, SYNC_ENOMEM);
        return;
    }
    if (rv == 0) {
        dispatch_note_grant(h, rq->op);
        dispatch_acquired(s, rq->id, h->obj, &p->w);
    } else if (rv == SYNC_ETIMEDOUT && at_limit && rq->timeout_us != 0) {
        dispatch_wait_limit(s, rq, h->obj);
    } else {
        dispatch_wait_failed(s, rq, h->obj, rv);
    }
    session_pending_free(p);
}

void dispatch_complete_cb(struct waiter *w, int code)
{
    struct pending *p = container_of(w, struct pending, w);
    struct session *s = p->session;
    struct handle *h;

    if (code == 0) {
        h = handle_find(&s->handles, p->handle);
        if (h != NULL)
            dispatch_note_grant(h, p->op);
    }
    if (s->state != SESSION_CLOSING) {
        if (code == 0)
            dispatch_acquired(s, p->req_id, w->obj, w);
        else
            dispatch_reply(s, p->req_id, code, NULL);
    }
    session_pending_free(p);
}

static void dispatch_release(struct session *s, const struct request *rq)
{
    struct handle *h = dispatch_handle(s, rq);
    int rv = SYNC_ETYPE;

    if (h == NULL)
        return;
    switch (h->obj->type) {
    case OBJECT_LOCK:
    case OBJECT_RLOCK:
    case OBJECT_CONDITION:
        rv = lock_release_by(lock_from_object(object_root(h->obj)), s->id,
                             rq->thread);
        break;
    case OBJECT_SEMAPHORE:
    case OBJECT_BOUNDED_SEMAPHORE:
        rv = semaphore_release(semaphore_from_object(h->obj), rq->n);
        if (rv == 0)
            h->undo = rq->n >= h->undo ? 0 : h->undo - rq->n;
        break;
    case OBJECT_EVENT:
    case OBJECT_BARRIER:
        dispatch_wrong_type(s, rq, h->obj);
        return;
    }
    dispatch_reply(s, rq->id, rv,
                   rv == SYNC_EPERM ? "the lock is not held by this client "
                                      "(or, for an RLock, this thread)"
                   : rv == SYNC_EVALUE ? "semaphore released too many times"
                                       : NULL);
}

static void dispatch_notify(struct session *s, const struct request *rq)
{
    struct handle *h = dispatch_handle(s, rq);
    uint32_t woken;
    int rv;

    if (h == NULL)
        return;
    if (h->obj->type != OBJECT_CONDITION) {
        dispatch_wrong_type(s, rq, h->obj);
        return;
    }
    rv = condition_notify(condition_from_object(h->obj), s->id, rq->thread,
                          rq->notify_all ? CONDITION_NOTIFY_ALL : rq->n,
                          &woken);
    /* Python: notify() without the lock raises RuntimeError. */
    dispatch_reply(s, rq->id, rv,
                   rv == SYNC_EPERM ? "notify needs the condition's lock"
                                    : NULL);
}

static void dispatch_barrier(struct session *s, const struct request *rq)
{
    struct handle *h = dispatch_handle(s, rq);

    if (h == NULL)
        return;
    if (h->obj->type != OBJECT_BARRIER) {
        dispatch_wrong_type(s, rq, h->obj);
        return;
    }
    if (rq->op == OP_BARRIER_RESET)
        barrier_reset(barrier_from_object(h->obj));
    else
        barrier_abort(barrier_from_object(h->obj));
    dispatch_reply(s, rq->id, 0, NULL);
}

static void dispatch_query(struct session *s, const struct request *rq)
{
    struct handle *h = dispatch_handle(s, rq);
    struct reply rp = {.id = rq->id, .kind = REPLY_QUERY};

    if (h == NULL)
        return;
    rp.u.query.value = h->obj->ops->query(h->obj);
    rp.u.query.n_waiting = (uint32_t)h->obj->ops->n_waiting(h->obj);
    if (h->obj->type == OBJECT_BARRIER) {
        rp.u.query.parties = barrier_from_object(h->obj)->parties;
        rp.u.query.broken = barrier_from_object(h->obj)->broken;
    }
    session_send(s, &rp);
}

static void dispatch_event_flag(struct session *s, const struct request *rq)
{
    struct handle *h = dispatch_handle(s, rq);

    if (h == NULL)
        return;
    if (h->obj->type != OBJECT_EVENT) {
        dispatch_wrong_type(s, rq, h->obj);
        return;
    }
    if (rq->op == OP_EVENT_SET)
        event_set(event_from_object(h->obj));
    else
        event_clear(event_from_object(h->obj));
    dispatch_reply(s, rq->id, 0, NULL);
}

void dispatch_request(struct session *s, const struct request *rq)
{
    if (s->state == SESSION_HANDSHAKE && rq->op != OP_HELLO) {
        log_warnx("client pid %d uid %u: request before handshake; closing",
                  (int)s->pid, (unsigned)s->uid);
        dispatch_reply(s, rq->id, SYNC_EPROTO, "handshake required first");
        session_abort(s, "no handshake");
        return;
    }
    switch (rq->op) {
    case OP_HELLO:
        dispatch_hello(s, rq);
        break;
    case OP_OPEN:
        dispatch_open(s, rq);
        break;
    case OP_CLOSE:
        dispatch_reply(s, rq->id, session_close_handle(s, rq->handle), NULL);
        break;
    case OP_UNLINK:
        dispatch_unlink(s, rq);
        break;
    case OP_ACQUIRE:
    case OP_EVENT_WAIT:
    case OP_COND_WAIT:
    case OP_BARRIER_WAIT:
        dispatch_wait(s, rq);
        break;
    case OP_COND_NOTIFY:
        dispatch_notify(s, rq);
        break;
    case OP_BARRIER_RESET:
    case OP_BARRIER_ABORT:
        dispatch_barrier(s, rq);
        break;
    case OP_RELEASE:
        dispatch_release(s, rq);
        break;
    case OP_QUERY:
        dispatch_query(s, rq);
        break;
    case OP_EVENT_SET:
    case OP_EVENT_CLEAR:
        dispatch_event_flag(s, rq);
        break;
    }
}
