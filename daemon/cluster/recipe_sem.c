/*
 * recipe_sem.c: Semaphore and BoundedSemaphore on cluster names (keys in
 * recipe_prim.h).  A permit is a key, so a permit taken through an UNDO
 * handle lives under its session's lease and comes back the moment the
 * lease is revoked (the client died) or expires (its agent died).
 * Waiters queue by their key's create revision: only the first `value`
 * of them try to take a permit, so a newcomer never overtakes a waiter;
 * every waiter watches the object's keys and reads again on a change
 * (a herd of re-reads, but no barging).
 */
#include "cluster/recipe_prim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "syncclient.h"

#define SEM_VALUE_MAX 0x7fffffffLL
/* Conflicting txns in a row before we give up (each means someone else
 * changed the semaphore: progress, never a livelock of ours alone). */
#define SEM_TRIES 64

/* One consistent read of the semaphore. */
struct sem_view {
    json_t *out;          /* the answer (owned) */
    json_t *holders;      /* s/ keys, oldest first (borrowed from out) */
    json_t *waiters;      /* w/ keys, oldest first */
    struct recipe_guard guard;
    int64_t rev, extra;
};

static int sem_read(struct etcd_ctx *c, const struct recipe_sem *s,
                    struct sem_view *v)
{
    char sk[ETCD_KEY_MAX], xk[ETCD_KEY_MAX], gk[ETCD_KEY_MAX],
        wk[ETCD_KEY_MAX], num[32];
    size_t sl = recipe_prim_key(sk, s->name, s->inc, "s/");
    size_t xl = recipe_prim_key(xk, s->name, s->inc, "x");
    size_t gl = recipe_prim_key(gk, s->name, s->inc, "g");
    size_t wl = recipe_prim_key(wk, s->name, s->inc, "w/");
    int rv;

    v->out = recipe_txn(c, json_pack("{s:[o,o,o,o]}", "success",
                                     recipe_prim_range(sk, sl, true, true),
                                     recipe_prim_range(xk, xl, false, false),
                                     recipe_prim_range(gk, gl, false, true),
                                     recipe_prim_range(wk, wl, true, true)),
                        &rv);
    if (rv != 0) {
        json_decref(v->out);
        v->out = NULL;
        return rv;
    }
    v->holders = recipe_prim_kvs(v->out, 0);
    v->waiters = recipe_prim_kvs(v->out, 3);
    v->rev = recipe_prim_rev(v->out);
    v->guard = recipe_prim_guard_of(recipe_kv(v->out, 2));
    v->extra = 0;
    if (recipe_kv(v->out, 1) != NULL &&
        etcd_unb64(recipe_kv(v->out, 1), "value", num, sizeof(num)) > 0)
        v->extra = strtoll(num, NULL, 10);
    return 0;
}

static int64_t sem_value(const struct recipe_sem *s, const struct sem_view *v)
{
    return (int64_t)s->initial + v->extra -
           (int64_t)json_array_size(v->holders);
}

/* The waiters queued before create revision wrev (0: all of them). */
static int64_t sem_ahead(const struct sem_view *v, int64_t wrev)
{
    json_t *kv;
    size_t i;
    int64_t n = 0;

    json_array_foreach(v->waiters, i, kv) {
        if (wrev != 0 && etcd_i64(kv, "create_revision") >= wrev)
            break;
        n++;
    }
    return n;
}

/* A change that may let a waiter through: anything but a new waiter. */
static bool sem_changed(int type, json_t *kv, void *arg)
{
    char k[ETCD_KEY_MAX];
    const char *w = arg;
    long n = etcd_unb64(kv, "key", k, sizeof(k));

    return type == 1 || n < 0 || strncmp(k, w, strlen(w)) != 0;
}

