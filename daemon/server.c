/*
 * server.c: the listening socket and the shared daemon state.  Shutdown
 * finishes in exactly one place, server_maybe_finish(), once the listener,
 * the deadline timer and every session have closed.
 */
#include "server.h"
#include "lockcache.h"
#include "xalloc.h"

#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "log.h"
#include "session.h"
#include "syncclient.h"

/* Objects stamp "held since" with the loop's millisecond clock. */
static uint64_t server_clock(void *loop)
{
    return uv_now(loop);
}

/*
 * After each loop iteration's callbacks, write every session's replies:
 * one write per session however many replies (a broadcast to 100 waiters
 * of one client is one syscall, not 100).
 */
static void server_flush(struct server *srv)
{
    while (!list_empty(&srv->dirty))
        session_flush(container_of(srv->dirty.next, struct session, dirty));
}

static void server_flush_cb(uv_check_t *h)
{
    server_flush(h->data);
}

/*
 * glibc keeps freed memory in its heap: after 5,000 clients came and went
 * the daemon stayed at its high-water mark (RSS 3.2 MB -> 11.5 MB, flat
 * afterwards).  When the loop is about to sleep with at most half the
 * sessions of its peak, and at least SERVER_TRIM_DROP fewer, hand the free
 * pages back (malloc_trim also releases free pages inside the heap): RSS
 * 3.1 MB -> 3.3 MB after the same storm.  It runs once per such drop, not
 * per iteration; measured 2.3 ms for the one trim after 5,000 sessions.
 */
#define SERVER_TRIM_DROP 256u

static void server_maybe_trim(struct server *srv)
{
    if (srv->n_sessions > srv->sessions_peak) {
        srv->sessions_peak = srv->n_sessions;
        return;
    }
    if (srv->sessions_peak - srv->n_sessions < SERVER_TRIM_DROP ||
        srv->n_sessions > srv->sessions_peak / 2)
        return;
    malloc_trim(0);
    srv->sessions_peak = srv->n_sessions;
}

/* Replies made by timers (timeouts) must not wait for the next I/O: the
 * prepare phase runs after timers and before the loop blocks in poll. */
static void server_flush_pre_cb(uv_prepare_t *h)
{
    server_flush(h->data);
    server_maybe_trim(h->data);
}

int server_init(struct server *srv, uv_loop_t *loop,
                const struct syncd_limits *limits,
                const struct session_handler *handler)
{
    int rv;

    memset(srv, 0, sizeof(*srv));
    srv->loop = loop;
    srv->limits = *limits;
    srv->handler = handler;
    list_init(&srv->sessions);
    list_init(&srv->dirty);
    list_init(&srv->free_pending);
    registry_init(&srv->registry, limits->max_objects, limits->max_name);
    rv = deadlines_init(&srv->deadlines, loop);
    if (rv != 0)
        goto err_registry;
    rv = sync_error_from_errno(-uv_check_init(loop, &srv->flusher));
    if (rv != 0)
        goto err_timer;
    rv = sync_error_from_errno(-uv_prepare_init(loop, &srv->flusher_pre));
    if (rv != 0)
        goto err_check;
    srv->timer_open = true;
    srv->flusher.data = srv;
    srv->flusher_open = true;
    uv_check_start(&srv->flusher, server_flush_cb);
    srv->flusher_pre.data = srv;
    srv->flusher_pre_open = true;
    uv_prepare_start(&srv->flusher_pre, server_flush_pre_cb);
    /* The flushers alone must not keep the loop running. */
    uv_unref((uv_handle_t *)&srv->flusher);
    uv_unref((uv_handle_t *)&srv->flusher_pre);
    {
        struct reply rp = {.id = 0, .code = SYNC_ENOMEM,
                           .message = "out of memory"};

        srv->enomem_len = codec_encode_reply(&rp, srv->enomem_frame,
                                             sizeof(srv->enomem_frame));
    }
    srv->started_ms = uv_now(loop);
    srv->registry.env.clock = server_clock;
    srv->registry.env.clock_arg = loop;
    srv->registry.env.reclaim = lockcache_reclaim_cb;
    srv->registry.env.reclaim_arg = srv;
    return 0;

    /* Handles close when the caller next runs the loop. */
err_check:
    uv_close((uv_handle_t *)&srv->flusher, NULL);
err_timer:
    deadlines_close(&srv->deadlines, NULL);
err_registry:
    registry_fini(&srv->registry);
    return rv;
}

static void server_refuse_closed(uv_handle_t *h)
{
    struct server *srv = h->data;

    srv->refuse_busy = false;
    if (srv->refuse_waiting) {
        srv->refuse_waiting = false;
        /* The waiting connection gets a session now if memory allows. */
        if (srv->listening && !srv->closing)
            (void)session_accept(srv);
    }
    server_maybe_finish(srv);
}

