/*
 * syncbench.h: what the files of the benchmark share.
 *
 * A "system" is one implementation of the same small set of primitives
 * (Lock, counting Semaphore, Event), reached through struct bsys so every
 * workload is written once and run against syncd, the floor server, the
 * shared-memory physical limits and (out of process) Python's SyncManager.
 */
#ifndef SYNCBENCH_H
#define SYNCBENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* ---- systems ------------------------------------------------------------ */

enum bsys_id {
    SYS_SYNCD,
    SYS_FLOOR,
    SYS_SHM, /* robust process-shared pthread mutex / condvar in shm */
    SYS_PSEM, /* POSIX named semaphores (sem_open) */
    SYS_PYMGR, /* multiprocessing SyncManager (python3 script) */
    SYS_COUNT
};

/* Per-process connection and object handles are opaque to workloads. */
typedef struct bconn bconn;
typedef struct bobj bobj;

struct bsys {
    enum bsys_id id;
    const char *name;
    /* Connect (per process, after fork).  0 or <0. */
    int (*connect)(const char *endpoint, bconn **out);
    void (*disconnect)(bconn *c);
    /* Open-or-create.  value: initial permits (sem only). */
    int (*lock_open)(bconn *c, const char *name, bobj **out);
    int (*sem_open)(bconn *c, const char *name, unsigned value, bobj **out);
    int (*event_open)(bconn *c, const char *name, bobj **out);
    int (*acquire)(bobj *o);   /* lock or sem, blocking */
    int (*release)(bobj *o);   /* lock or sem, one permit */
    int (*wait)(bobj *o);      /* event, blocking */
    /* Set an event; nwaiters is a hint only the POSIX-semaphore emulation
     * of a broadcast (nwaiters posts) needs. */
    int (*set)(bobj *o, unsigned nwaiters);
    int (*clear)(bobj *o); /* event back to unset */
    void (*close)(bobj *o);
    /* W5: open and close a named object once (may be the real open/close
     * pair above or a kernel named object: shm_open, sem_open). */
    int (*open_close)(bconn *c, const char *name);
    /* Threads may share one bconn (W4). */
    bool thread_shared;
};

extern const struct bsys bsys_syncd, bsys_floor, bsys_shm, bsys_psem;

/* The benchmark's own pid: names of kernel objects carry it. */
extern pid_t bench_main_pid;
/* The server process of the system being measured (syncd or the floor),
 * 0 for systems without one: W3 reads its CPU time. */
extern pid_t bench_server_pid;
/* CPU time of every thread of pid so far, in ns (/proc schedstat); -1 if
 * unreadable. */
double proc_cpu_ns(pid_t pid);
/* User and kernel CPU time of pid (every thread) in clock ticks, from
 * /proc/PID/stat; 0 or -1. */
int proc_cpu_ticks(pid_t pid, double *user, double *sys);

/* Physical-limit systems keep their objects in one shared mapping made
 * before any fork; call once in the parent. */
int shm_sys_init(void);
/* Unlink POSIX semaphores/shm objects this run created. */
void psem_sys_cleanup(void);

/* ---- floor server ------------------------------------------------------- */

/* Fixed-size floor messages (host byte order; both ends on one host). */
enum floor_op {
    FLOOR_OPEN = 1,
    FLOOR_CLOSE,
    FLOOR_ACQUIRE,  /* lock or sem */
    FLOOR_RELEASE,  /* lock or sem */
    FLOOR_EV_WAIT,
    FLOOR_EV_SET,
    FLOOR_EV_CLEAR,
};
enum floor_type { FLOOR_T_LOCK = 1, FLOOR_T_SEM, FLOOR_T_EVENT };
#define FLOOR_NOBJ 4096u /* object slots; a name hashes to one */

struct floor_req {
    uint32_t op;
    uint32_t obj;  /* slot */
    uint32_t arg;  /* open: type << 24 | initial value */
    uint32_t pad;
    uint64_t id;
};
struct floor_rep {
    uint64_t id;
    int32_t code;
    uint32_t pad;
};

/* Serve on path until SIGTERM; returns the exit status. */
int floor_server_run(const char *path);
uint32_t floor_name_slot(const char *name);

/* ---- timing and statistics --------------------------------------------- */

double now_us(void);
void pin_self(bool pinned); /* CPU 0 only, or every CPU */
void pin_pid(pid_t pid, bool pinned); /* every thread of pid */

/* Quantile q (0..1) of n samples (sorted in place). */
double quantile(double *v, size_t n, double q);

/* Anonymous shared mapping surviving fork. */
void *shared_alloc(size_t size);
void shared_free(void *p, size_t size);

/* ---- workloads ------------------------------------------------------------ */

enum wl_id { W1, W2, W3, W3_64, W4, W5, S1, S2, WL_COUNT };

struct bparams {
    int reps;            /* measured repetitions */
    int w1_pairs;        /* pairs per repetition */
    int w2_rounds;
    double w3_seconds;   /* per repetition */
    int w4_procs, w4_threads;
    int w5_pairs;
    int s1_clients;
    int s2_objects;
    bool no_warmup;      /* skip the warm-up repetition (syncbench.c's
                            later turns: the first turn warmed up) */
};

/* Outcome of one workload on one system. */
struct bresult {
    bool valid;
    double median, p99;   /* latency: µs (p99 = worse tail); throughput:
                             ops/s (p99 = the 1st percentile, the worse
                             tail) */
    bool throughput;      /* higher is better */
    double server_cpu_us; /* W3: server CPU per acquire+release, or NAN */
    double server_user_pct; /* W3: the user-space share of it, percent */
    /* The raw material, so runs can be merged (syncbench.c interleaves
     * systems repetition by repetition): per-operation latencies (W1, W2,
     * W5, S1), per-repetition throughputs (W3) or latencies (W4).  Heap,
     * owned by the caller (free it). */
    double *samples;
    size_t n_samples;
    double cpu_ns, cpu_ops;          /* W3: server CPU and operations */
    double user_ticks, sys_ticks;    /* W3: its user/kernel split */
    const char *unit;
    char note[160];
};

/* Run workload w against sys at endpoint; fills r (free r->samples). */
void run_workload(enum wl_id w, const struct bsys *sys, const char *endpoint,
                  const struct bparams *p, struct bresult *r);
/* W1, W2, W5: the same against two systems at once (sys[1] may be NULL),
 * taking turns a few operations at a time; fills r[0] and r[1]. */
void run_workload_pair(enum wl_id w, const struct bsys *const sys[2],
                       const char *const endpoint[2],
                       const struct bparams *p, struct bresult r[2]);

/* S1/S2 need the daemon's pid (RSS) and socket. */
void run_s1(const char *endpoint, const struct bparams *p,
            struct bresult *r);
void run_s2(const char *endpoint, pid_t daemon_pid, const struct bparams *p,
            struct bresult *r, double *rss_mb);

extern const char *const wl_names[WL_COUNT];

void bdie(const char *fmt, ...) __attribute__((format(printf, 1, 2),
                                               noreturn));

#endif
