/*
 * test_reclaim.c: clients that reconnect and reclaim after the daemon
 * restarts on the same --state-dir.  A lock holder keeps its lock across
 * kill -9 and a restart with the same fencing token; a competitor's
 * try-acquire fails during the grace period and succeeds only after the
 * holder releases; a waiter blocked in acquire before the crash gets the
 * lock after it; an unclaimed lock goes to the next waiter with owner_died
 * when the grace period ends; tokens after the restart are above every
 * earlier one; a reclaim the daemon cannot honour marks the handle lost
 * (SYNC_ELOST on its release); a condition wait (at any depth, through
 * the condition's handle or another handle on its lock) is neither
 * reclaimed nor lost, and comes back as deep as it was; a holder that
 * makes no call across the restart keeps its lock (its client notices the
 * restart by itself); a clean stop (systemctl restart), with the
 * listening socket handed from one daemon to the next as systemd does,
 * returns no error to any caller.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "daemon_fixture.h"
#include "rawsock.h"
#include "wire.h"
#include "syncclient.h"

TestSuite(reclaim, .fini = syncd_fixture_fini, .timeout = 60);

static char state_dir[160];
static const char *grace_ms = "2000";

/* Under valgrind (a daemon prefix) everything is ~20x slower: the grace
 * period and the waits for commits grow with it. */
static int slow(int ms)
{
    const char *p = getenv("SYNCD_TEST_DAEMON_PREFIX");

    return p != NULL && *p != '\0' ? 5 * ms : ms;
}

/* Start (or restart) the daemon on DIR/state: holds committed every
 * 20 ms, the grace period grace_ms (longer under valgrind). */
static void start(void)
{
    char grace[16];

    snprintf(grace, sizeof(grace), "%d", slow(atoi(grace_ms)));
    syncd_fixture_mkdir();
    snprintf(state_dir, sizeof(state_dir), "%s/state", syncd_fx.dir);
    syncd_fixture_start((const char *[]){"--state-dir", state_dir,
                                         "--fsync", "batch",
                                         "--fsync-interval", "20",
                                         "--grace-ms", grace, NULL});
}

/* A client that reconnects (the fixture turns it off by default). */
static sync_client *connect_reconnecting(void)
{
    struct sync_connect_opts o = {.reconnect = 1, .reconnect_ms = 10000};
    sync_client *c = NULL;

    cr_assert(eq(int, sync_connect_opts(syncd_fx.sock, &o, &c), 0));
    return c;
}

/* A client that does not (the competitor, the one that walks away). */
static sync_client *connect_plain(void)
{
    struct sync_connect_opts o = {.reconnect = 0, .reconnect_ms = -1};
    sync_client *c = NULL;

    cr_assert(eq(int, sync_connect_opts(syncd_fx.sock, &o, &c), 0));
    return c;
}

/* kill -9 the daemon once its last grant is on disk, and start anew. */
static void crash_and_restart(void)
{
    fx_sleep_ms(slow(150)); /* several 20 ms commits */
    cr_assert(eq(int, syncd_fixture_kill(SIGKILL), 128 + SIGKILL));
    start();
}

/* Remaining grace a version-2 Hello reports. */
static uint32_t hello_grace_ms(void)
{
    struct raw_reply r;

    cr_assert(eq(int, raw_hello_at(syncd_fx.sock, 2, &r), RAW_OK));
    cr_assert(eq(int, r.code, 0));
    return r.grace_ms;
}

Test(reclaim, holder_keeps_its_lock_and_token_across_kill9)
{
    sync_client *h, *comp;
    sync_lock *hl, *cl;
    sync_rlock *hr;
    uint64_t token, rtoken;
    uint32_t grace;

    start();
    h = connect_reconnecting();
    cr_assert(eq(int, sync_lock_open(h, "rc/lock", &hl), 0));
    cr_assert(eq(int, sync_lock_acquire(hl, true, 5.0), 0));
    token = sync_lock_token(hl);
    cr_assert(eq(int, sync_rlock_open(h, "rc/rlock", &hr), 0));
    cr_assert(eq(int, sync_rlock_acquire(hr, true, 5.0), 0));
    cr_assert(eq(int, sync_rlock_acquire(hr, true, 5.0), 0));
    rtoken = sync_rlock_token(hr);
    crash_and_restart();
    cr_assert(syncd_fixture_log_contains("2 hold(s) restored", 1000),
              "%s", syncd_fixture_read_log());
    grace = hello_grace_ms();
    cr_assert(gt(u32, grace, 0));
    cr_assert(le(u32, grace, (uint32_t)slow(2000)));

    /* Before the holder is back: nobody else may take it. */
    comp = connect_plain();
    cr_assert(eq(int, sync_lock_open(comp, "rc/lock", &cl), 0));
    cr_assert(eq(int, sync_lock_acquire(cl, false, -1), SYNC_ETIMEDOUT));

    /* The holder's next call reconnects and reclaims: same token, same
     * depth, still its own. */
    cr_assert(eq(int, sync_lock_locked(hl), 1));
    cr_assert(eq(int, sync_lock_owner_lost(hl), 0));
    cr_assert(eq(u64, sync_lock_token(hl), token));
    cr_assert(eq(int, sync_rlock_depth(hr), 2));
    cr_assert(eq(u64, sync_rlock_token(hr), rtoken));
    cr_assert(eq(int, sync_rlock_owner_lost(hr), 0));

    /* Still held after the holder is back and after the grace period. */
    cr_assert(eq(int, sync_lock_acquire(cl, false, -1), SYNC_ETIMEDOUT));
    fx_sleep_ms(2200);
    cr_assert(eq(int, sync_lock_acquire(cl, false, -1), SYNC_ETIMEDOUT));

    /* Released: the competitor gets it, with a token above every token
     * before the crash, and no owner-died (the holder released). */
    cr_assert(eq(int, sync_lock_release(hl), 0));
    cr_assert(eq(int, sync_lock_acquire(cl, false, -1), 0));
    cr_assert(gt(u64, sync_lock_token(cl), token));
    cr_assert(gt(u64, sync_lock_token(cl), rtoken));
    cr_assert(eq(int, sync_lock_owner_died(cl), 0));
    cr_assert(eq(int, sync_lock_release(cl), 0));
    cr_assert(eq(int, sync_rlock_release(hr), 0));
    cr_assert(eq(int, sync_rlock_release(hr), 0));
    cr_assert(eq(int, sync_rlock_release(hr), SYNC_EPERM));
    sync_lock_close(cl);
    sync_disconnect(comp);
    sync_lock_close(hl);
    sync_rlock_close(hr);
    sync_disconnect(h);
}

struct waiter_arg {
    sync_client *c;
    sync_lock *l;
    int rv;
    uint64_t token;
    int died;
};

static void *waiter_main(void *p)
{
    struct waiter_arg *a = p;

    a->rv = sync_lock_acquire(a->l, true, 20.0);
    a->token = sync_lock_token(a->l);
    a->died = sync_lock_owner_died(a->l);
    return NULL;
}

/* The holder and a waiter blocked in acquire both reconnect: the waiter's
 * acquire is sent again and granted when the holder releases. */
