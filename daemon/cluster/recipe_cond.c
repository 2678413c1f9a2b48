/*
 * recipe_cond.c: Condition on cluster names (keys in recipe_prim.h).  Its
 * lock is a cluster Lock or RLock (recipe.c's recipe).  wait queues a
 * waiter key and releases the lock in one txn, so no notify can fall
 * between them; notify (lock held: the txn compares our contender key)
 * marks the oldest waiters "1" and queues their lock contender keys in
 * the same txn; a waiter that times out withdraws its key only while it
 * still reads "0", so a notify it already got is never lost.  Getting the
 * lock back is the lock's own recipe (recipe_lock_adopt after a notify,
 * recipe_lock_acquire after a timeout).
 */
#include "cluster/recipe_prim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "objects/object.h"
#include "syncclient.h"

#define COND_TRIES 64
/* A waiter key's value: '0' or '1' and the waiter's description. */
#define COND_VALUE_MAX 256

int recipe_cond_lock_open(struct etcd_ctx *c, const char *lock, int *type)
{
    bool created;
    int rv = recipe_open(c, lock, OBJECT_RLOCK, 0, false, &created);

    *type = OBJECT_RLOCK;
    if (rv == SYNC_ETYPE) {
        rv = recipe_open(c, lock, OBJECT_LOCK, 0, true, &created);
        *type = OBJECT_LOCK;
    }
    return rv;
}

static size_t cond_waiter_key(char *k, const struct recipe_cond *r,
                              uint64_t wseq)
{
    char sfx[RECIPE_SUFFIX_MAX + 4];

    snprintf(sfx, sizeof(sfx), "w/%016llx-%08llx",
             (unsigned long long)r->lease, (unsigned long long)wseq);
    return recipe_prim_key(k, r->name, r->inc, sfx);
}

/* The waiter key's value: state '0' or '1', then info, in out. */
static size_t cond_value(char *out, char state, const char *info)
{
    int n = snprintf(out, COND_VALUE_MAX, "%c%s", state, info);

    return n > 0 && n < COND_VALUE_MAX ? (size_t)n : 1;
}

/* A waiter key's state: '0', '1', or -1 (not a waiter's value). */
static int cond_state(json_t *kv)
{
    char v[COND_VALUE_MAX];

    return etcd_unb64(kv, "value", v, sizeof(v)) >= 1 ? v[0] : -1;
}

int recipe_cond_enter(struct etcd_ctx *c, const struct recipe_cond *r,
                      uint64_t wseq)
{
    char w[ETCD_KEY_MAX], v[COND_VALUE_MAX];
    size_t wl = cond_waiter_key(w, r, wseq), vl = cond_value(v, '0', r->info);

    return recipe_lock_release_and(
        c, r->lock, r->lease, r->lock_seq, &r->grant, true,
        json_pack("{s:{s:o,s:o,s:o}}", "request_put", "key", etcd_b64(w, wl),
                  "value", etcd_b64(v, vl), "lease", etcd_s64(r->lease)));
}

/* The waiter key's state: 1 notified, 0 waiting, SYNC_ENOENT gone. */
static int cond_read(struct etcd_ctx *c, const char *w, size_t wl,
                     int64_t *rev)
{
    json_t *req = json_pack("{s:o}", "key", etcd_b64(w, wl)), *out = NULL;
    json_t *kv;
    int rv = req ? etcd_post(c, "/v3/kv/range", req, &out) : SYNC_ENOMEM;

    json_decref(req);
    if (rv == 0) {
        kv = json_array_get(json_object_get(out, "kvs"), 0);
        *rev = recipe_prim_rev(out);
        rv = kv == NULL ? SYNC_ENOENT : cond_state(kv) == '1';
    }
    json_decref(out);
    return rv;
}

static bool cond_event(int type, json_t *kv, void *arg)
{
    (void)arg;
    return type == 1 || cond_state(kv) == '1';
}

/* Withdraw waiter w unless notified: 0 notified, SYNC_ETIMEDOUT
 * withdrawn, SYNC_ENOENT gone, errors. */
static int cond_withdraw(struct etcd_ctx *c, const struct recipe_cond *r,
                         const char *w, size_t wl)
{
    char v[COND_VALUE_MAX];
    size_t vl = cond_value(v, '0', r->info);
    json_t *out;
    int rv;

    atomic_store(&c->cancelled, false);
    out = recipe_txn(c, json_pack("{s:[{s:s,s:o,s:o}],s:[{s:{s:o}}],s:[o]}",
                                  "compare", "target", "VALUE", "key",
                                  etcd_b64(w, wl), "value", etcd_b64(v, vl),
                                  "success", "request_delete_range", "key",
                                  etcd_b64(w, wl), "failure",
                                  recipe_prim_range(w, wl, false, true)),
                     &rv);
    if (rv == 0)
        rv = recipe_ok(out)                ? SYNC_ETIMEDOUT
             : recipe_kv(out, 0) != NULL ? 0
                                         : SYNC_ENOENT;
    json_decref(out);
    return rv;
}

