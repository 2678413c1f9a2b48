/*
 * recipe_barrier.c: Barrier on cluster names (keys in recipe_prim.h).
 * An arrival takes its index from the round's arrival count in one
 * guarded txn; the arrival that fills the round only bumps gen, or, when
 * a party offers to run the action, writes act naming the actor and
 * leaves gen to the actor's report.  A waiter's own arrival key says how
 * its round ended: gen moved on and the key is still there, the round
 * completed; the key is gone (a reset deletes the round's keys), it did
 * not.  A waiter that sees another arrival of its round vanish while the
 * round is open (that party's lease ended: it died; the actor included)
 * breaks the barrier for everyone, as a party that times out does.  act
 * has no lease, so an actor's death cannot make its round look open to
 * new arrivals: they find act naming a key that is gone, and break it.
 */
#include "cluster/recipe_prim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "syncclient.h"

#define BARRIER_TRIES 64
/* An arrival key's suffix when its party offers to run the action. */
#define BARRIER_OFFERS "-a"

/* One consistent read of the barrier (round: that of gen). */
struct barrier_view {
    struct recipe_guard guard;
    int64_t rev, gen, gen_mod;
    uint32_t arrived;    /* arrival keys of the round */
    bool broken;
    bool mine;           /* the arrival key asked about exists */
    char offer[RECIPE_SUFFIX_MAX]; /* the latest arrival that offers to
                                      run the action ("": none) */
    struct recipe_barrier_act act; /* the action running (rev 0: none) */
    bool actor_alive;    /* act's arrival key exists */
};

static size_t barrier_round_key(char *k, const char *name, int64_t inc,
                                int64_t gen, const char *who)
{
    char sfx[RECIPE_SUFFIX_MAX + 24];

    snprintf(sfx, sizeof(sfx), "a/%016llx/%s", (unsigned long long)gen, who);
    return recipe_prim_key(k, name, inc, sfx);
}

static bool barrier_offers(const char *who)
{
    size_t n = strlen(who), m = strlen(BARRIER_OFFERS);

    return n > m && strcmp(who + n - m, BARRIER_OFFERS) == 0;
}

/* The act key's value "ROUND WHO" into v->act (rev: its create revision). */
static void barrier_parse_act(json_t *kv, struct barrier_view *v)
{
    char val[32 + RECIPE_SUFFIX_MAX], who[RECIPE_SUFFIX_MAX];
    long long round;

    memset(&v->act, 0, sizeof(v->act));
    if (kv == NULL || etcd_unb64(kv, "value", val, sizeof(val)) < 0 ||
        sscanf(val, "%lld %39s", &round, who) != 2)
        return;
    v->act.rev = etcd_i64(kv, "create_revision");
    v->act.round = round;
    snprintf(v->act.who, sizeof(v->act.who), "%s", who);
}

/* The round's arrivals at v->rev: their count, the latest that offers
 * to run the action, and whether the actor's is among them. */
static int barrier_read_round(struct etcd_ctx *c, const char *name,
                              int64_t inc, struct barrier_view *v)
{
    char rk[ETCD_KEY_MAX], k[ETCD_KEY_MAX];
    size_t rl = barrier_round_key(rk, name, inc, v->gen, "");
    json_t *r, *out = NULL, *kv;
    size_t i;
    long n;
    int rv;

    r = json_pack("{s:o,s:o,s:b,s:s,s:s,s:o}", "key", etcd_b64(rk, rl),
                  "range_end", etcd_prefix_end(rk, rl), "keys_only", 1,
                  "sort_order", "ASCEND", "sort_target", "CREATE",
                  "revision", etcd_s64(v->rev));
    rv = r ? etcd_post(c, "/v3/kv/range", r, &out) : SYNC_ENOMEM;
    json_decref(r);
    v->offer[0] = '\0';
    v->actor_alive = false;
    if (rv == 0) {
        v->arrived = (uint32_t)etcd_i64(out, "count");
        json_array_foreach(json_object_get(out, "kvs"), i, kv) {
            n = etcd_unb64(kv, "key", k, sizeof(k));
            if (n <= (long)rl || n - (long)rl >= RECIPE_SUFFIX_MAX)
                continue;
            if (barrier_offers(k + rl))
                snprintf(v->offer, sizeof(v->offer), "%s", k + rl);
            if (v->act.rev != 0 && v->act.round == v->gen &&
                strcmp(k + rl, v->act.who) == 0)
                v->actor_alive = true;
        }
    }
    json_decref(out);
    return rv;
}

