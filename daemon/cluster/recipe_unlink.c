/*
 * recipe_unlink.c: unlink a cluster name.  Its type key always goes, so
 * the name is free for a new object while handles opened before keep
 * theirs (recipe.h).  The object's other keys go in the same txn when
 * nobody holds or waits on it, as a local object is freed when nothing
 * uses it: otherwise the keys without a lease (marks, counters, guards)
 * would stay in etcd for ever.  Holders and waiters are the keys under a
 * lease (contenders, UNDO permits, waiters, barrier arrivals) and the
 * permits a Semaphore gave out without UNDO.
 */
#include "cluster/recipe_prim.h"

#include <string.h>

#include "syncclient.h"

#define UNLINK_TRIES 16

/* Whether NAME's key kv (suffix after NAME's prefix) is a holder's or a
 * waiter's. */
static bool unlink_in_use(const char *suffix, json_t *kv)
{
    const char *slash = strchr(suffix, '/');

    if (etcd_i64(kv, "lease") != 0)
        return true;
    /* "INC/s/...": a permit taken without UNDO (recipe_prim.h). */
    return slash != NULL && slash - suffix == 16 &&
           strncmp(slash + 1, "s/", 2) == 0;
}

/* The txn that deletes [k, range_end) (NULL: key k alone), if the
 * compare holds: 0, 1 when it did not, errors. */
static int unlink_delete(struct etcd_ctx *c, const char *k, size_t kl,
                         json_t *range_end, json_t *cmp)
{
    json_t *del = json_pack("{s:o}", "key", etcd_b64(k, kl));

    if (del != NULL && range_end != NULL)
        json_object_set(del, "range_end", range_end);
    return recipe_prim_commit(c, json_pack("[o]", cmp),
                              json_pack("[{s:o}]", "request_delete_range",
                                        del),
                              NULL);
}

int recipe_unlink(struct etcd_ctx *c, const char *name)
{
    char p[ETCD_KEY_MAX], k[ETCD_KEY_MAX], t[ETCD_KEY_MAX];
    size_t pl = recipe_key(p, name, ""), tl = recipe_key(t, name, "type");
    json_t *req, *out, *kv, *end = etcd_prefix_end(p, pl);
    int64_t type_rev, rev;
    bool in_use;
    size_t i;
    long n;
    int rv = SYNC_ENOMEM, tries;

    for (tries = 0; end != NULL && tries < UNLINK_TRIES; tries++) {
        req = json_pack("{s:o,s:O,s:b}", "key", etcd_b64(p, pl), "range_end",
                        end, "keys_only", 1);
        out = NULL;
        rv = req ? etcd_post(c, "/v3/kv/range", req, &out) : SYNC_ENOMEM;
        json_decref(req);
        type_rev = 0;
        in_use = false;
        json_array_foreach(rv == 0 ? json_object_get(out, "kvs") : NULL, i,
                           kv) {
            n = etcd_unb64(kv, "key", k, sizeof(k));
            if (n < (long)pl)
                continue;
            if (n == (long)tl && memcmp(k, t, tl) == 0)
                type_rev = etcd_i64(kv, "create_revision");
            in_use |= unlink_in_use(k + pl, kv);
        }
        rev = etcd_i64(json_object_get(out, "header"), "revision");
        json_decref(out);
        if (rv != 0)
            break;
        if (type_rev == 0) {
            rv = SYNC_ENOENT;
            break;
        }
        /* Held or waited on: only the name goes (the one we read). */
        rv = in_use ? unlink_delete(c, t, tl, NULL,
                                    json_pack("{s:s,s:o,s:o}", "target",
                                              "CREATE", "key",
                                              etcd_b64(t, tl),
                                              "create_revision",
                                              etcd_s64(type_rev)))
                    /* Idle: every key, unless one was written since. */
                    : unlink_delete(c, p, pl, end,
                                    json_pack("{s:s,s:o,s:O,s:o,s:s}",
                                              "target", "MOD", "key",
                                              etcd_b64(p, pl), "range_end",
                                              end, "mod_revision",
                                              etcd_s64(rev + 1), "result",
                                              "LESS"));
        if (rv != 1)
            break;
        rv = SYNC_EUNAVAIL; /* written meanwhile, every time */
    }
    json_decref(end);
    return rv;
}
