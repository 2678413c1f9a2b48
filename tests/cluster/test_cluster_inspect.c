/*
 * test_cluster_inspect.c: syncctl's views of cluster/ names, through the
 * built syncctl against two agents ("hosts") on one 3-member etcd: show
 * and ls on agent B name the holder that agent A serves (host, agent,
 * pid, uid, token) and B's own waiter, and the party running a
 * barrier's action; ls merges local and cluster names;
 * clients shows a session's lease; status and metrics count the etcd
 * calls and leases; with every etcd member frozen, ls still lists the
 * local objects, says why the cluster ones are missing, and the lost
 * lease is counted.  The tests run one at a time (--jobs 1): the last one
 * (its own suite) freezes the etcd the others use.
 */
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "cluster_fx.h"
#include "json_fields.h"

TestSuite(cluster_inspect, .init = cfx_init, .fini = cfx_fini,
          .timeout = 60);

/* Run `syncctl -s AGENT ARGS` (ARGS in shell words); *code gets its exit
 * status, *err its stderr (static buffer); returns its stdout (free). */
static char *ctl(int agent, int *code, const char **err, const char *args)
{
    static char errbuf[1024];
    char cmd[1024], out[160], errf[160], *text;
    FILE *f;
    long n;
    int rc;

    snprintf(out, sizeof(out), "%s/ctl.out", cfx.dir);
    snprintf(errf, sizeof(errf), "%s/ctl.err", cfx.dir);
    snprintf(cmd, sizeof(cmd), "%s -s %s %s >%s 2>%s", SYNCCTL_BIN,
             cfx.sock[agent], args, out, errf);
    rc = system(cmd);
    *code = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
    f = fopen(errf, "r");
    n = f ? (long)fread(errbuf, 1, sizeof(errbuf) - 1, f) : 0;
    errbuf[n > 0 ? n : 0] = '\0';
    if (f)
        fclose(f);
    if (err != NULL)
        *err = errbuf;
    f = fopen(out, "r");
    cr_assert(ne(ptr, f, NULL));
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    rewind(f);
    text = calloc(1, (size_t)n + 1);
    cr_assert(ne(ptr, text, NULL));
    cr_assert(eq(long, (long)fread(text, 1, (size_t)n, f), n));
    fclose(f);
    return text;
}

/* syncctl --json ARGS on AGENT, which must succeed: the parsed output. */
static json_t *ctl_json(int agent, const char *args)
{
    char full[900];
    const char *err;
    json_error_t je;
    int code;
    char *out;
    json_t *j;

    snprintf(full, sizeof(full), "--json %s", args);
    out = ctl(agent, &code, &err, full);
    cr_assert(eq(int, code, 0), "syncctl %s on agent %d: exit %d: %s", args,
              agent, code, err);
    j = json_loads(out, 0, &je);
    cr_assert(ne(ptr, j, NULL), "not JSON (%s): %s", je.text, out);
    free(out);
    return j;
}

/* syncctl --json ARGS on AGENT until its integer field is want (what
 * another thread does reaches etcd in its own time); the last output. */
static json_t *ctl_json_until(int agent, const char *args, const char *field,
                              json_int_t want)
{
    double t0 = fx_now();
    json_t *j = ctl_json(agent, args);

    while (jint(j, field) != want && fx_now() - t0 < 10) {
        json_decref(j);
        fx_sleep_ms(100);
        j = ctl_json(agent, args);
    }
    cr_assert(eq(int, (int)jint(j, field), (int)want), "%s: %s", args, field);
    return j;
}

/* The entry of array named `name` in listing j, or NULL. */
static json_t *find_named(json_t *list, const char *name)
{
    json_t *o;
    size_t i;

    json_array_foreach(list, i, o) {
        if (strcmp(jstr(o, "name"), name) == 0)
            return o;
    }
    return NULL;
}

struct waiter {
    sync_lock *l;
    int rv;
};