/* Read; mine: the arrival key to look for (NULL: none).  The round's
 * arrivals are read in a second range once gen is known, at the same
 * revision (a stale count fails the guard). */
static int barrier_read(struct etcd_ctx *c, const char *name, int64_t inc,
                        const char *mine, size_t mine_len,
                        struct barrier_view *v)
{
    char gk[ETCD_KEY_MAX], nk[ETCD_KEY_MAX], bk[ETCD_KEY_MAX],
        ak[ETCD_KEY_MAX], num[32];
    size_t gl = recipe_prim_key(gk, name, inc, "g");
    size_t nl = recipe_prim_key(nk, name, inc, "gen");
    size_t bl = recipe_prim_key(bk, name, inc, "broken");
    size_t al = recipe_prim_key(ak, name, inc, "act");
    json_t *out, *kv;
    int rv;

    out = recipe_txn(c, json_pack("{s:[o,o,o,o,o]}", "success",
                                  recipe_prim_range(gk, gl, false, true),
                                  recipe_prim_range(nk, nl, false, false),
                                  recipe_prim_range(bk, bl, false, true),
                                  mine ? recipe_prim_range(mine, mine_len,
                                                           false, true)
                                       : recipe_prim_range(gk, gl, false,
                                                           true),
                                  recipe_prim_range(ak, al, false, false)),
                     &rv);
    if (rv == 0) {
        v->rev = recipe_prim_rev(out);
        v->guard = recipe_prim_guard_of(recipe_kv(out, 0));
        kv = recipe_kv(out, 1);
        v->gen = kv && etcd_unb64(kv, "value", num, sizeof(num)) > 0
                     ? strtoll(num, NULL, 10)
                     : 0;
        v->gen_mod = etcd_i64(kv, "mod_revision");
        v->broken = recipe_kv(out, 2) != NULL;
        v->mine = mine != NULL && recipe_kv(out, 3) != NULL;
        barrier_parse_act(recipe_kv(out, 4), v);
    }
    json_decref(out);
    return rv == 0 ? barrier_read_round(c, name, inc, v) : rv;
}

static json_t *barrier_put(const char *k, size_t kl, const char *val,
                           int64_t lease)
{
    json_t *put = json_pack("{s:o,s:o}", "key", etcd_b64(k, kl), "value",
                            etcd_b64(val, strlen(val)));

    if (put != NULL && lease != 0)
        json_object_set_new(put, "lease", etcd_s64(lease));
    return put != NULL ? json_pack("{s:o}", "request_put", put) : NULL;
}

static json_t *barrier_cmp(const char *target, const char *k, size_t kl,
                           const char *field, int64_t value,
                           const char *result)
{
    return json_pack("{s:s,s:o,s:o,s:s}", "target", target, "key",
                     etcd_b64(k, kl), field, etcd_s64(value), "result",
                     result);
}

/*
 * Arrive in round v->gen as me (ml bytes, suffix who): 0 done (*rev: the
 * txn's; *act when this party is to run the action), 1 conflict, < 0.
 */
