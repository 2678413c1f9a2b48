/*
 * store.c: when the state reaches the disk (store_db.c owns the format).
 * Changes are kept as the latest record per name in a dirty map and
 * committed in one transaction: at once under --fsync always, else every
 * interval (and at a clean stop).  Fencing-token reservations are the one
 * write that never waits: a lock that reaches its reserved limit is
 * recorded and fsync'ed before the token goes out, under every policy.
 */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "grace.h"
#include "log.h"
#include "xalloc.h"
#include "objects/condition.h"
#include "objects/event.h"
#include "objects/lock.h"
#include "objects/semaphore.h"

struct store_dirty {
    struct store_rec rec;
    bool deleted;              /* unlinked: delete the rows */
    bool obj;                  /* rec is to be written */
    bool hold;                 /* the hold is to be written (held) or
                                  deleted */
    bool held;
    struct store_hold h;
    bool permits_reset;        /* unlinked: delete its permits rows (before
                                  the ledger's rows of a new object of the
                                  name are written) */
    UT_hash_handle hh;
    bool hash_oom;             /* hash.h */
};

/* One client's undo permits of one semaphore; the key is p.name and
 * p.client_id (the struct zeroed first, so the key's bytes are defined). */
struct store_ledger {
    struct store_permits p;
    bool dirty;                /* to be written at the next commit */
    UT_hash_handle hh;
    bool hash_oom;             /* hash.h */
};

#define STORE_LEDGER_KEYLEN \
    (offsetof(struct store_permits, client_id) + \
     sizeof(((struct store_permits *)0)->client_id))

int store_fsync_parse(const char *s)
{
    if (strcmp(s, "always") == 0)
        return STORE_FSYNC_ALWAYS;
    if (strcmp(s, "batch") == 0)
        return STORE_FSYNC_BATCH;
    if (strcmp(s, "never") == 0)
        return STORE_FSYNC_NEVER;
    return -1;
}

const char *store_fsync_name(enum store_fsync p)
{
    switch (p) {
    case STORE_FSYNC_ALWAYS: return "always";
    case STORE_FSYNC_BATCH: return "batch";
    case STORE_FSYNC_NEVER: return "never";
    }
    return "?";
}

/* o as the file keeps it. */
static void store_rec_of(const struct object *o, struct store_rec *r)
{
    memset(r, 0, sizeof(*r));
    snprintf(r->name, sizeof(r->name), "%s", o->name);
    r->type = o->type;
    r->param = o->param;
    r->uid = o->uid;
    r->gid = o->gid;
    r->mode = o->mode;
    switch (o->type) {
    case OBJECT_LOCK:
    case OBJECT_RLOCK: {
        const struct lock *l = container_of(o, struct lock, base);

        r->tokens = l->token_limit == UINT64_MAX ? l->tokens
                                                 : l->token_limit;
        break;
    }
    case OBJECT_SEMAPHORE:
    case OBJECT_BOUNDED_SEMAPHORE: {
        const struct semaphore *s = container_of(o, struct semaphore, base);
        /* Undo permits of clients without an id count as given back;
         * the others are kept per client (the ledger). */
        uint64_t v = (uint64_t)s->value + s->undo_out - s->undo_kept;

        if (o->type == OBJECT_BOUNDED_SEMAPHORE && v > s->bound)
            v = s->bound;
        r->state = (int64_t)v;
        break;
    }
    case OBJECT_EVENT:
        r->state = container_of(o, struct event, base)->set;
        break;
    case OBJECT_CONDITION: {
        const struct condition *c = container_of(o, struct condition, base);

        if (!c->own_lock)
            snprintf(r->lock_name, sizeof(r->lock_name), "%s",
                     c->lock->base.name);
        r->tokens = c->lock->token_limit == UINT64_MAX
                        ? c->lock->tokens
                        : c->lock->token_limit;
        break;
    }
    case OBJECT_BARRIER:
        break;
    }
}

/* Write the dirty map in one transaction (synced if sync); true when it
 * reached the file. */
