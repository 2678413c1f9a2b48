/*
 * syncbench.c: the syncd benchmark.  Starts its own syncd and floor server
 * on temporary sockets, runs the workloads against every system (syncd,
 * floor, physical limits, SyncManager via python3), pinned to CPU 0 and
 * unpinned, and prints a Markdown table of medians, tails and ratios (or
 * JSON with --json).  See bench/README.md.
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "syncbench.h"

#ifndef SYNCD_BIN
#define SYNCD_BIN "syncd"
#endif
#ifndef SYNCBENCH_PY
#define SYNCBENCH_PY "syncmanager_bench.py"
#endif

pid_t bench_main_pid;
pid_t bench_server_pid;

enum { MODE_PINNED, MODE_UNPINNED, MODE_COUNT };
static const char *const mode_names[MODE_COUNT] = {"pinned", "unpinned"};

static struct bresult res[MODE_COUNT][WL_COUNT][SYS_COUNT];
static bool wl_on[WL_COUNT], sys_on[SYS_COUNT], mode_on[MODE_COUNT];
static const char *const sys_names[SYS_COUNT] = {
    "syncd", "floor", "shm-pthread", "posix-sem", "SyncManager"};
static const struct bsys *const sys_impl[SYS_COUNT] = {
    &bsys_syncd, &bsys_floor, &bsys_shm, &bsys_psem, NULL};
static double s2_rss_mb = NAN;
static char tmpdir[64] = "", syncd_sock[128], floor_sock[128];
/* --fsync: syncd keeps its state in tmpdir/state with this policy. */
static const char *syncd_fsync;
static char state_dir[96];
static pid_t syncd_pid, floor_pid;

/* ---- utilities ---------------------------------------------------------- */

void bdie(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fprintf(stderr, "syncbench: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(1);
}

double now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

double proc_cpu_ns(pid_t pid)
{
    char path[64];
    DIR *d;
    struct dirent *e;
    double sum = 0;

    snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
    if ((d = opendir(path)) == NULL)
        return -1;
    while ((e = readdir(d)) != NULL) {
        char sp[128];
        unsigned long long ns;
        FILE *f;

        if (e->d_name[0] == '.' || strlen(e->d_name) > 32)
            continue;
        snprintf(sp, sizeof(sp), "/proc/%d/task/%.32s/schedstat", (int)pid,
                 e->d_name);
        if ((f = fopen(sp, "r")) == NULL)
            continue; /* the thread ended meanwhile */
        if (fscanf(f, "%llu", &ns) == 1)
            sum += (double)ns;
        fclose(f);
    }
    closedir(d);
    return sum;
}

int proc_cpu_ticks(pid_t pid, double *user, double *sys)
{
    char path[64], buf[1024], *p;
    unsigned long ut, st;
    FILE *f;
    size_t n;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    if ((f = fopen(path, "r")) == NULL)
        return -1;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* Fields after "(comm)": state is field 3, utime 14, stime 15. */
    if ((p = strrchr(buf, ')')) == NULL ||
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
               &ut, &st) != 2)
        return -1;
    *user = (double)ut;
    *sys = (double)st;
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

double quantile(double *v, size_t n, double q)
{
    size_t i;

    if (n == 0)
        return NAN;
    qsort(v, n, sizeof(*v), cmp_double);
    i = (size_t)(q * (double)(n - 1) + 0.5);
    return v[i < n ? i : n - 1];
}

void *shared_alloc(size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);

    if (p == MAP_FAILED)
        bdie("mmap %zu: %s", size, strerror(errno));
    return p;
}

void shared_free(void *p, size_t size)
{
    munmap(p, size);
}

static void cpuset_for(bool pinned, cpu_set_t *set)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);

    CPU_ZERO(set);
    for (long i = 0; i < (pinned ? 1 : n) && i < CPU_SETSIZE; i++)
        CPU_SET(i, set);
}

void pin_self(bool pinned)
{
    cpu_set_t set;

    cpuset_for(pinned, &set);
    if (sched_setaffinity(0, sizeof(set), &set) != 0)
        bdie("sched_setaffinity: %s", strerror(errno));
}

void pin_pid(pid_t pid, bool pinned)
{
    char path[64];
    cpu_set_t set;
    FILE *f;
    int tid;

    cpuset_for(pinned, &set);
    snprintf(path, sizeof(path), "ls /proc/%d/task 2>/dev/null", (int)pid);
    if ((f = popen(path, "r")) == NULL)
        return;
    while (fscanf(f, "%d", &tid) == 1)
        sched_setaffinity(tid, sizeof(set), &set);
    pclose(f);
}

