/*
 * session.c: one client connection.
 *
 * Happy path: accept -> SO_PEERCRED -> read_cb feeds bytes to the frame
 * decoder -> each whole frame is decoded (codec) and dispatched -> replies
 * go out with uv_try_write, only the unsent rest is queued.
 *
 * Failure modes, each logged with the peer's pid/uid:
 * - zero or oversized frame length: SYNC_EPROTO reply (id 0), close;
 * - undecodable frame: SYNC_EPROTO reply (id 0), close;
 * - a request before the handshake, or a version mismatch: error, close;
 * - unsent replies above max_write_backlog (a client that does not read):
 *   close;
 * - EOF or a read/write error: close.
 * Closing releases everything the client held, at once (the handler's
 * closing callback).  Requests go to the handler the server registered;
 * the session knows nothing of objects or waits.
 */
#include "session.h"
#include "xalloc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "error.h"
#include "lockcache.h"
#include "log.h"
#include "server.h"

struct write_req {
    uv_write_t req;
    struct session *session;  /* borrowed, for logging only */
    size_t len;
    uint8_t data[];
};

static void session_close_cb(uv_handle_t *h);

static void session_alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    struct session *s = h->data;

    (void)hint;
    buf->base = s->server->read_buf;
    buf->len = sizeof(s->server->read_buf);
}

/* Answer a connection-level failure (bad input, or a client turned away
 * at accept) with an id-0 reply and close.  Returns code. */
static int session_fail(struct session *s, int code, const char *detail)
{
    struct reply rp = {.id = 0, .code = code, .message = detail};

    log_warnx("client pid %d uid %u (%s): %s; closing", (int)s->pid,
              (unsigned)s->uid, s->client_name, detail);
    if (code == SYNC_EPROTO)
        s->server->stats.protocol_errors++;
    session_send(s, &rp);
    session_abort(s, detail);
    return code;
}

/* Decode one frame into rq (the caller's storage, reused for every frame
 * of a read) and hand it on. */
static void session_handle_frame(struct session *s, const uint8_t *p,
                                 size_t n, struct request *rq)
{
    const char *detail;
    int rv = codec_decode_request(p, n, rq, &detail);

    if (rv != 0) { /* SYNC_EPROTO, the codec's only error */
        session_fail(s, rv, detail);
        return;
    }
    s->server->stats.requests++;
    s->server->handler->request(s, rq);
}

static void session_drain_frames(struct session *s)
{
    const uint8_t *payload;
    size_t len;
    enum frame_status st;
    struct request rq;
    char detail[96];

    while (s->state != SESSION_CLOSING) {
        st = frame_decoder_next(&s->decoder, &payload, &len);
        switch (st) {
        case FRAME_OK:
            session_handle_frame(s, payload, len, &rq);
            break;
        case FRAME_NEED_MORE:
            return;
        case FRAME_EMPTY:
            session_fail(s, SYNC_EPROTO, "zero-length frame");
            return;
        case FRAME_TOO_BIG:
            snprintf(detail, sizeof(detail),
                     "frame length %u exceeds the limit of %u bytes",
                     s->decoder.bad_len, s->server->limits.max_frame);
            session_fail(s, SYNC_EPROTO, detail);
            return;
        }
    }
}

static void session_read_cb(uv_stream_t *stream, ssize_t nread,
                            const uv_buf_t *buf)
{
    struct session *s = stream->data;

    if (nread == 0)
        return;
    if (nread < 0) {
        if (nread != UV_EOF)
            log_warnx("client pid %d uid %u: read: %s", (int)s->pid,
                      (unsigned)s->uid, uv_strerror((int)nread));
        session_abort(s, nread == UV_EOF ? "disconnected" : "read error");
        return;
    }
    if (frame_decoder_feed(&s->decoder, (const uint8_t *)buf->base,
                           (size_t)nread) != 0) {
        session_fail(s, SYNC_ENOMEM, "out of memory buffering a frame");
        return;
    }
    session_drain_frames(s);
}

/*
 * Supplementary groups from /proc/PID/status (SO_PEERCRED has only the
 * primary gid).  A local procfs read does not block the loop; a process
 * gone already simply has none.
 */
static void session_read_groups(struct session *s)
{
    char path[64], line[1024];
    char *p, *end;
    unsigned long g;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/status", (int)s->pid);
    f = fopen(path, "re");
    if (f == NULL)
        return;
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, "Groups:", 7) != 0)
            continue;
        for (p = line + 7; s->cred.n_groups < SESSION_MAX_GROUPS; p = end) {
            g = strtoul(p, &end, 10);
            if (end == p)
                break;
            s->groups[s->cred.n_groups++] = (uint32_t)g;
        }
        break;
    }
    fclose(f);
}