static int hang(void *arg)
{
    (void)arg;
    for (;;)
        pause();
    return 0;
}

static void *wait_lock(void *arg)
{
    struct waiter *w = arg;

    w->rv = sync_lock_acquire(w->l, true, 20);
    if (w->rv == 0)
        w->rv = sync_lock_release(w->l);
    return NULL;
}

Test(cluster_inspect, show_and_ls_on_b_name_the_holder_a_serves)
{
    sync_client *a = cfx_connect(0), *b = cfx_connect(1);
    sync_lock *la = NULL, *lb = NULL, *local = NULL;
    struct waiter w = {0};
    char host[64] = "", args[300], local_name[64];
    json_t *j, *h, *o, *objs;
    pthread_t t;
    uint64_t token;
    const char *prev;
    size_t i;

    gethostname(host, sizeof(host) - 1);
    cr_assert(eq(int, sync_lock_open(a, cfx_name("L"), &la), 0));
    cr_assert(eq(int, sync_lock_open(b, cfx_name("L"), &lb), 0));
    /* A local lock on B, to be listed beside the cluster one. */
    snprintf(local_name, sizeof(local_name), "inspect-%d", (int)getpid());
    cr_assert(eq(int, sync_lock_open(b, local_name, &local), 0));
    cr_assert(eq(int, sync_lock_acquire(local, true, -1), 0));
    cr_assert(eq(int, sync_lock_acquire(la, true, -1), 0));
    token = sync_lock_token(la);
    w.l = lb;
    cr_assert(eq(int, pthread_create(&t, NULL, wait_lock, &w), 0));

    /* show on B: A's client holds it, B's waits (once its key is in). */
    snprintf(args, sizeof(args), "show %s", cfx_name("L"));
    j = ctl_json_until(1, args, "n_waiting", 1);
    cr_assert(eq(str, (char *)jstr(j, "type"), "lock"));
    cr_assert(eq(str, (char *)jstr(j, "state"), "locked"));
    cr_assert(eq(int, (int)jint(j, "n_waiting"), 1));
    cr_assert(eq(sz, json_array_size(json_object_get(j, "holders")), 1));
    h = json_array_get(json_object_get(j, "holders"), 0);
    cr_assert(eq(str, (char *)jstr(h, "host"), host));
    cr_assert(eq(int, (int)jint(h, "agent_pid"), (int)cfx.pid[0]));
    cr_assert(eq(int, (int)jint(h, "pid"), (int)getpid()));
    cr_assert(eq(int, (int)jint(h, "uid"), (int)getuid()));
    cr_assert(eq(u64, (uint64_t)jint(h, "fencing_token"), token));
    cr_assert(eq(sz, json_array_size(json_object_get(j, "waiters")), 1));
    h = json_array_get(json_object_get(j, "waiters"), 0);
    cr_assert(eq(int, (int)jint(h, "agent_pid"), (int)cfx.pid[1]));
    cr_assert(eq(int, (int)jint(h, "pid"), (int)getpid()));
    json_decref(j);

    /* show on A says the same of the holder, with what A knows itself. */
    j = ctl_json(0, args);
    h = json_array_get(json_object_get(j, "holders"), 0);
    cr_assert(eq(int, (int)jint(h, "agent_pid"), (int)cfx.pid[0]));
    cr_assert(eq(u64, (uint64_t)jint(h, "fencing_token"), token));
    cr_assert(eq(int, (int)jint(h, "depth"), 1));
    json_decref(j);

    /* ls on B: the cluster lock and the local one, sorted by name. */
    j = ctl_json(1, "ls");
    cr_assert(eq(ptr, json_object_get(j, "cluster_error"), NULL));
    objs = json_object_get(j, "objects");
    o = find_named(objs, cfx_name("L"));
    cr_assert(ne(ptr, o, NULL), "ls on B lacks the cluster lock");
    cr_assert(eq(int, (int)jint(o, "n_waiting"), 1));
    h = json_array_get(json_object_get(o, "holders"), 0);
    cr_assert(eq(int, (int)jint(h, "pid"), (int)getpid()));
    cr_assert(eq(int, (int)jint(h, "agent_pid"), (int)cfx.pid[0]));
    cr_assert(ne(ptr, find_named(objs, local_name), NULL),
              "ls on B lacks its local lock");
    prev = "";
    json_array_foreach(objs, i, o) {
        cr_assert(lt(int, strcmp(prev, jstr(o, "name")), 0),
                  "ls not sorted: '%s' then '%s'", prev, jstr(o, "name"));
        prev = jstr(o, "name");
    }
    json_decref(j);
    /* A pattern: only cluster names that match. */
    snprintf(args, sizeof(args), "ls '%s*'", cfx.prefix);
    j = ctl_json(1, args);
    objs = json_object_get(j, "objects");
    cr_assert(eq(sz, json_array_size(objs), 1));
    cr_assert(ne(ptr, find_named(objs, cfx_name("L")), NULL));
    json_decref(j);

    /* clients on A: this process's session has a lease and one hold. */
    j = ctl_json(0, "clients");
    o = NULL;
    json_array_foreach(json_object_get(j, "clients"), i, h) {
        if (jint(h, "pid") == getpid())
            o = h;
    }
    cr_assert(ne(ptr, o, NULL));
    cr_assert(ne(int, (int)jint(o, "cluster_lease"), 0));
    cr_assert(eq(int, (int)jint(o, "cluster_held"), 1));
    json_decref(j);

    /* The text form names the holder as pid@host. */
    {
        char *text, want[128];
        int code;

        snprintf(want, sizeof(want), "%d@%s", (int)getpid(), host);
        text = ctl(1, &code, NULL, "ls");
        cr_assert(eq(int, code, 0));
        cr_assert(ne(ptr, strstr(text, want), NULL), "no '%s' in:\n%s", want,
                  text);
        free(text);
    }

    /* A BoundedSemaphore(3) with a permit out on A: 2/3 on B. */
    {
        sync_sem *sa = NULL;

        cr_assert(eq(int, sync_bsem_open(a, cfx_name("S"), 3, &sa), 0));
        cr_assert(eq(int, sync_sem_acquire(sa, true, -1), 0));
        snprintf(args, sizeof(args), "show %s", cfx_name("S"));
        j = ctl_json(1, args);
        cr_assert(eq(str, (char *)jstr(j, "type"), "bsemaphore"));
        cr_assert(eq(int, (int)jint(j, "value"), 2));
        cr_assert(eq(int, (int)jint(j, "bound"), 3));
        cr_assert(eq(str, (char *)jstr(j, "state"), "value 2/3"));
        json_decref(j);
        cr_assert(eq(int, sync_sem_release(sa, 1), 0));
        sync_sem_close(sa);
    }

    /* A name etcd does not have. */
    {
        const char *err;
        int code;

        snprintf(args, sizeof(args), "show %s", cfx_name("absent"));
        free(ctl(1, &code, &err, args));
        cr_assert(eq(int, code, 100 - SYNC_ENOENT), "%s", err);
    }

    cr_assert(eq(int, sync_lock_release(la), 0));
    pthread_join(t, NULL);
    cr_assert(eq(int, w.rv, 0));
    sync_lock_close(la);
    sync_lock_close(lb);
    sync_lock_close(local);
    sync_disconnect(a);
    sync_disconnect(b);
}