Test(reclaim, waiter_blocked_before_the_crash_gets_the_lock_after)
{
    struct waiter_arg w = {0};
    pthread_t t;
    sync_client *h;
    sync_lock *hl;
    uint64_t token;

    start();
    h = connect_reconnecting();
    cr_assert(eq(int, sync_lock_open(h, "rc/w", &hl), 0));
    cr_assert(eq(int, sync_lock_acquire(hl, true, 5.0), 0));
    token = sync_lock_token(hl);
    w.c = connect_reconnecting();
    cr_assert(eq(int, sync_lock_open(w.c, "rc/w", &w.l), 0));
    cr_assert(eq(int, pthread_create(&t, NULL, waiter_main, &w), 0));
    fx_sleep_ms(100); /* queued in the daemon */
    crash_and_restart();
    fx_sleep_ms(300); /* the waiter is back and queued again */
    cr_assert(eq(int, sync_lock_release(hl), 0));
    cr_assert(eq(int, pthread_join(t, NULL), 0));
    cr_assert(eq(int, w.rv, 0), "waiter: %s", sync_errname(w.rv));
    cr_assert(gt(u64, w.token, token));
    cr_assert(eq(int, w.died, 0));
    cr_assert(eq(int, sync_lock_release(w.l), 0));
    sync_lock_close(w.l);
    sync_disconnect(w.c);
    sync_lock_close(hl);
    sync_disconnect(h);
}

/* Until n clients wait on the condition cv (lock: its lock, NULL: its
 * own), asked from a client of its own; fixed sleeps are too short under
 * valgrind. */
static void await_cond_waiters(const char *cv, const char *lock, int n)
{
    double deadline = fx_now() + slow(10000) / 1000.0;
    sync_client *c = connect_plain();
    sync_cond *h;
    int got;

    cr_assert(eq(int, sync_cond_open(c, cv, lock, &h), 0));
    while ((got = sync_cond_n_waiting(h)) != n && fx_now() < deadline)
        fx_sleep_ms(10);
    cr_assert(eq(int, got, n), "waiters on %s", cv);
    sync_cond_close(h);
    sync_disconnect(c);
}

/* A client of cv is in a wait across kill -9 and a restart: once it
 * waits again (no reclaim of the lock refused), notify it from a new
 * client, returned in *n with its handle. */
static sync_cond *restart_then_notify(sync_client **n, const char *cv,
                                      const char *lock)
{
    char refused[SYNC_NAME_MAX + 32];
    sync_cond *h;

    await_cond_waiters(cv, lock, 1); /* its levels given back */
    crash_and_restart();
    await_cond_waiters(cv, lock, 1); /* its wait sent again */
    snprintf(refused, sizeof(refused), "reclaim of '%s' refused",
             lock != NULL ? lock : cv);
    cr_assert(not(syncd_fixture_log_contains(refused, 0)));
    *n = connect_plain();
    cr_assert(eq(int, sync_cond_open(*n, cv, lock, &h), 0));
    cr_assert(eq(int, sync_cond_acquire(h, true, 5.0), 0));
    cr_assert(eq(int, sync_cond_notify_all(h), 0));
    cr_assert(eq(int, sync_cond_release(h), 0));
    return h;
}

/* A Lock acquired through its own handle and waited on through a
 * Condition's handle on it (what Python's Condition(Lock(...)) does): the
 * wait gave the lock back, so the reconnect reclaims nothing through the
 * Lock's handle and marks nothing lost; the wait goes on, and after it
 * the release through the Lock's handle is a real one. */
struct split_arg {
    sync_client *c;
    sync_lock *l;
    sync_cond *cv;
    int wait_rv, release_rv, lost;
};

static void *split_waiter_main(void *p)
{
    struct split_arg *a = p;

    if ((a->wait_rv = sync_lock_acquire(a->l, true, 5.0)) != 0)
        return NULL;
    a->wait_rv = sync_cond_wait(a->cv, 20.0);
    a->lost = sync_lock_owner_lost(a->l);
    a->release_rv = sync_lock_release(a->l);
    return NULL;
}

Test(reclaim, condition_wait_through_another_handle_is_not_a_lost_hold)
{
    struct split_arg a = {0};
    sync_client *n;
    sync_cond *ncv;
    sync_lock *nl;
    pthread_t t;

    start();
    a.c = connect_reconnecting();
    cr_assert(eq(int, sync_lock_open(a.c, "rc/split", &a.l), 0));
    cr_assert(eq(int, sync_cond_open(a.c, "rc/split-cv", "rc/split", &a.cv),
                 0));
    cr_assert(eq(int, pthread_create(&t, NULL, split_waiter_main, &a), 0));
    ncv = restart_then_notify(&n, "rc/split-cv", "rc/split");
    cr_assert(eq(int, pthread_join(t, NULL), 0));
    cr_assert(eq(int, a.wait_rv, 0), "wait: %s", sync_errname(a.wait_rv));
    cr_assert(eq(int, a.lost, 0));
    cr_assert(eq(int, a.release_rv, 0), "release: %s",
              sync_errname(a.release_rv));
    /* Really released: another client takes it at once. */
    cr_assert(eq(int, sync_lock_open(n, "rc/split", &nl), 0));
    cr_assert(eq(int, sync_lock_acquire(nl, false, -1), 0));
    cr_assert(eq(int, sync_lock_release(nl), 0));
    sync_lock_close(nl);
    sync_cond_close(ncv);
    sync_disconnect(n);
    sync_cond_close(a.cv);
    sync_lock_close(a.l);
    sync_disconnect(a.c);
}

/* A condition on its own RLock, waited on at depth 2: the wait gave both
 * levels back, so nothing is reclaimed or lost, and after the restart it
 * returns holding the lock as deep as before - two releases free it. */
struct deep_arg {
    sync_cond *cv;
    int wait_rv, depth_after, release_rv[2], lost;
};

static void *deep_waiter_main(void *p)
{
    struct deep_arg *a = p;

    if ((a->wait_rv = sync_cond_acquire(a->cv, true, 5.0)) != 0 ||
        (a->wait_rv = sync_cond_acquire(a->cv, true, 5.0)) != 0)
        return NULL;
    a->wait_rv = sync_cond_wait(a->cv, 20.0);
    a->depth_after = sync_cond_depth(a->cv);
    a->lost = sync_cond_owner_lost(a->cv);
    a->release_rv[0] = sync_cond_release(a->cv);
    a->release_rv[1] = sync_cond_release(a->cv);
    return NULL;
}

