/*
 * event.c: the Event state machine.  Invariant: waiters are queued only
 * while the flag is clear; set() empties the queue.
 */
#include "event.h"
#include "xalloc.h"

#include <assert.h>
#include <stdlib.h>

#include "syncclient.h"

static const struct object_ops event_ops;

struct event *event_new(const char *name)
{
    struct event *e = xcalloc(1, sizeof(*e));

    if (e == NULL)
        return NULL;
    if (object_init(&e->base, OBJECT_EVENT, name, &event_ops) != 0) {
        xfree(e);
        return NULL;
    }
    waitq_init(&e->waiters);
    return e;
}

struct event *event_from_object(struct object *o)
{
    return container_of(o, struct event, base);
}

void event_set(struct event *e)
{
    struct waiter *w;

    /* Python: "All threads waiting for it to become true are awakened." */
    e->set = true;
    while ((w = waitq_pop(&e->waiters)) != NULL)
        w->complete(w, 0);
    assert(waitq_empty(&e->waiters));
}

void event_clear(struct event *e)
{
    e->set = false;
}

int event_wait(struct event *e, struct waiter *w, bool may_wait)
{
    if (e->set)
        return 0;
    if (!may_wait)
        return SYNC_ETIMEDOUT;
    w->obj = &e->base;
    waitq_push(&e->waiters, w);
    return SYNCD_PENDING;
}

static int64_t event_query(const struct object *o)
{
    return container_of(o, struct event, base)->set ? 1 : 0;
}

static size_t event_n_waiting(const struct object *o)
{
    return waitq_len(&container_of(o, struct event, base)->waiters);
}

static void event_free(struct object *o)
{
    struct event *e = event_from_object(o);

    object_fini(o);
    xfree(e);
}

static const struct object_ops event_ops = {
    .query = event_query,
    .n_waiting = event_n_waiting,
    .free = event_free,
};
