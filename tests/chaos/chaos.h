/*
 * chaos.h: what the processes of the chaos test share.
 *
 * Process tree (every child is forked with fx_fork, so it dies with its
 * parent):
 *
 *   test process = checker: creates the objects, watches the daemon's own
 *   |              accounting during the run, checks everything at the end
 *   +- killer: forks the N killable workers, SIGKILLs random ones and
 *   |  |       respawns them
 *   |  +- worker slot 0..N-1: random mixes of every primitive
 *   +- fixed barrier parties 0..CH_FIXED_PARTIES-1 (never killed)
 *   +- kill-break coordinator (never killed)
 *      +- sacrificial barrier parties, killed by the coordinator
 *
 * Everything the processes prove is recorded in one MAP_SHARED|MAP_ANONYMOUS
 * block (struct chaos_shm) created before the first fork.
 */
#ifndef SYNCD_TEST_CHAOS_H
#define SYNCD_TEST_CHAOS_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "syncclient.h"

#define CH_MAX_PROCS 64 /* one bit per worker slot in sem_mask */
#define CH_NLOCKS 3     /* chaos/lock0..2 (Lock) */
#define CH_NRLOCKS 2    /* chaos/rlock0..1 (RLock) */
#define CH_NLOCKABLE (CH_NLOCKS + CH_NRLOCKS)
#define CH_NSEMS 2         /* chaos/sem (Semaphore), chaos/bsem (Bounded) */
#define CH_COND_CAP 4      /* producer/consumer buffer size */
#define CH_RAND_PARTIES 3  /* chaos/bar_rand: killable workers */
#define CH_FIXED_PARTIES 3 /* chaos/bar_fixed: never-killed processes */
#define CH_KB_PARTIES 3    /* chaos/bar_kill: coordinator + 2 victims */
#define CH_RING 1024       /* fixed barrier rounds kept in shm */
#define CH_MAX_INCARNATIONS (1u << 20) /* worker lifetimes, dead bitmap */
#define CH_MSGS 32                     /* violation messages kept */
#define CH_MSG_LEN 256

/* Object names. */
#define CH_LOCK_FMT "chaos/lock%d"
#define CH_RLOCK_FMT "chaos/rlock%d"
#define CH_SEM_NAME "chaos/sem"
#define CH_BSEM_NAME "chaos/bsem"
#define CH_EVENT_NAME "chaos/event"
#define CH_EVONCE_NAME "chaos/event_once"
#define CH_COND_NAME "chaos/cond"
#define CH_COND_LOCK "chaos/cond_lock"
#define CH_BAR_RAND "chaos/bar_rand"
#define CH_BAR_FIXED "chaos/bar_fixed"
#define CH_BAR_KILL "chaos/bar_kill"

/* Initial values of the two semaphores. */
#define CH_SEM_INIT(s) ((s) == 0 ? 3u : 2u)

struct chaos_cfg {
    int procs;       /* killable workers, 1..CH_MAX_PROCS */
    double seconds;  /* length of the run */
    double margin;   /* allowed lateness of a timed call, seconds */
    double early;    /* allowed earliness of a SYNC_ETIMEDOUT */
    int kill_min_ms; /* the killer sleeps kill_min..kill_max ms */
    int kill_max_ms;
    char sock[128]; /* the daemon's socket */
};

/* Counters for the summary line. */
struct chaos_stats {
    atomic_ullong clients;      /* successful sync_connect()s */
    atomic_ullong spawned;      /* worker processes started */
    atomic_ullong kills;        /* workers SIGKILLed by the killer */
    atomic_ullong ops;          /* primitive calls checked */
    atomic_ullong timeouts;     /* calls that returned SYNC_ETIMEDOUT */
    atomic_ullong takeovers;    /* witness slots taken over (owner died) */
    atomic_ullong deadlocks;    /* SYNC_EDEADLK returned */
    atomic_ullong rand_broken;  /* SYNC_EBROKEN on chaos/bar_rand */
    atomic_ullong fixed_done;   /* fixed barrier rounds completed */
    atomic_ullong fixed_broken; /* fixed barrier rounds broken */
    atomic_ullong kb_runs;      /* kill-break scenarios */
    atomic_ullong produced;     /* condition producer/consumer */
    atomic_ullong consumed;
    atomic_ullong undo_closes; /* sem handles closed holding a permit */
    atomic_ullong reconnects;  /* disconnects while holding */
    atomic_llong max_late_us;  /* worst lateness past a timeout seen */
    atomic_llong max_early_us; /* worst SYNC_ETIMEDOUT before its timeout */
    char max_late_what[48];    /* the call that was max_late_us late */
    char max_early_what[48];   /* the call that was max_early_us early */
};

struct chaos_shm {
    struct chaos_cfg cfg;
    atomic_int stop; /* workers, parties: finish and exit */
    atomic_uint next_incarnation;
    atomic_int slot_pid[CH_MAX_PROCS];
    atomic_uint slot_inc[CH_MAX_PROCS];

