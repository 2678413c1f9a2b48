/*
 * lockcache.c: the shared pages of lock caching and the daemon's moves on
 * their words (see lockcache.h).  The client changes a word only by CAS
 * from a value it read; the daemon lends into a REVOKED word and takes
 * back with one exchange, so a client that scribbles on its page cannot
 * stall the daemon: it can only lie about its own locks, and a word that
 * makes no sense is treated as held, with its whole token range used.
 */
#include "lockcache.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "error.h"
#include "log.h"
#include "objects/lock.h"
#include "server.h"
#include "session.h"
#include "xalloc.h"

int lockcache_page_new(struct lockcache_page **out, int *fd_out)
{
    struct lockcache_page *p;
    int fd, rv;

    fd = memfd_create("syncd-lockcache", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0)
        return sync_error_from_errno(errno);
    /* Sealed at its size: a client cannot truncate it under the daemon
     * (a SIGBUS here). */
    if (ftruncate(fd, LC_PAGE_SIZE) != 0 ||
        fcntl(fd, F_ADD_SEALS,
              F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0) {
        rv = sync_error_from_errno(errno);
        goto err_fd;
    }
    p = xcalloc(1, sizeof(*p));
    if (p == NULL) {
        rv = SYNC_ENOMEM;
        goto err_fd;
    }
    p->slots = mmap(NULL, LC_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
                    fd, 0);
    if (p->slots == MAP_FAILED) {
        rv = sync_error_from_errno(errno);
        goto err_p;
    }
    p->slots[0].base = LC_SLOTS;
    __atomic_store_n(&p->slots[0].word, LC_MAGIC, __ATOMIC_RELEASE);
    p->hint = 1;
    *out = p;
    *fd_out = fd;
    return 0;
err_p:
    xfree(p);
err_fd:
    close(fd);
    return rv;
}

struct lockcache_alive {
    pthread_mutex_t *mu; /* owned mapping of LC_PAGE_SIZE bytes */
    int ro_fd;           /* owned: read-only descriptor for clients */
};

/* The page's memfd, mapped, its mutex made and locked by this thread. */
static int lockcache_alive_make(struct lockcache_alive *a)
{
    pthread_mutexattr_t attr;
    char path[64];
    int fd, rv = 0;

    fd = memfd_create("syncd-alive", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0)
        return sync_error_from_errno(errno);
    if (ftruncate(fd, LC_PAGE_SIZE) != 0 ||
        fcntl(fd, F_ADD_SEALS,
              F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0 ||
        (a->mu = mmap(NULL, LC_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
                      fd, 0)) == MAP_FAILED) {
        rv = sync_error_from_errno(errno);
        close(fd);
        return rv;
    }
    /* Read-only for clients: they cannot map it writable, so the mutex's
     * list links (followed by glibc and the kernel) stay the daemon's. */
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    a->ro_fd = open(path, O_RDONLY | O_CLOEXEC);
    close(fd);
    if (a->ro_fd < 0) {
        rv = sync_error_from_errno(errno);
        munmap(a->mu, LC_PAGE_SIZE);
        return rv;
    }
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
    pthread_mutex_init(a->mu, &attr);
    pthread_mutexattr_destroy(&attr);
    pthread_mutex_lock(a->mu);
    return 0;
}

int lockcache_alive_fd(struct server *srv, int *fd)
{
    struct lockcache_alive *a = srv->cache_alive;
    int rv;

    if (a == NULL) {
        a = xcalloc(1, sizeof(*a));
        if (a == NULL)
            return SYNC_ENOMEM;
        rv = lockcache_alive_make(a);
        if (rv != 0) {
            xfree(a);
            return rv;
        }
        srv->cache_alive = a;
    }
    *fd = a->ro_fd;
    return 0;
}

void lockcache_alive_free(struct server *srv)
{
    struct lockcache_alive *a = srv->cache_alive;

    if (a == NULL)
        return;
    pthread_mutex_unlock(a->mu);
    pthread_mutex_destroy(a->mu);
    munmap(a->mu, LC_PAGE_SIZE);
    close(a->ro_fd);
    xfree(a);
    srv->cache_alive = NULL;
}

void lockcache_page_free(struct lockcache_page *p)
{
    if (p == NULL)
        return;
    munmap(p->slots, LC_PAGE_SIZE);
    xfree(p);
}

static uint32_t lockcache_free_slot(struct lockcache_page *p)
{
    uint32_t i, slot;

    for (i = 0; i < LC_SLOTS - 1; i++) {
        slot = 1 + (p->hint - 1 + i) % (LC_SLOTS - 1);
        if (p->lent[slot] == NULL) {
            p->hint = slot + 1 < LC_SLOTS ? slot + 1 : 1;
            return slot;
        }
    }
    return 0;
}

uint64_t lockcache_lend(struct session *s, struct lock *l, uint64_t thread)
{
    struct lockcache_page *p = s->cache;
    struct lc_slot *sl;
    uint64_t range;
    uint32_t slot;
    uint16_t gen;

    if (p == NULL || thread == 0 || thread > LC_TID_MAX ||
        !lock_may_lend(l, LC_DEPTH_MAX) || l->holder != s->id)
        return 0;
    slot = lockcache_free_slot(p);
    if (slot == 0)
        return 0;
    range = lock_lend(l, slot, LC_OFF_MAX);
    if (range == 0)
        return 0;
    gen = (uint16_t)(p->gen[slot] + 1 == 0 ? 1 : p->gen[slot] + 1);
    p->gen[slot] = gen;
    p->range[slot] = (uint32_t)range;
    p->lent[slot] = l;
    p->n_lent++;
    sl = &p->slots[slot];
    /* The base first: a client reads it only after a word that names
     * this lending. */
    __atomic_store_n(&sl->base, l->tokens, __ATOMIC_RELAXED);
    __atomic_store_n(&sl->word,
                     lc_word(LC_HELD, gen, 0, (uint32_t)thread, l->depth),
                     __ATOMIC_RELEASE);
    s->server->stats.cache_lends++;
    return lc_grant(slot, gen, (uint32_t)range);
}

/* Take back slot of s's page: one exchange, then the lock hears what the
 * client left. */
static void lockcache_take(struct session *s, uint32_t slot)
{
    struct lockcache_page *p = s->cache;
    struct lock *l = p->lent[slot];
    struct lc_slot *sl = &p->slots[slot];
    uint64_t base = __atomic_load_n(&sl->base, __ATOMIC_RELAXED);
    uint64_t old = __atomic_exchange_n(
        &sl->word, lc_word(LC_REVOKED, p->gen[slot], 0, 0, 0),
        __ATOMIC_ACQ_REL);
    unsigned st = lc_state(old);
    uint32_t off = lc_off(old), depth = lc_depth(old);

    if (lc_gen(old) != p->gen[slot] || off > p->range[slot] ||
        (st != LC_FREE && (st != LC_HELD || depth == 0))) {
        log_warnx("client pid %d uid %u: lock cache word %#llx of '%s' is "
                  "not valid; the lock stays held by the client",
                  (int)s->pid, (unsigned)s->uid, (unsigned long long)old,
                  l->base.name);
        st = LC_HELD;
        off = p->range[slot];
        depth = depth == 0 ? 1 : depth;
    }
    p->lent[slot] = NULL;
    p->n_lent--;
    s->server->stats.cache_reclaims++;
    lock_return(l, st == LC_HELD, lc_tid(old), depth, base + off, off);
}

static struct session *lockcache_borrower(struct server *srv,
                                          const struct lock *l)
{
    struct session *s = server_find_session(srv, l->lent_to);

    if (s == NULL || s->cache == NULL || l->lent_slot >= LC_SLOTS ||
        s->cache->lent[l->lent_slot] != l)
        return NULL;
    return s;
}

void lockcache_reclaim_cb(void *arg, struct object *o)
{
    struct lock *l = lock_from_object(o);
    struct session *s = lockcache_borrower(arg, l);

    if (s != NULL)
        lockcache_take(s, l->lent_slot);
}

void lockcache_reclaim_session(struct session *s, struct lock *only_lock)
{
    uint32_t slot;

    if (s->cache == NULL)
        return;
    for (slot = 1; slot < LC_SLOTS && s->cache->n_lent > 0; slot++)
        if (s->cache->lent[slot] != NULL &&
            (only_lock == NULL || s->cache->lent[slot] == only_lock))
            lockcache_take(s, slot);
}

void lockcache_reclaim_all(struct server *srv)
{
    struct list_node *n;

    for (n = srv->sessions.next; n != &srv->sessions; n = n->next)
        lockcache_reclaim_session(container_of(n, struct session, link),
                                  NULL);
}

int lockcache_peek(struct server *srv, const struct lock *l,
                   uint64_t *thread, uint32_t *depth, uint64_t *token)
{
    struct session *s = l->lent_to ? lockcache_borrower(srv, l) : NULL;
    const struct lc_slot *sl;
    uint64_t w;

    if (s == NULL)
        return -1;
    sl = &s->cache->slots[l->lent_slot];
    w = __atomic_load_n(&sl->word, __ATOMIC_ACQUIRE);
    *token = __atomic_load_n(&sl->base, __ATOMIC_RELAXED) + lc_off(w);
    if (lc_state(w) != LC_HELD)
        return 0;
    *thread = lc_tid(w);
    *depth = lc_depth(w);
    return 1;
}