static int barrier_arrive(struct etcd_ctx *c, const struct recipe_barrier *b,
                          const struct barrier_view *v, const char *me,
                          size_t ml, const char *who, const char *info,
                          int64_t *rev, struct recipe_barrier_act *act)
{
    char nk[ETCD_KEY_MAX], ak[ETCD_KEY_MAX], ok[ETCD_KEY_MAX],
        val[32 + RECIPE_SUFFIX_MAX];
    size_t nl = recipe_prim_key(nk, b->name, b->inc, "gen");
    size_t al = recipe_prim_key(ak, b->name, b->inc, "act");
    size_t ol;
    const char *actor = b->offers ? who : v->offer;
    json_t *cmp, *ops;
    int rv;

    memset(act, 0, sizeof(*act));
    if (v->arrived + 1 < b->parties)
        return recipe_prim_guarded(c, b->name, b->inc, &v->guard,
                                   json_pack("[o]", barrier_put(me, ml, info,
                                                                b->lease)),
                                   rev);
    if (actor[0] == '\0') {
        snprintf(val, sizeof(val), "%lld", (long long)(v->gen + 1));
        return recipe_prim_guarded(c, b->name, b->inc, &v->guard,
                                   json_pack("[o]", barrier_put(nk, nl, val,
                                                                0)),
                                   rev);
    }
    /* Python: the last to arrive runs the action if it can, else (syncd)
     * the latest queued party that offers to.  Either way this arrival's
     * key joins the round: the actor's is how the others see it die, and
     * a filler that does not act waits in the actor's place. */
    snprintf(val, sizeof(val), "%lld %s", (long long)v->gen, actor);
    cmp = json_array();
    ops = json_pack("[o,o]", barrier_put(ak, al, val, 0),
                    barrier_put(me, ml, info, b->lease));
    if (!b->offers && cmp != NULL) {
        /* The queued actor must still be there (its lease not ended). */
        ol = barrier_round_key(ok, b->name, b->inc, v->gen, actor);
        json_array_append_new(cmp, barrier_cmp("VERSION", ok, ol, "version",
                                               0, "GREATER"));
    }
    rv = recipe_prim_guarded_if(c, b->name, b->inc, &v->guard, cmp, ops,
                                rev);
    if (rv == 0 && b->offers) {
        act->rev = *rev;
        act->round = v->gen;
        snprintf(act->who, sizeof(act->who), "%s", who);
    }
    return rv;
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
    char gen[ETCD_KEY_MAX], broken[ETCD_KEY_MAX], act[ETCD_KEY_MAX];
    size_t gen_len, broken_len, act_len;
    char who[RECIPE_SUFFIX_MAX]; /* our arrival's suffix ("": none) */
    int64_t gen_no;            /* the round */
    bool departed;             /* an arrival of the round went */
};

static void barrier_watch_init(struct barrier_watch *w, const char *name,
                               int64_t inc, int64_t gen, const char *who)
{
    w->round_len = barrier_round_key(w->round, name, inc, gen, "");
    w->gen_len = recipe_prim_key(w->gen, name, inc, "gen");
    w->broken_len = recipe_prim_key(w->broken, name, inc, "broken");
    w->act_len = recipe_prim_key(w->act, name, inc, "act");
    snprintf(w->who, sizeof(w->who), "%s", who);
    w->gen_no = gen;
    w->departed = false;
}

static bool barrier_key_is(const char *k, long n, const char *want,
                           size_t wl)
{
    return n == (long)wl && memcmp(k, want, wl) == 0;
}

/* Whether act's value kv names arrival who of round gen. */
static bool barrier_act_names(json_t *kv, int64_t gen, const char *who)
{
    struct barrier_view v;

    barrier_parse_act(kv, &v);
    return v.act.round == gen && strcmp(v.act.who, who) == 0;
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
    if (barrier_key_is(k, n, w->act, w->act_len)) {
        /* Deleted: the action ended (gen, broken or a reset say how);
         * put: we may be the party to run it. */
        if (type == 1)
            return true;
        return w->who[0] != '\0' && barrier_act_names(kv, w->gen_no, w->who);
    }
    if (type == 1 && n > (long)w->round_len &&
        memcmp(k, w->round, w->round_len) == 0) {
        w->departed = true;
        return true;
    }
    return false;
}

/* The actor's report as one txn: ok completes the round, else it breaks
 * the barrier.  0, 1 when a compare failed, < 0 errors. */
static int barrier_report(struct etcd_ctx *c, const char *name, int64_t inc,
                          const struct recipe_barrier_act *act, bool ok)
{
    char ak[ETCD_KEY_MAX], nk[ETCD_KEY_MAX], bk[ETCD_KEY_MAX],
        mk[ETCD_KEY_MAX], num[32];
    size_t al = recipe_prim_key(ak, name, inc, "act");
    size_t nl = recipe_prim_key(nk, name, inc, "gen");
    size_t bl = recipe_prim_key(bk, name, inc, "broken");
    size_t ml = barrier_round_key(mk, name, inc, act->round, act->who);
    const char *why = "the barrier's action failed";
    json_t *cmp, *ops;

    /* Still this round's action: not reset, not reported. */
    cmp = json_pack("[o]", barrier_cmp("CREATE", ak, al, "create_revision",
                                       act->rev, "EQUAL"));
    ops = json_pack("[{s:{s:o}},{s:{s:o}}]", "request_delete_range", "key",
                    etcd_b64(ak, al), "request_delete_range", "key",
                    etcd_b64(mk, ml));
    if (ok && cmp != NULL && ops != NULL) {
        /* ... nor broken (a party timed out or died, an abort), and the
         * actor's lease has not ended (etcd would have told the others
         * it died). */
        json_array_append_new(cmp, barrier_cmp("VERSION", bk, bl, "version",
                                               0, "EQUAL"));
        json_array_append_new(cmp, barrier_cmp("VERSION", mk, ml, "version",
                                               0, "GREATER"));
        snprintf(num, sizeof(num), "%lld", (long long)(act->round + 1));
        json_array_append_new(ops, barrier_put(nk, nl, num, 0));
    } else if (ops != NULL) {
        json_array_append_new(ops, barrier_put(bk, bl, why, 0));
    }
    atomic_store(&c->cancelled, false);
    /* Sent twice (its answer lost), the second finds act gone: the first
     * did it if g holds its write since act was made. */
    return recipe_prim_tagged(c, name, inc, cmp, ops, act->rev + 1, NULL,
                              NULL);
}

