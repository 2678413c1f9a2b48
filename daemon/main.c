/*
 * main.c: syncd's entry point: settings, the listening socket (our own or
 * systemd's), signals, and the run loop.  Everything else lives in
 * config.c, service.c, server.c and below.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "cluster/cluster.h"
#include "config.h"
#include "dispatch.h"
#include "grace.h"
#include "lockcache.h"
#include "log.h"
#include "server.h"
#include "service.h"
#include "session.h"
#include "sockpath.h"
#include "store.h"
#include "syncclient.h"

static struct config cfg;
static struct store store;
static struct grace grace;
static uv_signal_t sig_term, sig_int, sig_hup;

/* The default root path lives in /run/syncd, which may not exist yet. */
static void ensure_socket_dir(const char *path)
{
    if (strcmp(path, SOCKPATH_SYSTEM) == 0 &&
        mkdir("/run/syncd", 0755) != 0 && errno != EEXIST)
        log_warn("mkdir /run/syncd");
}

static void on_stop_signal(uv_signal_t *h, int signum)
{
    struct server *srv = h->data;

    log_info("received %s", strsignal(signum));
    service_stopping();
    /* The holds of the clients about to be closed stay in the file: they
     * reclaim them from the next start (systemctl restart).  Lent locks
     * come back first, so that one free in its client's page is kept as
     * free, not as a hold nobody will reclaim (which would keep others
     * waiting for the grace period and then tell them owner died). */
    if (srv->store != NULL) {
        lockcache_reclaim_all(srv);
        store_freeze(srv->store);
    }
    if (srv->grace != NULL)
        grace_close(srv->grace);
    server_shutdown(srv);
}

static void on_hup(uv_signal_t *h, int signum)
{
    struct server *srv = h->data;
    struct syncd_limits limits = srv->limits;
    char report[800];

    (void)signum;
    service_reloading(0);
    if (config_reload(&cfg, &limits, report, sizeof(report)) == 0) {
        server_set_limits(srv, &limits);
        log_info("SIGHUP: re-read %s: %s", cfg.config_file, report);
    } else {
        log_warnx("SIGHUP: %s is invalid; limits unchanged", cfg.config_file);
    }
    service_reloading(1);
}

static void on_cluster_stopped(void *arg)
{
    (void)arg;
    uv_close((uv_handle_t *)&sig_term, NULL);
    uv_close((uv_handle_t *)&sig_int, NULL);
    uv_close((uv_handle_t *)&sig_hup, NULL);
}

static void on_finish(struct server *srv)
{
    /* Every client is gone (undo permits given back): the last commit. */
    if (srv->store != NULL) {
        store_close(srv->store);
        log_info("state: saved to %s (epoch %llu)", cfg.state_dir,
                 (unsigned long long)store.epoch);
        srv->store = NULL;
    }
    service_watchdog_stop();
    /* The leases of the clients that left are revoked before we go. */
    if (srv->cluster != NULL)
        cluster_stop(srv->cluster, on_cluster_stopped, NULL);
    else
        on_cluster_stopped(NULL);
}

/* --cluster: become etcd's client for cluster/ names.  0 or -1 (logged). */
static int start_cluster(struct server *srv)
{
    struct cluster_config cc = {
        .urls = cfg.cluster, .ttl_s = cfg.cluster_ttl,
        .tls = {.cert = cfg.cluster_cert[0] ? cfg.cluster_cert : NULL,
                .key = cfg.cluster_key[0] ? cfg.cluster_key : NULL,
                .cacert = cfg.cluster_cacert[0] ? cfg.cluster_cacert : NULL}};
    const char *why = NULL;
    int rv;

    if (cfg.cluster[0] == '\0')
        return 0;
    rv = cluster_start(srv, &cc, &why);
    if (rv != 0)
        log_error("cannot start the cluster backend: %s",
                  why ? why : sync_strerror(rv));
    return rv == 0 ? 0 : -1;
}

static void start_signals(uv_loop_t *loop, struct server *srv)
{
    uv_signal_init(loop, &sig_term);
    uv_signal_init(loop, &sig_int);
    uv_signal_init(loop, &sig_hup);
    sig_term.data = sig_int.data = sig_hup.data = srv;
    uv_signal_start(&sig_term, on_stop_signal, SIGTERM);
    uv_signal_start(&sig_int, on_stop_signal, SIGINT);
    uv_signal_start(&sig_hup, on_hup, SIGHUP);
}

