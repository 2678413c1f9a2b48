/*
 * grace.c: restored holds (ghosts) and the reclaim grace period; see
 * grace.h.
 */
#include "grace.h"

#include <string.h>

#include "log.h"
#include "objects/condition.h"
#include "objects/semaphore.h"
#include "store.h"
#include "xalloc.h"

void grace_init(struct grace *g, struct registry *r)
{
    memset(g, 0, sizeof(*g));
    g->registry = r;
}

struct lock *grace_lock_of(struct object *o)
{
    switch (o->type) {
    case OBJECT_LOCK:
    case OBJECT_RLOCK:
        return lock_from_object(o);
    case OBJECT_CONDITION:
        return condition_from_object(o)->own_lock
                   ? condition_from_object(o)->lock
                   : NULL;
    default:
        return NULL;
    }
}

int grace_add(struct grace *g, struct lock *l, const struct store_hold *h)
{
    struct grace_ghost *gh;

    if (g->n == g->cap) {
        size_t cap = g->cap ? 2 * g->cap : 16;
        struct grace_ghost *v = xrealloc(g->v, cap * sizeof(*v));

        if (v == NULL)
            return -1;
        g->v = v;
        g->cap = cap;
    }
    gh = &g->v[g->n];
    memset(gh, 0, sizeof(*gh));
    snprintf(gh->name, sizeof(gh->name), "%s", h->name);
    memcpy(gh->client_id, h->client_id, sizeof(gh->client_id));
    gh->owner = GRACE_GHOST_BASE + g->n;
    gh->token = h->token;
    lock_hold_restore(l, gh->owner, h->thread, h->depth, h->token);
    g->n++;
    return 0;
}

int grace_add_permits(struct grace *g, struct semaphore *s,
                      const struct store_permits *p)
{
    struct grace_permits *gp;

    if (g->pn == g->pcap) {
        size_t cap = g->pcap ? 2 * g->pcap : 16;
        struct grace_permits *v = xrealloc(g->pv, cap * sizeof(*v));

        if (v == NULL)
            return -1;
        g->pv = v;
        g->pcap = cap;
    }
    gp = &g->pv[g->pn++];
    memset(gp, 0, sizeof(*gp));
    snprintf(gp->name, sizeof(gp->name), "%s", p->name);
    memcpy(gp->client_id, p->client_id, sizeof(gp->client_id));
    gp->count = p->count;
    s->undo_out += p->count;
    s->undo_kept += p->count;
    return 0;
}

/* The semaphore permits ghost i holds permits of; NULL when it is gone
 * (unlinked: its permits went with it). */
static struct semaphore *grace_permits_sem(struct grace *g, size_t i)
{
    struct object *o = registry_lookup(g->registry, g->pv[i].name);

    return o != NULL && (o->type == OBJECT_SEMAPHORE ||
                         o->type == OBJECT_BOUNDED_SEMAPHORE)
               ? semaphore_from_object(o)
               : NULL;
}

/* Permits ghost i lets go of: no longer counted as taken through undo,
 * nor kept for its client. */
static void grace_permits_drop(struct grace *g, size_t i, struct semaphore *s,
                               uint32_t n)
{
    g->pv[i].count -= n;
    s->undo_out -= n;
    s->undo_kept -= n;
    if (g->store != NULL)
        store_permits_changed(g->store, &s->base, g->pv[i].client_id,
                              -(int64_t)n);
}

/* The lock ghost i still holds; NULL when it holds none any more (the
 * object was unlinked, or it was reclaimed). */
static struct lock *grace_ghost_lock(struct grace *g, size_t i)
{
    struct object *o = registry_lookup(g->registry, g->v[i].name);
    struct lock *l = o != NULL ? grace_lock_of(o) : NULL;

    return l != NULL && l->held && l->holder == g->v[i].owner ? l : NULL;
}

static void grace_remove(struct grace *g, size_t i)
{
    g->v[i] = g->v[--g->n];
}

/* Whether anything is still kept for a client to take back. */
static bool grace_keeps(const struct grace *g)
{
    return g->n > 0 || g->pn > 0;
}

