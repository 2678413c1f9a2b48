/*
 * recipe.c: Lock/RLock (etcd's lock recipe: FIFO by create revision, each
 * contender watching only its predecessor's deletion, so a release wakes
 * one agent, not all), Event, object types and leases, as etcd
 * transactions.  Blocking: runs on cluster job threads only.
 */
#include "cluster/recipe.h"

#include <stdio.h>
#include <string.h>

#include "syncclient.h"

size_t recipe_key(char *out, const char *name, const char *suffix)
{
    int n = snprintf(out, ETCD_KEY_MAX, "syncd%c%s%c%s", 1, name, 1, suffix);

    return n > 0 && n < ETCD_KEY_MAX ? (size_t)n : 0;
}

json_t *recipe_txn(struct etcd_ctx *c, json_t *req, int *rv)
{
    json_t *out = NULL;

    *rv = req != NULL ? etcd_post(c, "/v3/kv/txn", req, &out) : SYNC_ENOMEM;
    json_decref(req);
    return out;
}

json_t *recipe_kv(json_t *txn, size_t i)
{
    json_t *r = json_array_get(json_object_get(txn, "responses"), i);

    return json_array_get(
        json_object_get(json_object_get(r, "response_range"), "kvs"), 0);
}

bool recipe_ok(json_t *txn)
{
    /* A failed txn has no "succeeded" at all (false is left out). */
    return json_is_true(json_object_get(txn, "succeeded"));
}

int recipe_lease_grant(struct etcd_ctx *c, unsigned ttl_s, int64_t *lease)
{
    json_t *req = json_pack("{s:I}", "TTL", (json_int_t)ttl_s), *out = NULL;
    int rv = req ? etcd_post(c, "/v3/lease/grant", req, &out) : SYNC_ENOMEM;

    json_decref(req);
    if (rv == 0) {
        *lease = etcd_i64(out, "ID");
        rv = *lease != 0 ? 0 : SYNC_EUNAVAIL;
    }
    json_decref(out);
    return rv;
}

int recipe_lease_keepalive(struct etcd_ctx *c, int64_t lease)
{
    json_t *req = json_pack("{s:o}", "ID", etcd_s64(lease)), *out = NULL;
    int rv = req ? etcd_post(c, "/v3/lease/keepalive", req, &out)
                 : SYNC_ENOMEM;

    json_decref(req);
    /* An expired lease's keepalive answers 200 without a TTL. */
    if (rv == 0 && etcd_i64(json_object_get(out, "result"), "TTL") <= 0)
        rv = SYNC_ENOENT;
    json_decref(out);
    return rv;
}

int recipe_lease_revoke(struct etcd_ctx *c, int64_t lease)
{
    json_t *req = json_pack("{s:o}", "ID", etcd_s64(lease)), *out = NULL;
    int rv = req ? etcd_post(c, "/v3/lease/revoke", req, &out) : SYNC_ENOMEM;

    json_decref(req);
    json_decref(out);
    return rv == SYNC_ENOENT ? 0 : rv;
}

/* Compare an existing type key's "T:P" with what the opener asked. */
static int recipe_same_type(json_t *kv, int type, uint32_t param)
{
    char v[32];
    unsigned t = 0, p = 0;

    if (etcd_unb64(kv, "value", v, sizeof(v)) < 0 ||
        sscanf(v, "%u:%u", &t, &p) != 2)
        return SYNC_EINTERNAL;
    if ((int)t != type)
        return SYNC_ETYPE;
    return p == param ? 0 : SYNC_EEXIST;
}

int recipe_open(struct etcd_ctx *c, const char *name, int type,
                uint32_t param, bool existing, bool *created)
{
    char k[ETCD_KEY_MAX], v[32];
    size_t kl = recipe_key(k, name, "type");
    json_t *out;
    int rv;

    *created = false;
    snprintf(v, sizeof(v), "%d:%u", type, param);
    if (existing)
        out = recipe_txn(c, json_pack("{s:[{s:{s:o}}]}", "success",
                                      "request_range", "key",
                                      etcd_b64(k, kl)), &rv);
    else
        out = recipe_txn(
            c, json_pack("{s:[{s:s,s:o,s:s}],s:[{s:{s:o,s:o}}],"
                         "s:[{s:{s:o}}]}",
                         "compare", "target", "CREATE", "key", etcd_b64(k, kl),
                         "create_revision", "0",
                         "success", "request_put", "key", etcd_b64(k, kl),
                         "value", etcd_b64(v, strlen(v)),
                         "failure", "request_range", "key", etcd_b64(k, kl)),
            &rv);
    if (rv == 0 && !existing && recipe_ok(out))
        *created = true;
    else if (rv == 0)
        rv = recipe_kv(out, 0) == NULL ? SYNC_ENOENT
                                       : recipe_same_type(recipe_kv(out, 0),
                                                          type, param);
    json_decref(out);
    return rv;
}