/* ---- servers ------------------------------------------------------------ */

static void wait_socket(const char *path, pid_t pid, double secs)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    double until = now_us() + secs * 1e6;

    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    while (now_us() < until) {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
            close(fd);
            return;
        }
        close(fd);
        if (waitpid(pid, NULL, WNOHANG) == pid)
            bdie("server for %s exited at start-up", path);
        usleep(10 * 1000);
    }
    bdie("no server on %s after %.0f s", path, secs);
}

static pid_t start_syncd(const char *prefix, const struct bparams *p)
{
    char *argv[64], *copy = prefix ? strdup(prefix) : NULL, maxc[32], maxo[32];
    int n = 0;
    pid_t pid;

    for (char *t = copy ? strtok(copy, " ") : NULL; t && n < 48;
         t = strtok(NULL, " "))
        argv[n++] = t;
    snprintf(maxc, sizeof(maxc), "%d", p->s1_clients + 256);
    snprintf(maxo, sizeof(maxo), "%d", p->s2_objects + 4096);
    argv[n++] = SYNCD_BIN;
    argv[n++] = "--socket";
    argv[n++] = syncd_sock;
    argv[n++] = "--quiet";
    argv[n++] = "--max-clients";
    argv[n++] = maxc;
    argv[n++] = "--max-objects";
    argv[n++] = maxo;
    /* syncbench measures the daemon's round trips against the floor's:
     * lock caching (which skips them) is measured by cachebench. */
    argv[n++] = "--lock-cache";
    argv[n++] = "off";
    if (syncd_fsync != NULL) {
        snprintf(state_dir, sizeof(state_dir), "%s/state", tmpdir);
        argv[n++] = "--state-dir";
        argv[n++] = state_dir;
        argv[n++] = "--fsync";
        argv[n++] = (char *)syncd_fsync;
    }
    argv[n] = NULL;
    if ((pid = fork()) == 0) {
        execvp(argv[0], argv);
        fprintf(stderr, "syncbench: exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    wait_socket(syncd_sock, pid, prefix ? 60 : 10);
    free(copy);
    return pid;
}

static void stop_servers(void)
{
    if (syncd_pid > 0) {
        kill(syncd_pid, SIGTERM);
        waitpid(syncd_pid, NULL, 0);
        syncd_pid = 0;
    }
    if (floor_pid > 0) {
        kill(floor_pid, SIGTERM);
        waitpid(floor_pid, NULL, 0);
        floor_pid = 0;
    }
    psem_sys_cleanup();
    if (tmpdir[0]) {
        unlink(syncd_sock);
        unlink(floor_sock);
        if (state_dir[0]) {
            static const char *const files[] = {"state.db", "state.db-wal",
                                                "state.db-shm", "lock"};
            char path[160];

            for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
                snprintf(path, sizeof(path), "%s/%s", state_dir, files[i]);
                unlink(path);
            }
            rmdir(state_dir);
        }
        rmdir(tmpdir);
    }
}

/* ---- running the C systems ---------------------------------------------- */

/* From r's cpu_ns/cpu_ops/ticks: server_cpu_us and server_user_pct. */
static void bench_server_cpu(struct bresult *r)
{
    double ticks = r->user_ticks + r->sys_ticks;

    r->server_cpu_us = r->cpu_ops > 0 ? r->cpu_ns / 1e3 / r->cpu_ops : NAN;
    /* The split comes from tick counts (coarser than schedstat). */
    r->server_user_pct = ticks > 0 ? 100.0 * r->user_ticks / ticks : NAN;
}

/* Append r's samples to *v (n values so far). */
static void append_samples(double **v, size_t *n, const struct bresult *r)
{
    double *nv = realloc(*v, (*n + r->n_samples) * sizeof(**v));

    if (nv == NULL && *n + r->n_samples > 0)
        bdie("out of memory merging samples");
    *v = nv;
    if (r->n_samples > 0)
        memcpy(*v + *n, r->samples, r->n_samples * sizeof(**v));
    *n += r->n_samples;
}

struct merge {
    double *v[SYS_COUNT]; /* every system's samples so far */
    size_t n[SYS_COUNT];
    bool failed[SYS_COUNT];
    bool shared[SYS_COUNT]; /* some repetition ran syncd and the floor in
                               the same processes */
};

/* Fold one repetition's result r of system s into res[m][w][s]. */
static void merge_one(struct merge *g, int m, enum wl_id w, int s, int rep,
                      struct bresult *r)
{
    struct bresult *a = &res[m][w][s];

    if (!r->valid) {
        g->failed[s] = true;
        free(r->samples);
        r->samples = NULL;
        *a = *r;
        return;
    }
    append_samples(&g->v[s], &g->n[s], r);
    free(r->samples);
    r->samples = NULL;
    if (rep == 0) {
        *a = *r;
        a->cpu_ns = a->cpu_ops = a->user_ticks = a->sys_ticks = 0;
    }
    /* A broken mutual exclusion in any repetition must show. */
    if (strstr(r->note, "INCONSISTENT") != NULL)
        snprintf(a->note, sizeof(a->note), "%s", r->note);
    a->cpu_ns += r->cpu_ns;
    a->cpu_ops += r->cpu_ops;
    a->user_ticks += r->user_ticks;
    a->sys_ticks += r->sys_ticks;
}

static bool sys_runs(int s, const struct merge *g)
{
    return sys_on[s] && sys_impl[s] != NULL && !g->failed[s];
}

/*
 * Run workload w on every selected C system one repetition at a time, in
 * turn, and merge each system's repetitions: a slow spell of the shared
 * machine then hits every system alike instead of whichever happened to
 * be running.  W1, W2 and W5 go further for syncd and the floor, the pair
 * the goals compare: one run measures both, taking turns every few
 * operations.  Only the first turn has a warm-up repetition.
 */
static void run_interleaved(int m, enum wl_id w, const struct bparams *p)
{
    struct bparams one = *p;
    struct merge g = {{NULL}, {0}, {false}, {false}};
    bool pairable = (w == W1 || w == W2 || w == W5);

    one.reps = 1;
    for (int rep = 0; rep < p->reps; rep++) {
        bool pair = pairable && sys_runs(SYS_SYNCD, &g) &&
                    sys_runs(SYS_FLOOR, &g);

        /* Servers and caches are warm after the first turn; each turn
         * still starts its own processes and connections. */
        one.no_warmup = rep > 0;
        if (pair) {
            const struct bsys *const two[2] = {&bsys_syncd, &bsys_floor};
            const char *const eps[2] = {syncd_sock, floor_sock};
            struct bresult r[2];

            run_workload_pair(w, two, eps, &one, r);
            merge_one(&g, m, w, SYS_SYNCD, rep, &r[0]);
            merge_one(&g, m, w, SYS_FLOOR, rep, &r[1]);
            g.shared[SYS_SYNCD] = g.shared[SYS_FLOOR] = true;
        }
        for (int s = 0; s < SYS_COUNT; s++) {
            struct bresult r;

            if (!sys_runs(s, &g) ||
                (pair && (s == SYS_SYNCD || s == SYS_FLOOR)))
                continue;
            bench_server_pid = s == SYS_SYNCD ? syncd_pid
                               : s == SYS_FLOOR ? floor_pid : 0;
            run_workload(w, sys_impl[s], s == SYS_SYNCD ? syncd_sock
                                                         : floor_sock,
                         &one, &r);
            merge_one(&g, m, w, s, rep, &r);
        }
    }
    for (int s = 0; s < SYS_COUNT; s++) {
        struct bresult *a = &res[m][w][s];

        if (!sys_on[s] || sys_impl[s] == NULL)
            continue;
        if (!g.failed[s] && g.n[s] > 0) {
            a->median = quantile(g.v[s], g.n[s], 0.5);
            a->p99 = quantile(g.v[s], g.n[s], a->throughput ? 0.01 : 0.99);
            if (pairable)
                snprintf(a->note, sizeof(a->note), "%zu samples%s", g.n[s],
                         g.shared[s] ? ", syncd and floor taking turns" : "");
            if (a->cpu_ops > 0) {
                bench_server_cpu(a);
                snprintf(a->note + strlen(a->note),
                         sizeof(a->note) - strlen(a->note),
                         "; server CPU %.2f us/op (%.0f%% user)",
                         a->server_cpu_us, a->server_user_pct);
            }
        }
        free(g.v[s]);
        fprintf(stderr, "[%s] %-5s %-12s median %10.2f tail %10.2f %s  %s\n",
                mode_names[m], wl_names[w], sys_names[s], a->median, a->p99,
                a->unit ? a->unit : "", a->note);
    }
}

/* ---- SyncManager (python3) ----------------------------------------------- */

static void run_python(int mode, const struct bparams *p)
{
    char cmd[1024], only[128] = "", line[512];
    const char *py = getenv("SYNCBENCH_PYTHON");
    FILE *f;
    int st;

    for (int w = W1; w <= W5; w++)
        if (wl_on[w])
            snprintf(only + strlen(only), sizeof(only) - strlen(only),
                     "%s%s", only[0] ? "," : "", wl_names[w]);
    if (!only[0])
        return;
    snprintf(cmd, sizeof(cmd),
             "%s '%s' --only %s --reps %d --w1 %d --w2 %d --w3-seconds %g "
             "--w4-procs %d --w4-threads %d --w5 %d 2>&1",
             py ? py : "python3", SYNCBENCH_PY, only, p->reps,
             p->w1_pairs / 4 > 0 ? p->w1_pairs / 4 : 1,
             p->w2_rounds / 4 > 0 ? p->w2_rounds / 4 : 1, p->w3_seconds, p->w4_procs,
             p->w4_threads, p->w5_pairs / 10 > 0 ? p->w5_pairs / 10 : 1);
    fprintf(stderr, "[%s] SyncManager: %s\n", mode_names[mode], cmd);
    if ((f = popen(cmd, "r")) == NULL)
        return;
    while (fgets(line, sizeof(line), f) != NULL) {
        char wl[16];
        double med, p99;
        int off = 0;

        if (sscanf(line, "RESULT %15s %lf %lf %n", wl, &med, &p99, &off) >= 3)
            for (int w = 0; w < WL_COUNT; w++)
                if (strcmp(wl, wl_names[w]) == 0) {
                    struct bresult *r = &res[mode][w][SYS_PYMGR];

                    r->valid = true;
                    r->median = med;
                    r->p99 = p99;
                    r->throughput = w == W3 || w == W3_64;
                    r->unit = r->throughput ? "ops/s" : "us";
                    snprintf(r->note, sizeof(r->note), "%s",
                             off > 0 ? line + off : "");
                    r->note[strcspn(r->note, "\n")] = '\0';
                }
        if (strncmp(line, "RESULT", 6) != 0)
            fprintf(stderr, "  python: %s", line);
    }
    st = pclose(f);
    if (st != 0)
        for (int w = W1; w <= W5; w++)
            if (wl_on[w] && !res[mode][w][SYS_PYMGR].valid)
                snprintf(res[mode][w][SYS_PYMGR].note,
                         sizeof(res[mode][w][SYS_PYMGR].note),
                         WIFEXITED(st) && WEXITSTATUS(st) == 127
                             ? "skipped: python3 not found"
                             : "skipped: python3 script failed (status %d)",
                         st);
}

/* ---- output ------------------------------------------------------------- */

/* Cost ratio of r against ref: > 1 means r is slower/worse. */
static double ratio(const struct bresult *r, const struct bresult *ref,
                    bool tail)
{
    double a = tail ? r->p99 : r->median, b = tail ? ref->p99 : ref->median;

    if (!r->valid || !ref->valid || !(a > 0) || !(b > 0))
        return NAN;
    return r->throughput ? b / a : a / b;
}

static void fmt_num(char *buf, size_t n, double v, const char *unit)
{
    if (isnan(v))
        snprintf(buf, n, "-");
    else if (strcmp(unit, "ops/s") == 0 || v >= 10000)
        snprintf(buf, n, "%.0f", v);
    else if (v >= 100)
        snprintf(buf, n, "%.1f", v);
    else
        snprintf(buf, n, "%.2f", v);
}

static void fmt_ratio(char *buf, size_t n, double v)
{
    if (isnan(v))
        snprintf(buf, n, "-");
    else
        snprintf(buf, n, v >= 100 ? "%.0fx" : "%.2fx", v);
}

static void machine(char *model, size_t n, struct utsname *u)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[256];

    snprintf(model, n, "unknown");
    while (f != NULL && fgets(line, sizeof(line), f) != NULL)
        if (strncmp(line, "model name", 10) == 0) {
            char *c = strchr(line, ':');

            const char *src = c ? c + 2 : line;
            size_t len = strcspn(src, "\n");

            if (len >= n)
                len = n - 1;
            memcpy(model, src, len);
            model[len] = '\0';
            break;
        }
    if (f != NULL)
        fclose(f);
    uname(u);
}

