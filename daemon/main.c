/*
 * main.c: syncd's command line, socket-path resolution, signals and the run
 * loop.  Everything else lives in server.c and below.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "syncd_limits.h"
#include "log.h"
#include "server.h"
#include "syncclient.h"

struct options {
    char socket_path[PATH_MAX];
    unsigned socket_mode;
    struct syncd_limits limits;
    enum log_level log_level;
};

static void usage(FILE *f)
{
    fprintf(f,
"Usage: syncd [OPTIONS]\n"
"Serve named Locks, Semaphores, BoundedSemaphores and Events to processes\n"
"over a Unix socket.  Runs in the foreground and logs to stderr.\n"
"\n"
"  -s, --socket PATH        socket to listen on (default: $SYNCD_SOCKET, else\n"
"                           /run/syncd/syncd.sock for root, else\n"
"                           $XDG_RUNTIME_DIR/syncd.sock or /tmp/syncd-$UID.sock)\n"
"      --socket-mode MODE   octal permissions of the socket file (0660)\n"
"      --max-frame BYTES    largest request frame (65536)\n"
"      --max-objects N      named objects in the daemon (1000000)\n"
"      --max-handles N      open handles per client (4096)\n"
"      --max-waits N        pending waits per client (1024)\n"
"      --max-name BYTES     longest object name, at most 255 (255)\n"
"      --max-clients N      connected clients (16384)\n"
"      --max-backlog BYTES  unread reply bytes per client before it is\n"
"                           disconnected (4194304)\n"
"  -v, --verbose            log every connection and object creation\n"
"  -q, --quiet              log warnings and errors only\n"
"  -h, --help               show this help\n"
"  -V, --version            show the version\n"
"\n"
"Exit status: 0 after SIGTERM/SIGINT, 1 on a start-up error, 2 on usage.\n");
}

/* Parse a decimal limit in [1, max]; exits with status 2 when invalid. */
static uint32_t parse_limit(const char *opt, const char *arg, uint32_t max)
{
    char *end;
    unsigned long v;

    errno = 0;
    v = strtoul(arg, &end, 10);
    if (errno != 0 || *end != '\0' || arg[0] == '-' || v == 0 || v > max) {
        fprintf(stderr, "syncd: --%s: expected a number from 1 to %u, got "
                        "'%s'\n", opt, max, arg);
        exit(2);
    }
    return (uint32_t)v;
}

static void parse_args(int argc, char **argv, struct options *o)
{
    static const struct option longopts[] = {
        {"socket", required_argument, NULL, 's'},
        {"socket-mode", required_argument, NULL, 'm'},
        {"max-frame", required_argument, NULL, 'F'},
        {"max-objects", required_argument, NULL, 'O'},
        {"max-handles", required_argument, NULL, 'H'},
        {"max-waits", required_argument, NULL, 'W'},
        {"max-name", required_argument, NULL, 'N'},
        {"max-clients", required_argument, NULL, 'C'},
        {"max-backlog", required_argument, NULL, 'B'},
        {"verbose", no_argument, NULL, 'v'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    struct syncd_limits *l = &o->limits;
    char *end;
    int c;

    while ((c = getopt_long(argc, argv, "s:vqhV", longopts, NULL)) != -1) {
        switch (c) {
        case 's':
            snprintf(o->socket_path, sizeof(o->socket_path), "%s", optarg);
            break;
        case 'm':
            o->socket_mode = (unsigned)strtoul(optarg, &end, 8);
            if (*end != '\0' || o->socket_mode > 0777) {
                fprintf(stderr, "syncd: --socket-mode: bad mode '%s'\n",
                        optarg);
                exit(2);
            }
            break;
        case 'F': l->max_frame = parse_limit("max-frame", optarg, 1u << 26);
            break;
        case 'O': l->max_objects = parse_limit("max-objects", optarg,
                                               UINT32_MAX);
            break;
        case 'H': l->max_handles = parse_limit("max-handles", optarg,
                                               1u << 24);
            break;
        case 'W': l->max_waits = parse_limit("max-waits", optarg, 1u << 24);
            break;
        case 'N': l->max_name = parse_limit("max-name", optarg,
                                            SYNC_NAME_MAX);
            break;
        case 'C': l->max_clients = parse_limit("max-clients", optarg,
                                               UINT32_MAX);
            break;
        case 'B': l->max_write_backlog = parse_limit("max-backlog", optarg,
                                                     UINT32_MAX);
            break;
        case 'v': o->log_level = LOG_LEVEL_DEBUG; break;
        case 'q': o->log_level = LOG_LEVEL_WARN; break;
        case 'h': usage(stdout); exit(0);
        case 'V': printf("syncd %s (protocol 1)\n", SYNCD_VERSION); exit(0);
        default: usage(stderr); exit(2);
        }
    }
    if (optind < argc) {
        fprintf(stderr, "syncd: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        exit(2);
    }
}

/* The default root path lives in /run/syncd, which may not exist yet. */
static void ensure_socket_dir(const char *path)
{
    if (strcmp(path, "/run/syncd/syncd.sock") == 0 &&
        mkdir("/run/syncd", 0755) != 0 && errno != EEXIST)
        log_warn("mkdir /run/syncd");
}

static void on_signal(uv_signal_t *h, int signum)
{
    struct server *srv = h->data;

    log_info("received %s", strsignal(signum));
    server_shutdown(srv);
}

static uv_signal_t sig_term, sig_int;

static void on_finish(struct server *srv)
{
    (void)srv;
    uv_close((uv_handle_t *)&sig_term, NULL);
    uv_close((uv_handle_t *)&sig_int, NULL);
}

int main(int argc, char **argv)
{
    static struct server srv; /* large: holds the shared read buffer */
    struct options o = {.socket_mode = 0660, .log_level = LOG_LEVEL_INFO,
                        .limits = SYNCD_DEFAULT_LIMITS};
    uv_loop_t *loop = uv_default_loop();

    parse_args(argc, argv, &o);
    log_init(o.log_level, getenv("JOURNAL_STREAM") == NULL);
    if (o.socket_path[0] == '\0' &&
        sync_default_socket_path(o.socket_path, sizeof(o.socket_path)) != 0) {
        log_error("default socket path too long");
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    ensure_socket_dir(o.socket_path);
    if (server_init(&srv, loop, &o.limits) != 0 ||
        server_listen(&srv, o.socket_path, o.socket_mode) != 0)
        return 1;
    srv.on_finish = on_finish;
    uv_signal_init(loop, &sig_term);
    uv_signal_init(loop, &sig_int);
    sig_term.data = sig_int.data = &srv;
    uv_signal_start(&sig_term, on_signal, SIGTERM);
    uv_signal_start(&sig_int, on_signal, SIGINT);
    log_info("syncd %s listening on %s (pid %d)", SYNCD_VERSION,
             o.socket_path, (int)getpid());
    uv_run(loop, UV_RUN_DEFAULT);
    server_fini(&srv);
    uv_loop_close(loop);
    log_info("stopped");
    return 0;
}
