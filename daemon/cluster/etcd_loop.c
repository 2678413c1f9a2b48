/*
 * etcd_loop.c: single etcd calls run on the event loop, with curl's
 * multi-socket interface over uv_poll and a uv_timer.  It serves the one
 * call that decides an uncontended Lock acquire or a release, so those
 * need no worker thread: a hand-over to a worker and back costs two
 * wake-ups across threads, about a tenth of the call on a busy 2-CPU
 * host (bench/README.md, "Cluster").  Its connections are its own (no
 * share with the workers, whose handles the loop must never wait on).
 * A connection's poll handle lives as long as its socket (curl closes it
 * through etcd_loop_closesocket), not just one transfer (remaking it per
 * call cost four system calls more), and one easy handle is kept for the
 * next call.
 */
#include "cluster/etcd_loop.h"

#include <curl/curl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include "list.h"
#include "syncclient.h"

struct etcd_loop {
    struct etcd *e;            /* borrowed */
    uv_loop_t *loop;           /* borrowed */
    CURLM *multi;              /* owned */
    CURL *spare;               /* owned: an easy handle for the next call */
    struct list_node socks;    /* struct etcd_loop_sock: curl's sockets */
    uv_timer_t timer;          /* curl's timeouts */
    void (*closed)(void *arg); /* etcd_loop_close's */
    void *closed_arg;
};

/* One socket curl watches, with its poll handle. */
struct etcd_loop_sock {
    struct list_node link;     /* in etcd_loop.socks */
    uv_poll_t poll;
    curl_socket_t fd;
    struct etcd_loop *l;
};

/* What etcd_loop_post keeps with its call. */
struct etcd_loop_req {
    struct etcd_call *k;
    etcd_loop_fn fn;
    void *arg;
};

static struct etcd_loop_sock *etcd_loop_sock_find(struct etcd_loop *l,
                                                  curl_socket_t fd)
{
    struct list_node *n;
    struct etcd_loop_sock *s;

    for (n = l->socks.next; n != &l->socks; n = n->next) {
        s = container_of(n, struct etcd_loop_sock, link);
        if (s->fd == fd)
            return s;
    }
    return NULL;
}

/* Finish the transfers curl says are done: each one's callback runs. */
static void etcd_loop_reap(struct etcd_loop *l)
{
    struct etcd_loop_req *r;
    CURLMsg *m;
    json_t *out;
    char *priv;
    int left, rv;

    while ((m = curl_multi_info_read(l->multi, &left)) != NULL) {
        if (m->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv);
        r = (struct etcd_loop_req *)priv;
        curl_multi_remove_handle(l->multi, m->easy_handle);
        rv = etcd_call_end(r->k, m->data.result, &out);
        if (l->spare == NULL)
            l->spare = etcd_call_take_easy(r->k);
        etcd_call_free(r->k);
        r->fn(rv, out, r->arg);
        free(r);
    }
}

static void etcd_loop_poll_cb(uv_poll_t *p, int status, int events)
{
    struct etcd_loop_sock *s = p->data;
    struct etcd_loop *l = s->l;
    int flags = 0, running;

    if (status < 0)
        flags = CURL_CSELECT_ERR;
    if (events & UV_READABLE)
        flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE)
        flags |= CURL_CSELECT_OUT;
    curl_multi_socket_action(l->multi, s->fd, flags, &running);
    etcd_loop_reap(l);
}

