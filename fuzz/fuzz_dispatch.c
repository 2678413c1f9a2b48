/*
 * fuzz_dispatch.c: the whole daemon below main.c, driven by a program of
 * client actions (fuzz_program.h).  Each input gets a fresh uv_loop_t and
 * a real struct server listening in a temp dir; 1..4 raw sockets connect
 * and are accepted by the real session code, then send fuzzer-built
 * Requests (valid protobuf with fuzzer-chosen fields) and garbage, die,
 * reconnect, stop reading, while the loop runs.  The input ends with a
 * clean server_shutdown, so LeakSanitizer sees everything freed.
 *
 * Time is virtual: clock_gettime(CLOCK_MONOTONIC*) is interposed while an
 * input runs, so libuv's clock (and every wait deadline) moves only when
 * the program sleeps, and a run replays exactly.
 *
 * Checked after every action: registry/session/waiter bookkeeping, each
 * object's state machine invariants (no free lock, positive semaphore or
 * set event with queued waiters; nothing held or awaited by a dead
 * session); on every reply: a valid ServerMessage, code <= 0, and no
 * request answered twice or never asked; at shutdown: every request of a
 * live well-behaved client answered exactly once, nothing left.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "codec.h"
#include "dispatch.h"
#include "dispatch_internal.h"
#include "frame.h"
#include "fuzz_program.h"
#include "lockcache_page.h"
#include "log.h"
#include "objects/barrier.h"
#include "objects/condition.h"
#include "objects/event.h"
#include "objects/lock.h"
#include "objects/semaphore.h"
#include "server.h"
#include "session.h"
#include "syncd.pb-c.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_CLIENTS 4
#define MAX_IDS 2048
#define REPLY_MAX_FRAME (16u << 20) /* the client library's limit */

static FILE *fuzz_err; /* the real stderr: logs go to /dev/null */
static bool trace;     /* SYNCD_FUZZ_TRACE: print actions and replies */

