/*
 * daemon_fixture.c: spawn, probe, stop and check a real syncd per test.
 */
#include "daemon_fixture.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#ifndef SYNCD_BIN
#error "SYNCD_BIN must name the syncd binary"
#endif

struct syncd_fixture syncd_fx = {.pid = -1};

static int syncd_fixture_reap(int sig);
static int rm_entry(const char *path, const struct stat *st, int flag,
                    struct FTW *ftw);

bool command_has_line(const char *cmd, const char *a, const char *b)
{
    char line[512];
    bool found = false;
    FILE *p = popen(cmd, "r");

    cr_assert(p != NULL, "popen %s", cmd);
    while (fgets(line, sizeof(line), p) != NULL)
        if (strstr(line, a) != NULL && (b == NULL || strstr(line, b) != NULL))
            found = true;
    pclose(p);
    return found;
}

/* ---- time, processes, shared memory -------------------------------------- */

double fx_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void fx_sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000,
                          .tv_nsec = (long)(ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

pid_t fx_fork(void)
{
    pid_t parent = getpid();
    pid_t pid = fork();

    if (pid == 0) {
        /* Die with the test process; check for a parent already gone. */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
            _exit(126);
    }
    return pid;
}

int fx_exit_code(int status)
{
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return -1;
}

int fx_wait_status(pid_t pid, int timeout_ms)
{
    double deadline = fx_now() + timeout_ms / 1000.0;
    int status;
    pid_t r;

    for (;;) {
        r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return status;
        if (r < 0 && errno != EINTR)
            return -1;
        if (fx_now() >= deadline)
            return -1;
        fx_sleep_ms(2);
    }
}

int fx_waitpid(pid_t pid, int timeout_ms)
{
    int status;

    /* kill(-1 or 0, SIGKILL) below would hit every process we may signal. */
    cr_assert(pid > 0, "fx_waitpid needs a real child pid, got %d", (int)pid);
    status = fx_wait_status(pid, timeout_ms);
    if (status == -1) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return -1;
    }
    return fx_exit_code(status);
}

void *fx_shared(size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);

    cr_assert(p != MAP_FAILED, "mmap shared: %s", strerror(errno));
    return p;
}

void fx_signal(int fd)
{
    char b = 'x';
    ssize_t n;

    do {
        n = write(fd, &b, 1);
    } while (n < 0 && errno == EINTR);
}

