/*
 * workloads.c: W1..W5 written once against struct bsys, S1 and S2 against
 * syncd.  Every client runs in a forked child process (so the orchestrating
 * process never holds a connection across fork); children report through
 * shared anonymous mappings and meet at process-shared barriers.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "syncbench.h"
#include "syncclient.h"

const char *const wl_names[WL_COUNT] = {"W1", "W2", "W3", "W3x64", "W4",
                                        "W5", "S1", "S2"};

/* What every child of one workload run shares with the parent. */
struct wshared {
    pthread_barrier_t bar;
    _Atomic int failed;
    _Atomic unsigned ready, done;
    uint64_t ops[128];    /* W3: per process, counted in the window */
    uint64_t allops[128]; /* W3: per process, every critical section */
    volatile uint64_t counter; /* W3: touched under the lock */
    volatile uint64_t touch[8];
    double t_start, t_end, t_set;
    char err[120];
};

static struct wshared *sh;

/* Repetition -1 is the warm-up, unless the caller skips it. */
#define FIRST_REP (P->no_warmup ? 0 : -1)
static const struct bsys *S;
static const char *EP;
static const struct bparams *P;

static void child_fail(const char *what, int rv)
{
    if (atomic_fetch_add(&sh->failed, 1) == 0)
        snprintf(sh->err, sizeof(sh->err), "%s %s: %d (%s)", S->name, what,
                 rv, S->id == SYS_SYNCD ? sync_strerror(rv) : strerror(-rv));
    _exit(1);
}

#define CHECK(what, expr)                                                  \
    do {                                                                   \
        int rv_ = (expr);                                                  \
        if (rv_ != 0)                                                      \
            child_fail(what, rv_);                                         \
    } while (0)

static pid_t spawn(void (*fn)(int), int arg)
{
    pid_t pid = fork();

    if (pid < 0)
        bdie("fork: %s", strerror(errno));
    if (pid == 0) {
        fn(arg);
        _exit(0);
    }
    return pid;
}

/* Wait for the children; one that died without reporting (a crash, a
 * signal) fails the run instead of leaving zeros among the samples. */
static void reap(pid_t *pids, int n)
{
    for (int i = 0; i < n; i++) {
        int st = 0;

        waitpid(pids[i], &st, 0);
        if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0) &&
            atomic_fetch_add(&sh->failed, 1) == 0)
            snprintf(sh->err, sizeof(sh->err), "%s: a child process %s %d",
                     S->name, WIFSIGNALED(st) ? "died of signal" : "exited",
                     WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
    }
}

static void barrier_init(unsigned n)
{
    pthread_barrierattr_t a;

    pthread_barrierattr_init(&a);
    pthread_barrierattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
    pthread_barrier_init(&sh->bar, &a, n);
    pthread_barrierattr_destroy(&a);
}

static void bar(void)
{
    pthread_barrier_wait(&sh->bar);
}

/* Keep a heap copy of n values in r (its raw material). */
static void keep_samples(struct bresult *r, const double *v, size_t n)
{
    r->samples = malloc(n * sizeof(*v));
    if (r->samples == NULL)
        bdie("out of memory keeping %zu samples", n);
    memcpy(r->samples, v, n * sizeof(*v));
    r->n_samples = n;
}

/* ---- W1 / W5: one process, per-op latency ------------------------------ */

/*
 * W1, W2 and W5 can measure two systems in one run: the same processes
 * connect to both and take turns, PAIR_BLOCK operations each, so the two
 * see the same machine at the same moment (on a shared VM the noise of one
 * second to the next is larger than the difference being measured).
 */
#define PAIR_BLOCK 10

static const struct bsys *SYS[2];
static const char *EPS[2];
static int NSYS;
static double *SAMPLES[2];

