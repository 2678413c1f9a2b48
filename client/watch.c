/*
 * watch.c: a client that reconnects has one watcher thread, which notices
 * the daemon going away even while the program makes no call - a process
 * holding a lock through a long critical section, say - and reconnects at
 * once (reconnect.c), so that its holds are reclaimed within the restarted
 * daemon's grace period instead of passing to another process with
 * owner-died while it still believes it holds them.  It never reads the
 * socket (the caller threads do): it polls for the hangup only.
 */
#include <errno.h>
#include <poll.h>
#include <semaphore.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#include "internal.h"

/* Between two tries when a reconnect gave up, and the longest a poll
 * runs before it looks at the connection again (the descriptor may have
 * been replaced under it by a caller's reconnect). */
#define WATCH_RETRY_MS 1000
/* The watcher's stack: a poll, and a reconnect's restore calls. */
#define WATCH_STACK (256u * 1024u)

/* Wait until c's connection gen hangs up (true), or WATCH_RETRY_MS. */
static bool watch_hangup(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLRDHUP};
    int n;

    do
        n = poll(&p, 1, WATCH_RETRY_MS);
    while (n < 0 && errno == EINTR);
    return n > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL));
}

/* After a reconnect gave up: wait WATCH_RETRY_MS, or less when
 * sync_disconnect or a caller's reconnect wakes us; with no object open
 * (nothing to reclaim), until one of those (under c->mu). */
static void watch_pause(sync_client *c)
{
    struct timespec until;

    if (c->objects == NULL) {
        pthread_cond_wait(&c->reconn_cv, &c->mu);
        return;
    }

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += WATCH_RETRY_MS / 1000;
    until.tv_nsec += (long)(WATCH_RETRY_MS % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    (void)pthread_cond_timedwait(&c->reconn_cv, &c->mu, &until);
}

/* What sync__watch_start hands the watcher: it posts started once it
 * runs (arg is gone after that). */
struct watch_start {
    sync_client *c;
    sem_t started;
};

static void *watch_main(void *arg)
{
    struct watch_start *ws = arg;
    sync_client *c = ws->c;
    uint64_t gen;
    bool failed = false;
    int fd;

    sem_post(&ws->started);

    for (;;) {
        pthread_mutex_lock(&c->mu);
        while (c->reconnecting && !c->closing)
            pthread_cond_wait(&c->reconn_cv, &c->mu);
        if (c->closing) {
            pthread_mutex_unlock(&c->mu);
            return NULL;
        }
        fd = c->fd;
        gen = c->gen;
        pthread_mutex_unlock(&c->mu);
        /* After a reconnect that gave up (the daemon still away), try
         * again every WATCH_RETRY_MS: it may come back within the grace
         * period of what this client holds. */
        if (!failed && !watch_hangup(fd))
            continue;
        pthread_mutex_lock(&c->mu);
        if (failed && !c->closing)
            watch_pause(c);
        if (c->closing || c->gen != gen || c->fd != fd) {
            pthread_mutex_unlock(&c->mu);
            failed = false;
            continue; /* stopping, or a caller reconnected meanwhile */
        }
        pthread_mutex_unlock(&c->mu);
        failed = sync__reconnect(c, gen) != 0;
    }
}

int sync__watch_start(sync_client *c)
{
    struct watch_start ws = {.c = c};
    pthread_attr_t attr;
    sigset_t all, old;
    int rv;

    if (!c->reconnect_on)
        return 0;
    /* No signal is ever delivered to the watcher: a Ctrl-C must interrupt
     * the program's own blocked call (intr.c), not this poll. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    /* A small stack: a process may hold many connections. */
    pthread_attr_init(&attr);
    (void)pthread_attr_setstacksize(&attr, WATCH_STACK);
    if (sem_init(&ws.started, 0, 0) != 0) {
        pthread_attr_destroy(&attr);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        return SYNC_ENOMEM;
    }
    rv = pthread_create(&c->watcher, &attr, watch_main, &ws);
    pthread_attr_destroy(&attr);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    /* Return only once the watcher runs: a thread's start-up allocates
     * (its stack, TLS, a sanitizer's bookkeeping), and a program that
     * forks right after connecting must not catch it inside an allocator
     * that has no fork handlers (AddressSanitizer's has none): the child
     * would inherit that allocator's lock held, for ever. */
    while (rv == 0 && sem_wait(&ws.started) != 0 && errno == EINTR)
        ;
    sem_destroy(&ws.started);
    if (rv != 0)
        return SYNC_ENOMEM;
    c->watching = true;
    return 0;
}

void sync__watch_stop(sync_client *c)
{
    /* c->closing is set and the socket shut down: the watcher's poll
     * returns, or it is woken from its wait for a reconnect. */
    if (c->watching) {
        pthread_join(c->watcher, NULL);
        c->watching = false;
    }
}
