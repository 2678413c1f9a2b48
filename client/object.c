/*
 * object.c: what every object handle shares: open by name, close, simple
 * requests and queries, and the (blocking, timeout) -> wire conversion.
 */
#include <math.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

int sync__timeout_us(bool blocking, double timeout, int64_t *out)
{
    double us;

    if (isnan(timeout))
        return SYNC_EINVAL;
    if (!blocking) {
        /* Python: "can't specify a timeout for a non-blocking call". */
        if (timeout >= 0)
            return SYNC_EINVAL;
        *out = 0;
        return 0;
    }
    if (timeout < 0) {
        *out = -1;
        return 0;
    }
    us = ceil(timeout * 1e6);
    /* Beyond ~292,000 years is forever. */
    *out = us >= 9.2e18 ? -1 : (int64_t)us;
    return 0;
}

int sync__object_open(sync_client *c, const char *name, enum sync__type type,
                      uint32_t value, uint32_t flags, struct sync__object *o)
{
    struct sync__request req = {.op = SYNC__OP_OPEN, .name = name,
                                .type = type, .value = value,
                                .flags = flags};
    struct sync__result res;
    int rv;

    if (c == NULL || name == NULL)
        return SYNC_EINVAL;
    if (name[0] == '\0' || strlen(name) > SYNC_NAME_MAX)
        return SYNC_ENAME;
    rv = sync__call(c, &req, &res);
    if (rv != 0)
        return rv;
    pthread_mutex_lock(&c->mu);
    c->refs++;
    pthread_mutex_unlock(&c->mu);
    o->client = c;
    o->handle = res.handle;
    return 0;
}

void sync__object_close(struct sync__object *o)
{
    struct sync__request req = {.op = SYNC__OP_CLOSE, .handle = o->handle};
    sync_client *c = o->client;

    /* After disconnect or fork this just fails fast; the daemon already
     * dropped the handle with the connection. */
    if (!c->forked && c->pid == getpid())
        (void)sync__call(c, &req, NULL);
    sync__client_rele(c);
}

int sync__object_simple(struct sync__object *o, enum sync__op op)
{
    struct sync__request req = {.op = op, .handle = o->handle};

    return sync__call(o->client, &req, NULL);
}

int sync__object_query(struct sync__object *o, int64_t *value)
{
    struct sync__request req = {.op = SYNC__OP_QUERY, .handle = o->handle};
    struct sync__result res;
    int rv = sync__call(o->client, &req, &res);

    if (rv == 0)
        *value = res.value;
    return rv;
}