static bool store_commit(struct store *st, bool sync)
{
    struct store_dirty *d, *tmp;
    char err[STORE_ERR_MAX];

    struct store_ledger *e, *etmp;

    if (st->dirty == NULL && st->ledger_dirty == 0)
        return true;
    if (store_db_begin(st->db, sync, err) != 0)
        goto fail;
    HASH_ITER(hh, st->dirty, d, tmp) {
        if (d->permits_reset &&
            store_db_del_permits(st->db, d->rec.name, err) != 0) {
            (void)store_db_commit(st->db, err);
            goto fail;
        }
        if ((d->deleted ? store_db_del(st->db, d->rec.name, err) != 0 ||
                              store_db_del_hold(st->db, d->rec.name, err)
                        : (d->obj && store_db_put(st->db, &d->rec, err)) ||
                              (d->hold &&
                               (d->held ? store_db_put_hold(st->db, &d->h, err)
                                        : store_db_del_hold(st->db,
                                                            d->rec.name,
                                                            err)))) != 0) {
            (void)store_db_commit(st->db, err); /* rolls back on failure */
            goto fail;
        }
    }
    /* After the names: an unlinked semaphore's rows go before a new one's
     * of the same name are written. */
    HASH_ITER(hh, st->ledger, e, etmp) {
        if (e->dirty && store_db_put_permits(st->db, &e->p, err) != 0) {
            (void)store_db_commit(st->db, err);
            goto fail;
        }
    }
    if (store_db_commit(st->db, err) != 0)
        goto fail;
    HASH_ITER(hh, st->dirty, d, tmp) {
        HASH_DEL(st->dirty, d);
        xfree(d);
    }
    if (st->ledger_dirty > 0) {
        HASH_ITER(hh, st->ledger, e, etmp) {
            e->dirty = false;
            if (e->p.count == 0) {
                HASH_DEL(st->ledger, e);
                xfree(e);
            }
        }
        st->ledger_dirty = 0;
    }
    st->commits++;
    return true;

fail:
    /* Kept in the map: the next commit tries again. */
    st->write_errors++;
    log_error("state: %s (kept in memory, retried at the next commit)", err);
    return false;
}

static void store_timer_cb(uv_timer_t *t)
{
    struct store *st = t->data;

    (void)store_commit(st, st->policy != STORE_FSYNC_NEVER);
}

/* The dirty entry for name, created if missing; NULL when out of memory
 * (then committed now, so nothing is lost). */
static struct store_dirty *store_dirty_get(struct store *st, const char *name)
{
    struct store_dirty *d = NULL;

    HASH_FIND_STR(st->dirty, name, d);
    if (d != NULL)
        return d;
    d = xcalloc(1, sizeof(*d));
    if (d == NULL)
        return NULL;
    d->obj = false;
    snprintf(d->rec.name, sizeof(d->rec.name), "%s", name);
    d->hash_oom = false;
    HASH_ADD_STR(st->dirty, rec.name, d);
    if (d->hash_oom) {
        xfree(d);
        return NULL;
    }
    return d;
}

static void store_changed(struct store *st)
{
    if (st->policy == STORE_FSYNC_ALWAYS) {
        if (st->batch > 0)
            st->batch_changed = true;
        else
            (void)store_commit(st, true);
        return;
    }
    if (st->timer_open && !uv_is_active((uv_handle_t *)&st->timer))
        uv_timer_start(&st->timer, store_timer_cb, st->interval_ms, 0);
}

void store_note(struct store *st, struct object *o)
{
    struct store_dirty *d;

    /* An anonymous (transient) object ends with its last handle, and a
     * restart closes every handle: nothing to keep. */
    if (!o->linked || o->transient || st->frozen)
        return;
    d = store_dirty_get(st, o->name);
    if (d == NULL) {
        log_error("state: out of memory recording '%s'", o->name);
        return;
    }
    store_rec_of(o, &d->rec);
    if (d->deleted) {
        /* Unlinked and created again: the old hold goes too. */
        d->hold = true;
        d->held = false;
    }
    d->deleted = false;
    d->obj = true;
    store_changed(st);
}

