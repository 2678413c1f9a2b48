/*
 * recipe_barrier.c: Barrier on cluster names (keys in recipe_prim.h).
 * An arrival takes its index from the round's arrival count in one
 * guarded txn; the arrival that fills the round only bumps gen.  A
 * waiter's own arrival key says how its round ended: gen moved on and
 * the key is still there, the round completed; the key is gone (a reset
 * deletes the round's keys), it did not.  A waiter that sees another
 * arrival of its round vanish while the round is open (that party's
 * lease ended: it died) breaks the barrier for everyone, as a party that
 * times out does.
 */
#include "cluster/recipe_prim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "syncclient.h"

#define BARRIER_TRIES 64

/* One consistent read of the barrier (round: that of gen). */
struct barrier_view {
    int64_t rev, gmod, gen, gen_mod;
    uint32_t arrived;    /* arrival keys of the round */
    bool broken;
    bool mine;           /* the arrival key asked about exists */
};

static size_t barrier_round_key(char *k, const char *name, int64_t inc,
                                int64_t gen, const char *who)
{
    char sfx[RECIPE_SUFFIX_MAX + 24];

    snprintf(sfx, sizeof(sfx), "a/%016llx/%s", (unsigned long long)gen, who);
    return recipe_prim_key(k, name, inc, sfx);
}

/* Read; mine: the arrival key to look for (NULL: none).  The round's
 * count is read in a second range once gen is known, inside the same
 * guarded snapshot when it matters (a stale count fails the guard). */
static int barrier_read(struct etcd_ctx *c, const char *name, int64_t inc,
                        const char *mine, size_t mine_len,
                        struct barrier_view *v)
{
    char gk[ETCD_KEY_MAX], nk[ETCD_KEY_MAX], bk[ETCD_KEY_MAX],
        rk[ETCD_KEY_MAX], num[32];
    size_t gl = recipe_prim_key(gk, name, inc, "g");
    size_t nl = recipe_prim_key(nk, name, inc, "gen");
    size_t bl = recipe_prim_key(bk, name, inc, "broken"), rl;
    json_t *out, *kv, *r;
    int rv;

    out = recipe_txn(c, json_pack("{s:[o,o,o,o]}", "success",
                                  recipe_prim_range(gk, gl, false, true),
                                  recipe_prim_range(nk, nl, false, false),
                                  recipe_prim_range(bk, bl, false, true),
                                  mine ? recipe_prim_range(mine, mine_len,
                                                           false, true)
                                       : recipe_prim_range(gk, gl, false,
                                                           true)),
                     &rv);
    if (rv == 0) {
        v->rev = recipe_prim_rev(out);
        v->gmod = etcd_i64(recipe_kv(out, 0), "mod_revision");
        kv = recipe_kv(out, 1);
        v->gen = kv && etcd_unb64(kv, "value", num, sizeof(num)) > 0
                     ? strtoll(num, NULL, 10)
                     : 0;
        v->gen_mod = etcd_i64(kv, "mod_revision");
        v->broken = recipe_kv(out, 2) != NULL;
        v->mine = mine != NULL && recipe_kv(out, 3) != NULL;
    }
    json_decref(out);
    if (rv != 0)
        return rv;
    /* The round's arrivals, at the same revision. */
    rl = barrier_round_key(rk, name, inc, v->gen, "");
    r = json_pack("{s:o,s:o,s:b,s:o}", "key", etcd_b64(rk, rl), "range_end",
                  etcd_prefix_end(rk, rl), "count_only", 1, "revision",
                  etcd_s64(v->rev));
    out = NULL;
    rv = r ? etcd_post(c, "/v3/kv/range", r, &out) : SYNC_ENOMEM;
    json_decref(r);
    if (rv == 0)
        v->arrived = (uint32_t)etcd_i64(out, "count");
    json_decref(out);
    return rv;
}

/* Arrive in round v->gen: 0 done (*rev: the txn's), 1 conflict, < 0. */
static int barrier_arrive(struct etcd_ctx *c, const char *name, int64_t inc,
                          uint32_t parties, int64_t lease,
                          const struct barrier_view *v, const char *me,
                          size_t ml, const char *info, int64_t *rev)
{
    char nk[ETCD_KEY_MAX], num[32];
    size_t nl = recipe_prim_key(nk, name, inc, "gen");
    json_t *op;

    if (v->arrived + 1 >= parties) {
        snprintf(num, sizeof(num), "%lld", (long long)(v->gen + 1));
        op = json_pack("{s:{s:o,s:o}}", "request_put", "key",
                       etcd_b64(nk, nl), "value", etcd_b64(num, strlen(num)));
    } else {
        op = json_pack("{s:{s:o,s:o,s:o}}", "request_put", "key",
                       etcd_b64(me, ml), "value",
                       etcd_b64(info, strlen(info)), "lease", etcd_s64(lease));
    }
    return recipe_prim_guarded(c, name, inc, v->gmod, json_pack("[o]", op),
                               rev);
}