static void etcd_loop_timer_cb(uv_timer_t *t)
{
    struct etcd_loop *l = t->data;
    int running;

    curl_multi_socket_action(l->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    etcd_loop_reap(l);
}

static int etcd_loop_timer_fn(CURLM *multi, long timeout_ms, void *arg)
{
    struct etcd_loop *l = arg;

    (void)multi;
    if (timeout_ms < 0)
        uv_timer_stop(&l->timer);
    else
        uv_timer_start(&l->timer, etcd_loop_timer_cb, (uint64_t)timeout_ms,
                       0);
    return 0;
}

static void etcd_loop_sock_closed(uv_handle_t *h)
{
    free(h->data);
}

static void etcd_loop_sock_close(struct etcd_loop_sock *s)
{
    list_remove(&s->link);
    uv_poll_stop(&s->poll);
    uv_close((uv_handle_t *)&s->poll, etcd_loop_sock_closed);
}

static int etcd_loop_sock_fn(CURL *easy, curl_socket_t fd, int what,
                             void *arg, void *sockp)
{
    struct etcd_loop *l = arg;
    struct etcd_loop_sock *s = sockp;
    int events = 0;

    (void)easy;
    if (s == NULL)
        s = etcd_loop_sock_find(l, fd);
    if (what == CURL_POLL_REMOVE) {
        /* The transfer is over, the connection may serve the next. */
        if (s != NULL)
            uv_poll_stop(&s->poll);
        return 0;
    }
    if (s == NULL) {
        s = calloc(1, sizeof(*s));
        if (s == NULL || uv_poll_init_socket(l->loop, &s->poll, fd) != 0) {
            free(s);
            return -1;
        }
        s->fd = fd;
        s->l = l;
        s->poll.data = s;
        list_insert_tail(&l->socks, &s->link);
    }
    curl_multi_assign(l->multi, fd, s);
    if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
        events |= UV_READABLE;
    if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
        events |= UV_WRITABLE;
    uv_poll_start(&s->poll, events, etcd_loop_poll_cb);
    return 0;
}

/* curl closes a socket: its poll handle goes first (libuv must not watch
 * a descriptor that a new socket may get). */
static int etcd_loop_closesocket(void *arg, curl_socket_t fd)
{
    struct etcd_loop_sock *s = etcd_loop_sock_find(arg, fd);

    if (s != NULL)
        etcd_loop_sock_close(s);
    return close(fd);
}

struct etcd_loop *etcd_loop_new(struct etcd *e, uv_loop_t *loop)
{
    struct etcd_loop *l = calloc(1, sizeof(*l));

    if (l == NULL)
        return NULL;
    l->e = e;
    l->loop = loop;
    list_init(&l->socks);
    l->multi = curl_multi_init();
    if (l->multi == NULL) {
        free(l);
        return NULL;
    }
    uv_timer_init(loop, &l->timer);
    l->timer.data = l;
    curl_multi_setopt(l->multi, CURLMOPT_SOCKETFUNCTION, etcd_loop_sock_fn);
    curl_multi_setopt(l->multi, CURLMOPT_SOCKETDATA, l);
    curl_multi_setopt(l->multi, CURLMOPT_TIMERFUNCTION, etcd_loop_timer_fn);
    curl_multi_setopt(l->multi, CURLMOPT_TIMERDATA, l);
    return l;
}

int etcd_loop_post(struct etcd_loop *l, const char *path, json_t *body,
                   etcd_loop_fn fn, void *arg)
{
    struct etcd_loop_req *r = calloc(1, sizeof(*r));
    CURL *h;

    if (r == NULL)
        return SYNC_ENOMEM;
    r->k = etcd_call_new(l->e, path, body, l->spare);
    l->spare = NULL; /* the call's now, or freed already */
    if (r->k == NULL) {
        free(r);
        return SYNC_ENOMEM;
    }
    r->fn = fn;
    r->arg = arg;
    h = etcd_call_easy(r->k);
    curl_easy_setopt(h, CURLOPT_PRIVATE, r);
    curl_easy_setopt(h, CURLOPT_CLOSESOCKETFUNCTION, etcd_loop_closesocket);
    curl_easy_setopt(h, CURLOPT_CLOSESOCKETDATA, l);
    if (curl_multi_add_handle(l->multi, h) != CURLM_OK) {
        etcd_call_free(r->k);
        free(r);
        return SYNC_ENOMEM;
    }
    return 0;
}

static void etcd_loop_timer_closed(uv_handle_t *h)
{
    struct etcd_loop *l = h->data;
    void (*closed)(void *arg) = l->closed;
    void *arg = l->closed_arg;

    free(l);
    closed(arg);
}

void etcd_loop_close(struct etcd_loop *l, void (*closed)(void *arg),
                     void *arg)
{
    l->closed = closed;
    l->closed_arg = arg;
    /* Its connections close here (curl may say so for each socket); the
     * poll handles of any it did not mention go too. */
    curl_multi_cleanup(l->multi);
    l->multi = NULL;
    if (l->spare != NULL)
        curl_easy_cleanup(l->spare);
    l->spare = NULL;
    while (!list_empty(&l->socks))
        etcd_loop_sock_close(container_of(l->socks.next,
                                          struct etcd_loop_sock, link));
    uv_close((uv_handle_t *)&l->timer, etcd_loop_timer_closed);
}
