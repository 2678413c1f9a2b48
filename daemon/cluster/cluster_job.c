/*
 * cluster_job.c: a cluster request's etcd work runs as a job on a worker
 * thread, writing only into the job; the worker queues the job on
 * cl->done and wakes the loop (uv_async), which finishes it.  Workers are
 * pooled: an idle one takes the next job (keeping its warm curl handle),
 * a new one starts when none is idle (a wait may block one for long), and
 * one idle for 30 s beyond the first CLUSTER_IDLE_KEEP ends.  Why threads
 * and not curl multi on the loop: each recipe is a short sequence of
 * blocking calls (txn, range, watch, txn) that reads as straight code
 * here (docs/cluster.md).  The exception is the single call that decides
 * an uncontended Lock acquire or a release: cluster_fast.c runs it on the
 * loop, and such a job comes here only if that call did not decide it.
 */
#include "cluster/cluster_internal.h"

#include <errno.h>
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
    etcd_ctx_init(&j->ctx, cl->etcd);
    list_init(&j->link);
    list_init(&j->slink);
    j->cl = cl;
    j->cs = cs;
    j->kind = kind;
    j->deadline_ms = -1;
    j->started_ms = etcd_now_ms();
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

    if (cluster_prim_run(j))
        return;
    switch (j->kind) {
    case CJ_OPEN:
        j->rv = recipe_open(c, j->name, j->type, j->param, j->existing,
                            &j->created);
        break;
    case CJ_UNLINK:
        j->rv = recipe_unlink(c, j->name);
        break;
    case CJ_ACQUIRE:
        if (j->drop_lease != 0)
            recipe_lock_forget(c, j->name, j->drop_lease, j->drop_seq);
        if (j->adopt)
            j->rv = recipe_lock_adopt(c, j->name, j->lease, j->seq,
                                      &j->grant);
        else if (j->myrev != 0)
            j->rv = recipe_lock_queued(c, j->name, j->lease, j->seq,
                                       j->myrev, j->deadline_ms, j->may_wait,
                                       &j->grant);
        else
            j->rv = recipe_lock_acquire(c, j->name, j->lease, j->seq,
                                        j->info, j->deadline_ms, j->may_wait,
                                        &j->grant);
        break;
    case CJ_RELEASE:
        j->rv = recipe_lock_release(c, j->name, j->lease, j->seq, &j->grant,
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
    case CJ_INSPECT:
        cluster_inspect_run(j);
        break;
    default:
        break;
    }
}

#define CLUSTER_IDLE_KEEP 4
#define CLUSTER_IDLE_S 30

/* Wait (cl->mu held) for a job; NULL when this worker should end. */
static struct cjob *cluster_worker_next(struct cluster *cl)
{
    struct timespec ts;
    struct cjob *j;
    int err = 0;

    while (list_empty(&cl->queue) && !cl->pool_stop) {
        if (err == ETIMEDOUT && cl->workers > CLUSTER_IDLE_KEEP)
            return NULL;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += CLUSTER_IDLE_S;
        cl->idle++;
        err = pthread_cond_timedwait(&cl->work_cv, &cl->mu, &ts);
        cl->idle--;
    }
    if (list_empty(&cl->queue))
        return NULL;
    j = container_of(cl->queue.next, struct cjob, link);
    list_remove(&j->link);
    cl->queued--;
    return j;
}

static void *cluster_worker(void *arg)
{
    struct cluster *cl = arg;
    struct cjob *j;

    pthread_mutex_lock(&cl->mu);
    while ((j = cluster_worker_next(cl)) != NULL) {
        pthread_mutex_unlock(&cl->mu);
        cluster_job_run(j);
        pthread_mutex_lock(&cl->mu);
        list_insert_tail(&cl->done, &j->link);
        uv_async_send(&cl->async);
    }
    /* The easy handle goes before the count drops: once it is 0,
     * cluster_jobs_fini returns and etcd_free cleans up the share, which
     * curl refuses (and leaks) while an easy handle still uses it. */
    pthread_mutex_unlock(&cl->mu);
    etcd_thread_fini();
    pthread_mutex_lock(&cl->mu);
    cl->workers--;
    pthread_cond_broadcast(&cl->exit_cv);
    pthread_mutex_unlock(&cl->mu);
    return NULL;
}

