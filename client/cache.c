/*
 * cache.c: lock caching, the client's side (docs/lock-caching.md).  The
 * daemon lends an uncontended Lock/RLock with an acquire's reply, naming a
 * slot of the page it shared at the handshake; until it takes the lock
 * back, acquire and release here are one CAS on the slot's word, with no
 * message.  Any word this code does not expect (revoked, another lending,
 * another thread's RLock, a range used up) sends the call to the daemon,
 * which takes the lock back first: the daemon is always right.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "internal.h"

bool sync__cache_wanted(void)
{
    const char *e = getenv("SYNCD_CACHE");

    return e == NULL || strcmp(e, "0") != 0;
}

/* A page of an earlier connection (cache.c keeps them mapped). */
struct sync__cache_old {
    struct lc_slot *page;
    const uint32_t *alive;
    struct sync__cache_old *next;
};

/* A new connection (a reconnect): its page replaces c's, whose lendings
 * end with that connection; lendings carry cache_seq, so none of them is
 * used on the new page.  The old mapping stays until c is freed. */
static void cache_retire(sync_client *c)
{
    struct sync__cache_old *o;

    if (c->cache_page == NULL)
        return;
    o = malloc(sizeof(*o));
    if (o == NULL)
        return; /* the mapping leaks; nothing reads it wrongly */
    o->page = c->cache_page;
    o->alive = c->cache_alive;
    o->next = c->cache_old;
    c->cache_old = o;
    __atomic_store_n(&c->cache_page, NULL, __ATOMIC_RELEASE);
}

/* Map fd (size LC_PAGE_SIZE) with prot; NULL when it fails. */
static void *cache_map(int fd, int prot)
{
    void *p = fd < 0 ? MAP_FAILED
                     : mmap(NULL, LC_PAGE_SIZE, prot, MAP_SHARED, fd, 0);

    return p == MAP_FAILED ? NULL : p;
}

/* The robust futex word's owner-died bit and thread id (futex(2)). */
#define CACHE_FUTEX_TID_MASK 0x3fffffffu

void sync__cache_attach(sync_client *c, bool granted, uint32_t server_pid)
{
    struct lc_slot *p = NULL;
    const uint32_t *alive = NULL;

    /* Before the new page is published: a reader that finds the new page
     * also finds the new number, which no old lending carries. */
    __atomic_store_n(&c->cache_seq, (uint16_t)(c->cache_seq + 1),
                     __ATOMIC_RELAXED);
    cache_retire(c);
    if (granted) {
        p = cache_map(c->cache_fd, PROT_READ | PROT_WRITE);
        alive = cache_map(c->cache_alive_fd, PROT_READ);
    }
    if (c->cache_fd >= 0)
        close(c->cache_fd);
    if (c->cache_alive_fd >= 0)
        close(c->cache_alive_fd);
    c->cache_fd = c->cache_alive_fd = -1;
    c->cache_fd_done = true;
    /* The page's header, and the daemon's mutex held by the daemon's
     * thread (its pid): else no caching on this connection. */
    if (p == NULL || alive == NULL ||
        __atomic_load_n(&p[0].word, __ATOMIC_ACQUIRE) != LC_MAGIC ||
        p[0].base != LC_SLOTS ||
        (__atomic_load_n(alive, __ATOMIC_ACQUIRE) & CACHE_FUTEX_TID_MASK) !=
            server_pid) {
        if (p != NULL)
            munmap(p, LC_PAGE_SIZE);
        if (alive != NULL)
            munmap((void *)alive, LC_PAGE_SIZE);
        __atomic_and_fetch(&c->caps, ~WIRE_CAP_LOCK_CACHE, __ATOMIC_RELAXED);
        return;
    }
    /* A fork child does not get the pages at all (it must never take its
     * parent's locks); it also finds its client marked forked. */
    (void)madvise(p, LC_PAGE_SIZE, MADV_DONTFORK);
    (void)madvise((void *)alive, LC_PAGE_SIZE, MADV_DONTFORK);
    __atomic_store_n(&c->cache_alive_word,
                     __atomic_load_n(alive, __ATOMIC_ACQUIRE), __ATOMIC_RELAXED);
    __atomic_store_n(&c->cache_alive, alive, __ATOMIC_RELAXED);
    __atomic_store_n(&c->cache_page, p, __ATOMIC_RELEASE);
}

void sync__cache_detach(sync_client *c)
{
    struct sync__cache_old *o;

    cache_retire(c);
    while ((o = c->cache_old) != NULL) {
        c->cache_old = o->next;
        /* A fork child has no such mapping (MADV_DONTFORK). */
        if (!c->forked) {
            munmap(o->page, LC_PAGE_SIZE);
            munmap((void *)o->alive, LC_PAGE_SIZE);
        }
        free(o);
    }
}

void sync__cache_note(struct sync__lockable *l, uint64_t grant)
{
    sync_client *c = l->o.client;
    uint32_t slot = lc_grant_slot(grant);

    if (grant != 0 && (__atomic_load_n(&c->cache_page, __ATOMIC_ACQUIRE) ==
                           NULL ||
                       slot == 0 ||
                       slot >= LC_SLOTS))
        grant = 0;
    if (grant != 0)
        grant |= (uint64_t)__atomic_load_n(&c->cache_seq, __ATOMIC_RELAXED)
                 << 48;
    __atomic_store_n(&l->cache, grant, __ATOMIC_RELEASE);
}

