/*
 * test_fastwire.c: the hand-written fast path must produce exactly the
 * bytes protobuf-c produces, decode exactly what protobuf-c decodes, and
 * decline everything else.  Checked on many pseudo-random messages.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <stdlib.h>
#include <string.h>

#include "fastwire.h"
#include "frame.h"
#include "syncd.pb-c.h"

static uint64_t rng = 88172645463325252ull;

/* xorshift64, with a bias towards 0, small and extreme values. */
static uint64_t rnd(void)
{
    uint64_t x;

    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    x = rng;
    switch (x % 5) {
    case 0: return 0;
    case 1: return x % 200;
    case 2: return (uint64_t)-(int64_t)(x % 1000); /* negative int64 */
    case 3: return UINT32_MAX;
    default: return x;
    }
}

/* Pack m with protobuf-c as one frame into out; its length. */
static size_t pack_request(const Syncd__Request *m, uint8_t *out)
{
    size_t n = syncd__request__pack(m, out + FRAME_HEADER_SIZE);

    frame_put_header(out, (uint32_t)n);
    return FRAME_HEADER_SIZE + n;
}

/* A random fast request and the same built as protobuf-c structs. */
struct pair {
    struct fw_request f;
    Syncd__Request req;
    union {
        Syncd__Acquire acquire;
        Syncd__Release release;
        Syncd__Query query;
        Syncd__EventWait event_wait;
        Syncd__CondNotify cond_notify;
    } u;
};

static void make_pair(struct pair *p, int which)
{
    memset(p, 0, sizeof(*p));
    syncd__request__init(&p->req);
    p->f.id = p->req.id = rnd();
    p->f.f[WIRE_ACQUIRE_HANDLE] = (uint32_t)rnd(); /* 1 in every op */
    switch (which % 5) {
    case 0:
        syncd__acquire__init(&p->u.acquire);
        p->f.op = OP_ACQUIRE;
        p->u.acquire.handle = (uint32_t)p->f.f[WIRE_ACQUIRE_HANDLE];
        p->u.acquire.timeout_us =
            (int64_t)(p->f.f[WIRE_ACQUIRE_TIMEOUT_US] = rnd());
        p->u.acquire.thread = p->f.f[WIRE_ACQUIRE_THREAD] = rnd();
        p->req.op_case = SYNCD__REQUEST__OP_ACQUIRE;
        p->req.acquire = &p->u.acquire;
        break;
    case 1:
        syncd__release__init(&p->u.release);
        p->f.op = OP_RELEASE;
        p->u.release.handle = (uint32_t)p->f.f[WIRE_ACQUIRE_HANDLE];
        p->u.release.n = (uint32_t)(p->f.f[WIRE_RELEASE_N] = (uint32_t)rnd());
        p->u.release.thread = p->f.f[WIRE_RELEASE_THREAD] = rnd();
        p->req.op_case = SYNCD__REQUEST__OP_RELEASE;
        p->req.release = &p->u.release;
        break;
    case 2:
        syncd__query__init(&p->u.query);
        p->f.op = OP_QUERY;
        p->u.query.handle = (uint32_t)p->f.f[WIRE_ACQUIRE_HANDLE];
        p->req.op_case = SYNCD__REQUEST__OP_QUERY;
        p->req.query = &p->u.query;
        break;
    case 3:
        syncd__event_wait__init(&p->u.event_wait);
        p->f.op = OP_EVENT_WAIT;
        p->u.event_wait.handle = (uint32_t)p->f.f[WIRE_ACQUIRE_HANDLE];
        p->u.event_wait.timeout_us =
            (int64_t)(p->f.f[WIRE_EVENT_WAIT_TIMEOUT_US] = rnd());
        p->req.op_case = SYNCD__REQUEST__OP_EVENT_WAIT;
        p->req.event_wait = &p->u.event_wait;
        break;
    default:
        syncd__cond_notify__init(&p->u.cond_notify);
        p->f.op = OP_COND_NOTIFY;
        p->u.cond_notify.handle = (uint32_t)p->f.f[WIRE_ACQUIRE_HANDLE];
        p->u.cond_notify.n =
            (uint32_t)(p->f.f[WIRE_COND_NOTIFY_N] = (uint32_t)rnd());
        p->u.cond_notify.all = (p->f.f[WIRE_COND_NOTIFY_ALL] = rnd() & 1) != 0;
        p->u.cond_notify.thread = p->f.f[WIRE_COND_NOTIFY_THREAD] = rnd();
        p->req.op_case = SYNCD__REQUEST__OP_COND_NOTIFY;
        p->req.cond_notify = &p->u.cond_notify;
        break;
    }
}

