/* object.c: what all object types share. */
#include "object.h"
#include "xalloc.h"

#include <stdlib.h>
#include <string.h>

#include "syncclient.h"


bool object_may(const struct object *o, const struct object_cred *cred,
                unsigned want)
{
    unsigned bits;
    size_t i;
    bool in_group = cred->gid == o->gid;

    if (cred->uid == 0)
        return true;
    for (i = 0; i < cred->n_groups && !in_group; i++)
        in_group = cred->groups[i] == o->gid;
    if (cred->uid == o->uid)
        bits = (o->mode >> 6) & 7u;
    else if (in_group)
        bits = (o->mode >> 3) & 7u;
    else
        bits = o->mode & 7u;
    return (bits & want) == want;
}

const char *object_type_name(enum object_type t)
{
    switch (t) {
    case OBJECT_LOCK:
        return "lock";
    case OBJECT_RLOCK:
        return "rlock";
    case OBJECT_SEMAPHORE:
        return "semaphore";
    case OBJECT_BOUNDED_SEMAPHORE:
        return "bsemaphore";
    case OBJECT_EVENT:
        return "event";
    case OBJECT_CONDITION:
        return "condition";
    case OBJECT_BARRIER:
        return "barrier";
    }
    return "unknown";
}

void object_cancel(struct waiter *w, int code)
{
    struct object *o = w->obj;

    if (w->queue == NULL)
        return;
    waitq_remove(w);
    if (o->ops->cancelled != NULL)
        o->ops->cancelled(o, w, code);
    else
        w->complete(w, code);
}

void object_expire(struct waiter *w)
{
    struct object *o = w->obj;

    if (w->queue == NULL || w->reacquiring)
        return;
    if (o->ops->expire != NULL)
        o->ops->expire(o, w);
    else
        object_cancel(w, SYNC_ETIMEDOUT);
}

int object_init(struct object *o, enum object_type type, const char *name,
                const struct object_ops *ops)
{
    o->name = xstrdup(name);
    if (o->name == NULL)
        return SYNC_ENOMEM;
    o->type = type;
    o->ops = ops;
    return 0;
}

void object_fini(struct object *o)
{
    xfree(o->name);
    o->name = NULL;
}

bool object_drop_owner(struct object *o, uint64_t owner)
{
    return o->ops->drop_owner != NULL && o->ops->drop_owner(o, owner);
}

bool object_holds(const struct object *o, uint64_t owner)
{
    return o->ops->holds != NULL && o->ops->holds(o, owner);
}

struct object *object_root(struct object *o)
{
    return o->ops->root != NULL ? o->ops->root(o) : o;
}
