/*
 * run.c: lock and sem, which run a command while holding a Lock or a
 * semaphore permit.  Invariant: CMD never runs without the hold.  It
 * starts only after the acquire, gets SIGKILL when syncctl dies
 * (PR_SET_PDEATHSIG), and SIGTERM when the hold is lost with the daemon
 * connection (a lock survives a daemon restart on a --state-dir: the
 * library reconnects and reclaims it); the hold is given back only
 * after CMD has ended.  CMD also inherits a descriptor of syncctl's
 * connection (like flock(1)'s lock descriptor): if syncctl is killed, the
 * daemon sees the connection close - and releases the hold - only once
 * CMD has died too, so not even the instant between the two is uncovered.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"
#include "syncctl.h"

/* What is held: exactly one of lock and sem. */
struct run_hold {
    sync_lock *lock;
    sync_sem *sem;
    char token[24];  /* lock: the fencing token, for CMD's environment */
    bool owner_died; /* lock: the previous holder died holding it */
};

/* In the child: never outlive syncctl, then become CMD. */
static void run_child(const struct ctl *ctl,
                      const struct run_hold *h,
                      pid_t parent,
                      const sigset_t *mask,
                      int keep_fd)
{
    int err;

    sigprocmask(SIG_SETMASK, mask, NULL);
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0)
        _exit(EXIT_LOCAL);
    /* syncctl may have died before prctl took effect: its hold is gone. */
    if (getppid() != parent)
        _exit(EXIT_LOCAL);
    if (h->lock != NULL) {
        setenv("SYNCCTL_TOKEN", h->token, 1);
        setenv("SYNCCTL_OWNER_DIED", h->owner_died ? "1" : "0", 1);
    }
    if (keep_fd >= 0) {
        char fd[16];

        snprintf(fd, sizeof(fd), "%d", keep_fd);
        setenv("SYNCCTL_HOLD_FD", fd, 1);
    }
    execvp(ctl->res->cmd[0], ctl->res->cmd);
    err = errno;
    fprintf(stderr, "syncctl: cannot run %s: %s\n", ctl->res->cmd[0],
            strerror(err));
    /* flock(1): EX_UNAVAILABLE when the command cannot be executed. */
    _exit(EXIT_NOCMD);
}

/*
 * A call that reads the socket: it consumes a notice or sees EOF.  After
 * a daemon restart the library reconnects inside this call and reclaims
 * the lock (same token) or the permit (taken through an undo handle: the
 * daemon kept it for us); the hold is gone when that failed, or when
 * there is no daemon to reconnect to.  -1 then.
 */
static int run_ping(const struct run_hold *h)
{
    int rv =
        h->lock != NULL ? sync_lock_locked(h->lock) : sync_sem_value(h->sem);

    if (rv < 0)
        return rv;
    if (h->lock != NULL && sync_lock_owner_lost(h->lock) == 1)
        return -1;
    if (h->sem != NULL && sync__sem_permits_lost(h->sem) > 0)
        return -1;
    return 0;
}

/*
 * One signal for syncctl: pass SIGINT/SIGTERM/SIGHUP on to CMD.  Not when
 * the kernel sent it (si_code SI_KERNEL: a terminal's ^C or hangup), as it
 * went to the whole foreground process group, CMD included, already.
 */
static void run_forward(int sfd, pid_t pid)
{
    struct signalfd_siginfo si;

    if (read(sfd, &si, sizeof(si)) != (ssize_t)sizeof(si))
        return;
    if (si.ssi_signo != SIGCHLD && si.ssi_code != SI_KERNEL)
        kill(pid, (int)si.ssi_signo);
}

/* What became of CMD once the daemon (and with it the hold) was lost. */
struct run_lost {
    bool lost;   /* the connection went away while CMD ran */
    bool killed; /* CMD outlived RUN_TERM_GRACE_MS after SIGTERM: SIGKILL */
};

/* How long CMD may take to end after SIGTERM before it gets SIGKILL: it
 * runs without the hold meanwhile, and may ignore SIGTERM. */
#define RUN_TERM_GRACE_MS 5000

/*
 * Wait for CMD (pid) to end while forwarding signals and watching the
 * daemon connection.  Returns CMD's wait status.  When the connection goes
 * away CMD gets SIGTERM, then SIGKILL after RUN_TERM_GRACE_MS (*lost says
 * which).
 */