/* ---- Lock / RLock ------------------------------------------------------ */

static bool recipe_deleted(int type, json_t *kv, void *arg)
{
    (void)kv;
    (void)arg;
    return type == 1;
}

/*
 * The contender just before myrev: its key into pred (0 when none: the
 * lock is ours) and the revision to watch from.  0 or errors.
 */
static int recipe_predecessor(struct etcd_ctx *c, const char *q, size_t ql,
                              int64_t myrev, char *pred, size_t *pred_len,
                              int64_t *rev)
{
    json_t *req = json_pack("{s:o,s:o,s:o,s:s,s:s,s:s}", "key",
                            etcd_b64(q, ql), "range_end",
                            etcd_prefix_end(q, ql), "max_create_revision",
                            etcd_s64(myrev - 1), "sort_order", "DESCEND",
                            "sort_target", "CREATE", "limit", "1");
    json_t *out = NULL, *kv;
    long n;
    int rv = req ? etcd_post(c, "/v3/kv/range", req, &out) : SYNC_ENOMEM;

    json_decref(req);
    *pred_len = 0;
    if (rv == 0) {
        *rev = etcd_i64(json_object_get(out, "header"), "revision");
        kv = json_array_get(json_object_get(out, "kvs"), 0);
        n = kv ? etcd_unb64(kv, "key", pred, ETCD_KEY_MAX) : 0;
        if (n < 0)
            rv = SYNC_EINTERNAL;
        else
            *pred_len = (size_t)n;
    }
    json_decref(out);
    return rv;
}

/* Wait until no contender precedes myrev.  0 or the failure. */
static int recipe_wait_turn(struct etcd_ctx *c, const char *q, size_t ql,
                            int64_t myrev, int64_t deadline_ms)
{
    char pred[ETCD_KEY_MAX];
    size_t pl;
    int64_t rev;
    int rv;

    for (;;) {
        rv = recipe_predecessor(c, q, ql, myrev, pred, &pl, &rev);
        if (rv != 0 || pl == 0)
            return rv;
        rv = etcd_watch(c, pred, pl, rev + 1, deadline_ms, recipe_deleted,
                        NULL);
        if (rv == SYNC_EUNAVAIL && deadline_ms >= 0 &&
            etcd_now_ms() >= deadline_ms)
            return SYNC_ETIMEDOUT;
        /* A broken stream: read again, on the member etcd moved to. */
        if (rv != 0 && rv != SYNC_EUNAVAIL)
            return rv;
    }
}

/* The q/ or m/ key of contender LEASE-SEQ (suffix) of NAME. */
static size_t recipe_ckey(char *k, const char *name, char kind,
                          const char *suffix)
{
    char s[RECIPE_SUFFIX_MAX + 3];

    snprintf(s, sizeof(s), "%c/%s", kind, suffix);
    return recipe_key(k, name, s);
}

/* A contender's LEASE-SEQ, the suffix of its q/ and m/ keys. */
static void recipe_suffix(char out[RECIPE_SUFFIX_MAX], int64_t lease,
                          uint64_t seq)
{
    snprintf(out, RECIPE_SUFFIX_MAX, "%016llx-%08llx",
             (unsigned long long)lease, (unsigned long long)seq);
}

/* Delete contender suffix's q/ and m/ keys, even when the ctx was
 * cancelled (a wait that ends must not leave its contender in the queue
 * until its lease ends, nor a mark that reads as a dead holder). */
