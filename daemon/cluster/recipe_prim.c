/*
 * recipe_prim.c: what the Semaphore, Barrier and Condition recipes share:
 * the open that gives an object its incarnation, and the key, range,
 * guard and watch shapes (recipe_prim.h describes the keys).
 */
#include "cluster/recipe_prim.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "syncclient.h"

size_t recipe_prim_key(char *out, const char *name, int64_t inc,
                       const char *suffix)
{
    char s[ETCD_KEY_MAX];

    snprintf(s, sizeof(s), "%016llx/%s", (unsigned long long)inc, suffix);
    return recipe_key(out, name, s);
}

json_t *recipe_prim_range(const char *k, size_t kl, bool prefix,
                          bool keys_only)
{
    json_t *r = json_pack("{s:o}", "key", etcd_b64(k, kl));

    if (r != NULL && prefix) {
        json_object_set_new(r, "range_end", etcd_prefix_end(k, kl));
        json_object_set_new(r, "sort_order", json_string("ASCEND"));
        json_object_set_new(r, "sort_target", json_string("CREATE"));
    }
    if (r != NULL && keys_only)
        json_object_set_new(r, "keys_only", json_true());
    return r != NULL ? json_pack("{s:o}", "request_range", r) : NULL;
}

json_t *recipe_prim_kvs(json_t *txn, size_t i)
{
    json_t *r = json_array_get(json_object_get(txn, "responses"), i);

    return json_object_get(json_object_get(r, "response_range"), "kvs");
}

int recipe_prim_commit(struct etcd_ctx *c, json_t *cmp, json_t *ops,
                       int64_t *rev)
{
    json_t *out;
    int rv;

    out = recipe_txn(c, cmp && ops ? json_pack("{s:o,s:o}", "compare", cmp,
                                               "success", ops)
                                   : NULL,
                     &rv);
    if (!(cmp && ops)) {
        json_decref(cmp);
        json_decref(ops);
    }
    if (rv == 0 && !recipe_ok(out))
        rv = 1;
    else if (rv == 0 && rev != NULL)
        *rev = recipe_prim_rev(out);
    json_decref(out);
    return rv;
}

/* A value no other write of a guard key carries: 64 random bits drawn
 * once per process, then a counter. */
static void recipe_prim_tag(char *out, size_t cap)
{
    static _Atomic uint64_t next;
    uint64_t base = atomic_load(&next), seed;

    while (base == 0) {
        if (getrandom(&seed, sizeof(seed), 0) != (ssize_t)sizeof(seed))
            seed = (uint64_t)etcd_now_ms() * 0x9e3779b97f4a7c15ULL ^
                   (uint64_t)getpid();
        seed = (seed | 1) << 20; /* room below for the counter */
        if (atomic_compare_exchange_strong(&next, &base, seed))
            base = seed;
    }
    snprintf(out, cap, "%016llx",
             (unsigned long long)atomic_fetch_add(&next, 1));
}

struct recipe_guard recipe_prim_guard_of(json_t *kv)
{
    struct recipe_guard g = {etcd_i64(kv, "mod_revision"),
                             etcd_i64(kv, "version")};

    return g;
}

/* What recipe_prim_was_ours's watch looks for. */
struct tag_search {
    const char *tag;
    int64_t last;  /* g's mod revision now: the history ends there */
    bool ours;
    int64_t rev;
};

/* Whether kv (NULL: none) holds the value tag. */
static bool kv_holds_tag(json_t *kv, const char *tag)
{
    char v[64];

    return kv != NULL &&
           etcd_unb64(kv, "value", v, sizeof(v)) == (long)strlen(tag) &&
           strcmp(v, tag) == 0;
}

static bool tag_search_cb(int type, json_t *kv, void *arg)
{
    struct tag_search *f = arg;

    f->rev = etcd_i64(kv, "mod_revision");
    f->ours = type == 0 && kv_holds_tag(kv, f->tag);
    return f->ours || f->rev >= f->last;
}