struct object *store_named(struct store *st, struct object *o)
{
    struct object *named = o;
    struct lock *l;

    if (!o->linked) {
        /* A condition's own lock carries the condition's name. */
        l = lock_from_object(o);
        named = registry_lookup(st->registry, o->name);
        if (named != NULL && (named->type != OBJECT_CONDITION ||
                              condition_from_object(named)->lock != l))
            named = NULL;
    }
    return named != NULL && !named->transient ? named : NULL;
}

/*
 * env->hold_changed: record who holds o (a lock) now, at the next commit
 * as the policy says: a grant is one more write in the batch, never a
 * sync of its own.  A holder that gave no client id is kept as no holder
 * (it could not reclaim); a restored hold nobody reclaimed yet (grace.c's
 * ghost) does not change.
 */
static void store_hold_changed(void *arg, struct object *o)
{
    struct store *st = arg;
    struct lock *l = lock_from_object(o);
    struct object *named;
    struct store_dirty *d;

    if (st->frozen || (l->held && grace_is_ghost(l->holder)) ||
        (named = store_named(st, o)) == NULL)
        return;
    d = store_dirty_get(st, named->name);
    if (d == NULL) {
        log_error("state: out of memory recording the holder of '%s'",
                  named->name);
        return;
    }
    d->hold = true;
    d->held = l->held && st->client_id_of != NULL &&
              st->client_id_of(st->client_id_arg, l->holder,
                               d->h.client_id);
    if (d->held) {
        snprintf(d->h.name, sizeof(d->h.name), "%s", named->name);
        d->h.thread = l->holder_thread;
        d->h.depth = l->depth;
        d->h.token = l->holder_token;
    }
    store_changed(st);
}

/* The ledger row of (name, client_id); created (count 0) when missing
 * and create; NULL when missing, or out of memory. */
static struct store_ledger *store_ledger_get(struct store *st,
                                             const char *name,
                                             const uint8_t client_id[16],
                                             bool create)
{
    struct store_permits key;
    struct store_ledger *e = NULL;

    memset(&key, 0, sizeof(key));
    snprintf(key.name, sizeof(key.name), "%s", name);
    memcpy(key.client_id, client_id, sizeof(key.client_id));
    HASH_FIND(hh, st->ledger, &key, STORE_LEDGER_KEYLEN, e);
    if (e != NULL || !create)
        return e;
    e = xcalloc(1, sizeof(*e));
    if (e == NULL)
        return NULL;
    e->p = key;
    e->hash_oom = false;
    HASH_ADD(hh, st->ledger, p, STORE_LEDGER_KEYLEN, e);
    if (e->hash_oom) {
        xfree(e);
        return NULL;
    }
    return e;
}

void store_permits_changed(struct store *st, struct object *o,
                           const uint8_t client_id[16], int64_t delta)
{
    struct store_ledger *e;
    int64_t count;

    if (!o->linked || o->transient || st->frozen || delta == 0)
        return;
    e = store_ledger_get(st, o->name, client_id, true);
    if (e == NULL) {
        log_error("state: out of memory recording the undo permits of '%s'",
                  o->name);
        return;
    }
    count = (int64_t)e->p.count + delta;
    e->p.count = count < 0 ? 0 : (uint32_t)count;
    if (!e->dirty)
        st->ledger_dirty++;
    e->dirty = true;
    store_changed(st);
}

void store_batch_begin(struct store *st)
{
    if (st != NULL)
        st->batch++;
}

void store_batch_end(struct store *st)
{
    if (st == NULL || --st->batch > 0 || !st->batch_changed)
        return;
    st->batch_changed = false;
    (void)store_commit(st, true);
}

void store_freeze(struct store *st)
{
    store_flush(st);
    st->frozen = true;
}

void store_forget(struct store *st, const char *name)
{
    struct store_dirty *d = store_dirty_get(st, name);

    if (d == NULL) {
        log_error("state: out of memory recording the unlink of '%s'", name);
        return;
    }
    struct store_ledger *e, *tmp;

    d->deleted = true;
    d->obj = d->hold = false;
    d->permits_reset = true;
    /* Its rows go with it (the commit deletes them by name). */
    HASH_ITER(hh, st->ledger, e, tmp) {
        if (strcmp(e->p.name, name) != 0)
            continue;
        if (e->dirty)
            st->ledger_dirty--;
        HASH_DEL(st->ledger, e);
        xfree(e);
    }
    store_changed(st);
}