static void fail(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void fail(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fprintf(fuzz_err, "fuzz_dispatch: invariant violated: ");
    vfprintf(fuzz_err, fmt, ap);
    fprintf(fuzz_err, "\n");
    fflush(fuzz_err);
    va_end(ap);
    abort();
}

#define CHECK(cond, ...)                                                      \
    do {                                                                      \
        if (!(cond))                                                          \
            fail(__VA_ARGS__);                                                \
    } while (0)

/* ---- virtual monotonic clock --------------------------------------------- */

static int (*real_clock_gettime)(clockid_t, struct timespec *);
static bool fake_clock_on;
static uint64_t fake_ms;

/* Interposes libc's (libuv calls it through the PLT); other clocks and
 * other times go to the real one. */
int clock_gettime(clockid_t id, struct timespec *ts)
{
    if (fake_clock_on &&
        (id == CLOCK_MONOTONIC || id == CLOCK_MONOTONIC_COARSE)) {
        ts->tv_sec = (time_t)(fake_ms / 1000);
        ts->tv_nsec = (long)(fake_ms % 1000) * 1000000L;
        return 0;
    }
    return real_clock_gettime(id, ts);
}

/* ---- the world of one input ---------------------------------------------- */

struct fclient {
    int fd;             /* -1: not connected */
    uint8_t cred;       /* enum fuzz_cred */
    bool eof;           /* the daemon closed the connection */
    bool tracked;       /* only whole valid requests sent: ids checkable */
    bool paused;        /* not reading replies */
    bool half_closed;
    bool small_sndbuf;  /* the daemon's side may drop replies at shutdown */
    uint64_t next_id;
    uint8_t id_state[MAX_IDS]; /* 0 unsent, 1 awaiting, 2 answered */
    struct frame_decoder rx;
    struct lc_slot *page; /* lock caching: the shared page, or NULL */
};

static struct server srv;
static uv_loop_t loop;
static char sock_dir[64];
static char sock_path[96];
static struct fclient cl[MAX_CLIENTS];
static int n_clients;
static int profile;
static struct syncd_limits seen; /* the largest of each limit applied */

static void profile_limits(int p, struct syncd_limits *l)
{
    const struct syncd_limits def = SYNCD_DEFAULT_LIMITS;
    const struct syncd_limits roomy = {
        .max_frame = 4096, .max_objects = 16, .max_handles = 16,
        .max_waits = 16, .max_name = 255, .max_clients = 8,
        .max_write_backlog = 1 << 20};
    const struct syncd_limits tight = {
        .max_frame = 256, .max_objects = 3, .max_handles = 2,
        .max_waits = 1, .max_name = 8, .max_clients = 2,
        .max_write_backlog = 1 << 16};
    const struct syncd_limits backlog = {
        .max_frame = 4096, .max_objects = 16, .max_handles = 16,
        .max_waits = 16, .max_name = 255, .max_clients = 8,
        .max_write_backlog = 512};

    switch ((enum fuzz_profile)(p & 3)) {
    case PROFILE_ROOMY: *l = roomy; break;
    case PROFILE_TIGHT: *l = tight; break;
    case PROFILE_BACKLOG: *l = backlog; break;
    case PROFILE_DEFAULT: *l = def; break;
    }
}

static void note_limits(const struct syncd_limits *l)
{
#define MAX_OF(f) seen.f = seen.f > l->f ? seen.f : l->f
    MAX_OF(max_objects);
    MAX_OF(max_handles);
    MAX_OF(max_waits);
#undef MAX_OF
}

/* ---- replies ------------------------------------------------------------- */

static void on_reply(struct fclient *c, const uint8_t *p, size_t n)
{
    Syncd__ServerMessage *m = syncd__server_message__unpack(NULL, n, p);
    const Syncd__Reply *r;
    uint64_t id;

    CHECK(m != NULL, "the daemon sent an undecodable ServerMessage (%zu "
                     "bytes)", n);
    CHECK(m->msg_case == SYNCD__SERVER_MESSAGE__MSG_REPLY,
          "the daemon sent a non-reply message");
    r = m->reply;
    id = r->id;
    if (trace)
        fprintf(fuzz_err, "  c%d <- id %llu code %d%s%s%s\n", (int)(c - cl),
                (unsigned long long)id, r->code,
                r->message && *r->message ? " (" : "",
                r->message ? r->message : "",
                r->message && *r->message ? ")" : "");
    CHECK(r->code <= 0, "reply %llu has a positive code %d",
          (unsigned long long)id, r->code);
    if (c->tracked) {
        CHECK(id != 0 || r->code < 0, "an id 0 reply that is no error");
        CHECK(id == 0 || (id < MAX_IDS && c->id_state[id] != 0),
              "reply to request %llu, which was never sent",
              (unsigned long long)id);
        CHECK(id == 0 || c->id_state[id] == 1,
              "request %llu answered twice (second: code %d)",
              (unsigned long long)id, r->code);
        if (id != 0)
            c->id_state[id] = 2;
    }
    syncd__server_message__free_unpacked(m, NULL);
}

static void client_drop(struct fclient *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    if (c->page != NULL)
        munmap(c->page, LC_PAGE_SIZE);
    c->page = NULL;
}

/* recv, keeping a descriptor the daemon passed (the lock cache page of a
 * client that offered WIRE_CAP_LOCK_CACHE): mapped, like libsyncclient. */
static ssize_t client_recv(struct fclient *c, uint8_t *buf, size_t cap)
{
    char cbuf[CMSG_SPACE(2 * sizeof(int))];
    struct iovec iov = {.iov_base = buf, .iov_len = cap};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1,
                        .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
    struct cmsghdr *cm;
    ssize_t n = recvmsg(c->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    void *p;
    int fd;

    if (n <= 0 || mh.msg_controllen == 0)
        return n;
    for (cm = CMSG_FIRSTHDR(&mh); cm != NULL; cm = CMSG_NXTHDR(&mh, cm)) {
        if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
            continue;
        CHECK(cm->cmsg_len == CMSG_LEN(2 * sizeof(int)),
              "the page and the liveness page, expected together");
        /* The liveness page: read-only for clients. */
        memcpy(&fd, CMSG_DATA(cm) + sizeof(int), sizeof(int));
        CHECK(mmap(NULL, LC_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
                   fd, 0) == MAP_FAILED,
              "a client could map the liveness page writable");
        close(fd);
        memcpy(&fd, CMSG_DATA(cm), sizeof(int));
        CHECK(c->page == NULL, "a second page from the daemon");
        p = mmap(NULL, LC_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
                 0);
        CHECK(p != MAP_FAILED, "mmap of the lock cache page: %s",
              strerror(errno));
        CHECK(((struct lc_slot *)p)[0].word == LC_MAGIC, "page header");
        /* Sealed: the client cannot shrink it under the daemon. */
        CHECK(ftruncate(fd, 0) != 0, "the page could be truncated");
        c->page = p;
        close(fd);
    }
    return n;
}

/* A client's move on its page: any value (a hostile client), or the CAS
 * of a local acquire or release as libsyncclient makes it. */
static void act_page(struct fuzz_cur *c, struct fclient *fc)
{
    uint8_t op = fuzz_u8(c), slot = fuzz_u8(c);
    uint64_t v = 0, w, next;
    size_t got;
    const uint8_t *p = fuzz_take(c, 8, &got);
    struct lc_slot *sl;

    memcpy(&v, p, got);
    if (fc->page == NULL || slot == 0)
        return;
    sl = &fc->page[slot % LC_SLOTS];
    w = __atomic_load_n(&sl->word, __ATOMIC_ACQUIRE);
    switch (op % 3) {
    case 0:
        next = v;
        break;
    case 1:
        if (lc_state(w) != LC_FREE)
            return;
        next = lc_word(LC_HELD, lc_gen(w), lc_off(w) + 1, 1 + (op >> 2),
                       1);
        break;
    default:
        if (lc_state(w) != LC_HELD)
            return;
        next = lc_depth(w) > 1 ? w - 1
                               : lc_word(LC_FREE, lc_gen(w), lc_off(w), 0, 0);
        break;
    }
    if (trace)
        fprintf(fuzz_err, "   (slot %u: %#llx -> %#llx)\n",
                (unsigned)(slot % LC_SLOTS),
                (unsigned long long)w, (unsigned long long)next);
    (void)__atomic_compare_exchange_n(&sl->word, &w, next, false,
                                      __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

/* Read what the daemon sent c; returns whether anything came. */
static bool client_read(struct fclient *c)
{
    static uint8_t buf[65536];
    const uint8_t *payload;
    enum frame_status st;
    bool got = false;
    size_t len;
    ssize_t n;
    int k;

    if (c->fd < 0 || c->paused)
        return false;
    for (k = 0; k < 256; k++) {
        n = client_recv(c, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n <= 0) {
            if (trace)
                fprintf(fuzz_err, "  c%d <- EOF\n", (int)(c - cl));
            c->eof = true;
            client_drop(c);
            return true;
        }
        got = true;
        CHECK(frame_decoder_feed(&c->rx, buf, (size_t)n) == 0, "no memory");
        while ((st = frame_decoder_next(&c->rx, &payload, &len)) == FRAME_OK)
            on_reply(c, payload, len);
        CHECK(st == FRAME_NEED_MORE, "the daemon sent a bad frame header "
                                     "(status %d)", (int)st);
    }
    return got;
}

static bool read_all(void)
{
    bool got = false;
    int i;

    for (i = 0; i < n_clients; i++)
        got |= client_read(&cl[i]);
    return got;
}

static void run_once(void)
{
    uv_run(&loop, UV_RUN_NOWAIT);
}

/* ---- invariants ---------------------------------------------------------- */

static struct session *live_session(uint64_t id)
{
    struct session *s = server_find_session(&srv, id);

    return s != NULL && s->state != SESSION_CLOSING ? s : NULL;
}

static void check_queue(const struct waitq *q, const struct object *o)
{
    const struct list_node *n;
    const struct waiter *w;
    size_t len = 0;

    for (n = q->head.next; n != &q->head; n = n->next) {
        w = container_of(n, struct waiter, node);
        CHECK(w->queue == q, "'%s': a waiter points to another queue",
              o->name);
        CHECK(live_session(w->owner) != NULL,
              "'%s': waiter of session %llu, which is gone", o->name,
              (unsigned long long)w->owner);
        CHECK(++len <= q->len, "'%s': queue longer than its len", o->name);
    }
    CHECK(len == q->len, "'%s': queue len %zu, %zu linked", o->name, q->len,
          len);
}

static void check_lock(struct lock *l)
{
    struct session *s;

    check_queue(&l->waiters, &l->base);
    if (!l->held) {
        CHECK(waitq_empty(&l->waiters), "lock '%s' is free with %zu "
              "waiter(s) queued", l->base.name, waitq_len(&l->waiters));
        return;
    }
    CHECK(l->depth >= 1 && (l->recursive || l->depth == 1),
          "lock '%s' held at depth %u", l->base.name, l->depth);
    s = live_session(l->holder);
    CHECK(s != NULL, "lock '%s' held by session %llu, which is gone",
          l->base.name, (unsigned long long)l->holder);
    CHECK(handle_refers(&s->handles, &l->base, 0),
          "lock '%s' held by session %llu through no handle", l->base.name,
          (unsigned long long)l->holder);
}

static void check_object(struct object *o)
{
    struct semaphore *sem;
    struct event *ev;
    struct condition *cv;
    struct barrier *b;

    CHECK(o->refs > 0 || o->linked, "'%s': unlinked, unreferenced, alive",
          o->name);
    switch ((enum object_type)o->type) {
    case OBJECT_LOCK:
    case OBJECT_RLOCK:
        check_lock(lock_from_object(o));
        break;
    case OBJECT_SEMAPHORE:
    case OBJECT_BOUNDED_SEMAPHORE:
        sem = semaphore_from_object(o);
        check_queue(&sem->waiters, o);
        CHECK(sem->value <= sem->bound && sem->bound <= SEMAPHORE_VALUE_MAX,
              "semaphore '%s': value %u bound %u", o->name, sem->value,
              sem->bound);
        CHECK(sem->value == 0 || waitq_empty(&sem->waiters),
              "semaphore '%s': value %u with %zu waiter(s)", o->name,
              sem->value, waitq_len(&sem->waiters));
        break;
    case OBJECT_EVENT:
        ev = event_from_object(o);
        check_queue(&ev->waiters, o);
        CHECK(!ev->set || waitq_empty(&ev->waiters),
              "event '%s' set with %zu waiter(s)", o->name,
              waitq_len(&ev->waiters));
        break;
    case OBJECT_CONDITION:
        cv = condition_from_object(o);
        check_queue(&cv->waiters, o);
        check_lock(cv->lock);
        break;
    case OBJECT_BARRIER:
        b = barrier_from_object(o);
        check_queue(&b->waiters, o);
        check_queue(&b->next, o);
        CHECK(waitq_len(&b->waiters) < b->parties,
              "barrier '%s': %zu waiting of %u parties", o->name,
              waitq_len(&b->waiters), b->parties);
        CHECK(!b->broken || (waitq_empty(&b->waiters) &&
                             waitq_empty(&b->next)),
              "barrier '%s' broken with waiters", o->name);
        /* Arrivals wait for the next round only while an action runs,
         * and the party running it is a live session. */
        CHECK(b->acting || waitq_empty(&b->next),
              "barrier '%s': %zu queued for a next round, no action running",
              o->name, waitq_len(&b->next));
        CHECK(!b->acting || (!b->broken && b->actor != 0 &&
                             waitq_len(&b->waiters) + 1 == b->parties),
              "barrier '%s': acting, broken %d, actor %llu, %zu waiting",
              o->name, b->broken, (unsigned long long)b->actor,
              waitq_len(&b->waiters));
        break;
    }
}

static void check_session(struct session *s, uint32_t *n_waiters)
{
    const struct list_node *n;
    const struct pending *p;
    struct handle *h;
    uint32_t len = 0, id;

    CHECK(s->handles.used <= seen.max_handles, "session %llu: %u handles",
          (unsigned long long)s->id, s->handles.used);
    for (n = s->pending.next; n != &s->pending; n = n->next) {
        p = container_of(n, struct pending, link);
        CHECK(p->session == s && p->w.owner == s->id,
              "session %llu: a waiter of another session",
              (unsigned long long)s->id);
        CHECK(p->w.queue != NULL || s->state == SESSION_CLOSING,
              "session %llu: waiter for request %llu is in no queue "
              "(lost: it can never complete)",
              (unsigned long long)s->id, (unsigned long long)p->req_id);
        len++;
    }
    CHECK(len == s->n_pending, "session %llu: n_pending %u, %u linked",
          (unsigned long long)s->id, s->n_pending, len);
    CHECK(len <= seen.max_waits, "session %llu: %u waits",
          (unsigned long long)s->id, len);
    *n_waiters += len;
    for (id = 1; id < handle_end(&s->handles); id++)
        if ((h = handle_find(&s->handles, id)) != NULL)
            check_object(h->obj);
}

static void check_invariants(void)
{
    struct list_node *n;
    struct object *o, *tmp;
    uint32_t n_waiters = 0;

    CHECK(srv.registry.count <= seen.max_objects, "%u objects, limit %u",
          srv.registry.count, seen.max_objects);
    for (n = srv.sessions.next; n != &srv.sessions; n = n->next)
        check_session(container_of(n, struct session, link), &n_waiters);
    CHECK(n_waiters == srv.n_waiters, "server counts %u waiters, sessions "
          "hold %u", srv.n_waiters, n_waiters);
    CHECK(srv.deadlines.len <= srv.n_waiters, "%zu deadlines armed for %u "
          "waiters", srv.deadlines.len, srv.n_waiters);
    HASH_ITER(hh, srv.registry.by_name, o, tmp) {
        CHECK(o->linked, "'%s' in the map but not linked", o->name);
        check_object(o);
    }
}

/* ---- clients ------------------------------------------------------------- */

static void set_cred(struct session *s, enum fuzz_cred cred)
{
    switch (cred) {
    case CRED_ROOT:
        return; /* SO_PEERCRED already says so */
    case CRED_ALICE:
        s->uid = 1000;
        s->gid = 1000;
        s->cred.n_groups = 0;
        break;
    case CRED_BOB:
        s->uid = 1001;
        s->gid = 1000;
        s->cred.n_groups = 0;
        break;
    case CRED_EVE:
        s->uid = 1002;
        s->gid = 1002;
        s->groups[0] = 1000;
        s->cred.n_groups = 1;
        break;
    }
    s->cred.uid = (uint32_t)s->uid;
    s->cred.gid = (uint32_t)s->gid;
    s->cred.groups = s->groups;
}

static void client_send(struct fclient *c, const uint8_t *p, size_t n)
{
    size_t off = 0;
    ssize_t w;
    int tries = 0;

    while (c->fd >= 0 && off < n) {
        w = send(c->fd, p + off, n - off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w > 0) {
            off += (size_t)w;
        } else if (w < 0 && (errno == EAGAIN || errno == EINTR) &&
                   tries++ < 64) {
            /* The daemon has not read yet: let it, and read its replies
             * so that it never has to stop. */
            run_once();
            read_all();
        } else {
            break;
        }
    }
    if (off < n)
        c->tracked = false;
}

static void send_hello(struct fclient *c)
{
    Syncd__Request rq = SYNCD__REQUEST__INIT;
    Syncd__Hello h = SYNCD__HELLO__INIT;
    uint8_t buf[128];
    size_t n;

    /* Odd clients speak version 2 and offer lock caching: they get a
     * shared page (ACT_PAGE writes to it). */
    h.version = (c - cl) % 2 ? 2 : 1;
    h.capabilities = (c - cl) % 2 ? WIRE_CAP_LOCK_CACHE : 0;
    h.client_name = (char *)"fuzz";
    rq.id = ++c->next_id;
    rq.op_case = SYNCD__REQUEST__OP_HELLO;
    rq.hello = &h;
    n = syncd__request__pack(&rq, buf + FRAME_HEADER_SIZE);
    frame_put_header(buf, (uint32_t)n);
    c->id_state[rq.id] = 1;
    client_send(c, buf, FRAME_HEADER_SIZE + n);
}

/* Connect client i as a new session with its credentials. */
static void client_connect(int i, bool hello)
{
    struct fclient *c = &cl[i];
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    uint64_t before = srv.stats.sessions_total;
    struct session *s;
    uv_os_fd_t sfd;
    int k, small = 4096;

    c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    CHECK(c->fd >= 0, "socket: %s", strerror(errno));
    memcpy(sa.sun_path, sock_path, strlen(sock_path) + 1);
    CHECK(connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) == 0,
          "connect: %s", strerror(errno));
    c->eof = c->paused = c->half_closed = c->small_sndbuf = false;
    c->tracked = true;
    c->next_id = 0;
    memset(c->id_state, 0, sizeof(c->id_state));
    frame_decoder_fini(&c->rx);
    frame_decoder_init(&c->rx, REPLY_MAX_FRAME);
    for (k = 0; k < 16 && srv.stats.sessions_total == before; k++)
        run_once();
    CHECK(srv.stats.sessions_total == before + 1, "connection not accepted");
    /* The newest session is ours, unless it was refused (max_clients). */
    s = container_of(srv.sessions.prev, struct session, link);
    if (!list_empty(&srv.sessions) && s->id == srv.next_session_id &&
        s->state != SESSION_CLOSING) {
        set_cred(s, (enum fuzz_cred)c->cred);
        if (profile == PROFILE_BACKLOG &&
            uv_fileno((uv_handle_t *)&s->pipe, &sfd) == 0) {
            setsockopt(sfd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
            c->small_sndbuf = true;
        }
    }
    if (hello)
        send_hello(c);
}

static void act_request(struct fuzz_cur *c, struct fclient *fc)
{
    static uint8_t buf[FRAME_HEADER_SIZE + 1024];
    struct req_msg m;
    size_t n;

    fuzz_request_build(c, &m);
    if (fc->fd < 0)
        return;
    m.rq.id = ++fc->next_id;
    if (trace)
        fuzz_request_trace(fuzz_err, (int)(fc - cl), &m);
    n = syncd__request__get_packed_size(&m.rq);
    CHECK(n <= sizeof(buf) - FRAME_HEADER_SIZE, "request too big: %zu", n);
    syncd__request__pack(&m.rq, buf + FRAME_HEADER_SIZE);
    frame_put_header(buf, (uint32_t)n);
    if (m.rq.id < MAX_IDS)
        fc->id_state[m.rq.id] = 1;
    else
        fc->tracked = false;
    client_send(fc, buf, FRAME_HEADER_SIZE + n);
}

/* ---- actions ------------------------------------------------------------- */

static void act_raw(struct fuzz_cur *c, struct fclient *fc, bool framed)
{
    uint8_t buf[FRAME_HEADER_SIZE + 255];
    size_t want = fuzz_u8(c), got;
    const uint8_t *p = fuzz_take(c, want, &got);

    if (fc->fd < 0)
        return;
    frame_put_header(buf, (uint32_t)got);
    memcpy(buf + FRAME_HEADER_SIZE, p, got);
    fc->tracked = false;
    if (framed)
        client_send(fc, buf, FRAME_HEADER_SIZE + got);
    else
        client_send(fc, buf + FRAME_HEADER_SIZE, got);
}

static void act_sleep(struct fuzz_cur *c)
{
    static const uint64_t steps_ms[] = {1, 2, 3, 5, 10, 100, 1000, 10001};

    uint64_t ms = steps_ms[fuzz_u8(c) % 8];

    if (trace)
        fprintf(fuzz_err, "   (%llu ms)\n", (unsigned long long)ms);
    fake_ms += ms;
    run_once();
    read_all();
}

static void act_limits(struct fuzz_cur *c)
{
    struct syncd_limits l;

    uint8_t p = fuzz_u8(c);

    if (trace)
        fprintf(fuzz_err, "   (profile %d)\n", p & 3);
    profile_limits(p, &l);
    note_limits(&l);
    server_set_limits(&srv, &l);
}

static const char *const act_names[] = {
    [ACT_REQUEST] = "request", [ACT_RUN] = "run", [ACT_SLEEP] = "sleep",
    [ACT_RAW_FRAME] = "raw frame", [ACT_RAW_BYTES] = "raw bytes",
    [ACT_CLOSE] = "close", [ACT_SHUT_WR] = "shutdown(SHUT_WR)",
    [ACT_PAUSE] = "pause/resume reading", [ACT_LIMITS] = "set limits",
    [ACT_RECONNECT] = "reconnect", [ACT_PAGE] = "page word",
    [ACT_N_KINDS] = "request"};

static void step(struct fuzz_cur *c, uint8_t hello_mask)
{
    uint8_t a = fuzz_u8(c);
    int i = (a >> 4) % n_clients;
    struct fclient *fc = &cl[i];
    enum fuzz_act kind = (enum fuzz_act)(a & 0x0f);

    if (kind >= ACT_N_KINDS)
        kind = ACT_REQUEST;
    if (trace && kind != ACT_REQUEST)
        fprintf(fuzz_err, "c%d: %s\n", i, act_names[kind]);
    switch (kind) {
    case ACT_REQUEST:
    case ACT_N_KINDS:
        act_request(c, fc);
        break;
    case ACT_RUN:
        run_once();
        read_all();
        break;
    case ACT_SLEEP:
        act_sleep(c);
        break;
    case ACT_RAW_FRAME:
    case ACT_RAW_BYTES:
        act_raw(c, fc, kind == ACT_RAW_FRAME);
        break;
    case ACT_CLOSE:
        client_drop(fc);
        break;
    case ACT_SHUT_WR:
        if (fc->fd >= 0 && shutdown(fc->fd, SHUT_WR) == 0)
            fc->half_closed = true;
        break;
    case ACT_PAUSE:
        fc->paused = !fc->paused;
        break;
    case ACT_LIMITS:
        act_limits(c);
        break;
    case ACT_PAGE:
        act_page(c, fc);
        break;
    case ACT_RECONNECT:
        if (fc->fd < 0)
            client_connect(i, hello_mask >> i & 1);
        break;
    }
}

/* ---- one input ----------------------------------------------------------- */

static void setup(uint8_t h0, uint8_t h1)
{
    struct syncd_limits l;
    int i;

    fake_ms = 1000 * 1000;
    fake_clock_on = true;
    profile = h0 >> 6;
    profile_limits(profile, &l);
    memset(&seen, 0, sizeof(seen));
    note_limits(&l);
    CHECK(uv_loop_init(&loop) == 0, "uv_loop_init");
    CHECK(server_init(&srv, &loop, &l, &dispatch_handler) == 0, "server_init");
    CHECK(server_listen(&srv, sock_path, 0600) == 0, "server_listen %s",
          sock_path);
    n_clients = (h0 & 3) + 1;
    if (trace)
        fprintf(fuzz_err, "setup: %d client(s), profile %d, hello mask %x, "
                "creds %02x\n", n_clients, profile, h0 >> 2 & 15, h1);
    for (i = 0; i < n_clients; i++) {
        cl[i].fd = -1;
        cl[i].cred = (uint8_t)(h1 >> (2 * i) & 3);
        frame_decoder_init(&cl[i].rx, REPLY_MAX_FRAME);
        client_connect(i, h0 >> (2 + i) & 1);
    }
}

/* Until the daemon has read every byte sent and written every reply. */
static void quiesce(void)
{
    struct list_node *n;
    struct session *s;
    bool busy;
    int k, i, q;

    for (k = 0; k < 64; k++) {
        run_once();
        busy = read_all() || !list_empty(&srv.dirty);
        for (i = 0; i < n_clients; i++)
            if (cl[i].fd >= 0 && ioctl(cl[i].fd, SIOCOUTQ, &q) == 0 && q > 0)
                busy = true;
        for (n = srv.sessions.next; n != &srv.sessions; n = n->next) {
            s = container_of(n, struct session, link);
            if (uv_stream_get_write_queue_size((uv_stream_t *)&s->pipe) > 0)
                busy = true;
        }
        if (!busy)
            return;
    }
}

static void finish(void)
{
    bool check_all[MAX_CLIENTS];
    struct fclient *c;
    int i, k;
    uint64_t id;

    for (i = 0; i < n_clients; i++)
        cl[i].paused = false;
    quiesce();
    check_invariants();
    for (i = 0; i < n_clients; i++) {
        c = &cl[i];
        check_all[i] = c->fd >= 0 && !c->eof && c->tracked &&
                       !c->half_closed && !c->small_sndbuf;
    }
    if (trace)
        fprintf(fuzz_err, "shutdown\n");
    server_shutdown(&srv);
    for (k = 0; k < 64 && uv_loop_alive(&loop); k++) {
        run_once();
        read_all();
    }
    CHECK(!uv_loop_alive(&loop), "the server did not finish shutting down");
    for (k = 0; k < 4; k++)
        read_all();
    CHECK(list_empty(&srv.sessions) && srv.n_sessions == 0 &&
              srv.n_waiters == 0 && srv.deadlines.len == 0,
          "after shutdown: %u sessions, %u waiters, %zu deadlines",
          srv.n_sessions, srv.n_waiters, srv.deadlines.len);
    for (i = 0; i < n_clients; i++) {
        c = &cl[i];
        for (id = 1; check_all[i] && id <= c->next_id && id < MAX_IDS; id++)
            CHECK(c->id_state[id] == 2, "client %d: request %llu never "
                  "answered", i, (unsigned long long)id);
    }
    server_fini(&srv);
    CHECK(srv.registry.count == 0, "%u objects left after server_fini",
          srv.registry.count);
    CHECK(uv_loop_close(&loop) == 0, "a libuv handle was left open");
    for (i = 0; i < n_clients; i++) {
        client_drop(&cl[i]);
        frame_decoder_fini(&cl[i].rx);
    }
    fake_clock_on = false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_cur c = {data, size};
    uint8_t h0, h1;

    if (size < 2)
        return 0;
    h0 = fuzz_u8(&c);
    h1 = fuzz_u8(&c);
    setup(h0, h1);
    while (c.n > 0) {
        step(&c, h0 >> 2);
        check_invariants();
    }
    finish();
    return 0;
}

/* ---- once per process ---------------------------------------------------- */

static void cleanup(void)
{
    unlink(sock_path);
    rmdir(sock_dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    FILE *null;

    (void)argc;
    (void)argv;
    fuzz_err = fdopen(dup(STDERR_FILENO), "w");
    if (fuzz_err == NULL)
        abort();
    setvbuf(fuzz_err, NULL, _IOLBF, 0);
    trace = getenv("SYNCD_FUZZ_TRACE") != NULL;
    real_clock_gettime = (int (*)(clockid_t, struct timespec *))dlsym(
        RTLD_NEXT, "clock_gettime");
    CHECK(real_clock_gettime != NULL, "dlsym clock_gettime");
    signal(SIGPIPE, SIG_IGN);
    fuzz_program_init();
    snprintf(sock_dir, sizeof(sock_dir), "/tmp/syncd-fuzz-XXXXXX");
    CHECK(mkdtemp(sock_dir) != NULL, "mkdtemp: %s", strerror(errno));
    snprintf(sock_path, sizeof(sock_path), "%s/s", sock_dir);
    atexit(cleanup);
    /* Every log line is formatted (debug level) but thrown away unless
     * SYNCD_FUZZ_LOG is set; our own reports go to the real stderr. */
    log_init(LOG_LEVEL_DEBUG, 0);
    if (getenv("SYNCD_FUZZ_LOG") == NULL &&
        (null = fopen("/dev/null", "w")) != NULL)
        stderr = null;
    return 0;
}
