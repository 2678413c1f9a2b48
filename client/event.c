/* event.c: sync_event_*. */
#include <stdlib.h>

#include "internal.h"

struct sync_event {
    struct sync__object o;
};

int sync_event_open(sync_client *c, const char *name, sync_event **out)
{
    struct sync__request open = {.op = OP_OPEN, .name = name,
                                 .type = WIRE_TYPE_EVENT};
    sync_event *e;
    int rv;

    if (out == NULL)
        return SYNC_EINVAL;
    *out = NULL;
    e = calloc(1, sizeof(*e));
    if (e == NULL)
        return SYNC_ENOMEM;
    rv = sync__object_open(c, &open, &e->o);
    if (rv != 0) {
        free(e);
        return rv;
    }
    *out = e;
    return 0;
}

int sync_event_set(sync_event *e)
{
    return e == NULL ? SYNC_EINVAL
                     : sync__object_simple(&e->o, OP_EVENT_SET);
}

int sync_event_clear(sync_event *e)
{
    return e == NULL ? SYNC_EINVAL
                     : sync__object_simple(&e->o, OP_EVENT_CLEAR);
}

int sync_event_is_set(sync_event *e)
{
    struct sync__result res;
    int rv;

    if (e == NULL)
        return SYNC_EINVAL;
    rv = sync__object_query(&e->o, &res);
    return rv != 0 ? rv : res.value != 0;
}

int sync_event_wait(sync_event *e, double timeout)
{
    struct sync__request req = {.op = OP_EVENT_WAIT};
    int rv;

    if (e == NULL)
        return SYNC_EINVAL;
    rv = sync__timeout_us(true, timeout, &req.timeout_us);
    if (rv != 0)
        return rv;
    req.handle = e->o.handle;
    return sync__call(e->o.client, &req, NULL);
}

void sync_event_close(sync_event *e)
{
    if (e == NULL)
        return;
    sync__object_close(&e->o);
    free(e);
}
