/*
 * client.c: one connection per sync_client, shared by all its threads.
 * Requests carry ids; replies are matched to calls by id.  No reader
 * thread: a caller that finds nobody reading becomes the reader until its
 * own reply arrives, handing other callers' replies to their condition
 * variables (leader/follower), so a single-threaded caller pays one write
 * and one read and never a thread hop.  EOF or an error fails every call
 * in flight with SYNC_ECONN, so nothing hangs; reconnect.c then dials
 * again and sends those calls anew (unless reconnecting is off).
 */
#include <assert.h>
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "internal.h"

/* Every live client of the process, so fork() can detach them. */
static pthread_mutex_t all_mu = PTHREAD_MUTEX_INITIALIZER;
static sync_client *all_clients;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void atfork_prepare(void)
{
    pthread_mutex_lock(&all_mu);
}

static void atfork_parent(void)
{
    pthread_mutex_unlock(&all_mu);
}

/*
 * In the child, close every inherited connection: otherwise the child
 * would keep the parent's session (and its locks) alive after the parent
 * dies.  Only this process's descriptor is closed; the parent's
 * connection is untouched.
 */
static void atfork_child(void)
{
    sync_client *c;

    for (c = all_clients; c != NULL; c = c->next_all) {
        if (c->fd >= 0)
            close(c->fd);
        c->fd = -1;
        c->forked = true;
    }
    sync__thread_id_forget();
    pthread_mutex_unlock(&all_mu);
}

static void atfork_register(void)
{
    pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
}

static void all_add(sync_client *c)
{
    pthread_once(&atfork_once, atfork_register);
    pthread_mutex_lock(&all_mu);
    c->next_all = all_clients;
    all_clients = c;
    pthread_mutex_unlock(&all_mu);
}

static void all_remove(sync_client *c)
{
    sync_client **pp;

    pthread_mutex_lock(&all_mu);
    for (pp = &all_clients; *pp != NULL; pp = &(*pp)->next_all) {
        if (*pp == c) {
            *pp = c->next_all;
            break;
        }
    }
    pthread_mutex_unlock(&all_mu);
}

/* ---- calls in flight (all under c->mu) ------------------------------- */

static void calls_remove(sync_client *c, struct sync__call *call)
{
    struct sync__call **pp;

    for (pp = &c->calls; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == call) {
            *pp = call->next;
            return;
        }
    }
}

static void call_finish(struct sync__call *call, int code,
                        const struct sync__result *res)
{
    call->done = true;
    call->code = code;
    if (res != NULL)
        call->result = *res;
    pthread_cond_signal(&call->cv);
}

/* The connection is unusable: every call in flight and later gets code. */
static void client_fail_all(sync_client *c, int code)
{
    struct sync__call *call;

    if (c->dead == 0)
        c->dead = code;
    for (call = c->calls; call != NULL; call = call->next)
        if (!call->done)
            call_finish(call, c->dead, NULL);
}

/* Deliver one decoded frame to its call (under c->mu); payload is the
 * frame's bytes, copied for calls that want them raw. */
static void client_deliver(sync_client *c, const struct sync__incoming *in,
                           const uint8_t *payload, size_t len)
{
    struct sync__call *call;

    if (!in->is_reply)
        return;
    if (in->id == 0) {
        /* A connection-level error: the daemon closes next. */
        client_fail_all(c, in->code < 0 ? in->code : SYNC_EPROTO);
        return;
    }
    for (call = c->calls; call != NULL; call = call->next) {
        if (call->id == in->id && !call->done) {
            if (call->req->on_reply != NULL)
                call->req->on_reply(call->req->on_reply_arg, in->code);
            call_finish(call, in->code, &in->result);
            /* Errors too: the reply's message says why (syncctl shows
             * it). */
            if (call->want_raw) {
                call->result.raw = malloc(len);
                if (call->result.raw == NULL) {
                    if (call->code == 0)
                        call->code = SYNC_ENOMEM;
                    return;
                }
                memcpy(call->result.raw, payload, len);
                call->result.raw_len = len;
            }
            return;
        }
    }
}

/*
 * Deliver every whole frame already buffered, without reading: a reply
 * burst (an Event set waking many threads) reaches all its callers from
 * one reader instead of one reader hand-off per reply.  Under c->mu.
 */
