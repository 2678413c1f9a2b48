/*
 * activation_helper.c: the two ends test_socket_activation.sh needs.
 *
 *   activation_helper client NAME
 *       Connect to $SYNCD_SOCKET through libsyncclient and use the Lock,
 *       Event and Semaphore called NAME/...; print one line per step and
 *       exit 0 only if every step gave the expected answer.
 *
 *   activation_helper notify-listen PATH TIMEOUT_MS
 *       Bind a datagram socket at PATH (what systemd's NOTIFY_SOCKET is),
 *       print every message received, one "notify: ..." line per field,
 *       and exit 0 once both READY=1 and STOPPING=1 arrived, 1 on timeout.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "syncclient.h"

static int failures;

static void check(const char *what, int got, int want)
{
    printf("%s: %s (%d)%s\n", what, got < 0 ? sync_errname(got) : "ok", got,
           got == want ? "" : "  <-- UNEXPECTED");
    if (got != want)
        failures++;
}

static int run_client(const char *prefix)
{
    char name[300];
    sync_client *c;
    sync_lock *l;
    sync_event *e;
    sync_sem *s;
    int rv = sync_connect(NULL, &c);

    check("connect", rv, 0);
    if (rv != 0)
        return 1;
    snprintf(name, sizeof(name), "%s/lock", prefix);
    rv = sync_lock_open(c, name, &l);
    check("lock open", rv, 0);
    if (rv == 0) {
        check("lock acquire", sync_lock_acquire(l, false, -1), 0);
        check("lock locked", sync_lock_locked(l), 1);
        check("lock release", sync_lock_release(l), 0);
        sync_lock_close(l);
    }
    snprintf(name, sizeof(name), "%s/event", prefix);
    rv = sync_event_open(c, name, &e);
    check("event open", rv, 0);
    if (rv == 0) {
        check("event set", sync_event_set(e), 0);
        check("event is_set", sync_event_is_set(e), 1);
        check("event wait", sync_event_wait(e, 1.0), 0);
        sync_event_close(e);
    }
    snprintf(name, sizeof(name), "%s/sem", prefix);
    rv = sync_sem_open(c, name, 1, &s);
    check("sem open", rv, 0);
    if (rv == 0) {
        check("sem acquire", sync_sem_acquire(s, true, 1.0), 0);
        check("sem try-acquire", sync_sem_acquire(s, false, -1),
              SYNC_ETIMEDOUT);
        check("sem release", sync_sem_release(s, 1), 0);
        sync_sem_close(s);
    }
    sync_disconnect(c);
    printf("client: %s\n", failures ? "FAILED" : "all steps ok");
    return failures ? 1 : 0;
}

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int run_notify_listen(const char *path, int timeout_ms)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    double deadline = now_ms() + timeout_ms;
    int fd, ready = 0, stopping = 0;
    char buf[4096], *line, *save;
    ssize_t n;

    if (strlen(path) >= sizeof(sa.sun_path)) {
        fprintf(stderr, "notify-listen: path too long\n");
        return 2;
    }
    strcpy(sa.sun_path, path);
    fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        fprintf(stderr, "notify-listen: %s: %s\n", path, strerror(errno));
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("notify: listening on %s\n", path);
    while (!(ready && stopping)) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int left = (int)(deadline - now_ms());

        if (left <= 0)
            break;
        if (poll(&pfd, 1, left) <= 0)
            continue;
        n = recv(fd, buf, sizeof(buf) - 1, 0);
        if (n <= 0)
            continue;
        buf[n] = '\0';
        for (line = strtok_r(buf, "\n", &save); line != NULL;
             line = strtok_r(NULL, "\n", &save)) {
            printf("notify: %s\n", line);
            ready |= strcmp(line, "READY=1") == 0;
            stopping |= strcmp(line, "STOPPING=1") == 0;
        }
    }
    close(fd);
    unlink(path);
    printf("notify: done (READY=1 %s, STOPPING=1 %s)\n",
           ready ? "seen" : "missing", stopping ? "seen" : "missing");
    return ready && stopping ? 0 : 1;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc == 3 && strcmp(argv[1], "client") == 0)
        return run_client(argv[2]);
    if (argc == 4 && strcmp(argv[1], "notify-listen") == 0)
        return run_notify_listen(argv[2], atoi(argv[3]));
    fprintf(stderr, "usage: %s client NAME | notify-listen PATH TIMEOUT_MS\n",
            argv[0]);
    return 2;
}