Test(reclaim, condition_wait_at_depth_two_comes_back_at_depth_two)
{
    struct deep_arg a = {0};
    sync_client *c, *n;
    sync_cond *ncv;
    pthread_t t;

    start();
    c = connect_reconnecting();
    cr_assert(eq(int, sync_cond_open(c, "rc/deep-cv", NULL, &a.cv), 0));
    cr_assert(eq(int, pthread_create(&t, NULL, deep_waiter_main, &a), 0));
    ncv = restart_then_notify(&n, "rc/deep-cv", NULL);
    cr_assert(eq(int, pthread_join(t, NULL), 0));
    cr_assert(eq(int, a.wait_rv, 0), "wait: %s", sync_errname(a.wait_rv));
    cr_assert(eq(int, a.depth_after, 2));
    cr_assert(eq(int, a.lost, 0));
    cr_assert(eq(int, a.release_rv[0], 0), "release: %s",
              sync_errname(a.release_rv[0]));
    cr_assert(eq(int, a.release_rv[1], 0), "release: %s",
              sync_errname(a.release_rv[1]));
    cr_assert(eq(int, sync_cond_acquire(ncv, false, -1), 0));
    cr_assert(eq(int, sync_cond_release(ncv), 0));
    sync_cond_close(ncv);
    sync_disconnect(n);
    sync_cond_close(a.cv);
    sync_disconnect(c);
}

/* A holder that never comes back: its hold blocks others for the grace
 * period, then goes to the next waiter with owner_died. */
Test(reclaim, unclaimed_lock_goes_to_next_waiter_with_owner_died)
{
    sync_client *gone, *c;
    sync_lock *gl, *l;
    uint64_t token;
    double t0, waited, left;

    grace_ms = "2000";
    start();
    gone = connect_plain();
    cr_assert(eq(int, sync_lock_open(gone, "rc/u", &gl), 0));
    cr_assert(eq(int, sync_lock_acquire(gl, true, 5.0), 0));
    token = sync_lock_token(gl);
    crash_and_restart();
    /* The period runs from the daemon's start: what is left of it now (a
     * slow start, e.g. under valgrind, used some). */
    left = hello_grace_ms() / 1000.0;
    cr_assert(gt(dbl, left, 0.3), "grace left %.3f s", left);
    t0 = fx_now();
    /* syncctl status says what the period keeps, and on what state. */
    {
        char cmd[512];

        snprintf(cmd, sizeof(cmd), "%s -s %s status", SYNCCTL_BIN,
                 syncd_fx.sock);
        cr_assert(command_has_line(cmd, "grace period:", "1 hold(s), 0 undo "
                                                         "permit(s) kept"));
        cr_assert(command_has_line(cmd, "state:", "(epoch 2, fsync "));
    }
    c = connect_plain();
    cr_assert(eq(int, sync_lock_open(c, "rc/u", &l), 0));
    cr_assert(eq(int, sync_lock_acquire(l, false, -1), SYNC_ETIMEDOUT));
    cr_assert(eq(int, sync_lock_acquire(l, true, 60.0), 0));
    waited = fx_now() - t0;
    /* Granted when the grace period ended. */
    cr_assert(ge(dbl, waited, left - 0.25), "granted after %.3f s of %.3f",
              waited, left);
    cr_assert(lt(dbl, waited, left + 3.0), "granted after %.3f s", waited);
    cr_assert(eq(int, sync_lock_owner_died(l), 1));
    cr_assert(gt(u64, sync_lock_token(l), token));
    cr_assert(syncd_fixture_log_contains("0 hold(s) reclaimed, 1 released", 1000));
    cr_assert(eq(int, sync_lock_release(l), 0));
    sync_lock_close(l);
    sync_disconnect(c);
    sync_lock_close(gl);
    sync_disconnect(gone);
}

/* ---- a holder back too late: a child process stopped across the restart
 * (a client that reconnects notices the restart at once, even idle: only
 * a process that cannot run comes back after the grace period) ------- */

struct late {
    pid_t pid;
    int to_child, from_child;   /* the test's ends of two pipes */
};

static void late_say(int fd, char ch)
{
    while (write(fd, &ch, 1) != 1)
        ;
}

static char late_hear(int fd)
{
    char ch = 0;

    return read(fd, &ch, 1) == 1 ? ch : 0;
}

/* Fork body(in, out) as the late holder: it says 'R' once it holds what
 * it holds; then it is stopped until late_go(). */
static void late_start(struct late *lt, void (*body)(int in, int out))
{
    int down[2], up[2];

    cr_assert(eq(int, pipe(down), 0));
    cr_assert(eq(int, pipe(up), 0));
    lt->pid = fx_fork();
    cr_assert(ge(int, lt->pid, 0));
    if (lt->pid == 0) {
        close(down[1]);
        close(up[0]);
        body(down[0], up[1]);
        _exit(0);
    }
    close(down[0]);
    close(up[1]);
    lt->to_child = down[1];
    lt->from_child = up[0];
    cr_assert(eq(chr, late_hear(lt->from_child), 'R'));
    cr_assert(eq(int, kill(lt->pid, SIGSTOP), 0));
}

/* Let it run again and go on with its checks; its answer. */
static char late_go(struct late *lt)
{
    cr_assert(eq(int, kill(lt->pid, SIGCONT), 0));
    late_say(lt->to_child, 'G');
    return late_hear(lt->from_child);
}

static void late_end(struct late *lt)
{
    int status = fx_wait_status(lt->pid, 20000);

    cr_assert(eq(int, fx_exit_code(status), 0), "late holder: exit %d",
              fx_exit_code(status));
    close(lt->to_child);
    close(lt->from_child);
}

/* In the late holder: connect reconnecting, or exit. */
static sync_client *late_connect(void)
{
    struct sync_connect_opts o = {.reconnect = 1, .reconnect_ms = 10000};
    sync_client *c = NULL;

    if (sync_connect_opts(syncd_fx.sock, &o, &c) != 0)
        _exit(20);
    return c;
}

#define LATE_CHECK(cond, code) \
    do {                       \
        if (!(cond))           \
            _exit(code);       \
    } while (0)

static void late_lock_holder(int in, int out)
{
    sync_client *h = late_connect();
    sync_lock *hl;
    sync_event *e;

    LATE_CHECK(sync_lock_open(h, "rc/lost", &hl) == 0, 21);
    LATE_CHECK(sync_event_open(h, "rc/ev", &e) == 0, 22);
    LATE_CHECK(sync_lock_acquire(hl, true, 5.0) == 0, 23);
    late_say(out, 'R');
    LATE_CHECK(late_hear(in) == 'G', 24);
    /* The client reconnects (its other handles work) ... */
    LATE_CHECK(sync_event_set(e) == 0, 25);
    /* ... but its lock is gone. */
    LATE_CHECK(sync_lock_owner_lost(hl) == 1, 26);
    LATE_CHECK(sync_lock_release(hl) == SYNC_ELOST, 27);
    LATE_CHECK(sync_lock_owner_lost(hl) == 1, 28);
    LATE_CHECK(sync_lock_release(hl) == SYNC_EPERM, 29);
    late_say(out, 'L');
    LATE_CHECK(late_hear(in) == 'G', 30);
    /* Taken again, it is the handle's own again. */
    LATE_CHECK(sync_lock_acquire(hl, true, 5.0) == 0, 31);
    LATE_CHECK(sync_lock_owner_lost(hl) == 0, 32);
    LATE_CHECK(sync_lock_release(hl) == 0, 33);
    sync_event_close(e);
    sync_lock_close(hl);
    sync_disconnect(h);
    late_say(out, 'D');
}

