/*
 * lock.c: the Lock/RLock state machine.  Invariants: waiters are queued
 * only while the lock is held; a release hands the lock straight to the
 * oldest waiter (FIFO, no barging), so it is never free while someone
 * waits; a held lock has exactly one holder and a depth >= 1.  Queued
 * waiters are indexed in the wait-for graph (in the objects' environment):
 * every thread blocks on at most one lock at a time, so the graph is a set
 * of chains and a cycle check is a walk along one chain: O(length), no
 * allocation.  Only Lock/RLock waiters are edges: a thread waiting on a
 * semaphore, event, condition or barrier can be woken by anyone, so it
 * never makes a cycle definite.
 */
#include "lock.h"
#include "xalloc.h"

#include <assert.h>
#include <stdlib.h>

#include "syncclient.h"

static const struct object_ops lock_ops;

static struct lock *lock_alloc(const char *name, enum object_type type)
{
    struct lock *l = xcalloc(1, sizeof(*l));

    if (l == NULL)
        return NULL;
    if (object_init(&l->base, type, name, &lock_ops) != 0) {
        xfree(l);
        return NULL;
    }
    l->recursive = type == OBJECT_RLOCK;
    waitq_init(&l->waiters);
    return l;
}

struct lock *lock_new(const char *name)
{
    return lock_alloc(name, OBJECT_LOCK);
}

struct lock *rlock_new(const char *name)
{
    return lock_alloc(name, OBJECT_RLOCK);
}

struct lock *lock_from_object(struct object *o)
{
    return container_of(o, struct lock, base);
}

/* The graph's index key: the adjacent (owner, thread) fields of a waiter. */
struct lock_key {
    uint64_t owner;
    uint64_t thread;
};

/* Index w (queued on l) by its (owner, thread); false when the index
 * could not allocate (w is then not part of the graph). */
static bool lock_track(struct lock *l, struct waiter *w)
{
    struct object_env *env = l->base.env;

    if (env == NULL)
        return true;
    w->hash_oom = false;
    HASH_ADD(wf_hh, env->wait_for, owner, sizeof(struct lock_key), w);
    w->waits_for_lock = !w->hash_oom;
    return w->waits_for_lock;
}

/* Take w (just removed from l's queue) out of the graph. */
static void lock_untrack(struct lock *l, struct waiter *w)
{
    if (!w->waits_for_lock)
        return;
    HASH_DELETE(wf_hh, l->base.env->wait_for, w);
    w->waits_for_lock = false;
}

static struct waiter *lock_waiting(struct object_env *env, uint64_t owner,
                                   uint64_t thread)
{
    struct lock_key key = {owner, thread};
    struct waiter *w = NULL;

    HASH_FIND(wf_hh, env->wait_for, &key, sizeof(key), w);
    return w;
}

size_t lock_find_cycle(const struct lock *l, uint64_t owner, uint64_t thread,
                       struct lock_edge cycle[LOCK_MAX_CHAIN])
{
    const struct lock *cur = l;
    struct waiter *w;
    size_t n = 0;

    if (l->base.env == NULL)
        return 0;
    if (cycle != NULL)
        cycle[n] = (struct lock_edge){owner, thread, l};
    n++;
    while (cur->held) {
        if (cur->holder == owner && cur->holder_thread == thread)
            return n;
        if (n == LOCK_MAX_CHAIN)
            return 0;
        w = lock_waiting(l->base.env, cur->holder, cur->holder_thread);
        if (w == NULL || w->obj == NULL)
            return 0;
        cur = lock_from_object(w->obj);
        if (cycle != NULL)
            cycle[n] = (struct lock_edge){w->owner, w->thread, cur};
        n++;
    }
    return 0;
}

/* Tell the environment the hold changed (a restart's record of it). */
static inline void lock_changed(struct lock *l)
{
    if (l->base.env != NULL && l->base.env->hold_changed != NULL)
        l->base.env->hold_changed(l->base.env->hold_arg, &l->base);
}

