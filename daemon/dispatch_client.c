/*
 * dispatch_client.c: what a client holds through the dispatch layer: its
 * queued waits (struct pending, recycled through the server's free list)
 * and, when it closes a handle or goes away, everything it gives back.
 * Invariant: a pending is on its session's list exactly while an object
 * has it queued, and server->n_waiters counts those of every session.
 */
#include "dispatch.h"
#include "xalloc.h"

#include <assert.h>
#include <string.h>

#include "cluster/cluster.h"
#include "dispatch_internal.h"
#include "lockcache.h"
#include "log.h"
#include "objects/semaphore.h"
#include "server.h"
#include "store.h"

/* Recycled wait records kept for reuse, so the hot path does not allocate. */
#define DISPATCH_FREE_PENDING_MAX 1024

static void dispatch_pending_expire_cb(struct deadline_entry *e)
{
    struct pending *p = container_of(e, struct pending, deadline);

    /* A condition waiter already notified keeps waiting for its lock. */
    p->expired = p->w.queue != NULL && !p->w.reacquiring;
    object_expire(&p->w);
}

struct pending *dispatch_pending_new(struct session *s, uint64_t req_id,
                                     uint32_t handle, enum wire_op op)
{
    struct server *srv = s->server;
    struct pending *p;

    if (!list_empty(&srv->free_pending)) {
        p = container_of(srv->free_pending.next, struct pending, link);
        list_remove(&p->link);
        srv->n_free_pending--;
    } else {
        p = xmalloc(sizeof(*p));
        if (p == NULL)
            return NULL;
    }
    memset(&p->w, 0, sizeof(p->w));
    list_init(&p->w.node);
    p->w.owner = s->id;
    p->w.complete = dispatch_complete_cb;
    deadline_entry_init(&p->deadline, dispatch_pending_expire_cb);
    list_init(&p->link);
    p->session = s;
    p->req_id = req_id;
    p->handle = handle;
    p->op = op;
    p->queued_ms = uv_now(srv->loop);
    p->expired = false;
    return p;
}

void dispatch_pending_track(struct pending *p)
{
    struct session *s = p->session;

    assert(list_empty(&p->link) && p->w.queue != NULL);
    list_insert_tail(&s->pending, &p->link);
    s->n_pending++;
    s->server->n_waiters++;
}

void dispatch_pending_free(struct pending *p)
{
    struct server *srv = p->session->server;

    if (!list_empty(&p->link)) {
        assert(p->session->n_pending > 0 && srv->n_waiters > 0);
        list_remove(&p->link);
        p->session->n_pending--;
        srv->n_waiters--;
    }
    deadline_remove(&srv->deadlines, &p->deadline);
    if (srv->n_free_pending < DISPATCH_FREE_PENDING_MAX) {
        list_insert_tail(&srv->free_pending, &p->link);
        srv->n_free_pending++;
    } else {
        xfree(p);
    }
}

void dispatch_cancel_waits(struct session *s, uint32_t id, int code)
{
    struct list_node *n;
    struct pending *p;

    /*
     * Rescan from the start after every cancellation: completing one wait
     * may complete others of this session too (a barrier breaks for all
     * its parties), and those are unlinked and recycled, so a saved "next"
     * pointer could lead into the free list.
     */
again:
    for (n = s->pending.next; n != &s->pending; n = n->next) {
        p = container_of(n, struct pending, link);
        if ((id == 0 || p->handle == id) && p->w.queue != NULL) {
            object_cancel(&p->w, code);
            goto again;
        }
    }
}

int dispatch_cancel_request(struct session *s, uint64_t req_id)
{
    struct list_node *n;
    struct pending *p;

    for (n = s->pending.next; n != &s->pending; n = n->next) {
        p = container_of(n, struct pending, link);
        if (p->req_id == req_id && p->w.queue != NULL && !p->w.reacquiring) {
            /* The path a deadline takes: "acquired or timed out, never
             * both" holds for a cancelled wait by the same construction. */
            object_expire(&p->w);
            return 0;
        }
    }
    return SYNC_ENOENT;
}

/* Whether what s holds stays in the state file for it to reclaim: the
 * daemon is stopping (the file was frozen first) and s can reclaim. */
static bool dispatch_kept_for_reclaim(const struct session *s)
{
    return s->state == SESSION_CLOSING && s->server->store != NULL &&
           s->server->store->frozen && s->has_client_id;
}