/* The period is over: give back every permit left, as a dead client's. */
static void grace_end_permits(struct grace *g)
{
    struct semaphore *s;
    uint32_t n, given;
    size_t i;

    for (i = 0; i < g->pn; i++) {
        s = grace_permits_sem(g, i);
        n = g->pv[i].count;
        if (s == NULL || n == 0)
            continue;
        store_batch_begin(g->store);
        grace_permits_drop(g, i, s, n);
        given = semaphore_undo(s, n);
        if (g->store != NULL)
            store_note(g->store, &s->base);
        store_batch_end(g->store);
        log_info("%s '%s': %u undo permit(s) not reclaimed given back%s",
                 object_type_name(s->base.type), s->base.name, given,
                 given < n ? "; the rest would pass the bound" : "");
        g->permits_released += n;
    }
    g->pn = 0;
}

/* The period is over: drop every ghost left as a dead owner. */
static void grace_end(struct grace *g)
{
    struct lock *l;
    size_t i;

    for (i = 0; i < g->n; i++) {
        l = grace_ghost_lock(g, i);
        if (l == NULL)
            continue;
        /* The next waiter, or the next acquirer, learns owner_died. */
        (void)l->base.ops->drop_owner(&l->base, g->v[i].owner);
        g->released++;
    }
    grace_end_permits(g);
    if (g->reclaimed + g->released > 0)
        log_info("grace period over: %u hold(s) reclaimed, %u released "
                 "as owner died",
                 g->reclaimed, g->released);
    if (g->permits_reclaimed + g->permits_released > 0)
        log_info("grace period over: %u undo permit(s) reclaimed, %u given "
                 "back",
                 g->permits_reclaimed, g->permits_released);
    g->n = 0;
    g->ends_ms = 0;
    if (g->timer_open)
        uv_timer_stop(&g->timer);
}

static void grace_timer_cb(uv_timer_t *t)
{
    grace_end(t->data);
}

int grace_start(struct grace *g, uv_loop_t *loop, uint64_t ms)
{
    g->loop = loop;
    if (!grace_keeps(g))
        return 0;
    if (ms == 0) {
        grace_end(g);
        return 0;
    }
    /* From now, not from the loop's cached time of its creation: loading
     * the state took a while (much more under valgrind), and that must
     * not eat into the clients' time to reclaim. */
    uv_update_time(loop);
    if (uv_timer_init(loop, &g->timer) != 0)
        return -1;
    g->timer.data = g;
    g->timer_open = true;
    g->ends_ms = uv_now(loop) + ms;
    uv_timer_start(&g->timer, grace_timer_cb, ms, 0);
    if (g->pn == 0)
        log_info("grace period: %zu hold(s) kept for their clients to "
                 "reclaim within %llu ms",
                 g->n, (unsigned long long)ms);
    else
        log_info("grace period: %zu hold(s) and the undo permits of %zu "
                 "client(s) kept for their clients to reclaim within %llu ms",
                 g->n, g->pn, (unsigned long long)ms);
    return 0;
}

uint32_t grace_left_ms(const struct grace *g)
{
    uint64_t now;

    if (g->ends_ms == 0 || g->loop == NULL)
        return 0;
    now = uv_now(g->loop);
    return now >= g->ends_ms ? 0 : (uint32_t)(g->ends_ms - now);
}

void grace_kept(const struct grace *g, uint32_t *holds, uint32_t *permits)
{
    size_t i;

    *holds = (uint32_t)g->n;
    *permits = 0;
    for (i = 0; i < g->pn; i++)
        *permits += g->pv[i].count;
}