    /* Mutual exclusion witnesses: the holder's incarnation, 0 = free. */
    atomic_uint lock_holder[CH_NLOCKABLE];
    atomic_uint cond_holder;
    /* Highest fencing token seen by a holder of each lockable. */
    atomic_ullong lock_token[CH_NLOCKABLE];
    /* Semaphores: one bit per worker slot inside (each holds <= 1). */
    atomic_ullong sem_mask[CH_NSEMS];
    /* Condition: items in the buffer, changed under chaos/cond_lock only. */
    atomic_int cond_items;
    /* chaos/event_once was set (and is never cleared afterwards). */
    atomic_int ev_once_set;

    /* Fixed barrier: per round, bits 0..7 indices seen, 8..15 count of
     * SYNC_EBROKEN, 16..23 count of indices. */
    atomic_uint fixed_round[CH_RING];
    atomic_uint fb_acks;      /* SYNC_EBROKEN acknowledgements */
    atomic_uint fb_reset_gen; /* broken rounds the leader has reset */
    atomic_int fb_stop_round; /* last round, 0 while running */

    /* Kill-break scenario: what the sacrificial parties saw. */
    atomic_int kb_go;
    atomic_int kb_rc[4];
    /* CLOCK_MONOTONIC microseconds when each party called / returned. */
    atomic_llong kb_t_call_us[4];
    atomic_llong kb_t_ret_us[4];

    struct chaos_stats st;
    atomic_uint n_viol;
    char msg[CH_MSGS][CH_MSG_LEN];
    /* Incarnations known dead (reaped by the killer), one bit each. */
    atomic_uchar dead[CH_MAX_INCARNATIONS / 8];
};

/* The block, mapped before the first fork. */
extern struct chaos_shm *ch;

/* ---- chaos_util.c -------------------------------------------------------- */

double ch_now(void);
void ch_sleep_s(double s);
/* Per-process xorshift generator. */
void ch_seed(uint64_t s);
uint64_t ch_rand(void);
/* Uniform in [lo, hi]. */
int ch_rand_int(int lo, int hi);
double ch_rand_dbl(double lo, double hi);
/* True with probability pct/100. */
bool ch_chance(int pct);

/* Record a violation (counted; the first CH_MSGS messages are kept). */
void ch_violation(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A random timeout for a blocking call: 0 (try once) .. max seconds. */
double ch_rand_timeout(double max);

/*
 * Check a timed call that started at t0 with timeout (negative: a
 * non-blocking try): it returned within timeout + margin, a SYNC_ETIMEDOUT
 * not before its timeout (less cfg.early), and rc is 0, a value in
 * [0, max_value] when max_value > 0, or one of the allowed codes (a
 * 0-terminated list).  Counts the operation.  Returns rc.
 */
int ch_check_call(const char *what,
                  double t0,
                  double timeout,
                  int rc,
                  int max_value,
                  const int *allowed);

/* Whether an incarnation was reaped dead; waits up to wait_s for it. */
bool ch_is_dead(unsigned inc, double wait_s);
void ch_mark_dead(unsigned inc);

/*
 * Witnesses: take after a successful acquire (owner_died: the daemon's
 * flag, 1 when the previous holder died holding it), give back before the
 * release.  A slot held by someone else is a violation unless owner_died
 * says the holder died and that incarnation is in fact dead (reaped by the
 * killer, waited for up to 5 s).
 */
void ch_witness_take(atomic_uint *slot,
                     unsigned me,
                     int owner_died,
                     const char *what);
void ch_witness_give(atomic_uint *slot, unsigned me, const char *what);

/* Connect to the daemon (counted); exits the process on failure. */
sync_client *ch_connect(void);

/* ---- processes ----------------------------------------------------------- */

/* chaos_worker.c: a killable worker; never returns. */
void ch_worker_main(int slot, unsigned incarnation) __attribute__((noreturn));
/* chaos_killer.c: spawn, kill and respawn workers; never returns. */
void ch_killer_main(void) __attribute__((noreturn));
/* chaos_barrier.c: a fixed barrier party; never returns. */
void ch_fixed_party_main(int id) __attribute__((noreturn));
/* chaos_barrier.c: the kill-break coordinator; never returns. */
void ch_killbreak_main(void) __attribute__((noreturn));
/* chaos_barrier.c: check the fixed barrier's last rounds (at the end). */
void ch_fixed_final_check(void);

/* ---- chaos_inspect.c: the daemon's own accounting ------------------------ */

/* Invariants of every chaos/ object that hold at any instant (lock holders
 * <= 1, semaphore values within [0, initial], ...).  Returns the number of
 * objects listed, -1 on error (a violation). */
int ch_inspect_live(sync_client *c);
/*
 * Once every other client is gone (polled up to 10 s): status shows one
 * client (c) and no waiters, n_objects objects; every object is unheld,
 * unwaited, semaphores back at their initial values, handles exactly the
 * checker's; the checker's session has my_handles handles.
 */
void ch_inspect_final(sync_client *c, unsigned n_objects, unsigned my_handles);

#endif