/* One row of the goals table: the value in each mode and whether it meets
 * the goal (value <= goal, or >= goal when at_least). */
static void goal_row(const char *what, const char *goal_text, double goal,
                     bool at_least, const double v[MODE_COUNT],
                     const char *fmt)
{
    printf("| %s | %s", what, goal_text);
    for (int m = 0; m < MODE_COUNT; m++) {
        char a[32];

        if (!mode_on[m] || isnan(v[m])) {
            printf(" | -");
            continue;
        }
        snprintf(a, sizeof(a), fmt, v[m]);
        printf(" | %s (%s)", a,
               (at_least ? v[m] >= goal : v[m] <= goal) ? "met" : "missed");
    }
    printf(" |\n");
}

static double cpu_ratio(int m, int w)
{
    const struct bresult *a = &res[m][w][SYS_SYNCD],
                         *b = &res[m][w][SYS_FLOOR];

    return a->valid && b->valid && a->server_cpu_us > 0 &&
                   b->server_cpu_us > 0
               ? a->server_cpu_us / b->server_cpu_us
               : NAN;
}

static double tput_ratio(const struct bresult *a, const struct bresult *b)
{
    return a->valid && b->valid && b->median > 0 ? a->median / b->median
                                                 : NAN;
}

static void print_goals(void)
{
    double v[MODE_COUNT];
    char label[96];

    printf("\n### syncd against the goals\n\n");
    printf("| measure | goal | pinned | unpinned |\n|---|--:|--:|--:|\n");
    for (int w = W1; w <= W4; w++) {
        if (w == W3 || w == W3_64)
            continue;
        for (int m = 0; m < MODE_COUNT; m++)
            v[m] = ratio(&res[m][w][SYS_SYNCD], &res[m][w][SYS_FLOOR], 0);
        snprintf(label, sizeof(label), "%s median, x floor", wl_names[w]);
        goal_row(label, w == W4 ? "<= 1.25x" : "<= 1.15x",
                 w == W4 ? 1.25 : 1.15, false, v, "%.2fx");
    }
    for (int w = W3; w <= W3_64; w++) {
        for (int m = 0; m < MODE_COUNT; m++)
            v[m] = cpu_ratio(m, w);
        snprintf(label, sizeof(label),
                 "%s server CPU per acquire+release, x floor", wl_names[w]);
        goal_row(label, "<= 1.25x", 1.25, false, v, "%.2fx");
    }
    for (int m = 0; m < MODE_COUNT; m++)
        v[m] = tput_ratio(&res[m][W3][SYS_SYNCD], &res[m][W3][SYS_PYMGR]);
    goal_row("W3 throughput, x SyncManager's", ">= 4x", 4, true, v,
             "%.2fx");
    /* What the same message pattern allows at best: the floor's own. */
    printf("| (bound) the floor's W3 throughput, x SyncManager's | -");
    for (int m = 0; m < MODE_COUNT; m++) {
        double x = tput_ratio(&res[m][W3][SYS_FLOOR], &res[m][W3][SYS_PYMGR]);

        printf(isnan(x) || !mode_on[m] ? " | -" : " | %.2fx", x);
    }
    printf(" |\n");
    for (int m = 0; m < MODE_COUNT; m++)
        v[m] = tput_ratio(&res[m][W3_64][SYS_SYNCD], &res[m][W3][SYS_SYNCD]);
    goal_row("W3x64 throughput, x W3's (no collapse at 64)", ">= 0.5x", 0.5,
             true, v, "%.2fx");
    for (int m = 0; m < MODE_COUNT; m++)
        v[m] = ratio(&res[m][S1][SYS_SYNCD], &res[m][W2][SYS_SYNCD], 1);
    goal_row("S1 W2 p99 with the idle clients, x idle W2 p99", "<= 2x", 2,
             false, v, "%.2fx");
    for (int m = 0; m < MODE_COUNT; m++)
        v[m] = res[m][S2][SYS_SYNCD].valid ? res[m][S2][SYS_SYNCD].median
                                           : NAN;
    goal_row("S2 daemon bytes per idle named object", "<= 256", 256, false,
             v, "%.1f");
}