/* Back after the grace period, when someone else took the lock: the
 * reclaim is refused; the holder learns it. */
Test(reclaim, refused_reclaim_marks_the_handle_lost)
{
    struct late lt;
    sync_client *c;
    sync_lock *l;

    grace_ms = "300";
    start();
    late_start(&lt, late_lock_holder);
    crash_and_restart();
    fx_sleep_ms(slow(600)); /* past the grace period */
    c = connect_plain();
    cr_assert(eq(int, sync_lock_open(c, "rc/lost", &l), 0));
    cr_assert(eq(int, sync_lock_acquire(l, false, -1), 0));
    cr_assert(eq(int, sync_lock_owner_died(l), 1));
    cr_assert(eq(chr, late_go(&lt), 'L'));
    cr_assert(syncd_fixture_log_contains("reclaim of 'rc/lost' refused", 0));
    cr_assert(eq(int, sync_lock_release(l), 0));
    late_say(lt.to_child, 'G');
    cr_assert(eq(chr, late_hear(lt.from_child), 'D'));
    late_end(&lt);
    sync_lock_close(l);
    sync_disconnect(c);
}

/* A daemon without state has nothing to give back. */
Test(reclaim, restart_in_memory_refuses_the_reclaim)
{
    sync_client *h;
    sync_lock *hl;

    syncd_fixture_start(NULL);
    h = connect_reconnecting();
    cr_assert(eq(int, sync_lock_open(h, "rc/mem", &hl), 0));
    cr_assert(eq(int, sync_lock_acquire(hl, true, 5.0), 0));
    cr_assert(eq(int, syncd_fixture_kill(SIGKILL), 128 + SIGKILL));
    syncd_fixture_start(NULL);
    cr_assert(eq(int, sync_lock_locked(hl), 0));
    cr_assert(eq(int, sync_lock_owner_lost(hl), 1));
    cr_assert(eq(int, sync_lock_release(hl), SYNC_ELOST));
    sync_lock_close(hl);
    sync_disconnect(h);
}

/* A listening socket of the test's own, passed to each daemon as systemd
 * passes syncd.socket's (LISTEN_FDS): it outlives the daemons. */
static int activation_socket(void)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_STREAM, 0), hi;

    cr_assert(ge(int, fd, 0));
    cr_assert(lt(sz, strlen(syncd_fx.sock), sizeof(sa.sun_path)));
    memcpy(sa.sun_path, syncd_fx.sock, strlen(syncd_fx.sock) + 1);
    cr_assert(eq(int, bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0));
    cr_assert(eq(int, listen(fd, 64), 0));
    hi = dup2(fd, 40);
    cr_assert(eq(int, hi, 40));
    close(fd);
    cr_assert(eq(int, setenv("SYNCD_TEST_LISTEN_FD", "40", 1), 0));
    return hi;
}

struct cond_arg {
    sync_cond *cv;
    int rv;
};

static void *cond_waiter_main(void *p)
{
    struct cond_arg *a = p;

    a->rv = sync_cond_acquire(a->cv, true, 5.0);
    if (a->rv == 0)
        a->rv = sync_cond_wait(a->cv, 20.0);
    if (a->rv == 0)
        a->rv = sync_cond_release(a->cv);
    return NULL;
}

/*
 * systemctl restart: SIGTERM, a new daemon on the same state directory and
 * the same listening socket.  A holder, a waiter blocked in acquire and a
 * condition waiter see no error: the holder keeps its lock, the waiter
 * gets it when the holder releases, the condition wait goes on and is
 * notified, an Event set before the stop is still set.
 */
Test(reclaim, systemctl_restart_with_socket_activation_returns_no_error)
{
    struct waiter_arg w = {0};
    struct cond_arg cw = {0};
    pthread_t t, tc;
    sync_client *h, *cc;
    sync_lock *hl;
    sync_event *e;
    uint64_t token;
    int lfd;

    syncd_fixture_mkdir();
    lfd = activation_socket();
    start();
    /* The socket listens already, so the fixture's readiness check passes
     * at once: wait for the daemon itself (slow under valgrind). */
    cr_assert(syncd_fixture_log_contains("LISTEN_FDS", 20000));
    h = connect_reconnecting();
    cr_assert(eq(int, sync_lock_open(h, "rc/up", &hl), 0));
    cr_assert(eq(int, sync_lock_acquire(hl, true, 5.0), 0));
    token = sync_lock_token(hl);
    cr_assert(eq(int, sync_event_open(h, "rc/up-ev", &e), 0));
    cr_assert(eq(int, sync_event_set(e), 0));
    w.c = connect_reconnecting();
    cr_assert(eq(int, sync_lock_open(w.c, "rc/up", &w.l), 0));
    cr_assert(eq(int, pthread_create(&t, NULL, waiter_main, &w), 0));
    cc = connect_reconnecting();
    cr_assert(eq(int, sync_cond_open(cc, "rc/up-cv", NULL, &cw.cv), 0));
    cr_assert(eq(int, pthread_create(&tc, NULL, cond_waiter_main, &cw), 0));
    fx_sleep_ms(150);

    cr_assert(eq(int, syncd_fixture_stop(), 0));
    start();

    cr_assert(eq(int, sync_event_is_set(e), 1));
    cr_assert(eq(int, sync_lock_owner_lost(hl), 0));
    cr_assert(eq(u64, sync_lock_token(hl), token));
    fx_sleep_ms(300);
    cr_assert(eq(int, sync_lock_release(hl), 0));
    cr_assert(eq(int, pthread_join(t, NULL), 0));
    cr_assert(eq(int, w.rv, 0), "waiter: %s", sync_errname(w.rv));
    cr_assert(gt(u64, w.token, token));
    cr_assert(eq(int, sync_lock_release(w.l), 0));
    {
        sync_cond *n;

        cr_assert(eq(int, sync_cond_open(h, "rc/up-cv", NULL, &n), 0));
        cr_assert(eq(int, sync_cond_acquire(n, true, 5.0), 0));
        cr_assert(eq(int, sync_cond_notify_all(n), 0));
        cr_assert(eq(int, sync_cond_release(n), 0));
        sync_cond_close(n);
    }
    cr_assert(eq(int, pthread_join(tc, NULL), 0));
    cr_assert(eq(int, cw.rv, 0), "condition waiter: %s", sync_errname(cw.rv));
    sync_cond_close(cw.cv);
    sync_disconnect(cc);
    sync_lock_close(w.l);
    sync_disconnect(w.c);
    sync_event_close(e);
    sync_lock_close(hl);
    sync_disconnect(h);
    unsetenv("SYNCD_TEST_LISTEN_FD");
    close(lfd);
}

