/*
 * test_etcd_loop.c: etcd_loop.c's calls on the event loop against a fake
 * gateway on loopback (a uv_tcp server in the same loop that answers each
 * request as its script says): answers read, connections kept alive and
 * reused, a kept-alive connection closed by the member sent again on a new
 * one, and what counts as the member failing (fail-over to the next).
 */
#include <criterion/criterion.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "cluster/etcd.h"
#include "cluster/etcd_loop.h"
#include "syncclient.h"

enum fake_act {
    FAKE_ANSWER,       /* 200, JSON, Content-Length, kept alive */
    FAKE_ANSWER_CLOSE, /* the same with Connection: close, then closed */
    FAKE_CHUNKED,      /* 200, JSON in two chunks */
    FAKE_DROP,         /* close the connection without an answer */
    FAKE_503,          /* a gateway error */
    FAKE_SILENT,       /* never answer */
    FAKE_BIG,          /* 200 with a body of FAKE_BIG_LEN bytes */
};

/* Just under etcd_loop.c's 4 MiB limit on a body. */
#define FAKE_BIG_LEN ((4u << 20) - 1024)

struct fake_conn {
    uv_tcp_t tcp;
    struct fake *f;
    char buf[8192];
    size_t len;
};

struct fake {
    uv_tcp_t server;
    int port;
    enum fake_act script[8]; /* the answer to request i; then FAKE_ANSWER */
    int requests, accepts;
    char last_head[1024];    /* the last request's head */
    char last_body[1024];
};

static uv_loop_t loop;
static struct fake fake;
static struct etcd *etcd;
static struct etcd_loop *eloop;

static void fake_conn_closed(uv_handle_t *h)
{
    free(h->data);
}

static void fake_send(struct fake_conn *fc, const char *text)
{
    uv_buf_t b = uv_buf_init((char *)text, (unsigned)strlen(text));

    cr_assert_eq(uv_try_write((uv_stream_t *)&fc->tcp, &b, 1),
                 (int)strlen(text), "the fake's answer fits the socket");
}

static void fake_big_written(uv_write_t *w, int status)
{
    (void)status;
    free(w->data);
    free(w);
}

/* {"v":"xxx..."}, FAKE_BIG_LEN bytes in all, more than a socket takes at
 * once: written through a request that keeps the buffer. */
static void fake_send_big(struct fake_conn *fc)
{
    char *text = malloc(FAKE_BIG_LEN + 128);
    uv_write_t *w = malloc(sizeof(*w));
    int head = sprintf(text, "HTTP/1.1 200 OK\r\nContent-Length: %u\r\n\r\n",
                       FAKE_BIG_LEN);
    uv_buf_t b;

    cr_assert(text != NULL && w != NULL);
    memset(text + head, 'x', FAKE_BIG_LEN);
    memcpy(text + head, "{\"v\":\"", 6);
    memcpy(text + head + FAKE_BIG_LEN - 2, "\"}", 2);
    b = uv_buf_init(text, (unsigned)(head + FAKE_BIG_LEN));
    w->data = text;
    cr_assert_eq(uv_write(w, (uv_stream_t *)&fc->tcp, &b, 1,
                          fake_big_written), 0);
}

/* One whole request is in fc->buf: answer it as the script says. */
static bool fake_serve(struct fake_conn *fc)
{
    struct fake *f = fc->f;
    char *end = strstr(fc->buf, "\r\n\r\n"), *cl;
    size_t head, body;
    enum fake_act act;

    if (end == NULL)
        return false;
    head = (size_t)(end + 4 - fc->buf);
    cl = strstr(fc->buf, "Content-Length: ");
    body = cl != NULL && cl < end ? strtoul(cl + 16, NULL, 10) : 0;
    if (fc->len < head + body)
        return false;
    snprintf(f->last_head, sizeof(f->last_head), "%.*s", (int)head, fc->buf);
    snprintf(f->last_body, sizeof(f->last_body), "%.*s", (int)body,
             fc->buf + head);
    memmove(fc->buf, fc->buf + head + body, fc->len - head - body);
    fc->len -= head + body;
    fc->buf[fc->len] = '\0';
    act = f->requests < 8 ? f->script[f->requests] : FAKE_ANSWER;
    f->requests++;
    switch (act) {
    case FAKE_ANSWER:
        fake_send(fc, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                      "Content-Length: 29\r\n\r\n"
                      "{\"header\":{\"revision\":\"7\"}}\n\n");
        return true;
    case FAKE_ANSWER_CLOSE:
        fake_send(fc, "HTTP/1.1 200 OK\r\nConnection: close\r\n"
                      "Content-Length: 2\r\n\r\n{}");
        uv_close((uv_handle_t *)&fc->tcp, fake_conn_closed);
        return false;
    case FAKE_CHUNKED:
        fake_send(fc, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "5\r\n{\"a\":\r\n4\r\n\"b\"}\r\n0\r\n\r\n");
        return true;
    case FAKE_DROP:
        uv_close((uv_handle_t *)&fc->tcp, fake_conn_closed);
        return false;
    case FAKE_503:
        fake_send(fc, "HTTP/1.1 503 Service Unavailable\r\n"
                      "Content-Length: 0\r\n\r\n");
        return true;
    case FAKE_SILENT:
        return true;
    case FAKE_BIG:
        fake_send_big(fc);
        return true;
    }
    return true;
}

