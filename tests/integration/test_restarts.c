/*
 * test_restarts.c: a daemon killer under load.  Eight worker processes
 * take turns on one Lock while the test kills syncd with SIGKILL every
 * half second or so (and stops it cleanly now and then), restarting it on
 * the same state directory each time.  The workers reconnect by hand when
 * their calls return SYNC_ECONN or SYNC_ESHUTDOWN (libsyncclient's own
 * reconnecting is off, as in every fixture test): each connection is a new
 * client, so no hold is ever reclaimed and the daemons run with
 * --grace-ms 0 (test_reclaim covers reclaiming and the grace period).
 *
 * Invariants checked:
 * - no two holders within one daemon run (generation);
 * - every token a restarted daemon hands out is greater than every token
 *   seen before the kill (fencing tokens never repeat);
 * - an Event set before a clean stop is set after it;
 * - the workers made progress after most restarts (they reconnect).
 */
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "daemon_fixture.h"
#include "syncclient.h"

#define N_WORKERS 8
#define N_GENS 64

struct shared {
    atomic_int stop;
    atomic_int gen;                  /* daemon runs started so far */
    atomic_int holders[N_GENS];      /* per daemon run */
    atomic_ullong max_token;         /* greatest token seen */
    atomic_ullong floor[N_GENS];     /* max_token when run g began */
    atomic_uint grants[N_GENS];
    atomic_uint violations;
    char what[256];
};

static struct shared *sh;
static char state_dir[160];

static void violation(const char *fmt, unsigned long long a,
                      unsigned long long b)
{
    if (atomic_fetch_add(&sh->violations, 1) == 0)
        snprintf(sh->what, sizeof(sh->what), fmt, a, b);
}

static bool gone(int rv)
{
    return rv == SYNC_ECONN || rv == SYNC_ESHUTDOWN;
}

static void worker(void)
{
    while (!atomic_load(&sh->stop)) {
        sync_client *c = NULL;
        sync_lock *l = NULL;
        int gen = atomic_load(&sh->gen), rv;

        if (sync_connect(syncd_fx.sock, &c) != 0) {
            fx_sleep_ms(10);
            continue;
        }
        /* The run this connection reached began at or after gen was read;
         * read again now that it is up (the killer bumps gen before each
         * start). */
        gen = atomic_load(&sh->gen);
        rv = sync_lock_open(c, "restarts/lock", &l);
        while (rv == 0 && !atomic_load(&sh->stop)) {
            unsigned long long tok, floor;

            rv = sync_lock_acquire(l, true, 0.5);
            if (rv == SYNC_ETIMEDOUT) {
                rv = 0;
                continue;
            }
            if (rv != 0)
                break;
            tok = sync_lock_token(l);
            floor = atomic_load(&sh->floor[gen % N_GENS]);
            if (atomic_fetch_add(&sh->holders[gen % N_GENS], 1) != 0)
                violation("two holders in one daemon run (token %llu, run "
                          "%llu)", tok, (unsigned long long)gen);
            if (tok <= floor)
                violation("token %llu not above %llu, the greatest before "
                          "the restart", tok, floor);
            for (unsigned long long m = atomic_load(&sh->max_token);
                 tok > m &&
                 !atomic_compare_exchange_weak(&sh->max_token, &m, tok);)
                ;
            atomic_fetch_add(&sh->grants[gen % N_GENS], 1);
            usleep(200);
            atomic_fetch_sub(&sh->holders[gen % N_GENS], 1);
            rv = sync_lock_release(l);
        }
        if (rv != 0 && !gone(rv))
            violation("unexpected error %llu (run %llu)",
                      (unsigned long long)-rv, (unsigned long long)gen);
        if (l != NULL)
            sync_lock_close(l);
        sync_disconnect(c);
    }
    _exit(0);
}

static void start_run(void)
{
    int g = atomic_fetch_add(&sh->gen, 1) + 1;

    /* Every token seen so far came from earlier runs. */
    atomic_store(&sh->floor[g % N_GENS], atomic_load(&sh->max_token));
    syncd_fixture_start((const char *[]){"--state-dir", state_dir, "--fsync",
                                         "batch", "--grace-ms", "0",
                                         "--quiet", NULL});
}

/* Set the Event name through a connection of its own. */
static void event_do(const char *name, bool set, int *is_set)
{
    sync_client *c;
    sync_event *e;

    cr_assert(eq(int, sync_connect(syncd_fx.sock, &c), 0));
    cr_assert(eq(int, sync_event_open(c, name, &e), 0));
    if (set)
        cr_assert(eq(int, sync_event_set(e), 0));
    if (is_set != NULL)
        *is_set = sync_event_is_set(e);
    sync_event_close(e);
    sync_disconnect(c);
}

Test(restarts, kill9_every_half_second_under_load,
     .fini = syncd_fixture_fini, .timeout = 120)
{
    pid_t pids[N_WORKERS];
    char name[64];
    int i, cycle, set, progressed = 0, runs;
    unsigned total = 0;

    sh = fx_shared(sizeof(*sh));
    syncd_fixture_mkdir();
    snprintf(state_dir, sizeof(state_dir), "%s/state", syncd_fx.dir);
    start_run();
    for (i = 0; i < N_WORKERS; i++) {
        pids[i] = fx_fork();
        cr_assert(ge(int, pids[i], 0));
        if (pids[i] == 0)
            worker();
    }
    for (cycle = 0; cycle < 12; cycle++) {
        fx_sleep_ms(400 + rand() % 400);
        if (cycle % 4 == 3) {
            /* A clean stop: an Event set just before it must survive. */
            snprintf(name, sizeof(name), "restarts/ev%d", cycle);
            event_do(name, true, NULL);
            cr_assert(eq(int, syncd_fixture_stop(), 0));
            start_run();
            event_do(name, false, &set);
            cr_assert(eq(int, set, 1), "%s lost across a clean stop", name);
        } else {
            cr_assert(eq(int, syncd_fixture_kill(SIGKILL), 128 + SIGKILL));
            start_run();
        }
    }
    fx_sleep_ms(500);
    atomic_store(&sh->stop, 1);
    for (i = 0; i < N_WORKERS; i++)
        cr_assert(eq(int, fx_waitpid(pids[i], 10000), 0));
    cr_assert(eq(u32, atomic_load(&sh->violations), 0), "%s", sh->what);
    runs = atomic_load(&sh->gen);
    for (i = 1; i <= runs; i++) {
        progressed += atomic_load(&sh->grants[i % N_GENS]) > 0;
        total += atomic_load(&sh->grants[i % N_GENS]);
    }
    cr_log_info("%d daemon runs, %d with grants, %u grants, greatest token "
                "%llu", runs, progressed, total,
                (unsigned long long)atomic_load(&sh->max_token));
    /* Reconnecting works: grants in nearly every run (a run of 0.4 s on a
     * loaded machine may be over before a worker reconnects). */
    cr_assert(ge(int, progressed, runs - 2), "grants in %d of %d runs",
              progressed, runs);
}
