/* barrier.c: sync_barrier_*. */
#include <stdlib.h>

#include "internal.h"

struct sync_barrier {
    struct sync__object o;
};

int sync_barrier_open(sync_client *c, const char *name, unsigned parties,
                      sync_barrier **out)
{
    struct sync__request open = {.op = OP_OPEN, .name = name,
                                 .type = WIRE_TYPE_BARRIER, .value = parties};
    sync_barrier *b;
    int rv;

    if (out == NULL)
        return SYNC_EINVAL;
    *out = NULL;
    /* Python: parties must be > 0 (ValueError); an open of an existing
     * barrier (sync_set_open_existing) takes whatever it has. */
    if ((parties == 0 &&
         (c == NULL || !__atomic_load_n(&c->open_existing, __ATOMIC_RELAXED))) ||
        parties > 0x7fffffffu)
        return SYNC_EINVAL;
    b = calloc(1, sizeof(*b));
    if (b == NULL)
        return SYNC_ENOMEM;
    rv = sync__object_open(c, &open, &b->o);
    if (rv != 0) {
        free(b);
        return rv;
    }
    *out = b;
    return 0;
}

int sync_barrier_wait(sync_barrier *b, double timeout)
{
    return sync_barrier_wait_action(b, timeout, NULL, NULL);
}

/* Tell the daemon how the action went (failed: it broke); its code. */
static int barrier_action_done(sync_barrier *b, bool failed)
{
    struct sync__request req = {.op = OP_BARRIER_ACTION_DONE, .all = failed};

    return sync__object_call(&b->o, &req, NULL);
}

int sync_barrier_wait_action(sync_barrier *b, double timeout,
                             int (*action)(void *arg), void *arg)
{
    struct sync__request req = {.op = OP_BARRIER_WAIT, .all = action != NULL};
    struct sync__result res;
    int rv, failed;

    if (b == NULL)
        return SYNC_EINVAL;
    if (action != NULL &&
        !sync__client_has_cap(b->o.client, WIRE_CAP_BARRIER_ACTION))
        return SYNC_EVERSION;
    rv = sync__timeout_us(true, timeout, &req.timeout_us);
    if (rv != 0)
        return rv;
    rv = sync__object_call(&b->o, &req, &res);
    if (rv != 0 || !res.run_action)
        return rv != 0 ? rv : (int)res.index;
    if (action == NULL) {
        /* Only a party that offered may be asked: the daemon is wrong;
         * break the round rather than leave the others blocked. */
        (void)barrier_action_done(b, true);
        return SYNC_EPROTO;
    }
    failed = action(arg);
    rv = barrier_action_done(b, failed != 0);
    if (failed != 0)
        return failed < 0 ? failed : SYNC_EBROKEN;
    return rv != 0 ? rv : (int)res.index;
}

int sync_barrier_reset(sync_barrier *b)
{
    return b == NULL ? SYNC_EINVAL
                     : sync__object_simple(&b->o, OP_BARRIER_RESET);
}

int sync_barrier_abort(sync_barrier *b)
{
    return b == NULL ? SYNC_EINVAL
                     : sync__object_simple(&b->o, OP_BARRIER_ABORT);
}

/* One field of the barrier's state. */
enum barrier_field { BARRIER_PARTIES, BARRIER_N_WAITING, BARRIER_BROKEN };

static int barrier_query(sync_barrier *b, enum barrier_field f)
{
    struct sync__result res;
    int rv;

    if (b == NULL)
        return SYNC_EINVAL;
    rv = sync__object_query(&b->o, &res);
    if (rv != 0)
        return rv;
    switch (f) {
    case BARRIER_PARTIES:
        return (int)res.parties;
    case BARRIER_N_WAITING:
        return (int)res.n_waiting;
    case BARRIER_BROKEN:
        return res.broken ? 1 : 0;
    }
    return SYNC_EINVAL;
}

int sync_barrier_parties(sync_barrier *b)
{
    return barrier_query(b, BARRIER_PARTIES);
}

int sync_barrier_n_waiting(sync_barrier *b)
{
    return barrier_query(b, BARRIER_N_WAITING);
}

int sync_barrier_broken(sync_barrier *b)
{
    return barrier_query(b, BARRIER_BROKEN);
}

void sync_barrier_close(sync_barrier *b)
{
    if (b == NULL)
        return;
    sync__object_close(&b->o);
    free(b);
}