static void session_read_peercred(struct session *s)
{
    struct ucred cred;
    socklen_t len = sizeof(cred);
    uv_os_fd_t fd;

    s->pid = -1;
    s->uid = (uid_t)-1;
    s->gid = (gid_t)-1;
    if (uv_fileno((uv_handle_t *)&s->pipe, &fd) != 0)
        return;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
        s->pid = cred.pid;
        s->uid = cred.uid;
        s->gid = cred.gid;
    } else {
        log_warn("SO_PEERCRED");
    }
    s->cred.uid = (uint32_t)s->uid;
    s->cred.gid = (uint32_t)s->gid;
    s->cred.groups = s->groups;
    if (s->pid > 0)
        session_read_groups(s);
}

static struct session *session_new(struct server *srv)
{
    struct session *s = xcalloc(1, sizeof(*s));

    if (s == NULL)
        return NULL;
    s->server = srv;
    s->id = ++srv->next_session_id;
    s->state = SESSION_HANDSHAKE;
    s->connected_ms = uv_now(srv->loop);
    strcpy(s->client_name, "?");
    frame_decoder_init(&s->decoder, srv->limits.max_frame);
    handle_table_init(&s->handles, srv->limits.max_handles);
    list_init(&s->pending);
    list_init(&s->link);
    list_init(&s->dirty);
    return s;
}

int session_accept(struct server *srv)
{
    struct session *s = session_new(srv);
    int rv;

    if (s == NULL) {
        log_warnx("connection refused: out of memory for a session");
        server_refuse_connection(srv);
        return SYNC_ENOMEM;
    }
    rv = uv_pipe_init(srv->loop, &s->pipe, 0);
    if (rv != 0) {
        xfree(s); /* nothing else allocated yet */
        server_refuse_connection(srv);
        return sync_error_from_errno(-rv);
    }
    s->pipe.data = s;
    list_insert_tail(&srv->sessions, &s->link);
    s->hash_oom = false;
    HASH_ADD(hh, srv->by_id, id, sizeof(s->id), s);
    s->indexed = !s->hash_oom;
    srv->n_sessions++;
    srv->stats.sessions_total++;
    rv = uv_accept((uv_stream_t *)&srv->listener, (uv_stream_t *)&s->pipe);
    if (rv != 0) {
        session_abort(s, "accept failed");
        return sync_error_from_errno(-rv);
    }
    session_read_peercred(s);
    if (!s->indexed)
        return session_fail(s, SYNC_ENOMEM, "out of memory for the session");
    if (srv->n_sessions > srv->limits.max_clients)
        return session_fail(s, SYNC_ELIMIT, "max_clients reached");
    uv_read_start((uv_stream_t *)&s->pipe, session_alloc_cb, session_read_cb);
    log_debug("client pid %d uid %u connected (session %llu)", (int)s->pid,
              (unsigned)s->uid, (unsigned long long)s->id);
    return 0;
}

/* ---- write path --------------------------------------------------------- */

static void session_write_cb(uv_write_t *req, int status)
{
    struct write_req *wr = container_of(req, struct write_req, req);

    (void)status; /* errors surface as a read error or EOF */
    xfree(wr);
}

/* Queue the len bytes at p that the kernel did not take at once. */
static void session_queue_write(struct session *s, const uint8_t *p,
                                size_t len)
{
    size_t queued = uv_stream_get_write_queue_size((uv_stream_t *)&s->pipe);
    struct write_req *wr;
    uv_buf_t buf;

    if (queued + len > s->server->limits.max_write_backlog) {
        log_warnx("client pid %d uid %u: %zu reply bytes unread, above "
                  "max_write_backlog; closing",
                  (int)s->pid, (unsigned)s->uid, queued + len);
        session_abort(s, "write backlog");
        return;
    }
    wr = xmalloc(sizeof(*wr) + len);
    if (wr == NULL) {
        session_abort(s, "out of memory queueing a reply");
        return;
    }
    wr->session = s;
    wr->len = len;
    memcpy(wr->data, p, len);
    buf = uv_buf_init((char *)wr->data, (unsigned)len);
    if (uv_write(&wr->req, (uv_stream_t *)&s->pipe, &buf, 1,
                 session_write_cb) != 0) {
        xfree(wr);
        session_abort(s, "write error");
    }
}

/* Append n bytes to the session's output; 0 or SYNC_ENOMEM. */
static int session_append(struct session *s, const uint8_t *p, size_t n)
{
    size_t cap = s->out_cap ? s->out_cap : 512;
    uint8_t *b;

    while (cap < s->out_len + n)
        cap *= 2;
    if (cap != s->out_cap) {
        b = xrealloc(s->out, cap);
        if (b == NULL)
            return SYNC_ENOMEM;
        s->out = b;
        s->out_cap = cap;
    }
    memcpy(s->out + s->out_len, p, n);
    s->out_len += n;
    return 0;
}

