/*
 * etcd_loop.c: single etcd calls run on the event loop, over HTTP/1.1
 * connections of its own (uv_tcp, kept alive between calls).  It serves
 * the one call that decides an uncontended Lock acquire or a release, so
 * those need no worker thread: a hand-over to a worker and back costs two
 * wake-ups across threads, about a tenth of the call on a busy 2-CPU host.
 * It speaks HTTP itself rather than through libcurl's multi interface:
 * that one POST and its answer are all it needs, and curl's per-transfer
 * work (handle set-up, socket and timer callbacks, poll changes) cost
 * 60-100 us a call, two per Lock acquire + release (bench/README.md,
 * "Cluster").  Members reached over TLS get no loop (etcd_loop_new says
 * NULL): their calls run on the workers, through libcurl.
 */
#include "cluster/etcd_loop.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/http_answer.h"
#include "list.h"
#include "log.h"
#include "syncclient.h"

#define ETCD_LOOP_BODY_MAX (4u << 20) /* as etcd.c's worker calls */
#define ETCD_LOOP_IDLE_MAX 8          /* idle connections kept */
/* What a connection may read of one answer: the body, its head and the
 * chunks' framing. */
#define ETCD_LOOP_READ_MAX (ETCD_LOOP_BODY_MAX + 65536)
#define ETCD_LOOP_READ_KEEP 65536     /* an idle connection's buffer, at most */

/* Where member i is: its address's parts, from its URL. */
struct etcd_loop_member {
    char host[256];  /* without IPv6's brackets */
    char port[8];
    char authority[280]; /* the Host header: host:port as in the URL */
    char base[64];   /* a path the URL had after the authority, or "" */
};

struct etcd_loop {
    struct etcd *e;            /* borrowed */
    uv_loop_t *loop;           /* borrowed */
    struct etcd_loop_member members[ETCD_MAX_ENDPOINTS];
    struct list_node idle;     /* struct etcd_loop_conn, ready for a call */
    size_t n_idle;
    size_t n_conns;            /* not yet freed, idle or not */
    bool closing;
    void (*closed)(void *arg); /* etcd_loop_close's */
    void *closed_arg;
};

/* One call: its request and whom to tell. */
struct etcd_loop_call {
    char *request;             /* owned: head and body */
    size_t request_len;
    char path[64];
    int64_t t0_us;
    bool resent;               /* once, after a kept-alive conn closed */
    etcd_loop_fn fn;
    void *arg;
};

/* One connection to a member, carrying one call at a time. */
struct etcd_loop_conn {
    struct list_node link;     /* in etcd_loop.idle while idle */
    struct etcd_loop *l;
    size_t ep;                 /* the member */
    uv_tcp_t tcp;
    uv_timer_t timer;          /* the call's time limit */
    uv_connect_t connect;
    uv_write_t write;
    uv_getaddrinfo_t resolve;
    struct etcd_loop_call *call; /* in flight, or NULL */
    char *out;                 /* owned: a request still being written
                                  when its call ended */
    char *in;                  /* owned: what was read of the answer */
    size_t in_len, in_cap;
    int refs;                  /* tcp, timer, a lookup: freed at 0 */
    bool writing, dead;
    bool reused;               /* from the idle pool: connected, and
                                  carried a call before this one */
    bool resolving;            /* a lookup of the member's name pending */
    unsigned addr_skip;        /* addresses of the name tried before */
    bool more_addrs;           /* the name has addresses after this one */
    bool posting;              /* in etcd_loop_post: no callback yet */
    const char *why;           /* a failure while posting, told later */
};

/* Parse member URL ("http://host[:port][/base]") into m; false if it is
 * not one this client can reach. */
