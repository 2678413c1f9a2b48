/*
 * test_access.c: per-object access control with real uids.
 *
 * The test runs as root.  Each test starts a daemon with --socket-mode 0666
 * in a temporary directory opened up to 0755, and forks children that drop
 * to unprivileged identities before connecting, so the daemon sees their
 * real uid/gid (SO_PEERCRED) and supplementary groups:
 *
 *   A       uid 65534 (nobody)  gid 65534             creates the objects
 *   A_GRP   uid 65534           gid ACCESS_GID_SHARED creates group objects
 *   B       uid 65533           gid 65533             the other user
 *   B_SUP   uid 65533           gid 65533, supplementary ACCESS_GID_SHARED
 *   B_PRI   uid 65533           gid ACCESS_GID_SHARED
 *
 * Rules under test (client/syncclient.h, daemon/dispatch.c): objects record
 * their creator's uid/gid and a mode (default 0660, else the client's
 * sync_set_create_mode()); reading state needs read, everything else write;
 * opening an existing object needs either; root may do all; a denial is
 * SYNC_EPERM and a "denied" log line naming the object; listings and
 * `show` hide objects the caller may not read.
 *
 * Children report every return code through shared memory and exit with
 * _exit() (after setuid a process is not dumpable, and LeakSanitizer's
 * exit-time check cannot attach to it); the parent asserts.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon_fixture.h"
#include "syncclient.h"

#ifndef SYNCCTL_BIN
#define SYNCCTL_BIN ""
#endif
#ifndef SYNCCLIENT_SONAME_FILE
#define SYNCCLIENT_SONAME_FILE ""
#endif

#define ACCESS_GID_SHARED 64000u

struct ident {
    const char *label;
    uid_t uid;
    gid_t gid;
    gid_t groups[4];
    int n_groups;
};

static const struct ident ID_A = {"A", 65534, 65534, {0}, 0};
static const struct ident ID_A_GRP = {"A_GRP", 65534, ACCESS_GID_SHARED,
                                      {0}, 0};
static const struct ident ID_B = {"B", 65533, 65533, {0}, 0};
static const struct ident ID_B_SUP = {"B_SUP", 65533, 65533,
                                      {ACCESS_GID_SHARED}, 1};
static const struct ident ID_B_PRI = {"B_PRI", 65533, ACCESS_GID_SHARED,
                                      {0}, 0};

/* Return codes reported by children, indexed by the test's own enum. */
#define MAX_RESULTS 64
struct results {
    int rv[MAX_RESULTS];
    int done; /* the child got to its end */
};

static struct results *res;

/* Not a code any call returns: "this step did not run". */
#define NOT_RUN 12345

static void access_init(void)
{
    int i;

    res = fx_shared(sizeof(*res));
    for (i = 0; i < MAX_RESULTS; i++)
        res->rv[i] = NOT_RUN;
    if (geteuid() != 0)
        return; /* each test skips */
    syncd_fixture_mkdir();
    /* mkdtemp made it 0700: the other uids must reach the socket. */
    cr_assert(chmod(syncd_fx.dir, 0755) == 0, "chmod %s: %s", syncd_fx.dir,
              strerror(errno));
    syncd_fixture_start((const char *[]){"--socket-mode", "0666", NULL});
}

static void require_root(void)
{
    if (geteuid() != 0)
        cr_skip_test("access-control tests need root (setuid to other "
                     "uids); running as uid %u", (unsigned)geteuid());
}

/*
 * Drop to id in a child made by fx_fork(); false on failure.  Changing
 * credentials clears the parent-death signal fx_fork() set, so set it
 * again: no child outlives a killed test.
 */
static bool become(const struct ident *id)
{
    pid_t parent = getppid();

    if (setgroups((size_t)id->n_groups, id->n_groups ? id->groups : NULL) !=
            0 ||
        setgid(id->gid) != 0 || setuid(id->uid) != 0)
        return false;
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
        return false;
    return getuid() == id->uid && geteuid() == id->uid &&
           getegid() == id->gid;
}

/* How many lines of the daemon's log contain every one of the needles. */
static int log_lines_with(const char *a, const char *b)
{
    char *log = syncd_fixture_read_log(), *line, *save = NULL;
    int n = 0;

    for (line = strtok_r(log, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save))
        if (strstr(line, a) != NULL && (b == NULL || strstr(line, b)))
            n++;
    free(log);
    return n;
}

typedef int (*child_fn)(sync_client *c, void *arg);

/*
 * Fork, become id, connect and run fn; the child's exit code is fn's
 * (0..99), 120 if it could not drop privileges, 121 if it could not
 * connect.  Returns the child's pid.
 */
static pid_t spawn_as(const struct ident *id, child_fn fn, void *arg)
{
    pid_t pid = fx_fork();
    sync_client *c;
    int rv;

    cr_assert(pid >= 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        if (!become(id))
            _exit(120);
        if (sync_connect(syncd_fx.sock, &c) != 0)
            _exit(121);
        rv = fn(c, arg);
        sync_disconnect(c);
        _exit(rv);
    }
    return pid;
}

static void wait_child(pid_t pid, const struct ident *id)
{
    int code = fx_waitpid(pid, 15000);

    cr_assert_neq(code, 120, "%s: could not setgroups/setgid/setuid to "
                  "%u:%u", id->label, (unsigned)id->uid, (unsigned)id->gid);
    cr_assert_neq(code, 121, "%s (uid %u) could not connect to %s",
                  id->label, (unsigned)id->uid, syncd_fx.sock);
    cr_assert_eq(code, 0, "%s (uid %u) exited with %d", id->label,
                 (unsigned)id->uid, code);
}

static void run_as(const struct ident *id, child_fn fn, void *arg)
{
    wait_child(spawn_as(id, fn, arg), id);
}

