/*
 * grace.c: restored holds (ghosts) and the reclaim grace period; see
 * grace.h.
 */
#include "grace.h"

#include <string.h>

#include "log.h"
#include "objects/condition.h"
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
    if (g->n > 0 || g->reclaimed > 0)
        log_info("grace period over: %u hold(s) reclaimed, %u released "
                 "as owner died",
                 g->reclaimed, g->released);
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
    if (g->n == 0)
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
    log_info("grace period: %zu hold(s) kept for their clients to reclaim "
             "within %llu ms",
             g->n, (unsigned long long)ms);
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
        if (g->n == 0)
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
        if (g->n == 0)
            grace_end(g);
        return 0;
    }
    return SYNC_ELOST;
}

void grace_close(struct grace *g)
{
    g->n = 0;
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
}
