/*
 * config.c: one table of settings serves getopt_long, the config file
 * (inih) and --help, so a key means the same thing everywhere.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <ini.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "syncclient.h"
#include "grace.h"
#include "wire.h"

enum key {
    KEY_SOCKET, KEY_SOCKET_MODE, KEY_SOCKET_USER, KEY_SOCKET_GROUP,
    KEY_MAX_FRAME, KEY_MAX_OBJECTS, KEY_MAX_HANDLES, KEY_MAX_WAITS,
    KEY_MAX_NAME, KEY_MAX_CLIENTS, KEY_MAX_BACKLOG, KEY_LOG_LEVEL,
    KEY_STATE_DIR, KEY_FSYNC, KEY_FSYNC_INTERVAL, KEY_CLUSTER, KEY_CLUSTER_TTL,
    KEY_CLUSTER_CERT, KEY_CLUSTER_KEY, KEY_CLUSTER_CACERT, KEY_GRACE_MS,
    KEY_LOCK_CACHE,
    KEY_COUNT
};

static const struct setting {
    const char *key;
    const char *arg;
    const char *help;
    uint32_t max;           /* limits: largest value */
} settings[KEY_COUNT] = {
    [KEY_SOCKET] = {"socket", "PATH", "socket to listen on", 0},
    [KEY_SOCKET_MODE] = {"socket-mode", "MODE",
                         "octal permissions of the socket file (0660)", 0},
    [KEY_SOCKET_USER] = {"socket-user", "USER", "owner of the socket file", 0},
    [KEY_SOCKET_GROUP] = {"socket-group", "GROUP",
                          "group of the socket file (e.g. syncd)", 0},
    [KEY_MAX_FRAME] = {"max-frame", "BYTES", "largest request frame (65536)",
                       1u << 26},
    [KEY_MAX_OBJECTS] = {"max-objects", "N",
                         "named objects in the daemon (1000000)", UINT32_MAX},
    [KEY_MAX_HANDLES] = {"max-handles", "N", "open handles per client (4096)",
                         1u << 24},
    [KEY_MAX_WAITS] = {"max-waits", "N", "pending waits per client (1024)",
                       1u << 24},
    [KEY_MAX_NAME] = {"max-name", "BYTES",
                      "longest object name, at most 255 (255)", SYNC_NAME_MAX},
    [KEY_MAX_CLIENTS] = {"max-clients", "N", "connected clients (16384)",
                         UINT32_MAX},
    [KEY_MAX_BACKLOG] = {"max-backlog", "BYTES",
                         "unread reply bytes kept per client (4194304)",
                         UINT32_MAX},
    [KEY_LOG_LEVEL] = {"log-level", "LEVEL",
                       "error, warn, info (default) or debug", 0},
    [KEY_STATE_DIR] = {"state-dir", "DIR",
                       "keep objects on disk in DIR (default: in memory)", 0},
    [KEY_FSYNC] = {"fsync", "POLICY",
                   "with a state dir: always, batch (default) or never", 0},
    [KEY_FSYNC_INTERVAL] = {"fsync-interval", "MS",
                            "batch/never: commit every MS ms (100)", 0},
    [KEY_CLUSTER] = {"cluster", "URL,...",
                     "etcd members: cluster/ names live there", 0},
    [KEY_CLUSTER_TTL] = {"cluster-ttl", "SECONDS",
                         "lease of a client session in etcd (5)", 0},
    [KEY_CLUSTER_CERT] = {"cluster-cert", "FILE",
                          "TLS client certificate for etcd (PEM)", 0},
    [KEY_CLUSTER_KEY] = {"cluster-key", "FILE", "its private key (PEM)", 0},
    [KEY_CLUSTER_CACERT] = {"cluster-cacert", "FILE",
                            "CA bundle that signed the etcd members", 0},
    [KEY_GRACE_MS] = {"grace-ms", "MS",
                      "with a state dir: after a start, MS ms for clients "
                      "to reclaim their locks (5000; 0: none)", 0},
    [KEY_LOCK_CACHE] = {"lock-cache", "on|off",
                        "lend uncontended locks to their clients (on)", 0},
};

