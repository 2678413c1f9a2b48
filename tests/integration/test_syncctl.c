/*
 * test_syncctl.c: the syncctl tool against a real daemon.  Every check
 * runs the built binary (SYNCCTL_BIN) with --socket in a child process and
 * looks at its exit code, stdout (text, JSON parsed with jansson, metrics)
 * and stderr; holders and waiters are forked clients of the library.
 */
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "daemon_fixture.h"
#include "json_fields.h"
#include "syncclient.h"

TestSuite(syncctl,
          .init = syncd_fixture_init,
          .fini = syncd_fixture_fini,
          .timeout = 40);

#define CTL_MAX_ARGS 24

/* One syncctl run: its pid and where its output goes. */
struct ctl_run {
    pid_t pid;
    int code; /* exit code, 128 + signal, -1 if it had to be killed */
    char out_path[160];
    char err_path[160];
    char *out; /* stdout once waited for (owned) */
    char *err; /* stderr once waited for (owned) */
};

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    char *buf;
    long n;

    cr_assert(f != NULL, "open %s", path);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = calloc(1, (size_t)n + 1);
    cr_assert(buf != NULL);
    cr_assert(eq(sz, fread(buf, 1, (size_t)n, f), (size_t)n));
    fclose(f);
    return buf;
}

/*
 * Start syncctl with args (NULL-terminated); with_socket puts --socket
 * first; env, if not NULL, is "NAME=value" to set in the child.
 */