static inline void lock_grant(struct lock *l, struct waiter *w,
                              uint32_t depth)
{
    assert(!l->held && depth >= 1);
    l->held = true;
    l->holder = w->owner;
    l->holder_thread = w->thread;
    l->depth = depth;
    l->held_since = object_now(&l->base);
    if (l->tokens >= l->token_limit) {
        if (l->base.env != NULL && l->base.env->reserve_tokens != NULL)
            l->base.env->reserve_tokens(l->base.env->reserve_arg, &l->base);
        else
            l->token_limit = UINT64_MAX;
    }
    w->token = ++l->tokens;
    l->holder_token = w->token;
    l->retakes = l->last_owner == w->owner ? l->retakes + 1 : 1;
    l->last_owner = w->owner;
    /* The first holder after a death is told, then the flag is spent. */
    w->owner_died = l->owner_died;
    l->owner_died = false;
    lock_changed(l);
}

/* Queue w; false if the wait-for graph could not index it (out of memory),
 * in which case w is queued but invisible to deadlock detection. */
static bool lock_enqueue(struct lock *l, struct waiter *w)
{
    assert(l->held && w->queue == NULL);
    w->obj = &l->base;
    waitq_push(&l->waiters, w);
    return lock_track(l, w);
}

/* A lent lock is taken back before anyone else may wait for it or get
 * it, so a waiter never queues on a lock only its borrower can release. */
static void lock_unlend(struct lock *l)
{
    if (l->lent_to != 0 && l->base.env != NULL &&
        l->base.env->reclaim != NULL)
        l->base.env->reclaim(l->base.env->reclaim_arg, &l->base);
}

int lock_acquire(struct lock *l, struct waiter *w, bool may_wait)
{
    lock_unlend(l);
    if (!l->held) {
        lock_grant(l, w, 1);
        return 0;
    }
    /* Python: "if this thread already owns the lock, increment the
     * recursion level by one, and return immediately." */
    if (l->recursive && l->holder == w->owner &&
        l->holder_thread == w->thread) {
        if (l->depth == UINT32_MAX)
            return SYNC_ELIMIT;
        l->depth++;
        w->token = l->holder_token;
        w->owner_died = false;
        lock_changed(l);
        return 0;
    }
    if (!may_wait)
        return SYNC_ETIMEDOUT;
    /* Any thread but the holder's, even of the same client, is a node of
     * its own (the holder's own thread is the case above, or a Lock used
     * as a signal). */
    if (!(l->holder == w->owner && l->holder_thread == w->thread) &&
        lock_find_cycle(l, w->owner, w->thread, NULL) > 0)
        return SYNC_EDEADLK;
    if (!lock_enqueue(l, w)) {
        /* A wait the deadlock check cannot see is refused, not risked. */
        waitq_remove(w);
        return SYNC_ENOMEM;
    }
    return SYNCD_PENDING;
}

static void lock_hand_off(struct lock *l, bool died)
{
    struct waiter *next;

    l->held = false;
    l->holder = 0;
    l->holder_thread = 0;
    l->depth = 0;
    l->holder_token = 0;
    l->owner_died = died;
    next = waitq_pop(&l->waiters);
    if (next == NULL) {
        lock_changed(l);
        return;
    }
    lock_untrack(l, next);
    /* Exactly one holder: the oldest waiter, straight from the release. */
    lock_grant(l, next, next->reacquiring ? next->depth : 1);
    next->reacquiring = false;
    next->complete(next, next->grant_code);
}

bool lock_is_owner(const struct lock *l, uint64_t owner, uint64_t thread)
{
    return l->held && l->holder == owner &&
           (!l->recursive || l->holder_thread == thread);
}

int lock_release_by(struct lock *l, uint64_t owner, uint64_t thread)
{
    /* Python: releasing an unlocked lock, or an RLock owned by another
     * thread, raises RuntimeError. */
    lock_unlend(l);
    if (!lock_is_owner(l, owner, thread))
        return SYNC_EPERM;
    assert(l->depth >= 1);
    if (--l->depth == 0)
        lock_hand_off(l, false);
    else
        lock_changed(l);
    return 0;
}

int lock_release(struct lock *l, uint64_t owner)
{
    return lock_release_by(l, owner, l->holder_thread);
}

uint32_t lock_release_all(struct lock *l)
{
    uint32_t depth;

    lock_unlend(l);
    depth = l->depth;
    lock_hand_off(l, false);
    return depth;
}

void lock_reacquire(struct lock *l, struct waiter *w)
{
    lock_unlend(l);
    if (!l->held) {
        lock_grant(l, w, w->depth);
        w->complete(w, w->grant_code);
        return;
    }
    w->reacquiring = true;
    /* Must queue (the condition wait already released the lock); out of
     * memory only costs this waiter its place in the wait-for graph. */
    (void)lock_enqueue(l, w);
}