static uint32_t *config_limit(struct syncd_limits *l, enum key k)
{
    switch (k) {
    case KEY_MAX_FRAME: return &l->max_frame;
    case KEY_MAX_OBJECTS: return &l->max_objects;
    case KEY_MAX_HANDLES: return &l->max_handles;
    case KEY_MAX_WAITS: return &l->max_waits;
    case KEY_MAX_NAME: return &l->max_name;
    case KEY_MAX_CLIENTS: return &l->max_clients;
    case KEY_MAX_BACKLOG: return &l->max_write_backlog;
    default: return NULL;
    }
}

/* Whether a setting that is not a limit differs between a and b. */
static bool config_differs(const struct config *a, const struct config *b,
                           enum key k)
{
    switch (k) {
    case KEY_SOCKET: return strcmp(a->socket_path, b->socket_path) != 0;
    case KEY_SOCKET_MODE: return a->socket_mode != b->socket_mode;
    case KEY_SOCKET_USER: return a->socket_uid != b->socket_uid;
    case KEY_SOCKET_GROUP: return a->socket_gid != b->socket_gid;
    case KEY_LOG_LEVEL: return a->log_level != b->log_level;
    case KEY_STATE_DIR: return strcmp(a->state_dir, b->state_dir) != 0;
    case KEY_FSYNC: return a->fsync != b->fsync;
    case KEY_FSYNC_INTERVAL: return a->fsync_interval_ms != b->fsync_interval_ms;
    case KEY_CLUSTER: return strcmp(a->cluster, b->cluster) != 0;
    case KEY_CLUSTER_TTL: return a->cluster_ttl != b->cluster_ttl;
    case KEY_CLUSTER_CERT: return strcmp(a->cluster_cert, b->cluster_cert) != 0;
    case KEY_CLUSTER_KEY: return strcmp(a->cluster_key, b->cluster_key) != 0;
    case KEY_CLUSTER_CACERT:
        return strcmp(a->cluster_cacert, b->cluster_cacert) != 0;
    case KEY_GRACE_MS: return a->grace_ms != b->grace_ms;
    case KEY_LOCK_CACHE: return a->lock_cache_off != b->lock_cache_off;
    default: return false;
    }
}

/* Set key from text into cfg (limits into *limits).  0, or -1 with a
 * message on stderr naming `where`. */
static int config_set(struct config *cfg, struct syncd_limits *limits,
                      enum key k, const char *v, const char *where)
{
    uint32_t *lim = config_limit(limits, k);
    unsigned long n;
    char *end;