void store_flush(struct store *st)
{
    (void)store_commit(st, st->policy != STORE_FSYNC_NEVER);
}

/*
 * env->reserve_tokens: o (a lock, or a condition's own lock) reached its
 * reserved limit.  Reserve the next STORE_TOKEN_CHUNK and commit it,
 * synced, before the grant goes on.
 */
static void store_reserve_tokens(void *arg, struct object *o)
{
    struct store *st = arg;
    struct lock *l = lock_from_object(o);
    struct object *named = store_named(st, o);

    l->token_limit = l->tokens + STORE_TOKEN_CHUNK;
    if (named == NULL) {
        /* Unlinked or anonymous: a restart will not know it. */
        l->token_limit = UINT64_MAX;
        return;
    }
    store_note(st, named);
    /* Under always store_note committed it (true here: nothing left). */
    if (!store_commit(st, true)) {
        /* Not on disk: grant this one, and try again at the next. */
        l->token_limit = l->tokens + 1;
        log_error("state: '%s': fencing tokens beyond %llu are not on disk; "
                  "a crash now could repeat them",
                  o->name, (unsigned long long)l->tokens);
    }
}

/* Recreate one object from the file in r. */
static int store_restore(void *arg, const struct store_rec *rec)
{
    struct store *st = arg;
    struct object_spec spec = {
        .type = rec->type, .value = rec->param,
        .lock_name = rec->lock_name[0] ? rec->lock_name : NULL,
        .uid = rec->uid, .gid = rec->gid, .mode = rec->mode};
    struct object *o;
    struct lock *l = NULL;
    bool created;

    if (rec->type < OBJECT_LOCK || rec->type > OBJECT_BARRIER ||
        registry_open(st->registry, rec->name, &spec, &o, &created) != 0)
        return -1;
    switch (o->type) {
    case OBJECT_LOCK:
    case OBJECT_RLOCK:
        l = lock_from_object(o);
        break;
    case OBJECT_CONDITION:
        l = condition_from_object(o)->lock;
        break;
    case OBJECT_SEMAPHORE:
    case OBJECT_BOUNDED_SEMAPHORE: {
        struct semaphore *s = semaphore_from_object(o);

        s->value = rec->state < 0 ? 0
                   : o->type == OBJECT_BOUNDED_SEMAPHORE &&
                           (uint64_t)rec->state > s->bound
                       ? s->bound
                       : (uint32_t)rec->state;
        break;
    }
    case OBJECT_EVENT:
        event_from_object(o)->set = rec->state != 0;
        break;
    case OBJECT_BARRIER:
        break;
    }
    if (l != NULL && rec->tokens > l->tokens) {
        /* Every token up to the reservation may have gone out: start
         * after it, and reserve again at the first grant. */
        l->tokens = rec->tokens;
        l->token_limit = rec->tokens;
    }
    registry_rele(st->registry, o);
    st->loaded++;
    return 0;
}

/* Restore one hold from the file: its lock is held by a ghost (grace.c)
 * until its client reclaims it or the grace period ends. */
static int store_restore_hold(void *arg, const struct store_hold *h)
{
    struct store *st = arg;
    struct object *o = registry_lookup(st->registry, h->name);
    struct lock *l = o != NULL ? grace_lock_of(o) : NULL;

    if (l == NULL || l->held || h->depth == 0) {
        log_warnx("state: hold of '%s' in the file has no lock to go with; "
                  "dropped",
                  h->name);
        return 0;
    }
    if (grace_add(st->grace, l, h) != 0)
        return -1;
    st->holds_loaded++;
    return 0;
}

/* Restore one client's undo permits of a semaphore from the file: held
 * by a ghost (grace.c) until the client reclaims them or the grace period
 * gives them back. */