int fx_await(int fd, int timeout_ms)
{
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    double deadline = fx_now() + timeout_ms / 1000.0;
    char b;
    ssize_t n;
    int left, r;

    for (;;) {
        left = (int)((deadline - fx_now()) * 1000.0);
        if (left < 0)
            left = 0;
        r = poll(&pfd, 1, left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        n = read(fd, &b, 1);
        if (n < 0 && errno == EINTR)
            continue;
        return n == 1 ? 1 : n == 0 ? 0 : -1;
    }
}

/* ---- spawning ------------------------------------------------------------ */

/*
 * $SYNCD_TEST_DAEMON_PREFIX (e.g. "valgrind -q --error-exitcode=99
 * --leak-check=full") runs every test daemon under a tool; its words are
 * split on spaces.  The tool's error exit status fails the fixture.
 */
static int syncd_spawn_prefix(const char **argv, int max)
{
    static char buf[512];
    const char *env = getenv("SYNCD_TEST_DAEMON_PREFIX");
    char *save = NULL, *w;
    int argc = 0;

    if (env == NULL || env[0] == '\0')
        return 0;
    snprintf(buf, sizeof(buf), "%s", env);
    for (w = strtok_r(buf, " ", &save); w != NULL && argc < max;
         w = strtok_r(NULL, " ", &save))
        argv[argc++] = w;
    return argc;
}

/*
 * In the daemon's child, before exec: with SYNCD_TEST_LISTEN_FD=N (a
 * listening socket of the test, N > 3), pass it as systemd does (fd 3,
 * LISTEN_FDS=1, LISTEN_PID=this pid).
 */
static void syncd_spawn_activation(void)
{
    const char *lfd = getenv("SYNCD_TEST_LISTEN_FD");
    char pid[24];

    if (lfd == NULL)
        return;
    if (atoi(lfd) <= 3 || dup2(atoi(lfd), 3) != 3)
        _exit(126);
    snprintf(pid, sizeof(pid), "%d", (int)getpid());
    setenv("LISTEN_FDS", "1", 1);
    setenv("LISTEN_PID", pid, 1);
}

pid_t syncd_spawn(const char *sock, const char *log_path,
                  const char *const *extra_args)
{
    const char *argv[48];
    int argc = syncd_spawn_prefix(argv, 16), logfd, nullfd;
    pid_t parent = getpid(), pid;

    argv[argc++] = SYNCD_BIN;
    argv[argc++] = "--socket";
    argv[argc++] = sock;
    for (; extra_args != NULL && *extra_args != NULL; extra_args++) {
        if (argc >= 47)
            return -1;
        argv[argc++] = *extra_args;
    }
    argv[argc] = NULL;

    logfd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (logfd < 0)
        return -1;
    nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (nullfd < 0) {
        close(logfd);
        return -1;
    }
    pid = fork();
    if (pid == 0) {
        /* Never outlive the test process, even if it is killed. */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
            _exit(126);
        if (dup2(nullfd, 0) < 0 || dup2(logfd, 1) < 0 || dup2(logfd, 2) < 0)
            _exit(126);
        syncd_spawn_activation();
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(logfd);
    close(nullfd);
    return pid;
}

int syncd_start_ms(void)
{
    return getenv("SYNCD_TEST_DAEMON_PREFIX") ? 30000 : 5000;
}

double syncd_latency_s(double seconds)
{
    return getenv("SYNCD_TEST_DAEMON_PREFIX") ? seconds * 10 : seconds;
}

bool syncd_wait_ready(const char *sock, pid_t pid, int timeout_ms)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    double deadline = fx_now() + timeout_ms / 1000.0;
    int fd, rv, status;

    if (strlen(sock) >= sizeof(sa.sun_path))
        return false;
    strcpy(sa.sun_path, sock);
    for (;;) {
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return false;
        rv = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
        close(fd);
        if (rv == 0)
            return true;
        if (pid > 0 && waitpid(pid, &status, WNOHANG) == pid) {
            /* Exited: remember it so nobody waits for it again. */
            if (pid == syncd_fx.pid) {
                syncd_fx.stopped = true;
                syncd_fx.status = status;
            }
            return false;
        }
        if (fx_now() >= deadline)
            return false;
        fx_sleep_ms(5);
    }
}

/* ---- the per-test fixture ------------------------------------------------ */

void syncd_fixture_mkdir(void)
{
    /* The tests expect SYNC_ECONN when they take the daemon away; those
     * of reconnecting (test_reclaim) turn it on per client. */
    setenv("SYNCD_RECONNECT", "0", 0);
    if (syncd_fx.dir[0] != '\0')
        return;
    strcpy(syncd_fx.dir, "/tmp/syncd-it-XXXXXX");
    cr_assert(mkdtemp(syncd_fx.dir) != NULL, "mkdtemp: %s", strerror(errno));
    snprintf(syncd_fx.sock, sizeof(syncd_fx.sock), "%s/s.sock",
             syncd_fx.dir);
    snprintf(syncd_fx.log, sizeof(syncd_fx.log), "%s/syncd.log",
             syncd_fx.dir);
}

void syncd_fixture_start(const char *const *extra_args)
{
    syncd_fixture_mkdir();
    syncd_fx.stopped = false;
    syncd_fx.check_exit = true;
    syncd_fx.status = 0;
    syncd_fx.pid = syncd_spawn(syncd_fx.sock, syncd_fx.log, extra_args);
    cr_assert(syncd_fx.pid > 0, "spawning %s failed", SYNCD_BIN);
    if (!syncd_wait_ready(syncd_fx.sock, syncd_fx.pid, syncd_start_ms())) {
        bool exited = syncd_fx.stopped;
        char *log;
        int code;

        /* Criterion runs no .fini after a failed .init: clean up here. */
        syncd_fx.check_exit = false;
        code = syncd_fixture_reap(SIGKILL);
        log = syncd_fixture_read_log();
        cr_log_error("syncd log:\n%s", log);
        free(log);
        nftw(syncd_fx.dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
        if (exited)
            cr_assert_fail("syncd exited with status %d at start-up", code);
        cr_assert_fail("syncd did not accept connections on %s within 5 s",
                       syncd_fx.sock);
    }
}

void syncd_fixture_init(void)
{
    syncd_fixture_start(NULL);
}

static int syncd_fixture_reap(int sig)
{
    int status;

    if (syncd_fx.pid <= 0)
        return -1;
    if (!syncd_fx.stopped) {
        kill(syncd_fx.pid, sig);
        status = fx_wait_status(syncd_fx.pid, 10000);
        if (status == -1) {
            /* Hung on shutdown: that is a failure (status 128+9). */
            kill(syncd_fx.pid, SIGKILL);
            waitpid(syncd_fx.pid, &status, 0);
        }
        syncd_fx.stopped = true;
        syncd_fx.status = status;
    }
    return fx_exit_code(syncd_fx.status);
}

int syncd_fixture_stop(void)
{
    return syncd_fixture_reap(SIGTERM);
}

int syncd_fixture_kill(int sig)
{
    syncd_fx.check_exit = false;
    return syncd_fixture_reap(sig);
}

bool syncd_fixture_alive(void)
{
    int status;

    if (syncd_fx.pid <= 0 || syncd_fx.stopped)
        return false;
    if (waitpid(syncd_fx.pid, &status, WNOHANG) == syncd_fx.pid) {
        syncd_fx.stopped = true;
        syncd_fx.status = status;
        return false;
    }
    return true;
}

static char *read_file_all(const char *path)
{
    FILE *f = fopen(path, "r");
    char *buf = NULL;
    size_t len = 0, cap = 0, n;

    if (f != NULL) {
        for (;;) {
            if (cap - len < 4096) {
                cap = cap ? cap * 2 : 8192;
                buf = realloc(buf, cap);
                cr_assert(buf != NULL);
            }
            n = fread(buf + len, 1, cap - len - 1, f);
            if (n == 0)
                break;
            len += n;
        }
        fclose(f);
    }
    if (buf == NULL) {
        buf = malloc(1);
        cr_assert(buf != NULL);
    }
    buf[len] = '\0';
    return buf;
}

bool file_contains(const char *path, const char *needle)
{
    char *s = read_file_all(path);
    bool found = strstr(s, needle) != NULL;

    free(s);
    return found;
}

char *syncd_fixture_read_log(void)
{
    return read_file_all(syncd_fx.log);
}

bool syncd_fixture_log_contains(const char *needle, int timeout_ms)
{
    double deadline = fx_now() + timeout_ms / 1000.0;

    for (;;) {
        if (file_contains(syncd_fx.log, needle))
            return true;
        if (fx_now() >= deadline)
            return false;
        fx_sleep_ms(10);
    }
}

static int rm_entry(const char *path, const struct stat *st, int flag,
                    struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

/* Every sanitizer report starts with one of these. */
static const char *const sanitizer_marks[] = {
    "ERROR: AddressSanitizer",
    "ERROR: LeakSanitizer",
    "runtime error:",
};

/* Whether the log at path has a sanitizer report; prints it if so. */
static bool log_has_report(const char *path)
{
    char *log = read_file_all(path);
    bool found = false;
    size_t i;

    for (i = 0; i < sizeof(sanitizer_marks) / sizeof(sanitizer_marks[0]);
         i++) {
        if (strstr(log, sanitizer_marks[i]) != NULL) {
            fprintf(stderr, "syncd fixture: %s has \"%s\"\n", path,
                    sanitizer_marks[i]);
            found = true;
        }
    }
    if (found)
        fprintf(stderr, "---- %s ----\n%s---- end of log ----\n", path,
                log);
    free(log);
    return found;
}

void syncd_fixture_fini(void)
{
    char path[sizeof(syncd_fx.dir) + 256];
    struct dirent *de;
    bool failed = false;
    char *log;
    size_t n;
    DIR *d;
    int code;

    if (syncd_fx.pid > 0) {
        code = syncd_fixture_stop();
        if (syncd_fx.check_exit && code != 0) {
            fprintf(stderr, "syncd fixture: daemon (pid %d) exit status %d, "
                            "expected 0\n", (int)syncd_fx.pid, code);
            log = syncd_fixture_read_log();
            fprintf(stderr, "---- %s ----\n%s---- end of log ----\n",
                    syncd_fx.log, log);
            free(log);
            failed = true;
        }
    }
    if (syncd_fx.dir[0] == '\0')
        return;
    /* Every daemon the test started logs into the directory: check each
     * *.log file. */
    d = opendir(syncd_fx.dir);
    while (d != NULL && (de = readdir(d)) != NULL) {
        n = strlen(de->d_name);
        if (n < 4 || strcmp(de->d_name + n - 4, ".log") != 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", syncd_fx.dir, de->d_name);
        if (log_has_report(path))
            failed = true;
    }
    if (d != NULL)
        closedir(d);
    nftw(syncd_fx.dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    if (failed) {
        /* A failed cr_assert in a fini does not fail the test in
         * Criterion 2.4; crashing the teardown fails the binary. */
        fprintf(stderr, "syncd fixture: teardown check failed\n");
        abort();
    }
}
