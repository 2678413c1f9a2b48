/* object.c: what all object types share. */
#include "object.h"

#include <stdlib.h>
#include <string.h>

#include "syncclient.h"

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
    o->name = strdup(name);
    if (o->name == NULL)
        return -1;
    o->type = type;
    o->ops = ops;
    return 0;
}

void object_fini(struct object *o)
{
    free(o->name);
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