/* Take the permit: one guarded txn.  0 taken, 1 conflict, < 0 error. */
static int sem_take(struct etcd_ctx *c, const struct recipe_sem *s,
                    const struct sem_view *v, const char *info,
                    const char *wkey, size_t wl, bool queued, int64_t *token)
{
    char hk[ETCD_KEY_MAX], sfx[RECIPE_SUFFIX_MAX + 12];
    size_t hl;
    json_t *ops, *put;

    snprintf(sfx, sizeof(sfx), "s/%016llx-%08x-%08llx",
             (unsigned long long)s->lease, s->handle,
             (unsigned long long)s->seq);
    hl = recipe_prim_key(hk, s->name, s->inc, sfx);
    put = json_pack("{s:o,s:o}", "key", etcd_b64(hk, hl), "value",
                    etcd_b64(info, strlen(info)));
    /* UNDO: the permit ends with the session's lease. */
    if (put != NULL && s->handle != 0)
        json_object_set_new(put, "lease", etcd_s64(s->lease));
    ops = json_pack("[{s:o}]", "request_put", put);
    if (ops != NULL && queued)
        json_array_append_new(ops, json_pack("{s:{s:o}}",
                                             "request_delete_range", "key",
                                             etcd_b64(wkey, wl)));
    /* The permit key is new: its create revision is the txn's. */
    return recipe_prim_guarded(c, s->name, s->inc, &v->guard, ops, token);
}

/* Queue as waiter wkey (lease): *wrev its create revision. */
static int sem_queue(struct etcd_ctx *c, const struct recipe_sem *s,
                     const char *wkey, size_t wl, const char *info,
                     int64_t *wrev)
{
    json_t *out;
    int rv;

    out = recipe_txn(c, json_pack("{s:[{s:{s:o,s:o,s:o}}]}", "success",
                                  "request_put", "key", etcd_b64(wkey, wl),
                                  "value", etcd_b64(info, strlen(info)),
                                  "lease", etcd_s64(s->lease)),
                     &rv);
    if (rv == 0)
        *wrev = recipe_prim_rev(out);
    json_decref(out);
    return rv;
}

int recipe_sem_acquire(struct etcd_ctx *c, const struct recipe_sem *s,
                       const char *info, int64_t deadline_ms, bool may_wait,
                       int64_t *token)
{
    char wkey[ETCD_KEY_MAX], wpre[ETCD_KEY_MAX], sfx[RECIPE_SUFFIX_MAX + 4];
    size_t wl;
    int64_t wrev = 0;
    struct sem_view v;
    int rv, tries = 0;

    snprintf(sfx, sizeof(sfx), "w/%016llx-%08llx",
             (unsigned long long)s->lease, (unsigned long long)s->seq);
    wl = recipe_prim_key(wkey, s->name, s->inc, sfx);
    recipe_prim_key(wpre, s->name, s->inc, "w/");
    for (;;) {
        rv = sem_read(c, s, &v);
        if (rv != 0)
            break;
        if (sem_value(s, &v) > sem_ahead(&v, wrev)) {
            rv = sem_take(c, s, &v, info, wkey, wl, wrev != 0, token);
            json_decref(v.out);
            if (rv == 0)
                return 0;
            if (rv < 0)
                break;
            if (++tries < SEM_TRIES)
                continue;
            rv = SYNC_EUNAVAIL;
            break;
        }
        json_decref(v.out);
        if (!may_wait) {
            rv = SYNC_ETIMEDOUT;
            break;
        }
        if (wrev == 0) {
            rv = sem_queue(c, s, wkey, wl, info, &wrev);
            if (rv != 0)
                break;
            continue;
        }
        rv = recipe_prim_watch(c, s->name, s->inc, v.rev + 1, deadline_ms,
                               sem_changed, wpre);
        if (rv == SYNC_EUNAVAIL && deadline_ms >= 0 &&
            etcd_now_ms() >= deadline_ms)
            rv = SYNC_ETIMEDOUT;
        /* A broken stream: read again, on the member etcd moved to. */
        if (rv != 0 && rv != SYNC_EUNAVAIL)
            break;
    }
    if (wrev != 0)
        (void)recipe_prim_delete(c, wkey, wl, false);
    return rv;
}

/* Whether holder kv is the permit key of UNDO handle s (own) or one taken
 * without UNDO (plain: no lease). */
static bool sem_is_own(const struct recipe_sem *s, json_t *kv)
{
    char k[ETCD_KEY_MAX], own[ETCD_KEY_MAX], sfx[RECIPE_SUFFIX_MAX + 4];
    size_t ol;

    if (s->handle == 0)
        return false;
    snprintf(sfx, sizeof(sfx), "s/%016llx-%08x-",
             (unsigned long long)s->lease, s->handle);
    ol = recipe_prim_key(own, s->name, s->inc, sfx);
    return etcd_unb64(kv, "key", k, sizeof(k)) >= (long)ol &&
           memcmp(k, own, ol) == 0;
}