void cluster_job_start(struct cjob *j)
{
    struct cluster *cl = j->cl;

    j->started_ms = etcd_now_ms();
    if (j->cs != NULL)
        list_insert_tail(&j->cs->jobs, &j->slink);
    cl->running++;
    cl->stats.requests++;
    if (!cluster_fast_start(j))
        cluster_job_queue(j);
}

void cluster_job_queue(struct cjob *j)
{
    struct cluster *cl = j->cl;
    bool wake = false;
    pthread_attr_t attr;
    pthread_t t;
    int err = 0;

    pthread_mutex_lock(&cl->mu);
    list_insert_tail(&cl->queue, &j->link);
    cl->queued++;
    /* A worker counts as idle from its wait until it has the mutex back,
     * so idle includes workers signalled already: only idle workers
     * beyond the jobs queued are free (else a job could sit in the queue
     * behind workers blocked in long waits, e.g. the set that would end
     * them). */
    if (cl->idle >= cl->queued) {
        wake = true;
    } else {
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        /* The recipes need little stack: keep 1000 waiting threads cheap. */
        pthread_attr_setstacksize(&attr, 256 * 1024);
        err = pthread_create(&t, &attr, cluster_worker, cl);
        pthread_attr_destroy(&attr);
        if (err == 0)
            cl->workers++;
    }
    if (err != 0 && cl->workers == 0) {
        /* No worker will take it: it fails now. */
        list_remove(&j->link);
        cl->queued--;
        j->rv = SYNC_ENOMEM;
        list_insert_tail(&cl->done, &j->link);
        uv_async_send(&cl->async);
    }
    pthread_mutex_unlock(&cl->mu);
    /* Signalled after the unlock, so the worker does not wake only to
     * wait for the mutex. */
    if (wake)
        pthread_cond_signal(&cl->work_cv);
    if (err != 0)
        log_warnx("cluster: cannot start a worker thread: %s", strerror(err));
}

void cluster_jobs_fini(struct cluster *cl)
{
    pthread_mutex_lock(&cl->mu);
    cl->pool_stop = true;
    pthread_cond_broadcast(&cl->work_cv);
    while (cl->workers > 0)
        pthread_cond_wait(&cl->exit_cv, &cl->mu);
    pthread_mutex_unlock(&cl->mu);
    pthread_cond_destroy(&cl->work_cv);
    pthread_cond_destroy(&cl->exit_cv);
    pthread_mutex_destroy(&cl->mu);
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
        cluster_job_finish(j);
    }
    cluster_maybe_stopped(cl);
}

void cluster_job_finish(struct cjob *j)
{
    struct cluster *cl = j->cl;

    list_remove(&j->slink);
    cl->running--;
    cl->stats.latency_ms_sum += (uint64_t)(etcd_now_ms() - j->started_ms);
    if (j->rv == SYNC_EUNAVAIL || j->rv == SYNC_EINTERNAL)
        cl->stats.errors++;
    cluster_job_done(j);
}

int cluster_jobs_init(struct cluster *cl)
{
    list_init(&cl->done);
    list_init(&cl->queue);
    pthread_mutex_init(&cl->mu, NULL);
    pthread_cond_init(&cl->work_cv, NULL);
    pthread_cond_init(&cl->exit_cv, NULL);
    cl->async.data = cl;
    return uv_async_init(cl->srv->loop, &cl->async, cluster_async_cb) == 0
               ? 0
               : SYNC_EINTERNAL;
}