static void w1_child(int w5)
{
    bconn *c[2];
    bobj *l[2] = {NULL, NULL};
    int n = w5 ? P->w5_pairs : P->w1_pairs, warm = n / 5 + 10;

    for (int k = 0; k < NSYS; k++) {
        S = SYS[k]; /* errors name the system at fault */
        CHECK("connect", S->connect(EPS[k], &c[k]));
        if (!w5)
            CHECK("lock_open", S->lock_open(c[k], "w1/lock", &l[k]));
    }
    for (int r = FIRST_REP; r < P->reps; r++) {
        int cnt = r < 0 ? warm : n;

        for (int i0 = 0; i0 < cnt; i0 += PAIR_BLOCK) {
            for (int k = 0; k < NSYS; k++) {
                S = SYS[k];
                for (int i = i0; i < cnt && i < i0 + PAIR_BLOCK; i++) {
                    double t0 = now_us();

                    if (w5) {
                        CHECK("open_close", S->open_close(c[k], "w5/obj"));
                    } else {
                        CHECK("acquire", S->acquire(l[k]));
                        CHECK("release", S->release(l[k]));
                    }
                    if (r >= 0)
                        SAMPLES[k][(size_t)r * n + i] = now_us() - t0;
                }
            }
        }
    }
    for (int k = 0; k < NSYS; k++) {
        S = SYS[k];
        if (l[k] != NULL)
            S->close(l[k]);
        S->disconnect(c[k]);
    }
}

/* ---- W2: ping-pong ------------------------------------------------------ */

/* Both roles follow the same schedule of turns, so they always meet on
 * the same system. */
static void w2_child(int role)
{
    bconn *c[2];
    bobj *a[2], *b[2];
    int n = P->w2_rounds, warm = n / 5 + 10;

    for (int k = 0; k < NSYS; k++) {
        S = SYS[k];
        CHECK("connect", S->connect(EPS[k], &c[k]));
        CHECK("sem_open a", S->sem_open(c[k], "w2/a", 0, &a[k]));
        CHECK("sem_open b", S->sem_open(c[k], "w2/b", 0, &b[k]));
    }
    bar();
    for (int r = FIRST_REP; r < P->reps; r++) {
        int cnt = r < 0 ? warm : n;

        for (int i0 = 0; i0 < cnt; i0 += PAIR_BLOCK) {
            for (int k = 0; k < NSYS; k++) {
                S = SYS[k];
                for (int i = i0; i < cnt && i < i0 + PAIR_BLOCK; i++) {
                    if (role == 0) {
                        double t0 = now_us();

                        CHECK("release a", S->release(a[k]));
                        CHECK("acquire b", S->acquire(b[k]));
                        if (r >= 0)
                            SAMPLES[k][(size_t)r * n + i] = now_us() - t0;
                    } else {
                        CHECK("acquire a", S->acquire(a[k]));
                        CHECK("release b", S->release(b[k]));
                    }
                }
            }
        }
    }
    for (int k = 0; k < NSYS; k++) {
        S = SYS[k];
        S->close(a[k]);
        S->close(b[k]);
        S->disconnect(c[k]);
    }
}

/* ---- W3: contended throughput ----------------------------------------- */

static int w3_procs;

static void w3_child(int idx)
{
    bconn *c;
    bobj *l;

    CHECK("connect", S->connect(EP, &c));
    CHECK("lock_open", S->lock_open(c, "w3/lock", &l));
    bar(); /* every process connected before any window or CPU reading */
    for (int r = FIRST_REP; r < P->reps; r++) {
        uint64_t counted = 0;
        double t;

        bar(); /* parent sets t_start/t_end before this */
        do {
            CHECK("acquire", S->acquire(l));
            sh->counter = sh->counter + 1; /* torn if exclusion fails */
            sh->touch[idx & 7]++;
            sh->allops[idx]++;
            CHECK("release", S->release(l));
            t = now_us();
            if (t >= sh->t_start && t <= sh->t_end)
                counted++;
        } while (t < sh->t_end);
        if (r >= 0)
            sh->ops[idx] = counted;
        atomic_fetch_add(&sh->done, 1);
        bar(); /* parent collects */
    }
    S->close(l);
    S->disconnect(c);
}

/* ---- W4: broadcast -------------------------------------------------------- */

static double *stamps;

struct w4_thread {
    bobj *ev;
    int slot;
};

static void *w4_thread_fn(void *arg)
{
    struct w4_thread *t = arg;

    atomic_fetch_add(&sh->ready, 1);
    CHECK("event_wait", S->wait(t->ev));
    stamps[t->slot] = now_us();
    atomic_fetch_add(&sh->done, 1);
    return NULL;
}