/* A party of barrier name on agent, offering hang (pause) as its action:
 * only returns when killed (or the wait fails: exit 1). */
static pid_t barrier_party(int agent, const char *name, bool act)
{
    pid_t p = fx_fork();

    if (p == 0) {
        sync_client *c = cfx_connect_nofail(agent);
        sync_barrier *b = NULL;

        if (c == NULL || sync_barrier_open(c, name, 2, &b) != 0)
            _exit(2);
        _exit(sync_barrier_wait_action(b, 30, act ? hang : NULL, NULL) ==
                      SYNC_EBROKEN
                  ? 0
                  : 1);
    }
    return p;
}

/* A cluster barrier whose action runs: show on either host names the
 * party running it (pid, uid, host) and counts the other as waiting. */
Test(cluster_inspect, show_names_the_barrier_actions_runner)
{
    char host[64] = "", args[300], want[200], *text;
    sync_client *a = cfx_connect(0);
    sync_barrier *b = NULL;
    pid_t waiter, actor;
    json_t *j, *h;
    int code;

    gethostname(host, sizeof(host) - 1);
    cr_assert(eq(int, sync_barrier_open(a, cfx_name("B"), 2, &b), 0));
    waiter = barrier_party(0, cfx_name("B"), false);
    snprintf(args, sizeof(args), "show %s", cfx_name("B"));
    json_decref(ctl_json_until(1, args, "n_waiting", 1));
    actor = barrier_party(1, cfx_name("B"), true);
    /* Held for the action: the actor is the holder, one party waits. */
    j = ctl_json(0, args);
    for (double t0 = fx_now();
         json_array_size(json_object_get(j, "holders")) == 0 &&
         fx_now() - t0 < 10;) {
        json_decref(j);
        fx_sleep_ms(100);
        j = ctl_json(0, args);
    }
    h = json_array_get(json_object_get(j, "holders"), 0);
    cr_assert(ne(ptr, h, NULL), "no action runner shown");
    cr_assert(eq(int, (int)jint(h, "pid"), (int)actor));
    cr_assert(eq(str, (char *)jstr(h, "host"), host));
    cr_assert(eq(int, (int)jint(j, "n_waiting"), 1));
    json_decref(j);
    text = ctl(1, &code, NULL, args);
    cr_assert(eq(int, code, 0));
    snprintf(want, sizeof(want),
             "action:    running in pid %d uid %u on %s; the round waits",
             (int)actor, (unsigned)getuid(), host);
    cr_assert(ne(ptr, strstr(text, want), NULL), "no '%s' in:\n%s", want,
              text);
    free(text);
    /* Its death breaks the round: nobody runs it any more. */
    cr_assert(eq(int, kill(actor, SIGKILL), 0));
    cr_assert(eq(int, fx_waitpid(waiter, 10000), 0));
    (void)fx_waitpid(actor, 5000);
    j = ctl_json(0, args);
    cr_assert(eq(sz, json_array_size(json_object_get(j, "holders")), 0));
    json_decref(j);
    sync_disconnect(a);
}