/* Add a deletion of holder kv to ops; 1 when added. */
static int sem_give(json_t *ops, json_t *kv, json_t *taken)
{
    char k[ETCD_KEY_MAX];
    long n = etcd_unb64(kv, "key", k, sizeof(k));

    if (n < 0 || json_array_append(taken, kv) != 0)
        return 0;
    json_array_append_new(ops, json_pack("{s:{s:o}}", "request_delete_range",
                                         "key", etcd_b64(k, (size_t)n)));
    return 1;
}

/* Whether kv is already in taken. */
static bool sem_taken(json_t *taken, json_t *kv)
{
    json_t *t;
    size_t i;

    json_array_foreach(taken, i, t)
        if (t == kv)
            return true;
    return false;
}

/* Choose the permit keys that n releases delete (see recipe_prim.h);
 * their deletions go into ops.  How many were chosen. */
static uint32_t sem_choose(const struct recipe_sem *s,
                           const struct sem_view *v, uint32_t n, json_t *ops)
{
    json_t *taken = json_array(), *kv;
    uint32_t got = 0;
    size_t i;
    int pass;

    for (pass = 0; pass < 3 && got < n; pass++)
        json_array_foreach(v->holders, i, kv) {
            bool pick = pass == 0   ? sem_is_own(s, kv)
                        : pass == 1 ? etcd_i64(kv, "lease") == 0
                                    : true;

            if (got < n && pick && !sem_taken(taken, kv))
                got += (uint32_t)sem_give(ops, kv, taken);
        }
    json_decref(taken);
    return got;
}

int recipe_sem_release(struct etcd_ctx *c, const struct recipe_sem *s,
                       uint32_t n)
{
    char xk[ETCD_KEY_MAX], num[32];
    size_t xl = recipe_prim_key(xk, s->name, s->inc, "x");
    struct sem_view v;
    json_t *ops;
    uint32_t got;
    int64_t rest;
    int rv, tries;

    for (tries = 0; tries < SEM_TRIES; tries++) {
        rv = sem_read(c, s, &v);
        if (rv != 0)
            return rv;
        ops = json_array();
        got = sem_choose(s, &v, n, ops);
        rest = (int64_t)n - got;
        if ((rest > 0 && s->bounded) ||
            sem_value(s, &v) + (int64_t)n > SEM_VALUE_MAX) {
            json_decref(ops);
            json_decref(v.out);
            return SYNC_EVALUE;
        }
        if (rest > 0) {
            snprintf(num, sizeof(num), "%lld", (long long)(v.extra + rest));
            json_array_append_new(ops, json_pack("{s:{s:o,s:o}}",
                                                 "request_put", "key",
                                                 etcd_b64(xk, xl), "value",
                                                 etcd_b64(num, strlen(num))));
        }
        rv = recipe_prim_guarded(c, s->name, s->inc, &v.guard, ops, NULL);
        json_decref(v.out);
        if (rv != 1)
            return rv;
    }
    return SYNC_EUNAVAIL;
}

int recipe_sem_undo(struct etcd_ctx *c, const struct recipe_sem *s)
{
    char k[ETCD_KEY_MAX], sfx[RECIPE_SUFFIX_MAX + 12];
    size_t kl;

    if (s->seq != 0)
        snprintf(sfx, sizeof(sfx), "s/%016llx-%08x-%08llx",
                 (unsigned long long)s->lease, s->handle,
                 (unsigned long long)s->seq);
    else
        snprintf(sfx, sizeof(sfx), "s/%016llx-%08x-",
                 (unsigned long long)s->lease, s->handle);
    kl = recipe_prim_key(k, s->name, s->inc, sfx);
    return recipe_prim_delete(c, k, kl, s->seq == 0);
}

int recipe_sem_state(struct etcd_ctx *c, const struct recipe_sem *s,
                     int64_t *value, uint32_t *waiting)
{
    struct sem_view v;
    int rv = sem_read(c, s, &v);

    if (rv != 0)
        return rv;
    *value = sem_value(s, &v);
    if (*value < 0)
        *value = 0;
    *waiting = (uint32_t)json_array_size(v.waiters);
    json_decref(v.out);
    return 0;
}