static void print_markdown(const struct bparams *p, bool quick)
{
    char model[128], a[32], b[32], c[32], d[32], e[32];
    struct utsname u;

    machine(model, sizeof(model), &u);
    printf("## syncbench results\n\n");
    printf("Machine: %ld CPUs, %s, Linux %s.  %s run: %d repetitions after "
           "a warm-up.\n\n", sysconf(_SC_NPROCESSORS_ONLN), model, u.release,
           quick ? "Quick" : "Full", p->reps);
    printf("median/tail: latencies in us (tail = p99 of per-operation "
           "samples, W4: of per-repetition values); throughputs in ops/s "
           "(tail = 1st percentile of repetitions, the slow side).  "
           "x floor / x SyncManager are cost ratios (time / reference time, "
           "or reference ops/s / ops/s): below 1 is better than the "
           "reference.  S1 rows are compared with the W2 references.\n");
    for (int m = 0; m < MODE_COUNT; m++) {
        if (!mode_on[m])
            continue;
        printf("\n### %s%s\n\n", mode_names[m],
               m == MODE_PINNED ? " (every process on CPU 0)"
                                : " (any CPU)");
        printf("| workload | system | median | tail | unit | x floor "
               "| x floor (tail) | x SyncManager | note |\n");
        printf("|---|---|--:|--:|---|--:|--:|--:|---|\n");
        for (int w = 0; w < WL_COUNT; w++) {
            for (int s = 0; s < SYS_COUNT; s++) {
                const struct bresult *r = &res[m][w][s];
                int rw = w == S1 ? W2 : w; /* S1 is W2 under load */

                if (!r->valid && !r->note[0])
                    continue;
                fmt_num(a, sizeof(a), r->valid ? r->median : NAN,
                        r->unit ? r->unit : "us");
                fmt_num(b, sizeof(b), r->valid ? r->p99 : NAN,
                        r->unit ? r->unit : "us");
                fmt_ratio(c, sizeof(c), ratio(r, &res[m][rw][SYS_FLOOR], 0));
                fmt_ratio(d, sizeof(d), ratio(r, &res[m][rw][SYS_FLOOR], 1));
                fmt_ratio(e, sizeof(e), ratio(r, &res[m][rw][SYS_PYMGR], 0));
                printf("| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
                       wl_names[w], sys_names[s], a, b,
                       r->unit ? r->unit : "", c, d, e, r->note);
            }
        }
    }
    print_goals();
    printf("\nWorkloads: %s\n", "W1 uncontended Lock pair; W2 semaphore "
           "ping-pong round trip; W3/W3x64 contended Lock with a shared-"
           "memory touch, 4/64 processes; W4 Event set -> last of the "
           "waiters returned; W5 open+close of a named object; S1 W2 with "
           "many idle clients; S2 daemon bytes per named object.");
}

