/*
 * floor_server.c: the floor for syncbench.  A minimal libuv Unix-socket
 * server speaking fixed-size binary messages (struct floor_req in, struct
 * floor_rep out; no framing, no protobuf, no names, no handles, no
 * ownership, no deadlines) that implements the same message pattern as
 * syncd: an answered acquire/release of a Lock, counting semaphores whose
 * waiters are granted in FIFO order, and an Event whose set answers every
 * waiter.  Replies produced while handling one read (including grants to
 * other clients) are appended to per-session buffers and flushed with
 * uv_try_write at the end of that read callback; only what the kernel did
 * not take is queued.  Whatever syncd costs beyond this is its own.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "syncbench.h"

struct fsess;

struct fwaiter {
    struct fsess *s;
    uint64_t id;
    struct fwaiter *next;
};

struct fobj {
    uint32_t type; /* 0: unused */
    uint32_t value; /* lock: 1 free / 0 held; sem: permits; event: flag */
    struct fwaiter *head, *tail;
};

struct fsess {
    uv_pipe_t pipe;
    uint8_t in[64 * 1024];
    size_t in_len;
    uint8_t *out;
    size_t out_len, out_cap;
    bool dirty, closing;
    struct fsess *next_dirty;
};

static struct fobj objs[FLOOR_NOBJ];
static struct fwaiter *free_waiters;
static struct fsess *dirty_list;
static uv_pipe_t listener;
static uv_signal_t sigterm;

uint32_t floor_name_slot(const char *name)
{
    uint32_t h = 2166136261u;

    for (; *name != '\0'; name++)
        h = (h ^ (uint8_t)*name) * 16777619u;
    return h % FLOOR_NOBJ;
}

static void reply(struct fsess *s, uint64_t id, int32_t code)
{
    struct floor_rep r = {.id = id, .code = code};

    if (s->closing)
        return;
    if (s->out_len + sizeof(r) > s->out_cap) {
        size_t cap = s->out_cap ? s->out_cap * 2 : 4096;
        uint8_t *p = realloc(s->out, cap);

        if (p == NULL)
            abort();
        s->out = p;
        s->out_cap = cap;
    }
    memcpy(s->out + s->out_len, &r, sizeof(r));
    s->out_len += sizeof(r);
    if (!s->dirty) {
        s->dirty = true;
        s->next_dirty = dirty_list;
        dirty_list = s;
    }
}

static void enqueue(struct fobj *o, struct fsess *s, uint64_t id)
{
    struct fwaiter *w = free_waiters;

    if (w != NULL)
        free_waiters = w->next;
    else if ((w = malloc(sizeof(*w))) == NULL)
        abort();
    w->s = s;
    w->id = id;
    w->next = NULL;
    if (o->tail != NULL)
        o->tail->next = w;
    else
        o->head = w;
    o->tail = w;
}

static struct fwaiter *dequeue(struct fobj *o)
{
    struct fwaiter *w = o->head;

    if (w != NULL) {
        o->head = w->next;
        if (o->head == NULL)
            o->tail = NULL;
    }
    return w;
}

static void waiter_free(struct fwaiter *w)
{
    w->next = free_waiters;
    free_waiters = w;
}

static void handle(struct fsess *s, const struct floor_req *q)
{
    struct fobj *o = &objs[q->obj % FLOOR_NOBJ];
    struct fwaiter *w;

    switch (q->op) {
    case FLOOR_OPEN:
        if (o->type == 0) {
            o->type = q->arg >> 24;
            o->value = o->type == FLOOR_T_LOCK ? 1 :
                       o->type == FLOOR_T_SEM ? (q->arg & 0xffffffu) : 0;
        }
        reply(s, q->id, 0);
        return;
    case FLOOR_CLOSE:
        reply(s, q->id, 0);
        return;
    case FLOOR_ACQUIRE:
        if (o->value > 0) {
            o->value--;
            reply(s, q->id, 0);
        } else {
            enqueue(o, s, q->id);
        }
        return;
    case FLOOR_RELEASE:
        if ((w = dequeue(o)) != NULL) { /* FIFO grant, permit moves over */
            reply(w->s, w->id, 0);
            waiter_free(w);
        } else {
            o->value++;
        }
        reply(s, q->id, 0);
        return;
    case FLOOR_EV_WAIT:
        if (o->value)
            reply(s, q->id, 0);
        else
            enqueue(o, s, q->id);
        return;
    case FLOOR_EV_SET:
        o->value = 1;
        while ((w = dequeue(o)) != NULL) {
            reply(w->s, w->id, 0);
            waiter_free(w);
        }
        reply(s, q->id, 0);
        return;
    case FLOOR_EV_CLEAR:
        o->value = 0;
        reply(s, q->id, 0);
        return;
    default:
        reply(s, q->id, -3);
    }
}