/* ls pages (100 objects each) through local and cluster names merged:
 * every object once, in order. */
Test(cluster_inspect, ls_pages_merge_local_and_cluster_names)
{
    enum { N = 105 };
    sync_client *b = cfx_connect(1);
    sync_lock *l[2 * N];
    char name[96], args[96];
    const char *prev = "";
    json_t *j, *objs, *o;
    size_t i;

    for (i = 0; i < 2 * N; i++) {
        if (i < N)
            snprintf(name, sizeof(name), "pg%d-%03zu", (int)getpid(), i);
        else
            snprintf(name, sizeof(name), "%spg%d-%03zu", cfx.prefix,
                     (int)getpid(), i - N);
        cr_assert(eq(int, sync_lock_open(b, name, &l[i]), 0), "%s", name);
    }
    snprintf(args, sizeof(args), "ls '*pg%d-*'", (int)getpid());
    j = ctl_json(1, args);
    objs = json_object_get(j, "objects");
    cr_assert(eq(sz, json_array_size(objs), 2 * N));
    json_array_foreach(objs, i, o) {
        cr_assert(lt(int, strcmp(prev, jstr(o, "name")), 0),
                  "'%s' then '%s'", prev, jstr(o, "name"));
        prev = jstr(o, "name");
    }
    json_decref(j);
    for (i = 0; i < 2 * N; i++)
        sync_lock_close(l[i]);
    sync_disconnect(b);
}

