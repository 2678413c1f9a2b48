/* lock.c: sync_lock_*, a typed wrapper over one request/reply each. */
#include <stdlib.h>

#include "internal.h"

struct sync_lock {
    struct sync__object o;
    pthread_mutex_t mu;     /* guards the last acquisition's results */
    uint64_t token;
    bool owner_died;
};

int sync_lock_open(sync_client *c, const char *name, sync_lock **out)
{
    sync_lock *l;
    int rv;

    if (out == NULL)
        return SYNC_EINVAL;
    *out = NULL;
    l = calloc(1, sizeof(*l));
    if (l == NULL)
        return SYNC_ENOMEM;
    rv = sync__object_open(c, name, SYNC__LOCK, 0, 0, &l->o);
    if (rv != 0) {
        free(l);
        return rv;
    }
    pthread_mutex_init(&l->mu, NULL);
    *out = l;
    return 0;
}

int sync_lock_acquire(sync_lock *l, bool blocking, double timeout)
{
    struct sync__request req = {.op = SYNC__OP_ACQUIRE};
    struct sync__result res;
    int rv;

    if (l == NULL)
        return SYNC_EINVAL;
    rv = sync__timeout_us(blocking, timeout, &req.timeout_us);
    if (rv != 0)
        return rv;
    req.handle = l->o.handle;
    rv = sync__call(l->o.client, &req, &res);
    if (rv == 0) {
        pthread_mutex_lock(&l->mu);
        l->token = res.token;
        l->owner_died = res.owner_died;
        pthread_mutex_unlock(&l->mu);
    }
    return rv;
}

int sync_lock_release(sync_lock *l)
{
    struct sync__request req = {.op = SYNC__OP_RELEASE, .n = 1};

    if (l == NULL)
        return SYNC_EINVAL;
    req.handle = l->o.handle;
    return sync__call(l->o.client, &req, NULL);
}

int sync_lock_locked(sync_lock *l)
{
    int64_t v;
    int rv;

    if (l == NULL)
        return SYNC_EINVAL;
    rv = sync__object_query(&l->o, &v);
    return rv != 0 ? rv : v != 0;
}

int sync_lock_owner_died(sync_lock *l)
{
    int died;

    if (l == NULL)
        return SYNC_EINVAL;
    pthread_mutex_lock(&l->mu);
    died = l->owner_died;
    pthread_mutex_unlock(&l->mu);
    return died;
}

uint64_t sync_lock_token(sync_lock *l)
{
    uint64_t t;

    if (l == NULL)
        return 0;
    pthread_mutex_lock(&l->mu);
    t = l->token;
    pthread_mutex_unlock(&l->mu);
    return t;
}

void sync_lock_close(sync_lock *l)
{
    if (l == NULL)
        return;
    sync__object_close(&l->o);
    pthread_mutex_destroy(&l->mu);
    free(l);
}
