/*
 * test_lifecycle.c: the daemon's start and stop.  A graceful stop answers
 * waiters and removes the socket; a second daemon on a live socket refuses
 * to start; a stale socket file is cleaned up; bad options are usage
 * errors; connecting where no daemon listens is SYNC_ECONN.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "daemon_fixture.h"
#include "syncclient.h"

TestSuite(lifecycle, .init = syncd_fixture_init, .fini = syncd_fixture_fini,
          .timeout = 30);

static bool path_exists(const char *path)
{
    struct stat st;

    return lstat(path, &st) == 0;
}

struct waiter {
    sync_event *e;
    int rv;
};

static void *wait_main(void *p)
{
    struct waiter *w = p;

    w->rv = sync_event_wait(w->e, 20.0);
    return NULL;
}

Test(lifecycle, sigterm_answers_waiters_and_removes_the_socket)
{
    struct waiter w = {.rv = 1};
    sync_client *c;
    pthread_t t;

    cr_assert(path_exists(syncd_fx.sock));
    cr_assert(eq(int, sync_connect(syncd_fx.sock, &c), 0));
    cr_assert(eq(int, sync_event_open(c, "life/never", &w.e), 0));
    cr_assert(eq(int, pthread_create(&t, NULL, wait_main, &w), 0));
    fx_sleep_ms(100); /* margin for the wait to reach the daemon */
    cr_assert(eq(int, syncd_fixture_stop(), 0));
    pthread_join(t, NULL);
    cr_assert(eq(int, w.rv, SYNC_ESHUTDOWN));
    cr_assert(not(path_exists(syncd_fx.sock)), "socket file left behind");
    cr_assert(syncd_fixture_log_contains("shutting down: 1 client(s)", 0));
    cr_assert(eq(int, sync_event_is_set(w.e), SYNC_ECONN));
    sync_event_close(w.e);
    sync_disconnect(c);
}

Test(lifecycle, sigint_stops_gracefully_too)
{
    int st;

    cr_assert(eq(int, kill(syncd_fx.pid, SIGINT), 0));
    st = fx_wait_status(syncd_fx.pid, 10000);
    cr_assert(ne(int, st, -1), "no exit after SIGINT");
    /* Reaped here; the fini still checks the status. */
    syncd_fx.stopped = true;
    syncd_fx.status = st;
    cr_assert(eq(int, fx_exit_code(st), 0));
    cr_assert(not(path_exists(syncd_fx.sock)));
}

Test(lifecycle, second_daemon_on_a_live_socket_exits_1)
{
    char log2[sizeof(syncd_fx.dir) + 16];
    sync_client *c;
    sync_lock *l;
    pid_t pid;

    snprintf(log2, sizeof(log2), "%s/second.log", syncd_fx.dir);
    pid = syncd_spawn(syncd_fx.sock, log2, NULL);
    cr_assert(gt(int, pid, 0));
    cr_assert(eq(int, fx_waitpid(pid, 10000), 1));
    cr_assert(file_contains(log2, "already listening"));
    /* The first daemon keeps its socket and keeps serving. */
    cr_assert(path_exists(syncd_fx.sock));
    cr_assert(syncd_fixture_alive());
    cr_assert(eq(int, sync_connect(syncd_fx.sock, &c), 0));
    cr_assert(eq(int, sync_lock_open(c, "life/lock", &l), 0));
    cr_assert(eq(int, sync_lock_acquire(l, false, -1), 0));
    cr_assert(eq(int, sync_lock_release(l), 0));
    sync_lock_close(l);
    sync_disconnect(c);
}