static int recipe_drop(struct etcd_ctx *c, const char *name,
                       const char *suffix)
{
    char q[ETCD_KEY_MAX], m[ETCD_KEY_MAX];
    size_t ql = recipe_ckey(q, name, 'q', suffix);
    size_t ml = recipe_ckey(m, name, 'm', suffix);
    json_t *out;
    int rv;

    atomic_store(&c->cancelled, false);
    out = recipe_txn(c, json_pack("{s:[{s:{s:o}},{s:{s:o}}]}", "success",
                                  "request_delete_range", "key",
                                  etcd_b64(q, ql), "request_delete_range",
                                  "key", etcd_b64(m, ml)),
                     &rv);
    json_decref(out);
    return rv;
}

/*
 * The marks older than myrev in a range answer (oldest first): contenders
 * that are no longer queued yet never cleaned up, i.e. holders that died
 * holding.  Their suffixes go into g (the clean release deletes them).
 */
static void recipe_stale(json_t *kvs, size_t ml, int64_t myrev,
                         struct recipe_grant *g)
{
    char key[ETCD_KEY_MAX];
    json_t *kv;
    size_t i;
    long n;

    g->n_stale = 0;
    g->owner_died = false;
    json_array_foreach(kvs, i, kv) {
        if (etcd_i64(kv, "create_revision") >= myrev)
            break;
        g->owner_died = true;
        n = etcd_unb64(kv, "key", key, sizeof(key));
        if (g->n_stale < RECIPE_STALE_MAX && n > (long)ml &&
            n - (long)ml < RECIPE_SUFFIX_MAX)
            snprintf(g->stale[g->n_stale++], RECIPE_SUFFIX_MAX, "%s",
                     key + ml);
    }
}

static json_t *recipe_marks_range(const char *m, size_t ml)
{
    return json_pack("{s:{s:o,s:o,s:s,s:s,s:i,s:b}}", "request_range", "key",
                     etcd_b64(m, ml), "range_end", etcd_prefix_end(m, ml),
                     "sort_order", "ASCEND", "sort_target", "CREATE", "limit",
                     RECIPE_STALE_MAX + 1, "keys_only", 1);
}

/* Our turn came after a wait: check that our key still exists (the lease
 * may have ended meanwhile) and read the marks. */
static int recipe_confirm(struct etcd_ctx *c, const char *name,
                          const char *suffix, int64_t myrev,
                          struct recipe_grant *g)
{
    char q[ETCD_KEY_MAX], m[ETCD_KEY_MAX];
    size_t ql = recipe_ckey(q, name, 'q', suffix);
    size_t ml = recipe_key(m, name, "m/");
    json_t *out;
    int rv;

    out = recipe_txn(c, json_pack("{s:[{s:s,s:o,s:o}],s:[o]}", "compare",
                                  "target", "CREATE", "key", etcd_b64(q, ql),
                                  "create_revision", etcd_s64(myrev),
                                  "success", recipe_marks_range(m, ml)),
                     &rv);
    if (rv == 0 && !recipe_ok(out))
        rv = SYNC_ENOENT;
    if (rv == 0)
        recipe_stale(json_object_get(json_object_get(json_array_get(
                         json_object_get(out, "responses"), 0),
                         "response_range"), "kvs"),
                     ml, myrev, g);
    json_decref(out);
    return rv;
}

/* Our contender key (suffix, created at myrev) is queued: wait for our
 * turn (may_wait) and confirm it; on a failure the key goes. */
static int recipe_lock_turn(struct etcd_ctx *c, const char *name,
                            const char *suffix, int64_t myrev,
                            int64_t deadline_ms, bool may_wait,
                            struct recipe_grant *g)
{
    char q[ETCD_KEY_MAX];
    size_t ql = recipe_key(q, name, "q/");
    int rv = may_wait ? recipe_wait_turn(c, q, ql, myrev, deadline_ms)
                      : SYNC_ETIMEDOUT;

    if (rv == 0)
        rv = recipe_confirm(c, name, suffix, myrev, g);
    if (rv == 0)
        g->token = myrev;
    else if (rv != SYNC_ENOENT && recipe_drop(c, name, suffix) != 0)
        g->astray = true;
    return rv;
}

