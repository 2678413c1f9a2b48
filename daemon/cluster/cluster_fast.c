/*
 * cluster_fast.c: the one etcd call that decides an uncontended Lock/RLock
 * acquire (its first txn) and a release runs on the loop (etcd_loop.c)
 * instead of a worker thread, sparing the two thread hand-overs that cost
 * a tenth of such a call on a busy host.  The job goes on to a worker when
 * that call does not decide it: contenders precede it (the worker waits
 * for its turn, as recipe_lock_acquire would after the same txn) or the
 * member failed (the worker's blocking calls retry and fail over, as they
 * would have from the start: the txn may be sent twice, as etcd_post's
 * own retry may send it, and both are idempotent).
 */
#include "cluster/cluster_internal.h"

static void cluster_fast_done(int rv, json_t *out, void *arg)
{
    struct cjob *j = arg;
    struct cluster *cl = j->cl;

    if (rv == 0 && j->kind == CJ_ACQUIRE)
        rv = recipe_lock_enqueue_seen(j->name, out, &j->myrev, &j->grant);
    else if (rv == 0)
        rv = recipe_lock_release_seen(out);
    json_decref(out);
    if (rv == SYNC_EUNAVAIL ||
        (rv == 0 && j->kind == CJ_ACQUIRE && j->grant.token == 0)) {
        cluster_job_queue(j);
        return;
    }
    j->rv = rv;
    cluster_job_finish(j);
    cluster_maybe_stopped(cl);
}

bool cluster_fast_start(struct cjob *j)
{
    json_t *req;
    int rv;

    if (j->cl->eloop == NULL)
        return false;
    if (j->kind == CJ_ACQUIRE && !j->adopt && j->myrev == 0 &&
        j->drop_lease == 0)
        req = recipe_lock_enqueue_req(j->name, j->lease, j->seq, j->info);
    else if (j->kind == CJ_RELEASE)
        req = recipe_lock_release_req(j->name, j->lease, j->seq, &j->grant,
                                      j->flag);
    else
        return false;
    rv = req != NULL ? etcd_loop_post(j->cl->eloop, "/v3/kv/txn", req,
                                      cluster_fast_done, j)
                     : SYNC_ENOMEM;
    json_decref(req);
    return rv == 0;
}