static void client_drain(sync_client *c)
{
    const uint8_t *payload;
    struct sync__incoming in;
    size_t len;

    while (c->dead == 0) {
        switch (frame_decoder_next(&c->reader, &payload, &len)) {
        case FRAME_OK:
            if (sync__wire_decode(payload, len, &in) != 0)
                client_fail_all(c, SYNC_EPROTO);
            else
                client_deliver(c, &in, payload, len);
            continue;
        case FRAME_EMPTY:
        case FRAME_TOO_BIG:
            client_fail_all(c, SYNC_EPROTO);
            return;
        case FRAME_NEED_MORE:
            return;
        }
    }
}

/*
 * Read what the daemon sent.  recvmsg, not read: the HelloResult may carry
 * the lock cache page's descriptor (SCM_RIGHTS), kept for the handshake;
 * any other descriptor is closed at once.
 */
static ssize_t client_recv(sync_client *c, uint8_t *buf, size_t cap)
{
    char cbuf[CMSG_SPACE(sizeof(int) * 4)];
    struct iovec iov = {.iov_base = buf, .iov_len = cap};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1,
                        .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
    struct cmsghdr *cm;
    ssize_t n = recvmsg(c->fd, &mh, MSG_CMSG_CLOEXEC);
    size_t i, nfd;
    int fd;

    if (n <= 0 || mh.msg_controllen == 0)
        return n;
    for (cm = CMSG_FIRSTHDR(&mh); cm != NULL; cm = CMSG_NXTHDR(&mh, cm)) {
        if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
            continue;
        nfd = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (i = 0; i < nfd; i++) {
            memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
            if (!c->cache_fd_done && c->cache_fd < 0)
                c->cache_fd = fd;
            else if (!c->cache_fd_done && c->cache_alive_fd < 0)
                c->cache_alive_fd = fd;
            else
                close(fd);
        }
    }
    return n;
}

/*
 * As the reader: read and deliver until `mine` is done or the connection
 * fails.  Called and returns with c->mu held; drops it around read().
 */
static void client_read_until(sync_client *c, struct sync__call *mine)
{
    uint8_t buf[16384];
    ssize_t n;

    client_drain(c);
    while (!mine->done && c->dead == 0) {
        pthread_mutex_unlock(&c->mu);
        /* A signal: a caller that can be interrupted may cancel its wait
         * (intr.c), then reads on until the daemon's answer. */
        while ((n = client_recv(c, buf, sizeof(buf))) < 0 && errno == EINTR)
            if (mine->intr != NULL)
                sync__intr_poll(c, mine);
        pthread_mutex_lock(&c->mu);
        if (n <= 0)
            client_fail_all(c, SYNC_ECONN);
        else if (frame_decoder_feed(&c->reader, buf, (size_t)n) != 0)
            client_fail_all(c, SYNC_ENOMEM);
        else
            client_drain(c);
    }
}

/* client_write_all: the daemon closed the connection (EPIPE/ECONNRESET). */
#define CLIENT_PEER_CLOSED 1
/* ... or the call's connection was replaced before its frame went out. */
#define CLIENT_STALE 2

/*
 * Write a frame on connection seq (0: whichever is up).  A call whose
 * connection a reconnect replaced between its registration and this write
 * must not reach the new one: its caller was already told SYNC_ECONN and
 * may send it again, or learn its hold was lost - a release written to
 * the new daemon anyway would be done twice, or done for a permit or lock
 * the reconnect could not take back.
 */
static int client_write_all(sync_client *c, const uint8_t *p, size_t n,
                            uint64_t seq)
{
    ssize_t w;
    int rv = 0;

    pthread_mutex_lock(&c->write_mu);
    if (seq != 0 && seq != c->conn_seq)
        n = 0, rv = CLIENT_STALE;
    while (n > 0) {
        w = send(c->fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            /* A closed peer may have left a reason (an id-0 error) in our
             * receive queue: the caller reads it before giving up. */
            rv = w < 0 && (errno == EPIPE || errno == ECONNRESET)
                     ? CLIENT_PEER_CLOSED
                     : SYNC_ECONN;
            break;
        }
        p += w;
        n -= (size_t)w;
    }
    pthread_mutex_unlock(&c->write_mu);
    return rv;
}

/*
 * Wait while another thread reads.  A signal does not end a condition
 * variable wait, so an interruptible call looks at its check every
 * SYNC__INTR_POLL_MS instead.
 */