/* A forked child's inherited client never reconnects nor reclaims. */
Test(reclaim, fork_child_never_reclaims_the_parents_hold)
{
    sync_client *h;
    sync_lock *hl;
    pid_t pid;

    start();
    h = connect_reconnecting();
    cr_assert(eq(int, sync_lock_open(h, "rc/fork", &hl), 0));
    cr_assert(eq(int, sync_lock_acquire(hl, true, 5.0), 0));
    pid = fx_fork();
    cr_assert(ge(int, pid, 0));
    if (pid == 0) {
        int rv = sync_lock_release(hl);

        _exit(rv == SYNC_EFORKED && sync_lock_locked(hl) == SYNC_EFORKED
                  ? 0
                  : 1);
    }
    cr_assert(eq(int, fx_waitpid(pid, 10000), 0));
    crash_and_restart();
    cr_assert(eq(int, sync_lock_locked(hl), 1));
    cr_assert(eq(int, sync_lock_owner_lost(hl), 0));
    cr_assert(eq(int, sync_lock_release(hl), 0));
    sync_lock_close(hl);
    sync_disconnect(h);
}

/* ---- raw clients: a reply that never arrived, a depth in flight -------- */

/* A version-2 connection naming itself client_id (what the library's
 * reconnect does); the fd. */
static int raw_client(const uint8_t client_id[16])
{
    Syncd__Request rq = SYNCD__REQUEST__INIT;
    Syncd__Hello hl = SYNCD__HELLO__INIT;
    struct raw_reply r;
    int fd = raw_connect(syncd_fx.sock);

    cr_assert(ge(int, fd, 0));
    hl.version = 2;
    hl.capabilities = WIRE_CAP_RECLAIM;
    hl.pid = (uint32_t)getpid();
    hl.client_name = (char *)"raw-reclaimer";
    hl.client_id.data = (uint8_t *)client_id;
    hl.client_id.len = 16;
    rq.id = 1;
    rq.op_case = SYNCD__REQUEST__OP_HELLO;
    rq.hello = &hl;
    cr_assert(eq(int, raw_send_request(fd, &rq), 0));
    cr_assert(eq(int, raw_read_reply(fd, 5000, &r), RAW_OK));
    cr_assert(eq(int, r.code, 0));
    return fd;
}

/* Open name (type) on a raw connection; its handle. */
static uint32_t raw_open_named(int fd, const char *name, int type)
{
    uint32_t handle = 0;

    cr_assert(eq(int, raw_open(fd, 2, name, strlen(name), type, 0, &handle),
                 0));
    return handle;
}

static int raw_reclaim(int fd, uint32_t handle, uint32_t depth,
                       struct raw_reply *r)
{
    Syncd__Request rq = SYNCD__REQUEST__INIT;
    Syncd__Reclaim m = SYNCD__RECLAIM__INIT;

    m.handle = handle;
    m.depth = depth;
    rq.id = 50;
    rq.op_case = SYNCD__REQUEST__OP_RECLAIM;
    rq.reclaim = &m;
    cr_assert(eq(int, raw_send_request(fd, &rq), 0));
    cr_assert(eq(int, raw_read_reply(fd, 5000, r), RAW_OK));
    return r->code;
}

/* The daemon granted an acquire and was killed before its reply reached
 * the client, which sends the acquire again after reconnecting (holding
 * nothing it knows of, so it reclaims nothing).  The hold kept for it is
 * let go: the acquire is granted at once with a fresh token, not after the
 * grace period with a false owner-died. */
Test(reclaim, acquire_whose_reply_was_lost_gets_the_lock_at_once)
{
    const uint8_t id[16] = "lost-reply-id-01";
    struct raw_reply r;
    uint32_t handle;
    uint64_t token;
    double t0;
    int fd;

    start();
    fd = raw_client(id);
    handle = raw_open_named(fd, "rc/lost_reply", SYNCD__OBJECT_TYPE__LOCK);
    cr_assert(eq(int, raw_acquire(fd, 3, handle, -1, &r), 0));
    token = r.token;
    crash_and_restart();
    close(fd);
    cr_assert(syncd_fixture_log_contains("1 hold(s) restored", 1000));

    fd = raw_client(id);
    handle = raw_open_named(fd, "rc/lost_reply", SYNCD__OBJECT_TYPE__LOCK);
    t0 = fx_now();
    cr_assert(eq(int, raw_acquire(fd, 3, handle, 1500000, &r), 0),
              "the acquire waited behind its own kept hold");
    cr_assert(lt(dbl, fx_now() - t0, 1.0));
    cr_assert(eq(int, r.owner_died, 0));
    cr_assert(gt(u64, r.token, token));
    cr_assert(syncd_fixture_log_contains("unknown to it: let go", 1000));
    close(fd);
}

/* An RLock at depth 2 whose second level's release was in flight at the
 * crash: the client counts 2 levels still and reclaims with depth 2... and
 * one whose second acquire's reply was lost counts 1: the reclaim's depth
 * wins over the kept one, so the call sent again leaves daemon and client
 * agreeing (here: one release then frees the lock). */
Test(reclaim, reclaim_takes_the_depth_the_client_counts)
{
    const uint8_t id[16] = "rlock-depth-id-1";
    struct raw_reply r;
    sync_client *other;
    sync_rlock *orl;
    uint32_t handle;
    int fd;

    start();
    fd = raw_client(id);
    handle = raw_open_named(fd, "rc/depth", SYNCD__OBJECT_TYPE__RLOCK);
    cr_assert(eq(int, raw_acquire(fd, 3, handle, -1, &r), 0));
    cr_assert(eq(int, raw_acquire(fd, 4, handle, -1, &r), 0)); /* "lost" */
    crash_and_restart();
    close(fd);

    fd = raw_client(id);
    handle = raw_open_named(fd, "rc/depth", SYNCD__OBJECT_TYPE__RLOCK);
    cr_assert(eq(int, raw_reclaim(fd, handle, 1, &r), 0));
    cr_assert(eq(int, raw_release(fd, 5, handle), 0));
    other = connect_plain();
    cr_assert(eq(int, sync_rlock_open(other, "rc/depth", &orl), 0));
    cr_assert(eq(int, sync_rlock_locked(orl), 0),
              "depth 2 was kept: one release left the lock held");
    sync_rlock_close(orl);
    sync_disconnect(other);
    close(fd);
}

/* `syncctl lock NAME -- CMD` across a kill -9 and restart of the daemon:
 * the lock is reclaimed, CMD runs on to its end (it is not sent SIGTERM),
 * syncctl exits with CMD's status, and a second syncctl that was waiting
 * gets the lock after it, with a greater token and no owner-died. */