    errno = 0;
    if (lim != NULL) {
        n = strtoul(v, &end, 10);
        if (errno || *end || v[0] == '-' || n == 0 || n > settings[k].max)
            goto bad;
        if (k == KEY_MAX_FRAME && n < SYNCD_MIN_FRAME) {
            fprintf(stderr, "syncd: %s: max-frame %lu is too small: at "
                    "least %u bytes, so that a handshake and a request with "
                    "a %d-byte name fit\n", where, n, SYNCD_MIN_FRAME,
                    SYNC_NAME_MAX);
            return -1;
        }
        *lim = (uint32_t)n;
        return 0;
    }
    switch (k) {
    case KEY_SOCKET:
        if (v[0] == '\0') {
            fprintf(stderr, "syncd: %s: the socket path is empty\n", where);
            return -1;
        }
        if (strlen(v) >= sizeof(cfg->socket_path))
            goto bad;
        strcpy(cfg->socket_path, v);
        return 0;
    case KEY_SOCKET_MODE:
        n = strtoul(v, &end, 8);
        if (errno || *end || n > 0777)
            goto bad;
        cfg->socket_mode = (unsigned)n;
        return 0;
    case KEY_SOCKET_USER: {
        struct passwd *pw = getpwnam(v);
        n = strtoul(v, &end, 10);
        if (pw == NULL && (*end || errno))
            goto bad;
        cfg->socket_uid = pw ? (long)pw->pw_uid : (long)n;
        return 0;
    }
    case KEY_SOCKET_GROUP: {
        struct group *gr = getgrnam(v);
        n = strtoul(v, &end, 10);
        if (gr == NULL && (*end || errno))
            goto bad;
        cfg->socket_gid = gr ? (long)gr->gr_gid : (long)n;
        return 0;
    }
    case KEY_LOG_LEVEL:
        if (strcmp(v, "error") == 0) cfg->log_level = LOG_LEVEL_ERROR;
        else if (strcmp(v, "warn") == 0) cfg->log_level = LOG_LEVEL_WARN;
        else if (strcmp(v, "info") == 0) cfg->log_level = LOG_LEVEL_INFO;
        else if (strcmp(v, "debug") == 0) cfg->log_level = LOG_LEVEL_DEBUG;
        else goto bad;
        return 0;
    case KEY_STATE_DIR:
        if (v[0] == '\0' || strlen(v) >= sizeof(cfg->state_dir) - 16)
            goto bad;
        strcpy(cfg->state_dir, v);
        return 0;
    case KEY_FSYNC: {
        int p = store_fsync_parse(v);

        if (p < 0)
            goto bad;
        cfg->fsync = (enum store_fsync)p;
        return 0;
    }
    case KEY_FSYNC_INTERVAL:
        n = strtoul(v, &end, 10);
        if (errno || *end || v[0] == '-' || n == 0 || n > 60000)
            goto bad;
        cfg->fsync_interval_ms = (unsigned)n;
        return 0;
    case KEY_CLUSTER_TTL:
        n = strtoul(v, &end, 10);
        if (errno || *end || v[0] == '-' || n < 2 || n > 3600)
            goto bad;
        cfg->cluster_ttl = (unsigned)n;
        return 0;
    case KEY_CLUSTER:
    case KEY_CLUSTER_CERT:
    case KEY_CLUSTER_KEY:
    case KEY_CLUSTER_CACERT: {
        char *dst = k == KEY_CLUSTER        ? cfg->cluster
                    : k == KEY_CLUSTER_CERT ? cfg->cluster_cert
                    : k == KEY_CLUSTER_KEY  ? cfg->cluster_key
                                            : cfg->cluster_cacert;

        if (v[0] == '\0' || strlen(v) >= PATH_MAX)
            goto bad;
        strcpy(dst, v);
        return 0;
    }
    case KEY_GRACE_MS:
        n = strtoul(v, &end, 10);
        if (errno || *end || v[0] == '-' || v[0] == '\0' || n > 3600000)
            goto bad;
        cfg->grace_ms = (unsigned)n;
        return 0;
    case KEY_LOCK_CACHE:
        if (strcmp(v, "on") == 0 || strcmp(v, "off") == 0)
            cfg->lock_cache_off = v[1] == 'f';
        else
            goto bad;
        return 0;
    default:
        break;
    }
bad:
    fprintf(stderr, "syncd: %s: invalid %s '%s'%s\n", where, settings[k].key,
            v, lim ? " (expected a positive number within the limit)" : "");
    return -1;
}

/*
 * The config file is read with inih, through a line reader of our own:
 * inih passes no line numbers to its handler, accepts `[section]` headers
 * and `name: value` lines, and would hand us the fields of any file
 * (`--config /etc/shadow` must not print user names).  The reader checks
 * each line's shape first and stops at the first line that is not ours.
 */
struct config_file_ctx {
    struct config *cfg;
    struct syncd_limits *limits;
    FILE *f;
    int line;                   /* number of the line inih is parsing */
    bool stop;                  /* a line that is not `key = value` */
    unsigned long seen;         /* keys the file sets */
    int errors;
};

static void config_file_error(struct config_file_ctx *ctx, const char *what)
{
    fprintf(stderr, "syncd: %s:%d: %s\n", ctx->cfg->config_file, ctx->line,
            what);
    ctx->errors++;
}