static bool etcd_loop_member_parse(struct etcd_loop_member *m,
                                   const char *url)
{
    const char *auth, *slash, *colon;
    size_t alen, hlen;

    if (strncmp(url, "http://", 7) != 0)
        return false;
    auth = url + 7;
    slash = strchr(auth, '/');
    alen = slash ? (size_t)(slash - auth) : strlen(auth);
    if (alen == 0 ||
        alen >= sizeof(m->authority) ||
        (slash && strlen(slash) >= sizeof(m->base)))
        return false;
    memcpy(m->authority, auth, alen);
    m->authority[alen] = '\0';
    snprintf(m->base, sizeof(m->base), "%s", slash ? slash : "");
    if (auth[0] == '[') { /* [v6]:port */
        const char *close = memchr(auth, ']', alen);

        if (close == NULL)
            return false;
        hlen = (size_t)(close - auth - 1);
        if (hlen >= sizeof(m->host))
            return false;
        memcpy(m->host, auth + 1, hlen);
        colon = close + 1 < auth + alen && close[1] == ':' ? close + 1 : NULL;
    } else {
        colon = memchr(auth, ':', alen);
        hlen = colon ? (size_t)(colon - auth) : alen;
        if (hlen >= sizeof(m->host))
            return false;
        memcpy(m->host, auth, hlen);
    }
    m->host[hlen] = '\0';
    if (colon != NULL) {
        size_t plen = (size_t)(auth + alen - colon - 1);

        if (plen == 0 || plen >= sizeof(m->port))
            return false;
        memcpy(m->port, colon + 1, plen);
        m->port[plen] = '\0';
    } else {
        strcpy(m->port, "80");
    }
    return hlen > 0;
}

struct etcd_loop *etcd_loop_new(struct etcd *e, uv_loop_t *loop)
{
    struct etcd_loop *l;
    size_t i;

    l = calloc(1, sizeof(*l));
    if (l == NULL)
        return NULL;
    l->e = e;
    l->loop = loop;
    list_init(&l->idle);
    for (i = 0; i < etcd_n_endpoints(e); i++)
        if (!etcd_loop_member_parse(&l->members[i], etcd_endpoint(e, i))) {
            log_info("cluster: %s: not plain http://, so every etcd call "
                     "goes through the workers (libcurl)", etcd_endpoint(e, i));
            free(l);
            return NULL;
        }
    return l;
}

static void etcd_loop_call_free(struct etcd_loop_call *k)
{
    free(k->request);
    free(k);
}

static void etcd_loop_maybe_closed(struct etcd_loop *l)
{
    if (l->closing && l->n_conns == 0) {
        void (*closed)(void *arg) = l->closed;
        void *arg = l->closed_arg;

        free(l);
        closed(arg);
    }
}

static void etcd_loop_conn_unref(struct etcd_loop_conn *c)
{
    struct etcd_loop *l = c->l;

    if (--c->refs > 0)
        return;
    free(c->in);
    free(c->out);
    free(c);
    l->n_conns--;
    etcd_loop_maybe_closed(l);
}

static void etcd_loop_conn_handle_closed(uv_handle_t *h)
{
    etcd_loop_conn_unref(h->data);
}

/* End the connection (its call, if any, was answered already). */
static void etcd_loop_conn_close(struct etcd_loop_conn *c)
{
    if (c->dead)
        return;
    c->dead = true;
    if (c->resolving) /* its callback still runs, told UV_EAI_CANCELED */
        uv_cancel((uv_req_t *)&c->resolve);
    if (!list_empty(&c->link)) {
        list_remove(&c->link);
        c->l->n_idle--;
    }
    uv_close((uv_handle_t *)&c->timer, etcd_loop_conn_handle_closed);
    uv_close((uv_handle_t *)&c->tcp, etcd_loop_conn_handle_closed);
}

/* The connection is free again: keep it for the next call (reading on,
 * to notice the member closing it) or end it. */
static void etcd_loop_conn_idle(struct etcd_loop_conn *c)
{
    struct etcd_loop *l = c->l;

    if (c->dead || c->call != NULL || c->writing)
        return;
    if (l->closing || l->n_idle >= ETCD_LOOP_IDLE_MAX) {
        etcd_loop_conn_close(c);
        return;
    }
    c->in_len = 0;
    if (c->in_cap > ETCD_LOOP_READ_KEEP) { /* one large answer: let it go */
        free(c->in);
        c->in = NULL;
        c->in_cap = 0;
    }
    list_insert_tail(&l->idle, &c->link);
    l->n_idle++;
}

/* The call on c ended: with an answer (a, its body in c->in) or without
 * one.  Its callback runs last, when c is already idle or closing, so it
 * may post the next call at once. */
static void etcd_loop_finish(struct etcd_loop_conn *c,
                             const struct http_answer *a)
{
    struct etcd_loop_call *k = c->call;
    json_t *out;
    int rv;

    c->call = NULL;
    uv_timer_stop(&c->timer);
    if (c->writing) { /* the write still reads it */
        c->out = k->request;
        k->request = NULL;
    }
    rv = etcd_attempt_end(c->l->e, c->ep, k->path, a != NULL,
                          a ? a->status : 0, a ? a->body : NULL,
                          a ? a->body_len : 0, k->t0_us, &out);
    /* Answered before its request was all written: the member will not
     * read the rest as a request of ours, so the connection ends. */
    if (a == NULL || !a->keep_alive || c->writing)
        etcd_loop_conn_close(c);
    else
        etcd_loop_conn_idle(c);
    k->fn(rv, out, k->arg);
    etcd_loop_call_free(k);
}