/* cr_expect on one reported code, naming both codes. */
#define EXPECT_RV(idx, want, what)                                            \
    cr_expect_eq(res->rv[idx], (want), "%s: got %s (%d), expected %s",      \
                 (what),                                                      \
                 res->rv[idx] == NOT_RUN ? "<not run>"                        \
                                         : sync_errname(res->rv[idx]),        \
                 res->rv[idx], sync_errname(want))

/* ---- creating objects as A -------------------------------------------- */

struct create_spec {
    const char *prefix; /* names are PREFIX/lock, PREFIX/event, ... */
    unsigned mode;      /* 0: leave the client's default */
    bool set_event;     /* leave the event set */
};

static void name_of(char *buf, size_t size, const char *prefix,
                    const char *what)
{
    snprintf(buf, size, "%s/%s", prefix, what);
}

/* Create a Lock, an Event, a Semaphore (value 2), an RLock, a Barrier (2
 * parties) and a Condition on its own lock under prefix. */
static int child_create(sync_client *c, void *arg)
{
    const struct create_spec *sp = arg;
    char name[128];
    sync_lock *l;
    sync_event *e;
    sync_sem *s;
    sync_rlock *r;
    sync_barrier *b;
    sync_cond *cv;

    if (sp->mode != 0 && sync_set_create_mode(c, sp->mode) != 0)
        return 1;
    name_of(name, sizeof(name), sp->prefix, "lock");
    if (sync_lock_open(c, name, &l) != 0)
        return 2;
    name_of(name, sizeof(name), sp->prefix, "event");
    if (sync_event_open(c, name, &e) != 0)
        return 3;
    if (sp->set_event && sync_event_set(e) != 0)
        return 4;
    name_of(name, sizeof(name), sp->prefix, "sem");
    if (sync_sem_open(c, name, 2, &s) != 0)
        return 5;
    name_of(name, sizeof(name), sp->prefix, "rlock");
    if (sync_rlock_open(c, name, &r) != 0)
        return 6;
    name_of(name, sizeof(name), sp->prefix, "barrier");
    if (sync_barrier_open(c, name, 2, &b) != 0)
        return 7;
    name_of(name, sizeof(name), sp->prefix, "cond");
    if (sync_cond_open(c, name, NULL, &cv) != 0)
        return 8;
    /* Objects outlive their handles: they live until unlinked. */
    sync_lock_close(l);
    sync_event_close(e);
    sync_sem_close(s);
    sync_rlock_close(r);
    sync_barrier_close(b);
    sync_cond_close(cv);
    return 0;
}

static void create_as(const struct ident *id, const char *prefix,
                      unsigned mode, bool set_event)
{
    struct create_spec sp = {prefix, mode, set_event};

    run_as(id, child_create, &sp);
}

/* ---- 0660 (the default): B can neither open nor unlink ----------------- */

enum {
    P_OPEN_LOCK, P_LOCK_NULL, P_OPEN_EVENT, P_EVENT_NULL, P_OPEN_SEM,
    P_OPEN_BSEM, P_OPEN_RLOCK, P_OPEN_BARRIER, P_OPEN_COND, P_BIND_COND,
    P_UNLINK_LOCK, P_UNLINK_EVENT, P_UNLINK_SEM, P_UNLINK_COND, P_OWN_OPEN,
    P_OWN_ACQUIRE, P_OWN_RELEASE, P_OWN_UNLINK,
    /* A afterwards */
    P_A_ACQUIRE, P_A_RELEASE, P_A_IS_SET, P_A_VALUE, P_A_UNLINK,
};

static int child_private_b(sync_client *c, void *arg)
{
    sync_lock *l = (sync_lock *)&l, *own;
    sync_event *e = (sync_event *)&e;
    sync_sem *s;
    sync_rlock *r;
    sync_barrier *b;
    sync_cond *cv;

    (void)arg;
    res->rv[P_OPEN_LOCK] = sync_lock_open(c, "acl/p/lock", &l);
    res->rv[P_LOCK_NULL] = l == NULL ? 0 : -1;
    res->rv[P_OPEN_EVENT] = sync_event_open(c, "acl/p/event", &e);
    res->rv[P_EVENT_NULL] = e == NULL ? 0 : -1;
    res->rv[P_OPEN_SEM] = sync_sem_open(c, "acl/p/sem", 2, &s);
    /* The type is checked after the permission: nothing leaks. */
    res->rv[P_OPEN_BSEM] = sync_bsem_open(c, "acl/p/sem", 2, &s);
    res->rv[P_OPEN_RLOCK] = sync_rlock_open(c, "acl/p/rlock", &r);
    res->rv[P_OPEN_BARRIER] = sync_barrier_open(c, "acl/p/barrier", 2, &b);
    res->rv[P_OPEN_COND] = sync_cond_open(c, "acl/p/cond", NULL, &cv);
    /* A new condition of B's may not bind to A's private lock. */
    res->rv[P_BIND_COND] = sync_cond_open(c, "acl/b/cond", "acl/p/lock", &cv);
    res->rv[P_UNLINK_LOCK] = sync_unlink(c, "acl/p/lock");
    res->rv[P_UNLINK_EVENT] = sync_unlink(c, "acl/p/event");
    res->rv[P_UNLINK_SEM] = sync_unlink(c, "acl/p/sem");
    res->rv[P_UNLINK_COND] = sync_unlink(c, "acl/p/cond");
    /* B itself is not crippled: its own objects work. */
    res->rv[P_OWN_OPEN] = sync_lock_open(c, "acl/b/own", &own);
    if (res->rv[P_OWN_OPEN] == 0) {
        res->rv[P_OWN_ACQUIRE] = sync_lock_acquire(own, false, -1);
        res->rv[P_OWN_RELEASE] = sync_lock_release(own);
        sync_lock_close(own);
    }
    res->rv[P_OWN_UNLINK] = sync_unlink(c, "acl/b/own");
    return 0;
}