/* A line is blank, a comment, or `key = value` with key in [a-z0-9_-]. */
static const char *config_line_problem(const char *p, size_t len)
{
    size_t i = strspn(p, " \t");

    if (memchr(p, '\0', len) != NULL)
        return "NUL byte; not a syncd config file";
    if (p[i] == '\0' || p[i] == '\n' || p[i] == '\r' || p[i] == '#' ||
        p[i] == ';')
        return NULL;
    if (p[i] == '[')
        return "[section] headers are not allowed (one flat list of keys)";
    if (i > 0)
        return "indented line; expected `key = value`";
    i = strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                  "0123456789_-");
    i += strspn(p + i, " \t");
    if (i == 0 || p[i] != '=')
        return "not a `key = value` line; not a syncd config file?";
    return NULL;
}

static char *config_reader(char *str, int num, void *stream)
{
    struct config_file_ctx *ctx = stream;
    const char *problem;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;

    if (ctx->stop)
        return NULL;
    n = getline(&line, &cap, ctx->f);
    if (n < 0) {
        free(line);
        return NULL;
    }
    ctx->line++;
    problem = config_line_problem(line, (size_t)n);
    if (problem == NULL && n >= num)
        problem = "line too long";
    if (problem != NULL) {
        config_file_error(ctx, problem);
        ctx->stop = true;
        free(line);
        return NULL;
    }
    memcpy(str, line, (size_t)n + 1);
    free(line);
    return str;
}

/* Whether a config file's key names setting key: '_' and '-' are one
 * (`state_dir` is `state-dir`, the way the issue and other daemons' files
 * spell it). */
static bool config_key_is(const char *name, const char *key)
{
    for (; *name != '\0' && *key != '\0'; name++, key++)
        if (*name != *key && !(*name == '_' && *key == '-'))
            return false;
    return *name == *key;
}

static int config_ini_cb(void *user, const char *section, const char *name,
                         const char *value)
{
    struct config_file_ctx *ctx = user;
    char where[PATH_MAX + 32];
    int k;

    (void)section; /* always "": the reader refuses headers */
    snprintf(where, sizeof(where), "%s:%d", ctx->cfg->config_file,
             ctx->line);
    for (k = 0; k < KEY_COUNT; k++) {
        if (!config_key_is(name, settings[k].key))
            continue;
        ctx->seen |= 1ul << k;
        /* Command-line flags win over the file. */
        if (ctx->cfg->set_by_flag & (1ul << k))
            return 1;
        if (config_set(ctx->cfg, ctx->limits, k, value, where) != 0)
            ctx->errors++;
        return 1;
    }
    /* The reader allowed only [A-Za-z0-9_-] in a key: safe to print. */
    fprintf(stderr, "syncd: %s: unknown key '%.64s'\n", where, name);
    ctx->errors++;
    return 1;
}

/* Read the config file into cfg/limits; *seen gets the keys it sets.
 * 0, or -1 with messages on stderr. */
