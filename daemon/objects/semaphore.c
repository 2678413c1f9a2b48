/*
 * semaphore.c: the counting semaphore state machine.  Invariant: waiters
 * are queued only while value is 0, so a newcomer never overtakes them.
 */
#include "semaphore.h"
#include "xalloc.h"

#include <assert.h>
#include <stdlib.h>

#include "syncclient.h"

static const struct object_ops semaphore_ops;

struct semaphore *semaphore_new(const char *name, uint32_t value,
                                bool bounded)
{
    struct semaphore *s;

    if (value > SEMAPHORE_VALUE_MAX)
        return NULL;
    s = xcalloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    if (object_init(&s->base,
                    bounded ? OBJECT_BOUNDED_SEMAPHORE : OBJECT_SEMAPHORE,
                    name, &semaphore_ops) != 0) {
        xfree(s);
        return NULL;
    }
    s->base.param = value;
    s->value = value;
    s->bound = bounded ? value : SEMAPHORE_VALUE_MAX;
    waitq_init(&s->waiters);
    return s;
}

struct semaphore *semaphore_from_object(struct object *o)
{
    return container_of(o, struct semaphore, base);
}

int semaphore_acquire(struct semaphore *s, struct waiter *w, bool may_wait)
{
    /* Free permits and queued waiters never coexist (release hands
     * permits to the oldest waiters first). */
    assert(s->value == 0 || waitq_empty(&s->waiters));
    if (s->value > 0 && waitq_empty(&s->waiters)) {
        s->value--;
        return 0;
    }
    if (!may_wait)
        return SYNC_ETIMEDOUT;
    w->obj = &s->base;
    waitq_push(&s->waiters, w);
    return SYNCD_PENDING;
}

int semaphore_release(struct semaphore *s, uint32_t n)
{
    struct waiter *w;

    /* Python: "n must be one or more" (ValueError). */
    if (n == 0)
        return SYNC_EINVAL;
    /* Python's BoundedSemaphore: "Semaphore released too many times". */
    if ((uint64_t)s->value + n > s->bound)
        return SYNC_EVALUE;
    s->value += n;
    while (s->value > 0 && (w = waitq_pop(&s->waiters)) != NULL) {
        s->value--;
        w->complete(w, 0);
    }
    assert(s->value <= s->bound);
    assert(s->value == 0 || waitq_empty(&s->waiters));
    return 0;
}

uint32_t semaphore_undo(struct semaphore *s, uint32_t n)
{
    uint32_t room = s->bound - s->value;
    uint32_t give = n < room ? n : room;

    if (give > 0)
        (void)semaphore_release(s, give); /* fits: cannot fail */
    return give;
}

uint32_t semaphore_take(struct semaphore *s, uint32_t n)
{
    uint32_t take = n < s->value ? n : s->value;

    s->value -= take;
    return take;
}

static int64_t semaphore_query(const struct object *o)
{
    return container_of(o, struct semaphore, base)->value;
}

static size_t semaphore_n_waiting(const struct object *o)
{
    return waitq_len(&container_of(o, struct semaphore, base)->waiters);
}

static void semaphore_free(struct object *o)
{
    struct semaphore *s = semaphore_from_object(o);

    object_fini(o);
    xfree(s);
}

static const struct object_ops semaphore_ops = {
    .query = semaphore_query,
    .n_waiting = semaphore_n_waiting,
    .free = semaphore_free,
};