static int child_private_a_after(sync_client *c, void *arg)
{
    sync_lock *l;
    sync_event *e;
    sync_sem *s;

    (void)arg;
    if (sync_lock_open(c, "acl/p/lock", &l) != 0 ||
        sync_event_open(c, "acl/p/event", &e) != 0 ||
        sync_sem_open(c, "acl/p/sem", 2, &s) != 0)
        return 1;
    res->rv[P_A_ACQUIRE] = sync_lock_acquire(l, false, -1);
    res->rv[P_A_RELEASE] = sync_lock_release(l);
    res->rv[P_A_IS_SET] = sync_event_is_set(e);
    res->rv[P_A_VALUE] = sync_sem_value(s);
    sync_lock_close(l);
    sync_event_close(e);
    sync_sem_close(s);
    res->rv[P_A_UNLINK] = sync_unlink(c, "acl/p/lock");
    return 0;
}

TestSuite(access, .init = access_init, .fini = syncd_fixture_fini,
          .timeout = 60);

Test(access, default_mode_0660_keeps_other_users_out)
{
    require_root();
    create_as(&ID_A, "acl/p", 0, true);
    run_as(&ID_B, child_private_b, NULL);

    EXPECT_RV(P_OPEN_LOCK, SYNC_EPERM, "B opens A's 0660 lock");
    EXPECT_RV(P_LOCK_NULL, 0, "failed open leaves *out NULL");
    EXPECT_RV(P_OPEN_EVENT, SYNC_EPERM, "B opens A's 0660 event");
    EXPECT_RV(P_EVENT_NULL, 0, "failed open leaves *out NULL");
    EXPECT_RV(P_OPEN_SEM, SYNC_EPERM, "B opens A's 0660 semaphore");
    EXPECT_RV(P_OPEN_BSEM, SYNC_EPERM,
              "B opens A's semaphore as another type");
    EXPECT_RV(P_OPEN_RLOCK, SYNC_EPERM, "B opens A's 0660 rlock");
    EXPECT_RV(P_OPEN_BARRIER, SYNC_EPERM, "B opens A's 0660 barrier");
    EXPECT_RV(P_OPEN_COND, SYNC_EPERM, "B opens A's 0660 condition");
    EXPECT_RV(P_BIND_COND, SYNC_EPERM,
              "B binds a new condition to A's 0660 lock");
    EXPECT_RV(P_UNLINK_LOCK, SYNC_EPERM, "B unlinks A's lock");
    EXPECT_RV(P_UNLINK_EVENT, SYNC_EPERM, "B unlinks A's event");
    EXPECT_RV(P_UNLINK_SEM, SYNC_EPERM, "B unlinks A's semaphore");
    EXPECT_RV(P_UNLINK_COND, SYNC_EPERM, "B unlinks A's condition");
    EXPECT_RV(P_OWN_OPEN, 0, "B creates its own lock");
    EXPECT_RV(P_OWN_ACQUIRE, 0, "B acquires its own lock");
    EXPECT_RV(P_OWN_RELEASE, 0, "B releases its own lock");
    EXPECT_RV(P_OWN_UNLINK, 0, "B unlinks its own lock");

    /* Nothing B tried changed anything: A still has it all. */
    run_as(&ID_A, child_private_a_after, NULL);
    EXPECT_RV(P_A_ACQUIRE, 0, "A acquires its lock after B's attempts");
    EXPECT_RV(P_A_RELEASE, 0, "A releases its lock");
    EXPECT_RV(P_A_IS_SET, 1, "A's event is still set");
    EXPECT_RV(P_A_VALUE, 2, "A's semaphore still has value 2");
    EXPECT_RV(P_A_UNLINK, 0, "A unlinks its own lock");

    /* Every denial is logged with the client, operation and object. */
    cr_expect(syncd_fixture_log_contains(
                  "uid 65533: open 'acl/p/lock' denied: needs write "
                  "(owner 65534:65534 mode 660)", 2000),
              "no 'denied' log line for B's open of acl/p/lock");
    cr_expect(syncd_fixture_log_contains(
                  "uid 65533: unlink 'acl/p/event' denied", 2000),
              "no 'denied' log line for B's unlink of acl/p/event");
    /* B's open of the lock and B's condition bound to it: two lines. */
    cr_expect_eq(log_lines_with("uid 65533: open 'acl/p/lock' denied", NULL),
                 2, "expected 2 'denied' lines for acl/p/lock (open, and "
                 "a condition bound to it)");
}

/* ---- sync_set_create_mode(0666): shared with everyone ------------------- */

enum {
    S_OPEN_LOCK, S_ACQUIRE, S_LOCKED, S_RELEASE, S_OPEN_EVENT, S_SET,
    S_IS_SET, S_CLEAR, S_WAIT, S_OPEN_SEM, S_SEM_ACQUIRE, S_SEM_RELEASE,
    S_SEM_VALUE, S_OPEN_COND, S_COND_ACQUIRE, S_COND_NOTIFY, S_COND_RELEASE,
    S_UNLINK_EVENT, S_UNLINK_SEM,
    /* the cross-user hand-over */
    S_A_ACQUIRE, S_B_TRY, S_B_WAIT, S_B_TOKEN_GT, S_B_RELEASE, S_A_RELEASE,
    S_MODE_INVALID,
};

