/* sem.c: sync_sem_* for Semaphore and BoundedSemaphore. */
#include <stdlib.h>

#include "internal.h"

struct sync_sem {
    struct sync__object o;
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
    rv = sync__object_open(c, &open, &s->o);
    if (rv != 0) {
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
    return sync__call(s->o.client, &req, NULL);
}

int sync_sem_release(sync_sem *s, unsigned n)
{
    /* Not sent again after a reconnect: it may have happened. */
    struct sync__request req = {.op = OP_RELEASE, .n = n, .no_retry = true};

    if (s == NULL || n == 0)
        return SYNC_EINVAL;
    req.handle = s->o.handle;
    return sync__call(s->o.client, &req, NULL);
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
    free(s);
}