/*
 * A tagged txn's compares failed and g is now kv (NULL: absent): did an
 * earlier sending of it (tag) get applied after revision since?  g shows
 * tag if nobody wrote it after; else etcd's history of g since then
 * holds it or not.  0 (ours: *rev its revision), 1 (not), SYNC_EUNAVAIL
 * (the history is not there to say: compacted, or etcd out of reach).
 */
static int recipe_prim_was_ours(struct etcd_ctx *c, const char *gk,
                                size_t gl, int64_t since, json_t *kv,
                                const char *tag, int64_t *rev)
{
    struct tag_search f = {.tag = tag, .last = etcd_i64(kv, "mod_revision")};

    if (kv_holds_tag(kv, tag)) {
        if (rev != NULL)
            *rev = f.last;
        return 0;
    }
    if (kv == NULL || f.last < since)
        return 1;
    if (etcd_watch(c, gk, gl, since, etcd_now_ms() + 3000, tag_search_cb,
                   &f) != 0)
        return SYNC_EUNAVAIL;
    if (f.ours && rev != NULL)
        *rev = f.rev;
    return f.ours ? 0 : 1;
}

int recipe_prim_tagged(struct etcd_ctx *c, const char *name, int64_t inc,
                       json_t *cmp, json_t *ops, int64_t since,
                       const struct recipe_guard *g, int64_t *rev)
{
    char gk[ETCD_KEY_MAX], tag[32];
    size_t gl = recipe_prim_key(gk, name, inc, "g");
    json_t *out, *kv;
    int rv;

    recipe_prim_tag(tag, sizeof(tag));
    if (ops != NULL)
        json_array_append_new(ops, json_pack("{s:{s:o,s:o}}", "request_put",
                                             "key", etcd_b64(gk, gl), "value",
                                             etcd_b64(tag, strlen(tag))));
    out = recipe_txn(c, cmp && ops ? json_pack("{s:o,s:o,s:[o]}", "compare",
                                               cmp, "success", ops,
                                               "failure",
                                               recipe_prim_range(gk, gl,
                                                                 false,
                                                                 false))
                                   : NULL,
                     &rv);
    if (!(cmp && ops)) {
        json_decref(cmp);
        json_decref(ops);
    }
    if (rv == 0 && recipe_ok(out)) {
        if (rev != NULL)
            *rev = recipe_prim_rev(out);
    } else if (rv == 0) {
        kv = recipe_kv(out, 0);
        /* Guarded, and g one write past the read: that write is what g
         * shows, ours or not; no history to search. */
        if (g != NULL && kv != NULL &&
            etcd_i64(kv, "version") == g->version + 1)
            since = INT64_MAX;
        rv = recipe_prim_was_ours(c, gk, gl, since, kv, tag, rev);
    }
    json_decref(out);
    return rv;
}

int recipe_prim_guarded_if(struct etcd_ctx *c, const char *name, int64_t inc,
                           const struct recipe_guard *g, json_t *cmp,
                           json_t *ops, int64_t *rev)
{
    char gk[ETCD_KEY_MAX];
    size_t gl = recipe_prim_key(gk, name, inc, "g");

    if (cmp == NULL)
        cmp = json_array();
    if (cmp != NULL)
        json_array_append_new(cmp, json_pack("{s:s,s:o,s:o}", "target",
                                             "MOD", "key", etcd_b64(gk, gl),
                                             "mod_revision",
                                             etcd_s64(g->mod)));
    /* The guard admits one write after g->mod: ours or not, it is the
     * first in g's history since. */
    return recipe_prim_tagged(c, name, inc, cmp, ops, g->mod + 1, g, rev);
}

int recipe_prim_guarded(struct etcd_ctx *c, const char *name, int64_t inc,
                        const struct recipe_guard *g, json_t *ops,
                        int64_t *rev)
{
    return recipe_prim_guarded_if(c, name, inc, g, NULL, ops, rev);
}

