/*
 * cachebench: lock caching measured against its references in one run
 * (bench/README.md, "Lock caching").  It starts two daemons built with it,
 * one lending locks (the default) and one with --lock-cache off, and takes
 * turns between the systems repetition by repetition, so a slow spell of
 * the shared machine hits all alike:
 *   W1   one process, acquire + release of an uncontended Lock: syncd with
 *        caching, the robust process-shared pthread mutex pair, flock(2)
 *        on a file, syncd without caching (ns per pair);
 *   W1b  two processes taking turns in bursts of 100 acquisitions of one
 *        Lock (ns per acquire + release, over both processes);
 *   W2   cross-process handoff through two semaphores (µs per round trip);
 *   W3   4 processes contending for one Lock, W3x64 64 (ops/s), each
 *        critical section checked for mutual exclusion.
 * Prints a Markdown table and the goals, met or missed.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "syncclient.h"

#ifndef SYNCD_BIN
#define SYNCD_BIN "syncd"
#endif

enum { ON, OFF, SHM, FLK, NSYS };
static const char *const sys_name[NSYS] = {
    "syncd, caching on", "syncd, caching off", "robust pshared mutex",
    "flock(2)"};
static char dir[64], sock[2][128];
static pid_t daemon_pid[2];

struct shared {
    pthread_mutex_t mu;       /* robust, process-shared */
    atomic_int turn;          /* W1b: whose burst */
    atomic_int inside;        /* W3: in the critical section */
    atomic_int violations;
    atomic_int ready, go;
    atomic_ullong ops;
    atomic_int stop;
    double t0, t1;
};
static struct shared *sh;

static double now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void die(const char *what)
{
    fprintf(stderr, "cachebench: %s\n", what);
    exit(1);
}

static void start_daemon(int i)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int tries, fd;

    snprintf(sock[i], sizeof(sock[i]), "%s/%s.sock", dir, i == ON ? "on" : "off");
    if ((daemon_pid[i] = fork()) == 0) {
        execl(SYNCD_BIN, SYNCD_BIN, "--socket", sock[i], "--quiet",
              "--lock-cache", i == ON ? "on" : "off", (char *)NULL);
        _exit(127);
    }
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock[i]);
    for (tries = 0; tries < 500; tries++) {
        fd = socket(AF_UNIX, SOCK_STREAM, 0);
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
            close(fd);
            return;
        }
        close(fd);
        usleep(10000);
    }
    die("a daemon did not start");
}

static void stop_daemons(void)
{
    for (int i = 0; i < 2; i++)
        if (daemon_pid[i] > 0) {
            kill(daemon_pid[i], SIGTERM);
            waitpid(daemon_pid[i], NULL, 0);
            unlink(sock[i]);
        }
    snprintf(sock[0], sizeof(sock[0]), "%s/flock", dir);
    unlink(sock[0]);
    rmdir(dir);
}

/* A lock of system s in this process. */
struct lk {
    int s;
    sync_client *c;
    sync_lock *l;
    int fd; /* flock */
};

