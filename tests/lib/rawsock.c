/*
 * rawsock.c: a minimal, blocking-with-timeout protocol peer for tests.
 */
#include "rawsock.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "frame.h"

/* Default wait for a reply the daemon should send at once. */
#define RAW_REPLY_MS 5000

int raw_connect(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd;

    if (strlen(path) >= sizeof(sa.sun_path))
        return -1;
    strcpy(sa.sun_path, path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

int raw_send(int fd, const void *p, size_t n)
{
    const uint8_t *b = p;
    ssize_t w;

    while (n > 0) {
        w = send(fd, b, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        b += w;
        n -= (size_t)w;
    }
    return 0;
}

int raw_send_header(int fd, uint32_t len)
{
    uint8_t h[FRAME_HEADER_SIZE];

    frame_put_header(h, len);
    return raw_send(fd, h, sizeof(h));
}

int raw_send_frame(int fd, const void *payload, uint32_t len)
{
    uint8_t *buf = malloc(FRAME_HEADER_SIZE + (size_t)len);
    int rv;

    if (buf == NULL)
        return -1;
    frame_put_header(buf, len);
    if (len > 0)
        memcpy(buf + FRAME_HEADER_SIZE, payload, len);
    rv = raw_send(fd, buf, FRAME_HEADER_SIZE + (size_t)len);
    free(buf);
    return rv;
}

int raw_send_request(int fd, const Syncd__Request *rq)
{
    size_t n = syncd__request__get_packed_size(rq);
    uint8_t *buf = malloc(n > 0 ? n : 1);
    int rv;

    if (buf == NULL)
        return -1;
    syncd__request__pack(rq, buf);
    rv = raw_send_frame(fd, buf, (uint32_t)n);
    free(buf);
    return rv;
}

static double raw_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Read exactly n bytes by the deadline: RAW_OK, RAW_EOF (EOF before the
 * first byte, or a reset), RAW_TIMEOUT, RAW_ERROR (EOF mid-way). */
static enum raw_status raw_read_exact(int fd, uint8_t *p, size_t n,
                                      double deadline)
{
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    size_t got = 0;
    ssize_t r;
    int left, pr;

    while (got < n) {
        left = (int)((deadline - raw_now()) * 1000.0);
        if (left < 0)
            left = 0;
        pr = poll(&pfd, 1, left);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr < 0)
            return RAW_ERROR;
        if (pr == 0)
            return RAW_TIMEOUT;
        r = read(fd, p + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return errno == ECONNRESET ? RAW_EOF : RAW_ERROR;
        if (r == 0)
            return got == 0 ? RAW_EOF : RAW_ERROR;
        got += (size_t)r;
    }
    return RAW_OK;
}

enum raw_status raw_read_frame(int fd, int timeout_ms, uint8_t **payload,
                               size_t *len)
{
    double deadline = raw_now() + timeout_ms / 1000.0;
    uint8_t h[FRAME_HEADER_SIZE];
    enum raw_status st;
    uint32_t n;
    uint8_t *buf;

    *payload = NULL;
    *len = 0;
    st = raw_read_exact(fd, h, sizeof(h), deadline);
    if (st != RAW_OK)
        return st;
    n = frame_get_header(h);
    if (n > (1u << 24))
        return RAW_ERROR;
    buf = malloc(n > 0 ? n : 1);
    if (buf == NULL)
        return RAW_ERROR;
    st = raw_read_exact(fd, buf, n, deadline);
    if (st != RAW_OK) {
        free(buf);
        return st == RAW_EOF ? RAW_ERROR : st;
    }
    *payload = buf;
    *len = n;
    return RAW_OK;
}

enum raw_status raw_read_reply(int fd, int timeout_ms, struct raw_reply *out)
{
    Syncd__ServerMessage *m;
    const Syncd__Reply *r;
    uint8_t *payload;
    size_t len;
    enum raw_status st = raw_read_frame(fd, timeout_ms, &payload, &len);

    memset(out, 0, sizeof(*out));
    if (st != RAW_OK)
        return st;
    m = syncd__server_message__unpack(NULL, len, payload);
    free(payload);
    if (m == NULL)
        return RAW_ERROR;
    if (m->msg_case == SYNCD__SERVER_MESSAGE__MSG_REPLY && m->reply != NULL) {
        r = m->reply;
        out->is_reply = true;
        out->id = r->id;
        out->code = r->code;
        if (r->message != NULL)
            snprintf(out->message, sizeof(out->message), "%s", r->message);
        out->result_case = (int)r->result_case;
        switch (r->result_case) {
        case SYNCD__REPLY__RESULT_HELLO:
            out->version = r->hello->version;
            out->max_frame = r->hello->max_frame;
            out->caps = r->hello->capabilities;
            out->epoch = r->hello->epoch;
            out->grace_ms = r->hello->grace_ms;
            break;
        case SYNCD__REPLY__RESULT_OPEN:
            out->handle = r->open->handle;
            break;
        case SYNCD__REPLY__RESULT_ACQUIRE:
            out->token = r->acquire->fencing_token;
            out->owner_died = r->acquire->owner_died;
            break;
        case SYNCD__REPLY__RESULT_QUERY:
            out->value = r->query->value;
            break;
        default:
            break;
        }
    }
    syncd__server_message__free_unpacked(m, NULL);
    return RAW_OK;
}

enum raw_status raw_expect_eof(int fd, int timeout_ms)
{
    double deadline = raw_now() + timeout_ms / 1000.0;
    uint8_t *payload;
    size_t len;
    enum raw_status st;
    int left;

    for (;;) {
        left = (int)((deadline - raw_now()) * 1000.0);
        st = raw_read_frame(fd, left > 0 ? left : 0, &payload, &len);
        if (st != RAW_OK)
            return st;
        free(payload);
    }
}

/* ---- well-formed requests ------------------------------------------------ */

int raw_send_hello(int fd, uint64_t id, uint32_t version)
{
    return raw_send_hello_caps(fd, id, version, 0);
}

int raw_send_hello_caps(int fd, uint64_t id, uint32_t version, uint32_t caps)
{
    Syncd__Request rq = SYNCD__REQUEST__INIT;
    Syncd__Hello h = SYNCD__HELLO__INIT;

    h.version = version;
    h.capabilities = caps;
    h.pid = (uint32_t)getpid();
    h.client_name = (char *)"rawsock";
    rq.id = id;
    rq.op_case = SYNCD__REQUEST__OP_HELLO;
    rq.hello = &h;
    return raw_send_request(fd, &rq);
}

enum raw_status raw_hello_at(const char *sock, uint32_t version,
                             struct raw_reply *out)
{
    enum raw_status st;
    int fd = raw_connect(sock);

    if (fd < 0)
        return RAW_ERROR;
    st = raw_send_hello(fd, 1, version) == 0 ? raw_read_reply(fd, 5000, out)
                                             : RAW_ERROR;
    close(fd);
    return st;
}

/* Read the reply to a request just sent; its code or RAW_NO_REPLY. */
static int raw_reply_code(int fd, struct raw_reply *out)
{
    enum raw_status st = raw_read_reply(fd, RAW_REPLY_MS, out);

    if (st != RAW_OK)
        return RAW_NO_REPLY(st);
    return out->code;
}

int raw_hello(int fd)
{
    struct raw_reply r;

    if (raw_send_hello(fd, 1, 1) != 0)
        return RAW_NO_REPLY(RAW_ERROR);
    return raw_reply_code(fd, &r);
}

int raw_open(int fd, uint64_t id, const char *name, size_t name_len,
             int type, uint32_t value, uint32_t *handle)
{
    Syncd__Request rq = SYNCD__REQUEST__INIT;
    Syncd__Open o = SYNCD__OPEN__INIT;
    struct raw_reply r;
    int code;

    o.name.data = (uint8_t *)name;
    o.name.len = name_len;
    o.type = (Syncd__ObjectType)type;
    o.value = value;
    rq.id = id;
    rq.op_case = SYNCD__REQUEST__OP_OPEN;
    rq.open = &o;
    if (raw_send_request(fd, &rq) != 0)
        return RAW_NO_REPLY(RAW_ERROR);
    code = raw_reply_code(fd, &r);
    *handle = r.handle;
    return code;
}

int raw_acquire(int fd, uint64_t id, uint32_t handle, int64_t timeout_us,
                struct raw_reply *out)
{
    Syncd__Request rq = SYNCD__REQUEST__INIT;
    Syncd__Acquire a = SYNCD__ACQUIRE__INIT;

    a.handle = handle;
    a.timeout_us = timeout_us;
    rq.id = id;
    rq.op_case = SYNCD__REQUEST__OP_ACQUIRE;
    rq.acquire = &a;
    if (raw_send_request(fd, &rq) != 0)
        return RAW_NO_REPLY(RAW_ERROR);
    return raw_reply_code(fd, out);
}

int raw_release(int fd, uint64_t id, uint32_t handle)
{
    Syncd__Request rq = SYNCD__REQUEST__INIT;
    Syncd__Release rl = SYNCD__RELEASE__INIT;
    struct raw_reply r;

    rl.handle = handle;
    rl.n = 1;
    rq.id = id;
    rq.op_case = SYNCD__REQUEST__OP_RELEASE;
    rq.release = &rl;
    if (raw_send_request(fd, &rq) != 0)
        return RAW_NO_REPLY(RAW_ERROR);
    return raw_reply_code(fd, &r);
}