static void etcd_loop_timer_cb(uv_timer_t *t);

static void etcd_loop_fail(struct etcd_loop_conn *c, const char *why)
{
    if (c->posting) { /* fn must not run before etcd_loop_post returns */
        c->why = why;
        uv_timer_start(&c->timer, etcd_loop_timer_cb, 0, 0);
        return;
    }
    log_debug("cluster: etcd %s: %s", etcd_endpoint(c->l->e, c->ep), why);
    if (c->call != NULL)
        etcd_loop_finish(c, NULL);
    etcd_loop_conn_close(c);
}

static void etcd_loop_timer_cb(uv_timer_t *t)
{
    struct etcd_loop_conn *c = t->data;

    etcd_loop_fail(c, c->why != NULL ? c->why : "no answer in time");
}

static void etcd_loop_conn_open(struct etcd_loop_conn *c);
static struct etcd_loop_conn *etcd_loop_conn_new(struct etcd_loop *l,
                                                 size_t ep);

/* Carry c's call on to a fresh connection to the same member, within what
 * is left of the call's time limit, skipping the first skip addresses the
 * member's name resolves to; c ends.  False, with nothing changed, when no
 * time is left or memory is short. */
static bool etcd_loop_move_call(struct etcd_loop_conn *c, unsigned skip)
{
    struct etcd_loop_call *k = c->call;
    struct etcd_loop_conn *fresh;
    int64_t left_ms = (int64_t)etcd_call_ms(c->l->e) -
                      (etcd_clock_us() - k->t0_us) / 1000;

    if (c->l->closing || left_ms <= 0 ||
        (fresh = etcd_loop_conn_new(c->l, c->ep)) == NULL)
        return false;
    c->call = NULL;
    etcd_loop_conn_close(c);
    fresh->call = k;
    fresh->addr_skip = skip;
    uv_update_time(c->l->loop);
    uv_timer_start(&fresh->timer, etcd_loop_timer_cb, (uint64_t)left_ms, 0);
    etcd_loop_conn_open(fresh);
    return true;
}

/* A kept-alive connection that the member closed before any answer: its
 * close of an idle connection crossed our request.  Send the call once
 * more on a fresh connection, as libcurl does, rather than count it as
 * the member failing (a fail-over, and the job handed to a worker).  The
 * transactions are safe to arrive twice (docs/cluster.md, "Exactly
 * once").  False: not such a case; fail the call. */
static bool etcd_loop_resend(struct etcd_loop_conn *c)
{
    struct etcd_loop_call *k = c->call;

    if (k == NULL || k->resent || !c->reused || c->in_len > 0 ||
        !etcd_loop_move_call(c, 0))
        return false;
    k->resent = true;
    log_debug("cluster: etcd %s closed a kept-alive connection before "
              "answering: %s sent again on a new one",
              etcd_endpoint(c->l->e, c->ep), k->path);
    return true;
}

static void etcd_loop_alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    struct etcd_loop_conn *c = h->data;
    size_t need = c->in_len + 4096 + 1, want;
    char *p;

    (void)hint; /* libuv's 64 KiB: most answers are under 1 KiB */
    if (need > c->in_cap && c->in_cap < ETCD_LOOP_READ_MAX) {
        /* Doubling: a large answer is copied O(n) times in all, not n^2. */
        want = c->in_cap * 2 > need ? c->in_cap * 2 : need;
        if (want < 16384)
            want = 16384;
        if (want > ETCD_LOOP_READ_MAX)
            want = ETCD_LOOP_READ_MAX;
        p = realloc(c->in, want);
        if (p != NULL) {
            c->in = p;
            c->in_cap = want;
        }
    }
    /* One byte kept for a NUL; no room: the read fails (UV_ENOBUFS). */
    *buf = uv_buf_init(c->in ? c->in + c->in_len : NULL,
                       c->in && c->in_cap > c->in_len + 1
                           ? (unsigned)(c->in_cap - c->in_len - 1)
                           : 0);
}