static int child_shared_b(sync_client *c, void *arg)
{
    sync_lock *l;
    sync_event *e;
    sync_sem *s;
    sync_cond *cv;

    (void)arg;
    res->rv[S_MODE_INVALID] = sync_set_create_mode(c, 01000);
    if ((res->rv[S_OPEN_LOCK] = sync_lock_open(c, "acl/s/lock", &l)) == 0) {
        res->rv[S_ACQUIRE] = sync_lock_acquire(l, false, -1);
        res->rv[S_LOCKED] = sync_lock_locked(l);
        res->rv[S_RELEASE] = sync_lock_release(l);
        sync_lock_close(l);
    }
    if ((res->rv[S_OPEN_EVENT] = sync_event_open(c, "acl/s/event", &e)) ==
        0) {
        res->rv[S_SET] = sync_event_set(e);
        res->rv[S_IS_SET] = sync_event_is_set(e);
        res->rv[S_CLEAR] = sync_event_clear(e);
        res->rv[S_WAIT] = sync_event_wait(e, 0.05);
        sync_event_close(e);
    }
    if ((res->rv[S_OPEN_SEM] = sync_sem_open(c, "acl/s/sem", 2, &s)) == 0) {
        res->rv[S_SEM_ACQUIRE] = sync_sem_acquire(s, false, -1);
        res->rv[S_SEM_RELEASE] = sync_sem_release(s, 1);
        res->rv[S_SEM_VALUE] = sync_sem_value(s);
        sync_sem_close(s);
    }
    if ((res->rv[S_OPEN_COND] = sync_cond_open(c, "acl/s/cond", NULL,
                                               &cv)) == 0) {
        res->rv[S_COND_ACQUIRE] = sync_cond_acquire(cv, false, -1);
        res->rv[S_COND_NOTIFY] = sync_cond_notify_all(cv);
        res->rv[S_COND_RELEASE] = sync_cond_release(cv);
        sync_cond_close(cv);
    }
    res->rv[S_UNLINK_EVENT] = sync_unlink(c, "acl/s/event");
    res->rv[S_UNLINK_SEM] = sync_unlink(c, "acl/s/sem");
    return 0;
}

/* The lock hand-over between A and B: pipes order the steps. */
struct handover {
    int a_holds[2]; /* A -> parent: A holds the lock */
    int b_tried[2]; /* B -> A: B's try failed, B now waits */
    uint64_t a_token, b_token;
};

static struct handover *ho;

static int child_handover_a(sync_client *c, void *arg)
{
    sync_lock *l;

    (void)arg;
    if (sync_lock_open(c, "acl/s/lock", &l) != 0)
        return 1;
    res->rv[S_A_ACQUIRE] = sync_lock_acquire(l, true, 5.0);
    ho->a_token = sync_lock_token(l);
    fx_signal(ho->a_holds[1]);
    if (fx_await(ho->b_tried[0], 10000) != 1)
        return 2;
    fx_sleep_ms(50); /* let B's blocking acquire reach the daemon */
    res->rv[S_A_RELEASE] = sync_lock_release(l);
    sync_lock_close(l);
    return 0;
}

static int child_handover_b(sync_client *c, void *arg)
{
    sync_lock *l;

    (void)arg;
    if (sync_lock_open(c, "acl/s/lock", &l) != 0)
        return 1;
    res->rv[S_B_TRY] = sync_lock_acquire(l, false, -1);
    fx_signal(ho->b_tried[1]);
    res->rv[S_B_WAIT] = sync_lock_acquire(l, true, 10.0);
    ho->b_token = sync_lock_token(l);
    res->rv[S_B_TOKEN_GT] = ho->b_token > ho->a_token ? 0 : -1;
    res->rv[S_B_RELEASE] = sync_lock_release(l);
    sync_lock_close(l);
    return 0;
}

Test(access, create_mode_0666_shares_objects_with_everyone)
{
    pid_t a, b;

    require_root();
    create_as(&ID_A, "acl/s", 0666, false);
    run_as(&ID_B, child_shared_b, NULL);

    EXPECT_RV(S_MODE_INVALID, SYNC_EINVAL, "sync_set_create_mode(01000)");
    EXPECT_RV(S_OPEN_LOCK, 0, "B opens A's 0666 lock");
    EXPECT_RV(S_ACQUIRE, 0, "B acquires it");
    EXPECT_RV(S_LOCKED, 1, "B sees it locked");
    EXPECT_RV(S_RELEASE, 0, "B releases it");
    EXPECT_RV(S_OPEN_EVENT, 0, "B opens A's 0666 event");
    EXPECT_RV(S_SET, 0, "B sets it");
    EXPECT_RV(S_IS_SET, 1, "B sees it set");
    EXPECT_RV(S_CLEAR, 0, "B clears it");
    EXPECT_RV(S_WAIT, SYNC_ETIMEDOUT, "B waits on it (allowed; times out)");
    EXPECT_RV(S_OPEN_SEM, 0, "B opens A's 0666 semaphore");
    EXPECT_RV(S_SEM_ACQUIRE, 0, "B acquires a permit");
    EXPECT_RV(S_SEM_RELEASE, 0, "B releases it");
    EXPECT_RV(S_SEM_VALUE, 2, "B reads the value");
    EXPECT_RV(S_OPEN_COND, 0, "B opens A's 0666 condition");
    EXPECT_RV(S_COND_ACQUIRE, 0, "B acquires the condition's lock");
    EXPECT_RV(S_COND_NOTIFY, 0, "B notifies");
    EXPECT_RV(S_COND_RELEASE, 0, "B releases the condition's lock");
    EXPECT_RV(S_UNLINK_EVENT, 0, "B unlinks A's 0666 event");
    EXPECT_RV(S_UNLINK_SEM, 0, "B unlinks A's 0666 semaphore");

    /* And the lock really synchronizes the two users. */
    ho = fx_shared(sizeof(*ho));
    cr_assert(pipe(ho->a_holds) == 0 && pipe(ho->b_tried) == 0);
    a = spawn_as(&ID_A, child_handover_a, NULL);
    cr_assert_eq(fx_await(ho->a_holds[0], 10000), 1,
                 "A did not get the lock");
    b = spawn_as(&ID_B, child_handover_b, NULL);
    wait_child(b, &ID_B);
    wait_child(a, &ID_A);
    EXPECT_RV(S_A_ACQUIRE, 0, "A acquires the shared lock");
    EXPECT_RV(S_B_TRY, SYNC_ETIMEDOUT,
              "B's try-acquire while A holds it (busy, not denied)");
    EXPECT_RV(S_A_RELEASE, 0, "A releases");
    EXPECT_RV(S_B_WAIT, 0, "B's blocking acquire gets it from A");
    EXPECT_RV(S_B_TOKEN_GT, 0, "B's fencing token follows A's");
    EXPECT_RV(S_B_RELEASE, 0, "B releases");
}

