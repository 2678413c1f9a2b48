/*
 * barrier.c: the Barrier state machine.  Invariants: fewer than `parties`
 * waiters are queued for the round, none while broken; `next` holds
 * waiters only while an action runs (acting).
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
    waitq_init(&b->next);
    return b;
}

struct barrier *barrier_from_object(struct object *o)
{
    return container_of(o, struct barrier, base);
}

/* Complete every waiter queued on q with code. */
static void barrier_wake_all(struct waitq *q, int code)
{
    struct waiter *w;

    while ((w = waitq_pop(q)) != NULL)
        w->complete(w, code);
}

/* The latest queued party of the round that offers to run the action. */
static struct waiter *barrier_queued_offer(const struct barrier *b)
{
    const struct list_node *n;
    struct waiter *q;

    for (n = b->waiters.head.prev; n != &b->waiters.head; n = n->prev) {
        q = container_of(n, struct waiter, node);
        if (q->offers_action)
            return q;
    }
    return NULL;
}

bool barrier_would_queue(const struct barrier *b, bool offers_action)
{
    if (b->broken)
        return false;
    return b->acting || waitq_len(&b->waiters) + 1 < b->parties ||
           (!offers_action && barrier_queued_offer(b) != NULL);
}

/*
 * w, the last party, fills the round.  Without an action the round is
 * released at once.  Python: "If an action was provided to the
 * constructor, one of the threads will have called it prior to being
 * released": the last arrival if it can, else the latest that can.
 */
static int barrier_fill(struct barrier *b, struct waiter *w)
{
    struct waiter *actor = w->offers_action ? w : barrier_queued_offer(b);

    if (actor == NULL) {
        b->rounds++;
        barrier_wake_all(&b->waiters, 0);
        return 0;
    }
    b->acting = true;
    b->actor = actor->owner;
    b->acting_since = object_now(&b->base);
    actor->run_action = true;
    if (actor == w)
        return 0;
    /* The actor's place in the queue goes to w, who now waits too. */
    waitq_remove(actor);
    w->obj = &b->base;
    waitq_push(&b->waiters, w);
    actor->complete(actor, 0);
    return SYNCD_PENDING;
}

/* w joins the round: queued with its index, or it fills the round. */
static int barrier_arrive(struct barrier *b, struct waiter *w)
{
    w->value = (int64_t)waitq_len(&b->waiters);
    w->run_action = false;
    assert((uint64_t)w->value < b->parties);
    if ((uint32_t)w->value + 1 < b->parties) {
        w->obj = &b->base;
        waitq_push(&b->waiters, w);
        return SYNCD_PENDING;
    }
    return barrier_fill(b, w);
}

int barrier_wait(struct barrier *b, struct waiter *w)
{
    /* Python: wait() on a broken barrier raises BrokenBarrierError. */
    if (b->broken)
        return SYNC_EBROKEN;
    if (b->acting) {
        w->value = 0;
        w->run_action = false;
        w->obj = &b->base;
        waitq_push(&b->next, w);
        return SYNCD_PENDING;
    }
    return barrier_arrive(b, w);
}

/* After a round: those who arrived during its action start the next. */
static void barrier_admit_next(struct barrier *b)
{
    struct waiter *w;

    while (!b->acting && !b->broken && (w = waitq_pop(&b->next)) != NULL) {
        if (barrier_arrive(b, w) == 0)
            w->complete(w, 0);
    }
}

int barrier_action_done(struct barrier *b, uint64_t owner, bool ok)
{
    if (owner == 0 || b->actor != owner)
        return SYNC_EPERM;
    b->actor = 0;
    if (!b->acting)
        return SYNC_EBROKEN;
    b->acting = false;
    if (!ok) {
        /* Python: an action that raises breaks the barrier. */
        barrier_abort(b);
        return 0;
    }
    b->rounds++;
    barrier_wake_all(&b->waiters, 0);
    barrier_admit_next(b);
    return 0;
}

void barrier_reset(struct barrier *b)
{
    b->acting = false;
    barrier_wake_all(&b->waiters, SYNC_EBROKEN);
    barrier_wake_all(&b->next, SYNC_EBROKEN);
    b->broken = false;
}

void barrier_abort(struct barrier *b)
{
    b->broken = true;
    b->acting = false;
    barrier_wake_all(&b->waiters, SYNC_EBROKEN);
    barrier_wake_all(&b->next, SYNC_EBROKEN);
    assert(waitq_empty(&b->waiters) && waitq_empty(&b->next));
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

/* The party running the action "holds" the barrier: its going away (its
 * client died or closed the handle) breaks the round it holds up. */
static bool barrier_holds(const struct object *o, uint64_t owner)
{
    const struct barrier *b = container_of(o, struct barrier, base);

    return b->acting && b->actor == owner;
}

static bool barrier_drop_owner(struct object *o, uint64_t owner)
{
    if (!barrier_holds(o, owner))
        return false;
    barrier_abort(barrier_from_object(o));
    return true;
}

static size_t barrier_n_waiting(const struct object *o)
{
    const struct barrier *b = container_of(o, struct barrier, base);

    return waitq_len(&b->waiters) + waitq_len(&b->next);
}

uint32_t barrier_parties_waiting(const struct barrier *b)
{
    return (uint32_t)waitq_len(&b->waiters) + (b->acting ? 1 : 0);
}

static int64_t barrier_query(const struct object *o)
{
    return (int64_t)barrier_n_waiting(o);
}

static void barrier_free(struct object *o)
{
    object_fini(o);
    xfree(barrier_from_object(o));
}

static const struct object_ops barrier_ops = {
    .drop_owner = barrier_drop_owner,
    .holds = barrier_holds,
    .cancelled = barrier_cancelled,
    .expire = barrier_expire,
    .query = barrier_query,
    .n_waiting = barrier_n_waiting,
    .free = barrier_free,
};