static int run_wait(const struct ctl *ctl,
                    const struct run_hold *h,
                    int sfd,
                    pid_t pid,
                    struct run_lost *lost)
{
    struct pollfd pfd[2] = {{.fd = sfd, .events = POLLIN},
                            {.fd = ctl->client->fd, .events = POLLIN}};
    int status, n;

    for (;;) {
        if (waitpid(pid, &status, WNOHANG) == pid)
            return status;
        n = poll(pfd, 2, lost->lost && !lost->killed ? RUN_TERM_GRACE_MS : -1);
        if (n < 0 && errno != EINTR) {
            /* Blind now: CMD must not outlive the hold we give back. */
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            return -1;
        }
        if (n == 0 && lost->lost && !lost->killed) {
            lost->killed = true;
            kill(pid, SIGKILL);
            continue;
        }
        if (pfd[0].revents & POLLIN)
            run_forward(sfd, pid);
        /* A query on a held handle fails only when the connection (and
         * with it the hold) is gone: a lost daemon, EOF, a shutdown. */
        if (pfd[1].revents != 0 && run_ping(h) < 0) {
            lost->lost = true;
            pfd[1].fd = -1;
            kill(pid, SIGTERM);
        } else if (pfd[1].revents != 0) {
            /* Still held: on a new connection if the daemon restarted. */
            pfd[1].fd = ctl->client->fd;
        }
    }
}

/* Fork CMD, wait for it; CMD's exit code or EXIT_LOCAL. */
static int run_cmd(const struct ctl *ctl, const struct run_hold *h,
                   struct run_lost *lost)
{
    sigset_t set, old;
    pid_t pid, parent = getpid();
    int sfd, status, keep_fd;

    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGCHLD);
    /* Blocked before the fork, so no signal falls between fork and wait. */
    sigprocmask(SIG_BLOCK, &set, &old);
    sfd = signalfd(-1, &set, SFD_CLOEXEC);
    /* Not close-on-exec: CMD keeps the connection open (see above). */
    keep_fd = fcntl(ctl->client->fd, F_DUPFD, 3);
    if (sfd < 0 || keep_fd < 0 || (pid = fork()) < 0) {
        fprintf(stderr, "syncctl: cannot start %s: %s\n", ctl->res->cmd[0],
                strerror(errno));
        if (sfd >= 0)
            close(sfd);
        if (keep_fd >= 0)
            close(keep_fd);
        sigprocmask(SIG_SETMASK, &old, NULL);
        return EXIT_LOCAL;
    }
    if (pid == 0)
        run_child(ctl, h, parent, &old, keep_fd);
    close(keep_fd);
    status = run_wait(ctl, h, sfd, pid, lost);
    close(sfd);
    sigprocmask(SIG_SETMASK, &old, NULL);
    if (status < 0)
        return EXIT_LOCAL;
    return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}

/* What happened to CMD after SIGTERM, for the lost-daemon message. */
static const char *run_fate(int code, bool killed, char *buf, size_t size)
{
    if (killed)
        snprintf(buf, size, "it ignored SIGTERM for %d s and was killed "
                 "with SIGKILL", RUN_TERM_GRACE_MS / 1000);
    else if (code == 128 + SIGTERM)
        snprintf(buf, size, "it was terminated by SIGTERM");
    else if (code > 128)
        snprintf(buf, size, "it was killed by signal %d", code - 128);
    else
        snprintf(buf, size, "it exited with status %d after SIGTERM", code);
    return buf;
}

/* After CMD: the exit code, given how the release went. */
static int run_finish(const struct ctl *ctl,
                      const char *what,
                      int code,
                      const struct run_lost *lost,
                      int released)
{
    char fate[96];

    if (lost->lost) {
        fprintf(stderr,
                "syncctl: lost the connection to syncd on %s, so %s %s was "
                "no longer held; sent SIGTERM to %s: %s\n",
                ctl->socket, what, ctl->res->name, ctl->res->cmd[0],
                run_fate(code, lost->killed, fate, sizeof(fate)));
        return ctl_exit_code(SYNC_ECONN);
    }
    if (released != 0)
        return ctl_fail(ctl, released, "release", ctl->res->name);
    return code;
}