static void fake_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
    struct fake_conn *fc = h->data;

    (void)hint;
    *b = uv_buf_init(fc->buf + fc->len,
                     (unsigned)(sizeof(fc->buf) - fc->len - 1));
}

static void fake_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    struct fake_conn *fc = s->data;

    (void)b;
    if (n < 0) {
        uv_close((uv_handle_t *)s, fake_conn_closed);
        return;
    }
    fc->len += (size_t)n;
    fc->buf[fc->len] = '\0';
    while (fake_serve(fc))
        ;
}

static void fake_accept(uv_stream_t *server, int status)
{
    struct fake_conn *fc = calloc(1, sizeof(*fc));

    cr_assert_eq(status, 0);
    cr_assert_not_null(fc);
    fc->f = &fake;
    uv_tcp_init(&loop, &fc->tcp);
    fc->tcp.data = fc;
    cr_assert_eq(uv_accept(server, (uv_stream_t *)&fc->tcp), 0);
    fake.accepts++;
    uv_read_start((uv_stream_t *)&fc->tcp, fake_alloc, fake_read);
}

/* A port on loopback where nothing listens (bound, then let go). */
static int free_port(void)
{
    uv_tcp_t t;
    struct sockaddr_in a;
    struct sockaddr_storage got;
    int len = sizeof(got), port;

    uv_tcp_init(&loop, &t);
    uv_ip4_addr("127.0.0.1", 0, &a);
    cr_assert_eq(uv_tcp_bind(&t, (struct sockaddr *)&a, 0), 0);
    uv_tcp_getsockname(&t, (struct sockaddr *)&got, &len);
    port = ntohs(((struct sockaddr_in *)&got)->sin_port);
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(&loop, UV_RUN_NOWAIT);
    return port;
}

/* The fake as member 0 and a port where nothing listens as member 1, so
 * that a fail-over shows as etcd_current() moving to 1. */
static void setup(void)
{
    struct sockaddr_in a;
    struct sockaddr_storage got;
    int len = sizeof(got);
    struct etcd_tls tls = {0};
    const char *why;
    char urls[128];

    cr_assert_eq(uv_loop_init(&loop), 0);
    memset(&fake, 0, sizeof(fake));
    uv_tcp_init(&loop, &fake.server);
    uv_ip4_addr("127.0.0.1", 0, &a);
    cr_assert_eq(uv_tcp_bind(&fake.server, (struct sockaddr *)&a, 0), 0);
    cr_assert_eq(uv_listen((uv_stream_t *)&fake.server, 16, fake_accept), 0);
    uv_tcp_getsockname(&fake.server, (struct sockaddr *)&got, &len);
    fake.port = ntohs(((struct sockaddr_in *)&got)->sin_port);
    snprintf(urls, sizeof(urls), "http://127.0.0.1:%d,http://127.0.0.1:%d",
             fake.port, free_port());
    cr_assert_eq(etcd_new(&etcd, urls, &tls, 300, 1000, &why), 0);
    eloop = etcd_loop_new(etcd, &loop);
    cr_assert_not_null(eloop);
}

static void closed_cb(void *arg)
{
    *(bool *)arg = true;
}

/* Replace the loop's members by urls. */
static void use_urls(const char *urls)
{
    struct etcd_tls tls = {0};
    const char *why;
    bool closed = false;

    etcd_loop_close(eloop, closed_cb, &closed);
    while (!closed)
        uv_run(&loop, UV_RUN_ONCE);
    etcd_free(etcd);
    cr_assert_eq(etcd_new(&etcd, urls, &tls, 300, 1000, &why), 0, "%s", why);
    eloop = etcd_loop_new(etcd, &loop);
    cr_assert_not_null(eloop);
}