static void etcd_loop_read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    struct etcd_loop_conn *c = s->data;
    struct http_answer a;
    enum http_parse r;

    (void)buf;
    if (n == 0)
        return;
    if (c->call == NULL) { /* idle: the member closed it, or sent junk */
        etcd_loop_conn_close(c);
        return;
    }
    if (n > 0)
        c->in_len += (size_t)n;
    /* Only the member's orderly close ends a body that runs to it. */
    r = http_answer_parse(c->in, c->in_len, n == UV_EOF, ETCD_LOOP_BODY_MAX,
                          &a);
    if (r == HTTP_MORE && n > 0)
        return;
    if (r == HTTP_DONE) {
        c->in[(a.body - c->in) + a.body_len] = '\0';
        etcd_loop_finish(c, &a);
        return;
    }
    if (n < 0 && etcd_loop_resend(c))
        return;
    etcd_loop_fail(c, n < 0 && n != UV_EOF ? uv_strerror((int)n)
                      : n < 0 ? "connection closed before the answer"
                              : "not an HTTP answer");
}

static void etcd_loop_write_cb(uv_write_t *w, int status)
{
    struct etcd_loop_conn *c = w->data;

    c->writing = false;
    free(c->out);
    c->out = NULL;
    if (status < 0 && status != UV_ECANCELED) {
        if (!etcd_loop_resend(c))
            etcd_loop_fail(c, uv_strerror(status));
        return;
    }
    etcd_loop_conn_idle(c); /* if the answer came first */
}

static void etcd_loop_send(struct etcd_loop_conn *c)
{
    struct etcd_loop_call *k = c->call;
    uv_buf_t b = uv_buf_init(k->request, (unsigned)k->request_len);
    int rv;

    c->in_len = 0;
    c->write.data = c;
    rv = uv_write(&c->write, (uv_stream_t *)&c->tcp, &b, 1,
                  etcd_loop_write_cb);
    if (rv < 0) {
        etcd_loop_fail(c, uv_strerror(rv));
        return;
    }
    c->writing = true;
}

