/*
 * deadlock.c: wait-for graph.  Every thread blocks on at most one lock at a
 * time, so the graph is a set of chains and a cycle check is a walk along
 * one chain: O(length), no allocation.  Only queued Lock/RLock waiters are
 * edges: a thread waiting on a semaphore, event, condition or barrier can
 * be woken by anyone, so it never makes a cycle definite.
 */
#include "deadlock.h"

#include "objects/lock.h"

struct deadlock_key {
    uint64_t owner;
    uint64_t thread;
};

/* The daemon is single-threaded; one index serves the whole process. */
static struct waiter *deadlock_index;

bool deadlock_track(struct waiter *w)
{
    /* The key is the adjacent (owner, thread) fields of the waiter. */
    hash_oom = 0;
    HASH_ADD(wf_hh, deadlock_index, owner, sizeof(uint64_t) * 2, w);
    w->waits_for_lock = !hash_oom;
    return w->waits_for_lock;
}

void deadlock_untrack(struct waiter *w)
{
    if (!w->waits_for_lock)
        return;
    HASH_DELETE(wf_hh, deadlock_index, w);
    w->waits_for_lock = false;
}

static struct waiter *deadlock_waiting(uint64_t owner, uint64_t thread)
{
    struct deadlock_key key = {owner, thread};
    struct waiter *w = NULL;

    HASH_FIND(wf_hh, deadlock_index, &key, sizeof(key), w);
    return w;
}

size_t deadlock_find_cycle(const struct lock *l, uint64_t owner,
                           uint64_t thread,
                           struct deadlock_edge cycle[DEADLOCK_MAX_CHAIN])
{
    const struct lock *cur = l;
    struct waiter *w;
    size_t n = 0;

    cycle[n++] = (struct deadlock_edge){owner, thread, l};
    while (cur->held) {
        if (cur->holder == owner && cur->holder_thread == thread)
            return n;
        if (n == DEADLOCK_MAX_CHAIN)
            return 0;
        w = deadlock_waiting(cur->holder, cur->holder_thread);
        if (w == NULL || w->obj == NULL)
            return 0;
        cur = lock_from_object(w->obj);
        cycle[n++] = (struct deadlock_edge){w->owner, w->thread, cur};
    }
    return 0;
}
