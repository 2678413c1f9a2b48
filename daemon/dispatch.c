/*
 * dispatch.c: turns each request into registry and object calls and each
 * outcome into a reply.  The requests that may wait (acquire and the
 * waits) are started in dispatch_wait.c, whose dispatch_complete_cb
 * answers a queued waiter exactly once; everything else is answered here.
 */
#include "dispatch.h"

#include <string.h>
#include <unistd.h>

#include "cluster/cluster.h"
#include "dispatch_internal.h"
#include "inspect.h"
#include "lockcache.h"
#include "log.h"
#include "objects/barrier.h"
#include "objects/condition.h"
#include "objects/event.h"
#include "objects/lock.h"
#include "objects/semaphore.h"
#include "grace.h"
#include "server.h"
#include "store.h"

void dispatch_reply(struct session *s, uint64_t id, int code,
                    const char *message)
{
    struct reply rp = {.id = id, .code = code, .message = message};

    session_send(s, &rp);
}

/* Whether s may do `want` on o; answers SYNC_EPERM and logs when not. */
static bool dispatch_allowed(struct session *s, const struct request *rq,
                             struct object *o, unsigned want)
{
    struct object *root = object_root(o);

    /* Through a condition, its lock's permissions apply too. */
    if (object_may(o, &s->cred, want) &&
        (root == o || object_may(root, &s->cred, want)))
        return true;
    s->server->stats.denied++;
    log_warnx("client pid %d uid %u: %s '%s' denied: needs %s (owner %u:%u "
              "mode %03o)",
              (int)s->pid, (unsigned)s->uid, wire_op_name(rq->op),
              o->name, want & OBJECT_MAY_WRITE ? "write" : "read", o->uid,
              o->gid, o->mode);
    dispatch_reply(s, rq->id, SYNC_EPERM, "permission denied");
    return false;
}

/* Why opening the existing object o with other parameters failed. */
static const char *dispatch_exists_why(const struct object *o)
{
    const struct condition *c;

    if (o == NULL || o->type != OBJECT_CONDITION)
        return "name exists with other parameters";
    c = condition_from_object((struct object *)o);
    return !c->own_lock && !c->lock->base.linked
               ? "the condition's lock was unlinked and the condition is in "
                 "use; it follows the lock's name once idle"
               : "the condition is bound to another lock";
}

/*
 * The capabilities this daemon grants (WIRE_CAP_*, proto/wire.h): a bit is
 * here only when its code is.  Each feature adds its own bit.
 */
#define DISPATCH_CAPS_SUPPORTED (WIRE_CAP_OWNERSHIP | WIRE_CAP_BARRIER_ACTION | \
                                 WIRE_CAP_RECLAIM | WIRE_CAP_LOCK_CACHE)

/*
 * Send the HelloResult; with WIRE_CAP_LOCK_CACHE granted, the session's
 * shared page goes with it (SCM_RIGHTS).  Without a page (lock-cache = off,
 * out of memory, a socket that refuses) the capability is not granted.
 */
static void dispatch_hello_send(struct session *s, struct reply *rp)
{
    int fds[2] = {-1, -1}, rv = SYNC_EINVAL;

    /* The page, and the daemon's liveness page (lockcache.h). */
    if ((s->caps & WIRE_CAP_LOCK_CACHE) && !s->server->lock_cache_off)
        rv = lockcache_alive_fd(s->server, &fds[1]);
    if (rv == 0)
        rv = lockcache_page_new(&s->cache, &fds[0]);
    if (rv == 0) {
        rv = session_send_fd(s, rp, fds, 2);
        close(fds[0]);
        if (rv == 0)
            return;
        log_warnx("client pid %d uid %u: lock cache page not sent: %s",
                  (int)s->pid, (unsigned)s->uid, sync_strerror(rv));
        lockcache_page_free(s->cache);
        s->cache = NULL;
    }
    s->caps &= ~WIRE_CAP_LOCK_CACHE;
    rp->u.hello.caps = s->caps;
    session_send(s, rp);
}

