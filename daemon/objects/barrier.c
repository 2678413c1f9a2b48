/*
 * barrier.c: the Barrier state machine.  Invariant: fewer than `parties`
 * waiters are queued, and none while broken.
 */
#include "barrier.h"
#include "xalloc.h"

#include <assert.h>
#include <stdlib.h>

#include "syncclient.h"

static const struct object_ops barrier_ops;

struct barrier *barrier_new(const char *name, uint32_t parties)
{
    struct barrier *b;

    if (parties == 0)
        return NULL;
    b = xcalloc(1, sizeof(*b));
    if (b == NULL)
        return NULL;
    if (object_init(&b->base, OBJECT_BARRIER, name, &barrier_ops) != 0) {
        xfree(b);
        return NULL;
    }
    b->base.param = parties;
    b->parties = parties;
    waitq_init(&b->waiters);
    return b;
}

struct barrier *barrier_from_object(struct object *o)
{
    return container_of(o, struct barrier, base);
}

/* Complete every queued waiter with code. */
static void barrier_wake_all(struct barrier *b, int code)
{
    struct waiter *w;

    while ((w = waitq_pop(&b->waiters)) != NULL)
        w->complete(w, code);
}

bool barrier_would_queue(const struct barrier *b)
{
    return !b->broken && waitq_len(&b->waiters) + 1 < b->parties;
}

int barrier_wait(struct barrier *b, struct waiter *w)
{
    /* Python: wait() on a broken barrier raises BrokenBarrierError. */
    if (b->broken)
        return SYNC_EBROKEN;
    w->value = (int64_t)waitq_len(&b->waiters);
    assert((uint64_t)w->value < b->parties);
    if ((uint32_t)w->value + 1 < b->parties) {
        w->obj = &b->base;
        waitq_push(&b->waiters, w);
        return SYNCD_PENDING;
    }
    b->rounds++;
    barrier_wake_all(b, 0);
    return 0;
}

void barrier_reset(struct barrier *b)
{
    barrier_wake_all(b, SYNC_EBROKEN);
    b->broken = false;
}

void barrier_abort(struct barrier *b)
{
    b->broken = true;
    barrier_wake_all(b, SYNC_EBROKEN);
    assert(waitq_empty(&b->waiters));
}

/* A waiter that leaves (its client died, its handle closed) breaks the
 * round for the others, who would otherwise wait for it forever. */
static void barrier_cancelled(struct object *o, struct waiter *w, int code)
{
    w->complete(w, code);
    barrier_abort(barrier_from_object(o));
}

/* Python: a timeout in wait() breaks the barrier, and the waiter whose
 * wait timed out gets BrokenBarrierError too. */
static void barrier_expire(struct object *o, struct waiter *w)
{
    waitq_remove(w);
    w->complete(w, SYNC_EBROKEN);
    barrier_abort(barrier_from_object(o));
}

static int64_t barrier_query(const struct object *o)
{
    return (int64_t)waitq_len(&container_of(o, struct barrier, base)->waiters);
}

static size_t barrier_n_waiting(const struct object *o)
{
    return waitq_len(&container_of(o, struct barrier, base)->waiters);
}

static void barrier_free(struct object *o)
{
    object_fini(o);
    xfree(barrier_from_object(o));
}

static const struct object_ops barrier_ops = {
    .cancelled = barrier_cancelled,
    .expire = barrier_expire,
    .query = barrier_query,
    .n_waiting = barrier_n_waiting,
    .free = barrier_free,
};
