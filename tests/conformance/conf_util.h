/*
 * conf_util.h: helpers of the conformance suite (tests/conformance), which
 * checks syncd against the sentences of Python's threading reference
 * (https://docs.python.org/3/library/threading.html).
 *
 * Every scenario is written once and run twice, by CONF_BOTH: with workers
 * as threads of the test process (all sharing the test's one sync_client)
 * and with workers as forked processes (each child drops the inherited
 * client, as the fork() rules of syncclient.h require, and calls
 * sync_connect itself).  A worker reports through memory from
 * conf_shared() (MAP_SHARED, so both kinds see it) and through its return
 * value: 0, or the line of its first failed W_EQ / W_TRUE check (which is
 * also printed on stderr).  Workers never use cr_assert.
 *
 * Mapping of Python's exceptions and return values:
 *   True / False (acquire, wait)   0 / SYNC_ETIMEDOUT
 *   RuntimeError                   SYNC_EPERM
 *   ValueError                     SYNC_EVALUE (bounded release), or
 *                                  SYNC_EINVAL (bad argument)
 *   BrokenBarrierError             SYNC_EBROKEN
 */
#ifndef SYNCD_CONF_UTIL_H
#define SYNCD_CONF_UTIL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "daemon_fixture.h"
#include "syncclient.h"

enum conf_mode { CONF_THREADS, CONF_PROCS };

/* Most workers one group may have. */
#define CONF_MAX_WORKERS 16

/*
 * How long a request needs to reach the daemon and block there, where the
 * API offers no way to observe it (a Lock, Semaphore or Event queue): the
 * worker first announces itself through shared memory, then the test
 * sleeps this long.  Generous: the real time is well under 1 ms.
 */
#define CONF_SETTLE_MS 200

/*
 * Upper bounds on durations, loose enough for a loaded 2-CPU machine
 * under ASan: a call that must not block returns within CONF_PROMPT_S (a
 * wrongly blocking one would take its whole timeout, >= 3 s, or forever);
 * a timeout may fire up to CONF_LATE_S late.  Lower bounds are exact.
 */
#define CONF_PROMPT_S 2.0
#define CONF_LATE_S 3.0

/*
 * Define one scenario `static void name(enum conf_mode mode)` and two
 * Criterion tests running it: suite/name_threads and suite/name_procs.
 * The variadic part is the Test options (give .timeout).
 */
#define CONF_BOTH(suite, name, ...)                                           \
    static void name(enum conf_mode mode);                                    \
    Test(suite, name##_threads, __VA_ARGS__) { name(CONF_THREADS); }          \
    Test(suite, name##_procs, __VA_ARGS__) { name(CONF_PROCS); }              \
    static void name(enum conf_mode mode)

/* Same with separate Test options per variant, each in parentheses:
 * CONF_BOTH_OPTS(s, n, (.timeout = 20, .disabled = true), (.timeout = 20)) */
#define CONF_UNPAREN(...) __VA_ARGS__
#define CONF_BOTH_OPTS(suite, name, thread_opts, proc_opts)                   \
    static void name(enum conf_mode mode);                                    \
    Test(suite, name##_threads, CONF_UNPAREN thread_opts)                     \
    {                                                                         \
        name(CONF_THREADS);                                                   \
    }                                                                         \
    Test(suite, name##_procs, CONF_UNPAREN proc_opts) { name(CONF_PROCS); }   \
    static void name(enum conf_mode mode)

/* A worker: idx is 0..n-1; returns 0 or the line of a failed check. */
typedef int (*conf_fn)(sync_client *c, int idx, void *arg);

struct conf_group;

/*
 * Start n workers running fn(client, idx, arg).  Threads get c (the test's
 * client); processes get a connection of their own.  arg must live in
 * conf_shared() memory when processes are to write to it.
 */
struct conf_group *conf_spawn(enum conf_mode mode, sync_client *c, int n,
                              conf_fn fn, void *arg);

/*
 * Wait up to timeout_ms for every worker not yet reaped, assert that each
 * ended normally and returned 0, and free the group.
 */
void conf_join(struct conf_group *g, int timeout_ms);

/* Process mode only: the pid of worker idx. */
pid_t conf_pid(const struct conf_group *g, int idx);

/* Process mode only: SIGKILL worker idx and reap it (join skips it). */
void conf_kill(struct conf_group *g, int idx);

/* Whether worker idx has returned (its result is then in place). */
bool conf_done(const struct conf_group *g, int idx);

/* Zeroed MAP_SHARED memory (visible to threads and forked children). */
void *conf_shared(size_t size);

/* Connect a client of the test itself (asserts). */
sync_client *conf_connect(void);

/* A pipe: one byte per signal; works the same between threads. */
struct conf_chan {
    int r, w;
};
void conf_chan_init(struct conf_chan *ch);
void conf_chan_signal(const struct conf_chan *ch, int times);
/* 1 got a byte, 0 EOF, -1 timeout. */
int conf_chan_await(const struct conf_chan *ch, int timeout_ms);
void conf_chan_close(struct conf_chan *ch);

/* Printed by W_EQ / W_TRUE; returns line (> 0). */
int conf_wfail(const char *file, int line, const char *expr, long got,
               long want);

/* Worker checks: return the line from the worker on failure. */
#define W_EQ(got, want)                                                       \
    do {                                                                      \
        long w_got_ = (long)(got), w_want_ = (long)(want);                    \
        if (w_got_ != w_want_)                                                \
            return conf_wfail(__FILE__, __LINE__, #got, w_got_, w_want_);     \
    } while (0)
#define W_TRUE(cond)                                                          \
    do {                                                                      \
        if (!(cond))                                                          \
            return conf_wfail(__FILE__, __LINE__, #cond, 0, 1);               \
    } while (0)

/* Poll (every 2 ms) until cond holds; fail the test after ms. */
#define CONF_WAIT_UNTIL(cond, ms)                                             \
    do {                                                                      \
        double conf_dl_ = fx_now() + (ms) / 1000.0;                           \
        while (!(cond) && fx_now() < conf_dl_)                                \
            fx_sleep_ms(2);                                                   \
        bool conf_ok_ = (cond);                                               \
        cr_assert(conf_ok_, "still false after %d ms: %s", (int)(ms), #cond); \
    } while (0)

/* Same, inside a worker (returns the line on timeout). */
#define W_WAIT_UNTIL(cond, ms)                                                \
    do {                                                                      \
        double conf_dl_ = fx_now() + (ms) / 1000.0;                           \
        while (!(cond) && fx_now() < conf_dl_)                                \
            fx_sleep_ms(2);                                                   \
        W_TRUE(cond);                                                         \
    } while (0)

/* Suite boilerplate: each test its own daemon; .timeout on each test. */
#define CONF_SUITE(suite)                                                     \
    TestSuite(suite, .init = syncd_fixture_init,                              \
              .fini = syncd_fixture_fini, .timeout = 30)

#endif