Test(fastwire, request_bytes_equal_protobuf_c)
{
    uint8_t a[128], b[128];
    struct pair p;
    size_t na, nb;
    int i;

    for (i = 0; i < 20000; i++) {
        make_pair(&p, i);
        na = fastwire_encode_request(&p.f, a, sizeof(a));
        nb = pack_request(&p.req, b);
        cr_assert(eq(sz, na, nb), "message %d", i);
        cr_assert(eq(int, memcmp(a, b, na), 0), "message %d", i);
    }
}

Test(fastwire, request_decodes_what_protobuf_c_encodes)
{
    uint8_t b[128];
    struct fw_request f;
    struct pair p;
    size_t n;
    int i, k;

    for (i = 0; i < 20000; i++) {
        make_pair(&p, i);
        n = pack_request(&p.req, b);
        cr_assert(eq(int, fastwire_decode_request(b + 4, n - 4, &f), 0));
        cr_assert(eq(u64, f.id, p.f.id));
        cr_assert(eq(u32, f.op, p.f.op));
        for (k = 1; k <= FW_MAX_FIELDS; k++)
            cr_assert(eq(u64, f.f[k], p.f.f[k]), "message %d field %d", i, k);
    }
}

Test(fastwire, declines_what_it_does_not_know)
{
    Syncd__Request req = SYNCD__REQUEST__INIT;
    Syncd__Open open = SYNCD__OPEN__INIT;
    uint8_t b[128];
    struct fw_request f;
    struct fw_reply r;
    size_t n;

    open.name.data = (uint8_t *)"x";
    open.name.len = 1;
    req.id = 7;
    req.op_case = SYNCD__REQUEST__OP_OPEN;
    req.open = &open;
    n = pack_request(&req, b);
    cr_assert(ne(int, fastwire_decode_request(b + 4, n - 4, &f), 0));
    /* Empty, truncated varint, a string where an integer is expected. */
    cr_assert(ne(int, fastwire_decode_request(b, 0, &f), 0));
    cr_assert(ne(int, fastwire_decode_request((const uint8_t *)"\x08\xff", 2,
                                               &f), 0));
    cr_assert(ne(int, fastwire_decode_request(
                           (const uint8_t *)"\x08\x01\x32\x02\x0a\x00", 6,
                           &f), 0));
    /* A varint of 11 bytes (the longest is 10), with room after it. */
    cr_assert(ne(int, fastwire_decode_request(
                           (const uint8_t *)"\x08\xff\xff\xff\xff\xff\xff"
                                            "\xff\xff\xff\xff\x01\x32\x00",
                           14, &f), 0));
    /* The longest valid id (10 bytes) still decodes on the fast path. */
    cr_assert(eq(int, fastwire_decode_request(
                          (const uint8_t *)"\x08\xff\xff\xff\xff\xff\xff"
                                           "\xff\xff\xff\x01\x32\x00",
                          13, &f), 0));
    cr_assert(eq(u64, f.id, UINT64_MAX));
    cr_assert(eq(u32, f.op, OP_ACQUIRE));
    /* A length running past the end. */
    cr_assert(ne(int, fastwire_decode_request(
                           (const uint8_t *)"\x08\x01\x32\x09\x08\x01", 6,
                           &f), 0));
    /* A tag of 6 bytes with a small value (field 1): protobuf-c reads tags
     * of at most 5 bytes and refuses it, so the fast path declines it too
     * (found by fuzz_client_reply in a reply's id). */
    cr_assert(ne(int, fastwire_decode_request(
                           (const uint8_t *)"\x88\x80\x80\x80\x80\x00\x01"
                                            "\x32\x00",
                           9, &f), 0));
    cr_assert(ne(int, fastwire_decode_reply(
                           (const uint8_t *)"\x0a\x0a\x88\x80\x80\x80\x80"
                                            "\x80\x80\x80\x00\x18",
                           12, &r), 0));
    /* A length of 6 bytes (an overlong 0): protobuf-c reads lengths of at
     * most 5 bytes and refuses it (found by fuzz_client_reply: a Reply of
     * length 0 written that way); 5 bytes still decode. */
    cr_assert(ne(int, fastwire_decode_reply(
                           (const uint8_t *)"\x0a\x80\x80\x80\x80\x80\x00",
                           7, &r), 0));
    cr_assert(eq(int, fastwire_decode_reply(
                          (const uint8_t *)"\x0a\x80\x80\x80\x80\x00", 6,
                          &r), 0));
    cr_assert(ne(int, fastwire_decode_request(
                           (const uint8_t *)"\x08\x01\x32\x80\x80\x80\x80"
                                            "\x80\x00",
                           9, &f), 0));
}

