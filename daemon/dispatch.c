/*
 * dispatch.c: turns each request into registry and object calls and each
 * outcome into a reply.  Immediate outcomes are answered here; queued
 * waiters are answered by dispatch_complete_cb, exactly once.
 */
#include "dispatch.h"

#include <unistd.h>

#include "log.h"
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

/* Map a wire ObjectType to a supported object type; 0 if unsupported. */
static enum object_type dispatch_object_type(uint32_t wire)
{
    switch (wire) {
    case OBJECT_LOCK:
    case OBJECT_SEMAPHORE:
    case OBJECT_BOUNDED_SEMAPHORE:
    case OBJECT_EVENT:
        return (enum object_type)wire;
    default:
        return 0;
    }
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
        *why = "unknown or unsupported object type";
        return SYNC_EINVAL;
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
    struct object_spec spec = {.type = type, .value = rq->value};
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
              : rv == SYNC_EEXIST ? "name exists with another value"
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
    session_send(s, &rp);
}

/* Start one wait-capable operation on o for p; returns 0, PENDING or <0. */
static int dispatch_start(struct object *o, enum request_op op,
                          struct pending *p, bool may_wait)
{
    switch (o->type) {
    case OBJECT_LOCK:
        return op == OP_ACQUIRE
                   ? lock_acquire(lock_from_object(o), &p->w, may_wait)
                   : SYNC_ETYPE;
    case OBJECT_SEMAPHORE:
    case OBJECT_BOUNDED_SEMAPHORE:
        return op == OP_ACQUIRE ? semaphore_acquire(semaphore_from_object(o),
                                                    &p->w, may_wait)
                                : SYNC_ETYPE;
    case OBJECT_EVENT:
        return op == OP_EVENT_WAIT
                   ? event_wait(event_from_object(o), &p->w, may_wait)
                   : SYNC_ETYPE;
    case OBJECT_RLOCK:
    case OBJECT_CONDITION:
    case OBJECT_BARRIER:
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

static void dispatch_wait(struct session *s, const struct request *rq)
{
    struct handle *h = dispatch_handle(s, rq);
    struct pending *p;
    int rv;

    if (h == NULL)
        return;
    if (rq->timeout_us != 0 &&
        s->n_pending >= s->server->limits.max_waits) {
        log_warnx("client pid %d uid %u: '%s': max_waits (%u) reached",
                  (int)s->pid, (unsigned)s->uid, h->obj->name,
                  s->server->limits.max_waits);
        dispatch_reply(s, rq->id, SYNC_ELIMIT, "too many pending waits");
        return;
    }
    p = session_pending_new(s, rq->id, rq->handle, rq->op);
    if (p == NULL) {
        dispatch_reply(s, rq->id, SYNC_ENOMEM, NULL);
        return;
    }
    rv = dispatch_start(h->obj, rq->op, p, rq->timeout_us != 0);
    if (rv == SYNCD_PENDING) {
        session_pending_track(s, p);
        /* Round up so a wait never ends before its timeout. */
        if (rq->timeout_us > 0 &&
            deadline_add(&s->server->deadlines, &p->deadline,
                         ((uint64_t)rq->timeout_us + 999) / 1000) != 0)
            object_cancel(&p->w, SYNC_ENOMEM);
        return;
    }
    if (rv == 0) {
        dispatch_note_grant(h, rq->op);
        dispatch_acquired(s, rq->id, h->obj, &p->w);
    } else if (rv == SYNC_ETYPE) {
        dispatch_wrong_type(s, rq, h->obj);
    } else {
        dispatch_reply(s, rq->id, rv, NULL);
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
        rv = lock_release(lock_from_object(h->obj), s->id);
        break;
    case OBJECT_SEMAPHORE:
    case OBJECT_BOUNDED_SEMAPHORE:
        rv = semaphore_release(semaphore_from_object(h->obj), rq->n);
        if (rv == 0)
            h->undo = rq->n >= h->undo ? 0 : h->undo - rq->n;
        break;
    case OBJECT_EVENT:
    case OBJECT_RLOCK:
    case OBJECT_CONDITION:
    case OBJECT_BARRIER:
        dispatch_wrong_type(s, rq, h->obj);
        return;
    }
    dispatch_reply(s, rq->id, rv,
                   rv == SYNC_EPERM ? "lock is not held by this client"
                   : rv == SYNC_EVALUE ? "semaphore released too many times"
                                       : NULL);
}

static void dispatch_query(struct session *s, const struct request *rq)
{
    struct handle *h = dispatch_handle(s, rq);
    struct reply rp = {.id = rq->id, .kind = REPLY_QUERY};

    if (h == NULL)
        return;
    rp.u.query_value = h->obj->ops->query(h->obj);
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
        dispatch_wait(s, rq);
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