/* ---- 0644: others may read but not write -------------------------------- */

enum {
    R_OPEN_LOCK, R_LOCKED, R_ACQUIRE, R_RELEASE, R_OPEN_EVENT, R_IS_SET,
    R_SET, R_CLEAR, R_WAIT, R_OPEN_SEM, R_VALUE, R_SEM_ACQUIRE,
    R_SEM_RELEASE, R_OPEN_BARRIER, R_PARTIES, R_N_WAITING, R_BROKEN,
    R_BARRIER_WAIT, R_BARRIER_ABORT, R_OPEN_RLOCK, R_RLOCK_ACQUIRE,
    R_UNLINK,
    /* A afterwards */
    R_A_IS_SET, R_A_VALUE, R_A_LOCKED, R_A_BROKEN,
};

static int child_readonly_b(sync_client *c, void *arg)
{
    sync_lock *l;
    sync_event *e;
    sync_sem *s;
    sync_barrier *b;
    sync_rlock *r;

    (void)arg;
    if ((res->rv[R_OPEN_LOCK] = sync_lock_open(c, "acl/r/lock", &l)) == 0) {
        res->rv[R_LOCKED] = sync_lock_locked(l);
        res->rv[R_ACQUIRE] = sync_lock_acquire(l, false, -1);
        res->rv[R_RELEASE] = sync_lock_release(l);
        sync_lock_close(l);
    }
    if ((res->rv[R_OPEN_EVENT] = sync_event_open(c, "acl/r/event", &e)) ==
        0) {
        res->rv[R_IS_SET] = sync_event_is_set(e);
        res->rv[R_SET] = sync_event_set(e);
        res->rv[R_CLEAR] = sync_event_clear(e);
        res->rv[R_WAIT] = sync_event_wait(e, 0.05);
        sync_event_close(e);
    }
    if ((res->rv[R_OPEN_SEM] = sync_sem_open(c, "acl/r/sem", 2, &s)) == 0) {
        res->rv[R_VALUE] = sync_sem_value(s);
        res->rv[R_SEM_ACQUIRE] = sync_sem_acquire(s, false, -1);
        res->rv[R_SEM_RELEASE] = sync_sem_release(s, 1);
        sync_sem_close(s);
    }
    if ((res->rv[R_OPEN_BARRIER] = sync_barrier_open(c, "acl/r/barrier", 2,
                                                     &b)) == 0) {
        res->rv[R_PARTIES] = sync_barrier_parties(b);
        res->rv[R_N_WAITING] = sync_barrier_n_waiting(b);
        res->rv[R_BROKEN] = sync_barrier_broken(b);
        res->rv[R_BARRIER_WAIT] = sync_barrier_wait(b, 0.05);
        res->rv[R_BARRIER_ABORT] = sync_barrier_abort(b);
        sync_barrier_close(b);
    }
    if ((res->rv[R_OPEN_RLOCK] = sync_rlock_open(c, "acl/r/rlock", &r)) ==
        0) {
        res->rv[R_RLOCK_ACQUIRE] = sync_rlock_acquire(r, false, -1);
        sync_rlock_close(r);
    }
    res->rv[R_UNLINK] = sync_unlink(c, "acl/r/event");
    return 0;
}

static int child_readonly_a_after(sync_client *c, void *arg)
{
    sync_lock *l;
    sync_event *e;
    sync_sem *s;
    sync_barrier *b;

    (void)arg;
    if (sync_lock_open(c, "acl/r/lock", &l) != 0 ||
        sync_event_open(c, "acl/r/event", &e) != 0 ||
        sync_sem_open(c, "acl/r/sem", 2, &s) != 0 ||
        sync_barrier_open(c, "acl/r/barrier", 2, &b) != 0)
        return 1;
    res->rv[R_A_LOCKED] = sync_lock_locked(l);
    res->rv[R_A_IS_SET] = sync_event_is_set(e);
    res->rv[R_A_VALUE] = sync_sem_value(s);
    res->rv[R_A_BROKEN] = sync_barrier_broken(b);
    sync_lock_close(l);
    sync_event_close(e);
    sync_sem_close(s);
    sync_barrier_close(b);
    return 0;
}