static void w4_child(int proc)
{
    int nt = P->w4_threads;
    pthread_t *th = calloc((size_t)nt, sizeof(*th));
    struct w4_thread *ts = calloc((size_t)nt, sizeof(*ts));
    pthread_attr_t at;
    bconn *c;
    bobj *ev;

    CHECK("connect", S->connect(EP, &c));
    CHECK("event_open", S->event_open(c, "w4/ev", &ev));
    pthread_attr_init(&at);
    pthread_attr_setstacksize(&at, 128 * 1024);
    for (int i = 0; i < nt; i++) {
        ts[i].ev = ev;
        ts[i].slot = proc * nt + i;
        int e = pthread_create(&th[i], &at, w4_thread_fn, &ts[i]);

        if (e != 0)
            child_fail("pthread_create", -e);
    }
    for (int i = 0; i < nt; i++)
        pthread_join(th[i], NULL);
    S->close(ev);
    S->disconnect(c);
}

static void w4_setter(int n)
{
    bconn *c;
    bobj *ev;

    CHECK("connect", S->connect(EP, &c));
    CHECK("event_open", S->event_open(c, "w4/ev", &ev));
    while (atomic_load(&sh->ready) < (unsigned)n && !sh->failed)
        usleep(1000);
    usleep(100 * 1000); /* let the last waits reach the server */
    sh->t_set = now_us();
    CHECK("event_set", S->set(ev, (unsigned)n));
    while (atomic_load(&sh->done) < (unsigned)n && !sh->failed)
        usleep(1000);
    CHECK("event_clear", S->clear(ev));
    S->close(ev);
    S->disconnect(c);
}

static void run_w4(struct bresult *r)
{
    int np = P->w4_procs, n = np * P->w4_threads;
    double *lat = calloc((size_t)P->reps, sizeof(double));
    pid_t *pids = calloc((size_t)np + 1, sizeof(pid_t));

    stamps = shared_alloc((size_t)n * sizeof(double));
    for (int rep = FIRST_REP; rep < P->reps && !sh->failed; rep++) {
        double last = 0;

        atomic_store(&sh->ready, 0);
        atomic_store(&sh->done, 0);
        for (int i = 0; i < np; i++)
            pids[i] = spawn(w4_child, i);
        pids[np] = spawn(w4_setter, n);
        reap(pids, np + 1);
        for (int i = 0; i < n; i++)
            if (stamps[i] > last)
                last = stamps[i];
        if (rep >= 0)
            lat[rep] = last - sh->t_set;
    }
    if (!sh->failed) {
        keep_samples(r, lat, (size_t)P->reps);
        r->median = quantile(lat, (size_t)P->reps, 0.5);
        r->p99 = quantile(lat, (size_t)P->reps, 0.99);
        snprintf(r->note, sizeof(r->note), "%d waiters in %d processes",
                 n, np);
    }
    shared_free(stamps, (size_t)n * sizeof(double));
    free(lat);
    free(pids);
}

/* ---- driver -------------------------------------------------------------- */