/*
 * Break round gen unless it has ended (gen's mod revision moved), and
 * withdraw our arrival me (ml 0: none).  0 or errors.
 */
static int barrier_break(struct etcd_ctx *c, const char *name, int64_t inc,
                         const struct barrier_view *v, const char *why,
                         const char *me, size_t ml)
{
    char nk[ETCD_KEY_MAX], bk[ETCD_KEY_MAX], gk[ETCD_KEY_MAX];
    size_t nl = recipe_prim_key(nk, name, inc, "gen");
    size_t bl = recipe_prim_key(bk, name, inc, "broken");
    size_t gl = recipe_prim_key(gk, name, inc, "g");
    json_t *ops;
    int rv;

    ops = json_pack("[{s:{s:o,s:o}},{s:{s:o,s:o}}]", "request_put", "key",
                    etcd_b64(bk, bl), "value", etcd_b64(why, strlen(why)),
                    "request_put", "key", etcd_b64(gk, gl), "value",
                    etcd_b64("", 0));
    if (ops != NULL && ml > 0)
        json_array_append_new(ops, json_pack("{s:{s:o}}",
                                             "request_delete_range", "key",
                                             etcd_b64(me, ml)));
    atomic_store(&c->cancelled, false);
    rv = recipe_prim_commit(c, json_pack("[{s:s,s:o,s:o}]", "target", "MOD",
                                         "key", etcd_b64(nk, nl),
                                         "mod_revision",
                                         etcd_s64(v->gen_mod)),
                            ops, NULL);
    return rv < 0 ? rv : 0;
}

/* What a waiter's watch looks for. */
struct barrier_watch {
    char round[ETCD_KEY_MAX];  /* the round's arrival prefix */
    size_t round_len;
    char gen[ETCD_KEY_MAX], broken[ETCD_KEY_MAX];
    size_t gen_len, broken_len;
    bool departed;             /* an arrival of the round went */
};

static bool barrier_key_is(const char *k, long n, const char *want,
                           size_t wl)
{
    return n == (long)wl && memcmp(k, want, wl) == 0;
}

static bool barrier_event(int type, json_t *kv, void *arg)
{
    struct barrier_watch *w = arg;
    char k[ETCD_KEY_MAX];
    long n = etcd_unb64(kv, "key", k, sizeof(k));

    if (n < 0)
        return true;
    if (barrier_key_is(k, n, w->gen, w->gen_len) ||
        (type == 0 && barrier_key_is(k, n, w->broken, w->broken_len)))
        return true;
    if (type == 1 && n > (long)w->round_len &&
        memcmp(k, w->round, w->round_len) == 0) {
        w->departed = true;
        return true;
    }
    return false;
}

/* Wait in round gen as arrival me (created at revision rev). */
static int barrier_await(struct etcd_ctx *c, const char *name, int64_t inc,
                         int64_t gen, const char *me, size_t ml, int64_t rev,
                         int64_t deadline_ms)
{
    struct barrier_watch w = {.departed = false};
    struct barrier_view v;
    int rv, wrv;

    w.round_len = barrier_round_key(w.round, name, inc, gen, "");
    w.gen_len = recipe_prim_key(w.gen, name, inc, "gen");
    w.broken_len = recipe_prim_key(w.broken, name, inc, "broken");
    for (;;) {
        /* From our arrival on, always: a re-watch after a broken stream
         * sees every event again, and each is judged by a fresh read. */
        wrv = recipe_prim_watch(c, name, inc, rev + 1, deadline_ms,
                                barrier_event, &w);
        if (wrv == SYNC_EUNAVAIL && deadline_ms >= 0 &&
            etcd_now_ms() >= deadline_ms)
            wrv = SYNC_ETIMEDOUT;
        if (wrv != 0 && wrv != SYNC_EUNAVAIL && wrv != SYNC_ETIMEDOUT &&
            wrv != SYNC_EINTR)
            return wrv;
        atomic_store(&c->cancelled, false);
        rv = barrier_read(c, name, inc, me, ml, &v);
        if (rv != 0)
            return rv;
        if (!v.mine)
            return SYNC_EBROKEN; /* reset, or our lease ended */
        if (v.gen > gen) {
            (void)recipe_prim_delete(c, me, ml, false);
            return 0;
        }
        if (v.broken) {
            (void)recipe_prim_delete(c, me, ml, false);
            return SYNC_EBROKEN;
        }
        if (wrv == SYNC_ETIMEDOUT || wrv == SYNC_EINTR || w.departed) {
            rv = barrier_break(c, name, inc, &v,
                               wrv == SYNC_ETIMEDOUT ? "a party timed out"
                               : wrv == SYNC_EINTR   ? "a party's wait was "
                                                       "cancelled"
                                                     : "a party died",
                               me, ml);
            if (rv != 0)
                return rv;
            /* The round may have filled just before: read again. */
            w.departed = false;
            if (wrv == SYNC_EUNAVAIL || wrv == 0)
                continue;
            rv = barrier_read(c, name, inc, me, ml, &v);
            if (rv == 0 && v.mine && v.gen > gen) {
                (void)recipe_prim_delete(c, me, ml, false);
                return 0;
            }
            (void)recipe_prim_delete(c, me, ml, false);
            return wrv == SYNC_EINTR ? SYNC_EINTR : SYNC_EBROKEN;
        }
    }
}