json_t *recipe_lock_enqueue_req(const char *name, int64_t lease,
                                uint64_t seq, const char *info)
{
    char q[ETCD_KEY_MAX], k[ETCD_KEY_MAX], m[ETCD_KEY_MAX], mk[ETCD_KEY_MAX];
    char suffix[RECIPE_SUFFIX_MAX];
    size_t ql = recipe_key(q, name, "q/"), ml = recipe_key(m, name, "m/");
    size_t kl, mkl;

    recipe_suffix(suffix, lease, seq);
    kl = recipe_ckey(k, name, 'q', suffix);
    mkl = recipe_ckey(mk, name, 'm', suffix);
    /* One revision: our contender key (with the lease) and our mark
     * (without: it outlives a holder that dies), our key's create
     * revision, the first contender's, and the oldest marks.  Uncontended,
     * that is the whole acquisition.  Only create revisions are read
     * (keys_only): the values would only make the answer longer. */
    return json_pack("{s:[{s:{s:o,s:o,s:o}},{s:{s:o,s:o}},{s:{s:o,s:b}},"
                     "{s:{s:o,s:o,s:s,s:s,s:s,s:b}},o]}",
                     "success", "request_put", "key", etcd_b64(k, kl), "value",
                     etcd_b64(info, strlen(info)), "lease", etcd_s64(lease),
                     "request_put", "key", etcd_b64(mk, mkl), "value",
                     etcd_b64(info, strlen(info)),
                     "request_range", "key", etcd_b64(k, kl), "keys_only", 1,
                     "request_range", "key", etcd_b64(q, ql), "range_end",
                     etcd_prefix_end(q, ql), "sort_order", "ASCEND",
                     "sort_target", "CREATE", "limit", "1", "keys_only", 1,
                     recipe_marks_range(m, ml));
}

int recipe_lock_enqueue_seen(const char *name, json_t *out, int64_t *myrev,
                             struct recipe_grant *g)
{
    char m[ETCD_KEY_MAX];
    size_t ml = recipe_key(m, name, "m/");
    int64_t first = etcd_i64(recipe_kv(out, 3), "create_revision");
    json_t *resp = json_array_get(json_object_get(out, "responses"), 4);

    *myrev = etcd_i64(recipe_kv(out, 2), "create_revision");
    g->token = 0;
    if (*myrev == 0)
        return SYNC_EINTERNAL;
    if (first == *myrev) {
        recipe_stale(json_object_get(json_object_get(resp, "response_range"),
                                     "kvs"),
                     ml, *myrev, g);
        g->token = *myrev;
    }
    return 0;
}

int recipe_lock_queued(struct etcd_ctx *c, const char *name, int64_t lease,
                       uint64_t seq, int64_t myrev, int64_t deadline_ms,
                       bool may_wait, struct recipe_grant *g)
{
    char suffix[RECIPE_SUFFIX_MAX];

    recipe_suffix(suffix, lease, seq);
    return recipe_lock_turn(c, name, suffix, myrev, deadline_ms, may_wait,
                            g);
}

int recipe_lock_acquire(struct etcd_ctx *c, const char *name, int64_t lease,
                        uint64_t seq, const char *info, int64_t deadline_ms,
                        bool may_wait, struct recipe_grant *g)
{
    int64_t myrev = 0;
    json_t *out;
    int rv;

    out = recipe_txn(c, recipe_lock_enqueue_req(name, lease, seq, info), &rv);
    if (rv == 0)
        rv = recipe_lock_enqueue_seen(name, out, &myrev, g);
    json_decref(out);
    /* Failed or cut off, the enqueue may have been applied all the same
     * (its answer lost): a contender key under a live lease would queue
     * everyone behind nobody, and its mark would read as a dead holder.
     * (SYNC_ENOENT: no lease, so nothing was made.) */
    if (rv != 0 && rv != SYNC_ENOENT) {
        char suffix[RECIPE_SUFFIX_MAX];

        recipe_suffix(suffix, lease, seq);
        g->astray = recipe_drop(c, name, suffix) != 0;
    }
    if (rv != 0 || g->token != 0)
        return rv;
    return recipe_lock_queued(c, name, lease, seq, myrev, deadline_ms,
                              may_wait, g);
}

