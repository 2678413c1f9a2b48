/*
 * cluster_fx.c: the two-agent fixture of the cluster tests.
 */
#include "cluster_fx.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

struct cluster_fx cfx;

void cfx_start_agent(int i, const char *urls)
{
    const char *args[] = {"--cluster", urls, "--cluster-ttl", CFX_TTL,
                          "--config", "/dev/null", NULL};

    cfx.pid[i] = syncd_spawn(cfx.sock[i], cfx.log[i], args);
    cr_assert(gt(int, cfx.pid[i], 0));
    cfx.killed[i] = false;
    cr_assert(syncd_wait_ready(cfx.sock[i], cfx.pid[i], 10000),
              "agent %d did not start (see %s)", i, cfx.log[i]);
}

void cfx_init(void)
{
    int i;

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
    for (i = 0; i < CFX_AGENTS; i++) {
        snprintf(cfx.sock[i], sizeof(cfx.sock[i]), "%s/%c.sock", cfx.dir,
                 'a' + i);
        snprintf(cfx.log[i], sizeof(cfx.log[i]), "%s/%c.log", cfx.dir,
                 'a' + i);
        cfx_start_agent(i, cfx.urls);
    }
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
    for (i = 0; i < CFX_AGENTS; i++) {
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
    for (i = 0; i < CFX_AGENTS; i++)
        if (!cfx_log_clean(i)) {
            fprintf(stderr, "cluster fixture: sanitizer report in %s\n",
                    cfx.log[i]);
            ok = false;
        }
    if (!ok) {
        for (i = 0; i < CFX_AGENTS; i++) {
            snprintf(cmd, sizeof(cmd), "tail -20 %s >&2", cfx.log[i]);
            (void)system(cmd);
        }
        abort();
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
