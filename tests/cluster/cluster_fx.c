/*
 * cluster_fx.c: the two-agent fixture of the cluster tests.
 */
#include "cluster_fx.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

struct cluster_fx cfx;

void cfx_start_agent(int i, const char *urls)
{
    const char *args[] = {"--cluster", urls, "--cluster-ttl", cfx.ttl,
                          "--config", "/dev/null", NULL};

    cfx.pid[i] = syncd_spawn(cfx.sock[i], cfx.log[i], args);
    cr_assert(gt(int, cfx.pid[i], 0));
    cfx.killed[i] = false;
    cr_assert(syncd_wait_ready(cfx.sock[i], cfx.pid[i], 10000),
              "agent %d did not start (see %s)", i, cfx.log[i]);
}

static void cfx_init_ttl(const char *ttl)
{
    int i;

    cfx.ttl = ttl;
    /* Clients see SYNC_ECONN when their agent goes (the chaos workers
     * connect again themselves); test_cluster_reconnect turns it on. */
    setenv("SYNCD_RECONNECT", "0", 0);
    cfx.urls = getenv("SYNCD_ETCD_URLS");
    if (cfx.urls == NULL || cfx.urls[0] == '\0')
        cr_skip_test("SYNCD_ETCD_URLS is not set: run this test through "
                     "tests/cluster/etcd_cluster.sh (ctest does)");
    snprintf(cfx.dir, sizeof(cfx.dir), "/tmp/syncd-cfx.XXXXXX");
    cr_assert(ne(ptr, mkdtemp(cfx.dir), NULL));
    snprintf(cfx.prefix, sizeof(cfx.prefix), "cluster/%d/", (int)getpid());
    for (i = 0; i <= CFX_LOSSY; i++) {
        snprintf(cfx.sock[i], sizeof(cfx.sock[i]), "%s/%c.sock", cfx.dir,
                 'a' + i);
        snprintf(cfx.log[i], sizeof(cfx.log[i]), "%s/%c.log", cfx.dir,
                 'a' + i);
    }
    for (i = 0; i < CFX_AGENTS; i++)
        cfx_start_agent(i, cfx.urls);
}

void cfx_init(void)
{
    cfx_init_ttl(CFX_TTL);
}

void cfx_init_default_ttl(void)
{
    cfx_init_ttl("5");
}

/* Start the proxy in front of port target: the port it listens on. */
static int cfx_start_proxy(int target, double drop_s, const char *m1,
                           const char *m2)
{
    char tport[16], secs[32], line[32];
    int fd[2], n = 0, port;
    ssize_t r;
    pid_t pid;

    snprintf(tport, sizeof(tport), "%d", target);
    snprintf(secs, sizeof(secs), "%.3f", drop_s);
    snprintf(cfx.proxy_log, sizeof(cfx.proxy_log), "%s/proxy.log", cfx.dir);
    cr_assert(eq(int, pipe(fd), 0));
    pid = fx_fork();
    cr_assert(ge(int, pid, 0));
    if (pid == 0) {
        int log = open(cfx.proxy_log, O_WRONLY | O_CREAT | O_APPEND, 0600);

        dup2(fd[1], 1);
        if (log >= 0)
            dup2(log, 2);
        close(fd[0]);
        execlp("python3", "python3", LOSSY_PROXY, tport, secs, m1, m2,
               (char *)NULL);
        _exit(127);
    }
    close(fd[1]);
    cfx.proxy_pid = pid;
    while (n < (int)sizeof(line) - 1 &&
           (r = read(fd[0], line + n, 1)) == 1 && line[n] != '\n')
        n++;
    close(fd[0]);
    line[n] = '\0';
    port = atoi(line);
    cr_assert(gt(int, port, 0), "lossy_proxy.py did not start (see %s)",
              cfx.proxy_log);
    return port;
}