Test(reclaim, syncctl_lock_command_runs_on_across_a_restart)
{
    char out_a[200], out_b[200], cmd_a[600], cmd_b[600];
    pid_t a, b;
    char *text;
    FILE *f;

    start();
    snprintf(out_a, sizeof(out_a), "%s/a.out", syncd_fx.dir);
    snprintf(out_b, sizeof(out_b), "%s/b.out", syncd_fx.dir);
    snprintf(cmd_a, sizeof(cmd_a),
             "echo \"A $SYNCCTL_TOKEN\" > %s; sleep 1.5; echo A-done >> %s",
             out_a, out_a);
    snprintf(cmd_b, sizeof(cmd_b),
             "echo \"B $SYNCCTL_TOKEN $SYNCCTL_OWNER_DIED\" > %s", out_b);
    a = fx_fork();
    cr_assert(ge(int, a, 0));
    if (a == 0) {
        setenv("SYNCD_RECONNECT", "1", 1); /* the fixture turns it off */
        execl(SYNCCTL_BIN, "syncctl", "-s", syncd_fx.sock, "lock",
              "rc/ctl", "-c", cmd_a, (char *)NULL);
        _exit(127);
    }
    fx_sleep_ms(300); /* A holds it */
    b = fx_fork();
    cr_assert(ge(int, b, 0));
    if (b == 0) {
        setenv("SYNCD_RECONNECT", "1", 1);
        execl(SYNCCTL_BIN, "syncctl", "-s", syncd_fx.sock, "lock",
              "rc/ctl", "-c", cmd_b, (char *)NULL);
        _exit(127);
    }
    fx_sleep_ms(200);
    crash_and_restart();
    cr_assert(eq(int, fx_waitpid(a, 15000), 0), "syncctl A did not exit 0");
    cr_assert(eq(int, fx_waitpid(b, 15000), 0), "syncctl B did not exit 0");
    f = fopen(out_a, "r");
    cr_assert(ne(ptr, f, NULL));
    text = calloc(1, 256);
    cr_assert(gt(sz, fread(text, 1, 255, f), 0));
    fclose(f);
    cr_assert(ne(ptr, strstr(text, "A-done"), NULL),
              "CMD was ended by the restart: %s", text);
    {
        unsigned long long ta = 0, tb = 0;
        int died = -1;

        cr_assert(eq(int, sscanf(text, "A %llu", &ta), 1));
        f = fopen(out_b, "r");
        cr_assert(ne(ptr, f, NULL));
        cr_assert(eq(int, fscanf(f, "B %llu %d", &tb, &died), 2));
        fclose(f);
        cr_assert(gt(u64, tb, ta));
        cr_assert(eq(int, died, 0));
    }
    free(text);
}

/* ---- semaphore permits held through SYNC_SEM_UNDO handles --------------- */

/* `syncctl show NAME` has a line containing both a and b. */
static bool show_has_line(const char *name, const char *a, const char *b)
{
    char cmd[512];

    snprintf(cmd, sizeof(cmd), "%s -s %s show %s", SYNCCTL_BIN, syncd_fx.sock,
             name);
    return command_has_line(cmd, a, b);
}

/* A BoundedSemaphore of 3: the holder takes 2 through an undo handle,
 * another client 1 through a plain one.  After kill -9 and a restart the
 * undo permits are still taken (kept for their client), the plain one too
 * (a plain permit is nobody's: the value says it is out); the holder's
 * next call takes its 2 back, and they stay its own after the grace
 * period, until it releases them. */
Test(reclaim, undo_permits_stay_their_holders_across_kill9)
{
    sync_client *h, *p, *comp;
    sync_sem *hs, *ps, *cs;

    grace_ms = "1000";
    start();
    h = connect_reconnecting();
    cr_assert(eq(int, sync_sem_open_flags(h, "rc/sem", 3, true, SYNC_SEM_UNDO,
                                          &hs),
                 0));
    cr_assert(eq(int, sync_sem_acquire(hs, true, 5.0), 0));
    cr_assert(eq(int, sync_sem_acquire(hs, true, 5.0), 0));
    p = connect_plain();
    cr_assert(eq(int, sync_bsem_open(p, "rc/sem", 3, &ps), 0));
    cr_assert(eq(int, sync_sem_acquire(ps, true, 5.0), 0));
    crash_and_restart();
    cr_assert(syncd_fixture_log_contains("2 undo permit(s) kept", 1000),
              "%s", syncd_fixture_read_log());

    /* All 3 are out (the holder's 2 kept, or already reclaimed: a client
     * that reconnects notices the restart at once). */
    comp = connect_plain();
    cr_assert(eq(int, sync_bsem_open(comp, "rc/sem", 3, &cs), 0));
    cr_assert(eq(int, sync_sem_value(cs), 0));
    cr_assert(eq(int, sync_sem_acquire(cs, false, -1), SYNC_ETIMEDOUT));

    /* The holder's next call reconnects and takes its 2 back. */
    cr_assert(eq(int, sync_sem_value(hs), 0));
    cr_assert(syncd_fixture_log_contains("2 undo permit(s) reclaimed", 1000),
              "%s", syncd_fixture_read_log());
    fx_sleep_ms(slow(1300)); /* past the grace period */
    cr_assert(eq(int, sync_sem_acquire(cs, false, -1), SYNC_ETIMEDOUT));

    /* Released: one at a time to the competitor. */
    cr_assert(eq(int, sync_sem_release(hs, 1), 0));
    cr_assert(eq(int, sync_sem_acquire(cs, false, -1), 0));
    cr_assert(eq(int, sync_sem_release(hs, 1), 0));
    cr_assert(eq(int, sync_sem_value(cs), 1));
    /* A bounded semaphore refuses a third: the holder had only 2. */
    cr_assert(eq(int, sync_sem_release(cs, 1), 0));
    /* p's connection died with the daemon (it does not reconnect); its
     * plain permit is anybody's to give back. */
    cr_assert(eq(int, sync_sem_release(ps, 1), SYNC_ECONN));
    cr_assert(eq(int, sync_sem_release(cs, 1), 0));
    cr_assert(eq(int, sync_sem_release(hs, 1), SYNC_EVALUE));
    cr_assert(eq(int, sync_sem_value(cs), 3));

    /* The holder's undo still works after the reclaim: it takes one and
     * goes; the daemon gives it back. */
    cr_assert(eq(int, sync_sem_acquire(hs, true, 5.0), 0));
    cr_assert(eq(int, sync_sem_value(cs), 2));
    sync_sem_close(hs);
    cr_assert(eq(int, sync_sem_value(cs), 3));
    sync_sem_close(cs);
    sync_sem_close(ps);
    sync_disconnect(comp);
    sync_disconnect(p);
    sync_disconnect(h);
}

/* The holder never comes back: when the grace period ends its undo
 * permits are given back, as its death would, and a waiter gets one. */
Test(reclaim, unclaimed_undo_permits_are_given_back_when_grace_ends)
{
    sync_client *gone, *c;
    sync_sem *gs, *s;
    double t0, waited, left;

    grace_ms = "1500";
    start();
    gone = connect_plain();
    cr_assert(eq(int, sync_sem_open_flags(gone, "rc/usem", 2, false,
                                          SYNC_SEM_UNDO, &gs),
                 0));
    cr_assert(eq(int, sync_sem_acquire(gs, true, 5.0), 0));
    cr_assert(eq(int, sync_sem_acquire(gs, true, 5.0), 0));
    crash_and_restart();
    left = hello_grace_ms() / 1000.0;
    cr_assert(gt(dbl, left, 0.3), "grace left %.3f s", left);
    t0 = fx_now();
    /* syncctl says for whom they are kept. */
    cr_assert(show_has_line("rc/usem", "(kept for reclaim)", " 2"));
    c = connect_plain();
    cr_assert(eq(int, sync_sem_open(c, "rc/usem", 2, &s), 0));
    cr_assert(eq(int, sync_sem_value(s), 0));
    cr_assert(eq(int, sync_sem_acquire(s, true, 30.0), 0));
    waited = fx_now() - t0;
    cr_assert(ge(dbl, waited, left - 0.25), "granted after %.3f s of %.3f",
              waited, left);
    cr_assert(lt(dbl, waited, left + 3.0), "granted after %.3f s", waited);
    cr_assert(eq(int, sync_sem_value(s), 1));
    cr_assert(syncd_fixture_log_contains("0 undo permit(s) reclaimed, 2 given "
                                         "back",
                                         1000),
              "%s", syncd_fixture_read_log());
    /* Its client learns it: those permits are no longer its to give. */
    cr_assert(eq(int, sync_sem_release(gs, 1), SYNC_ECONN));
    cr_assert(eq(int, sync_sem_release(s, 1), 0));
    sync_sem_close(s);
    sync_disconnect(c);
    sync_sem_close(gs);
    sync_disconnect(gone);
}