static void json_str(const char *s)
{
    putchar('"');
    for (; *s; s++)
        if (*s == '"' || *s == '\\')
            printf("\\%c", *s);
        else if ((unsigned char)*s >= 0x20)
            putchar(*s);
    putchar('"');
}

static void json_num(double v)
{
    if (isnan(v) || isinf(v))
        printf("null");
    else
        printf("%.6g", v);
}

static void print_json(const struct bparams *p, bool quick)
{
    char model[128];
    struct utsname u;
    bool first = true;

    machine(model, sizeof(model), &u);
    printf("{\"machine\": {\"nproc\": %ld, \"model\": ",
           sysconf(_SC_NPROCESSORS_ONLN));
    json_str(model);
    printf(", \"kernel\": ");
    json_str(u.release);
    printf("}, \"quick\": %s, \"reps\": %d, \"s2_rss_mb\": ",
           quick ? "true" : "false", p->reps);
    json_num(s2_rss_mb);
    printf(", \"results\": [");
    for (int m = 0; m < MODE_COUNT; m++)
        for (int w = 0; w < WL_COUNT; w++)
            for (int s = 0; s < SYS_COUNT; s++) {
                const struct bresult *r = &res[m][w][s];
                int rw = w == S1 ? W2 : w; /* S1 is W2 under load */

                if (!r->valid && !r->note[0])
                    continue;
                printf("%s\n  {\"mode\": \"%s\", \"workload\": \"%s\", "
                       "\"system\": \"%s\", \"valid\": %s, \"unit\": ",
                       first ? "" : ",", mode_names[m], wl_names[w],
                       sys_names[s], r->valid ? "true" : "false");
                first = false;
                json_str(r->unit ? r->unit : "");
                printf(", \"median\": ");
                json_num(r->valid ? r->median : NAN);
                printf(", \"tail\": ");
                json_num(r->valid ? r->p99 : NAN);
                printf(", \"x_floor\": ");
                json_num(ratio(r, &res[m][rw][SYS_FLOOR], 0));
                printf(", \"x_floor_tail\": ");
                json_num(ratio(r, &res[m][rw][SYS_FLOOR], 1));
                printf(", \"x_syncmanager\": ");
                json_num(ratio(r, &res[m][rw][SYS_PYMGR], 0));
                printf(", \"server_cpu_us_per_op\": ");
                json_num(r->server_cpu_us > 0 ? r->server_cpu_us : NAN);
                printf(", \"note\": ");
                json_str(r->note);
                printf("}");
            }
    printf("\n]}\n");
}