int64_t recipe_prim_rev(json_t *out)
{
    return etcd_i64(json_object_get(out, "header"), "revision");
}

int recipe_prim_watch(struct etcd_ctx *c, const char *name, int64_t inc,
                      int64_t rev, int64_t deadline_ms, etcd_event_fn fn,
                      void *arg)
{
    char p[ETCD_KEY_MAX];
    size_t pl = recipe_prim_key(p, name, inc, "");

    return etcd_watch_prefix(c, p, pl, rev, deadline_ms, fn, arg);
}

int recipe_prim_delete(struct etcd_ctx *c, const char *k, size_t kl,
                       bool prefix)
{
    json_t *req = json_pack("{s:o}", "key", etcd_b64(k, kl)), *out = NULL;
    int rv;

    atomic_store(&c->cancelled, false);
    if (req != NULL && prefix)
        json_object_set_new(req, "range_end", etcd_prefix_end(k, kl));
    rv = req ? etcd_post(c, "/v3/kv/deleterange", req, &out) : SYNC_ENOMEM;
    json_decref(req);
    json_decref(out);
    return rv;
}

/* Parse "T:P:EXTRA" (EXTRA may be missing: a Lock's "T:P"). */
static int recipe_prim_parse(json_t *kv, unsigned *t, unsigned *p,
                             char *extra, size_t cap)
{
    char v[32 + RECIPE_LOCK_NAME_MAX];
    int n = 0;

    if (etcd_unb64(kv, "value", v, sizeof(v)) < 0 ||
        sscanf(v, "%u:%u%n", t, p, &n) != 2)
        return SYNC_EINTERNAL;
    snprintf(extra, cap, "%s", v[n] == ':' ? v + n + 1 : "");
    return 0;
}

int recipe_prim_open(struct etcd_ctx *c, const char *name, int type,
                     uint32_t param, const char *extra, bool existing,
                     bool *created, int64_t *inc, uint32_t *param_out,
                     char *extra_out, size_t extra_cap)
{
    char k[ETCD_KEY_MAX], v[32 + RECIPE_LOCK_NAME_MAX];
    size_t kl = recipe_key(k, name, "type");
    unsigned t = 0, p = 0;
    json_t *out, *kv;
    int rv;

    *created = false;
    snprintf(v, sizeof(v), "%d:%u:%s", type, param, extra);
    if (existing)
        out = recipe_txn(c, json_pack("{s:[o]}", "success",
                                      recipe_prim_range(k, kl, false, false)),
                         &rv);
    else
        out = recipe_txn(
            c, json_pack("{s:[{s:s,s:o,s:s}],s:[{s:{s:o,s:o}}],s:[o]}",
                         "compare", "target", "CREATE", "key", etcd_b64(k, kl),
                         "create_revision", "0",
                         "success", "request_put", "key", etcd_b64(k, kl),
                         "value", etcd_b64(v, strlen(v)),
                         "failure", recipe_prim_range(k, kl, false, false)),
            &rv);
    if (rv == 0 && !existing && recipe_ok(out)) {
        /* Our put made the key: its create revision is the txn's. */
        *created = true;
        *inc = recipe_prim_rev(out);
        *param_out = param;
        snprintf(extra_out, extra_cap, "%s", extra);
    } else if (rv == 0) {
        kv = recipe_kv(out, 0);
        rv = kv == NULL ? SYNC_ENOENT
                        : recipe_prim_parse(kv, &t, &p, extra_out, extra_cap);
        if (rv == 0 && (int)t != type)
            rv = SYNC_ETYPE;
        else if (rv == 0 && !existing &&
                 (p != param || strcmp(extra_out, extra) != 0))
            rv = SYNC_EEXIST;
        *inc = etcd_i64(kv, "create_revision");
        *param_out = p;
    }
    json_decref(out);
    return rv;
}
