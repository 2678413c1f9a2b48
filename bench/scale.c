/*
 * scale.c: the scale workloads, syncd only.
 * S1: a child holds p->s1_clients connections; W2 runs meanwhile.
 * S2: p->s2_objects named Locks are created (open+close by several
 *     processes, threads sharing each one's connection); the daemon's VmRSS before and after gives bytes/object.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "syncbench.h"
#include "syncclient.h"

struct hold {
    _Atomic int state; /* 1 connected, -1 failed, 2 release */
    int connected;
    int err;
    double secs;
};

void run_s1(const char *endpoint, const struct bparams *p,
            struct bresult *r)
{
    struct hold *h = shared_alloc(sizeof(*h));
    pid_t pid = fork();

    memset(r, 0, sizeof(*r));
    if (pid == 0) {
        sync_client **cs = calloc((size_t)p->s1_clients, sizeof(*cs));
        double t0 = now_us();

        for (int i = 0; i < p->s1_clients; i++) {
            int rv = sync_connect(endpoint, &cs[i]);

            if (rv != 0) {
                h->err = rv;
                atomic_store(&h->state, -1);
                _exit(1);
            }
            h->connected = i + 1;
        }
        h->secs = (now_us() - t0) / 1e6;
        atomic_store(&h->state, 1);
        while (atomic_load(&h->state) != 2)
            usleep(10 * 1000);
        _exit(0); /* the daemon sees them all go at once */
    }
    while (atomic_load(&h->state) == 0)
        usleep(10 * 1000);
    if (atomic_load(&h->state) < 0) {
        snprintf(r->note, sizeof(r->note),
                 "FAILED after %d clients: %s", h->connected,
                 sync_strerror(h->err));
    } else {
        run_workload(W2, &bsys_syncd, endpoint, p, r);
        free(r->samples);
        r->samples = NULL;
        snprintf(r->note + strlen(r->note), sizeof(r->note) - strlen(r->note),
                 "; %d idle clients connected in %.2f s", h->connected,
                 h->secs);
    }
    atomic_store(&h->state, 2);
    waitpid(pid, NULL, 0);
    shared_free(h, sizeof(*h));
    usleep(200 * 1000); /* let the daemon drop them before what follows */
}

static long rss_kb(pid_t pid)
{
    char path[64], line[256];
    long kb = -1;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    if ((f = fopen(path, "r")) == NULL)
        return -1;
    while (fgets(line, sizeof(line), f) != NULL)
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

/* S2 creates through S2_PROCS processes with S2_THREADS threads each on
 * the process's one connection: every thread keeps one open in flight, so
 * the daemon reads requests in batches and answers with coalesced writes
 * (a single thread would measure round-trip latency, not memory, for
 * minutes). */
#define S2_PROCS 4
#define S2_THREADS 8

struct s2_state { /* shared by every process */
    _Atomic int next;
    int total;
    _Atomic int err;
};

struct s2_conn {
    struct s2_state *st;
    sync_client *c;
};

static void *s2_thread(void *arg)
{
    struct s2_conn *sc = arg;
    struct s2_state *st = sc->st;
    char name[64];
    int i;

    while ((i = atomic_fetch_add(&st->next, 1)) < st->total &&
           atomic_load(&st->err) == 0) {
        sync_lock *l;
        int rv;

        snprintf(name, sizeof(name), "s2/object-%08d", i);
        if ((rv = sync_lock_open(sc->c, name, &l)) != 0) {
            atomic_store(&st->err, rv);
            break;
        }
        sync_lock_close(l);
    }
    return NULL;
}

static void s2_process(const char *endpoint, struct s2_state *st)
{
    struct s2_conn sc = {.st = st};
    pthread_t th[S2_THREADS];
    int rv = sync_connect(endpoint, &sc.c);

    if (rv != 0) {
        atomic_store(&st->err, rv);
        _exit(1);
    }
    for (int i = 0; i < S2_THREADS; i++)
        pthread_create(&th[i], NULL, s2_thread, &sc);
    for (int i = 0; i < S2_THREADS; i++)
        pthread_join(th[i], NULL);
    sync_disconnect(sc.c);
    _exit(0);
}

void run_s2(const char *endpoint, pid_t daemon_pid, const struct bparams *p,
            struct bresult *r, double *rss_mb)
{
    struct s2_state *st = shared_alloc(sizeof(*st));
    pid_t pids[S2_PROCS];
    long before, after;
    double t0, secs;

    memset(r, 0, sizeof(*r));
    r->unit = "B/object";
    *rss_mb = NAN;
    st->total = p->s2_objects;
    before = rss_kb(daemon_pid);
    t0 = now_us();
    for (int i = 0; i < S2_PROCS; i++)
        if ((pids[i] = fork()) == 0)
            s2_process(endpoint, st);
    for (int i = 0; i < S2_PROCS; i++)
        waitpid(pids[i], NULL, 0);
    secs = (now_us() - t0) / 1e6;
    usleep(100 * 1000);
    after = rss_kb(daemon_pid);
    if (st->err != 0 || before < 0 || after < 0) {
        snprintf(r->note, sizeof(r->note), "FAILED: %s",
                 st->err ? sync_strerror(st->err) : "no /proc VmRSS");
    } else {
        r->valid = true;
        r->median = (double)(after - before) * 1024.0 / p->s2_objects;
        r->p99 = NAN;
        *rss_mb = (double)after / 1024.0;
        snprintf(r->note, sizeof(r->note),
                 "%d objects created in %.1f s (%.1f us each; %d processes "
                 "x %d threads); VmRSS %.1f -> %.1f MiB", p->s2_objects,
                 secs, secs * 1e6 / p->s2_objects, S2_PROCS, S2_THREADS,
                 before / 1024.0, after / 1024.0);
    }
    shared_free(st, sizeof(*st));
}