static int config_read_file(struct config *cfg, struct syncd_limits *limits,
                            unsigned long *seen)
{
    struct config_file_ctx ctx = {.cfg = cfg, .limits = limits};
    struct stat st;
    int rv, fd;

    if (cfg->config_file[0] == '\0')
        return 0;
    /* O_NONBLOCK: a FIFO named by mistake must not hang the start. */
    fd = open(cfg->config_file, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    ctx.f = fd >= 0 ? fdopen(fd, "r") : NULL;
    if (ctx.f == NULL) {
        if (fd >= 0)
            close(fd);
        if (!cfg->config_file_given && errno == ENOENT)
            return 0;
        fprintf(stderr, "syncd: cannot read config file %s: %s\n",
                cfg->config_file, strerror(errno));
        return -1;
    }
    /* A regular file, or /dev/null for "no settings" (the units and tests
     * use it); a directory, a FIFO or a terminal is a mistake. */
    if (fstat(fileno(ctx.f), &st) != 0 ||
        !(S_ISREG(st.st_mode) ||
          (S_ISCHR(st.st_mode) && strcmp(cfg->config_file, "/dev/null") == 0))) {
        fprintf(stderr, "syncd: config file %s is not a regular file\n",
                cfg->config_file);
        fclose(ctx.f);
        return -1;
    }
    rv = ini_parse_stream(config_reader, &ctx, config_ini_cb, &ctx);
    if (rv > 0 && !ctx.stop) {
        ctx.line = rv;
        config_file_error(&ctx, "syntax error");
    }
    fclose(ctx.f);
    if (seen != NULL)
        *seen = ctx.seen;
    return ctx.errors == 0 && rv == 0 ? 0 : -1;
}

/* Append ", key" (or "key") to a report list. */
static void config_report_add(char *buf, size_t size, const char *key)
{
    size_t len = strlen(buf);

    snprintf(buf + len, size - len, "%s%s", len ? ", " : "", key);
}

int config_reload(const struct config *cfg, struct syncd_limits *limits,
                  char *report, size_t size)
{
    struct config copy = *cfg;
    struct syncd_limits next = *limits;
    char applied[256] = "", restart[256] = "", flags[256] = "";
    unsigned long seen = 0;
    int k;

    if (config_read_file(&copy, &next, &seen) != 0)
        return -1;
    for (k = 0; k < KEY_COUNT; k++) {
        uint32_t *now = config_limit(limits, k), *then;

        if (!(seen & (1ul << k)))
            continue;
        if (cfg->set_by_flag & (1ul << k)) {
            config_report_add(flags, sizeof(flags), settings[k].key);
            continue;
        }
        then = config_limit(&next, k);
        if (now != NULL && *now != *then)
            config_report_add(applied, sizeof(applied), settings[k].key);
        else if (now == NULL && config_differs(cfg, &copy, k))
            config_report_add(restart, sizeof(restart), settings[k].key);
    }
    snprintf(report, size, "applied: %s; needs a restart: %s; "
             "kept from the command line: %s",
             applied[0] ? applied : "none", restart[0] ? restart : "none",
             flags[0] ? flags : "none");
    *limits = next;
    return 0;
}

/* One option of --help: its help starts in column 28 (on the next line
 * when the option is wider) and wraps there, within 79 columns. */
static void config_usage_line(FILE *f, const char *key, const char *arg,
                              const char *help)
{
    enum { COL = 27, WIDTH = 79 };
    int at = fprintf(f, "      --%s %s", key, arg);
    size_t n;

    while (*help != '\0') {
        if (at >= COL) {
            fputc('\n', f);
            at = 0;
        }
        fprintf(f, "%*s", COL - at, "");
        n = strlen(help);
        if (n > WIDTH - COL) {
            n = WIDTH - COL;
            while (n > 0 && help[n] != ' ')
                n--;
            if (n == 0)
                n = strcspn(help, " ");
        }
        fprintf(f, "%.*s", (int)n, help);
        at = WIDTH; /* the next piece goes on a line of its own */
        help += n;
        while (*help == ' ')
            help++;
    }
    fputc('\n', f);
}

static void config_usage(FILE *f)
{
    int k;

    fprintf(f,
"Usage: syncd [OPTIONS]\n"
"Serve named Locks, RLocks, Semaphores, BoundedSemaphores, Events,\n"
"Conditions and Barriers to processes over a Unix socket.  Runs in the\n"
"foreground and logs to stderr; under systemd it takes its socket from\n"
"socket activation (LISTEN_FDS) and reports readiness (Type=notify).\n"
"\n"
"  -s, --socket PATH        socket to listen on (default: $SYNCD_SOCKET, else\n"
"                           /run/syncd/syncd.sock for root, else\n"
"                           $XDG_RUNTIME_DIR/syncd.sock or /tmp/syncd-$UID.sock)\n"
"  -c, --config FILE        settings file, default (if it exists)\n"
"                           " CONFIG_DEFAULT_FILE "\n"
"                           `key = value` lines, keys as the long options\n"
"                           below; flags win over the file\n");
    for (k = KEY_SOCKET_MODE; k < KEY_COUNT; k++)
        config_usage_line(f, settings[k].key, settings[k].arg,
                          settings[k].help);
    fprintf(f,
"  -v, --verbose            log every connection and object creation\n"
"  -q, --quiet              log warnings and errors only\n"
"  -h, --help               show this help\n"
"  -V, --version            show the version\n"
"\n"
"Signals: SIGTERM/SIGINT stop gracefully (waiters get SYNC_ESHUTDOWN, the\n"
"socket file is removed); SIGHUP re-reads the limits from the config file\n"
"and logs which keys it applied and which need a restart.\n"
"Exit status: 0 after SIGTERM/SIGINT; 1 when it cannot start (the socket,\n"
"the event loop; the log line names the path, the call and the reason); 2\n"
"for an invalid command line or config file.\n");
}

void config_load(struct config *cfg, int argc, char **argv)
{
    struct option longopts[KEY_COUNT + 7];
    int c, k, n = 0;

    memset(cfg, 0, sizeof(*cfg));
    cfg->socket_mode = 0660;
    cfg->socket_uid = cfg->socket_gid = -1;
    cfg->limits = (struct syncd_limits)SYNCD_DEFAULT_LIMITS;
    cfg->log_level = LOG_LEVEL_INFO;
    cfg->fsync = STORE_FSYNC_BATCH;
    cfg->fsync_interval_ms = 100;
    cfg->cluster_ttl = 5;
    cfg->grace_ms = GRACE_DEFAULT_MS;
    strcpy(cfg->config_file, CONFIG_DEFAULT_FILE);
    for (k = 0; k < KEY_COUNT; k++)
        longopts[n++] = (struct option){settings[k].key, required_argument,
                                        NULL, 1000 + k};
    longopts[n++] = (struct option){"config", required_argument, NULL, 'c'};
    longopts[n++] = (struct option){"verbose", no_argument, NULL, 'v'};
    longopts[n++] = (struct option){"quiet", no_argument, NULL, 'q'};
    longopts[n++] = (struct option){"help", no_argument, NULL, 'h'};
    longopts[n++] = (struct option){"version", no_argument, NULL, 'V'};
    longopts[n++] = (struct option){NULL, 0, NULL, 0};
    while ((c = getopt_long(argc, argv, "s:c:vqhV", longopts, NULL)) != -1) {
        if (c == 's')
            c = 1000 + KEY_SOCKET;
        if (c >= 1000 && c < 1000 + KEY_COUNT) {
            if (config_set(cfg, &cfg->limits, c - 1000, optarg,
                           "command line") != 0)
                exit(2);
            cfg->set_by_flag |= 1ul << (c - 1000);
            continue;
        }
        switch (c) {
        case 'c':
            snprintf(cfg->config_file, sizeof(cfg->config_file), "%s",
                     optarg);
            cfg->config_file_given = true;
            break;
        case 'v': cfg->log_level = LOG_LEVEL_DEBUG;
            cfg->set_by_flag |= 1ul << KEY_LOG_LEVEL; break;
        case 'q': cfg->log_level = LOG_LEVEL_WARN;
            cfg->set_by_flag |= 1ul << KEY_LOG_LEVEL; break;
        case 'h': config_usage(stdout); exit(0);
        case 'V':
            printf("syncd %s (protocol %d, serves %d to %d)\n", SYNCD_VERSION,
                   WIRE_PROTOCOL_VERSION, WIRE_PROTOCOL_VERSION_MIN,
                   WIRE_PROTOCOL_VERSION);
            exit(0);
        default: config_usage(stderr); exit(2);
        }
    }
    if (optind < argc) {
        fprintf(stderr, "syncd: unexpected argument '%s'\n", argv[optind]);
        exit(2);
    }
    if (config_read_file(cfg, &cfg->limits, NULL) != 0)
        exit(2);
}