/* store->client_id_of: the Hello.client_id of session owner. */
static bool client_id_of(void *arg, uint64_t owner, uint8_t id[16])
{
    struct session *s = server_find_session(arg, owner);

    if (s == NULL || !s->has_client_id)
        return false;
    memcpy(id, s->client_id, 16);
    return true;
}

/* Restore the state directory's objects, or say the daemon keeps them
 * in memory.  0, or -1 when it must not start (logged). */
static int start_state(struct server *srv)
{
    if (cfg.state_dir[0] == '\0') {
        log_info("state: in memory only (no --state-dir): a restart "
                 "forgets every object");
        /* Durability settings that cannot apply: say so, not nothing. */
        if (cfg.fsync != STORE_FSYNC_BATCH || cfg.fsync_interval_ms != 100 ||
            cfg.grace_ms != GRACE_DEFAULT_MS)
            log_warnx("config: fsync, fsync-interval and grace-ms have no "
                      "effect without a state directory (--state-dir)");
        return 0;
    }
    grace_init(&grace, &srv->registry);
    if (store_open(&store, cfg.state_dir, cfg.fsync, cfg.fsync_interval_ms,
                   srv->loop, &srv->registry, &grace) != 0)
        return -1;
    store.client_id_of = client_id_of;
    store.client_id_arg = srv;
    srv->store = &store;
    srv->grace = &grace;
    srv->state_dir = cfg.state_dir;
    log_info("state: %s, epoch %llu, %u object(s) and %u hold(s) restored, "
             "%u undo permit(s) kept, fsync %s",
             cfg.state_dir, (unsigned long long)store.epoch, store.loaded,
             store.holds_loaded, store.permits_loaded,
             store_fsync_name(cfg.fsync));
    if (grace_start(&grace, srv->loop, cfg.grace_ms) != 0) {
        log_error("cannot start the grace period's timer");
        return -1;
    }
    return 0;
}

/* Listen on systemd's socket when activated, else on our own path.
 * 0 or a SYNC_E* code (the cause is logged). */
static int start_listening(struct server *srv)
{
    int fd = service_listen_fd();
    int rv;

    if (fd >= 0)
        return server_listen_fd(srv, fd);
    if (cfg.socket_path[0] == '\0' &&
        sockpath_resolve(cfg.socket_path, sizeof(cfg.socket_path), true,
                         NULL) != 0) {
        log_error("default socket path too long");
        return SYNC_EINVAL;
    }
    ensure_socket_dir(cfg.socket_path);
    rv = server_listen(srv, cfg.socket_path, cfg.socket_mode);
    if (rv != 0)
        return rv;
    return server_chown_socket(srv, cfg.socket_uid, cfg.socket_gid);
}

int main(int argc, char **argv)
{
    static struct server srv; /* large: holds the shared read buffer */
    uv_loop_t *loop = uv_default_loop();
    char status[160];

    config_load(&cfg, argc, argv);
    log_init(cfg.log_level, getenv("JOURNAL_STREAM") == NULL);
    signal(SIGPIPE, SIG_IGN);
    if (server_init(&srv, loop, &cfg.limits, &dispatch_handler) != 0) {
        log_error("cannot start: the event loop's timers and checks "
                  "could not be initialised");
        return 1;
    }
    srv.on_finish = on_finish;
    srv.lock_cache_off = cfg.lock_cache_off;
    if (start_state(&srv) != 0 || start_cluster(&srv) != 0)
        return 1;
    /* Before the socket exists: a SIGTERM sent as soon as clients can
     * connect must find its handler (libuv runs it from uv_run). */
    start_signals(loop, &srv);
    if (start_listening(&srv) != 0)
        return 1;
    if (service_watchdog_start(loop) != 0)
        log_warnx("could not start the watchdog timer");
    snprintf(status, sizeof(status), "listening on %s",
             srv.socket_path[0] ? srv.socket_path : srv.activated_path);
    log_info("syncd %s %s (pid %d)", SYNCD_VERSION, status, (int)getpid());
    service_ready(status);
    uv_run(loop, UV_RUN_DEFAULT);
    server_fini(&srv);
    grace_fini(&grace);
    uv_loop_close(loop);
    log_info("stopped");
    return 0;
}