/* Give back the permits s took through a handle with undo and did not
 * release (the semaphore keeps to its bound). */
static void dispatch_undo(struct session *s, struct semaphore *sem,
                          uint32_t undo)
{
    uint32_t given;

    /* The value, the waiters it lets in and the client's undo permits
     * reach the disk in one commit. */
    store_batch_begin(s->server->store);
    given = semaphore_undo(sem, undo);
    dispatch_undo_moved(s, sem, -(int64_t)undo);
    dispatch_record(s->server, &sem->base);
    store_batch_end(s->server->store);
    if (dispatch_kept_for_reclaim(s)) {
        log_info("%s '%s': %u permit(s) of pid %d uid %u kept in the state "
                 "file, for it to reclaim after the restart (undo)",
                 object_type_name(sem->base.type), sem->base.name, undo,
                 (int)s->pid, (unsigned)s->uid);
        return;
    }
    log_info("%s '%s': %u permit(s) given back for pid %d uid %u (undo)%s",
             object_type_name(sem->base.type), sem->base.name, given,
             (int)s->pid, (unsigned)s->uid,
             given < undo ? "; the rest would pass the bound" : "");
}

int dispatch_close_handle(struct session *s, uint32_t id)
{
    struct handle *h = handle_find(&s->handles, id);
    struct object *o, *root;
    uint32_t undo;

    if (h == NULL)
        return SYNC_EBADF;
    o = h->obj;
    undo = h->undo;
    dispatch_unlend(s->server, o);
    dispatch_cancel_waits(s, id, SYNC_EBADF);
    handle_remove(&s->handles, id);
    /* Ownership is per session: keep it while another handle remains.
     * Log before dropping, so the line precedes the new holder's. */
    root = object_root(o);
    if (!handle_refers(&s->handles, root, 0) && object_holds(root, s->id) &&
        root->type != OBJECT_BARRIER && dispatch_kept_for_reclaim(s)) {
        log_info("%s '%s': holder pid %d uid %u (%s) kept in the state "
                 "file, for it to reclaim after the restart",
                 object_type_name(o->type), o->name, (int)s->pid,
                 (unsigned)s->uid, s->client_name);
        object_drop_owner(root, s->id);
    } else if (!handle_refers(&s->handles, root, 0) &&
               object_holds(root, s->id)) {
        s->server->stats.owner_deaths++;
        log_info("%s '%s' %s: %s pid %d uid %u (%s) %s",
                 object_type_name(o->type), o->name,
                 root->type == OBJECT_BARRIER ? "broken" : "released",
                 root->type == OBJECT_BARRIER ? "the party running its action,"
                                              : "holder",
                 (int)s->pid, (unsigned)s->uid, s->client_name,
                 s->state == SESSION_CLOSING ? "is gone" : "closed it");
        object_drop_owner(root, s->id);
    }
    if (undo > 0)
        dispatch_undo(s, semaphore_from_object(o), undo);
    registry_rele(&s->server->registry, o);
    return 0;
}

static void dispatch_cancel_all(struct session *s, int code)
{
    dispatch_cancel_waits(s, 0, code);
}

static void dispatch_closing(struct session *s)
{
    uint32_t id;

    cluster_session_closing(s);
    /* What s's page says first: a lock it held there is released below
     * as held (owner died); one merely cached comes back free. */
    lockcache_reclaim_session(s, NULL);
    /* Waits first, so nothing released below is granted back to s. */
    dispatch_cancel_waits(s, 0, SYNC_ECONN);
    for (id = 1; id < handle_end(&s->handles); id++)
        (void)dispatch_close_handle(s, id); /* SYNC_EBADF: a free slot */
    assert(s->n_pending == 0 && list_empty(&s->pending));
}

static void dispatch_fini(struct server *srv)
{
    struct list_node *n;

    while (!list_empty(&srv->free_pending)) {
        n = srv->free_pending.next;
        list_remove(n);
        xfree(container_of(n, struct pending, link));
    }
    srv->n_free_pending = 0;
}

const struct session_handler dispatch_handler = {
    .request = dispatch_request,
    .cancel_waits = dispatch_cancel_all,
    .closing = dispatch_closing,
    .fini = dispatch_fini,
};