static void ctl_startv(struct ctl_run *r,
                       bool with_socket,
                       const char *env,
                       const char *const *args)
{
    static int seq;
    const char *argv[CTL_MAX_ARGS + 4];
    int n = 0, i;

    memset(r, 0, sizeof(*r));
    snprintf(r->out_path, sizeof(r->out_path), "%s/out.%d", syncd_fx.dir, seq);
    snprintf(r->err_path, sizeof(r->err_path), "%s/err.%d", syncd_fx.dir,
             seq++);
    argv[n++] = SYNCCTL_BIN;
    if (with_socket) {
        argv[n++] = "--socket";
        argv[n++] = syncd_fx.sock;
    }
    for (i = 0; args[i] != NULL && i < CTL_MAX_ARGS; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    r->pid = fx_fork();
    cr_assert(ge(int, r->pid, 0));
    if (r->pid == 0) {
        int o = open(r->out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int e = open(r->err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

        if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
            _exit(250);
        if (env != NULL)
            putenv((char *)env);
        execv(SYNCCTL_BIN, (char *const *)argv);
        _exit(251);
    }
}

#define CTL_ARGS(first)                 \
    const char *args[CTL_MAX_ARGS + 1]; \
    ctl_collect(args, first, ap)

static void ctl_collect(const char **args, const char *first, va_list ap)
{
    int n = 0;

    for (args[n] = first; args[n] != NULL && n < CTL_MAX_ARGS;)
        args[++n] = va_arg(ap, const char *);
    args[n] = NULL;
}

/* Start syncctl --socket SOCK args... (NULL-terminated) in the background. */
static void ctl_start(struct ctl_run *r, const char *first, ...)
{
    va_list ap;

    va_start(ap, first);
    CTL_ARGS(first);
    va_end(ap);
    ctl_startv(r, true, NULL, args);
}

/* Wait for a started run (up to timeout_ms) and read its output. */
static void ctl_wait(struct ctl_run *r, int timeout_ms)
{
    r->code = fx_waitpid(r->pid, timeout_ms);
    r->out = slurp(r->out_path);
    r->err = slurp(r->err_path);
}

static void ctl_free(struct ctl_run *r)
{
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
}

/* Run syncctl --socket SOCK args... to completion (10 s at most). */
static struct ctl_run ctl(const char *first, ...)
{
    struct ctl_run r;
    va_list ap;

    va_start(ap, first);
    CTL_ARGS(first);
    va_end(ap);
    ctl_startv(&r, true, NULL, args);
    ctl_wait(&r, 10000);
    return r;
}

/* Run and return the exit code only. */
static int ctl_code(const char *first, ...)
{
    struct ctl_run r;
    va_list ap;

    va_start(ap, first);
    CTL_ARGS(first);
    va_end(ap);
    ctl_startv(&r, true, NULL, args);
    ctl_wait(&r, 10000);
    ctl_free(&r);
    return r.code;
}

/* syncctl --json VERB [NAME]: the parsed output, or NULL if it failed. */
static json_t *ctl_json(const char *verb, const char *name)
{
    struct ctl_run r = ctl("--json", verb, name, NULL);
    json_t *j = NULL;

    if (r.code == 0) {
        j = json_loads(r.out, 0, NULL);
        cr_assert(j != NULL, "%s --json is not JSON: %s", verb, r.out);
    }
    ctl_free(&r);
    return j;
}

/* Poll `show --json name` until it has n waiters and holders (5 s). */
static json_t *await_object(const char *name, int waiters, int holders)
{
    double deadline = fx_now() + 5.0;
    json_t *j;

    while (fx_now() < deadline) {
        j = ctl_json("show", name);
        if (j != NULL && jint(j, "n_waiting") == waiters &&
            (holders < 0 ||
             json_array_size(json_object_get(j, "holders")) == (size_t)holders))
            return j;
        json_decref(j);
        fx_sleep_ms(20);
    }
    cr_fatal("%s never had %d waiters and %d holders", name, waiters, holders);
    return NULL;
}

/* ---- library clients: a holder and waiters ------------------------------ */

/* Fork a client that acquires the Lock name and sleeps until killed;
 * returns once it holds the lock. */
static pid_t spawn_holder(const char *name)
{
    int p[2];
    pid_t pid;

    cr_assert(eq(int, pipe(p), 0));
    pid = fx_fork();
    cr_assert(ge(int, pid, 0));
    if (pid == 0) {
        sync_client *c;
        sync_lock *l;

        close(p[0]);
        if (sync_connect(syncd_fx.sock, &c) != 0 ||
            sync_lock_open(c, name, &l) != 0 ||
            sync_lock_acquire(l, true, 5.0) != 0)
            _exit(2);
        fx_signal(p[1]);
        for (;;)
            pause();
    }
    close(p[1]);
    cr_assert(eq(int, fx_await(p[0], 5000), 1));
    close(p[0]);
    return pid;
}

/* Fork a client that waits for the Lock name until killed. */
static pid_t spawn_waiter(const char *name)
{
    pid_t pid = fx_fork();

    cr_assert(ge(int, pid, 0));
    if (pid == 0) {
        sync_client *c;
        sync_lock *l;

        if (sync_connect(syncd_fx.sock, &c) != 0 ||
            sync_lock_open(c, name, &l) != 0)
            _exit(2);
        sync_lock_acquire(l, true, 30.0);
        for (;;)
            pause();
    }
    return pid;
}

static void reap(pid_t pid)
{
    kill(pid, SIGKILL);
    fx_waitpid(pid, 5000);
}

/* A holder and two queued waiters on "jobs", in that order. */
static void queue_up(pid_t pids[3])
{
    json_t *j;

    pids[0] = spawn_holder("jobs");
    pids[1] = spawn_waiter("jobs");
    json_decref(await_object("jobs", 1, 1));
    pids[2] = spawn_waiter("jobs");
    j = await_object("jobs", 2, 1);
    json_decref(j);
}

/* ---- status ---------------------------------------------------------------
 */

Test(syncctl, status_shows_socket_and_version)
{
    struct ctl_run r = ctl("status", NULL);
    json_t *j, *c;

    cr_assert(eq(int, r.code, 0), "stderr: %s", r.err);
    cr_assert(strstr(r.out, syncd_fx.sock) != NULL, "%s", r.out);
    cr_assert(strstr(r.out, SYNCD_VERSION) != NULL, "%s", r.out);
    cr_assert(strstr(r.out, "uptime") != NULL, "%s", r.out);
    cr_assert(strstr(r.out, "limits") != NULL, "%s", r.out);
    ctl_free(&r);

    j = ctl_json("status", NULL);
    cr_assert(j != NULL);
    cr_assert(eq(str, (char *)jstr(j, "version"), SYNCD_VERSION));
    cr_assert(eq(str, (char *)jstr(j, "socket"), syncd_fx.sock));
    cr_assert(eq(int, (int)jint(j, "pid"), (int)syncd_fx.pid));
    cr_assert(ge(int, (int)jint(j, "clients"), 1));
    cr_assert(ge(int, (int)jint(j, "uptime_ms"), 0));
    cr_assert(gt(int, (int)jint(json_object_get(j, "limits"), "max_frame"), 0));
    c = json_object_get(j, "counters");
    cr_assert(ge(int, (int)jint(c, "requests"), 1));
    cr_assert(
        ge(int, (int)jint(json_object_get(c, "requests_by_op"), "hello"), 1));
    json_decref(j);
}

Test(syncctl, status_says_which_socket_it_used_and_why)
{
    static const char *const args[] = {"status", NULL};
    static const char *const jargs[] = {"--json", "status", NULL};
    char want[256], env[192];
    struct ctl_run r = ctl("status", NULL);
    json_t *j;

    snprintf(want, sizeof(want), "connected to:    %s (--socket)\n",
             syncd_fx.sock);
    cr_assert(strstr(r.out, want) != NULL, "%s", r.out);
    ctl_free(&r);
    snprintf(env, sizeof(env), "SYNCD_SOCKET=%s", syncd_fx.sock);
    ctl_startv(&r, false, env, args);
    ctl_wait(&r, 10000);
    cr_assert(eq(int, r.code, 0), "stderr: %s", r.err);
    snprintf(want, sizeof(want), "connected to:    %s ($SYNCD_SOCKET is set)",
             syncd_fx.sock);
    cr_assert(strstr(r.out, want) != NULL, "%s", r.out);
    ctl_free(&r);
    ctl_startv(&r, false, env, jargs);
    ctl_wait(&r, 10000);
    j = json_loads(r.out, 0, NULL);
    cr_assert(j != NULL, "%s", r.out);
    cr_assert(eq(str, (char *)jstr(j, "connected_to"), syncd_fx.sock));
    cr_assert(eq(str, (char *)jstr(j, "connected_because"),
                 "$SYNCD_SOCKET is set"));
    json_decref(j);
    ctl_free(&r);
}

/* ---- ls / show / clients --------------------------------------------------
 */

/* The line of out that starts with prefix (a copy), or NULL. */
static char *line_starting(const char *out, const char *prefix)
{
    const char *p = out, *end;

    while (p != NULL && *p != '\0') {
        end = strchr(p, '\n');
        if (strncmp(p, prefix, strlen(prefix)) == 0)
            return strndup(p, end ? (size_t)(end - p) : strlen(p));
        p = end ? end + 1 : NULL;
    }
    return NULL;
}

Test(syncctl, ls_shows_holder_and_waiters)
{
    char want[64], *line;
    pid_t pids[3];
    struct ctl_run r;
    json_t *j, *o;

    queue_up(pids);
    r = ctl("ls", NULL);
    cr_assert(eq(int, r.code, 0), "stderr: %s", r.err);
    line = line_starting(r.out, "jobs ");
    cr_assert(line != NULL, "%s", r.out);
    snprintf(want, sizeof(want), " %d (", (int)pids[0]);
    cr_assert(strstr(line, " lock ") != NULL, "%s", line);
    cr_assert(strstr(line, " locked ") != NULL, "%s", line);
    cr_assert(strstr(line, want) != NULL, "%s", line);
    cr_assert(eq(chr, line[strlen(line) - 1], '2'), "%s", line);
    free(line);
    ctl_free(&r);

    j = ctl_json("ls", "jo*");
    cr_assert(j != NULL);
    cr_assert(eq(sz, json_array_size(json_object_get(j, "objects")), 1));
    o = json_array_get(json_object_get(j, "objects"), 0);
    cr_assert(eq(str, (char *)jstr(o, "name"), "jobs"));
    cr_assert(eq(str, (char *)jstr(o, "type"), "lock"));
    cr_assert(eq(str, (char *)jstr(o, "state"), "locked"));
    cr_assert(eq(int, (int)jint(o, "n_waiting"), 2));
    cr_assert(eq(
        int, (int)jint(json_array_get(json_object_get(o, "holders"), 0), "pid"),
        (int)pids[0]));
    json_decref(j);
    j = ctl_json("ls", "zz*");
    cr_assert(eq(sz, json_array_size(json_object_get(j, "objects")), 0));
    json_decref(j);
    for (int i = 0; i < 3; i++)
        reap(pids[i]);
}

Test(syncctl, show_lists_holder_and_queue_in_order)
{
    char a[32], b[32], c[32];
    const char *wq, *pb, *pc;
    pid_t pids[3];
    struct ctl_run r;
    json_t *j, *h, *w;

    queue_up(pids);
    r = ctl("show", "jobs", NULL);
    cr_assert(eq(int, r.code, 0), "stderr: %s", r.err);
    snprintf(a, sizeof(a), "  %d ", (int)pids[0]);
    snprintf(b, sizeof(b), " %d ", (int)pids[1]);
    snprintf(c, sizeof(c), " %d ", (int)pids[2]);
    wq = strstr(r.out, "waiters:");
    cr_assert(wq != NULL, "%s", r.out);
    cr_assert(strstr(r.out, a) != NULL && strstr(r.out, a) < wq, "%s", r.out);
    pb = strstr(wq, b);
    pc = strstr(wq, c);
    cr_assert(pb != NULL && pc != NULL && pb < pc, "%s", r.out);
    cr_assert(strstr(r.out, "mode 0660") != NULL, "%s", r.out);
    ctl_free(&r);

    j = ctl_json("show", "jobs");
    cr_assert(j != NULL);
    cr_assert(eq(str, (char *)jstr(j, "mode"), "0660"));
    cr_assert(eq(int, (int)jint(j, "uid"), (int)getuid()));
    h = json_array_get(json_object_get(j, "holders"), 0);
    cr_assert(eq(int, (int)jint(h, "pid"), (int)pids[0]));
    cr_assert(eq(int, (int)jint(h, "uid"), (int)getuid()));
    cr_assert(eq(int, (int)jint(h, "thread"), (int)pids[0]));
    cr_assert(ge(int, (int)jint(h, "fencing_token"), 1));
    cr_assert(ge(int, (int)jint(h, "held_ms"), 0));
    cr_assert(gt(sz, strlen(jstr(h, "command")), 0));
    w = json_object_get(j, "waiters");
    cr_assert(eq(sz, json_array_size(w), 2));
    cr_assert(eq(int, (int)jint(json_array_get(w, 0), "pid"), (int)pids[1]));
    cr_assert(eq(int, (int)jint(json_array_get(w, 1), "pid"), (int)pids[2]));
    cr_assert(ge(int, (int)jint(json_array_get(w, 0), "waited_ms"),
                 (int)jint(json_array_get(w, 1), "waited_ms")));
    json_decref(j);
    for (int i = 0; i < 3; i++)
        reap(pids[i]);
}

Test(syncctl, clients_lists_children)
{
    char want[32];
    pid_t pids[3];
    struct ctl_run r;
    json_t *j, *v, *e;
    size_t i;
    int seen = 0;

    queue_up(pids);
    r = ctl("clients", NULL);
    cr_assert(eq(int, r.code, 0), "stderr: %s", r.err);
    for (i = 0; i < 3; i++) {
        snprintf(want, sizeof(want), " %d ", (int)pids[i]);
        cr_assert(strstr(r.out, want) != NULL, "%s", r.out);
    }
    ctl_free(&r);

    j = ctl_json("clients", NULL);
    cr_assert(j != NULL);
    v = json_object_get(j, "clients");
    json_array_foreach(v, i, e)
    {
        if (jint(e, "pid") == pids[0]) {
            cr_assert(eq(int, (int)jint(e, "held"), 1));
            cr_assert(eq(int, (int)jint(e, "handles"), 1));
            seen++;
        } else if (jint(e, "pid") == pids[1] || jint(e, "pid") == pids[2]) {
            cr_assert(eq(int, (int)jint(e, "waiting"), 1));
            cr_assert(eq(int, (int)jint(e, "held"), 0));
            seen++;
        }
        cr_assert(ge(int, (int)jint(e, "connected_ms"), 0));
        cr_assert(eq(int, (int)jint(e, "uid"), (int)getuid()));
    }
    cr_assert(eq(int, seen, 3));
    json_decref(j);
    for (i = 0; i < 3; i++)
        reap(pids[i]);
}

/* ---- lock -----------------------------------------------------------------
 */

/* Whether `show --json name` says it is held by pid (0: free). */
static bool held_by(const char *name, pid_t pid)
{
    json_t *j = ctl_json("show", name), *h;
    bool rv;

    if (j == NULL)
        return false;
    h = json_array_get(json_object_get(j, "holders"), 0);
    rv = pid == 0 ? h == NULL : h != NULL && jint(h, "pid") == pid;
    json_decref(j);
    return rv;
}

static void await_held_by(const char *name, pid_t pid)
{
    double deadline = fx_now() + 5.0;

    while (!held_by(name, pid)) {
        cr_assert(lt(dbl, fx_now(), deadline), "%s not held by %d", name,
                  (int)pid);
        fx_sleep_ms(20);
    }
}

Test(syncctl, lock_exits_with_cmd_status)
{
    struct ctl_run r;

    cr_assert(
        eq(int, ctl_code("lock", "L", "--", "sh", "-c", "exit 7", NULL), 7));
    cr_assert(eq(int, ctl_code("lock", "L", "--", "true", NULL), 0));
    cr_assert(eq(int,
                 ctl_code("lock", "L", "--", "sh", "-c", "kill -TERM $$", NULL),
                 128 + SIGTERM));
    /* CMD sees the fencing token; the lock is held while it runs. */
    cr_assert(eq(int,
                 ctl_code("lock", "L", "--", "sh", "-c",
                          "test -n \"$SYNCCTL_TOKEN\"", NULL),
                 0));
    r = ctl("lock", "L", "--", SYNCCTL_BIN, "--socket", syncd_fx.sock, "--json",
            "show", "L", NULL);
    cr_assert(eq(int, r.code, 0), "stderr: %s", r.err);
    cr_assert(strstr(r.out, "\"locked\"") != NULL, "%s", r.out);
    ctl_free(&r);
    /* flock(1): 69 (EX_UNAVAILABLE) when CMD cannot run. */
    r = ctl("lock", "L", "--", "/nonexistent/cmd", NULL);
    cr_assert(eq(int, r.code, 69));
    cr_assert(strstr(r.err, "cannot run /nonexistent/cmd") != NULL, "%s",
              r.err);
    ctl_free(&r);
    cr_assert(held_by("L", 0), "the lock must be free after CMD");
}

Test(syncctl, lock_taken_exits_1_names_the_holder_and_E_chooses)
{
    struct ctl_run bg, r;
    char want[96];
    double t0;

    ctl_start(&bg, "lock", "X", "--", "sleep", "5", NULL);
    await_held_by("X", bg.pid);
    /* As flock(1): 1 when -n finds it taken, and says who holds it. */
    r = ctl("lock", "-n", "X", "--", "true", NULL);
    cr_assert(eq(int, r.code, 1));
    snprintf(want, sizeof(want), "lock X is held by pid %d (syncctl)",
             (int)bg.pid);
    cr_assert(strstr(r.err, want) != NULL, "%s", r.err);
    cr_assert(strstr(r.err, "timed out") == NULL, "%s", r.err);
    ctl_free(&r);
    t0 = fx_now();
    r = ctl("lock", "-w", "0.3", "X", "--", "true", NULL);
    cr_assert(eq(int, r.code, 1));
    cr_assert(ge(dbl, fx_now() - t0, 0.25));
    cr_assert(strstr(r.err, "after waiting 0.3 s") != NULL, "%s", r.err);
    ctl_free(&r);
    cr_assert(eq(int, ctl_code("lock", "-n", "-E", "42", "X", "--", "true",
                               NULL),
                 42));
    cr_assert(eq(int, ctl_code("sem", "-n", "--conflict-exit-code", "9", "X",
                               "--value", "1", "--", "true", NULL),
                 104), "X is a lock: SYNC_ETYPE, not a conflict");
    /* SIGTERM goes on to CMD, whose death is syncctl's status. */
    kill(bg.pid, SIGTERM);
    ctl_wait(&bg, 5000);
    cr_assert(eq(int, bg.code, 128 + SIGTERM), "stderr: %s", bg.err);
    ctl_free(&bg);
    cr_assert(eq(int, ctl_code("lock", "-n", "X", "--", "true", NULL), 0));
}

Test(syncctl, lock_c_runs_a_shell_command_line)
{
    struct ctl_run r = ctl("lock", "C", "-c", "echo \"$SYNCCTL_TOKEN\"; exit 5",
                           NULL);

    cr_assert(eq(int, r.code, 5), "stderr: %s", r.err);
    cr_assert(eq(str, r.out, "1\n"));
    ctl_free(&r);
    /* -c and a CMD exclude each other. */
    cr_assert(eq(int, ctl_code("lock", "C", "-c", "true", "--", "true", NULL),
                 64));
}

Test(syncctl, names_beginning_with_a_dash_follow_double_dash)
{
    struct ctl_run r;

    cr_assert(eq(int, ctl_code("lock", "-n", "--", "-odd", "--", "true", NULL),
                 0));
    cr_assert(eq(int, ctl_code("lock", "--", "-odd", "true", NULL), 0));
    cr_assert(eq(int, ctl_code("event", "set", "--", "-ev", NULL), 0));
    cr_assert(eq(int, ctl_code("event", "is-set", "--", "-ev", NULL), 0));
    r = ctl("show", "--", "-odd", NULL);
    cr_assert(eq(int, r.code, 0), "stderr: %s", r.err);
    cr_assert(strstr(r.out, "-odd") != NULL, "%s", r.out);
    ctl_free(&r);
    cr_assert(eq(int, ctl_code("rm", "--", "-odd", NULL), 0));
}

/* The client library keeps each thread's id (gettid) after the first call
 * instead of asking the kernel per request; the forking thread's id must
 * not survive into a child, where that thread has another id. */
Test(syncctl, holder_thread_after_fork_is_the_child_s_own)
{
    sync_client *c;
    sync_lock *l;
    pid_t pid;
    json_t *j, *h;

    /* This thread's id is now known to the library... */
    cr_assert(eq(int, sync_connect(syncd_fx.sock, &c), 0));
    cr_assert(eq(int, sync_lock_open(c, "tid/warm", &l), 0));
    cr_assert(eq(int, sync_lock_acquire(l, true, -1), 0));
    cr_assert(eq(int, sync_lock_release(l), 0));
    sync_lock_close(l);
    sync_disconnect(c);
    /* ...and the child's holder must be reported with the child's. */
    pid = spawn_holder("tid/held");
    j = ctl_json("show", "tid/held");
    cr_assert(j != NULL);
    h = json_array_get(json_object_get(j, "holders"), 0);
    cr_assert(eq(int, (int)jint(h, "pid"), (int)pid));
    cr_assert(eq(int, (int)jint(h, "thread"), (int)pid));
    json_decref(j);
    kill(pid, SIGKILL);
    reap(pid);
}

/* protocol.md Q9 (fixed): a pattern the daemon would have cut at 255
 * bytes is refused, not silently matched as its prefix. */
/* Display columns of the first n bytes of UTF-8 s (wide characters 2). */
static int display_cols(const char *s, size_t n)
{
    int cols = 0;
    size_t i;

    for (i = 0; i < n; i++) {
        unsigned char b = (unsigned char)s[i];

        if ((b & 0xc0) == 0x80)
            continue;
        /* The test's wide names are CJK (3-byte, 2 columns). */
        cols += (b & 0xf0) == 0xe0 ? 2 : 1;
    }
    return cols;
}

Test(syncctl, ls_keeps_its_columns_for_wide_and_long_names)
{
    char long_name[121], *line, *save = NULL, *out;
    int type_col = -1, col;
    struct ctl_run r;

    memset(long_name, 'n', sizeof(long_name) - 1);
    long_name[sizeof(long_name) - 1] = '\0';
    cr_assert(eq(int, ctl_code("event", "set", "\xe6\x97\xa5\xe6\x9c\xac", NULL),
                 0));
    cr_assert(eq(int, ctl_code("event", "set", "caf\xc3\xa9", NULL), 0));
    cr_assert(eq(int, ctl_code("event", "set", long_name, NULL), 0));
    cr_assert(eq(int, ctl_code("event", "set", "x", NULL), 0));
    r = ctl("ls", NULL);
    cr_assert(eq(int, r.code, 0), "stderr: %s", r.err);
    out = strdup(r.out);
    /* Every "event" (TYPE column) starts at the same display column; the
     * 120-byte name has a line of its own. */
    for (line = strtok_r(out, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        char *t = strstr(line, "event");

        if (strncmp(line, long_name, sizeof(long_name) - 1) == 0) {
            cr_assert(eq(ptr, t, NULL), "long name shares its line: %s", line);
            continue;
        }
        if (t == NULL)
            t = strstr(line, "TYPE");
        cr_assert(t != NULL, "%s", r.out);
        col = display_cols(line, (size_t)(t - line));
        if (type_col < 0)
            type_col = col;
        cr_assert(eq(int, col, type_col), "misaligned:\n%s", r.out);
    }
    cr_assert(le(int, type_col, 44), "NAME column capped:\n%s", r.out);
    free(out);
    ctl_free(&r);
}

Test(syncctl, ls_refuses_a_pattern_over_255_bytes)
{
    char pat[300];
    struct ctl_run r;

    memset(pat, '*', sizeof(pat) - 1);
    memcpy(pat, "aaaaaaaaaa", 10);
    memcpy(pat + sizeof(pat) - 4, "zzz", 3);
    pat[sizeof(pat) - 1] = '\0';
    cr_assert(eq(int, ctl_code("lock", "aaaaaaaaaa", "--", "true", NULL),
                 0));
    r = ctl("ls", pat, NULL);
    cr_assert(eq(int, r.code, 100 - SYNC_EINVAL), "stderr: %s", r.err);
    /* The daemon's reason reaches the user. */
    cr_assert(strstr(r.err, "pattern longer than 255 bytes") != NULL, "%s",
              r.err);
    ctl_free(&r);
    /* Cut to 255 bytes (what was matched before: "zzz" dropped) it is a
     * legal pattern, and it matches. */
    pat[255] = '\0';
    r = ctl("ls", pat, NULL);
    cr_assert(eq(int, r.code, 0), "stderr: %s", r.err);
    cr_assert(strstr(r.out, "aaaaaaaaaa") != NULL, "%s", r.out);
    ctl_free(&r);
}

/* Whether pid is gone: no such process, or a zombie nobody reaped yet. */
static bool process_gone(pid_t pid)
{
    char path[64], buf[256], *p;
    FILE *f;
    bool zombie = false;

    if (kill(pid, 0) != 0)
        return true;
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    f = fopen(path, "r");
    if (f == NULL)
        return true;
    if (fgets(buf, sizeof(buf), f) != NULL && (p = strrchr(buf, ')')) != NULL)
        zombie = p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X');
    fclose(f);
    return zombie;
}

Test(syncctl, killed_syncctl_takes_cmd_down_and_frees_lock)
{
    char pidfile[160], script[640], *text = NULL;
    struct ctl_run bg;
    double deadline;
    pid_t cmd = 0;

    snprintf(pidfile, sizeof(pidfile), "%s/cmd.pid", syncd_fx.dir);
    snprintf(script, sizeof(script),
             "echo $$ > %s.tmp && mv %s.tmp %s && "
             "exec sleep 30",
             pidfile, pidfile, pidfile);
    ctl_start(&bg, "lock", "K", "--", "sh", "-c", script, NULL);
    deadline = fx_now() + 5.0;
    while (cmd <= 0 && fx_now() < deadline) {
        if (access(pidfile, F_OK) == 0) {
            text = slurp(pidfile);
            cmd = (pid_t)atoi(text);
            free(text);
        }
        fx_sleep_ms(10);
    }
    cr_assert(gt(int, (int)cmd, 0), "CMD never started");
    cr_assert(not(process_gone(cmd)));
    kill(bg.pid, SIGKILL);
    ctl_wait(&bg, 5000);
    cr_assert(eq(int, bg.code, 128 + SIGKILL));
    ctl_free(&bg);
    deadline = fx_now() + 1.0;
    while (!process_gone(cmd) && fx_now() < deadline)
        fx_sleep_ms(5);
    cr_assert(process_gone(cmd), "CMD %d outlived its syncctl", (int)cmd);
    deadline = fx_now() + 2.0;
    while (!held_by("K", 0) && fx_now() < deadline)
        fx_sleep_ms(10);
    cr_assert(eq(int, ctl_code("lock", "-n", "K", "--", "true", NULL), 0));
}

Test(syncctl, lost_daemon_stops_cmd_and_exits_109)
{
    struct ctl_run bg;
    double t0;

    ctl_start(&bg, "lock", "D", "--", "sleep", "30", NULL);
    await_held_by("D", bg.pid);
    t0 = fx_now();
    syncd_fixture_kill(SIGKILL);
    /* syncctl waits for CMD, so ending early proves CMD was stopped. */
    ctl_wait(&bg, 5000);
    cr_assert(lt(dbl, fx_now() - t0, 5.0));
    cr_assert(eq(int, bg.code, 109), "stderr: %s", bg.err);
    cr_assert(strstr(bg.err, "lost the connection to syncd") != NULL, "%s",
              bg.err);
    cr_assert(strstr(bg.err, "sleep: it was terminated by SIGTERM") != NULL,
              "%s", bg.err);
    ctl_free(&bg);
}

Test(syncctl, lost_daemon_reports_a_cmd_that_ignores_sigterm, .timeout = 40)
{
    struct ctl_run bg;
    double t0;

    /* The shell ignores SIGTERM, and so does the sleep it execs. */
    ctl_start(&bg, "lock", "D", "-c", "trap '' TERM; exec sleep 30", NULL);
    await_held_by("D", bg.pid);
    fx_sleep_ms(200); /* the trap is set */
    t0 = fx_now();
    syncd_fixture_kill(SIGKILL);
    ctl_wait(&bg, 15000);
    /* SIGTERM, 5 s of grace, then SIGKILL: not left running unheld. */
    cr_assert(ge(dbl, fx_now() - t0, 4.5));
    cr_assert(lt(dbl, fx_now() - t0, 12.0));
    cr_assert(eq(int, bg.code, 109), "stderr: %s", bg.err);
    cr_assert(strstr(bg.err, "/bin/sh: it ignored SIGTERM for 5 s and was "
                             "killed with SIGKILL") != NULL,
              "%s", bg.err);
    ctl_free(&bg);
}

/* ---- sem ------------------------------------------------------------------
 */

Test(syncctl, sem_value_2_admits_two_at_a_time)
{
    struct ctl_run bg[3], r;
    json_t *j;
    int i;

    for (i = 0; i < 3; i++)
        ctl_start(&bg[i], "sem", "S", "--value", "2", "--", "sleep", "30",
                  NULL);
    j = await_object("S", 1, 2);
    cr_assert(eq(int, (int)jint(j, "value"), 0));
    cr_assert(eq(str, (char *)jstr(j, "type"), "semaphore"));
    cr_assert(eq(
        int,
        (int)jint(json_array_get(json_object_get(j, "holders"), 0), "permits"),
        1));
    json_decref(j);
    cr_assert(eq(int,
                 ctl_code("sem", "-n", "S", "--value", "2", "--", "true", NULL),
                 1));
    /* An existing semaphore needs no --value. */
    cr_assert(eq(int, ctl_code("sem", "-n", "S", "--", "true", NULL), 1));
    r = ctl("show", "S", NULL);
    cr_assert(strstr(r.out, "PERMITS") != NULL, "%s", r.out);
    ctl_free(&r);
    /* One holder ends: its permit goes to the one waiting. */
    j = ctl_json("show", "S");
    for (i = 0; i < 3; i++) {
        json_t *h = json_array_get(json_object_get(j, "holders"), 0);

        if (jint(h, "pid") == bg[i].pid)
            break;
    }
    json_decref(j);
    cr_assert(lt(int, i, 3));
    kill(bg[i].pid, SIGTERM);
    ctl_wait(&bg[i], 5000);
    cr_assert(eq(int, bg[i].code, 128 + SIGTERM));
    ctl_free(&bg[i]);
    json_decref(await_object("S", 0, 2));
    for (int k = 0; k < 3; k++) {
        if (k == i)
            continue;
        kill(bg[k].pid, SIGTERM);
        ctl_wait(&bg[k], 5000);
        cr_assert(eq(int, bg[k].code, 128 + SIGTERM));
        ctl_free(&bg[k]);
    }
    j = await_object("S", 0, 0);
    cr_assert(eq(int, (int)jint(j, "value"), 2));
    json_decref(j);
}

/* `syncctl sem NAME -- CMD` across a kill -9 and restart of a daemon with
 * --state-dir: the permit (taken with SYNC_SEM_UNDO) is kept for syncctl
 * and reclaimed, so CMD runs on to its end and nobody else gets the one
 * permit meanwhile.  (syncctl used to take any reconnect as the permit's
 * loss and SIGTERM the command.) */
Test(syncctl, sem_command_runs_on_across_a_restart)
{
    const char *restart_args[] = {"--state-dir", NULL, "--grace-ms", "3000",
                                  NULL};
    char state_dir[160], out[160], script[400];
    struct ctl_run bg;
    char *text;

    snprintf(state_dir, sizeof(state_dir), "%s/state", syncd_fx.dir);
    snprintf(out, sizeof(out), "%s/cmd.out", syncd_fx.dir);
    snprintf(script, sizeof(script),
             "echo in > %s; sleep 2; echo done >> %s", out, out);
    restart_args[1] = state_dir;
    cr_assert(eq(int, syncd_fixture_stop(), 0));
    syncd_fixture_start(restart_args);
    ctl_startv(&bg, true, "SYNCD_RECONNECT=1", /* the fixture turns it off */
               (const char *[]){"sem", "R", "--value", "1", "-c", script,
                                NULL});
    json_decref(await_object("R", 0, 1));
    fx_sleep_ms(200); /* more than one --fsync batch interval */
    cr_assert(eq(int, syncd_fixture_kill(SIGKILL), 128 + SIGKILL));
    syncd_fixture_start(restart_args);
    /* Kept for syncctl during the grace period, then reclaimed by it. */
    cr_assert(eq(int, ctl_code("sem", "-n", "R", "--", "true", NULL), 1));
    ctl_wait(&bg, 10000);
    cr_assert(eq(int, bg.code, 0), "stderr: %s", bg.err);
    text = slurp(out);
    cr_assert(eq(str, text, "in\ndone\n"), "CMD was ended by the restart");
    free(text);
    ctl_free(&bg);
    cr_assert(eq(int, ctl_code("sem", "-n", "R", "--", "true", NULL), 0));
}

Test(syncctl, sem_value_reads_without_creating)
{
    struct ctl_run r, bg;
    json_t *j;

    /* A reader never creates: no such semaphore, and still none after. */
    r = ctl("sem", "V", "value", NULL);
    cr_assert(eq(int, r.code, 106));
    cr_assert(strstr(r.err, "V") != NULL, "%s", r.err);
    ctl_free(&r);
    cr_assert(eq(int, ctl_code("show", "V", NULL), 106));
    /* It takes no creation or waiting option. */
    cr_assert(eq(int, ctl_code("sem", "--value", "2", "V", "value", NULL), 64));
    cr_assert(eq(int, ctl_code("sem", "-n", "V", "value", NULL), 64));
    cr_assert(eq(int, ctl_code("sem", "V", "--value", "3", "--", "true", NULL),
                 0));
    r = ctl("sem", "V", "value", NULL);
    cr_assert(eq(int, r.code, 0));
    cr_assert(eq(str, r.out, "3\n"));
    ctl_free(&r);
    /* A permit held elsewhere shows in the value. */
    ctl_start(&bg, "sem", "V", "--", "sleep", "30", NULL);
    json_decref(await_object("V", 0, 1));
    r = ctl("--json", "sem", "V", "value", NULL);
    cr_assert(eq(int, r.code, 0));
    j = json_loads(r.out, 0, NULL);
    cr_assert(j != NULL, "%s", r.out);
    cr_assert(eq(int, (int)jint(j, "value"), 2));
    cr_assert(eq(str, (char *)jstr(j, "type"), "semaphore"));
    json_decref(j);
    ctl_free(&r);
    kill(bg.pid, SIGTERM);
    ctl_wait(&bg, 5000);
    ctl_free(&bg);
    /* A BoundedSemaphore reads the same way. */
    cr_assert(eq(int, ctl_code("sem", "BV", "--value", "1", "--bounded", "--",
                               "true", NULL),
                 0));
    r = ctl("--json", "sem", "BV", "value", NULL);
    cr_assert(eq(int, r.code, 0));
    cr_assert(strstr(r.out, "\"bounded_semaphore\"") != NULL, "%s", r.out);
    ctl_free(&r);
}

/* ---- event, barrier, rm ---------------------------------------------------
 */

Test(syncctl, event_set_is_set_clear_wait)
{
    struct ctl_run bg, r;
    double t0;

    /* A reader never creates: no such event yet. */
    cr_assert(eq(int, ctl_code("event", "is-set", "E", NULL), 106));
    cr_assert(eq(int, ctl_code("show", "E", NULL), 106));
    cr_assert(eq(int, ctl_code("event", "is-set", "E", NULL), 106));
    cr_assert(eq(int, ctl_code("event", "set", "E", NULL), 0));
    cr_assert(eq(int, ctl_code("event", "is-set", "E", NULL), 0));
    cr_assert(eq(int, ctl_code("event", "wait", "E", NULL), 0));
    cr_assert(eq(int, ctl_code("event", "clear", "E", NULL), 0));
    cr_assert(eq(int, ctl_code("event", "is-set", "E", NULL), 1));
    cr_assert(eq(int, ctl_code("event", "wait", "-n", "E", NULL), 101));
    t0 = fx_now();
    r = ctl("event", "wait", "-w", "0.3", "E", NULL);
    cr_assert(eq(int, r.code, 101));
    cr_assert(ge(dbl, fx_now() - t0, 0.25));
    /* An event's words, not a lock's ("not acquired"). */
    cr_assert(eq(str, r.err, "syncctl: event E: timed out, still clear\n"));
    ctl_free(&r);
    ctl_start(&bg, "event", "wait", "-w", "20", "E", NULL);
    json_decref(await_object("E", 1, -1));
    cr_assert(eq(int, ctl_code("event", "set", "E", NULL), 0));
    ctl_wait(&bg, 5000);
    cr_assert(eq(int, bg.code, 0), "stderr: %s", bg.err);
    ctl_free(&bg);
}

Test(syncctl, broken_barrier_names_the_remedy_and_resets_when_unused)
{
    struct ctl_run r;
    sync_client *c;
    sync_barrier *b;

    /* A run that timed out leaves it broken; its process is gone. */
    cr_assert(eq(int, ctl_code("barrier", "BR", "--parties", "2", "wait", "-w",
                               "0.2", NULL),
                 118));
    /* No handle open anywhere: the daemon started it afresh. */
    r = ctl("--json", "show", "BR", NULL);
    cr_assert(strstr(r.out, "\"broken\": false") != NULL, "%s", r.out);
    ctl_free(&r);
    /* With a handle open, Python's semantics hold: broken until reset,
     * and the error says how to reset it. */
    cr_assert(eq(int, sync_connect(syncd_fx.sock, &c), 0));
    cr_assert(eq(int, sync_barrier_open(c, "BR", 2, &b), 0));
    cr_assert(eq(int, sync_barrier_abort(b), 0));
    r = ctl("barrier", "BR", "wait", NULL);
    cr_assert(eq(int, r.code, 118));
    cr_assert(strstr(r.err, "syncctl barrier NAME reset") != NULL, "%s",
              r.err);
    ctl_free(&r);
    cr_assert(eq(int, sync_barrier_broken(b), 1));
    sync_barrier_close(b);
    sync_disconnect(c);
    /* The last handle closed: usable again without a reset. */
    r = ctl("--json", "show", "BR", NULL);
    cr_assert(strstr(r.out, "\"broken\": false") != NULL, "%s", r.out);
    ctl_free(&r);
}

Test(syncctl, show_names_a_condition_s_lock_and_counts_client_handles_only)
{
    sync_client *c;
    sync_cond *cv;
    sync_lock *l;
    json_t *j;

    cr_assert(eq(int, sync_connect(syncd_fx.sock, &c), 0));
    cr_assert(eq(int, sync_lock_open(c, "CL", &l), 0));
    cr_assert(eq(int, sync_cond_open(c, "CC", "CL", &cv), 0));
    j = ctl_json("show", "CL");
    cr_assert(eq(int, (int)jint(j, "handles"), 1), "one client handle");
    json_decref(j);
    j = ctl_json("show", "CC");
    cr_assert(eq(int, (int)jint(j, "handles"), 1));
    cr_assert(eq(str, (char *)jstr(j, "lock_name"), "CL"));
    json_decref(j);
    sync_cond_close(cv);
    sync_lock_close(l);
    sync_disconnect(c);
}

Test(syncctl, barrier_three_parties_get_indices_0_1_2)
{
    struct ctl_run bg[3];
    int i, seen[3] = {0}, idx;

    for (i = 0; i < 3; i++)
        ctl_start(&bg[i], "barrier", "B", "--parties", "3", "wait", "-w", "20",
                  NULL);
    for (i = 0; i < 3; i++) {
        ctl_wait(&bg[i], 20000);
        cr_assert(eq(int, bg[i].code, 0), "stderr: %s", bg[i].err);
        idx = atoi(bg[i].out);
        cr_assert(idx >= 0 && idx < 3, "%s", bg[i].out);
        seen[idx]++;
        ctl_free(&bg[i]);
    }
    cr_assert(seen[0] == 1 && seen[1] == 1 && seen[2] == 1);
    /* Alone with a timeout: the barrier breaks (118). */
    cr_assert(eq(
        int,
        ctl_code("barrier", "B", "--parties", "3", "wait", "-w", "0.2", NULL),
        118));
}

Test(syncctl, rm_then_show_is_enoent)
{
    struct ctl_run r;

    cr_assert(eq(int, ctl_code("event", "set", "R", NULL), 0));
    cr_assert(eq(int, ctl_code("show", "R", NULL), 0));
    cr_assert(eq(int, ctl_code("rm", "R", NULL), 0));
    r = ctl("show", "R", NULL);
    cr_assert(eq(int, r.code, 106));
    cr_assert(strstr(r.err, sync_strerror(SYNC_ENOENT)) != NULL, "%s", r.err);
    ctl_free(&r);
    cr_assert(eq(int, ctl_code("rm", "R", NULL), 106));
}

Test(syncctl, mode_option_sets_create_mode)
{
    struct ctl_run r;
    json_t *j;

    cr_assert(
        eq(int, ctl_code("event", "set", "--mode", "0600", "M", NULL), 0));
    j = ctl_json("show", "M");
    cr_assert(j != NULL);
    /* Modes print in octal, in JSON as in text. */
    cr_assert(eq(str, (char *)jstr(j, "mode"), "0600"));
    json_decref(j);
    r = ctl("show", "M", NULL);
    cr_assert(strstr(r.out, "mode 0600") != NULL, "%s", r.out);
    ctl_free(&r);
    cr_assert(
        eq(int, ctl_code("event", "set", "--mode", "999", "M2", NULL), 64));
}

/* ---- metrics --------------------------------------------------------------
 */

/* Whether every sample line of a Prometheus text exposition is well-formed
 * and its family has a TYPE line before it. */
static void check_exposition(const char *out)
{
    char *copy = strdup(out), *save = NULL, *line, name[128], *sp;
    char types[4096] = "";
    size_t n;

    for (line = strtok_r(copy, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        if (strncmp(line, "# TYPE ", 7) == 0) {
            strncat(types, line + 7, sizeof(types) - strlen(types) - 2);
            strcat(types, "\n");
            continue;
        }
        if (line[0] == '#') {
            cr_assert(strncmp(line, "# HELP syncd_", 13) == 0, "%s", line);
            continue;
        }
        cr_assert(strncmp(line, "syncd_", 6) == 0, "%s", line);
        n = strcspn(line, "{ ");
        cr_assert(lt(sz, n, sizeof(name) - 1));
        memcpy(name, line, n);
        name[n] = ' ';
        name[n + 1] = '\0';
        cr_assert(strstr(types, name) != NULL, "no TYPE for %s", line);
        sp = strrchr(line, ' ');
        cr_assert(sp != NULL && strspn(sp + 1, "0123456789.") == strlen(sp + 1),
                  "%s", line);
    }
    free(copy);
}

Test(syncctl, metrics_in_prometheus_format)
{
    static const char *const want[] = {
        "# TYPE syncd_requests_total counter\n",
        "# HELP syncd_requests_total ",
        "\nsyncd_requests_total{op=\"hello\"} ",
        "\nsyncd_requests_total{op=\"release\"} ",
        "\nsyncd_acquisitions_total ",
        "\nsyncd_timeouts_total ",
        "\nsyncd_owner_deaths_total ",
        "\nsyncd_deadlocks_total ",
        "\nsyncd_denied_total ",
        "\nsyncd_clients ",
        "\nsyncd_objects ",
        "\nsyncd_waiters ",
        "\nsyncd_uptime_seconds ",
        "# TYPE syncd_clients gauge\n",
    };
    struct ctl_run r;
    const char *p;
    size_t i;

    cr_assert(eq(int, ctl_code("lock", "MX", "--", "true", NULL), 0));
    cr_assert(eq(int, ctl_code("lock", "-n", "MX", "--", "true", NULL), 0));
    r = ctl("metrics", NULL);
    cr_assert(eq(int, r.code, 0), "stderr: %s", r.err);
    for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        cr_assert(strstr(r.out, want[i]) != NULL, "no '%s' in:\n%s", want[i],
                  r.out);
    p = strstr(r.out, "syncd_requests_total{op=\"acquire\"} ");
    cr_assert(p != NULL, "%s", r.out);
    cr_assert(
        ge(int, atoi(p + strlen("syncd_requests_total{op=\"acquire\"} ")), 2));
    p = strstr(r.out, "\nsyncd_acquisitions_total ");
    cr_assert(ge(int, atoi(p + strlen("\nsyncd_acquisitions_total ")), 2));
    check_exposition(r.out);
    ctl_free(&r);
}

/* ---- no daemon, help, usage ------------------------------------------------
 */

Test(syncctl, no_daemon_exits_109_and_says_so)
{
    char sock[160], want[512], env[200];
    const char *args[] = {"status", NULL};
    struct ctl_run r;

    snprintf(sock, sizeof(sock), "%s/none.sock", syncd_fx.dir);
    snprintf(want, sizeof(want),
             "syncctl: no syncd is listening on %s "
             "(--socket); start it with: syncd --socket %s",
             sock, sock);
    r = ctl("--socket", sock, "ls", NULL);
    cr_assert(eq(int, r.code, 109));
    cr_assert(strstr(r.err, want) != NULL, "%s", r.err);
    cr_assert(eq(str, r.out, ""));
    ctl_free(&r);
    /* The same through $SYNCD_SOCKET, as the library finds the daemon. */
    snprintf(env, sizeof(env), "SYNCD_SOCKET=%s", sock);
    ctl_startv(&r, false, env, args);
    ctl_wait(&r, 10000);
    cr_assert(eq(int, r.code, 109));
    snprintf(want, sizeof(want),
             "syncctl: no syncd is listening on %s "
             "($SYNCD_SOCKET is set); start it with: syncd --socket %s",
             sock, sock);
    cr_assert(strstr(r.err, want) != NULL, "%s", r.err);
    ctl_free(&r);
    /* And $SYNCD_SOCKET pointing at the fixture's daemon works. */
    snprintf(env, sizeof(env), "SYNCD_SOCKET=%s", syncd_fx.sock);
    ctl_startv(&r, false, env, args);
    ctl_wait(&r, 10000);
    cr_assert(eq(int, r.code, 0), "stderr: %s", r.err);
    ctl_free(&r);
}

Test(syncctl, every_verb_has_help)
{
    static const char *const verbs[] = {"status",  "ls",   "show", "clients",
                                        "metrics", "lock", "sem",  "event",
                                        "barrier", "rm"};
    char want[64];
    struct ctl_run r;
    size_t i;

    r = ctl("--help", NULL);
    cr_assert(eq(int, r.code, 0));
    cr_assert(strstr(r.out, "Exit status") != NULL, "%s", r.out);
    cr_assert(strstr(r.out, "101  SYNC_ETIMEDOUT") != NULL, "%s", r.out);
    cr_assert(strstr(r.out, "109  SYNC_ECONN") != NULL, "%s", r.out);
    for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
        cr_assert(strstr(r.out, verbs[i]) != NULL, "%s", verbs[i]);
    ctl_free(&r);
    for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
        r = ctl(verbs[i], "--help", NULL);
        snprintf(want, sizeof(want), "usage: syncctl %s", verbs[i]);
        cr_assert(eq(int, r.code, 0), "%s --help", verbs[i]);
        cr_assert(strstr(r.out, want) != NULL, "%s", r.out);
        ctl_free(&r);
    }
}

Test(syncctl, usage_errors_exit_64)
{
    cr_assert(eq(int, ctl_code(NULL), 64));
    cr_assert(eq(int, ctl_code("frobnicate", NULL), 64));
    cr_assert(eq(int, ctl_code("lock", "X", NULL), 64));
    cr_assert(
        eq(int, ctl_code("lock", "-n", "-w", "1", "X", "--", "true", NULL), 64));
    cr_assert(eq(int, ctl_code("lock", "-E", "256", "X", "--", "true", NULL),
                 64));
    cr_assert(eq(int, ctl_code("event", "toggle", "E", NULL), 64));
    cr_assert(eq(int, ctl_code("status", "--value", "3", NULL), 64));
    cr_assert(eq(int, ctl_code("show", NULL), 64));
}

Test(syncctl, json_is_refused_where_nothing_is_printed)
{
    static const char *const quiet[][6] = {
        {"--json", "lock", "J", "--", "true", NULL},
        {"--json", "sem", "J2", "--", "true", NULL},
        {"--json", "event", "set", "J3", NULL, NULL},
        {"--json", "rm", "J", NULL, NULL, NULL},
        {"--json", "metrics", NULL, NULL, NULL, NULL},
        {"barrier", "J4", "reset", "--json", NULL, NULL},
    };
    struct ctl_run r;
    size_t i;

    for (i = 0; i < sizeof(quiet) / sizeof(quiet[0]); i++) {
        ctl_startv(&r, true, NULL, quiet[i]);
        ctl_wait(&r, 10000);
        cr_assert(eq(int, r.code, 64), "case %zu: %s", i, r.err);
        cr_assert(strstr(r.err, "--json does not apply") != NULL, "%s", r.err);
        ctl_free(&r);
    }
    /* The verbs that print honour it. */
    cr_assert(eq(int, ctl_code("event", "set", "J5", NULL), 0));
    r = ctl("--json", "event", "is-set", "J5", NULL);
    cr_assert(eq(int, r.code, 0));
    cr_assert(strstr(r.out, "\"set\": true") != NULL, "%s", r.out);
    ctl_free(&r);
}

Test(syncctl, verbs_on_existing_objects_need_no_creation_parameters)
{
    struct ctl_run r;

    /* Missing: told how to create it, nothing created. */
    r = ctl("barrier", "B", "reset", NULL);
    cr_assert(eq(int, r.code, 106));
    cr_assert(strstr(r.err, "give --parties N") != NULL, "%s", r.err);
    ctl_free(&r);
    r = ctl("sem", "S", "--", "true", NULL);
    cr_assert(eq(int, r.code, 106));
    cr_assert(strstr(r.err, "give --value N") != NULL, "%s", r.err);
    ctl_free(&r);
    cr_assert(eq(int, ctl_code("show", "B", NULL), 106));
    /* Once created, its parameters are its own. */
    cr_assert(eq(int, ctl_code("barrier", "B", "--parties", "3", "abort",
                               NULL),
                 0));
    cr_assert(eq(int, ctl_code("barrier", "B", "reset", NULL), 0));
    cr_assert(eq(int, ctl_code("barrier", "B", "--parties", "4", "reset",
                               NULL),
                 105));
    cr_assert(eq(int, ctl_code("sem", "S", "--value", "3", "--bounded", "--",
                               "true", NULL),
                 0));
    cr_assert(eq(int, ctl_code("sem", "S", "--", "true", NULL), 0));
}