Test(access, mode_0644_lets_others_read_but_not_write)
{
    require_root();
    create_as(&ID_A, "acl/r", 0644, true);
    run_as(&ID_B, child_readonly_b, NULL);

    EXPECT_RV(R_OPEN_LOCK, 0, "B opens A's 0644 lock (read suffices)");
    EXPECT_RV(R_LOCKED, 0, "B reads locked()");
    EXPECT_RV(R_ACQUIRE, SYNC_EPERM, "B acquires A's 0644 lock");
    EXPECT_RV(R_RELEASE, SYNC_EPERM, "B releases A's 0644 lock");
    EXPECT_RV(R_OPEN_EVENT, 0, "B opens A's 0644 event");
    EXPECT_RV(R_IS_SET, 1, "B reads is_set()");
    EXPECT_RV(R_SET, SYNC_EPERM, "B sets A's 0644 event");
    EXPECT_RV(R_CLEAR, SYNC_EPERM, "B clears A's 0644 event");
    EXPECT_RV(R_WAIT, SYNC_EPERM, "B waits on A's 0644 event (needs write)");
    EXPECT_RV(R_OPEN_SEM, 0, "B opens A's 0644 semaphore");
    EXPECT_RV(R_VALUE, 2, "B reads its value");
    EXPECT_RV(R_SEM_ACQUIRE, SYNC_EPERM, "B acquires a permit");
    EXPECT_RV(R_SEM_RELEASE, SYNC_EPERM, "B releases a permit");
    EXPECT_RV(R_OPEN_BARRIER, 0, "B opens A's 0644 barrier");
    EXPECT_RV(R_PARTIES, 2, "B reads parties");
    EXPECT_RV(R_N_WAITING, 0, "B reads n_waiting");
    EXPECT_RV(R_BROKEN, 0, "B reads broken");
    EXPECT_RV(R_BARRIER_WAIT, SYNC_EPERM, "B waits at the barrier");
    EXPECT_RV(R_BARRIER_ABORT, SYNC_EPERM, "B aborts the barrier");
    EXPECT_RV(R_OPEN_RLOCK, 0, "B opens A's 0644 rlock");
    EXPECT_RV(R_RLOCK_ACQUIRE, SYNC_EPERM, "B acquires it");
    EXPECT_RV(R_UNLINK, SYNC_EPERM, "B unlinks A's 0644 event");

    run_as(&ID_A, child_readonly_a_after, NULL);
    EXPECT_RV(R_A_LOCKED, 0, "A's lock is still free");
    EXPECT_RV(R_A_IS_SET, 1, "A's event is still set");
    EXPECT_RV(R_A_VALUE, 2, "A's semaphore still has value 2");
    EXPECT_RV(R_A_BROKEN, 0, "A's barrier is not broken");

    cr_expect(syncd_fixture_log_contains(
                  "uid 65533: event_set 'acl/r/event' denied: needs write "
                  "(owner 65534:65534 mode 644)", 2000),
              "no 'denied' log line for B's set of acl/r/event");
    cr_expect(syncd_fixture_log_contains(
                  "uid 65533: acquire 'acl/r/lock' denied", 2000),
              "no 'denied' log line for B's acquire of acl/r/lock");
}

/* ---- group permission ---------------------------------------------------- */

enum {
    G_OPEN_LOCK, G_ACQUIRE, G_RELEASE, G_OPEN_EVENT, G_SET, G_OPEN_RO,
    G_RO_IS_SET, G_RO_SET, G_UNLINK_RO,
    G_COUNT
};

/* One result block per identity. */
#define G_BASE_SUP 0
#define G_BASE_PRI (G_COUNT)
#define G_BASE_NONE (2 * G_COUNT)

static int child_group_user(sync_client *c, void *arg)
{
    int base = *(const int *)arg;
    sync_lock *l;
    sync_event *e;

    if ((res->rv[base + G_OPEN_LOCK] = sync_lock_open(c, "acl/g/lock",
                                                      &l)) == 0) {
        res->rv[base + G_ACQUIRE] = sync_lock_acquire(l, false, -1);
        res->rv[base + G_RELEASE] = sync_lock_release(l);
        sync_lock_close(l);
    }
    if ((res->rv[base + G_OPEN_EVENT] = sync_event_open(c, "acl/g/event",
                                                        &e)) == 0) {
        res->rv[base + G_SET] = sync_event_set(e);
        sync_event_close(e);
    }
    if ((res->rv[base + G_OPEN_RO] = sync_event_open(c, "acl/gro/event",
                                                     &e)) == 0) {
        res->rv[base + G_RO_IS_SET] = sync_event_is_set(e);
        res->rv[base + G_RO_SET] = sync_event_set(e);
        sync_event_close(e);
    }
    res->rv[base + G_UNLINK_RO] = sync_unlink(c, "acl/gro/event");
    return 0;
}

Test(access, group_bits_apply_to_primary_and_supplementary_groups)
{
    int base;

    require_root();
    /* A with the shared gid: 0660 gives the group read and write, 0640
     * read only. */
    create_as(&ID_A_GRP, "acl/g", 0, false);
    create_as(&ID_A_GRP, "acl/gro", 0640, true);

    base = G_BASE_SUP;
    run_as(&ID_B_SUP, child_group_user, &base);
    base = G_BASE_PRI;
    run_as(&ID_B_PRI, child_group_user, &base);
    base = G_BASE_NONE;
    run_as(&ID_B, child_group_user, &base);

    for (base = G_BASE_SUP; base <= G_BASE_PRI; base += G_COUNT) {
        const char *who = base == G_BASE_SUP ? "B (supplementary group)"
                                             : "B (primary group)";

        cr_expect_eq(res->rv[base + G_OPEN_LOCK], 0, "%s opens the group's "
                     "0660 lock: %s", who,
                     sync_errname(res->rv[base + G_OPEN_LOCK]));
        cr_expect_eq(res->rv[base + G_ACQUIRE], 0, "%s acquires it: %s", who,
                     sync_errname(res->rv[base + G_ACQUIRE]));
        cr_expect_eq(res->rv[base + G_RELEASE], 0, "%s releases it: %s", who,
                     sync_errname(res->rv[base + G_RELEASE]));
        cr_expect_eq(res->rv[base + G_OPEN_EVENT], 0, "%s opens the group's "
                     "event: %s", who,
                     sync_errname(res->rv[base + G_OPEN_EVENT]));
        cr_expect_eq(res->rv[base + G_SET], 0, "%s sets it: %s", who,
                     sync_errname(res->rv[base + G_SET]));
        cr_expect_eq(res->rv[base + G_OPEN_RO], 0, "%s opens the 0640 event:"
                     " %s", who, sync_errname(res->rv[base + G_OPEN_RO]));
        cr_expect_eq(res->rv[base + G_RO_IS_SET], 1, "%s reads it: %s", who,
                     sync_errname(res->rv[base + G_RO_IS_SET]));
        cr_expect_eq(res->rv[base + G_RO_SET], SYNC_EPERM, "%s sets the 0640"
                     " event: %s", who,
                     sync_errname(res->rv[base + G_RO_SET]));
        cr_expect_eq(res->rv[base + G_UNLINK_RO], SYNC_EPERM, "%s unlinks "
                     "the 0640 event: %s", who,
                     sync_errname(res->rv[base + G_UNLINK_RO]));
    }
    base = G_BASE_NONE;
    EXPECT_RV(base + G_OPEN_LOCK, SYNC_EPERM,
              "B outside the group opens the group's lock");
    EXPECT_RV(base + G_OPEN_EVENT, SYNC_EPERM,
              "B outside the group opens the group's event");
    EXPECT_RV(base + G_OPEN_RO, SYNC_EPERM,
              "B outside the group opens the 0640 event");
    EXPECT_RV(base + G_UNLINK_RO, SYNC_EPERM,
              "B outside the group unlinks the 0640 event");
}