/* status --json's cluster part on agent i. */
static json_t *cluster_status(int i)
{
    json_t *j = ctl_json(i, "status"), *c = json_object_get(j, "cluster");

    cr_assert(ne(ptr, c, NULL), "status has no cluster part");
    json_incref(c);
    json_decref(j);
    return c;
}

Test(cluster_inspect, status_and_metrics_count_calls_and_leases)
{
    sync_client *a = cfx_connect(0);
    sync_lock *l = NULL;
    json_t *before, *held, *after;
    char *text, want[64];
    double t0;
    int code;

    before = cluster_status(0);
    cr_assert(ne(ptr, strstr(jstr(before, "etcd"), cfx.urls), NULL));
    cr_assert(eq(int, (int)jint(before, "leases"), 0));
    cr_assert(eq(int, sync_lock_open(a, cfx_name("M"), &l), 0));
    cr_assert(eq(int, sync_lock_acquire(l, true, -1), 0));
    held = cluster_status(0);
    cr_assert(eq(int, (int)jint(held, "leases"), 1));
    cr_assert(gt(int, (int)(jint(held, "calls") - jint(before, "calls")), 1),
              "an open and an acquire, yet calls did not move");
    cr_assert(gt(int, (int)jint(held, "latency_us"), 0));
    cr_assert(ge(int, (int)jint(held, "latency_max_us"),
                 (int)jint(held, "latency_mean_us")));
    cr_assert(eq(int, (int)jint(held, "errors"), 0));
    cr_assert(eq(int, sync_lock_release(l), 0));
    sync_lock_close(l);
    sync_disconnect(a);
    /* The client left: its lease is revoked, no longer live. */
    after = cluster_status(0);
    for (t0 = fx_now(); jint(after, "leases") != 0 && fx_now() - t0 < 10;) {
        json_decref(after);
        fx_sleep_ms(100);
        after = cluster_status(0);
    }
    cr_assert(eq(int, (int)jint(after, "leases"), 0));
    cr_assert(eq(int, (int)jint(after, "leases_lost"), 0));
    cr_assert(ge(int, (int)jint(after, "calls"), (int)jint(held, "calls")));
    /* metrics: the same count, in Prometheus' form. */
    text = ctl(0, &code, NULL, "metrics");
    cr_assert(eq(int, code, 0));
    cr_assert(ne(ptr, strstr(text, "# TYPE syncd_cluster_call_seconds summary"),
                 NULL));
    snprintf(want, sizeof(want), "syncd_cluster_leases 0\n");
    cr_assert(ne(ptr, strstr(text, want), NULL), "%s", text);
    cr_assert(ne(ptr, strstr(text, "syncd_cluster_call_errors_total 0\n"),
                 NULL), "%s", text);
    free(text);
    json_decref(before);
    json_decref(held);
    json_decref(after);
}

/* Signal every etcd member (etcd_cluster.sh wrote their pids). */
static void members_signal(int sig)
{
    char path[256];
    FILE *f;
    int i, pid;

    for (i = 0; i < 3; i++) {
        snprintf(path, sizeof(path), "%s/m%d.pid", getenv("SYNCD_ETCD_DIR"),
                 i);
        f = fopen(path, "r");
        cr_assert(ne(ptr, f, NULL));
        cr_assert(eq(int, fscanf(f, "%d", &pid), 1));
        fclose(f);
        cr_assert(eq(int, kill(pid, sig), 0));
    }
}

/* Whatever the test's end, etcd is thawed for the fixture's fini. */
static void thaw_fini(void)
{
    if (cfx.dir[0] != '\0')
        members_signal(SIGCONT);
    cfx_fini();
}