int recipe_lock_adopt(struct etcd_ctx *c, const char *name, int64_t lease,
                      uint64_t seq, struct recipe_grant *g)
{
    char k[ETCD_KEY_MAX], suffix[RECIPE_SUFFIX_MAX];
    size_t kl;
    json_t *req, *out = NULL;
    int64_t myrev = 0;
    int rv;

    recipe_suffix(suffix, lease, seq);
    kl = recipe_ckey(k, name, 'q', suffix);
    req = json_pack("{s:o}", "key", etcd_b64(k, kl));
    rv = req ? etcd_post(c, "/v3/kv/range", req, &out) : SYNC_ENOMEM;
    json_decref(req);
    if (rv == 0)
        myrev = etcd_i64(json_array_get(json_object_get(out, "kvs"), 0),
                         "create_revision");
    json_decref(out);
    if (rv != 0)
        return rv;
    /* Gone: its lease ended (nothing is queued for us). */
    if (myrev == 0)
        return SYNC_ENOENT;
    return recipe_lock_turn(c, name, suffix, myrev, -1, true, g);
}

void recipe_lock_forget(struct etcd_ctx *c, const char *name, int64_t lease,
                        uint64_t seq)
{
    char suffix[RECIPE_SUFFIX_MAX];

    recipe_suffix(suffix, lease, seq);
    (void)recipe_drop(c, name, suffix);
}

/* The deletions of that release; k gets the contender key. */
static json_t *recipe_lock_release_ops(const char *name, int64_t lease,
                                       uint64_t seq,
                                       const struct recipe_grant *g,
                                       bool clean, char *k, size_t *kl)
{
    char suffix[RECIPE_SUFFIX_MAX];
    json_t *ops = json_array();
    int i;

    recipe_suffix(suffix, lease, seq);
    *kl = recipe_ckey(k, name, 'q', suffix);
    json_array_append_new(ops, json_pack("{s:{s:o}}", "request_delete_range",
                                         "key", etcd_b64(k, *kl)));
    /* Clean: our mark and the dead holders' marks we saw go too.  Not
     * clean (closed while held): the mark stays, owner-died for the next. */
    for (i = clean ? -1 : g->n_stale; i < g->n_stale; i++) {
        char m[ETCD_KEY_MAX];
        size_t ml = recipe_ckey(m, name, 'm', i < 0 ? suffix : g->stale[i]);

        json_array_append_new(ops, json_pack("{s:{s:o}}",
                                             "request_delete_range", "key",
                                             etcd_b64(m, ml)));
    }
    return ops;
}

/* The release's txn, doing also (consumed; NULL: nothing) too. */
static json_t *recipe_lock_release_txn(const char *name, int64_t lease,
                                       uint64_t seq,
                                       const struct recipe_grant *g,
                                       bool clean, json_t *also)
{
    char k[ETCD_KEY_MAX];
    size_t kl;
    json_t *ops = recipe_lock_release_ops(name, lease, seq, g, clean, k, &kl);
    json_t *txn;

    if (also != NULL)
        json_array_append_new(ops, also);
    txn = json_pack("{s:[{s:s,s:o,s:o}],s:o}", "compare", "target", "CREATE",
                    "key", etcd_b64(k, kl), "create_revision",
                    etcd_s64(g->token), "success", ops);
    if (clean && txn != NULL) {
        /* Sent twice (its answer lost), the second finds the key gone:
         * our mark gone too says the first released (a lease that ended
         * takes the key and leaves the mark). */
        char m[ETCD_KEY_MAX], suffix[RECIPE_SUFFIX_MAX];
        size_t ml;

        recipe_suffix(suffix, lease, seq);
        ml = recipe_ckey(m, name, 'm', suffix);
        json_object_set_new(txn, "failure",
                            json_pack("[{s:{s:o,s:b}}]", "request_range",
                                      "key", etcd_b64(m, ml), "keys_only",
                                      1));
    }
    return txn;
}

json_t *recipe_lock_release_req(const char *name, int64_t lease,
                                uint64_t seq, const struct recipe_grant *g,
                                bool clean)
{
    return recipe_lock_release_txn(name, lease, seq, g, clean, NULL);
}

int recipe_lock_release_seen(json_t *out)
{
    bool read_mark = json_array_size(json_object_get(out, "responses")) > 0;

    if (recipe_ok(out))
        return 0;
    /* A clean release's failure branch read our mark: gone with the key,
     * an earlier sending of this release took both. */
    return read_mark && recipe_kv(out, 0) == NULL ? 0 : SYNC_ENOENT;
}