/* ---- root ---------------------------------------------------------------- */

Test(access, root_may_do_everything)
{
    sync_client *c;
    sync_lock *l;
    sync_event *e;
    sync_sem *s;
    sync_barrier *b;
    sync_cond *cv;

    require_root();
    /* 0600: A only (and root). */
    create_as(&ID_A, "acl/root", 0600, false);

    cr_assert_eq(sync_connect(syncd_fx.sock, &c), 0);
    cr_assert_eq(sync_lock_open(c, "acl/root/lock", &l), 0);
    cr_expect_eq(sync_lock_acquire(l, true, 5.0), 0);
    cr_expect_eq(sync_lock_locked(l), 1);
    cr_expect_eq(sync_lock_release(l), 0);
    cr_assert_eq(sync_event_open(c, "acl/root/event", &e), 0);
    cr_expect_eq(sync_event_set(e), 0);
    cr_expect_eq(sync_event_is_set(e), 1);
    cr_expect_eq(sync_event_wait(e, 1.0), 0);
    cr_expect_eq(sync_event_clear(e), 0);
    cr_assert_eq(sync_sem_open(c, "acl/root/sem", 2, &s), 0);
    cr_expect_eq(sync_sem_acquire(s, false, -1), 0);
    cr_expect_eq(sync_sem_value(s), 1);
    cr_expect_eq(sync_sem_release(s, 1), 0);
    cr_assert_eq(sync_barrier_open(c, "acl/root/barrier", 2, &b), 0);
    cr_expect_eq(sync_barrier_abort(b), 0);
    cr_expect_eq(sync_barrier_broken(b), 1);
    cr_expect_eq(sync_barrier_reset(b), 0);
    cr_assert_eq(sync_cond_open(c, "acl/root/cond", NULL, &cv), 0);
    cr_expect_eq(sync_cond_acquire(cv, false, -1), 0);
    cr_expect_eq(sync_cond_notify(cv, 1), 0);
    cr_expect_eq(sync_cond_release(cv), 0);
    /* Root may even bind its own condition to A's private lock. */
    sync_cond_close(cv);
    cr_expect_eq(sync_cond_open(c, "acl/root/cond2", "acl/root/lock", &cv),
                 0);
    sync_cond_close(cv);
    sync_lock_close(l);
    sync_event_close(e);
    sync_sem_close(s);
    sync_barrier_close(b);
    cr_expect_eq(sync_unlink(c, "acl/root/lock"), 0);
    cr_expect_eq(sync_unlink(c, "acl/root/event"), 0);
    cr_expect_eq(sync_unlink(c, "acl/root/sem"), 0);
    cr_expect_eq(sync_unlink(c, "acl/root/barrier"), 0);
    cr_expect_eq(sync_unlink(c, "acl/root/cond"), 0);
    sync_disconnect(c);
    cr_expect_eq(log_lines_with("uid 0: ", "denied"), 0,
                 "root was denied something");
}

/* ---- syncctl ls as another user ------------------------------------------ */

/* Copy the file at from (following links) to to, mode 0755. */
static void copy_executable(const char *from, const char *to)
{
    char buf[65536];
    int in = open(from, O_RDONLY | O_CLOEXEC), out;
    ssize_t n;

    cr_assert(in >= 0, "open %s: %s", from, strerror(errno));
    out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
    cr_assert(out >= 0, "create %s: %s", to, strerror(errno));
    while ((n = read(in, buf, sizeof(buf))) > 0)
        cr_assert(write(out, buf, (size_t)n) == n);
    cr_assert(n == 0, "read %s", from);
    close(in);
    close(out);
}

/*
 * The build tree may sit where other users cannot enter (a clone under
 * /root, mode 0700): the other uids run a copy of syncctl and of the
 * libsyncclient it loads from the test's own directory (mode 0755).
 * Returns the copy's path.
 */
static const char *syncctl_staged(void)
{
    static char bin[192];

    if (bin[0] != '\0')
        return bin;
    snprintf(bin, sizeof(bin), "%s/syncctl", syncd_fx.dir);
    copy_executable(SYNCCTL_BIN, bin);
    if (SYNCCLIENT_SONAME_FILE[0] != '\0') {
        char lib[192];

        snprintf(lib, sizeof(lib), "%s/%s", syncd_fx.dir,
                 strrchr(SYNCCLIENT_SONAME_FILE, '/') + 1);
        copy_executable(SYNCCLIENT_SONAME_FILE, lib);
    }
    return bin;
}

