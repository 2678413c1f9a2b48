/* sem.c: sync_sem_* for Semaphore and BoundedSemaphore. */
#include <stdlib.h>

#include "internal.h"

struct sync_sem {
    struct sync__object o;
    struct sync__permits permits; /* SYNC_SEM_UNDO handles */
};

int sync_sem_open_flags(sync_client *c, const char *name, unsigned value,
                        bool bounded, unsigned flags, sync_sem **out)
{
    struct sync__request open = {
        .op = OP_OPEN, .name = name, .value = value, .flags = flags,
        .type = bounded ? WIRE_TYPE_BOUNDED_SEMAPHORE : WIRE_TYPE_SEMAPHORE};
    sync_sem *s;
    int rv;

    if (out == NULL)
        return SYNC_EINVAL;
    *out = NULL;
    if ((flags & ~SYNC_SEM_UNDO) != 0 || value > SYNC_SEM_VALUE_MAX)
        return SYNC_EINVAL;
    s = calloc(1, sizeof(*s));
    if (s == NULL)
        return SYNC_ENOMEM;
    pthread_mutex_init(&s->permits.mu, NULL);
    if (flags & SYNC_SEM_UNDO)
        s->o.permits = &s->permits;
    rv = sync__object_open(c, &open, &s->o);
    if (rv != 0) {
        pthread_mutex_destroy(&s->permits.mu);
        free(s);
        return rv;
    }
    *out = s;
    return 0;
}

int sync_sem_open(sync_client *c, const char *name, unsigned value,
                  sync_sem **out)
{
    return sync_sem_open_flags(c, name, value, false, 0, out);
}

int sync_bsem_open(sync_client *c, const char *name, unsigned value,
                   sync_sem **out)
{
    return sync_sem_open_flags(c, name, value, true, 0, out);
}

/* on_reply hooks of an undo handle (under c->mu, at the reply): what it
 * holds changes with the grant or release itself, never after it. */
static void sem_acquired(void *arg, int code)
{
    struct sync__permits *p = arg;

    if (code != 0)
        return;
    pthread_mutex_lock(&p->mu);
    p->held++;
    pthread_mutex_unlock(&p->mu);
}

struct sem_release_ctx {
    struct sync__permits *p;
    unsigned n;
};

static void sem_released(void *arg, int code)
{
    struct sem_release_ctx *r = arg;

    /* SYNC_ELOST (a cluster agent's lease ended): not held either. */
    if (code != 0 && code != SYNC_ELOST)
        return;
    pthread_mutex_lock(&r->p->mu);
    r->p->held -= r->n < r->p->held ? r->n : r->p->held;
    pthread_mutex_unlock(&r->p->mu);
}

int sync_sem_acquire(sync_sem *s, bool blocking, double timeout)
{
    struct sync__request req = {.op = OP_ACQUIRE};
    int rv;

    if (s == NULL)
        return SYNC_EINVAL;
    rv = sync__timeout_us(blocking, timeout, &req.timeout_us);
    if (rv != 0)
        return rv;
    req.handle = s->o.handle;
    if (s->o.permits != NULL) {
        req.on_reply = sem_acquired;
        req.on_reply_arg = s->o.permits;
    }
    return sync__call(s->o.client, &req, NULL);
}

uint32_t sync__sem_permits_lost(sync_sem *s)
{
    uint32_t n;

    if (s->o.permits == NULL)
        return 0;
    pthread_mutex_lock(&s->permits.mu);
    n = s->permits.lost;
    pthread_mutex_unlock(&s->permits.mu);
    return n;
}

/* Give back n permits through an undo handle: those a reconnect could
 * not take back first (SYNC_ELOST, nothing sent: the daemon gave them back
 * already, and releasing them would raise the value past what it gave
 * out), then the others.  The count of lost permits and the send are tied
 * to one connection generation: a reconnect between them (the watcher's,
 * or another thread's) may mark more lost, so it is read again.
 * 0, SYNC_ELOST, or the daemon's code. */
static int sem_release_undo(sync_sem *s, unsigned n)
{
    struct sem_release_ctx ctx = {.p = &s->permits};
    struct sync__request req = {.op = OP_RELEASE, .no_retry = true,
                                .handle = s->o.handle,
                                .on_reply = sem_released,
                                .on_reply_arg = &ctx, .pin_gen = true};
    sync_client *c = s->o.client;
    bool resend = c->reconnect_on && !c->forked;
    unsigned lost, lost_all = 0;
    int rv;

    for (;;) {
        req.gen = sync__client_gen(c);
        pthread_mutex_lock(&s->permits.mu);
        lost = n < s->permits.lost ? n : s->permits.lost;
        s->permits.lost -= lost;
        s->permits.held -= lost;
        pthread_mutex_unlock(&s->permits.mu);
        lost_all += lost;
        n -= lost;
        if (n == 0)
            return SYNC_ELOST;
        req.n = ctx.n = n;
        rv = sync__call(c, &req, NULL);
        if (rv == SYNC__ESTALE)
            continue;
        /* In flight when the connection dropped: the reconnect that said
         * so took back (or marked lost) the permits the handle counts,
         * these among them whether or not the daemon had released them,
         * so the daemon counts what the client does again: send once
         * more. */
        if (rv == SYNC_ECONN && resend) {
            resend = false;
            continue;
        }
        break;
    }
    return rv == 0 && lost_all > 0 ? SYNC_ELOST : rv;
}

int sync_sem_release(sync_sem *s, unsigned n)
{
    /* Not sent again after a reconnect: it may have happened. */
    struct sync__request req = {.op = OP_RELEASE, .n = n, .no_retry = true};

    if (s == NULL || n == 0)
        return SYNC_EINVAL;
    if (s->o.permits == NULL) {
        req.handle = s->o.handle;
        return sync__call(s->o.client, &req, NULL);
    }
    return sem_release_undo(s, n);
}

int sync_sem_value(sync_sem *s)
{
    struct sync__result res;
    int rv;

    if (s == NULL)
        return SYNC_EINVAL;
    rv = sync__object_query(&s->o, &res);
    return rv != 0 ? rv : (int)res.value;
}

void sync_sem_close(sync_sem *s)
{
    if (s == NULL)
        return;
    sync__object_close(&s->o);
    pthread_mutex_destroy(&s->permits.mu);
    free(s);
}