/*
 * -n found the hold taken or -w ran out: say who has it (flock(1) users
 * expect "held", not "timed out") and exit with -E's code (1).
 */
static int run_not_acquired(struct ctl *ctl, const char *what)
{
    const struct parse_result *r = ctl->res;
    char who[160], when[48] = "";

    if (!r->nonblock)
        snprintf(when, sizeof(when), " after waiting %g s", r->timeout);
    if (strcmp(what, "lock") == 0) {
        view_holder(ctl, r->name, who, sizeof(who));
        if (who[0] != '\0')
            fprintf(stderr, "syncctl: lock %s is held by %s%s\n", r->name,
                    who, when);
        else
            fprintf(stderr, "syncctl: lock %s was held%s (it is free now)\n",
                    r->name, when);
    } else {
        fprintf(stderr, "syncctl: semaphore %s has no permit free%s\n",
                r->name, when);
    }
    return r->conflict_exit;
}

int run_lock(struct ctl *ctl)
{
    const struct parse_result *r = ctl->res;
    struct run_hold h = {0};
    struct run_lost lost = {0};
    int rv, code;

    rv = sync_lock_open(ctl->client, r->name, &h.lock);
    if (rv != 0)
        return ctl_fail(ctl, rv, "lock", r->name);
    rv = sync_lock_acquire(h.lock, !r->nonblock, r->timeout);
    if (rv != 0) {
        sync_lock_close(h.lock);
        return rv == SYNC_ETIMEDOUT ? run_not_acquired(ctl, "lock")
                                    : ctl_fail(ctl, rv, "lock", r->name);
    }
    h.owner_died = sync_lock_owner_died(h.lock) == 1;
    snprintf(h.token, sizeof(h.token), "%" PRIu64, sync_lock_token(h.lock));
    if (h.owner_died)
        fprintf(stderr,
                "syncctl: lock %s: its previous holder died holding "
                "it\n",
                r->name);
    code = run_cmd(ctl, &h, &lost);
    rv = lost.lost ? 0 : sync_lock_release(h.lock);
    sync_lock_close(h.lock);
    return run_finish(ctl, "lock", code, &lost, rv);
}

/*
 * Open the semaphore: with --value, open or create it with that value;
 * without, open the existing one whatever its value (SYNC_ENOENT says to
 * give --value).
 */
static int run_sem_open(struct ctl *ctl, sync_sem **out)
{
    const struct parse_result *r = ctl->res;
    int rv;

    if (r->value_set)
        return sync_sem_open_flags(ctl->client, r->name, r->value, r->bounded,
                                   SYNC_SEM_UNDO, out);
    sync_set_open_existing(ctl->client, true);
    rv = sync_sem_open_flags(ctl->client, r->name, 0, r->bounded,
                             SYNC_SEM_UNDO, out);
    /* Without --bounded either kind will do. */
    if (rv == SYNC_ETYPE && !r->bounded)
        rv = sync_sem_open_flags(ctl->client, r->name, 0, true, SYNC_SEM_UNDO,
                                 out);
    sync_set_open_existing(ctl->client, false);
    if (rv == SYNC_ENOENT)
        snprintf(ctl->detail, sizeof(ctl->detail),
                 "give --value N to create it");
    return rv;
}

int run_sem(struct ctl *ctl)
{
    const struct parse_result *r = ctl->res;
    struct run_hold h = {0};
    struct run_lost lost = {0};
    int rv, code;

    rv = run_sem_open(ctl, &h.sem);
    if (rv != 0)
        return ctl_fail(ctl, rv, "sem", r->name);
    rv = sync_sem_acquire(h.sem, !r->nonblock, r->timeout);
    if (rv != 0) {
        sync_sem_close(h.sem);
        return rv == SYNC_ETIMEDOUT ? run_not_acquired(ctl, "semaphore")
                                    : ctl_fail(ctl, rv, "sem", r->name);
    }
    code = run_cmd(ctl, &h, &lost);
    rv = lost.lost ? 0 : sync_sem_release(h.sem, 1);
    sync_sem_close(h.sem);
    return run_finish(ctl, "semaphore", code, &lost, rv);
}