static void client_follow(sync_client *c, struct sync__call *call)
{
    struct timespec ts;

    if (call->intr == NULL || call->cancelled) {
        pthread_cond_wait(&call->cv, &c->mu);
        return;
    }
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += SYNC__INTR_POLL_MS * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    if (pthread_cond_timedwait(&call->cv, &c->mu, &ts) == ETIMEDOUT &&
        !call->done) {
        pthread_mutex_unlock(&c->mu);
        sync__intr_poll(c, call);
        pthread_mutex_lock(&c->mu);
    }
}

/* Wait for call's reply, taking the reader role when nobody has it. */
static void client_wait(sync_client *c, struct sync__call *call)
{
    struct sync__call *other;

    while (!call->done) {
        if (c->reader_busy) {
            client_follow(c, call);
            continue;
        }
        c->reader_busy = true;
        client_read_until(c, call);
        c->reader_busy = false;
        if (c->reconnecting)
            pthread_cond_broadcast(&c->reconn_cv);
        /* Hand the reader role to a caller still waiting. */
        for (other = c->calls; other != NULL; other = other->next) {
            if (!other->done && other != call) {
                pthread_cond_signal(&other->cv);
                break;
            }
        }
    }
}

void sync__client_fail(sync_client *c, int code)
{
    client_fail_all(c, code);
}

/* Whether the calling thread is c's reconnector (its calls go through
 * while the others wait).  Under c->mu. */
static bool client_is_reconnector(const sync_client *c)
{
    return c->reconnecting && pthread_equal(c->reconnector, pthread_self());
}

int sync__call_once(sync_client *c, const struct sync__request *req,
                    struct sync__result *res, uint64_t *gen)
{
    struct sync__call call = {.done = false};
    uint8_t stack[512];
    uint8_t *frame = stack;
    size_t n;
    int rv;

    /* The fork handler (registered before any client exists) marks every
     * inherited client: no getpid() system call per request. */
    if (c->forked)
        return SYNC_EFORKED;
    pthread_mutex_lock(&c->mu);
    /* While one thread re-dials and restores, the others wait for it. */
    while (c->reconnecting && !client_is_reconnector(c))
        pthread_cond_wait(&c->reconn_cv, &c->mu);
    *gen = c->gen;
    if (req->pin_gen && req->gen != c->gen) {
        pthread_mutex_unlock(&c->mu);
        return SYNC__ESTALE;
    }
    if (c->dead != 0) {
        rv = c->dead;
        pthread_mutex_unlock(&c->mu);
        return rv;
    }
    call.id = ++c->next_id;
    call.req = req;
    call.conn_seq = c->conn_seq;
    call.want_raw = sync__wire_raw_reply(req->op);
    pthread_cond_init(&call.cv, NULL);
    call.next = c->calls;
    c->calls = &call;
    sync__intr_attach(&call, req);
    pthread_mutex_unlock(&c->mu);

    n = sync__wire_encode(req, call.id, stack, sizeof(stack));
    if (n == 0) {
        n = sync__wire_size(req, call.id);
        frame = malloc(n);
        if (frame != NULL)
            n = sync__wire_encode(req, call.id, frame, n);
    }
    rv = frame == NULL ? SYNC_ENOMEM
                       : client_write_all(c, frame, n, call.conn_seq);
    if (frame != stack)
        free(frame);

    pthread_mutex_lock(&c->mu);
    if (rv == SYNC_ECONN)
        client_fail_all(c, SYNC_ECONN);
    else if (rv == CLIENT_STALE) {
        if (!call.done)
            call_finish(&call, SYNC_ECONN, NULL);
    } else if (rv != 0 && rv != CLIENT_PEER_CLOSED)
        call_finish(&call, rv, NULL);
    /* Peer closed: reading ends at its last words or EOF (SYNC_ECONN). */
    client_wait(c, &call);
    calls_remove(c, &call);
    if (c->calls == NULL)
        pthread_cond_broadcast(&c->idle_cv);
    pthread_mutex_unlock(&c->mu);
    pthread_cond_destroy(&call.cv);
    if (res != NULL)
        *res = call.result;
    return call.cancelled ? sync__intr_code(&call, req->op) : call.code;
}

uint64_t sync__client_gen(sync_client *c)
{
    uint64_t gen;

    pthread_mutex_lock(&c->mu);
    while (c->reconnecting && !client_is_reconnector(c))
        pthread_cond_wait(&c->reconn_cv, &c->mu);
    gen = c->gen;
    pthread_mutex_unlock(&c->mu);
    return gen;
}

int sync__call(sync_client *c, const struct sync__request *req,
               struct sync__result *res)
{
    /* A timed wait sent again after a reconnect gets what is left. */
    int64_t t0 = req->timeout_us > 0 ? sync__now_us() : 0;
    uint64_t gen;
    int rv = sync__call_once(c, req, res, &gen);