/*
 * Our contender key q/LEASE-wseq, queued by a notify, in the lock's
 * queue: its create revision and the keys of our lease before it (other
 * threads of our client woken by the same notify, or holding the lock),
 * which the agent lets go first.  Best effort: what is not read stays
 * unknown (rev 0).
 */
static void cond_ahead(struct etcd_ctx *c, const struct recipe_cond *r,
                       uint64_t wseq, struct recipe_cond_ahead *a)
{
    char qp[ETCD_KEY_MAX], k[ETCD_KEY_MAX];
    size_t qpl = recipe_key(qp, r->lock, "q/");
    unsigned long long lease, seq;
    json_t *out, *kv;
    size_t i;
    long n;
    int rv;

    memset(a, 0, sizeof(*a));
    out = recipe_txn(c, json_pack("{s:[o]}", "success",
                                  recipe_prim_range(qp, qpl, true, true)),
                     &rv);
    json_array_foreach(rv == 0 ? recipe_prim_kvs(out, 0) : NULL, i, kv) {
        n = etcd_unb64(kv, "key", k, sizeof(k));
        if (n <= (long)qpl ||
            sscanf(k + qpl, "%16llx-%llx", &lease, &seq) != 2 ||
            (int64_t)lease != r->lease)
            continue;
        if (seq == wseq) {
            a->rev = etcd_i64(kv, "create_revision");
            break;
        }
        if (a->n < RECIPE_AHEAD_MAX)
            a->seq[a->n] = seq;
        a->n++;
    }
    json_decref(out);
}

int recipe_cond_sleep(struct etcd_ctx *c, const struct recipe_cond *r,
                      uint64_t wseq, int64_t deadline_ms,
                      struct recipe_cond_ahead *ahead)
{
    char w[ETCD_KEY_MAX];
    size_t wl = cond_waiter_key(w, r, wseq);
    int64_t rev = 0;
    int rv;

    memset(ahead, 0, sizeof(*ahead));
    for (;;) {
        rv = cond_read(c, w, wl, &rev);
        if (rv < 0 && rv != SYNC_EINTR)
            return rv;
        if (rv == 1) {
            (void)recipe_prim_delete(c, w, wl, false);
            cond_ahead(c, r, wseq, ahead);
            return 0;
        }
        if (rv == 0)
            rv = etcd_watch(c, w, wl, rev + 1, deadline_ms, cond_event, NULL);
        if (rv == SYNC_EUNAVAIL && deadline_ms >= 0 &&
            etcd_now_ms() >= deadline_ms)
            rv = SYNC_ETIMEDOUT;
        if (rv == SYNC_ETIMEDOUT || rv == SYNC_EINTR) {
            int wr = cond_withdraw(c, r, w, wl);

            if (wr == 0) {
                (void)recipe_prim_delete(c, w, wl, false);
                cond_ahead(c, r, wseq, ahead);
            }
            return wr == SYNC_ETIMEDOUT && rv == SYNC_EINTR ? SYNC_EINTR
                                                            : wr;
        }
        if (rv != 0 && rv != SYNC_EUNAVAIL)
            return rv;
    }
}

/*
 * Wake waiter kv (its key's suffix after wpl bytes is LEASE-SEQ): compare
 * it unchanged, mark it, and queue its contender key q (out, *ql) for the
 * lock under its lease.  false when kv is not a waiting waiter.
 */
static bool cond_wake(const struct recipe_cond *r, json_t *kv, size_t wpl,
                      json_t *cmp, json_t *ops, char *q, size_t *ql)
{
    char k[ETCD_KEY_MAX], v[COND_VALUE_MAX], m[ETCD_KEY_MAX],
        sfx[RECIPE_SUFFIX_MAX + 4];
    long kl = etcd_unb64(kv, "key", k, sizeof(k));
    long vl = etcd_unb64(kv, "value", v, sizeof(v));
    size_t ml;
    json_t *info;

    if (kl <= (long)wpl || vl < 1 || v[0] != '0' ||
        kl - (long)wpl >= RECIPE_SUFFIX_MAX)
        return false;
    snprintf(sfx, sizeof(sfx), "q/%s", k + wpl);
    *ql = recipe_key(q, r->lock, sfx);
    sfx[0] = 'm';
    ml = recipe_key(m, r->lock, sfx);
    info = etcd_b64(v + 1, (size_t)vl - 1);
    v[0] = '1';
    json_array_append_new(cmp, json_pack(
        "{s:s,s:o,s:o}", "target", "MOD", "key", etcd_b64(k, (size_t)kl),
        "mod_revision", etcd_s64(etcd_i64(kv, "mod_revision"))));
    json_array_append_new(ops, json_pack(
        "{s:{s:o,s:o,s:b}}", "request_put", "key", etcd_b64(k, (size_t)kl),
        "value", etcd_b64(v, (size_t)vl), "ignore_lease", 1));
    json_array_append_new(ops, json_pack(
        "{s:{s:o,s:O,s:o}}", "request_put", "key", etcd_b64(q, *ql), "value",
        info, "lease", etcd_s64(etcd_i64(kv, "lease"))));
    json_array_append_new(ops, json_pack(
        "{s:{s:o,s:o}}", "request_put", "key", etcd_b64(m, ml), "value",
        info));
    return true;
}