static void lk_open(struct lk *k, int s, const char *name)
{
    char path[160];

    k->s = s;
    if (s == SHM)
        return;
    if (s == FLK) {
        snprintf(path, sizeof(path), "%s/flock", dir);
        if ((k->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0)
            die("open the flock file");
        return;
    }
    if (sync_connect(sock[s], &k->c) != 0 || sync_lock_open(k->c, name, &k->l) != 0)
        die("connect/open");
}

static void lk_acquire(struct lk *k)
{
    if (k->s == SHM) {
        if (pthread_mutex_lock(&sh->mu) == EOWNERDEAD)
            pthread_mutex_consistent(&sh->mu);
    } else if (k->s == FLK) {
        if (flock(k->fd, LOCK_EX) != 0)
            die("flock");
    } else if (sync_lock_acquire(k->l, true, -1) != 0) {
        die("acquire");
    }
}

static void lk_release(struct lk *k)
{
    if (k->s == SHM)
        pthread_mutex_unlock(&sh->mu);
    else if (k->s == FLK)
        flock(k->fd, LOCK_UN);
    else if (sync_lock_release(k->l) != 0)
        die("release");
}

static void lk_close(struct lk *k)
{
    if (k->s == FLK)
        close(k->fd);
    if (k->s == SHM || k->s == FLK)
        return;
    sync_lock_close(k->l);
    sync_disconnect(k->c);
}

/* W1: ns per acquire + release pair, in this process. */
static double w1(int s, int pairs)
{
    struct lk k;
    double t;

    lk_open(&k, s, "bench/w1");
    for (int i = 0; i < 100; i++) { /* warm: the lock gets lent */
        lk_acquire(&k);
        lk_release(&k);
    }
    t = now_ns();
    for (int i = 0; i < pairs; i++) {
        lk_acquire(&k);
        lk_release(&k);
    }
    t = (now_ns() - t) / pairs;
    lk_close(&k);
    return t;
}

/* W1b: two processes, bursts of 100 acquisitions each in turn. */
static double w1b(int s, int bursts)
{
    pid_t pid[2];

    atomic_store(&sh->turn, 0);
    atomic_store(&sh->ready, 0);
    atomic_store(&sh->violations, 0);
    for (int p = 0; p < 2; p++) {
        if ((pid[p] = fork()) == 0) {
            struct lk k;

            lk_open(&k, s, "bench/w1b");
            atomic_fetch_add(&sh->ready, 1);
            while (atomic_load(&sh->ready) < 2)
                sched_yield();
            if (p == 0)
                sh->t0 = now_ns();
            for (int b = 0; b < bursts; b++) {
                while (atomic_load(&sh->turn) != p)
                    sched_yield();
                for (int i = 0; i < 100; i++) {
                    lk_acquire(&k);
                    if (atomic_fetch_add(&sh->inside, 1) != 0)
                        atomic_fetch_add(&sh->violations, 1);
                    atomic_fetch_sub(&sh->inside, 1);
                    lk_release(&k);
                }
                atomic_store(&sh->turn, 1 - p);
            }
            if (p == 1)
                sh->t1 = now_ns();
            lk_close(&k);
            _exit(0);
        }
    }
    for (int p = 0; p < 2; p++)
        waitpid(pid[p], NULL, 0);
    if (atomic_load(&sh->violations) != 0)
        die("W1b: mutual exclusion violated");
    return (sh->t1 - sh->t0) / (2.0 * bursts * 100);
}

/* W2: µs per round trip of a semaphore handoff between two processes. */
static double w2(int s, int rounds)
{
    pid_t pid;
    sync_client *c;
    sync_sem *a, *b;
    double t;

    if ((pid = fork()) == 0) {
        if (sync_connect(sock[s], &c) != 0 ||
            sync_sem_open(c, "bench/w2a", 0, &a) != 0 ||
            sync_sem_open(c, "bench/w2b", 0, &b) != 0)
            _exit(2);
        for (int i = 0; i < rounds; i++)
            if (sync_sem_acquire(a, true, -1) != 0 || sync_sem_release(b, 1) != 0)
                _exit(3);
        _exit(0);
    }
    if (sync_connect(sock[s], &c) != 0 ||
        sync_sem_open(c, "bench/w2a", 0, &a) != 0 ||
        sync_sem_open(c, "bench/w2b", 0, &b) != 0)
        die("w2 open");
    t = now_ns();
    for (int i = 0; i < rounds; i++)
        if (sync_sem_release(a, 1) != 0 || sync_sem_acquire(b, true, -1) != 0)
            die("w2");
    t = (now_ns() - t) / rounds / 1e3;
    waitpid(pid, NULL, 0);
    sync_sem_close(a);
    sync_sem_close(b);
    sync_disconnect(c);
    return t;
}

/* W3: n processes contending for one Lock for `secs`; ops/s. */
static double w3(int s, int n, double secs)
{
    pid_t *pid = calloc((size_t)n, sizeof(*pid));
    double t;

    atomic_store(&sh->ready, 0);
    atomic_store(&sh->go, 0);
    atomic_store(&sh->stop, 0);
    atomic_store(&sh->ops, 0);
    atomic_store(&sh->violations, 0);
    for (int p = 0; p < n; p++) {
        if ((pid[p] = fork()) == 0) {
            struct lk k;
            unsigned long long mine = 0;

            lk_open(&k, s, "bench/w3");
            atomic_fetch_add(&sh->ready, 1);
            while (!atomic_load(&sh->go))
                usleep(1000);
            while (!atomic_load(&sh->stop)) {
                lk_acquire(&k);
                if (atomic_fetch_add(&sh->inside, 1) != 0)
                    atomic_fetch_add(&sh->violations, 1);
                atomic_fetch_sub(&sh->inside, 1);
                lk_release(&k);
                mine++;
            }
            atomic_fetch_add(&sh->ops, mine);
            lk_close(&k);
            _exit(0);
        }
    }
    while (atomic_load(&sh->ready) < n)
        usleep(1000);
    t = now_ns();
    atomic_store(&sh->go, 1);
    usleep((useconds_t)(secs * 1e6));
    atomic_store(&sh->stop, 1);
    t = now_ns() - t;
    for (int p = 0; p < n; p++)
        waitpid(pid[p], NULL, 0);
    free(pid);
    if (atomic_load(&sh->violations) != 0)
        die("W3: mutual exclusion violated");
    return (double)atomic_load(&sh->ops) / (t / 1e9);
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), cmp);
    return v[n / 2];
}

#define REPS_MAX 64