/* l's slot when the daemon lent l through it and the connection is live;
 * NULL: ask the daemon. */
static struct lc_slot *cache_slot(struct sync__lockable *l, uint64_t *grant)
{
    sync_client *c = l->o.client;
    uint64_t g = __atomic_load_n(&l->cache, __ATOMIC_ACQUIRE);
    struct lc_slot *page;

    if (g == 0 || c->forked)
        return NULL;
    /* The page, then the number its lendings carry (cache_attach: number
     * first, page after). */
    page = __atomic_load_n(&c->cache_page, __ATOMIC_ACQUIRE);
    /* The daemon died (its mutex's word changed: the kernel marked it
     * owner-died): the lending died with it; ask, and learn. */
    if (page == NULL ||
        __atomic_load_n(__atomic_load_n(&c->cache_alive, __ATOMIC_RELAXED),
                        __ATOMIC_ACQUIRE) !=
            __atomic_load_n(&c->cache_alive_word, __ATOMIC_RELAXED) ||
        (uint16_t)(g >> 48) !=
            __atomic_load_n(&c->cache_seq, __ATOMIC_RELAXED) ||
        __atomic_load_n(&c->dead, __ATOMIC_RELAXED) != 0)
        return NULL;
    *grant = g;
    return &page[lc_grant_slot(g)];
}

int sync__cache_acquire(struct sync__lockable *l)
{
    uint64_t g, w, base;
    struct lc_slot *sl = cache_slot(l, &g);
    uint32_t tid = (uint32_t)sync__thread_id(), off;

    if (sl == NULL || sync__thread_id() > LC_TID_MAX)
        return 1;
    w = __atomic_load_n(&sl->word, __ATOMIC_ACQUIRE);
    for (;;) {
        if (lc_gen(w) != lc_grant_gen(g))
            return 1;
        off = lc_off(w);
        if (lc_state(w) == LC_FREE && off < lc_grant_range(g)) {
            /* Read before the CAS: its success proves the lending (and
             * so the base) is still the one this word named. */
            base = __atomic_load_n(&sl->base, __ATOMIC_ACQUIRE);
            if (__atomic_compare_exchange_n(
                    &sl->word, &w,
                    lc_word(LC_HELD, lc_gen(w), off + 1, tid, 1), false,
                    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
                __atomic_store_n(&l->token, base + off + 1, __ATOMIC_RELAXED);
                __atomic_store_n(&l->owner_died, false, __ATOMIC_RELAXED);
                return 0;
            }
            continue;
        }
        /* Python: an RLock's owner "increments the recursion level". */
        if (l->recursive && lc_state(w) == LC_HELD && lc_tid(w) == tid &&
            lc_depth(w) < LC_DEPTH_MAX) {
            if (__atomic_compare_exchange_n(&sl->word, &w, w + 1, false,
                                            __ATOMIC_ACQ_REL,
                                            __ATOMIC_ACQUIRE)) {
                __atomic_store_n(&l->owner_died, false, __ATOMIC_RELAXED);
                return 0;
            }
            continue;
        }
        return 1;
    }
}

int sync__cache_release(struct sync__lockable *l)
{
    uint64_t g, w, next;
    struct lc_slot *sl = cache_slot(l, &g);
    uint32_t tid = (uint32_t)sync__thread_id();

    if (sl == NULL)
        return 1;
    w = __atomic_load_n(&sl->word, __ATOMIC_ACQUIRE);
    for (;;) {
        if (lc_gen(w) != lc_grant_gen(g) || lc_state(w) == LC_REVOKED)
            return 1;
        /* Python: releasing an unlocked lock, or another thread's RLock,
         * raises RuntimeError.  Lent and free means nobody holds it. */
        if (lc_state(w) != LC_HELD || (l->recursive && lc_tid(w) != tid))
            return SYNC_EPERM;
        next = lc_depth(w) > 1
                   ? w - 1
                   : lc_word(LC_FREE, lc_gen(w), lc_off(w), 0, 0);
        if (__atomic_compare_exchange_n(&sl->word, &w, next, false,
                                        __ATOMIC_RELEASE, __ATOMIC_ACQUIRE))
            return 0;
    }
}

int sync__cache_query(struct sync__lockable *l, bool *held, uint32_t *depth)
{
    uint64_t g, w;
    struct lc_slot *sl = cache_slot(l, &g);

    if (sl == NULL)
        return 1;
    w = __atomic_load_n(&sl->word, __ATOMIC_ACQUIRE);
    if (lc_gen(w) != lc_grant_gen(g) || lc_state(w) == LC_REVOKED)
        return 1;
    *held = lc_state(w) == LC_HELD;
    /* A Lock is its client's: depth 1 for any of its threads. */
    *depth = !*held ? 0
             : l->recursive ? (lc_tid(w) == (uint32_t)sync__thread_id()
                                   ? lc_depth(w)
                                   : 0)
                            : 1;
    return 0;
}