void cfx_start_lossy_agent(double drop_s, bool alone, const char *match1,
                           const char *match2)
{
    char urls[512];
    const char *rest = strchr(cfx.urls, ',');
    int port = 0;

    /* The first member's port: "http://127.0.0.1:PORT,..." */
    cr_assert(ne(ptr, (void *)rest, NULL));
    for (const char *p = rest; p > cfx.urls; p--)
        if (*p == ':') {
            port = atoi(p + 1);
            break;
        }
    cr_assert(gt(int, port, 0), "no port in %s", cfx.urls);
    port = cfx_start_proxy(port, drop_s, match1, match2);
    snprintf(urls, sizeof(urls), "http://127.0.0.1:%d%s", port,
             alone ? "" : rest);
    cfx_start_agent(CFX_LOSSY, urls);
}

void cfx_start_keepalive_losing_agent(void)
{
    cfx_start_lossy_agent(2.7, true, "/v3/lease/keepalive", NULL);
}

void cfx_await_lease_given_up(void)
{
    double t0 = fx_now();

    while (!file_contains(cfx.log[CFX_LOSSY], "given up") &&
           fx_now() - t0 < 10)
        fx_sleep_ms(20);
    cr_assert(cfx_proxy_dropped(), "no keepalive answer was dropped");
    cr_assert(file_contains(cfx.log[CFX_LOSSY], "given up"),
              "the agent kept its lease (see %s)", cfx.log[CFX_LOSSY]);
    /* The drops end 0.3 s after the give-up (at most): then a keepalive
     * of the new lease is answered. */
    fx_sleep_ms(1500);
}

bool cfx_proxy_dropped(void)
{
    return cfx.proxy_pid > 0 && file_contains(cfx.proxy_log, "dropped");
}

void cfx_kill_agent(int i)
{
    cr_assert(eq(int, kill(cfx.pid[i], SIGKILL), 0));
    (void)fx_waitpid(cfx.pid[i], 5000);
    cfx.killed[i] = true;
}

static bool cfx_log_clean(int i)
{
    return !file_contains(cfx.log[i], "ERROR: AddressSanitizer") &&
           !file_contains(cfx.log[i], "ERROR: LeakSanitizer") &&
           !file_contains(cfx.log[i], "runtime error:");
}

void cfx_fini(void)
{
    bool ok = true;
    int i, code;
    char cmd[200];

    if (cfx.dir[0] == '\0')
        return;
    if (cfx.proxy_pid > 0) {
        kill(cfx.proxy_pid, SIGKILL);
        (void)fx_waitpid(cfx.proxy_pid, 5000);
    }
    for (i = 0; i <= CFX_LOSSY; i++) {
        if (cfx.killed[i] || cfx.pid[i] <= 0)
            continue;
        kill(cfx.pid[i], SIGTERM);
        code = fx_waitpid(cfx.pid[i], 15000);
        if (code != 0) {
            fprintf(stderr, "cluster fixture: agent %d exited with %d\n", i,
                    code);
            ok = false;
        }
    }
    for (i = 0; i <= CFX_LOSSY; i++)
        if (cfx.pid[i] > 0 && !cfx_log_clean(i)) {
            fprintf(stderr, "cluster fixture: sanitizer report in %s\n",
                    cfx.log[i]);
            ok = false;
        }
    if (!ok) {
        for (i = 0; i <= CFX_LOSSY && cfx.pid[i] > 0; i++) {
            snprintf(cmd, sizeof(cmd), "tail -20 %s >&2", cfx.log[i]);
            (void)system(cmd);
        }
        abort();
    }
    /* $SYNCD_CFX_KEEP: the agents' and the proxy's logs stay, to read
     * after a failure. */
    if (getenv("SYNCD_CFX_KEEP") != NULL) {
        fprintf(stderr, "cluster fixture: logs kept in %s\n", cfx.dir);
        return;
    }
    snprintf(cmd, sizeof(cmd), "rm -rf %s", cfx.dir);
    (void)system(cmd);
}

sync_client *cfx_connect_nofail(int i)
{
    sync_client *c = NULL;

    return sync_connect(cfx.sock[i], &c) == 0 ? c : NULL;
}

sync_client *cfx_connect(int i)
{
    sync_client *c = cfx_connect_nofail(i);

    cr_assert(ne(ptr, c, NULL), "cannot connect to agent %d", i);
    return c;
}

const char *cfx_name(const char *base)
{
    static char bufs[4][160];
    static int next;
    char *b = bufs[next++ % 4];

    snprintf(b, sizeof(bufs[0]), "%s%s", cfx.prefix, base);
    return b;
}