static void run_w3(struct bresult *r)
{
    int np = w3_procs;
    pid_t *pids = calloc((size_t)np, sizeof(pid_t));
    double *tput = calloc((size_t)P->reps, sizeof(double));
    uint64_t total = 0, before = sh->counter, measured_ops = 0;
    double cpu0 = -1, cpu1 = -1, ut0 = 0, st0 = 0, ut1 = 0, st1 = 0;

    barrier_init((unsigned)np + 1);
    for (int i = 0; i < np; i++)
        pids[i] = spawn(w3_child, i);
    bar(); /* connections are set up outside the measured windows */
    for (int rep = FIRST_REP; rep < P->reps; rep++) {
        double secs = rep < 0 ? P->w3_seconds / 2 : P->w3_seconds;
        uint64_t ops = 0;

        atomic_store(&sh->done, 0);
        memset((void *)sh->ops, 0, sizeof(sh->ops));
        sh->t_start = now_us() + 20e3; /* let every process get going */
        sh->t_end = sh->t_start + secs * 1e6;
        /* The children wait at the barrier: allops is still. */
        if (rep == 0) {
            cpu0 = bench_server_pid > 0 ? proc_cpu_ns(bench_server_pid) : -1;
            if (cpu0 >= 0 && proc_cpu_ticks(bench_server_pid, &ut0, &st0))
                cpu0 = -1;
            for (int i = 0; i < np; i++)
                measured_ops -= sh->allops[i];
        }
        bar();
        bar();
        for (int i = 0; i < np; i++)
            ops += sh->ops[i];
        if (rep >= 0)
            tput[rep] = (double)ops / secs;
    }
    if (cpu0 >= 0) {
        cpu1 = proc_cpu_ns(bench_server_pid);
        if (proc_cpu_ticks(bench_server_pid, &ut1, &st1) != 0)
            cpu1 = -1;
    }
    for (int i = 0; i < np; i++)
        total += sh->allops[i];
    measured_ops += total;
    reap(pids, np);
    r->throughput = true;
    /* Every critical section of the measured repetitions (their ramp-up
     * too) against the server's CPU over exactly those repetitions. */
    if (cpu0 >= 0 && cpu1 >= cpu0 && measured_ops > 0) {
        r->cpu_ns = cpu1 - cpu0;
        r->cpu_ops = (double)measured_ops;
        r->user_ticks = ut1 - ut0;
        r->sys_ticks = st1 - st0;
    }
    keep_samples(r, tput, (size_t)P->reps);
    r->median = quantile(tput, (size_t)P->reps, 0.5);
    r->p99 = quantile(tput, (size_t)P->reps, 0.01);
    snprintf(r->note, sizeof(r->note), "%d processes; shared counter %s",
             np, sh->failed ? "n/a" : sh->counter - before == total
                 ? "consistent" : "INCONSISTENT: mutual exclusion broken");
    free(pids);
    free(tput);
}

void run_workload_pair(enum wl_id w, const struct bsys *const sys[2],
                       const char *const endpoint[2],
                       const struct bparams *p, struct bresult r[2])
{
    int nsys = sys[1] != NULL ? 2 : 1;
    size_t n = 0;

    for (int k = 0; k < nsys; k++) {
        memset(&r[k], 0, sizeof(r[k]));
        r[k].server_cpu_us = NAN;
        r[k].server_user_pct = NAN;
        r[k].unit = "us";
        SYS[k] = sys[k];
        EPS[k] = endpoint[k];
    }
    NSYS = nsys;
    S = sys[0];
    EP = endpoint[0];
    P = p;
    sh = shared_alloc(sizeof(*sh));
    if (w == W1 || w == W5 || w == W2) {
        int per = w == W1 ? p->w1_pairs : w == W5 ? p->w5_pairs
                                                  : p->w2_rounds;
        pid_t pids[2];

        n = (size_t)per * (size_t)p->reps;
        for (int k = 0; k < nsys; k++)
            SAMPLES[k] = shared_alloc(n * sizeof(double));
        if (w == W1 || w == W5) {
            pids[0] = spawn(w1_child, w == W5);
            reap(pids, 1);
        } else {
            barrier_init(2);
            pids[0] = spawn(w2_child, 0);
            pids[1] = spawn(w2_child, 1);
            reap(pids, 2);
        }
        for (int k = 0; k < nsys; k++) {
            if (!sh->failed) {
                keep_samples(&r[k], SAMPLES[k], n);
                r[k].median = quantile(SAMPLES[k], n, 0.5);
                r[k].p99 = quantile(SAMPLES[k], n, 0.99);
                snprintf(r[k].note, sizeof(r[k].note), "%zu samples", n);
            }
            shared_free(SAMPLES[k], n * sizeof(double));
        }
    } else if (nsys == 1 && (w == W3 || w == W3_64)) {
        w3_procs = w == W3 ? 4 : 64;
        run_w3(&r[0]);
        r[0].unit = "ops/s";
    } else if (nsys == 1 && w == W4) {
        run_w4(&r[0]);
    } else {
        bdie("workload %s cannot run two systems at once", wl_names[w]);
    }
    for (int k = 0; k < nsys; k++) {
        if (sh->failed)
            snprintf(r[k].note, sizeof(r[k].note), "FAILED: %s", sh->err);
        else
            r[k].valid = true;
    }
    shared_free(sh, sizeof(*sh));
}

void run_workload(enum wl_id w, const struct bsys *sys, const char *endpoint,
                  const struct bparams *p, struct bresult *r)
{
    const struct bsys *const one[2] = {sys, NULL};
    const char *const ep[2] = {endpoint, NULL};

    run_workload_pair(w, one, ep, p, r);
}