/* Reply: fast encode == protobuf-c pack; fast decode == protobuf-c. */
Test(fastwire, reply_bytes_equal_protobuf_c_and_round_trip)
{
    Syncd__ServerMessage msg = SYNCD__SERVER_MESSAGE__INIT;
    Syncd__Reply rep = SYNCD__REPLY__INIT;
    Syncd__AcquireResult acq = SYNCD__ACQUIRE_RESULT__INIT;
    Syncd__QueryResult q = SYNCD__QUERY_RESULT__INIT;
    uint8_t a[128], b[128];
    struct fw_reply f, g;
    size_t na, nb;
    int i, k;

    msg.msg_case = SYNCD__SERVER_MESSAGE__MSG_REPLY;
    msg.reply = &rep;
    for (i = 0; i < 20000; i++) {
        memset(&f, 0, sizeof(f));
        rep.id = f.id = rnd();
        rep.code = f.code = -(int32_t)(rnd() % 40);
        f.result = (enum fw_result[]){FW_RESULT_NONE, FW_RESULT_ACQUIRE,
                                      FW_RESULT_QUERY}[i % 3];
        rep.result_case = (Syncd__Reply__ResultCase)f.result;
        if (f.result == FW_RESULT_ACQUIRE) {
            acq.fencing_token = f.f[WIRE_ACQUIRE_RESULT_FENCING_TOKEN] = rnd();
            acq.owner_died = (f.f[WIRE_ACQUIRE_RESULT_OWNER_DIED] = rnd() & 1) != 0;
            acq.index = (int64_t)(f.f[WIRE_ACQUIRE_RESULT_INDEX] = rnd());
            rep.acquire = &acq;
        } else if (f.result == FW_RESULT_QUERY) {
            q.value = (int64_t)(f.f[WIRE_QUERY_RESULT_VALUE] = rnd());
            q.n_waiting =
                (uint32_t)(f.f[WIRE_QUERY_RESULT_N_WAITING] = (uint32_t)rnd());
            q.parties =
                (uint32_t)(f.f[WIRE_QUERY_RESULT_PARTIES] = (uint32_t)rnd());
            q.broken = (f.f[WIRE_QUERY_RESULT_BROKEN] = rnd() & 1) != 0;
            rep.query = &q;
        }
        na = fastwire_encode_reply(&f, a, sizeof(a));
        nb = FRAME_HEADER_SIZE +
             syncd__server_message__pack(&msg, b + FRAME_HEADER_SIZE);
        frame_put_header(b, (uint32_t)(nb - FRAME_HEADER_SIZE));
        cr_assert(eq(sz, na, nb), "reply %d", i);
        cr_assert(eq(int, memcmp(a, b, na), 0), "reply %d", i);
        cr_assert(eq(int, fastwire_decode_reply(b + 4, nb - 4, &g), 0));
        cr_assert(eq(u64, g.id, f.id));
        cr_assert(eq(i32, g.code, f.code));
        cr_assert(eq(int, (int)g.result, (int)f.result));
        for (k = 1; k <= FW_MAX_FIELDS; k++)
            cr_assert(eq(u64, g.f[k], f.f[k]), "reply %d field %d", i, k);
    }
}

Test(fastwire, reply_with_message_is_left_to_protobuf_c)
{
    Syncd__ServerMessage msg = SYNCD__SERVER_MESSAGE__INIT;
    Syncd__Reply rep = SYNCD__REPLY__INIT;
    uint8_t b[128];
    struct fw_reply g;
    size_t n;

    msg.msg_case = SYNCD__SERVER_MESSAGE__MSG_REPLY;
    msg.reply = &rep;
    rep.id = 3;
    rep.code = -2;
    rep.message = (char *)"nope";
    n = syncd__server_message__pack(&msg, b);
    cr_assert(ne(int, fastwire_decode_reply(b, n, &g), 0));
}