/* Wait in round gen as arrival me (suffix who, created at revision rev):
 * 0 when the round completed, or when we are to run its action (*act). */
static int barrier_await(struct etcd_ctx *c, const char *name, int64_t inc,
                         int64_t gen, const char *me, size_t ml,
                         const char *who, int64_t rev, int64_t deadline_ms,
                         struct recipe_barrier_act *act)
{
    struct barrier_watch w;
    struct barrier_view v;
    bool told;
    int rv, wrv;

    barrier_watch_init(&w, name, inc, gen, who);
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
        told = v.act.rev != 0 && v.act.round == gen &&
               strcmp(v.act.who, who) == 0;
        /* The act key outlives a dead actor: its arrival key went. */
        if (v.act.rev != 0 && !v.actor_alive)
            w.departed = true;
        if (v.broken) {
            if (told) /* the act key goes with our arrival key */
                (void)barrier_report(c, name, inc, &v.act, false);
            else
                (void)recipe_prim_delete(c, me, ml, false);
            return SYNC_EBROKEN;
        }
        if (told) {
            /* Our arrival key stays until we report: it is how the
             * others see us die meanwhile. */
            *act = v.act;
            return 0;
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

/*
 * An action runs (v->act): wait until it ends, as a local barrier's
 * arrivals during an action do.  1: something changed, read again and
 * arrive; 0: the watch broke, read again; SYNC_EBROKEN
 * when our deadline passed (we broke the barrier, as a local arrival
 * that times out there does) or SYNC_EINTR (cancelled: likewise).
 */
static int barrier_await_action(struct etcd_ctx *c, const char *name,
                                int64_t inc, const struct barrier_view *v,
                                int64_t deadline_ms)
{
    struct barrier_watch w;
    struct barrier_view now;
    int wrv, rv;

    barrier_watch_init(&w, name, inc, v->gen, "");
    wrv = recipe_prim_watch(c, name, inc, v->rev + 1, deadline_ms,
                            barrier_event, &w);
    if (wrv == SYNC_EUNAVAIL && deadline_ms >= 0 &&
        etcd_now_ms() >= deadline_ms)
        wrv = SYNC_ETIMEDOUT;
    if (wrv == 0 || wrv == SYNC_EUNAVAIL)
        return wrv == 0;
    if (wrv != SYNC_ETIMEDOUT && wrv != SYNC_EINTR)
        return wrv;
    atomic_store(&c->cancelled, false);
    rv = barrier_read(c, name, inc, NULL, 0, &now);
    if (rv == 0 && !now.broken)
        rv = barrier_break(c, name, inc, &now,
                           wrv == SYNC_ETIMEDOUT ? "a party timed out"
                                                 : "a party's wait was "
                                                   "cancelled",
                           NULL, 0);
    if (rv != 0)
        return rv;
    return wrv == SYNC_EINTR ? SYNC_EINTR : SYNC_EBROKEN;
}

int recipe_barrier_wait(struct etcd_ctx *c, const struct recipe_barrier *b,
                        const char *info, int64_t deadline_ms,
                        int64_t *index, struct recipe_barrier_act *act)
{
    char me[ETCD_KEY_MAX], who[RECIPE_SUFFIX_MAX];
    struct barrier_view v;
    size_t ml;
    int64_t rev = 0;
    int rv, tries;

    memset(act, 0, sizeof(*act));
    snprintf(who, sizeof(who), "%016llx-%08llx%s",
             (unsigned long long)b->lease, (unsigned long long)b->seq,
             b->offers ? BARRIER_OFFERS : "");
    for (tries = 0; tries < BARRIER_TRIES; tries++) {
        rv = barrier_read(c, b->name, b->inc, NULL, 0, &v);
        if (rv != 0)
            return rv;
        if (v.broken)
            return SYNC_EBROKEN;
        if (v.act.rev != 0 && !v.actor_alive) {
            /* Its actor died, and no party of the round has broken the
             * barrier yet (there may be none left to): we do. */
            rv = barrier_break(c, b->name, b->inc, &v,
                               "the party running the action died", NULL, 0);
            if (rv != 0)
                return rv;
            continue;
        }
        if (v.act.rev != 0) {
            rv = barrier_await_action(c, b->name, b->inc, &v, deadline_ms);
            if (rv < 0)
                return rv;
            tries -= rv; /* a wait that saw a change is not a conflict */
            continue;
        }
        ml = barrier_round_key(me, b->name, b->inc, v.gen, who);
        rv = barrier_arrive(c, b, &v, me, ml, who, info, &rev, act);
        if (rv < 0) {
            /* Failed or cut off, the arrival may have been applied all
             * the same (its answer lost): a party nobody waits in would
             * let the round complete short of one.  A party that leaves
             * abnormally breaks the round, as a timeout does. */
            (void)barrier_break(c, b->name, b->inc, &v,
                                "a party's arrival failed", me, ml);
            return rv;
        }
        if (rv == 1)
            continue;
        *index = v.arrived;
        if (v.arrived + 1 >= b->parties &&
            (act->rev != 0 || (!b->offers && v.offer[0] == '\0')))
            return 0;
        return barrier_await(c, b->name, b->inc, v.gen, me, ml, who, rev,
                             deadline_ms, act);
    }
    return SYNC_EUNAVAIL;
}

int recipe_barrier_acted(struct etcd_ctx *c, const char *name, int64_t inc,
                         const struct recipe_barrier_act *act, bool ok)
{
    int rv = barrier_report(c, name, inc, act, ok);

    if (rv != 1)
        return rv;
    if (!ok)
        return SYNC_EBROKEN; /* reset meanwhile, or reported already */
    /* The round broke meanwhile: it stays broken, and the act key goes
     * (a failure report does both). */
    rv = barrier_report(c, name, inc, act, false);
    return rv < 0 ? rv : SYNC_EBROKEN;
}

int recipe_barrier_op(struct etcd_ctx *c, const char *name, int64_t inc,
                      bool reset)
{
    char nk[ETCD_KEY_MAX], bk[ETCD_KEY_MAX], rk[ETCD_KEY_MAX],
        ak[ETCD_KEY_MAX], num[32];
    size_t nl = recipe_prim_key(nk, name, inc, "gen");
    size_t bl = recipe_prim_key(bk, name, inc, "broken");
    size_t al = recipe_prim_key(ak, name, inc, "act"), rl;
    struct barrier_view v;
    json_t *ops;
    int rv, tries;

    for (tries = 0; tries < BARRIER_TRIES; tries++) {
        rv = barrier_read(c, name, inc, NULL, 0, &v);
        if (rv != 0)
            return rv;
        ops = json_array();
        if (reset) {
            /* The round's waiters find their keys gone: SYNC_EBROKEN; an
             * action running finds its act key gone: SYNC_EBROKEN. */
            rl = barrier_round_key(rk, name, inc, v.gen, "");
            snprintf(num, sizeof(num), "%lld", (long long)(v.gen + 1));
            json_array_append_new(ops, json_pack(
                "{s:{s:o,s:o}}", "request_delete_range", "key",
                etcd_b64(rk, rl), "range_end", etcd_prefix_end(rk, rl)));
            json_array_append_new(ops, json_pack(
                "{s:{s:o}}", "request_delete_range", "key", etcd_b64(bk, bl)));
            json_array_append_new(ops, json_pack(
                "{s:{s:o}}", "request_delete_range", "key", etcd_b64(ak, al)));
            json_array_append_new(ops, barrier_put(nk, nl, num, 0));
        } else {
            json_array_append_new(ops, barrier_put(bk, bl, "aborted", 0));
        }
        rv = recipe_prim_guarded(c, name, inc, &v.guard, ops, NULL);
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
        /* Python's n_waiting: the actor's arrival counts until the
         * round ends, as the local barrier's does
         * (barrier_parties_waiting). */
        *waiting = v.arrived;
        *broken = v.broken;
    }
    return rv;
}
