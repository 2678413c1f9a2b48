/*
 * conf_on_cluster.c: the names and the daemon of the conformance
 * scenarios run on cluster/ names (conf_on_cluster.h).
 */
#include "conf_on_cluster.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <criterion/criterion.h>

/* Set by the init, before any worker forks: the children keep it. */
static char conf_prefix[48];

const char *conf_cluster_name(const char *name)
{
    static __thread char bufs[8][320];
    static __thread unsigned next;
    char *b;

    if (name == NULL)
        return NULL;
    b = bufs[next++ % 8];
    snprintf(b, sizeof(bufs[0]), "%s%s", conf_prefix, name);
    return b;
}

void conf_cluster_fixture_init(void)
{
    const char *urls = getenv("SYNCD_ETCD_URLS");

    if (urls == NULL || urls[0] == '\0')
        cr_skip_test("SYNCD_ETCD_URLS is not set: run this test through "
                     "tests/cluster/etcd_cluster.sh (ctest does)");
    snprintf(conf_prefix, sizeof(conf_prefix), "cluster/c%d/", (int)getpid());
    syncd_fixture_start((const char *[]){"--cluster", urls, "--cluster-ttl",
                                         "3", "--config", "/dev/null",
                                         NULL});
}