/*
 * The txn of one wake (cond_wake's cmp and ops, consumed).  0 done, 1 the
 * waiter changed (withdrew), < 0 errors.  Sent twice (its answer lost),
 * the second finds the waiter marked: its contender key wq, which only a
 * notify makes and which stays while we hold the lock, says the first
 * sending did it.
 */
static int cond_wake_commit(struct etcd_ctx *c, json_t *cmp, json_t *ops,
                            const char *wq, size_t wql)
{
    json_t *out;
    int rv;

    out = recipe_txn(c, json_pack("{s:o,s:o,s:[o]}", "compare", cmp,
                                  "success", ops, "failure",
                                  recipe_prim_range(wq, wql, false, true)),
                     &rv);
    if (rv == 0 && !recipe_ok(out))
        rv = recipe_kv(out, 0) != NULL ? 0 : 1;
    json_decref(out);
    return rv;
}

int recipe_cond_notify(struct etcd_ctx *c, const struct recipe_cond *r,
                       uint32_t n, bool all)
{
    char q[ETCD_KEY_MAX], wp[ETCD_KEY_MAX], wq[ETCD_KEY_MAX],
        sfx[RECIPE_SUFFIX_MAX + 4];
    size_t ql, wql, wpl = recipe_prim_key(wp, r->name, r->inc, "w/");
    json_t *out, *kvs, *kv, *cmp, *ops;
    uint32_t woken = 0;
    bool changed;
    size_t i;
    int rv, conflicts = 0;

    snprintf(sfx, sizeof(sfx), "q/%016llx-%08llx",
             (unsigned long long)r->lease, (unsigned long long)r->lock_seq);
    ql = recipe_key(q, r->lock, sfx);
    /* One waiter per txn, oldest first: the contender keys queued for them
     * must have distinct create revisions, in notify order (keys made in
     * one txn would share one revision). */
    for (;;) {
        out = recipe_txn(c, json_pack("{s:[o,o]}", "success",
                                      recipe_prim_range(q, ql, false, true),
                                      recipe_prim_range(wp, wpl, true,
                                                        false)),
                         &rv);
        if (rv == 0 && etcd_i64(recipe_kv(out, 0), "create_revision") !=
                           r->grant.token)
            rv = SYNC_ENOENT;
        changed = false;
        kvs = rv == 0 ? recipe_prim_kvs(out, 1) : NULL;
        json_array_foreach(kvs, i, kv) {
            if (!all && woken >= n)
                break;
            cmp = json_pack("[{s:s,s:o,s:o}]", "target", "CREATE", "key",
                            etcd_b64(q, ql), "create_revision",
                            etcd_s64(r->grant.token));
            ops = json_array();
            if (!cond_wake(r, kv, wpl, cmp, ops, wq, &wql)) {
                json_decref(cmp);
                json_decref(ops);
                continue;
            }
            rv = cond_wake_commit(c, cmp, ops, wq, wql);
            changed = rv == 1;
            if (rv != 0)
                break;
            woken++;
        }
        json_decref(out);
        /* A waiter withdrew (or the lock went): read again. */
        if (changed && ++conflicts < COND_TRIES)
            continue;
        return changed ? SYNC_EUNAVAIL : rv;
    }
}

int recipe_cond_waiting(struct etcd_ctx *c, const char *name, int64_t inc,
                        uint32_t *waiting)
{
    char wp[ETCD_KEY_MAX];
    size_t wpl = recipe_prim_key(wp, name, inc, "w/");
    json_t *req = json_pack("{s:o,s:o,s:b}", "key", etcd_b64(wp, wpl),
                            "range_end", etcd_prefix_end(wp, wpl),
                            "count_only", 1);
    json_t *out = NULL;
    int rv = req ? etcd_post(c, "/v3/kv/range", req, &out) : SYNC_ENOMEM;

    json_decref(req);
    if (rv == 0)
        *waiting = (uint32_t)etcd_i64(out, "count");
    json_decref(out);
    return rv;
}
