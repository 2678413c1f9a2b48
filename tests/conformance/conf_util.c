/*
 * conf_util.c: run a scenario's workers as threads or as processes.
 */
#include "conf_util.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* What a worker leaves behind, in shared memory. */
struct conf_slot {
    atomic_int done; /* 1 once fn returned */
    int result;      /* fn's return value, or a connect error */
};

struct conf_thread_arg {
    struct conf_group *g;
    int idx;
};

struct conf_group {
    enum conf_mode mode;
    int n;
    sync_client *c;
    conf_fn fn;
    void *arg;
    struct conf_slot *slots; /* shared */
    pthread_t threads[CONF_MAX_WORKERS];
    struct conf_thread_arg targs[CONF_MAX_WORKERS];
    pid_t pids[CONF_MAX_WORKERS];
    bool reaped[CONF_MAX_WORKERS];
};

void *conf_shared(size_t size)
{
    return fx_shared(size);
}

sync_client *conf_connect(void)
{
    sync_client *c = NULL;

    cr_assert(eq(int, sync_connect(syncd_fx.sock, &c), 0));
    cr_assert(ne(ptr, c, NULL));
    return c;
}

int conf_wfail(const char *file, int line, const char *expr, long got,
               long want)
{
    fprintf(stderr, "worker (pid %d) check failed at %s:%d: %s is %ld, "
                    "expected %ld\n",
            (int)getpid(), file, line, expr, got, want);
    return line > 0 ? line : 1;
}

static void *conf_thread_main(void *p)
{
    struct conf_thread_arg *ta = p;
    struct conf_group *g = ta->g;

    g->slots[ta->idx].result = g->fn(g->c, ta->idx, g->arg);
    atomic_store(&g->slots[ta->idx].done, 1);
    return NULL;
}

static void conf_child_main(struct conf_group *g, int idx)
{
    sync_client *cc = NULL;
    int rv;

    /* Inherited across fork(): detached already, disconnect only frees. */
    sync_disconnect(g->c);
    rv = sync_connect(syncd_fx.sock, &cc);
    if (rv != 0) {
        fprintf(stderr, "worker %d: sync_connect: %s\n", idx,
                sync_errname(rv));
        g->slots[idx].result = rv;
        atomic_store(&g->slots[idx].done, 1);
        _exit(2);
    }
    g->slots[idx].result = g->fn(cc, idx, g->arg);
    atomic_store(&g->slots[idx].done, 1);
    sync_disconnect(cc);
    _exit(0);
}

struct conf_group *conf_spawn(enum conf_mode mode, sync_client *c, int n,
                              conf_fn fn, void *arg)
{
    struct conf_group *g = calloc(1, sizeof(*g));
    int i;

    cr_assert(ne(ptr, g, NULL));
    cr_assert(le(int, n, CONF_MAX_WORKERS));
    g->mode = mode;
    g->n = n;
    g->c = c;
    g->fn = fn;
    g->arg = arg;
    g->slots = conf_shared(sizeof(*g->slots) * (size_t)n);
    for (i = 0; i < n; i++) {
        if (mode == CONF_THREADS) {
            g->targs[i] = (struct conf_thread_arg){g, i};
            cr_assert(eq(int, pthread_create(&g->threads[i], NULL,
                                             conf_thread_main, &g->targs[i]),
                         0));
        } else {
            g->pids[i] = fx_fork();
            cr_assert(ge(int, g->pids[i], 0), "fork: %s", strerror(errno));
            if (g->pids[i] == 0)
                conf_child_main(g, i);
        }
    }
    return g;
}

pid_t conf_pid(const struct conf_group *g, int idx)
{
    cr_assert(eq(int, g->mode, CONF_PROCS));
    return g->pids[idx];
}

bool conf_done(const struct conf_group *g, int idx)
{
    return atomic_load(&g->slots[idx].done) != 0;
}

void conf_kill(struct conf_group *g, int idx)
{
    cr_assert(eq(int, g->mode, CONF_PROCS));
    cr_assert(eq(int, kill(g->pids[idx], SIGKILL), 0));
    cr_assert(eq(int, fx_waitpid(g->pids[idx], 5000), 128 + SIGKILL));
    g->reaped[idx] = true;
}

void conf_join(struct conf_group *g, int timeout_ms)
{
    double deadline = fx_now() + timeout_ms / 1000.0;
    struct timespec ts;
    double left;
    int i, code;

    for (i = 0; i < g->n; i++) {
        if (g->reaped[i])
            continue;
        left = deadline - fx_now();
        if (left < 0.001)
            left = 0.001;
        if (g->mode == CONF_THREADS) {
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += (time_t)left;
            ts.tv_nsec += (long)((left - (double)(time_t)left) * 1e9);
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            cr_assert(eq(int, pthread_timedjoin_np(g->threads[i], NULL, &ts),
                         0),
                      "worker thread %d did not finish in time", i);
        } else {
            code = fx_waitpid(g->pids[i], (int)(left * 1000.0) + 1);
            cr_assert(eq(int, code, 0), "worker process %d (pid %d) ended "
                                        "with %d (-1: hung, killed)",
                      i, (int)g->pids[i], code);
        }
        g->reaped[i] = true;
        cr_assert(eq(int, g->slots[i].result, 0),
                  "worker %d failed (result = line of its failed check)", i);
    }
    free(g);
}

void conf_chan_init(struct conf_chan *ch)
{
    int p[2];

    cr_assert(eq(int, pipe(p), 0));
    ch->r = p[0];
    ch->w = p[1];
}

void conf_chan_signal(const struct conf_chan *ch, int times)
{
    while (times-- > 0)
        fx_signal(ch->w);
}

int conf_chan_await(const struct conf_chan *ch, int timeout_ms)
{
    return fx_await(ch->r, timeout_ms);
}

void conf_chan_close(struct conf_chan *ch)
{
    close(ch->r);
    close(ch->w);
    ch->r = ch->w = -1;
}
