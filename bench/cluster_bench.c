/*
 * cluster_bench.c: cluster/ Locks beside etcd's own lock, in one run.
 *
 *   C1  acquire + release of an uncontended Lock, each pair timed:
 *       syncd (a client of agent A: sync_lock_acquire + sync_lock_release
 *       on a cluster/ name) against etcd's lock service through the same
 *       JSON gateway (POST /v3/lock/lock + /v3/lock/unlock with a lease
 *       granted beforehand, one kept-alive HTTP connection, libcurl).
 *   C2  handoff between hosts: a holder releases while a waiter on the
 *       other agent (etcd: another connection with its own lease) is
 *       blocked; time from the release call until the waiter's acquire
 *       returns.
 * Pairs of the two systems alternate, so drift hits both alike.  After
 * the table, where C1's time goes inside syncd: agent A's etcd call count
 * and mean call time over C1 (syncctl --json status, before and after),
 * and what the pair costs beyond them (client round trips, agent loop);
 * and, taking turns with the other two, the same two transactions the
 * agent sends for a pair (daemon/cluster/recipe.c) sent straight from
 * this process through the gateway: etcd's own cost of syncd's
 * transactions, without the agent.
 *
 * Usage: cluster_bench [-n PAIRS] [-r HANDOFFS]; etcd's client URLs in
 * SYNCD_ETCD_URLS (tests/cluster/etcd_cluster.sh sets it and starts a
 * 3-member etcd).  Two agents (SYNCD_BIN) are started on temporary sockets.
 */
#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "syncclient.h"

static double now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static double pct(double *v, int n, double p)
{
    qsort(v, (size_t)n, sizeof(*v), cmp_dbl);
    return v[(int)(p * (n - 1))];
}

/* The agents, stopped by die() too (they hold the caller's stdout). */
static pid_t agents[2];

static void die(const char *what)
{
    int i;

    fprintf(stderr, "cluster_bench: %s\n", what);
    for (i = 0; i < 2; i++)
        if (agents[i] > 0)
            kill(agents[i], SIGTERM);
    exit(1);
}

/* ---- etcd's own lock through the gateway ------------------------------- */

struct gw {
    CURL *h;
    char url[256];
    char *buf;
    size_t len;
    long long lease;
};

static size_t gw_write(char *p, size_t s, size_t n, void *arg)
{
    struct gw *g = arg;
    char *b = realloc(g->buf, g->len + s * n + 1);

    if (b == NULL)
        return 0;
    g->buf = b;
    memcpy(g->buf + g->len, p, s * n);
    g->len += s * n;
    g->buf[g->len] = '\0';
    return s * n;
}