int main(int argc, char **argv)
{
    int reps = 7, w1_pairs = 200000, bursts = 200, w2_rounds = 2000;
    double w3_secs = 0.5;
    static double v[6][NSYS][REPS_MAX];
    double m[6][NSYS];
    pthread_mutexattr_t a;
    const char *wl[5] = {"W1", "W1b", "W2", "W3", "W3x64"};

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            reps = 3, w1_pairs = 20000, bursts = 20, w2_rounds = 200;
            w3_secs = 0.2;
        } else if (strcmp(argv[i], "--w1b-at") == 0 && i + 2 < argc) {
            /* W1b alone against a daemon already running at SOCKET (for
             * a profile of the daemon, e.g. under callgrind). */
            snprintf(sock[ON], sizeof(sock[ON]), "%s", argv[i + 1]);
            sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
                      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
            if (sh == MAP_FAILED)
                die("mmap");
            printf("W1b: %.1f ns per pair\n", w1b(ON, atoi(argv[i + 2])));
            return 0;
        } else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc) {
            reps = atoi(argv[++i]);
        } else {
            fprintf(stderr, "usage: cachebench [--quick] [--reps N] | --w1b-at SOCKET BURSTS\n"
                            "Lock caching against its references; "
                            "see bench/README.md.\n");
            return strcmp(argv[i], "--help") == 0 ? 0 : 2;
        }
    }
    if (reps < 1 || reps > REPS_MAX)
        die("--reps: 1..64");
    sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
              MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (sh == MAP_FAILED)
        die("mmap");
    pthread_mutexattr_init(&a);
    pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
    pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
    pthread_mutex_init(&sh->mu, &a);
    snprintf(dir, sizeof(dir), "/tmp/cachebench.XXXXXX");
    if (mkdtemp(dir) == NULL)
        die("mkdtemp");
    start_daemon(ON);
    start_daemon(OFF);
    for (int r = 0; r < reps; r++) {
        for (int s = 0; s < NSYS; s++) {
            v[0][s][r] = w1(s, s == OFF ? w1_pairs / 100 : w1_pairs);
            if (s == SHM || s == FLK)
                continue;
            v[1][s][r] = w1b(s, bursts);
            v[2][s][r] = w2(s, w2_rounds);
            v[3][s][r] = w3(s, 4, w3_secs);
            v[4][s][r] = w3(s, 64, w3_secs);
        }
        fprintf(stderr, "rep %d/%d: W1 %.0f / %.0f / %.0f / %.0f ns\n",
                r + 1, reps, v[0][ON][r], v[0][OFF][r], v[0][SHM][r],
                v[0][FLK][r]);
    }
    stop_daemons();
    for (int w = 0; w < 5; w++)
        for (int s = 0; s < NSYS; s++)
            m[w][s] = w == 0 || s < SHM ? median(v[w][s], reps) : NAN;
    printf("| workload | %s | %s | %s | %s | unit |\n"
           "|---|--:|--:|--:|--:|---|\n",
           sys_name[ON], sys_name[OFF], sys_name[SHM], sys_name[FLK]);
    for (int w = 0; w < 5; w++) {
        char shm[32] = "-", flk[32] = "-";

        if (w == 0) {
            snprintf(shm, sizeof(shm), "%.2f", m[0][SHM]);
            snprintf(flk, sizeof(flk), "%.2f", m[0][FLK]);
        }
        printf("| %s | %.*f | %.*f | %s | %s | %s |\n", wl[w],
               w >= 3 ? 0 : 2, m[w][ON], w >= 3 ? 0 : 2, m[w][OFF], shm, flk,
               w <= 1   ? "ns per acquire+release"
               : w == 2 ? "us per round trip"
                        : "ops/s");
    }
    printf("\nMedians of %d repetitions, the systems taking turns.\n\n",
           reps);
    printf("| goal | value | |\n|---|--:|---|\n");
    printf("| W1 caching on, x robust mutex pair: <= 3x | %.2fx | %s |\n",
           m[0][ON] / m[0][SHM], m[0][ON] / m[0][SHM] <= 3 ? "met" : "missed");
    printf("| W1 caching on: <= 100 ns per pair | %.1f ns | %s |\n", m[0][ON],
           m[0][ON] <= 100 ? "met" : "missed");
    printf("| W1b caching off / on: >= 10x faster | %.1fx | %s |\n",
           m[1][OFF] / m[1][ON], m[1][OFF] / m[1][ON] >= 10 ? "met" : "missed");
    printf("| W2 on / off: <= 1.10x | %.2fx | %s |\n", m[2][ON] / m[2][OFF],
           m[2][ON] / m[2][OFF] <= 1.10 ? "met" : "missed");
    printf("| W3 throughput off / on: <= 1.10x | %.2fx | %s |\n",
           m[3][OFF] / m[3][ON], m[3][OFF] / m[3][ON] <= 1.10 ? "met" : "missed");
    printf("| W3x64 throughput off / on: <= 1.10x | %.2fx | %s |\n",
           m[4][OFF] / m[4][ON], m[4][OFF] / m[4][ON] <= 1.10 ? "met" : "missed");
    return 0;
}
