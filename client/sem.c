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
    rv = sync__call(s->o.client, &req, NULL);
    if (rv == 0 && s->o.permits != NULL) {
        pthread_mutex_lock(&s->permits.mu);
        s->permits.held++;
        pthread_mutex_unlock(&s->permits.mu);
    }
    return rv;
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
 * out), then the others.  0, SYNC_ELOST, or the daemon's code. */
static int sem_release_undo(sync_sem *s, unsigned n)
{
    struct sync__request req = {.op = OP_RELEASE, .no_retry = true,
                                .handle = s->o.handle};
    unsigned lost;
    int rv;

    pthread_mutex_lock(&s->permits.mu);
    lost = n < s->permits.lost ? n : s->permits.lost;
    s->permits.lost -= lost;
    s->permits.held -= lost;
    pthread_mutex_unlock(&s->permits.mu);
    if (lost == n)
        return SYNC_ELOST;
    req.n = n - lost;
    rv = sync__call(s->o.client, &req, NULL);
    if (rv == 0) {
        pthread_mutex_lock(&s->permits.mu);
        s->permits.held -= req.n < s->permits.held ? req.n : s->permits.held;
        pthread_mutex_unlock(&s->permits.mu);
    }
    return rv == 0 && lost > 0 ? SYNC_ELOST : rv;
}

int sync_sem_release(sync_sem *s, unsigned n)
{
    /* Not sent again after a reconnect: it may have happened. */
    struct sync__request req = {.op = OP_RELEASE, .n = n, .no_retry = true};
    sync_client *c;
    int rv;

    if (s == NULL || n == 0)
        return SYNC_EINVAL;
    if (s->o.permits == NULL) {
        req.handle = s->o.handle;
        return sync__call(s->o.client, &req, NULL);
    }
    rv = sem_release_undo(s, n);
    c = s->o.client;
    /* In flight when the connection dropped: the reconnect that said so
     * took back (or marked lost) the permits the handle counts, this one
     * among them whether or not the daemon had released it, so the
     * daemon counts what the client does again: send it once more. */
    if (rv == SYNC_ECONN && c->reconnect_on && !c->forked)
        rv = sem_release_undo(s, n);
    return rv;
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
