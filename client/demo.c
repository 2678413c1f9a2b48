/*
 * demo.c: a short live demo of syncd.  Two processes contend for one Lock
 * (each holds it in turn, fencing tokens grow); then one is killed with
 * SIGKILL while holding it and the other gets the lock at once and learns
 * that its previous owner died; then an Event releases a waiting process.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "syncclient.h"

static const char *sock;

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, int rv)
{
    fprintf(stderr, "demo: %s: %s\n", what, sync_strerror(rv));
    exit(1);
}

/* Take the lock `rounds` times, holding it `hold_ms` each time. */
static void worker(const char *who, int rounds, int hold_ms)
{
    sync_client *c;
    sync_lock *l;
    int rv, i;

    if ((rv = sync_connect(sock, &c)) != 0)
        die("connect", rv);
    if ((rv = sync_lock_open(c, "demo/lock", &l)) != 0)
        die("lock_open", rv);
    for (i = 0; i < rounds; i++) {
        if ((rv = sync_lock_acquire(l, true, -1)) != 0)
            die("acquire", rv);
        printf("  %s (pid %d) holds demo/lock, fencing token %llu%s\n", who,
               (int)getpid(), (unsigned long long)sync_lock_token(l),
               sync_lock_owner_died(l) ? "  <- previous owner died" : "");
        fflush(stdout);
        usleep((useconds_t)hold_ms * 1000);
        if (rounds > 1 && (rv = sync_lock_release(l)) != 0)
            die("release", rv);
        usleep(20 * 1000);
    }
    sync_lock_close(l);
    sync_disconnect(c);
}

static pid_t spawn(void (*fn)(const char *, int, int), const char *who,
                   int rounds, int hold_ms)
{
    pid_t pid = fork();

    if (pid == 0) {
        fn(who, rounds, hold_ms);
        _exit(0);
    }
    return pid;
}

static void part_contention(void)
{
    pid_t a, b;

    printf("1. Two processes contend for one Lock:\n");
    a = spawn(worker, "process A", 3, 150);
    b = spawn(worker, "process B", 3, 150);
    waitpid(a, NULL, 0);
    waitpid(b, NULL, 0);
}

static void part_crash(void)
{
    sync_client *c;
    sync_lock *l;
    pid_t victim;
    double t0;
    int rv;

    printf("2. A holder is killed with SIGKILL; the waiter gets the lock "
           "at once:\n");
    victim = spawn(worker, "process C", 1, 60 * 1000);
    usleep(300 * 1000);
    if ((rv = sync_connect(sock, &c)) != 0 ||
        (rv = sync_lock_open(c, "demo/lock", &l)) != 0)
        die("open", rv);
    printf("  demo: locked=%d; killing pid %d\n", sync_lock_locked(l),
           (int)victim);
    fflush(stdout);
    kill(victim, SIGKILL);
    t0 = now_s();
    if ((rv = sync_lock_acquire(l, true, 5.0)) != 0)
        die("acquire after kill", rv);
    printf("  demo (pid %d) acquired %.1f ms after the kill; owner_died=%d, "
           "token %llu\n",
           (int)getpid(), (now_s() - t0) * 1e3, sync_lock_owner_died(l),
           (unsigned long long)sync_lock_token(l));
    sync_lock_release(l);
    waitpid(victim, NULL, 0);
    sync_lock_close(l);
    sync_disconnect(c);
}

static void part_event(void)
{
    sync_client *c;
    sync_event *e;
    pid_t waiter;
    int rv;

    printf("3. An Event: a process waits for \"demo/db-ready\":\n");
    waiter = fork();
    if (waiter == 0) {
        if ((rv = sync_connect(sock, &c)) != 0 ||
            (rv = sync_event_open(c, "demo/db-ready", &e)) != 0)
            die("event_open", rv);
        printf("  waiter (pid %d) waiting...\n", (int)getpid());
        fflush(stdout);
        rv = sync_event_wait(e, 5.0);
        printf("  waiter woke: %s\n", rv == 0 ? "db-ready is set"
                                              : sync_strerror(rv));
        fflush(stdout);
        _exit(rv == 0 ? 0 : 1);
    }
    usleep(300 * 1000);
    if ((rv = sync_connect(sock, &c)) != 0 ||
        (rv = sync_event_open(c, "demo/db-ready", &e)) != 0)
        die("event_open", rv);
    printf("  demo sets demo/db-ready\n");
    fflush(stdout);
    sync_event_set(e);
    waitpid(waiter, NULL, 0);
    sync_event_clear(e);
    sync_event_close(e);
    sync_disconnect(c);
}

int main(int argc, char **argv)
{
    if (argc > 1 && (strcmp(argv[1], "-h") == 0 ||
                     strcmp(argv[1], "--help") == 0)) {
        printf("Usage: syncd-demo [SOCKET]\nRuns a short live demo against "
               "the syncd listening on SOCKET (default: as sync_connect).\n");
        return 0;
    }
    sock = argc > 1 ? argv[1] : NULL;
    setvbuf(stdout, NULL, _IOLBF, 0);
    part_contention();
    part_crash();
    part_event();
    printf("demo done.\n");
    return 0;
}