static void dispatch_hello(struct session *s, const struct request *rq)
{
    struct reply rp = {.id = rq->id, .kind = REPLY_HELLO};
    char why[96];

    if (s->state != SESSION_HANDSHAKE) {
        dispatch_reply(s, rq->id, SYNC_EPROTO, "duplicate handshake");
        return;
    }
    if (rq->version < WIRE_PROTOCOL_VERSION_MIN ||
        rq->version > WIRE_PROTOCOL_VERSION) {
        snprintf(why, sizeof(why),
                 "protocol version %u not supported (daemon speaks %u to %u)",
                 rq->version, WIRE_PROTOCOL_VERSION_MIN,
                 WIRE_PROTOCOL_VERSION);
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
    s->version = rq->version;
    /* A version-1 client is answered as version 1 was: its own version,
     * no capabilities, epoch or grace. */
    rp.u.hello.version = rq->version;
    rp.u.hello.server_pid = (uint32_t)getpid();
    rp.u.hello.session_id = s->id;
    rp.u.hello.max_frame = s->server->limits.max_frame;
    if (rq->version >= 2) {
        /* WIRE_CAP_CLUSTER: cluster/ names are served from etcd. */
        s->caps = rq->caps & (DISPATCH_CAPS_SUPPORTED |
                              (s->server->cluster ? WIRE_CAP_CLUSTER : 0));
        /* Reclaiming needs to know who the client is. */
        if (!rq->has_client_id)
            s->caps &= ~WIRE_CAP_RECLAIM;
        if (s->caps & WIRE_CAP_RECLAIM) {
            s->has_client_id = true;
            memcpy(s->client_id, rq->client_id, sizeof(s->client_id));
        }
        rp.u.hello.caps = s->caps;
        rp.u.hello.epoch =
            s->server->store != NULL ? s->server->store->epoch : 0;
        rp.u.hello.grace_ms =
            s->server->grace != NULL ? grace_left_ms(s->server->grace) : 0;
    }
    dispatch_hello_send(s, &rp);
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
    const char *bad = registry_name_problem(&s->server->registry, rq->name,
                                            rq->name_len);

    if (bad != NULL) {
        *why = bad;
        return SYNC_ENAME;
    }
    if (type == 0) {
        *why = "unknown object type";
        return SYNC_EINVAL;
    }
    if (type == OBJECT_BARRIER && rq->value == 0 &&
        !(rq->flags & WIRE_OPEN_FLAG_EXISTING)) {
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
    if ((rq->flags & ~(WIRE_OPEN_FLAG_UNDO | WIRE_OPEN_FLAG_EXISTING |
                       WIRE_OPEN_FLAG_TRANSIENT | WIRE_OPEN_FLAG_NO_CACHE)) !=
            0 ||
        ((rq->flags & WIRE_OPEN_FLAG_UNDO) && type != OBJECT_SEMAPHORE &&
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
        .lock_name = rq->lock_name_len > 0 ? rq->lock_name : NULL,
        .uid = (uint32_t)s->uid, .gid = (uint32_t)s->gid,
        .mode = rq->mode ? rq->mode & OBJECT_MODE_MASK : OBJECT_MODE_DEFAULT,
        .existing = (rq->flags & WIRE_OPEN_FLAG_EXISTING) != 0,
        .transient = (rq->flags & WIRE_OPEN_FLAG_TRANSIENT) != 0};
    struct object *existing;
    struct reply rp = {.id = rq->id, .kind = REPLY_OPEN};
    const char *why = NULL;
    struct object *o;
    bool created;
    uint32_t id;
    int rv = dispatch_check_open(s, rq, type, &why);

    /* Refuse before creating anything nobody could then use. */
    if (rv == 0 && s->handles.used >= s->handles.max) {
        rv = SYNC_ELIMIT;
        why = "max_handles reached";
    }
    /* Opening needs read or write on what exists: the object itself, and
     * write on the lock a new condition would bind to. */
    existing = rv == 0 ? registry_lookup(&s->server->registry, rq->name)
                       : NULL;
    if (existing != NULL &&
        !object_may(existing, &s->cred, OBJECT_MAY_READ) &&
        !dispatch_allowed(s, rq, existing, OBJECT_MAY_WRITE))
        return;
    if (rv == 0 && existing == NULL && spec.lock_name != NULL &&
        (existing = registry_lookup(&s->server->registry, spec.lock_name)) &&
        !dispatch_allowed(s, rq, existing, OBJECT_MAY_WRITE))
        return;
    if (rv == 0) {
        rv = registry_open(&s->server->registry, rq->name, &spec, &o,
                           &created);
        why = rv == SYNC_ETYPE    ? "name exists with another type"
              : rv == SYNC_EEXIST ? dispatch_exists_why(existing)
              : rv == SYNC_ELIMIT ? "max_objects reached"
              : rv == SYNC_ENOENT ? "not created (opened as existing only)"
                                  : NULL;
    }
    if (rv == 0) {
        uint32_t hf = ((rq->flags & WIRE_OPEN_FLAG_UNDO) ? HANDLE_FLAG_UNDO : 0) |
                      ((rq->flags & WIRE_OPEN_FLAG_NO_CACHE)
                           ? HANDLE_FLAG_NO_CACHE
                           : 0);

        /* A reconnecting client asks for its old handle number. */
        id = rq->handle;
        rv = rq->handle != 0 && (s->caps & WIRE_CAP_RECLAIM)
                 ? handle_add_at(&s->handles, o, hf, rq->handle)
                 : handle_add(&s->handles, o, hf, &id);
        if (rv == SYNC_EEXIST)
            why = "the handle number asked for is in use";
        if (rv != 0)
            registry_rele(&s->server->registry, o);
    }
    if (rv != 0) {
        /* An invalid name is not echoed: it may hold control characters
         * (a forged log line) or be 10,000 bytes long. */
        if (rv == SYNC_ENAME)
            log_warnx("client pid %d uid %u: open of a %zu-byte name: %s%s%s",
                      (int)s->pid, (unsigned)s->uid, rq->name_len,
                      sync_strerror(rv), why ? ": " : "", why ? why : "");
        else
            log_warnx("client pid %d uid %u: open '%s': %s%s%s", (int)s->pid,
                      (unsigned)s->uid, rq->name, sync_strerror(rv),
                      why ? ": " : "", why ? why : "");
        dispatch_reply(s, rq->id, rv, why);
        return;
    }
    if (created) {
        struct object *bound = spec.lock_name != NULL
                                   ? registry_lookup(&s->server->registry,
                                                     spec.lock_name)
                                   : NULL;

        /* A condition may have created its lock: that one first. */
        if (bound != NULL)
            dispatch_record(s->server, bound);
        dispatch_record(s->server, o);
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
    const char *bad = registry_name_problem(&s->server->registry, rq->name,
                                            rq->name_len);
    int rv = bad != NULL ? SYNC_ENAME : 0;
    struct object *o;

    if (rv == 0 && (o = registry_lookup(&s->server->registry, rq->name)) &&
        !dispatch_allowed(s, rq, o, OBJECT_MAY_WRITE))
        return;
    if (rv == 0)
        rv = registry_unlink(&s->server->registry, rq->name);
    if (rv == 0 && s->server->store != NULL)
        store_forget(s->server->store, rq->name);
    if (rv == 0)
        log_info("'%s' unlinked by pid %d uid %u", rq->name, (int)s->pid,
                 (unsigned)s->uid);
    dispatch_reply(s, rq->id, rv, bad);
}

/*
 * The handle of rq, or NULL after answering SYNC_EBADF, or SYNC_EPERM
 * when s may not do what rq needs: reading state needs read; everything
 * else (acquire, release, set, wait, notify...) needs write.  Checked on
 * every use, so a mode tightened later applies at once.
 */
struct handle *dispatch_handle(struct session *s,
                               const struct request *rq)
{
    struct handle *h = handle_find(&s->handles, rq->handle);
    unsigned want = rq->op == OP_QUERY ? OBJECT_MAY_READ : OBJECT_MAY_WRITE;

    if (h == NULL) {
        log_debug("client pid %d uid %u: unknown handle %u", (int)s->pid,
                  (unsigned)s->uid, rq->handle);
        dispatch_reply(s, rq->id, SYNC_EBADF, "unknown handle");
        return NULL;
    }
    if (!dispatch_allowed(s, rq, h->obj, want))
        return NULL;
    dispatch_unlend(s->server, h->obj);
    return h;
}

void dispatch_unlend(struct server *srv, struct object *o)
{
    struct object *root = object_root(o);

    if ((root->type == OBJECT_LOCK || root->type == OBJECT_RLOCK) &&
        lock_from_object(root)->lent_to != 0)
        lockcache_reclaim_cb(srv, root);
}

void dispatch_record(struct server *srv, struct object *o)
{
    if (srv->store != NULL)
        store_note(srv->store, o);
}

void dispatch_undo_moved(struct session *s, struct semaphore *sem,
                         int64_t delta)
{
    sem->undo_out = (uint32_t)((int64_t)sem->undo_out + delta);
    if (s->server->store == NULL || !s->has_client_id)
        return;
    sem->undo_kept = (uint32_t)((int64_t)sem->undo_kept + delta);
    store_permits_changed(s->server->store, &sem->base, s->client_id, delta);
}

void dispatch_wrong_type(struct session *s, const struct request *rq,
                         const struct object *o)
{
    char why[80];

    snprintf(why, sizeof(why), "operation not valid on a %s",
             object_type_name(o->type));
    dispatch_reply(s, rq->id, SYNC_ETYPE, why);
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
        /* The value, the client's undo permits and the waiters' grants
         * reach the disk in one commit. */
        store_batch_begin(s->server->store);
        rv = semaphore_release(semaphore_from_object(h->obj), rq->n);
        if (rv == 0) {
            uint32_t back = rq->n >= h->undo ? h->undo : rq->n;

            h->undo -= back;
            dispatch_undo_moved(s, semaphore_from_object(h->obj),
                                -(int64_t)back);
            dispatch_record(s->server, h->obj);
        }
        store_batch_end(s->server->store);
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

/* The party that ran a barrier's action reports (rq->action: it failed). */
static void dispatch_action_done(struct session *s, const struct request *rq,
                                 struct barrier *b)
{
    int rv = barrier_action_done(b, s->id, !rq->action);

    if (rv == SYNC_EPERM)
        log_warnx("client pid %d uid %u: barrier '%s': action reported by a "
                  "client not running it",
                  (int)s->pid, (unsigned)s->uid, b->base.name);
    else if (rq->action)
        log_info("barrier '%s' broken: its action failed in pid %d uid %u "
                 "(%s)",
                 b->base.name, (int)s->pid, (unsigned)s->uid, s->client_name);
    dispatch_reply(s, rq->id, rv,
                   rv == SYNC_EPERM ? "this client is not running the "
                                      "barrier's action"
                   : rv == SYNC_EBROKEN ? "the barrier broke while the "
                                          "action ran"
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
    if (rq->op == OP_BARRIER_ACTION_DONE) {
        dispatch_action_done(s, rq, barrier_from_object(h->obj));
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
        rp.u.query.n_waiting =
            barrier_parties_waiting(barrier_from_object(h->obj));
        rp.u.query.broken = barrier_from_object(h->obj)->broken;
    }
    if (h->obj->type == OBJECT_LOCK || h->obj->type == OBJECT_RLOCK ||
        h->obj->type == OBJECT_CONDITION) {
        const struct lock *l = h->obj->type == OBJECT_CONDITION
                                   ? condition_from_object(h->obj)->lock
                                   : lock_from_object(h->obj);

        rp.u.query.lock_held = l->held;
        rp.u.query.depth =
            lock_is_owner(l, s->id, rq->thread) ? l->depth : 0;
    }
    session_send(s, &rp);
}

/*
 * Take back up to rq->n permits this client held through undo handles of
 * h's semaphore before the daemon restarted (grace.h): first those the
 * file kept for it, then, in the grace period, free ones (a grant the
 * file had not kept yet under --fsync batch: the value kept is from
 * before it).  Answered with QueryResult.value = permits taken back.
 */
static void dispatch_reclaim_permits(struct session *s,
                                     const struct request *rq,
                                     struct handle *h)
{
    struct reply rp = {.id = rq->id, .kind = REPLY_QUERY};
    struct semaphore *sem = semaphore_from_object(h->obj);
    struct grace *g = s->server->grace;
    const char *why = "nothing to reclaim: this daemon keeps no state "
                      "(no --state-dir)";
    uint32_t kept = 0, extra = 0;

    if (!(h->flags & HANDLE_FLAG_UNDO)) {
        dispatch_reply(s, rq->id, SYNC_EINVAL,
                       "only an undo handle's semaphore permits are kept "
                       "for reclaim");
        return;
    }
    /* The ghost's permits and the handle's reach the disk in one commit. */
    store_batch_begin(s->server->store);
    if (s->server->store != NULL && g != NULL) {
        why = "nothing to reclaim: the object is not kept (anonymous)";
        if (h->obj->linked && !h->obj->transient) {
            why = "nothing to reclaim: no grace period (it is over, or "
                  "this daemon kept no permits of this client)";
            if (grace_left_ms(g) > 0) {
                why = "nothing to reclaim: this daemon kept no permits of "
                      "this client, and none is free (others took them)";
                kept = grace_take_permits(g, h->obj->name, sem, s->client_id,
                                          rq->n);
                if (kept < rq->n)
                    extra = semaphore_take(sem, rq->n - kept);
            }
        }
    }
    if (kept + extra > 0) {
        h->undo += kept + extra;
        dispatch_undo_moved(s, sem, kept + extra);
        dispatch_record(s->server, h->obj);
    }
    store_batch_end(s->server->store);
    if (kept + extra == 0) {
        log_info("client pid %d uid %u: reclaim of '%s' refused: %s",
                 (int)s->pid, (unsigned)s->uid, h->obj->name, why);
        dispatch_reply(s, rq->id, SYNC_ELOST, why);
        return;
    }
    if (kept + extra < rq->n)
        log_info("client pid %d uid %u: reclaim of '%s': %u of %u permit(s) "
                 "back, the rest were taken by others",
                 (int)s->pid, (unsigned)s->uid, h->obj->name, kept + extra,
                 rq->n);
    rp.u.query.value = kept + extra;
    session_send(s, &rp);
}

/* Reclaim with handle 0: the client took back all it holds; let go of
 * the rest kept for it (grace_client_done). */
static void dispatch_reclaim_done(struct session *s, const struct request *rq)
{
    uint32_t locks = 0, permits = 0;

    if (s->server->grace != NULL)
        grace_client_done(s->server->grace, s->client_id, &locks, &permits);
    if (locks + permits > 0)
        log_info("client pid %d uid %u: back, holding nothing more: %u "
                 "lock(s) and %u undo permit(s) kept for it let go",
                 (int)s->pid, (unsigned)s->uid, locks, permits);
    dispatch_reply(s, rq->id, 0, NULL);
}

/* Take back what this client held of a lock before the daemon restarted
 * (grace.h). */
static void dispatch_reclaim(struct session *s, const struct request *rq)
{
    struct reply rp = {.id = rq->id, .kind = REPLY_ACQUIRE};
    struct handle *h;
    struct lock *l;
    struct object *named;
    const char *why = "nothing to reclaim: this daemon keeps no state "
                      "(no --state-dir)";
    int rv = SYNC_ELOST;

    if (!(s->caps & WIRE_CAP_RECLAIM)) {
        dispatch_reply(s, rq->id, SYNC_EINVAL,
                       "reclaim needs the RECLAIM capability and a client id "
                       "in Hello");
        return;
    }
    if (rq->handle == 0) {
        dispatch_reclaim_done(s, rq);
        return;
    }
    h = dispatch_handle(s, rq);
    if (h == NULL)
        return;
    if (h->obj->type == OBJECT_SEMAPHORE ||
        h->obj->type == OBJECT_BOUNDED_SEMAPHORE) {
        dispatch_reclaim_permits(s, rq, h);
        return;
    }
    if (h->obj->type != OBJECT_LOCK && h->obj->type != OBJECT_RLOCK &&
        h->obj->type != OBJECT_CONDITION) {
        dispatch_wrong_type(s, rq, h->obj);
        return;
    }
    l = lock_from_object(object_root(h->obj));
    if (s->server->store != NULL && s->server->grace != NULL) {
        named = store_named(s->server->store, &l->base);
        why = "nothing to reclaim: the object is not kept (anonymous)";
        if (named != NULL)
            rv = grace_reclaim(s->server->grace, named->name, l,
                               s->client_id, rq->token, rq->n, s->id,
                               &rp.u.acquire.token, &why);
    }
    if (rv != 0) {
        log_info("client pid %d uid %u: reclaim of '%s' refused: %s",
                 (int)s->pid, (unsigned)s->uid, h->obj->name, why);
        dispatch_reply(s, rq->id, rv, why);
        return;
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
    dispatch_record(s->server, h->obj);
    dispatch_reply(s, rq->id, 0, NULL);
}

static void dispatch_status(struct session *s, const struct request *rq)
{
    struct status_info st;
    struct reply rp = {.id = rq->id, .kind = REPLY_STATUS};

    inspect_status(s, &st);
    rp.u.status = &st;
    session_send(s, &rp);
}

static void dispatch_list(struct session *s, const struct request *rq)
{
    struct object_list l;
    struct reply rp = {.id = rq->id, .kind = REPLY_LIST};
    const char *bad = NULL;
    int rv;

    /* Both were cut to SYNC_NAME_MAX bytes by the codec: a longer one
     * would silently match something else. */
    if (rq->pattern_len > SYNC_NAME_MAX)
        bad = "pattern longer than 255 bytes";
    else if (rq->after_name_len > SYNC_NAME_MAX ||
             strlen(rq->after_name) != rq->after_name_len)
        bad = "'after' is not a valid name (over 255 bytes or a NUL byte)";
    if (bad != NULL) {
        log_warnx("client pid %d uid %u: list: %s", (int)s->pid,
                  (unsigned)s->uid, bad);
        dispatch_reply(s, rq->id, SYNC_EINVAL, bad);
        return;
    }
    /* cluster/ names too: etcd is read first, the reply comes later. */
    if (cluster_inspect_list(s, rq))
        return;
    rv = inspect_list(s, rq->pattern_len ? rq->pattern : NULL,
                      rq->after_name_len ? rq->after_name : NULL, rq->limit,
                      &l);
    if (rv != 0) {
        dispatch_reply(s, rq->id, rv, NULL);
        return;
    }
    rp.u.list = &l;
    session_send(s, &rp);
    inspect_list_fini(&l);
}

static void dispatch_show(struct session *s, const struct request *rq)
{
    struct object_info o;
    struct reply rp = {.id = rq->id, .kind = REPLY_OBJECT};
    const char *bad = registry_name_problem(&s->server->registry, rq->name,
                                            rq->name_len);
    int rv = bad != NULL ? SYNC_ENAME : 0;

    if (rv == 0 && cluster_name(rq->name, rq->name_len)) {
        cluster_inspect_show(s, rq); /* answered once etcd was read */
        return;
    }
    if (rv == 0)
        rv = inspect_show(s, rq->name, rq->max_waiters, &o);
    if (rv != 0) {
        dispatch_reply(s, rq->id, rv, bad);
        return;
    }
    rp.u.object = &o;
    session_send(s, &rp);
    inspect_object_fini(&o);
}

static void dispatch_clients(struct session *s, const struct request *rq)
{
    struct client_list l;
    struct reply rp = {.id = rq->id, .kind = REPLY_CLIENTS};
    int rv = inspect_clients(s, rq->after_id, rq->limit, &l);

    if (rv != 0) {
        dispatch_reply(s, rq->id, rv, NULL);
        return;
    }
    rp.u.clients = &l;
    session_send(s, &rp);
    inspect_clients_fini(&l);
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
    s->server->stats.requests_by_op[rq->op]++;
    /* The one place that decides: a cluster/ name, or a handle or wait
     * of one, goes to the etcd backend; everything else is local. */
    if (cluster_takes(s, rq)) {
        cluster_request(s, rq);
        return;
    }
    switch (rq->op) {
    case OP_HELLO:
        dispatch_hello(s, rq);
        break;
    case OP_STATUS:
        dispatch_status(s, rq);
        break;
    case OP_LIST_OBJECTS:
        dispatch_list(s, rq);
        break;
    case OP_SHOW_OBJECT:
        dispatch_show(s, rq);
        break;
    case OP_LIST_CLIENTS:
        dispatch_clients(s, rq);
        break;
    case OP_OPEN:
        dispatch_open(s, rq);
        break;
    case OP_CLOSE:
        dispatch_reply(s, rq->id, dispatch_close_handle(s, rq->handle), NULL);
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
    case OP_BARRIER_ACTION_DONE:
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
    case OP_CANCEL:
        dispatch_reply(s, rq->id, dispatch_cancel_request(s, rq->cancel_id),
                       NULL);
        break;
    case OP_RECLAIM:
        dispatch_reclaim(s, rq);
        break;
    }
}