/* ---- main ------------------------------------------------------------- */

static void usage(FILE *f)
{
    fprintf(f,
"Usage: syncbench [OPTIONS]\n"
"Benchmark syncd against a minimal floor server, the shared-memory physical\n"
"limits (robust pthread mutex/condvar, POSIX named semaphores) and Python's\n"
"multiprocessing SyncManager.  Starts its own syncd (%s)\n"
"and floor server on temporary sockets.  The C systems take turns, one\n"
"repetition each, and in W1, W2 and W5 syncd and the floor alternate every\n"
"10 operations in the same processes, so a noisy machine skews no ratio.\n"
"Takes about 2.5 minutes on a 2-CPU VM (--quick: under a minute).\n\n"
"  --quick              short run: few repetitions, small S1/S2\n"
"  --only LIST          workloads, comma-separated: W1,W2,W3,W3x64,W4,W5,S1,S2\n"
"  --systems LIST       syncd,floor,shm-pthread,posix-sem,SyncManager\n"
"  --pin MODE           pinned, unpinned or both (default both)\n"
"  --reps N             measured repetitions (turns) (default 5, quick 3)\n"
"  --w1-pairs N         W1 pairs per repetition (default 10000); also sets\n"
"                       W2 to half and W5 to a quarter of N\n"
"  --w3-seconds S       W3 window per repetition (default 0.5)\n"
"  --s1-clients N       idle clients for S1 (default 10000)\n"
"  --s2-objects N       named objects for S2 (default 1000000)\n"
"  --daemon-prefix CMD  run syncd under CMD (e.g. \"valgrind --tool=callgrind\")\n"
"  --fsync POLICY       syncd keeps its state on disk (--state-dir in the\n"
"                       temporary directory) with --fsync POLICY: always,\n"
"                       batch or never (default: in memory)\n"
"  --json               JSON instead of Markdown on stdout\n"
"  -h, --help           this help\n"
"Progress goes to stderr.  SYNCBENCH_PYTHON overrides the python3 command.\n",
            SYNCD_BIN);
}