/* Its own suite, run after cluster_inspect's (criterion orders them by
 * name): it freezes the etcd every test here shares. */
TestSuite(cluster_inspect_down, .init = cfx_init, .fini = thaw_fini,
          .timeout = 90);

Test(cluster_inspect_down, ls_lists_local_objects_and_says_why)
{
    sync_client *a = cfx_connect(0);
    sync_lock *cl = NULL, *local = NULL;
    char local_name[64], *text;
    const char *err;
    json_t *j, *objs, *c;
    double t0;
    int code;

    snprintf(local_name, sizeof(local_name), "down-%d", (int)getpid());
    cr_assert(eq(int, sync_lock_open(a, local_name, &local), 0));
    cr_assert(eq(int, sync_lock_open(a, cfx_name("D"), &cl), 0));
    cr_assert(eq(int, sync_lock_acquire(cl, true, -1), 0));
    members_signal(SIGSTOP);
    /* TTL 3 s: after 4/5 of it without a keepalive answered, A gives the
     * session's lease up (and counts it). */
    t0 = fx_now();
    while (!file_contains(cfx.log[0], "given up") && fx_now() - t0 < 10)
        fx_sleep_ms(50);
    cr_assert(file_contains(cfx.log[0], "given up"));

    t0 = fx_now();
    text = ctl(0, &code, &err, "ls");
    /* Bounded by an inspection's etcd budget (3 s, half a change's),
     * then the local part. */
    cr_assert(lt(dbl, fx_now() - t0, 5.0), "ls took %.1f s", fx_now() - t0);
    cr_assert(eq(int, code, 100 - SYNC_EUNAVAIL), "exit %d: %s", code, err);
    cr_assert(ne(ptr, strstr(text, local_name), NULL), "%s", text);
    cr_assert(eq(ptr, strstr(text, cfx_name("D")), NULL), "%s", text);
    cr_assert(ne(ptr, strstr(err, "cluster/ objects not listed: etcd is "
                                  "unreachable"), NULL), "stderr: %s", err);
    free(text);

    /* JSON: the local objects and the reason, in one document. */
    text = ctl(0, &code, &err, "--json ls");
    cr_assert(eq(int, code, 100 - SYNC_EUNAVAIL));
    j = json_loads(text, 0, NULL);
    cr_assert(ne(ptr, j, NULL), "%s", text);
    objs = json_object_get(j, "objects");
    cr_assert(ne(ptr, find_named(objs, local_name), NULL));
    cr_assert(ne(ptr, strstr(jstr(j, "cluster_error"), "unreachable"), NULL));
    json_decref(j);
    free(text);

    /* show of a cluster name says so too, in bounded time. */
    {
        char args[200];

        snprintf(args, sizeof(args), "show %s", cfx_name("D"));
        free(ctl(0, &code, &err, args));
        cr_assert(eq(int, code, 100 - SYNC_EUNAVAIL), "%s", err);
    }
    members_signal(SIGCONT);

    c = cluster_status(0);
    cr_assert(ge(int, (int)jint(c, "leases_lost"), 1));
    cr_assert(ge(int, (int)jint(c, "errors"), 1));
    cr_assert(eq(int, (int)jint(c, "leases"), 0));
    json_decref(c);
    /* The lock was lost (never "released"); etcd back, ls is whole. */
    cr_assert(eq(int, sync_lock_release(cl), SYNC_ELOST));
    t0 = fx_now();
    do {
        text = ctl(0, &code, &err, "ls");
        if (code == 0)
            break;
        free(text);
        text = NULL;
        fx_sleep_ms(200);
    } while (fx_now() - t0 < 20);
    cr_assert(eq(int, code, 0), "%s", err);
    free(text);
    sync_lock_close(cl);
    sync_lock_close(local);
    sync_disconnect(a);
}