void server_refuse_connection(struct server *srv)
{
    uv_buf_t buf;

    if (srv->refuse_busy) {
        srv->refuse_waiting = true;
        return;
    }
    if (uv_pipe_init(srv->loop, &srv->refuse_pipe, 0) != 0)
        return;
    srv->refuse_pipe.data = srv;
    srv->refuse_busy = true;
    if (uv_accept((uv_stream_t *)&srv->listener,
                  (uv_stream_t *)&srv->refuse_pipe) == 0 &&
        srv->enomem_len > 0) {
        buf = uv_buf_init((char *)srv->enomem_frame,
                          (unsigned)srv->enomem_len);
        (void)uv_try_write((uv_stream_t *)&srv->refuse_pipe, &buf, 1);
    }
    uv_close((uv_handle_t *)&srv->refuse_pipe, server_refuse_closed);
}

static void server_connection_cb(uv_stream_t *listener, int status)
{
    struct server *srv = listener->data;
    int rv;

    if (status < 0) {
        log_warnx("accept: %s", uv_strerror(status));
        return;
    }
    rv = session_accept(srv);
    if (rv != 0 && rv != SYNC_ELIMIT)
        log_warnx("accept: %s", sync_strerror(rv));
}

/*
 * Another daemon is alive at path when a connect succeeds; a socket file
 * nobody listens on (ECONNREFUSED) is stale.  Returns 1 live, 0 not.
 */
static int server_probe_live(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd, rv;

    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return 0;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    rv = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
    close(fd);
    return rv == 0;
}

/*
 * The directory that will hold the socket must exist and be a directory:
 * uv_pipe_bind() reports a missing one as "permission denied".
 */
static int server_check_dir(const char *path)
{
    char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
    const char *slash = strrchr(path, '/');
    struct stat st;

    if (slash == NULL)
        return 0;
    snprintf(dir, sizeof(dir), "%.*s", slash == path ? 1 : (int)(slash - path),
             path);
    if (stat(dir, &st) != 0) {
        log_error("cannot listen on %s: stat %s: %s%s", path, dir,
                  strerror(errno),
                  errno == ENOENT ? " (create the directory first)" : "");
        return SYNC_EINVAL;
    }
    if (!S_ISDIR(st.st_mode)) {
        log_error("cannot listen on %s: %s is not a directory", path, dir);
        return SYNC_EINVAL;
    }
    return 0;
}

/* Remove a stale socket file at path; refuse anything else.  Every refusal
 * names the path, the call and the reason. */
static int server_clear_path(const char *path)
{
    struct stat st;

    if (lstat(path, &st) != 0) {
        if (errno == ENOENT)
            return server_check_dir(path);
        log_error("cannot listen on %s: lstat: %s", path, strerror(errno));
        return SYNC_EINVAL;
    }
    if (!S_ISSOCK(st.st_mode)) {
        log_error("%s exists and is not a socket; not touching it", path);
        return SYNC_EEXIST;
    }
    if (server_probe_live(path)) {
        log_error("another syncd is already listening on %s", path);
        return SYNC_EEXIST;
    }
    log_info("removing stale socket %s", path);
    if (unlink(path) != 0 && errno != ENOENT) {
        log_warn("unlink %s", path);
        return SYNC_EINTERNAL;
    }
    return 0;
}

int server_listen(struct server *srv, const char *path, unsigned mode)
{
    mode_t old_mask;
    int rv;

    if (strlen(path) >= sizeof(srv->socket_path)) {
        log_error("socket path too long (%zu bytes, at most %zu): %s",
                  strlen(path), sizeof(srv->socket_path) - 1, path);
        return SYNC_EINVAL;
    }
    rv = server_clear_path(path);
    if (rv != 0)
        return rv;
    if (uv_pipe_init(srv->loop, &srv->listener, 0) != 0)
        return SYNC_EINTERNAL;
    srv->listener.data = srv;
    srv->listening = true;
    /* The socket file is created with mode at once (bind applies the
     * umask; the daemon is single-threaded here): a chmod after bind
     * would leave it briefly open to whoever the default mode lets in. */
    old_mask = umask(~(mode_t)mode & 0777);
    rv = uv_pipe_bind(&srv->listener, path);
    umask(old_mask);
    if (rv != 0) {
        log_error("bind %s: %s", path, uv_strerror(rv));
        goto err_close;
    }
    strcpy(srv->socket_path, path);
    srv->socket_mode = mode;
    rv = uv_listen((uv_stream_t *)&srv->listener, SOMAXCONN,
                   server_connection_cb);
    if (rv != 0) {
        log_error("listen %s: %s", path, uv_strerror(rv));
        goto err_unlink;
    }
    return 0;

err_unlink:
    unlink(path);
    srv->socket_path[0] = '\0';
err_close:
    uv_close((uv_handle_t *)&srv->listener, NULL);
    srv->listening = false;
    return sync_error_from_errno(-rv);
}