    if (rv == SYNC_ECONN || rv == SYNC_ESHUTDOWN)
        rv = sync__reconnect_retry(c, req, res, rv, gen, t0);
    return rv;
}

int sync__write_frame(sync_client *c, const uint8_t *p, size_t n)
{
    return client_write_all(c, p, n, 0);
}

/* ---- connect / disconnect ---------------------------------------------- */

/* Whether SYNCD_TRUST_UID (comma-separated uids) names uid. */
static bool client_uid_trusted_by_env(uid_t uid)
{
    const char *p = getenv("SYNCD_TRUST_UID");
    unsigned long n;
    char *end;

    while (p != NULL && *p != '\0') {
        errno = 0;
        n = strtoul(p, &end, 10);
        if (end == p || errno != 0)
            return false;
        if (n == uid)
            return true;
        p = *end == ',' ? end + 1 : NULL;
    }
    return false;
}

/*
 * The daemon must run as root, as the system daemon's user "syncd", or as
 * we do: anyone can bind a path in /tmp first and wait for our requests.
 */
static int client_check_peer(int fd)
{
    struct ucred cr;
    socklen_t len = sizeof(cr);
    struct passwd pw, *found = NULL;
    char buf[1024];

    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) != 0)
        return SYNC_ECONN;
    if (cr.uid == 0 || cr.uid == geteuid() ||
        client_uid_trusted_by_env(cr.uid))
        return 0;
    if (getpwnam_r("syncd", &pw, buf, sizeof(buf), &found) == 0 &&
        found != NULL && found->pw_uid == cr.uid)
        return 0;
    return SYNC_EPEER;
}

int sync__dial(const char *path, int *fd_out)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd, rv;

    if (strlen(path) >= sizeof(sa.sun_path))
        return SYNC_EINVAL;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return sync_error_from_errno(errno);
    while (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        if (errno == EINTR)
            continue;
        close(fd);
        return SYNC_ECONN;
    }
    rv = client_check_peer(fd);
    if (rv != 0) {
        close(fd);
        return rv;
    }
    *fd_out = fd;
    return 0;
}

int sync__handshake(sync_client *c)
{
    struct sync__request req = {.op = OP_HELLO,
                                .pid = (uint32_t)getpid(),
                                .caps = SYNC__CAPS_OFFERED &
                                        (sync__cache_wanted()
                                             ? ~0u
                                             : ~WIRE_CAP_LOCK_CACHE),
                                .client_id = c->client_id,
                                .client_name = program_invocation_short_name};
    struct sync__result res;
    int rv;

    /* The HelloResult may bring this connection's lock cache page. */
    c->cache_fd_done = false;
    rv = sync__call(c, &req, &res);

    if (rv == 0 && res.version != WIRE_PROTOCOL_VERSION)
        rv = SYNC_EVERSION;
    if (rv == 0) {
        /* Granted = offered AND supported; never trust more. */
        __atomic_store_n(&c->caps, res.caps & SYNC__CAPS_OFFERED,
                         __ATOMIC_RELAXED);
        c->epoch = res.epoch;
    }
    sync__cache_attach(c,
                       rv == 0 && sync__client_has_cap(c, WIRE_CAP_LOCK_CACHE),
                       res.server_pid);
    return rv;
}

int sync_connect(const char *socket_path, sync_client **out)
{
    return sync_connect_opts(socket_path, NULL, out);
}

int sync_connect_opts(const char *socket_path,
                      const struct sync_connect_opts *opts, sync_client **out)
{
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    sync_client *c;
    int rv;

    *out = NULL;
    if (socket_path == NULL) {
        rv = sync_default_socket_path(path, sizeof(path));
        if (rv != 0)
            return rv;
        socket_path = path;
    }
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        return SYNC_ENOMEM;
    if (out == NULL || strlen(socket_path) >= sizeof(c->path)) {
        free(c);
        return SYNC_EINVAL;
    }
    rv = sync__dial(socket_path, &c->fd);
    if (rv != 0) {
        free(c);
        return rv;
    }
    strcpy(c->path, socket_path);
    c->conn_seq = 1;
    sync__reconnect_init(c, opts);
    c->refs = 1;
    c->cache_fd = c->cache_alive_fd = -1;
    pthread_mutex_init(&c->mu, NULL);
    pthread_mutex_init(&c->write_mu, NULL);
    pthread_cond_init(&c->idle_cv, NULL);
    pthread_cond_init(&c->reconn_cv, NULL);
    /* The daemon is trusted; this only bounds a corrupted stream.
     * Inspection replies can exceed the daemon's request frame limit. */
    frame_decoder_init(&c->reader, 16u << 20);
    all_add(c);
    rv = sync__handshake(c);
    if (rv == 0)
        rv = sync__watch_start(c);
    if (rv != 0) {
        sync_disconnect(c);
        return rv;
    }
    *out = c;
    return 0;
}