/* Back after the grace period: the permits are gone; each release of one
 * says SYNC_ELOST and raises nothing (the daemon gave them back). */
static void late_sem_holder(int in, int out)
{
    sync_client *h = late_connect();
    sync_sem *hs;

    LATE_CHECK(sync_sem_open_flags(h, "rc/lsem", 2, false, SYNC_SEM_UNDO,
                                   &hs) == 0,
               21);
    LATE_CHECK(sync_sem_acquire(hs, true, 5.0) == 0, 22);
    LATE_CHECK(sync_sem_acquire(hs, true, 5.0) == 0, 23);
    late_say(out, 'R');
    LATE_CHECK(late_hear(in) == 'G', 24);
    LATE_CHECK(sync_sem_value(hs) == 2, 25); /* reconnected */
    LATE_CHECK(sync_sem_release(hs, 1) == SYNC_ELOST, 26);
    LATE_CHECK(sync_sem_release(hs, 1) == SYNC_ELOST, 27);
    LATE_CHECK(sync_sem_value(hs) == 2, 28);
    /* A release beyond them is a plain release again. */
    LATE_CHECK(sync_sem_release(hs, 1) == 0, 29);
    LATE_CHECK(sync_sem_value(hs) == 3, 30);
    sync_sem_close(hs);
    sync_disconnect(h);
    late_say(out, 'D');
}

Test(reclaim, undo_permits_back_too_late_are_lost)
{
    struct late lt;
    sync_client *c;
    sync_sem *s;

    grace_ms = "300";
    start();
    late_start(&lt, late_sem_holder);
    crash_and_restart();
    fx_sleep_ms(slow(700));
    c = connect_plain();
    cr_assert(eq(int, sync_sem_open(c, "rc/lsem", 2, &s), 0));
    cr_assert(eq(int, sync_sem_value(s), 2));
    cr_assert(eq(chr, late_go(&lt), 'D'));
    late_end(&lt);
    cr_assert(eq(int, sync_sem_value(s), 3));
    cr_assert(syncd_fixture_log_contains("reclaim of 'rc/lsem' refused", 0));
    sync_sem_close(s);
    sync_disconnect(c);
}

/* Open name as a semaphore of value with flags on a raw connection. */
static uint32_t raw_open_sem(int fd, const char *name, uint32_t value,
                             uint32_t flags)
{
    Syncd__Request rq = SYNCD__REQUEST__INIT;
    Syncd__Open o = SYNCD__OPEN__INIT;
    struct raw_reply r;

    o.name.data = (uint8_t *)name;
    o.name.len = strlen(name);
    o.type = SYNCD__OBJECT_TYPE__SEMAPHORE;
    o.value = value;
    o.flags = flags;
    rq.id = 2;
    rq.op_case = SYNCD__REQUEST__OP_OPEN;
    rq.open = &o;
    cr_assert(eq(int, raw_send_request(fd, &rq), 0));
    cr_assert(eq(int, raw_read_reply(fd, 5000, &r), RAW_OK));
    cr_assert(eq(int, r.code, 0));
    return r.handle;
}

/* The daemon granted an undo acquire and was killed before the reply:
 * the client (holding nothing it knows of) sends the acquire again, and
 * gets the permit kept for it at once - no second permit, no wait for
 * the period.  A reclaim through a plain handle is refused. */
Test(reclaim, undo_acquire_whose_reply_was_lost_gets_its_permit_at_once)
{
    const uint8_t id[16] = "lost-sem-reply-1";
    struct raw_reply r;
    sync_client *c;
    sync_sem *s;
    uint32_t handle, plain;
    double t0;
    int fd;

    grace_ms = "3000";
    start();
    fd = raw_client(id);
    handle = raw_open_sem(fd, "rc/sreply", 1, WIRE_OPEN_FLAG_UNDO);
    cr_assert(eq(int, raw_acquire(fd, 3, handle, -1, &r), 0));
    crash_and_restart();
    close(fd);

    fd = raw_client(id);
    handle = raw_open_sem(fd, "rc/sreply", 1, WIRE_OPEN_FLAG_UNDO);
    plain = raw_open_sem(fd, "rc/sreply", 1, 0);
    cr_assert(eq(int, raw_reclaim(fd, plain, 1, &r), SYNC_EINVAL));
    t0 = fx_now();
    cr_assert(eq(int, raw_acquire(fd, 3, handle, 1500000, &r), 0),
              "the acquire waited behind its own kept permit");
    cr_assert(lt(dbl, fx_now() - t0, 1.0));
    cr_assert(syncd_fixture_log_contains("is its acquire's", 1000));
    c = connect_plain();
    cr_assert(eq(int, sync_sem_open(c, "rc/sreply", 1, &s), 0));
    cr_assert(eq(int, sync_sem_value(s), 0));
    /* Its client going gives it back (undo), once. */
    close(fd);
    cr_assert(eq(int, sync_sem_acquire(s, true, 5.0), 0));
    cr_assert(eq(int, sync_sem_value(s), 0));
    cr_assert(eq(int, sync_sem_release(s, 1), 0));
    sync_sem_close(s);
    sync_disconnect(c);
}

/* An in-memory daemon keeps nothing: the permits are gone with it. */
Test(reclaim, undo_permits_after_an_in_memory_restart_are_lost)
{
    sync_client *h;
    sync_sem *hs;

    syncd_fixture_start(NULL);
    h = connect_reconnecting();
    cr_assert(eq(int, sync_sem_open_flags(h, "rc/msem", 1, true,
                                          SYNC_SEM_UNDO, &hs),
                 0));
    cr_assert(eq(int, sync_sem_acquire(hs, true, 5.0), 0));
    cr_assert(eq(int, syncd_fixture_kill(SIGKILL), 128 + SIGKILL));
    syncd_fixture_start(NULL);
    cr_assert(eq(int, sync_sem_value(hs), 1));
    cr_assert(eq(int, sync_sem_release(hs, 1), SYNC_ELOST));
    cr_assert(eq(int, sync_sem_value(hs), 1));
    sync_sem_close(hs);
    sync_disconnect(h);
}

/* ---- locks lent to their client (lock caching) and free there ---------- */