static void write_done(uv_write_t *req, int status)
{
    (void)status;
    free(req);
}

static void flush(struct fsess *s)
{
    uv_buf_t b = uv_buf_init((char *)s->out, (unsigned)s->out_len);
    int n = uv_try_write((uv_stream_t *)&s->pipe, &b, 1);

    if (n < 0)
        n = 0;
    if ((size_t)n < s->out_len) { /* queue the rest, copied */
        size_t rest = s->out_len - (size_t)n;
        uv_write_t *req = malloc(sizeof(*req) + rest);

        if (req == NULL)
            abort();
        memcpy(req + 1, s->out + n, rest);
        b = uv_buf_init((char *)(req + 1), (unsigned)rest);
        if (uv_write(req, (uv_stream_t *)&s->pipe, &b, 1, write_done) != 0)
            free(req);
    }
    s->out_len = 0;
}

static void flush_dirty(void)
{
    while (dirty_list != NULL) {
        struct fsess *s = dirty_list;

        dirty_list = s->next_dirty;
        s->dirty = false;
        if (!s->closing)
            flush(s);
        else
            s->out_len = 0;
    }
}

static void sess_free(uv_handle_t *h)
{
    struct fsess *s = h->data;

    free(s->out);
    free(s);
}

/* Drop a closing session's waiters (a benchmark process died). */
static void sess_forget(struct fsess *s)
{
    uint32_t i;

    for (i = 0; i < FLOOR_NOBJ; i++) {
        struct fwaiter **pp = &objs[i].head, *w;

        objs[i].tail = NULL;
        while ((w = *pp) != NULL) {
            if (w->s == s) {
                *pp = w->next;
                waiter_free(w);
            } else {
                objs[i].tail = w;
                pp = &w->next;
            }
        }
    }
}

static void alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    struct fsess *s = h->data;

    (void)hint;
    *buf = uv_buf_init((char *)s->in + s->in_len,
                       (unsigned)(sizeof(s->in) - s->in_len));
}

static void read_cb(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
    struct fsess *s = st->data;
    size_t off = 0;

    (void)buf;
    if (n < 0) {
        s->closing = true;
        sess_forget(s);
        flush_dirty();
        uv_close((uv_handle_t *)st, sess_free);
        return;
    }
    s->in_len += (size_t)n;
    while (s->in_len - off >= sizeof(struct floor_req)) {
        struct floor_req q;

        memcpy(&q, s->in + off, sizeof(q));
        handle(s, &q);
        off += sizeof(q);
    }
    memmove(s->in, s->in + off, s->in_len - off);
    s->in_len -= off;
    flush_dirty();
}

static void on_conn(uv_stream_t *server, int status)
{
    struct fsess *s;

    if (status < 0 || (s = calloc(1, sizeof(*s))) == NULL)
        return;
    uv_pipe_init(server->loop, &s->pipe, 0);
    s->pipe.data = s;
    if (uv_accept(server, (uv_stream_t *)&s->pipe) != 0) {
        uv_close((uv_handle_t *)&s->pipe, sess_free);
        return;
    }
    uv_read_start((uv_stream_t *)&s->pipe, alloc_cb, read_cb);
}

static void on_term(uv_signal_t *h, int signum)
{
    (void)signum;
    uv_stop(h->loop);
}

int floor_server_run(const char *path)
{
    uv_loop_t *loop = uv_default_loop();
    int rv;

    signal(SIGPIPE, SIG_IGN);
    unlink(path);
    uv_pipe_init(loop, &listener, 0);
    if ((rv = uv_pipe_bind(&listener, path)) != 0 ||
        (rv = uv_listen((uv_stream_t *)&listener, 4096, on_conn)) != 0) {
        fprintf(stderr, "floor_server: %s: %s\n", path, uv_strerror(rv));
        return 1;
    }
    uv_signal_init(loop, &sigterm);
    uv_signal_start(&sigterm, on_term, SIGTERM);
    uv_run(loop, UV_RUN_DEFAULT);
    unlink(path);
    return 0;
}
