/*
 * daemon_fixture.h: a real syncd for one integration test, plus the small
 * process helpers the integration tests share (fork with a parent-death
 * signal, shared memory, bounded waits, a monotonic clock).
 *
 * Each test (one Criterion process) gets its own temporary directory with
 * the socket (DIR/s.sock) and the daemon's stderr (DIR/syncd.log).  The
 * suite's .fini stops the daemon with SIGTERM and checks exit status 0 and
 * no sanitizer report in the log, so every test also proves a clean
 * teardown (libuv's MAKE_VALGRIND_HAPPY idea).
 *
 * Usage:
 *   TestSuite(lock, .init = syncd_fixture_init, .fini = syncd_fixture_fini,
 *             .timeout = 30);
 * or, with extra daemon options, an init of one's own that calls
 * syncd_fixture_start((const char *[]){"--max-waits", "2", NULL}).
 *
 * Criterion 2.4 only prints a failed cr_assert in a .fini and still counts
 * the test as passed, so the fini reports what it found and then abort()s:
 * the test binary then exits non-zero and CTest fails.
 */
#ifndef SYNCD_TEST_DAEMON_FIXTURE_H
#define SYNCD_TEST_DAEMON_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct syncd_fixture {
    char dir[64];    /* mkdtemp'd, removed by fini */
    char sock[128];  /* DIR/s.sock */
    char log[128];   /* DIR/syncd.log: the daemon's stderr and stdout */
    pid_t pid;       /* the daemon, or -1 */
    bool stopped;    /* already waited for; fini skips the SIGTERM */
    bool check_exit; /* fini requires exit status 0 (cleared by a kill) */
    int status;      /* raw wait status once stopped */
};

/* The fixture of the running test (one per test process). */
extern struct syncd_fixture syncd_fx;

/* Create the temporary directory only (for tests that spawn by hand). */
void syncd_fixture_mkdir(void);

/*
 * Create the directory if needed, spawn syncd --socket DIR/s.sock plus the
 * NULL-terminated extra args (may be NULL), and wait up to 5 s until it
 * accepts connections.  Fails the test if it does not.
 */
void syncd_fixture_start(const char *const *extra_args);

/* .init for suites that need no extra options. */
void syncd_fixture_init(void);

/*
 * .fini: stop the daemon with SIGTERM unless already stopped; require exit
 * status 0 (unless it was deliberately killed) and no "ERROR:
 * AddressSanitizer" / "ERROR: LeakSanitizer" / "runtime error:" line in
 * its log; remove the directory.  Aborts (failing the binary) otherwise.
 */
void syncd_fixture_fini(void);

/*
 * Send SIGTERM and wait (up to 10 s, then SIGKILL).  Returns the exit
 * status (0..255), 128 + signal if killed by a signal, -1 on error.
 * Marks the fixture stopped; fini still requires the status to be 0.
 */
int syncd_fixture_stop(void);

/*
 * Send sig (e.g. SIGKILL) and wait for the daemon to end.  Marks it
 * stopped and exempts it from fini's exit status check (the log is still
 * checked).  Returns as syncd_fixture_stop().
 */
int syncd_fixture_kill(int sig);

/* Whether the daemon process is still running. */
bool syncd_fixture_alive(void);

/* The whole log (malloc'd, NUL-terminated; "" if missing).  Free it. */
char *syncd_fixture_read_log(void);

/* Whether the log contains needle, polling for up to timeout_ms. */
bool syncd_fixture_log_contains(const char *needle, int timeout_ms);

/* ---- lower-level pieces -------------------------------------------------- */

/*
 * Spawn syncd with the given socket path and extra args (NULL-terminated,
 * may be NULL), its stdout and stderr appended to log_path.  Returns its
 * pid (does not wait for readiness) or -1.
 */
pid_t syncd_spawn(const char *sock, const char *log_path,
                  const char *const *extra_args);

/* Wait until something accepts connections on sock; false after
 * timeout_ms, or as soon as pid (if > 0) is found to have exited. */
bool syncd_wait_ready(const char *sock, pid_t pid, int timeout_ms);
/* How long a daemon may take to start listening: 5 s, 30 s under
 * $SYNCD_TEST_DAEMON_PREFIX (Valgrind, on a loaded machine). */
int syncd_start_ms(void);
/* A latency a test promises (e.g. a crashed holder's lock passed on
 * within 0.1 s): as given, or 10x under $SYNCD_TEST_DAEMON_PREFIX, where
 * Valgrind runs the daemon some 20-50x slower and the test is about its
 * memory, not its speed. */
double syncd_latency_s(double seconds);

/* Whether the file at path contains needle. */
bool file_contains(const char *path, const char *needle);

/* Whether a line of what the shell command cmd prints contains a and (if
 * not NULL) b. */
bool command_has_line(const char *cmd, const char *a, const char *b);

/* ---- processes, time, shared memory -------------------------------------- */

/* CLOCK_MONOTONIC in seconds. */
double fx_now(void);

/* Sleep for ms milliseconds (restarting on EINTR). */
void fx_sleep_ms(int ms);

/*
 * fork() whose child gets SIGKILL when the test process dies (so a failed
 * or timed-out test leaves nothing behind).  A child must end with
 * _exit(), never exit() or return, and must not use cr_assert.
 */
pid_t fx_fork(void);

/*
 * Wait up to timeout_ms for pid to end.  Returns the exit status (0..255)
 * or 128 + signal; on timeout kills it with SIGKILL, reaps it and returns
 * -1.
 */
int fx_waitpid(pid_t pid, int timeout_ms);

/* Same, but returns the raw wait status, or -1 without killing on
 * timeout. */
int fx_wait_status(pid_t pid, int timeout_ms);

/* Raw wait status to 0..255 or 128 + signal. */
int fx_exit_code(int status);

/* Zeroed memory shared with children forked afterwards (never freed:
 * the test process is short-lived). */
void *fx_shared(size_t size);

/* Write one byte to fd (a readiness signal). */
void fx_signal(int fd);

/* Wait for one byte on fd: 1 got it, 0 EOF, -1 timeout or error. */
int fx_await(int fd, int timeout_ms);

#endif