static void close_all(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, h == (uv_handle_t *)&fake.server ? NULL
                                                      : fake_conn_closed);
}

/* The loop closes with nothing left open: every handle was let go. */
static void teardown(void)
{
    bool closed = false;

    etcd_loop_close(eloop, closed_cb, &closed);
    uv_walk(&loop, close_all, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    cr_assert(closed, "etcd_loop_close's callback ran");
    cr_assert_eq(uv_loop_close(&loop), 0, "no handle left open");
    etcd_free(etcd);
}

TestSuite(etcd_loop, .init = setup, .fini = teardown, .timeout = 20);

struct result {
    bool done;
    int rv;
    json_t *out;
};

static void done_cb(int rv, json_t *out, void *arg)
{
    struct result *r = arg;

    cr_assert(!r->done, "a call ends once");
    r->done = true;
    r->rv = rv;
    r->out = out;
}

/* One call to /v3/kv/range, run on the loop until it ends. */
static struct result call(void)
{
    struct result r = {0};
    json_t *body = json_pack("{s:s}", "key", "YQ==");

    cr_assert_eq(etcd_loop_post(eloop, "/v3/kv/range", body, done_cb, &r), 0);
    json_decref(body);
    cr_assert(!r.done, "the callback never runs inside etcd_loop_post");
    while (!r.done)
        uv_run(&loop, UV_RUN_ONCE);
    return r;
}

static void assert_answered(struct result r)
{
    cr_assert_eq(r.rv, 0, "rv %d", r.rv);
    cr_assert_not_null(r.out);
    json_decref(r.out);
}

Test(etcd_loop, answers_and_reuses_the_connection)
{
    char host[64];
    struct result r = call();

    cr_assert_eq(r.rv, 0);
    cr_assert_str_eq(json_string_value(json_object_get(
                         json_object_get(r.out, "header"), "revision")),
                     "7");
    json_decref(r.out);
    assert_answered(call());
    cr_assert_eq(fake.requests, 2);
    cr_assert_eq(fake.accepts, 1, "the second call went on the first's "
                                  "connection");
    cr_assert(strncmp(fake.last_head, "POST /v3/kv/range HTTP/1.1\r\n", 28) ==
              0, "%s", fake.last_head);
    snprintf(host, sizeof(host), "Host: 127.0.0.1:%d\r\n", fake.port);
    cr_assert_not_null(strstr(fake.last_head, host), "%s", fake.last_head);
    cr_assert_str_eq(fake.last_body, "{\"key\":\"YQ==\"}");
    cr_assert_eq(etcd_current(etcd), 0);
}

Test(etcd_loop, chunked_answer_is_joined)
{
    struct result r;

    fake.script[0] = FAKE_CHUNKED;
    r = call();
    cr_assert_eq(r.rv, 0);
    cr_assert_str_eq(json_string_value(json_object_get(r.out, "a")), "b");
    json_decref(r.out);
    assert_answered(call());
    cr_assert_eq(fake.accepts, 1);
}

Test(etcd_loop, connection_close_answer_is_not_reused)
{
    fake.script[0] = FAKE_ANSWER_CLOSE;
    assert_answered(call());
    assert_answered(call());
    cr_assert_eq(fake.accepts, 2);
    cr_assert_eq(etcd_current(etcd), 0);
}

/* The member closed an idle connection as the next request went out: the
 * request is sent again on a new connection, and the member is not taken
 * for failed. */
Test(etcd_loop, kept_alive_connection_closed_is_sent_again)
{
    fake.script[1] = FAKE_DROP;
    assert_answered(call());
    assert_answered(call());
    cr_assert_eq(fake.requests, 3, "the dropped request came again");
    cr_assert_eq(fake.accepts, 2);
    cr_assert_eq(etcd_current(etcd), 0, "no fail-over");
    assert_answered(call());
    cr_assert_eq(fake.accepts, 2, "the new connection is kept alive");
}

/* Sent again once only: a member that keeps dropping has failed. */
Test(etcd_loop, dropped_twice_fails_over)
{
    fake.script[1] = FAKE_DROP;
    fake.script[2] = FAKE_DROP;
    assert_answered(call());
    cr_assert_eq(call().rv, SYNC_EUNAVAIL);
    cr_assert_eq(fake.requests, 3);
    cr_assert_eq(etcd_current(etcd), 1);
}

/* A fresh connection closed without an answer is the member failing. */
Test(etcd_loop, fresh_connection_dropped_fails_over)
{
    fake.script[0] = FAKE_DROP;
    cr_assert_eq(call().rv, SYNC_EUNAVAIL);
    cr_assert_eq(fake.requests, 1, "not sent again");
    cr_assert_eq(etcd_current(etcd), 1);
}

Test(etcd_loop, gateway_error_fails_over)
{
    fake.script[0] = FAKE_503;
    cr_assert_eq(call().rv, SYNC_EUNAVAIL);
    cr_assert_eq(etcd_current(etcd), 1);
}

Test(etcd_loop, silent_member_times_out_and_fails_over)
{
    uint64_t t0 = uv_hrtime();

    fake.script[0] = FAKE_SILENT;
    cr_assert_eq(call().rv, SYNC_EUNAVAIL);
    cr_assert_geq((uv_hrtime() - t0) / 1000000, 290,
                  "ended by the 300 ms call limit");
    cr_assert_eq(etcd_current(etcd), 1);
}

/* Member 1 refuses connections: the failure still comes through the
 * loop, after etcd_loop_post returned (call() checks), and moves on. */
Test(etcd_loop, refused_connection_fails_over)
{
    fake.script[0] = FAKE_503;
    cr_assert_eq(call().rv, SYNC_EUNAVAIL);
    cr_assert_eq(etcd_current(etcd), 1);
    cr_assert_eq(call().rv, SYNC_EUNAVAIL);
    cr_assert_eq(etcd_current(etcd), 0, "back to the fake");
    assert_answered(call());
}

Test(etcd_loop, tls_members_get_no_loop)
{
    struct etcd *e;
    struct etcd_tls tls = {0};
    const char *why;

    cr_assert_eq(etcd_new(&e, "http://127.0.0.1:1,https://127.0.0.1:2", &tls,
                          300, 1000, &why),
                 0);
    cr_assert_null(etcd_loop_new(e, &loop));
    etcd_free(e);
}

Test(etcd_loop, answer_near_the_body_limit_is_read)
{
    struct result r;

    fake.script[0] = FAKE_BIG;
    r = call();
    cr_assert_eq(r.rv, 0, "rv %d", r.rv);
    cr_assert_eq(strlen(json_string_value(json_object_get(r.out, "v"))),
                 FAKE_BIG_LEN - 8);
    json_decref(r.out);
    assert_answered(call()); /* and the connection goes on */
    cr_assert_eq(fake.accepts, 1);
}

/* A member given by name: looked up (libuv's thread pool), then reached. */
Test(etcd_loop, member_name_is_looked_up)
{
    char urls[64];

    snprintf(urls, sizeof(urls), "http://localhost:%d", fake.port);
    use_urls(urls);
    assert_answered(call());
    assert_answered(call());
    cr_assert_eq(fake.accepts, 1);
    cr_assert_eq(fake.requests, 2);
}

/* A name with two addresses, served on the second only (etcd listening
 * on 127.0.0.1 while localhost also says ::1): the second is tried, and
 * the member is not taken for failed.  Needs such a name here. */
Test(etcd_loop, name_served_on_its_second_address_is_reached)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res, *last;
    struct sockaddr_storage got;
    int len = sizeof(got), port;
    char urls[64];

    cr_assert_eq(getaddrinfo("localhost", "1", &hints, &res), 0);
    for (last = res; last->ai_next != NULL; last = last->ai_next)
        ;
    if (last == res) {
        freeaddrinfo(res);
        cr_skip_test("localhost has a single address on this machine");
    }
    /* The fake moves to the last address, on a port free on the first. */
    uv_close((uv_handle_t *)&fake.server, NULL);
    uv_run(&loop, UV_RUN_NOWAIT);
    uv_tcp_init(&loop, &fake.server);
    ((struct sockaddr_in *)last->ai_addr)->sin_port = 0; /* same offset in v6 */
    cr_assert_eq(uv_tcp_bind(&fake.server, last->ai_addr, 0), 0);
    freeaddrinfo(res);
    cr_assert_eq(uv_listen((uv_stream_t *)&fake.server, 16, fake_accept), 0);
    uv_tcp_getsockname(&fake.server, (struct sockaddr *)&got, &len);
    port = ntohs(((struct sockaddr_in *)&got)->sin_port);
    snprintf(urls, sizeof(urls), "http://localhost:%d,http://127.0.0.1:%d",
             port, free_port());
    use_urls(urls);
    assert_answered(call());
    cr_assert_eq(etcd_current(etcd), 0, "no fail-over");
    cr_assert_eq(fake.accepts, 1);
}