Test(lifecycle, connect_where_no_daemon_listens_is_econn)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    char path[sizeof(syncd_fx.dir) + 32];
    sync_client *c = (sync_client *)&c;
    char longpath[200];
    int fd;

    /* No file at all. */
    snprintf(path, sizeof(path), "%s/nobody.sock", syncd_fx.dir);
    cr_assert(eq(int, sync_connect(path, &c), SYNC_ECONN));
    cr_assert(eq(ptr, c, NULL));
    /* A socket file nobody listens on. */
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    cr_assert(ge(int, fd, 0));
    strcpy(sa.sun_path, path);
    cr_assert(eq(int, bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0));
    close(fd);
    c = (sync_client *)&c;
    cr_assert(eq(int, sync_connect(path, &c), SYNC_ECONN));
    cr_assert(eq(ptr, c, NULL));
    /* A path too long for a Unix socket. */
    memset(longpath, 'a', sizeof(longpath) - 1);
    longpath[0] = '/';
    longpath[sizeof(longpath) - 1] = '\0';
    c = (sync_client *)&c;
    cr_assert(eq(int, sync_connect(longpath, &c), SYNC_EINVAL));
    cr_assert(eq(ptr, c, NULL));
}

Test(lifecycle, bad_options_are_usage_errors)
{
    static const char *const bad[][3] = {
        {"--max-waits", "0", NULL},
        {"--max-name", "256", NULL},
        {"--max-frame", "12x", NULL},
        {"--no-such-option", NULL, NULL},
    };
    char sock[sizeof(syncd_fx.dir) + 16], log[sizeof(syncd_fx.dir) + 16];
    size_t i;
    pid_t pid;

    snprintf(sock, sizeof(sock), "%s/bad.sock", syncd_fx.dir);
    snprintf(log, sizeof(log), "%s/bad.log", syncd_fx.dir);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        pid = syncd_spawn(sock, log, bad[i]);
        cr_assert(gt(int, pid, 0));
        cr_assert(eq(int, fx_waitpid(pid, 10000), 2), "case %zu", i);
        cr_assert(not(path_exists(sock)), "case %zu", i);
    }
}

/* ---- start-up over an existing file ------------------------------------- */

/* Leave a socket file nobody listens on, as a crashed daemon would. */
static void make_stale_socket(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);

    cr_assert(ge(int, fd, 0));
    strcpy(sa.sun_path, path);
    cr_assert(eq(int, bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0));
    close(fd);
}

static void stale_init(void)
{
    syncd_fixture_mkdir();
    make_stale_socket(syncd_fx.sock);
    syncd_fixture_start(NULL);
}

TestSuite(lifecycle_stale, .init = stale_init, .fini = syncd_fixture_fini,
          .timeout = 30);

Test(lifecycle_stale, stale_socket_file_is_replaced)
{
    sync_client *c;
    sync_lock *l;

    cr_assert(syncd_fixture_log_contains("removing stale socket", 0));
    cr_assert(eq(int, sync_connect(syncd_fx.sock, &c), 0));
    cr_assert(eq(int, sync_lock_open(c, "stale/lock", &l), 0));
    cr_assert(eq(int, sync_lock_acquire(l, false, -1), 0));
    cr_assert(eq(int, sync_lock_release(l), 0));
    sync_lock_close(l);
    sync_disconnect(c);
}

TestSuite(lifecycle_file, .init = syncd_fixture_mkdir,
          .fini = syncd_fixture_fini, .timeout = 30);

Test(lifecycle_file, refuses_to_replace_a_non_socket)
{
    pid_t pid;
    int fd;

    fd = open(syncd_fx.sock, O_WRONLY | O_CREAT | O_EXCL, 0600);
    cr_assert(ge(int, fd, 0));
    cr_assert(eq(int, (int)write(fd, "keep", 4), 4));
    close(fd);
    pid = syncd_spawn(syncd_fx.sock, syncd_fx.log, NULL);
    cr_assert(gt(int, pid, 0));
    cr_assert(eq(int, fx_waitpid(pid, 10000), 1));
    cr_assert(file_contains(syncd_fx.sock, "keep"), "the file was touched");
    cr_assert(syncd_fixture_log_contains("is not a socket", 0));
}