static void etcd_loop_connect_cb(uv_connect_t *req, int status)
{
    struct etcd_loop_conn *c = req->data;
    int rv;

    if (status == UV_ECANCELED || c->dead)
        return;
    /* A name with several addresses (localhost: ::1 and 127.0.0.1) may
     * be served on one only: try the next, as libcurl would. */
    if (status < 0 && c->more_addrs &&
        etcd_loop_move_call(c, c->addr_skip + 1))
        return;
    if (status < 0) {
        etcd_loop_fail(c, uv_strerror(status));
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    rv = uv_read_start((uv_stream_t *)&c->tcp, etcd_loop_alloc_cb,
                       etcd_loop_read_cb);
    if (rv < 0) {
        etcd_loop_fail(c, uv_strerror(rv));
        return;
    }
    etcd_loop_send(c);
}

static void etcd_loop_connect(struct etcd_loop_conn *c,
                              const struct sockaddr *addr)
{
    int rv;

    c->connect.data = c;
    rv = uv_tcp_connect(&c->connect, &c->tcp, addr, etcd_loop_connect_cb);
    if (rv < 0)
        etcd_loop_fail(c, uv_strerror(rv));
}

static void etcd_loop_resolved_cb(uv_getaddrinfo_t *req, int status,
                                  struct addrinfo *res)
{
    struct etcd_loop_conn *c = req->data;
    struct addrinfo *ai = status == 0 ? res : NULL;
    unsigned i;

    c->resolving = false;
    for (i = 0; ai != NULL && i < c->addr_skip; i++)
        ai = ai->ai_next;
    if (!c->dead && ai == NULL)
        etcd_loop_fail(c, status < 0 ? uv_strerror(status) : "no address");
    else if (!c->dead) {
        c->more_addrs = ai->ai_next != NULL;
        etcd_loop_connect(c, ai->ai_addr);
    }
    uv_freeaddrinfo(res);
    etcd_loop_conn_unref(c); /* the lookup's */
}

/* Reach the member: a numeric address at once, a name through a lookup
 * (libuv's thread pool: the loop does not wait for it). */
static void etcd_loop_conn_open(struct etcd_loop_conn *c)
{
    const struct etcd_loop_member *m = &c->l->members[c->ep];
    struct sockaddr_storage ss;
    struct addrinfo hints;
    int port = atoi(m->port), rv;

    if (uv_ip4_addr(m->host, port, (struct sockaddr_in *)&ss) == 0 ||
        uv_ip6_addr(m->host, port, (struct sockaddr_in6 *)&ss) == 0) {
        etcd_loop_connect(c, (const struct sockaddr *)&ss);
        return;
    }
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    c->resolve.data = c;
    rv = uv_getaddrinfo(c->l->loop, &c->resolve, etcd_loop_resolved_cb,
                        m->host, m->port, &hints);
    if (rv < 0) {
        etcd_loop_fail(c, uv_strerror(rv));
        return;
    }
    c->resolving = true;
    c->refs++;
}

static struct etcd_loop_conn *etcd_loop_conn_new(struct etcd_loop *l,
                                                 size_t ep)
{
    struct etcd_loop_conn *c = calloc(1, sizeof(*c));

    if (c == NULL)
        return NULL;
    c->l = l;
    c->ep = ep;
    list_init(&c->link);
    if (uv_tcp_init(l->loop, &c->tcp) != 0) {
        free(c);
        return NULL;
    }
    uv_timer_init(l->loop, &c->timer);
    c->tcp.data = c;
    c->timer.data = c;
    c->refs = 2;
    l->n_conns++;
    return c;
}

/* An idle connection to member ep, or a new one (not yet connected). */
static struct etcd_loop_conn *etcd_loop_conn_get(struct etcd_loop *l,
                                                 size_t ep)
{
    struct list_node *n, *t;
    struct etcd_loop_conn *c;

    list_foreach_safe(n, t, &l->idle) {
        c = container_of(n, struct etcd_loop_conn, link);
        if (c->ep == ep) {
            list_remove(&c->link);
            l->n_idle--;
            c->reused = true;
            return c;
        }
    }
    return etcd_loop_conn_new(l, ep);
}

static struct etcd_loop_call *etcd_loop_call_new(struct etcd_loop *l,
                                                 size_t ep, const char *path,
                                                 json_t *body)
{
    const struct etcd_loop_member *m = &l->members[ep];
    struct etcd_loop_call *k = calloc(1, sizeof(*k));
    char *text = json_dumps(body, JSON_COMPACT);
    size_t tlen = text ? strlen(text) : 0;
    int head;

    if (k == NULL || text == NULL || strlen(path) >= sizeof(k->path))
        goto fail;
    snprintf(k->path, sizeof(k->path), "%s", path);
    k->request = malloc(tlen + 512 + strlen(m->authority));
    if (k->request == NULL)
        goto fail;
    head = sprintf(k->request,
                   "POST %s%s HTTP/1.1\r\nHost: %s\r\n"
                   "Content-Type: application/json\r\n"
                   "Content-Length: %zu\r\n\r\n",
                   m->base, path, m->authority, tlen);
    memcpy(k->request + head, text, tlen);
    k->request_len = (size_t)head + tlen;
    free(text);
    return k;
fail:
    free(text);
    if (k != NULL)
        free(k->request);
    free(k);
    return NULL;
}

int etcd_loop_post(struct etcd_loop *l, const char *path, json_t *body,
                   etcd_loop_fn fn, void *arg)
{
    size_t ep = etcd_current(l->e);
    struct etcd_loop_call *k = etcd_loop_call_new(l, ep, path, body);
    struct etcd_loop_conn *c;

    if (k == NULL)
        return SYNC_ENOMEM;
    c = etcd_loop_conn_get(l, ep);
    if (c == NULL) {
        etcd_loop_call_free(k);
        return SYNC_ENOMEM;
    }
    k->fn = fn;
    k->arg = arg;
    k->t0_us = etcd_clock_us();
    c->call = k;
    /* Every failure from here on reaches fn through the loop: the timer
     * (at 0 ms when even the first step fails) keeps fn from running
     * before this returns. */
    uv_update_time(l->loop); /* the limit counts from now, not the tick */
    uv_timer_start(&c->timer, etcd_loop_timer_cb, etcd_call_ms(l->e), 0);
    c->posting = true;
    if (c->reused)
        etcd_loop_send(c);
    else
        etcd_loop_conn_open(c);
    c->posting = false;
    return 0;
}

void etcd_loop_close(struct etcd_loop *l, void (*closed)(void *arg),
                     void *arg)
{
    l->closed = closed;
    l->closed_arg = arg;
    l->closing = true;
    while (!list_empty(&l->idle))
        etcd_loop_conn_close(container_of(l->idle.next,
                                          struct etcd_loop_conn, link));
    etcd_loop_maybe_closed(l);
}
