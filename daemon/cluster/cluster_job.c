/*
 * cluster_job.c: a cluster request's etcd work runs as a job on a worker
 * thread of its own, writing only into the job; the thread queues the job
 * on cl->done and wakes the loop (uv_async), which finishes it.  Why
 * threads and not curl multi on the loop: each recipe is a short
 * sequence of blocking calls (txn, range, watch, txn) that reads as
 * straight code here, and a thread costs ~30 us against etcd's ~1.5 ms
 * per call (docs/cluster.md).
 */
#include "cluster/cluster_internal.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "server.h"
#include "xalloc.h"

struct cjob *cluster_job_new(struct cluster *cl, struct csess *cs,
                             enum cjob_kind kind)
{
    struct cjob *j = xmalloc(sizeof(*j));

    if (j == NULL)
        return NULL;
    memset(j, 0, sizeof(*j));
    if (etcd_ctx_init(&j->ctx, cl->etcd) != 0) {
        xfree(j);
        return NULL;
    }
    list_init(&j->link);
    list_init(&j->slink);
    j->cl = cl;
    j->cs = cs;
    j->kind = kind;
    j->deadline_ms = -1;
    return j;
}

void cluster_job_free(struct cjob *j)
{
    etcd_ctx_fini(&j->ctx);
    xfree(j);
}

/* The job's etcd work, on its worker thread. */
static void cluster_job_run(struct cjob *j)
{
    struct etcd_ctx *c = &j->ctx;

    switch (j->kind) {
    case CJ_OPEN:
        j->rv = recipe_open(c, j->name, j->type, j->param, j->existing,
                            &j->created);
        break;
    case CJ_UNLINK:
        j->rv = recipe_unlink(c, j->name);
        break;
    case CJ_ACQUIRE:
        j->rv = recipe_lock_acquire(c, j->name, j->lease, j->seq, j->info,
                                    j->deadline_ms, j->may_wait, &j->grant);
        break;
    case CJ_RELEASE:
        j->rv = recipe_lock_release(c, j->name, j->lease, j->seq, j->token,
                                    j->flag);
        break;
    case CJ_QUERY:
        j->rv = j->type == OBJECT_EVENT
                    ? recipe_event_get(c, j->name, &j->value)
                    : recipe_lock_state(c, j->name, &j->value, &j->waiting);
        break;
    case CJ_EVENT_PUT:
        j->rv = recipe_event_put(c, j->name, j->flag);
        break;
    case CJ_EVENT_WAIT:
        j->rv = recipe_event_wait(c, j->name, j->deadline_ms, j->may_wait);
        break;
    case CJ_GRANT:
        j->rv = recipe_lease_grant(c, j->cl->ttl_s, &j->lease);
        break;
    case CJ_KEEPALIVE:
        j->rv = recipe_lease_keepalive(c, j->lease);
        break;
    case CJ_REVOKE:
        j->rv = recipe_lease_revoke(c, j->lease);
        break;
    }
}

static void *cluster_job_thread(void *arg)
{
    struct cjob *j = arg;
    struct cluster *cl = j->cl;

    cluster_job_run(j);
    pthread_mutex_lock(&cl->mu);
    list_insert_tail(&cl->done, &j->link);
    pthread_mutex_unlock(&cl->mu);
    uv_async_send(&cl->async);
    return NULL;
}

void cluster_job_start(struct cjob *j)
{
    struct cluster *cl = j->cl;
    pthread_attr_t attr;
    pthread_t t;
    int err;

    j->started_ms = etcd_now_ms();
    if (j->cs != NULL)
        list_insert_tail(&j->cs->jobs, &j->slink);
    cl->running++;
    cl->stats.requests++;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    /* The recipes need little stack: keep 1000 waiting threads cheap. */
    pthread_attr_setstacksize(&attr, 256 * 1024);
    err = pthread_create(&t, &attr, cluster_job_thread, j);
    pthread_attr_destroy(&attr);
    if (err != 0) {
        log_warnx("cluster: cannot start a worker thread: %s", strerror(err));
        j->rv = SYNC_ENOMEM;
        pthread_mutex_lock(&cl->mu);
        list_insert_tail(&cl->done, &j->link);
        pthread_mutex_unlock(&cl->mu);
        uv_async_send(&cl->async);
    }
}

static void cluster_async_cb(uv_async_t *h)
{
    struct cluster *cl = h->data;
    struct list_node done, *n, *tmp;
    struct cjob *j;

    list_init(&done);
    pthread_mutex_lock(&cl->mu);
    if (!list_empty(&cl->done)) {
        /* Move the whole list over: the workers keep appending to cl's. */
        done = cl->done;
        done.next->prev = &done;
        done.prev->next = &done;
        list_init(&cl->done);
    }
    pthread_mutex_unlock(&cl->mu);
    list_foreach_safe(n, tmp, &done) {
        j = container_of(n, struct cjob, link);
        list_remove(&j->link);
        list_remove(&j->slink);
        cl->running--;
        cl->stats.latency_ms_sum += (uint64_t)(etcd_now_ms() - j->started_ms);
        if (j->rv == SYNC_EUNAVAIL || j->rv == SYNC_EINTERNAL)
            cl->stats.errors++;
        cluster_job_done(j);
    }
    cluster_maybe_stopped(cl);
}

int cluster_jobs_init(struct cluster *cl)
{
    list_init(&cl->done);
    pthread_mutex_init(&cl->mu, NULL);
    cl->async.data = cl;
    return uv_async_init(cl->srv->loop, &cl->async, cluster_async_cb) == 0
               ? 0
               : SYNC_EINTERNAL;
}
