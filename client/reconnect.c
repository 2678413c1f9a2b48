/*
 * reconnect.c: when the connection drops, one caller thread dials again
 * (exponential backoff, bounded in all), says Hello with the client's id,
 * re-opens every handle under its old number, reclaims what it held, and
 * every call that failed with the connection is sent again: waits with
 * what is left of their timeout, a condition wait after its lock is back.
 * The other threads wait for that thread (client.c's gate) and then go on
 * on the new connection.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

/* Backoff between dials: from the first to the largest, doubling. */
#define RECONNECT_FIRST_MS 10
#define RECONNECT_MAX_DELAY_MS 500
/* How long to try in all, unless configured. */
#define RECONNECT_DEFAULT_MS 10000

int64_t sync__now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void reconnect_sleep_ms(int64_t ms)
{
    struct timespec ts = {.tv_sec = ms / 1000,
                          .tv_nsec = (long)(ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

void sync__reconnect_init(sync_client *c,
                          const struct sync_connect_opts *opts)
{
    const char *on = getenv("SYNCD_RECONNECT");
    const char *ms = getenv("SYNCD_RECONNECT_MS");
    long n;
    char *end;

    c->reconnect_on = !(on != NULL && strcmp(on, "0") == 0);
    c->reconnect_ms = RECONNECT_DEFAULT_MS;
    if (ms != NULL) {
        errno = 0;
        n = strtol(ms, &end, 10);
        if (errno == 0 && *end == '\0' && end != ms && n >= 0 &&
            n <= 86400000)
            c->reconnect_ms = (unsigned)n;
    }
    if (opts != NULL && opts->reconnect >= 0)
        c->reconnect_on = opts->reconnect != 0;
    if (opts != NULL && opts->reconnect_ms >= 0)
        c->reconnect_ms = (unsigned)opts->reconnect_ms;
    /* Who this client is to the daemon across connections: 128 random
     * bits (a clash between two live clients is not a concern). */
    if (getrandom(c->client_id, sizeof(c->client_id), 0) !=
        (ssize_t)sizeof(c->client_id)) {
        int64_t t = sync__now_us();
        pid_t pid = getpid();

        memcpy(c->client_id, &t, sizeof(t));
        memcpy(c->client_id + sizeof(t), &pid, sizeof(pid));
        memcpy(c->client_id + 12, &c, 4);
    }
}

/* What one restore pass found of one handle. */
struct reconnect_item {
    struct sync__object *o;
    uint32_t handle;
    uint32_t live;      /* lock levels held through it the daemon kept:
                           what to reclaim (reconnect_live_levels) */
    uint32_t waits;     /* levels its condition waits gave back, not
                           matched yet to a level counted */
};

/* Snapshot of c's open objects (under c->mu): the list may change while
 * the restore calls run (other threads wait at the gate, but a close
 * already past it removes its object first). */
static struct reconnect_item *reconnect_snapshot(sync_client *c, size_t *n)
{
    struct sync__object *o;
    struct reconnect_item *v;
    size_t i = 0, count = 0;

    pthread_mutex_lock(&c->mu);
    for (o = c->objects; o != NULL; o = o->next_obj)
        count++;
    v = calloc(count ? count : 1, sizeof(*v));
    if (v != NULL)
        for (o = c->objects; o != NULL; o = o->next_obj, i++)
            v[i] = (struct reconnect_item){.o = o, .handle = o->handle};
    pthread_mutex_unlock(&c->mu);
    *n = count;
    return v;
}

/* Whether a hold of lock was already reclaimed through another handle. */
static bool reconnect_reclaimed(const struct reconnect_item *v, size_t n,
                                const bool *got, const char *lock)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (got[i] && strcmp(sync__object_lock_name(v[i].o), lock) == 0)
            return true;
    return false;
}

/*
 * Each lock-like item's live levels: those it counts minus the levels the
 * condition waits in flight gave back to the daemon.  A wait's levels are
 * counted where the lock was acquired, which need not be the condition's
 * handle: Python's Condition(lock) acquires through the Lock's handle
 * and waits through its own.  So a wait's levels first cancel levels of
 * its own handle, and what is left of them levels of the other handles
 * on the same lock.
 */
static void reconnect_live_levels(struct reconnect_item *v, size_t n)
{
    struct sync__lockable *l;
    uint32_t take;
    size_t i, j;

    for (i = 0; i < n; i++) {
        v[i].live = v[i].waits = 0;
        if ((l = v[i].o->lockable) == NULL)
            continue;
        pthread_mutex_lock(&l->mu);
        v[i].live = __atomic_load_n(&l->levels, __ATOMIC_RELAXED);
        v[i].waits = l->cond_wait_levels;
        pthread_mutex_unlock(&l->mu);
        take = v[i].waits < v[i].live ? v[i].waits : v[i].live;
        v[i].live -= take;
        v[i].waits -= take;
    }
    for (i = 0; i < n; i++) {
        for (j = 0; v[i].waits > 0 && j < n; j++) {
            if (j == i || v[j].live == 0 ||
                v[j].o->lock_hash != v[i].o->lock_hash ||
                strcmp(sync__object_lock_name(v[i].o),
                       sync__object_lock_name(v[j].o)) != 0)
                continue;
            take = v[i].waits < v[j].live ? v[i].waits : v[j].live;
            v[j].live -= take;
            v[i].waits -= take;
        }
    }
}

/* Mark the live levels of item it lost: a release of each says
 * SYNC_ELOST (sends nothing); nothing is left to reclaim through it.  The
 * levels of condition waits in flight stay: those waits take the lock
 * back. */
static void reconnect_lost(struct reconnect_item *it)
{
    struct sync__lockable *l = it->o->lockable;
    uint32_t levels;

    pthread_mutex_lock(&l->mu);
    levels = __atomic_load_n(&l->levels, __ATOMIC_RELAXED);
    l->lost = true;
    l->lost_levels += it->live;
    __atomic_store_n(&l->levels, levels > it->live ? levels - it->live : 0,
                     __ATOMIC_RELAXED);
    pthread_mutex_unlock(&l->mu);
    it->live = 0;
}

/* Mark n of p's permits lost: their release says SYNC_ELOST. */
static void reconnect_permits_lost(struct sync__permits *p, uint32_t n)
{
    pthread_mutex_lock(&p->mu);
    p->lost += n;
    pthread_mutex_unlock(&p->mu);
}

/* Permits held through p that are not lost yet: what to reclaim. */
static uint32_t reconnect_permits_live(struct sync__permits *p)
{
    uint32_t n;

    pthread_mutex_lock(&p->mu);
    n = p->held - p->lost;
    pthread_mutex_unlock(&p->mu);
    return n;
}

/*
 * Reclaim the semaphore permits held through undo handle i: the daemon
 * answers how many it gave back (QueryResult.value); the others are lost.
 * 0, or the connection's code.
 */
static int reconnect_permits(sync_client *c, const struct reconnect_item *it)
{
    struct sync__permits *p = it->o->permits;
    struct sync__request req;
    struct sync__result res;
    uint64_t gen;
    uint32_t live = reconnect_permits_live(p), got = 0;
    int rv = 0;

    if (live == 0)
        return 0;
    if (sync__client_has_cap(c, WIRE_CAP_RECLAIM)) {
        req = (struct sync__request){.op = OP_RECLAIM,
                                     .handle = it->handle,
                                     .n = live};
        rv = sync__call_once(c, &req, &res, &gen);
        if (rv == SYNC_ECONN || rv == SYNC_ESHUTDOWN || rv == SYNC_ENOMEM)
            return rv;
        if (rv == 0 && res.value > 0)
            got = res.value < (int64_t)live ? (uint32_t)res.value : live;
    }
    if (got < live)
        reconnect_permits_lost(p, live - got);
    return 0;
}

/*
 * On the new connection: open every handle again under its number, then
 * reclaim the locks held.  0, or the connection's code (SYNC_ECONN ...)
 * when it dropped again.
 */
static int reconnect_restore(sync_client *c)
{
    struct reconnect_item *v;
    struct sync__request req;
    struct sync__result res;
    uint64_t gen;
    bool *got;
    size_t n, i;
    int rv = 0;

    v = reconnect_snapshot(c, &n);
    got = calloc(n ? n : 1, sizeof(*got));
    if (v == NULL || got == NULL) {
        free(v);
        free(got);
        return SYNC_ENOMEM;
    }
    reconnect_live_levels(v, n);
    for (i = 0; i < n && rv == 0; i++) {
        req = v[i].o->reopen;
        req.handle = v[i].handle;
        rv = sync__call_once(c, &req, &res, &gen);
        if (rv == SYNC_ECONN || rv == SYNC_ESHUTDOWN || rv == SYNC_ENOMEM)
            break;
        /* Not there any more (opened as existing only), or refused: its
         * calls now fail with the daemon's SYNC_EBADF, and its holds are
         * lost. */
        if (rv != 0 && v[i].o->lockable != NULL)
            reconnect_lost(&v[i]);
        if (rv != 0 && v[i].o->permits != NULL)
            reconnect_permits_lost(v[i].o->permits,
                                   reconnect_permits_live(v[i].o->permits));
        rv = 0;
    }
    for (i = 0; i < n && rv == 0; i++) {
        if (v[i].o->permits != NULL)
            rv = reconnect_permits(c, &v[i]);
        if (v[i].o->lockable == NULL || rv != 0 || v[i].live == 0)
            continue;
        if (!sync__client_has_cap(c, WIRE_CAP_RECLAIM)) {
            reconnect_lost(&v[i]);
            continue;
        }
        /* The levels it counts, not the daemon's: an acquire or release
         * in flight when the connection dropped is sent again after this,
         * and must find the depth it left from. */
        req = (struct sync__request){.op = OP_RECLAIM,
                                     .handle = v[i].handle,
                                     .n = v[i].live};
        rv = sync__call_once(c, &req, &res, &gen);
        if (rv == SYNC_ECONN || rv == SYNC_ESHUTDOWN || rv == SYNC_ENOMEM)
            break;
        if (rv == 0) {
            struct sync__lockable *l = v[i].o->lockable;

            got[i] = true;
            pthread_mutex_lock(&l->mu);
            /* The same hold: a lent lock's token may be above the
             * daemon's record (taken in the page), never below. */
            if (res.token > __atomic_load_n(&l->token, __ATOMIC_RELAXED))
                __atomic_store_n(&l->token, res.token, __ATOMIC_RELAXED);
            pthread_mutex_unlock(&l->mu);
        } else if (!reconnect_reclaimed(v, n, got,
                                        sync__object_lock_name(v[i].o))) {
            reconnect_lost(&v[i]);
        }
        rv = 0;
    }
    if (rv == 0 && sync__client_has_cap(c, WIRE_CAP_RECLAIM)) {
        /* Handle 0: all taken back.  What the daemon still keeps for this
         * client it does not hold (a lock lent to it and free in its
         * page; a grant whose reply was lost, which is sent again): let
         * go now, not at the end of the grace period with owner-died. */
        req = (struct sync__request){.op = OP_RECLAIM, .handle = 0};
        rv = sync__call_once(c, &req, &res, &gen);
        if (rv != SYNC_ECONN && rv != SYNC_ESHUTDOWN && rv != SYNC_ENOMEM)
            rv = 0;
    }
    free(v);
    free(got);
    return rv;
}

/* Put a new connection fd in place of the dead one (under c->mu). */
static void reconnect_swap(sync_client *c, int fd)
{
    /* Under write_mu too: a frame of a call on the old connection is
     * never written to the new one (client_write_all). */
    pthread_mutex_lock(&c->write_mu);
    if (c->fd >= 0)
        close(c->fd);
    c->fd = fd;
    c->conn_seq++;
    pthread_mutex_unlock(&c->write_mu);
    frame_decoder_fini(&c->reader);
    frame_decoder_init(&c->reader, 16u << 20);
    c->dead = 0;
}

/*
 * Reconnect c, whose connection generation gen failed, unless another
 * thread already did.  0 when a new connection is up and restored.
 */
int sync__reconnect(sync_client *c, uint64_t gen)
{
    int64_t deadline, delay = RECONNECT_FIRST_MS, left;
    int rv = SYNC_ECONN, fd;

    pthread_mutex_lock(&c->mu);
    while (c->reconnecting)
        pthread_cond_wait(&c->reconn_cv, &c->mu);
    if (c->gen != gen) {
        /* Another thread reconnected (or gave up) meanwhile. */
        rv = c->dead == 0 ? 0 : SYNC_ECONN;
        pthread_mutex_unlock(&c->mu);
        return rv;
    }
    if (c->closing) {
        pthread_mutex_unlock(&c->mu);
        return SYNC_ECONN;
    }
    /* A shutdown answer comes before the daemon closes: do not wait. */
    if (c->dead == 0)
        sync__client_fail(c, SYNC_ECONN);
    shutdown(c->fd, SHUT_RDWR);
    c->reconnecting = true;
    c->reconnector = pthread_self();
    /* The reader (if any) leaves read() on the dead socket first. */
    while (c->reader_busy)
        pthread_cond_wait(&c->reconn_cv, &c->mu);
    pthread_mutex_unlock(&c->mu);

    deadline = sync__now_us() + (int64_t)c->reconnect_ms * 1000;
    for (;;) {
        rv = sync__dial(c->path, &fd);
        if (rv == 0) {
            pthread_mutex_lock(&c->mu);
            reconnect_swap(c, fd);
            pthread_mutex_unlock(&c->mu);
            rv = sync__handshake(c);
            if (rv == 0)
                rv = reconnect_restore(c);
            if (rv != 0) {
                pthread_mutex_lock(&c->mu);
                if (c->dead == 0)
                    sync__client_fail(c, SYNC_ECONN);
                shutdown(c->fd, SHUT_RDWR);
                pthread_mutex_unlock(&c->mu);
            }
        }
        /* Only a daemon not there (yet) is worth another try. */
        if (rv == 0 || (rv != SYNC_ECONN && rv != SYNC_ESHUTDOWN))
            break;
        left = (deadline - sync__now_us()) / 1000;
        if (left <= 0 || __atomic_load_n(&c->closing, __ATOMIC_RELAXED))
            break;
        reconnect_sleep_ms(delay < left ? delay : left);
        delay = delay * 2 > RECONNECT_MAX_DELAY_MS ? RECONNECT_MAX_DELAY_MS
                                                   : delay * 2;
    }
    pthread_mutex_lock(&c->mu);
    c->reconnecting = false;
    c->gen++;
    if (rv != 0 && c->dead == 0)
        sync__client_fail(c, SYNC_ECONN);
    pthread_cond_broadcast(&c->reconn_cv);
    pthread_mutex_unlock(&c->mu);
    return rv;
}

/* Whether req may be sent again after a reconnect (it either did not
 * happen, or doing it twice is doing it once). */
static bool reconnect_may_resend(const struct sync__request *req)
{
    if (req->no_retry)
        return false;
    switch (req->op) {
    case OP_HELLO:
    case OP_RECLAIM:
    case OP_CANCEL:
        return false;
    default:
        return true;
    }
}

static bool reconnect_is_wait(enum wire_op op)
{
    return op == OP_ACQUIRE || op == OP_EVENT_WAIT || op == OP_COND_WAIT ||
           op == OP_BARRIER_WAIT;
}

int sync__reconnect_retry(sync_client *c, const struct sync__request *req,
                          struct sync__result *res, int rv, uint64_t gen,
                          int64_t t0_us)
{
    struct sync__request again, acq;
    uint32_t level;
    int64_t left;
    bool me;

    for (;;) {
        pthread_mutex_lock(&c->mu);
        me = c->reconnecting && pthread_equal(c->reconnector, pthread_self());
        pthread_mutex_unlock(&c->mu);
        /* The reconnector's own calls fail to it; SYNC_ESHUTDOWN ends a
         * wait only (other calls it answers were done). */
        if (me || !c->reconnect_on || c->forked ||
            (rv == SYNC_ESHUTDOWN && !reconnect_is_wait(req->op)))
            return rv;
        if (sync__reconnect(c, gen) != 0)
            return SYNC_ECONN;
        if (!reconnect_may_resend(req))
            return SYNC_ECONN;
        again = *req;
        if (req->timeout_us > 0) {
            left = req->timeout_us - (sync__now_us() - t0_us);
            again.timeout_us = left > 0 ? left : 0;
        }
        if (req->op == OP_COND_WAIT) {
            /* The wait had given the lock back: take it again first, as
             * a condition wait always returns holding it - as deep as it
             * was (an RLock), since the wait sent anew gives back and
             * takes again what is held then. */
            acq = (struct sync__request){.op = OP_ACQUIRE,
                                         .handle = req->handle,
                                         .thread = req->thread,
                                         .timeout_us = -1};
            rv = 0;
            for (level = 0; rv == 0 && level < (req->depth ? req->depth : 1);
                 level++)
                rv = sync__call_once(c, &acq, res, &gen);
            if (rv == SYNC_ECONN || rv == SYNC_ESHUTDOWN)
                continue;
            if (rv != 0)
                return rv;
            if (req->timeout_us > 0 && again.timeout_us == 0)
                return SYNC_ETIMEDOUT;
        } else if (req->timeout_us > 0 && again.timeout_us == 0 &&
                   reconnect_is_wait(req->op)) {
            return SYNC_ETIMEDOUT;
        }
        rv = sync__call_once(c, &again, res, &gen);
        if (rv != SYNC_ECONN && rv != SYNC_ESHUTDOWN)
            return rv;
    }
}