void session_send(struct session *s, const struct reply *rp)
{
    uint8_t stack[512];
    uint8_t *frame = stack;
    size_t n;
    int rv;

    if ((s->state == SESSION_CLOSING && rp->id != 0) || s->doomed != NULL)
        return;
    if (uv_is_closing((uv_handle_t *)&s->pipe))
        return;
    n = codec_encode_reply(rp, stack, sizeof(stack));
    if (n == 0 && (frame = codec_encode_reply_alloc(rp, &n)) == NULL) {
        rv = SYNC_ENOMEM;
    } else {
        rv = session_append(s, frame, n);
        if (frame != stack)
            xfree(frame);
    }
    /* A reply can be sent from inside object code (a waiter completed by
     * a release), where closing the session would pull waiters out from
     * under the caller: a lost reply dooms the session, and the flush,
     * which runs outside object code, closes it. */
    if (rv != 0)
        s->doomed = "out of memory queueing a reply";
    if (list_empty(&s->dirty))
        list_insert_tail(&s->server->dirty, &s->dirty);
}

int session_send_fd(struct session *s, const struct reply *rp,
                    const int *fds, int n_fds)
{
    char cbuf[CMSG_SPACE(2 * sizeof(int))];
    struct iovec iov;
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1,
                        .msg_control = cbuf,
                        .msg_controllen = CMSG_SPACE(n_fds * sizeof(int))};
    struct cmsghdr *cm;
    uint8_t frame[512];
    uv_os_fd_t sock;
    ssize_t w;
    size_t n;

    /* Bytes already queued would go after ours: refuse (the caller sends
     * without the descriptor). */
    if (n_fds < 1 || n_fds > 2 || s->out_len != 0 || s->doomed != NULL ||
        uv_stream_get_write_queue_size((uv_stream_t *)&s->pipe) != 0 ||
        uv_fileno((uv_handle_t *)&s->pipe, &sock) != 0)
        return SYNC_EINTERNAL;
    n = codec_encode_reply(rp, frame, sizeof(frame));
    if (n == 0)
        return SYNC_ENOMEM;
    iov.iov_base = frame;
    iov.iov_len = n;
    memset(cbuf, 0, sizeof(cbuf));
    cm = CMSG_FIRSTHDR(&mh);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(n_fds * sizeof(int));
    memcpy(CMSG_DATA(cm), fds, n_fds * sizeof(int));
    do
        w = sendmsg(sock, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
    while (w < 0 && errno == EINTR);
    if (w <= 0)
        return w < 0 ? sync_error_from_errno(errno) : SYNC_ECONN;
    /* The descriptor went with the first byte; the rest in order. */
    if ((size_t)w < n && session_append(s, frame + w, n - (size_t)w) == 0 &&
        list_empty(&s->dirty))
        list_insert_tail(&s->server->dirty, &s->dirty);
    else if ((size_t)w < n)
        s->doomed = "out of memory queueing a reply";
    return 0;
}

void session_flush(struct session *s)
{
    uv_buf_t buf = uv_buf_init((char *)s->out, (unsigned)s->out_len);
    size_t n = s->out_len;
    int w;

    list_remove(&s->dirty);
    if (s->doomed != NULL && s->state != SESSION_CLOSING) {
        session_abort(s, s->doomed);
        return;
    }
    if (n == 0 || uv_is_closing((uv_handle_t *)&s->pipe))
        return;
    s->out_len = 0;
    w = uv_try_write((uv_stream_t *)&s->pipe, &buf, 1);
    if (w == UV_EAGAIN || w == UV_ENOSYS)
        w = 0;
    if (w < 0)
        session_abort(s, "write error");
    else if ((size_t)w < n)
        session_queue_write(s, s->out + w, n - (size_t)w);
    /* Do not let one burst pin a large buffer for the session's life. */
    if (s->out_cap > 64 * 1024) {
        xfree(s->out);
        s->out = NULL;
        s->out_cap = 0;
    }
}

/* ---- closing ------------------------------------------------------------ */

void session_abort(struct session *s, const char *why)
{
    if (s->state == SESSION_CLOSING)
        return;
    s->state = SESSION_CLOSING;
    log_debug("client pid %d uid %u (%s) closing: %s", (int)s->pid,
              (unsigned)s->uid, s->client_name, why);
    s->server->handler->closing(s);
    /* A last error reply (id 0) goes out before the close. */
    session_flush(s);
    uv_close((uv_handle_t *)&s->pipe, session_close_cb);
}

static void session_close_cb(uv_handle_t *h)
{
    struct session *s = h->data;
    struct server *srv = s->server;

    list_remove(&s->link);
    if (s->indexed)
        HASH_DELETE(hh, srv->by_id, s);
    srv->n_sessions--;
    frame_decoder_fini(&s->decoder);
    handle_table_fini(&s->handles);
    xfree(s->out);
    lockcache_page_free(s->cache);
    xfree(s);
    server_maybe_finish(srv);
}