/* Take and give back name 10 times: the daemon lends it to c (lock
 * caching), and it is free in c's page at the end. */
static void take_until_lent(sync_lock *l)
{
    int i;

    for (i = 0; i < 10; i++) {
        cr_assert(eq(int, sync_lock_acquire(l, true, 5.0), 0));
        cr_assert(eq(int, sync_lock_release(l), 0));
    }
}

/* kill -9 while the lock is lent to A and free in A's page: the daemon
 * kept it as A's hold.  A's reconnect reclaims nothing of it and says it
 * holds nothing more: the kept hold is let go at once, and B takes the
 * lock without waiting for the grace period and without a false
 * owner-died. */
Test(reclaim, cached_free_lock_is_let_go_when_its_client_is_back)
{
    sync_client *a, *b;
    sync_lock *al, *bl;
    sync_event *e;

    grace_ms = "3000";
    start();
    a = connect_reconnecting();
    cr_assert(eq(int, sync_lock_open(a, "rc/cached", &al), 0));
    cr_assert(eq(int, sync_event_open(a, "rc/cached_ev", &e), 0));
    take_until_lent(al);
    crash_and_restart();
    cr_assert(syncd_fixture_log_contains("1 hold(s) restored", 1000),
              "%s", syncd_fixture_read_log());
    cr_assert(eq(int, sync_event_set(e), 0)); /* A reconnects */
    cr_assert(syncd_fixture_log_contains("1 lock(s) and 0 undo permit(s) "
                                         "kept for it let go",
                                         1000),
              "%s", syncd_fixture_read_log());
    b = connect_plain();
    cr_assert(eq(int, sync_lock_open(b, "rc/cached", &bl), 0));
    cr_assert(eq(int, sync_lock_acquire(bl, false, -1), 0),
              "the lock free in A's page was kept from B");
    cr_assert(eq(int, sync_lock_owner_died(bl), 0));
    cr_assert(eq(int, sync_lock_release(bl), 0));
    /* A's handle works on: it was never told anything was lost. */
    cr_assert(eq(int, sync_lock_owner_lost(al), 0));
    cr_assert(eq(int, sync_lock_acquire(al, true, 5.0), 0));
    cr_assert(eq(int, sync_lock_release(al), 0));
    sync_lock_close(bl);
    sync_disconnect(b);
    sync_event_close(e);
    sync_lock_close(al);
    sync_disconnect(a);
}

/* A clean stop (systemctl restart) takes every lent lock back first: one
 * free in its client's page is kept as free, so after the start B takes
 * it at once, even before A comes back; one held there is kept as held. */
Test(reclaim, clean_stop_keeps_cached_locks_as_their_pages_say)
{
    sync_client *a, *b;
    sync_lock *free_l, *held_l, *bl;

    grace_ms = "3000";
    start();
    a = connect_reconnecting();
    cr_assert(eq(int, sync_lock_open(a, "rc/cfree", &free_l), 0));
    cr_assert(eq(int, sync_lock_open(a, "rc/cheld", &held_l), 0));
    take_until_lent(free_l);
    take_until_lent(held_l);
    cr_assert(eq(int, sync_lock_acquire(held_l, true, 5.0), 0));
    cr_assert(eq(int, syncd_fixture_stop(), 0));
    /* The stop says the hold is kept, not that it was released. */
    cr_assert(syncd_fixture_log_contains("lock 'rc/cheld': holder pid", 200),
              "%s", syncd_fixture_read_log());
    cr_assert(syncd_fixture_log_contains("kept in the state file, for it to "
                                         "reclaim after the restart", 200));
    cr_assert(not(syncd_fixture_log_contains("'rc/cheld' released", 200)));
    start();
    cr_assert(syncd_fixture_log_contains("1 hold(s) restored", 1000),
              "%s", syncd_fixture_read_log());
    b = connect_plain();
    cr_assert(eq(int, sync_lock_open(b, "rc/cfree", &bl), 0));
    cr_assert(eq(int, sync_lock_acquire(bl, false, -1), 0),
              "a lock free in its client's page was kept as held");
    cr_assert(eq(int, sync_lock_owner_died(bl), 0));
    cr_assert(eq(int, sync_lock_release(bl), 0));
    sync_lock_close(bl);
    cr_assert(eq(int, sync_lock_open(b, "rc/cheld", &bl), 0));
    cr_assert(eq(int, sync_lock_acquire(bl, false, -1), SYNC_ETIMEDOUT));
    /* A is back with its hold. */
    cr_assert(eq(int, sync_lock_locked(held_l), 1));
    cr_assert(eq(int, sync_lock_owner_lost(held_l), 0));
    cr_assert(eq(int, sync_lock_release(held_l), 0));
    cr_assert(eq(int, sync_lock_acquire(bl, false, -1), 0));
    cr_assert(eq(int, sync_lock_owner_died(bl), 0));
    cr_assert(eq(int, sync_lock_release(bl), 0));
    sync_lock_close(bl);
    sync_disconnect(b);
    sync_lock_close(free_l);
    sync_lock_close(held_l);
    sync_disconnect(a);
}

/* ---- a holder that makes no call across the restart --------------------- */

/* A process in a long critical section makes no call while the daemon is
 * killed and restarted: its client notices by itself and reclaims the
 * lock within the grace period, so nobody else gets it after the period
 * (with a false owner-died) while the holder still believes it holds it. */
Test(reclaim, idle_holder_keeps_its_lock_past_the_grace_period)
{
    sync_client *h, *c;
    sync_lock *hl, *l;
    uint64_t token;
    double t0;

    grace_ms = "1000";
    start();
    h = connect_reconnecting();
    cr_assert(eq(int, sync_lock_open(h, "rc/idle", &hl), 0));
    cr_assert(eq(int, sync_lock_acquire(hl, true, 5.0), 0));
    token = sync_lock_token(hl);
    crash_and_restart();
    c = connect_plain();
    cr_assert(eq(int, sync_lock_open(c, "rc/idle", &l), 0));
    /* Blocks beyond the grace period: the holder, idle, reclaimed it. */
    t0 = fx_now();
    cr_assert(eq(int, sync_lock_acquire(l, true, slow(2500) / 1000.0),
                 SYNC_ETIMEDOUT),
              "the idle holder's lock went to another process");
    cr_assert(ge(dbl, fx_now() - t0, slow(2500) / 1000.0 - 0.05));
    cr_assert(syncd_fixture_log_contains("1 hold(s) reclaimed", 0),
              "%s", syncd_fixture_read_log());
    /* Its first call after all that: nothing was lost. */
    cr_assert(eq(int, sync_lock_owner_lost(hl), 0));
    cr_assert(eq(u64, sync_lock_token(hl), token));
    cr_assert(eq(int, sync_lock_release(hl), 0));
    cr_assert(eq(int, sync_lock_acquire(l, false, -1), 0));
    cr_assert(eq(int, sync_lock_owner_died(l), 0));
    cr_assert(eq(int, sync_lock_release(l), 0));
    sync_lock_close(l);
    sync_disconnect(c);
    sync_lock_close(hl);
    sync_disconnect(h);
}