/* POST body to path; the parsed answer (caller decrefs). */
static json_t *gw_post(struct gw *g, const char *path, const char *body)
{
    char url[400];
    struct curl_slist *hdr =
        curl_slist_append(NULL, "Content-Type: application/json");
    json_t *j;

    snprintf(url, sizeof(url), "%s%s", g->url, path);
    g->len = 0;
    curl_easy_setopt(g->h, CURLOPT_URL, url);
    curl_easy_setopt(g->h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(g->h, CURLOPT_POSTFIELDS, body);
    if (curl_easy_perform(g->h) != CURLE_OK)
        die("etcd gateway request failed");
    curl_slist_free_all(hdr);
    j = json_loadb(g->buf, g->len, 0, NULL);
    if (j == NULL || json_object_get(j, "error") != NULL)
        die("etcd gateway error");
    return j;
}

static void gw_init(struct gw *g, const char *url)
{
    json_t *j;

    memset(g, 0, sizeof(*g));
    snprintf(g->url, sizeof(g->url), "%.*s", (int)strcspn(url, ","), url);
    g->h = curl_easy_init();
    curl_easy_setopt(g->h, CURLOPT_WRITEFUNCTION, gw_write);
    curl_easy_setopt(g->h, CURLOPT_WRITEDATA, g);
    curl_easy_setopt(g->h, CURLOPT_NOSIGNAL, 1L);
    j = gw_post(g, "/v3/lease/grant", "{\"TTL\":60}");
    g->lease = strtoll(json_string_value(json_object_get(j, "ID")), NULL, 10);
    json_decref(j);
}

/* lock + unlock pieces; the held key (base64) goes into key. */
static void gw_lock(struct gw *g, char *key, size_t cap)
{
    char body[160];
    json_t *j;

    /* "bench-lock" in base64. */
    snprintf(body, sizeof(body), "{\"name\":\"YmVuY2gtbG9jaw==\",\"lease\":"
             "\"%lld\"}", g->lease);
    j = gw_post(g, "/v3/lock/lock", body);
    snprintf(key, cap, "%s", json_string_value(json_object_get(j, "key")));
    json_decref(j);
}

static void gw_unlock(struct gw *g, const char *key)
{
    char body[300];

    snprintf(body, sizeof(body), "{\"key\":\"%s\"}", key);
    json_decref(gw_post(g, "/v3/lock/unlock", body));
}

/* ---- syncd's two transactions, sent straight -------------------------- */

static json_t *b64(const char *p, size_t n)
{
    static const char t[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const unsigned char *u = (const unsigned char *)p;
    char out[512], *o = out;
    size_t i;

    for (i = 0; i < n && o + 4 < out + sizeof(out); i += 3) {
        unsigned v = (unsigned)u[i] << 16 |
                     (i + 1 < n ? (unsigned)u[i + 1] << 8 : 0) |
                     (i + 2 < n ? u[i + 2] : 0);

        *o++ = t[v >> 18];
        *o++ = t[(v >> 12) & 63];
        *o++ = i + 1 < n ? t[(v >> 6) & 63] : '=';
        *o++ = i + 2 < n ? t[v & 63] : '=';
    }
    *o = '\0';
    return json_string(out);
}

/* Key "syncd\1NAME\1SUFFIX" of the direct side's lock (recipe_key). */
static json_t *txn_key(const char *suffix)
{
    char k[256];
    int n = snprintf(k, sizeof(k), "syncd%ccluster/bench-direct-%d%c%s", 1,
                     (int)getpid(), 1, suffix);

    return b64(k, (size_t)n);
}

/* The range end of prefix key "...\1P/" (its last byte + 1). */
static json_t *txn_prefix_end(const char *p)
{
    char k[256];
    int n = snprintf(k, sizeof(k), "syncd%ccluster/bench-direct-%d%c%s", 1,
                     (int)getpid(), 1, p);

    k[n - 1]++;
    return b64(k, (size_t)n);
}

/* recipe_lock_enqueue_req's txn; the contender key's create revision. */
static long long txn_acquire(struct gw *g)
{
    char info[160], lease[24];
    json_t *req, *out, *kv;
    char *text;
    long long rev;

    snprintf(info, sizeof(info), "{\"host\":\"bench-host\",\"pid\":%d,"
             "\"uid\":%u,\"agent\":%d,\"session\":1}", (int)getpid(),
             (unsigned)getuid(), (int)getpid());
    snprintf(lease, sizeof(lease), "%lld", g->lease);
    req = json_pack(
        "{s:[{s:{s:o,s:o,s:s}},{s:{s:o,s:o}},{s:{s:o,s:b}},"
        "{s:{s:o,s:o,s:s,s:s,s:s,s:b}},{s:{s:o,s:o,s:s,s:s,s:i,s:b}}]}",
        "success", "request_put", "key", txn_key("q/0000000000000001-00000001"), "value",
        b64(info, strlen(info)), "lease", lease,
        "request_put", "key", txn_key("m/0000000000000001-00000001"), "value",
        b64(info, strlen(info)),
        "request_range", "key", txn_key("q/0000000000000001-00000001"), "keys_only", 1,
        "request_range", "key", txn_key("q/"), "range_end",
        txn_prefix_end("q/"), "sort_order", "ASCEND", "sort_target", "CREATE",
        "limit", "1", "keys_only", 1,
        "request_range", "key", txn_key("m/"), "range_end",
        txn_prefix_end("m/"), "sort_order", "ASCEND", "sort_target", "CREATE",
        "limit", 5, "keys_only", 1);
    text = json_dumps(req, JSON_COMPACT);
    out = gw_post(g, "/v3/kv/txn", text);
    kv = json_array_get(json_object_get(json_object_get(json_array_get(
             json_object_get(out, "responses"), 2), "response_range"), "kvs"),
         0);
    rev = strtoll(json_string_value(json_object_get(kv, "create_revision")),
                  NULL, 10);
    free(text);
    json_decref(req);
    json_decref(out);
    return rev;
}

/* recipe_lock_release_req's txn (a clean release). */
static void txn_release(struct gw *g, long long rev)
{
    char r[24];
    json_t *req;
    char *text;

    snprintf(r, sizeof(r), "%lld", rev);
    req = json_pack("{s:[{s:s,s:o,s:s}],s:[{s:{s:o}},{s:{s:o}}]}",
                    "compare", "target", "CREATE", "key", txn_key("q/0000000000000001-00000001"),
                    "create_revision", r, "success", "request_delete_range",
                    "key", txn_key("q/0000000000000001-00000001"), "request_delete_range", "key",
                    txn_key("m/0000000000000001-00000001"));
    text = json_dumps(req, JSON_COMPACT);
    json_decref(gw_post(g, "/v3/kv/txn", text));
    free(text);
    json_decref(req);
}

/* ---- the systems behind one interface ---------------------------------- */

struct side {
    bool etcd;         /* etcd's lock service */
    bool txns;         /* syncd's transactions, sent straight */
    struct gw g;
    sync_lock *l;
    char key[256];
    long long rev;
};

static void side_acquire(struct side *s)
{
    if (s->txns)
        s->rev = txn_acquire(&s->g);
    else if (s->etcd)
        gw_lock(&s->g, s->key, sizeof(s->key));
    else if (sync_lock_acquire(s->l, true, 60) != 0)
        die("acquire failed");
}

static void side_release(struct side *s)
{
    if (s->txns)
        txn_release(&s->g, s->rev);
    else if (s->etcd)
        gw_unlock(&s->g, s->key);
    else if (sync_lock_release(s->l) != 0)
        die("release failed");
}

/* C2's waiter: blocks in acquire, stamps, releases. */
struct handoff {
    struct side *waiter;
    atomic_int go, blocked, done;
    double t_got;
};

static void *handoff_waiter(void *arg)
{
    struct handoff *h = arg;

    while (!atomic_load(&h->go))
        usleep(100);
    atomic_store(&h->blocked, 1);
    side_acquire(h->waiter);
    h->t_got = now_us();
    side_release(h->waiter);
    atomic_store(&h->done, 1);
    return NULL;
}

static double handoff_once(struct side *holder, struct side *waiter)
{
    struct handoff h = {.waiter = waiter};
    pthread_t t;
    double t0;

    side_acquire(holder);
    pthread_create(&t, NULL, handoff_waiter, &h);
    atomic_store(&h.go, 1);
    while (!atomic_load(&h.blocked))
        usleep(100);
    usleep(30000); /* let the waiter's request reach etcd and block */
    t0 = now_us();
    side_release(holder);
    pthread_join(t, NULL);
    return h.t_got - t0;
}

static pid_t start_agent(const char *sock, const char *urls, char *log)
{
    pid_t pid = fork();

    if (pid == 0) {
        freopen(log, "w", stderr);
        execl(SYNCD_BIN, SYNCD_BIN, "--socket", sock, "--cluster", urls,
              "--config", "/dev/null", (char *)NULL);
        _exit(127);
    }
    return pid;
}

static sync_client *connect_agent(const char *sock)
{
    sync_client *c = NULL;
    int i;

    for (i = 0; i < 200 && sync_connect(sock, &c) != 0; i++)
        usleep(25000);
    if (c == NULL)
        die("an agent did not start");
    return c;
}

/* Agent sock's etcd calls and their total time so far (its status). */
static void agent_calls(const char *sock, double *calls, double *us)
{
    char cmd[300];
    json_t *j, *c;
    FILE *p;

    snprintf(cmd, sizeof(cmd), "%s -s %s --json status", SYNCCTL_BIN, sock);
    p = popen(cmd, "r");
    j = p != NULL ? json_loadf(p, 0, NULL) : NULL;
    if (p != NULL)
        pclose(p);
    c = json_object_get(j, "cluster");
    if (c == NULL)
        die("syncctl status has no cluster part");
    *calls = (double)json_integer_value(json_object_get(c, "calls"));
    *us = (double)json_integer_value(json_object_get(c, "latency_us"));
    json_decref(j);
}

static void report(const char *row, double *s, double *e, int n)
{
    double s50 = pct(s, n, 0.5), s99 = pct(s, n, 0.99);
    double e50 = pct(e, n, 0.5), e99 = pct(e, n, 0.99);

    printf("| %s | %.0f / %.0f | %.0f / %.0f | %.2fx |\n", row, s50, s99,
           e50, e99, s50 / e50);
}

int main(int argc, char **argv)
{
    const char *urls = getenv("SYNCD_ETCD_URLS");
    int n = 400, r = 30, opt, i, k, ns = 0, ne = 0;
    char dir[] = "/tmp/cluster_bench.XXXXXX", sa[96], sb[96], la[96], lb[96];
    struct side s_a = {0}, s_b = {0}, e_a = {.etcd = true},
                e_b = {.etcd = true}, d_a = {.txns = true};
    double *c1s, *c1e, *c1d, *c2s, *c2e, t0, calls0, us0, calls1, us1;
    double mean = 0;
    char name[64];
    pid_t pa, pb;

    while ((opt = getopt(argc, argv, "n:r:")) != -1) {
        if (opt == 'n')
            n = atoi(optarg);
        else if (opt == 'r')
            r = atoi(optarg);
        else
            die("usage: cluster_bench [-n PAIRS] [-r HANDOFFS]");
    }
    if (urls == NULL || n < 20 || r < 2)
        die("needs SYNCD_ETCD_URLS (tests/cluster/etcd_cluster.sh), "
            "-n >= 20, -r >= 2");
    if (mkdtemp(dir) == NULL)
        die("mkdtemp");
    snprintf(sa, sizeof(sa), "%s/a.sock", dir);
    snprintf(sb, sizeof(sb), "%s/b.sock", dir);
    snprintf(la, sizeof(la), "%s/a.log", dir);
    snprintf(lb, sizeof(lb), "%s/b.log", dir);
    agents[0] = pa = start_agent(sa, urls, la);
    agents[1] = pb = start_agent(sb, urls, lb);
    snprintf(name, sizeof(name), "cluster/bench-%d", (int)getpid());
    if (sync_lock_open(connect_agent(sa), name, &s_a.l) != 0 ||
        sync_lock_open(connect_agent(sb), name, &s_b.l) != 0)
        die("open failed");
    curl_global_init(CURL_GLOBAL_DEFAULT);
    gw_init(&e_a.g, urls);
    gw_init(&e_b.g, urls);
    gw_init(&d_a.g, urls);
    c1s = calloc((size_t)n, sizeof(double));
    c1e = calloc((size_t)n, sizeof(double));
    c1d = calloc((size_t)n, sizeof(double));
    c2s = calloc((size_t)r, sizeof(double));
    c2e = calloc((size_t)r, sizeof(double));
    /* Warm-up: leases, connections, the lock keys' prefix. */
    for (i = 0; i < 10; i++) {
        side_acquire(&s_a);
        side_release(&s_a);
        side_acquire(&e_a);
        side_release(&e_a);
        side_acquire(&d_a);
        side_release(&d_a);
    }
    fprintf(stderr, "C1: %d pairs each\n", n);
    agent_calls(sa, &calls0, &us0);
    for (i = 0; i < n; i += 20)
        for (k = 0; k < 20 && i + k < n; k++) {
            t0 = now_us();
            side_acquire(&s_a);
            side_release(&s_a);
            c1s[ns++] = now_us() - t0;
            t0 = now_us();
            side_acquire(&e_a);
            side_release(&e_a);
            c1e[ne] = now_us() - t0;
            t0 = now_us();
            side_acquire(&d_a);
            side_release(&d_a);
            c1d[ne++] = now_us() - t0;
        }
    agent_calls(sa, &calls1, &us1);
    for (i = 0; i < n; i++)
        mean += c1s[i] / n;
    fprintf(stderr, "C2: %d handoffs each\n", r);
    for (i = 0; i < r; i++) {
        c2s[i] = handoff_once(&s_a, &s_b);
        c2e[i] = handoff_once(&e_a, &e_b);
    }
    printf("| cluster_bench (µs, p50 / p99) | syncd cluster/ Lock | etcd "
           "lock (gateway) | syncd / etcd (p50) |\n|---|---|---|---|\n");
    report("C1 acquire + release, uncontended", c1s, c1e, n);
    report("C2 handoff A -> B (release to acquired)", c2s, c2e, r);
    /* report sorted c1s and c1e: their medians are at hand. */
    printf("\nC1, syncd's two txns sent straight from this process "
           "(libcurl, no agent): %.0f / %.0f µs, %.2fx etcd's lock (p50); "
           "the agent adds %.0f µs (p50 difference)\n",
           pct(c1d, n, 0.5), pct(c1d, n, 0.99),
           pct(c1d, n, 0.5) / pct(c1e, n, 0.5),
           pct(c1s, n, 0.5) - pct(c1d, n, 0.5));
    printf("C1 inside syncd: %.2f etcd calls per pair, %.0f µs per call "
           "(agent A's clock, mean); mean pair %.0f µs, of which %.0f µs "
           "beyond the etcd calls (client round trips, agent loop)\n",
           (calls1 - calls0) / n, (us1 - us0) / (calls1 - calls0), mean,
           mean - (us1 - us0) / n);
    kill(pa, SIGTERM);
    kill(pb, SIGTERM);
    waitpid(pa, NULL, 0);
    waitpid(pb, NULL, 0);
    if (getenv("CLUSTER_BENCH_KEEP") != NULL) {
        fprintf(stderr, "agents' logs kept in %s\n", dir);
    } else {
        unlink(la);
        unlink(lb);
        rmdir(dir);
    }
    return 0;
}