int recipe_lock_release_and(struct etcd_ctx *c, const char *name,
                            int64_t lease, uint64_t seq,
                            const struct recipe_grant *g, bool clean,
                            json_t *also)
{
    json_t *out;
    int rv;

    out = recipe_txn(c, recipe_lock_release_txn(name, lease, seq, g, clean,
                                                also),
                     &rv);
    if (rv == 0)
        rv = recipe_lock_release_seen(out);
    json_decref(out);
    return rv;
}

int recipe_lock_release(struct etcd_ctx *c, const char *name, int64_t lease,
                        uint64_t seq, const struct recipe_grant *g,
                        bool clean)
{
    return recipe_lock_release_and(c, name, lease, seq, g, clean, NULL);
}

int recipe_lock_state(struct etcd_ctx *c, const char *name, int64_t *held,
                      uint32_t *waiting)
{
    char q[ETCD_KEY_MAX];
    size_t ql = recipe_key(q, name, "q/");
    json_t *req = json_pack("{s:o,s:o,s:b}", "key", etcd_b64(q, ql),
                            "range_end", etcd_prefix_end(q, ql), "count_only",
                            1);
    json_t *out = NULL;
    int64_t n;
    int rv = req ? etcd_post(c, "/v3/kv/range", req, &out) : SYNC_ENOMEM;

    json_decref(req);
    if (rv == 0) {
        n = etcd_i64(out, "count");
        *held = n > 0;
        *waiting = n > 1 ? (uint32_t)(n - 1) : 0;
    }
    json_decref(out);
    return rv;
}

/* ---- Event ------------------------------------------------------------- */

int recipe_event_put(struct etcd_ctx *c, const char *name, bool set)
{
    char k[ETCD_KEY_MAX];
    size_t kl = recipe_key(k, name, "flag");
    json_t *req = json_pack("{s:o,s:o}", "key", etcd_b64(k, kl), "value",
                            etcd_b64(set ? "1" : "0", 1));
    json_t *out = NULL;
    int rv = req ? etcd_post(c, "/v3/kv/put", req, &out) : SYNC_ENOMEM;

    json_decref(req);
    json_decref(out);
    return rv;
}

/* *set from the flag key; *rev = the revision read at. */
static int recipe_event_read(struct etcd_ctx *c, const char *k, size_t kl,
                             int64_t *set, int64_t *rev)
{
    json_t *req = json_pack("{s:o}", "key", etcd_b64(k, kl)), *out = NULL;
    char v[8];
    int rv = req ? etcd_post(c, "/v3/kv/range", req, &out) : SYNC_ENOMEM;

    json_decref(req);
    if (rv == 0) {
        json_t *kv = json_array_get(json_object_get(out, "kvs"), 0);

        *rev = etcd_i64(json_object_get(out, "header"), "revision");
        *set = kv != NULL && etcd_unb64(kv, "value", v, sizeof(v)) == 1 &&
               v[0] == '1';
    }
    json_decref(out);
    return rv;
}

int recipe_event_get(struct etcd_ctx *c, const char *name, int64_t *set)
{
    char k[ETCD_KEY_MAX];
    size_t kl = recipe_key(k, name, "flag");
    int64_t rev;

    return recipe_event_read(c, k, kl, set, &rev);
}

static bool recipe_set_seen(int type, json_t *kv, void *arg)
{
    char v[8];

    (void)arg;
    return type == 0 && etcd_unb64(kv, "value", v, sizeof(v)) == 1 &&
           v[0] == '1';
}

int recipe_event_wait(struct etcd_ctx *c, const char *name,
                      int64_t deadline_ms, bool may_wait)
{
    char k[ETCD_KEY_MAX];
    size_t kl = recipe_key(k, name, "flag");
    int64_t set, rev;
    int rv;

    for (;;) {
        rv = recipe_event_read(c, k, kl, &set, &rev);
        if (rv != 0 || set)
            return rv;
        if (!may_wait)
            return SYNC_ETIMEDOUT;
        rv = etcd_watch(c, k, kl, rev + 1, deadline_ms, recipe_set_seen,
                        NULL);
        if (rv == SYNC_EUNAVAIL && deadline_ms >= 0 &&
            etcd_now_ms() >= deadline_ms)
            return SYNC_ETIMEDOUT;
        if (rv != SYNC_EUNAVAIL)
            return rv;
    }
}