void lock_hold_restore(struct lock *l, uint64_t owner, uint64_t thread,
                       uint32_t depth, uint64_t token)
{
    assert(!l->held && depth >= 1);
    l->held = true;
    l->holder = owner;
    l->holder_thread = thread;
    l->depth = l->recursive ? depth : 1;
    l->holder_token = token;
    l->held_since = object_now(&l->base);
}

int lock_transfer(struct lock *l, uint64_t from, uint64_t to)
{
    lock_unlend(l);
    if (!l->held || l->holder != from)
        return SYNC_EPERM;
    l->holder = to;
    l->held_since = object_now(&l->base);
    lock_changed(l);
    return 0;
}

void lock_set_depth(struct lock *l, uint32_t depth)
{
    if (l->held && l->recursive && depth >= 1)
        l->depth = depth;
}

bool lock_may_lend(const struct lock *l, uint32_t max_depth)
{
    return l->held && l->lent_to == 0 &&
           l->retakes >= (l->lend_after ? l->lend_after : LOCK_LEND_MIN) &&
           l->depth <= max_depth && waitq_empty(&l->waiters);
}

uint64_t lock_lend(struct lock *l, uint32_t slot, uint64_t max_tokens)
{
    uint64_t room = l->token_limit - l->tokens;

    assert(lock_may_lend(l, UINT32_MAX));
    if (room > max_tokens)
        room = max_tokens;
    if (room == 0)
        return 0;
    l->lent_to = l->holder;
    l->lent_slot = slot;
    return room;
}

void lock_return(struct lock *l, bool held, uint64_t thread, uint32_t depth,
                 uint64_t tokens, uint32_t used)
{
    uint32_t after = l->lend_after ? l->lend_after : LOCK_LEND_MIN;

    assert(l->lent_to != 0 && waitq_empty(&l->waiters));
    l->lent_to = 0;
    /* Withdrawn from a contended lock: a lending others cut short makes
     * the next one wait for twice as many re-takes. */
    l->lend_after = used >= LOCK_LEND_USEFUL ? LOCK_LEND_MIN
                    : after >= LOCK_LEND_MAX / 2 ? LOCK_LEND_MAX
                                                 : after * 2;
    l->retakes = 0;
    if (tokens > l->tokens)
        l->tokens = tokens;
    if (held) {
        l->held = true;
        l->holder_thread = thread;
        /* The page is the client's to write: a Lock is held once, an
         * RLock at least once, whatever the word says. */
        l->depth = !l->recursive || depth == 0 ? 1 : depth;
        l->holder_token = tokens;
        lock_changed(l);
        return;
    }
    l->held = false;
    l->holder = 0;
    l->holder_thread = 0;
    l->depth = 0;
    l->holder_token = 0;
    lock_changed(l);
}

static bool lock_holds(const struct object *o, uint64_t owner)
{
    const struct lock *l = container_of(o, struct lock, base);

    return l->held && l->holder == owner;
}

static bool lock_drop_owner(struct object *o, uint64_t owner)
{
    struct lock *l = lock_from_object(o);

    /* All recursion levels go at once. */
    lock_unlend(l);
    if (!lock_holds(o, owner))
        return false;
    lock_hand_off(l, true);
    return true;
}

/* A queued waiter was cancelled (client gone, handle closed, timeout,
 * shutdown): it leaves the graph with its queue. */
static void lock_cancelled(struct object *o, struct waiter *w, int code)
{
    lock_untrack(lock_from_object(o), w);
    w->complete(w, code);
}

static int64_t lock_query(const struct object *o)
{
    return container_of(o, struct lock, base)->held ? 1 : 0;
}

static size_t lock_n_waiting(const struct object *o)
{
    return waitq_len(&container_of(o, struct lock, base)->waiters);
}

static void lock_free(struct object *o)
{
    struct lock *l = lock_from_object(o);

    assert(waitq_empty(&l->waiters));
    object_fini(o);
    xfree(l);
}

static const struct object_ops lock_ops = {
    .drop_owner = lock_drop_owner,
    .holds = lock_holds,
    .query = lock_query,
    .n_waiting = lock_n_waiting,
    .cancelled = lock_cancelled,
    .free = lock_free,
};