static int store_restore_permits(void *arg, const struct store_permits *p)
{
    struct store *st = arg;
    struct object *o = registry_lookup(st->registry, p->name);
    struct store_ledger *e;

    if (o == NULL || (o->type != OBJECT_SEMAPHORE &&
                      o->type != OBJECT_BOUNDED_SEMAPHORE) ||
        p->count == 0) {
        log_warnx("state: undo permits of '%s' in the file have no "
                  "semaphore to go with; dropped",
                  p->name);
        return 0;
    }
    e = store_ledger_get(st, p->name, p->client_id, true);
    if (e == NULL || grace_add_permits(st->grace, semaphore_from_object(o),
                                       p) != 0)
        return -1;
    e->p.count = p->count;
    st->permits_loaded += p->count;
    return 0;
}

static void store_ledger_free(struct store *st)
{
    struct store_ledger *e, *tmp;

    HASH_ITER(hh, st->ledger, e, tmp) {
        HASH_DEL(st->ledger, e);
        xfree(e);
    }
    st->ledger_dirty = 0;
}

/* Hold DIR/lock for the daemon's life (closed by exit): a second daemon
 * on the same directory is refused. */
/* The directory's lock: an fd with flock(LOCK_EX), or -1 (logged). */
static int store_lock_dir(const char *dir)
{
    char path[4096];
    int fd;

    snprintf(path, sizeof(path), "%s/lock", dir);
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        log_error("state: cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        log_error("state: %s is in use by another syncd (%s)", dir,
                  strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

int store_open(struct store *st, const char *dir, enum store_fsync policy,
               uint64_t interval_ms, uv_loop_t *loop, struct registry *r,
               struct grace *g)
{
    char err[STORE_ERR_MAX];
    uint64_t epoch;

    memset(st, 0, sizeof(*st));
    g->store = st;
    st->policy = policy;
    st->interval_ms = interval_ms;
    st->registry = r;
    st->grace = g;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        log_error("state: cannot create %s: %s", dir, strerror(errno));
        return -1;
    }
    if ((st->lock_fd = store_lock_dir(dir)) < 0)
        return -1;
    if (store_db_open(dir, policy != STORE_FSYNC_NEVER, &st->db, err) != 0 ||
        store_db_load(st->db, &epoch, store_restore, st, err) != 0 ||
        store_db_load_holds(st->db, store_restore_hold, st, err) != 0 ||
        store_db_load_permits(st->db, store_restore_permits, st, err) != 0) {
        log_error("state: %s; refusing to start (move the directory's "
                  "state.db* files away to start empty)", err);
        goto err_db;
    }
    st->epoch = epoch + 1;
    if (store_db_begin(st->db, true, err) != 0 ||
        store_db_set_epoch(st->db, st->epoch, err) != 0 ||
        store_db_commit(st->db, err) != 0) {
        log_error("state: %s; refusing to start", err);
        goto err_db;
    }
    if (uv_timer_init(loop, &st->timer) != 0) {
        log_error("state: cannot create the commit timer");
        goto err_db;
    }
    st->timer.data = st;
    st->timer_open = true;
    r->env.reserve_tokens = store_reserve_tokens;
    r->env.reserve_arg = st;
    r->env.hold_changed = store_hold_changed;
    r->env.hold_arg = st;
    return 0;

err_db:
    store_db_close(st->db);
    st->db = NULL;
    store_ledger_free(st);
    close(st->lock_fd);
    st->lock_fd = -1;
    return -1;
}

void store_close(struct store *st)
{
    if (st->db == NULL)
        return;
    /* Synced under every policy: a clean stop loses nothing. */
    (void)store_commit(st, true);
    st->registry->env.reserve_tokens = NULL;
    st->registry->env.hold_changed = NULL;
    if (st->timer_open) {
        uv_close((uv_handle_t *)&st->timer, NULL);
        st->timer_open = false;
    }
    store_db_close(st->db);
    st->db = NULL;
    store_ledger_free(st);
    /* Another daemon may have the directory now. */
    close(st->lock_fd);
    st->lock_fd = -1;
}