int grace_reclaim(struct grace *g, const char *name, struct lock *l,
                  const uint8_t client_id[16], uint64_t token, uint32_t depth,
                  uint64_t to, uint64_t *token_out, const char **why)
{
    size_t i;

    *why = g->ends_ms == 0
               ? "nothing to reclaim: no grace period (it is over, or this "
                 "daemon kept no hold of this client)"
               : "nothing to reclaim: this client held no such lock when "
                 "the daemon stopped (or it was unlinked)";
    for (i = 0; i < g->n; i++) {
        if (strcmp(g->v[i].name, name) != 0 ||
            memcmp(g->v[i].client_id, client_id, 16) != 0)
            continue;
        if (grace_ghost_lock(g, i) != l) {
            *why = "nothing to reclaim: the object was unlinked";
            grace_remove(g, i);
            return SYNC_ELOST;
        }
        if (token != 0 && token != g->v[i].token) {
            *why = "the hold kept has another fencing token";
            return SYNC_ELOST;
        }
        (void)lock_transfer(l, g->v[i].owner, to);
        if (depth > 0)
            lock_set_depth(l, depth);
        *token_out = g->v[i].token;
        grace_remove(g, i);
        g->reclaimed++;
        if (!grace_keeps(g))
            grace_end(g); /* all back: the period ends now */
        return 0;
    }
    return SYNC_ELOST;
}

int grace_drop_own(struct grace *g, const char *name, struct lock *l,
                   const uint8_t client_id[16], uint64_t thread)
{
    size_t i;

    if (!l->held || !grace_is_ghost(l->holder) || l->holder_thread != thread)
        return SYNC_ELOST;
    for (i = 0; i < g->n; i++) {
        if (strcmp(g->v[i].name, name) != 0 ||
            memcmp(g->v[i].client_id, client_id, 16) != 0 ||
            grace_ghost_lock(g, i) != l)
            continue;
        (void)lock_release_all(l);
        grace_remove(g, i);
        g->reclaimed++;
        if (!grace_keeps(g))
            grace_end(g);
        return 0;
    }
    return SYNC_ELOST;
}

uint32_t grace_take_permits(struct grace *g, const char *name,
                            struct semaphore *s, const uint8_t client_id[16],
                            uint32_t n)
{
    uint32_t take;
    size_t i;

    for (i = 0; i < g->pn; i++) {
        if (strcmp(g->pv[i].name, name) != 0 ||
            memcmp(g->pv[i].client_id, client_id, 16) != 0)
            continue;
        if (grace_permits_sem(g, i) != s)
            return 0;
        take = n < g->pv[i].count ? n : g->pv[i].count;
        grace_permits_drop(g, i, s, take);
        g->permits_reclaimed += take;
        if (g->pv[i].count == 0) {
            g->pv[i] = g->pv[--g->pn];
            if (!grace_keeps(g))
                grace_end(g);
        }
        return take;
    }
    return 0;
}

void grace_client_done(struct grace *g, const uint8_t client_id[16],
                       uint32_t *locks, uint32_t *permits)
{
    struct semaphore *s;
    struct lock *l;
    uint32_t n;
    size_t i = 0;

    *locks = *permits = 0;
    while (i < g->n) {
        if (memcmp(g->v[i].client_id, client_id, 16) != 0) {
            i++;
            continue;
        }
        if ((l = grace_ghost_lock(g, i)) != NULL) {
            (void)lock_release_all(l);
            (*locks)++;
        }
        grace_remove(g, i);
    }
    i = 0;
    while (i < g->pn) {
        if (memcmp(g->pv[i].client_id, client_id, 16) != 0) {
            i++;
            continue;
        }
        s = grace_permits_sem(g, i);
        n = g->pv[i].count;
        if (s != NULL && n > 0) {
            store_batch_begin(g->store);
            grace_permits_drop(g, i, s, n);
            (void)semaphore_undo(s, n);
            if (g->store != NULL)
                store_note(g->store, &s->base);
            store_batch_end(g->store);
            *permits += n;
        }
        g->pv[i] = g->pv[--g->pn];
    }
    if (g->ends_ms != 0 && !grace_keeps(g))
        grace_end(g); /* everybody is back: the period ends now */
}

void grace_close(struct grace *g)
{
    g->n = 0;
    g->pn = 0;
    g->ends_ms = 0;
    if (g->timer_open) {
        uv_close((uv_handle_t *)&g->timer, NULL);
        g->timer_open = false;
    }
}

void grace_fini(struct grace *g)
{
    xfree(g->v);
    g->v = NULL;
    g->n = g->cap = 0;
    xfree(g->pv);
    g->pv = NULL;
    g->pn = g->pcap = 0;
}