static void parse_list(const char *arg, const char *const *names, int n,
                       bool *on, const char *what)
{
    char *copy = strdup(arg);

    memset(on, 0, (size_t)n * sizeof(bool));
    for (char *t = strtok(copy, ","); t; t = strtok(NULL, ",")) {
        int i;

        for (i = 0; i < n; i++)
            if (strcasecmp(t, names[i]) == 0)
                break;
        if (i == n)
            bdie("unknown %s '%s' (see --help)", what, t);
        on[i] = true;
    }
    free(copy);
}

static void on_signal(int sig)
{
    (void)sig;
    stop_servers();
    _exit(130);
}

int main(int argc, char **argv)
{
    /* Sized so a full run stays under 3 minutes on a 2-CPU VM. */
    struct bparams p = {5, 10000, 5000, 0.5, 10, 100, 2500, 10000, 1000000,
                        false};
    const char *prefix = NULL;
    bool quick = false, json = false;
    int w1 = 0, reps = 0, s1 = 0, s2 = 0;
    double w3s = 0;
    struct rlimit rl;

    bench_main_pid = getpid();
    for (int i = 0; i < WL_COUNT; i++)
        wl_on[i] = true;
    for (int i = 0; i < SYS_COUNT; i++)
        sys_on[i] = true;
    mode_on[0] = mode_on[1] = true;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--quick")) {
            quick = true;
        } else if (!strcmp(a, "--json")) {
            json = true;
        } else if (v == NULL) {
            usage(stderr);
            return 2;
        } else if (!strcmp(a, "--only")) {
            parse_list(v, wl_names, WL_COUNT, wl_on, "workload"), i++;
        } else if (!strcmp(a, "--systems")) {
            parse_list(v, sys_names, SYS_COUNT, sys_on, "system"), i++;
        } else if (!strcmp(a, "--pin")) {
            mode_on[MODE_PINNED] = strcmp(v, "unpinned") != 0;
            mode_on[MODE_UNPINNED] = strcmp(v, "pinned") != 0;
            i++;
        } else if (!strcmp(a, "--reps")) {
            reps = atoi(v), i++;
        } else if (!strcmp(a, "--w1-pairs")) {
            w1 = atoi(v), i++;
        } else if (!strcmp(a, "--s1-clients")) {
            s1 = atoi(v), i++;
        } else if (!strcmp(a, "--w3-seconds")) {
            w3s = atof(v), i++;
        } else if (!strcmp(a, "--s2-objects")) {
            s2 = atoi(v), i++;
        } else if (!strcmp(a, "--daemon-prefix")) {
            prefix = v, i++;
        } else if (!strcmp(a, "--fsync") && v != NULL &&
                   (!strcmp(v, "always") || !strcmp(v, "batch") ||
                    !strcmp(v, "never"))) {
            syncd_fsync = v, i++;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (quick) {
        p = (struct bparams){3, 3000, 2000, 0.3, 10, 100, 1000, 2000, 100000,
                             false};
    }
    if (reps > 0)
        p.reps = reps;
    if (w1 > 0)
        p.w1_pairs = w1, p.w5_pairs = w1 / 4 > 0 ? w1 / 4 : 1,
        p.w2_rounds = w1 / 2 > 0 ? w1 / 2 : 1;
    if (w3s > 0)
        p.w3_seconds = w3s;
    if (s1 > 0)
        p.s1_clients = s1;
    if (s2 > 0)
        p.s2_objects = s2;

    /* S1 needs a descriptor per client, in us and (inherited) in syncd. */
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        if (rl.rlim_cur < (rlim_t)p.s1_clients + 512) {
            fprintf(stderr, "syncbench: RLIMIT_NOFILE %ld: S1 reduced\n",
                    (long)rl.rlim_cur);
            p.s1_clients = (int)rl.rlim_cur - 512;
        }
    }
    signal(SIGPIPE, SIG_IGN);
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/syncbench.XXXXXX");
    if (mkdtemp(tmpdir) == NULL)
        bdie("mkdtemp: %s", strerror(errno));
    snprintf(syncd_sock, sizeof(syncd_sock), "%s/syncd.sock", tmpdir);
    snprintf(floor_sock, sizeof(floor_sock), "%s/floor.sock", tmpdir);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    shm_sys_init();
    syncd_pid = start_syncd(prefix, &p);
    if ((floor_pid = fork()) == 0)
        _exit(floor_server_run(floor_sock));
    wait_socket(floor_sock, floor_pid, 10);

    for (int m = 0; m < MODE_COUNT; m++) {
        if (!mode_on[m])
            continue;
        pin_self(m == MODE_PINNED);
        pin_pid(syncd_pid, m == MODE_PINNED);
        pin_pid(floor_pid, m == MODE_PINNED);
        for (int w = W1; w <= W5; w++)
            if (wl_on[w])
                run_interleaved(m, (enum wl_id)w, &p);
        if (sys_on[SYS_PYMGR])
            run_python(m, &p);
        if (wl_on[S1] && sys_on[SYS_SYNCD]) {
            run_s1(syncd_sock, &p, &res[m][S1][SYS_SYNCD]);
            fprintf(stderr, "[%s] S1 syncd: %.2f / %.2f us  %s\n",
                    mode_names[m], res[m][S1][SYS_SYNCD].median,
                    res[m][S1][SYS_SYNCD].p99, res[m][S1][SYS_SYNCD].note);
        }
    }
    if (wl_on[S2] && sys_on[SYS_SYNCD]) {
        int m = mode_on[MODE_UNPINNED] ? MODE_UNPINNED : MODE_PINNED;

        run_s2(syncd_sock, syncd_pid, &p, &res[m][S2][SYS_SYNCD],
               &s2_rss_mb);
        fprintf(stderr, "[%s] S2 syncd: %.1f B/object  %s\n", mode_names[m],
                res[m][S2][SYS_SYNCD].median, res[m][S2][SYS_SYNCD].note);
    }
    stop_servers();
    if (json)
        print_json(&p, quick);
    else
        print_markdown(&p, quick);
    return 0;
}