/*
 * Run SYNCCTL_BIN --socket SOCK args... as id; its stdout (and stderr) go
 * into out.  Returns the exit code.
 */
static int syncctl_as(const struct ident *id, const char *const *args,
                      char *out, size_t size)
{
    const char *argv[16];
    int fd[2], argc = 0, code;
    size_t len = 0;
    ssize_t n;
    pid_t pid;

    argv[argc++] = syncctl_staged();
    argv[argc++] = "--socket";
    argv[argc++] = syncd_fx.sock;
    while (*args != NULL && argc < 15)
        argv[argc++] = *args++;
    argv[argc] = NULL;
    cr_assert(pipe(fd) == 0);
    pid = fx_fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        if (!become(id))
            _exit(120);
        dup2(fd[1], 1);
        dup2(fd[1], 2);
        close(fd[0]);
        close(fd[1]);
        setenv("LD_LIBRARY_PATH", syncd_fx.dir, 1);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(fd[1]);
    while (len + 1 < size && (n = read(fd[0], out + len, size - 1 - len)) > 0)
        len += (size_t)n;
    out[len] = '\0';
    close(fd[0]);
    code = fx_waitpid(pid, 15000);
    cr_assert_neq(code, 120, "%s: could not drop privileges", id->label);
    cr_assert_neq(code, 127, "could not run %s as %s", SYNCCTL_BIN,
                  id->label);
    return code;
}

static const struct ident ID_ROOT = {"root", 0, 0, {0}, 0};

static int child_create_listing(sync_client *c, void *arg)
{
    static const struct {
        const char *name;
        unsigned mode;
    } objs[] = {
        {"acl/ls/private", 0660},
        {"acl/ls/public", 0644},
        {"acl/ls/shared", 0666},
        {"acl/ls/owner-only", 0600},
    };
    sync_event *e;
    size_t i;

    (void)arg;
    for (i = 0; i < sizeof(objs) / sizeof(objs[0]); i++) {
        if (sync_set_create_mode(c, objs[i].mode) != 0 ||
            sync_event_open(c, objs[i].name, &e) != 0)
            return 1 + (int)i;
        sync_event_close(e);
    }
    return 0;
}

Test(access, syncctl_ls_hides_unreadable_objects)
{
    static char out[65536];
    int code;

    require_root();
    if (SYNCCTL_BIN[0] == '\0' || access(SYNCCTL_BIN, X_OK) != 0)
        cr_skip_test("syncctl is not built (no target syncctl when CMake "
                     "ran; client/syncctl/ pending): nothing to test");
    create_as(&ID_A, "acl/unused", 0, false);
    run_as(&ID_A, child_create_listing, NULL);

    code = syncctl_as(&ID_B, (const char *[]){"ls", NULL}, out, sizeof(out));
    cr_expect_eq(code, 0, "syncctl ls as B exited %d:\n%s", code, out);
    cr_expect(strstr(out, "acl/ls/public") != NULL,
              "B's ls lacks the 0644 object:\n%s", out);
    cr_expect(strstr(out, "acl/ls/shared") != NULL,
              "B's ls lacks the 0666 object:\n%s", out);
    cr_expect(strstr(out, "acl/ls/private") == NULL,
              "B's ls shows A's 0660 object:\n%s", out);
    cr_expect(strstr(out, "acl/ls/owner-only") == NULL,
              "B's ls shows A's 0600 object:\n%s", out);
    cr_expect(strstr(out, "acl/unused/lock") == NULL,
              "B's ls shows A's 0660 lock:\n%s", out);

    code = syncctl_as(&ID_B, (const char *[]){"ls", "acl/ls/p*", NULL}, out,
                      sizeof(out));
    cr_expect_eq(code, 0, "syncctl ls PATTERN as B exited %d:\n%s", code,
                 out);
    cr_expect(strstr(out, "acl/ls/public") != NULL &&
                  strstr(out, "acl/ls/private") == NULL &&
                  strstr(out, "acl/ls/shared") == NULL,
              "B's ls 'acl/ls/p*':\n%s", out);

    /* show: an unreadable object does not exist for B (SYNC_ENOENT). */
    code = syncctl_as(&ID_B, (const char *[]){"show", "acl/ls/private",
                                              NULL},
                      out, sizeof(out));
    cr_expect_eq(code, 100 + 6, "syncctl show of A's 0660 object as B "
                 "exited %d (expected 106, no such object):\n%s", code, out);
    code = syncctl_as(&ID_B, (const char *[]){"show", "acl/ls/public", NULL},
                      out, sizeof(out));
    cr_expect_eq(code, 0, "syncctl show of the 0644 object as B exited "
                 "%d:\n%s", code, out);

    /* Denied use: exit status 102 (SYNC_EPERM). */
    code = syncctl_as(&ID_B, (const char *[]){"event", "set",
                                              "acl/ls/public", NULL},
                      out, sizeof(out));
    cr_expect_eq(code, 100 + 2, "syncctl event set on the 0644 object as B "
                 "exited %d (expected 102, permission denied):\n%s", code,
                 out);

    /* Root sees everything. */
    code = syncctl_as(&ID_ROOT, (const char *[]){"ls", NULL}, out,
                      sizeof(out));
    cr_expect_eq(code, 0, "syncctl ls as root exited %d:\n%s", code, out);
    cr_expect(strstr(out, "acl/ls/private") != NULL &&
                  strstr(out, "acl/ls/owner-only") != NULL &&
                  strstr(out, "acl/ls/public") != NULL,
              "root's ls misses objects:\n%s", out);
}