int server_listen_fd(struct server *srv, int fd)
{
    struct sockaddr_un sa;
    socklen_t len = sizeof(sa);
    int rv;

    if (uv_pipe_init(srv->loop, &srv->listener, 0) != 0)
        return SYNC_EINTERNAL;
    srv->listener.data = srv;
    srv->listening = true;
    rv = uv_pipe_open(&srv->listener, fd);
    if (rv == 0)
        rv = uv_listen((uv_stream_t *)&srv->listener, SOMAXCONN,
                       server_connection_cb);
    if (rv != 0) {
        log_error("inherited socket: %s", uv_strerror(rv));
        uv_close((uv_handle_t *)&srv->listener, NULL);
        srv->listening = false;
        return SYNC_EINTERNAL;
    }
    /* For status only: socket_path stays empty so nothing unlinks it. */
    if (getsockname(fd, (struct sockaddr *)&sa, &len) == 0 &&
        sa.sun_family == AF_UNIX)
        snprintf(srv->activated_path, sizeof(srv->activated_path), "%s",
                 sa.sun_path);
    return 0;
}

int server_chown_socket(struct server *srv, long uid, long gid)
{
    if ((uid < 0 && gid < 0) || srv->socket_path[0] == '\0')
        return 0;
    if (chown(srv->socket_path, (uid_t)uid, (gid_t)gid) != 0) {
        log_warn("chown %s", srv->socket_path);
        return SYNC_EPERM;
    }
    return 0;
}

void server_set_limits(struct server *srv, const struct syncd_limits *l)
{
    struct list_node *n;
    struct session *s;

    srv->limits = *l;
    srv->registry.max_objects = l->max_objects;
    srv->registry.max_name = l->max_name;
    for (n = srv->sessions.next; n != &srv->sessions; n = n->next) {
        s = container_of(n, struct session, link);
        s->decoder.max_frame = l->max_frame;
        s->handles.max = l->max_handles;
    }
}

static void server_listener_close_cb(uv_handle_t *h)
{
    struct server *srv = h->data;

    srv->listening = false;
    server_maybe_finish(srv);
}

static void server_timer_close_cb(uv_handle_t *h)
{
    struct server *srv = container_of((uv_timer_t *)h, struct server,
                                      deadlines.timer);

    srv->timer_open = false;
    server_maybe_finish(srv);
}

static void server_flusher_close_cb(uv_handle_t *h)
{
    struct server *srv = h->data;

    if (h == (uv_handle_t *)&srv->flusher)
        srv->flusher_open = false;
    else
        srv->flusher_pre_open = false;
    server_maybe_finish(srv);
}

void server_shutdown(struct server *srv)
{
    struct list_node *n, *tmp;

    if (srv->closing)
        return;
    srv->closing = true;
    log_info("shutting down: %u client(s), %u object(s)", srv->n_sessions,
             srv->registry.count);
    if (srv->listening) {
        if (srv->socket_path[0] != '\0' && unlink(srv->socket_path) != 0 &&
            errno != ENOENT)
            log_warn("unlink %s", srv->socket_path);
        uv_close((uv_handle_t *)&srv->listener, server_listener_close_cb);
    }
    /* Every waiter first: closing one session would otherwise hand its
     * locks to another's waiter instead of telling it we are stopping. */
    list_foreach_safe(n, tmp, &srv->sessions)
        srv->handler->cancel_waits(container_of(n, struct session, link),
                                   SYNC_ESHUTDOWN);
    list_foreach_safe(n, tmp, &srv->sessions)
        session_abort(container_of(n, struct session, link),
                      "daemon shutting down");
    if (srv->timer_open)
        deadlines_close(&srv->deadlines, server_timer_close_cb);
    if (srv->flusher_open)
        uv_close((uv_handle_t *)&srv->flusher, server_flusher_close_cb);
    if (srv->flusher_pre_open)
        uv_close((uv_handle_t *)&srv->flusher_pre, server_flusher_close_cb);
    server_maybe_finish(srv);
}

void server_maybe_finish(struct server *srv)
{
    void (*cb)(struct server *);

    if (!srv->closing || srv->listening || srv->timer_open ||
        srv->refuse_busy ||
        srv->flusher_open || srv->flusher_pre_open ||
        !list_empty(&srv->sessions) || srv->on_finish == NULL)
        return;
    cb = srv->on_finish;
    srv->on_finish = NULL;
    cb(srv);
}

struct session *server_find_session(struct server *srv, uint64_t id)
{
    struct session *s = NULL;

    HASH_FIND(hh, srv->by_id, &id, sizeof(id), s);
    return s;
}

void server_fini(struct server *srv)
{
    lockcache_alive_free(srv);
    registry_fini(&srv->registry);
    deadlines_fini(&srv->deadlines);
    srv->handler->fini(srv);
}