static void client_free(sync_client *c)
{
    all_remove(c);
    if (c->fd >= 0)
        close(c->fd);
    sync__cache_detach(c);
    frame_decoder_fini(&c->reader);
    /* A forked copy's mutexes may have been held by threads that do not
     * exist in this process: leave them alone. */
    if (!c->forked) {
        pthread_mutex_destroy(&c->mu);
        pthread_mutex_destroy(&c->write_mu);
        pthread_cond_destroy(&c->idle_cv);
        pthread_cond_destroy(&c->reconn_cv);
    }
    free(c);
}

void sync__client_rele(sync_client *c)
{
    unsigned left;

    if (c->forked) {
        assert(c->refs > 0);
        if (--c->refs == 0)
            client_free(c);
        return;
    }
    pthread_mutex_lock(&c->mu);
    assert(c->refs > 0);
    left = --c->refs;
    pthread_mutex_unlock(&c->mu);
    if (left == 0)
        client_free(c);
}

void sync_disconnect(sync_client *c)
{
    if (c == NULL)
        return;
    if (c->forked) {
        sync__client_rele(c);
        return;
    }
    pthread_mutex_lock(&c->mu);
    /* Never reconnect from now on; a reconnect under way ends first. */
    c->closing = true;
    while (c->reconnecting)
        pthread_cond_wait(&c->reconn_cv, &c->mu);
    /* Wake a reader blocked in read() and fail every call in flight. */
    shutdown(c->fd, SHUT_RDWR);
    client_fail_all(c, SYNC_ECONN);
    while (c->calls != NULL)
        pthread_cond_wait(&c->idle_cv, &c->mu);
    pthread_cond_broadcast(&c->reconn_cv); /* a watcher waiting on it */
    pthread_mutex_unlock(&c->mu);
    sync__watch_stop(c);
    sync__client_rele(c);
}

void sync__objects_add(sync_client *c, struct sync__object *o)
{
    pthread_mutex_lock(&c->mu);
    o->prev_obj = NULL;
    o->next_obj = c->objects;
    if (c->objects != NULL)
        c->objects->prev_obj = o;
    c->objects = o;
    pthread_mutex_unlock(&c->mu);
}

void sync__objects_remove(sync_client *c, struct sync__object *o)
{
    pthread_mutex_lock(&c->mu);
    if (o->prev_obj != NULL)
        o->prev_obj->next_obj = o->next_obj;
    else if (c->objects == o)
        c->objects = o->next_obj;
    if (o->next_obj != NULL)
        o->next_obj->prev_obj = o->prev_obj;
    o->next_obj = o->prev_obj = NULL;
    pthread_mutex_unlock(&c->mu);
}

int sync_set_create_mode(sync_client *c, unsigned mode)
{
    if (c == NULL || mode > 0777)
        return SYNC_EINVAL;
    /* 0 on the wire means "the daemon's default": send an explicit 0 as
     * "no permissions for anyone but root" by keeping a non-zero marker. */
    __atomic_store_n(&c->create_mode, mode == 0 ? 01000u : mode,
                     __ATOMIC_RELAXED);
    return 0;
}

int sync_set_open_existing(sync_client *c, bool existing)
{
    if (c == NULL)
        return SYNC_EINVAL;
    __atomic_store_n(&c->open_existing, existing, __ATOMIC_RELAXED);
    return 0;
}

int sync_set_lock_cache(sync_client *c, bool on)
{
    if (c == NULL)
        return SYNC_EINVAL;
    __atomic_store_n(&c->no_cache, !on, __ATOMIC_RELAXED);
    return 0;
}

int sync_unlink(sync_client *c, const char *name)
{
    struct sync__request req = {.op = OP_UNLINK, .name = name};

    if (c == NULL || name == NULL)
        return SYNC_EINVAL;
    if (strlen(name) > SYNC_NAME_MAX)
        return SYNC_ENAME;
    return sync__call(c, &req, NULL);
}