int recipe_barrier_wait(struct etcd_ctx *c, const char *name, int64_t inc,
                        uint32_t parties, int64_t lease, uint64_t seq,
                        const char *info, int64_t deadline_ms,
                        int64_t *index)
{
    char me[ETCD_KEY_MAX], who[RECIPE_SUFFIX_MAX];
    struct barrier_view v;
    size_t ml;
    int64_t rev = 0;
    int rv, tries;

    snprintf(who, sizeof(who), "%016llx-%08llx", (unsigned long long)lease,
             (unsigned long long)seq);
    for (tries = 0; tries < BARRIER_TRIES; tries++) {
        rv = barrier_read(c, name, inc, NULL, 0, &v);
        if (rv != 0)
            return rv;
        if (v.broken)
            return SYNC_EBROKEN;
        ml = barrier_round_key(me, name, inc, v.gen, who);
        rv = barrier_arrive(c, name, inc, parties, lease, &v, me, ml, info,
                            &rev);
        if (rv < 0)
            return rv;
        if (rv == 1)
            continue;
        *index = v.arrived;
        if (v.arrived + 1 >= parties)
            return 0;
        return barrier_await(c, name, inc, v.gen, me, ml, rev, deadline_ms);
    }
    return SYNC_EUNAVAIL;
}

int recipe_barrier_op(struct etcd_ctx *c, const char *name, int64_t inc,
                      bool reset)
{
    char nk[ETCD_KEY_MAX], bk[ETCD_KEY_MAX], rk[ETCD_KEY_MAX], num[32];
    size_t nl = recipe_prim_key(nk, name, inc, "gen");
    size_t bl = recipe_prim_key(bk, name, inc, "broken"), rl;
    struct barrier_view v;
    json_t *ops;
    int rv, tries;

    for (tries = 0; tries < BARRIER_TRIES; tries++) {
        rv = barrier_read(c, name, inc, NULL, 0, &v);
        if (rv != 0)
            return rv;
        ops = json_array();
        if (reset) {
            /* The round's waiters find their keys gone: SYNC_EBROKEN. */
            rl = barrier_round_key(rk, name, inc, v.gen, "");
            snprintf(num, sizeof(num), "%lld", (long long)(v.gen + 1));
            json_array_append_new(ops, json_pack(
                "{s:{s:o,s:o}}", "request_delete_range", "key",
                etcd_b64(rk, rl), "range_end", etcd_prefix_end(rk, rl)));
            json_array_append_new(ops, json_pack(
                "{s:{s:o}}", "request_delete_range", "key", etcd_b64(bk, bl)));
            json_array_append_new(ops, json_pack(
                "{s:{s:o,s:o}}", "request_put", "key", etcd_b64(nk, nl),
                "value", etcd_b64(num, strlen(num))));
        } else {
            json_array_append_new(ops, json_pack(
                "{s:{s:o,s:o}}", "request_put", "key", etcd_b64(bk, bl),
                "value", etcd_b64("aborted", 7)));
        }
        rv = recipe_prim_guarded(c, name, inc, v.gmod, ops, NULL);
        if (rv != 1)
            return rv;
    }
    return SYNC_EUNAVAIL;
}

int recipe_barrier_state(struct etcd_ctx *c, const char *name, int64_t inc,
                         uint32_t *waiting, bool *broken)
{
    struct barrier_view v;
    int rv = barrier_read(c, name, inc, NULL, 0, &v);

    if (rv == 0) {
        *waiting = v.arrived;
        *broken = v.broken;
    }
    return rv;
}
