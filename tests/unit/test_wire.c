/*
 * test_wire.c: proto/wire.h is the one source of the protocol's numbers.
 * Every op goes client encoder -> bytes -> daemon decoder, and those bytes
 * must equal what protobuf-c packs for the same request built field by
 * field by name; every reply the client reads goes daemon encoder -> bytes
 * -> client decoder the same way.  The numbers wire.h gives the fast path
 * are checked against protobuf-c's generated descriptors.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "fastwire.h"
#include "frame.h"
#include "internal.h"
#include "syncd.pb-c.h"
#include "wire.h"
#include "xalloc.h"

/* One distinct, multi-byte value per field, so a swap shows. */
#define V_ID 0x1122334455ull
#define V_HANDLE 0x1234u
#define V_TIMEOUT_US 1234567
#define V_N 77u
#define V_THREAD 0x1122334455667788ull
#define V_VALUE 9u
#define V_FLAGS WIRE_OPEN_FLAG_UNDO
#define V_MODE 0640u
#define V_TYPE WIRE_TYPE_CONDITION
#define V_NAME "cv/name"
#define V_LOCK_NAME "lk"
#define V_PID 4242u
#define V_CLIENT_NAME "prog"
#define V_PATTERN "a*"
#define V_AFTER_NAME "after"
#define V_AFTER_ID 99u
#define V_LIMIT 55u
#define V_MAX_WAITERS 33u
#define V_CANCEL_ID 77u
#define V_CAPS (WIRE_CAP_RECLAIM | WIRE_CAP_CLUSTER)
#define V_EPOCH 0x0102030405ull
#define V_GRACE_MS 4321u
#define V_TOKEN 0x0a0b0c0d0eull
static const uint8_t V_CLIENT_ID[16] = {1, 2, 3, 4, 5, 6, 7, 8,
                                        9, 10, 11, 12, 13, 14, 15, 16};

/* The client's plain request for op, every field set. */
static struct sync__request client_request(enum wire_op op)
{
    return (struct sync__request){
        .op = op, .handle = V_HANDLE, .timeout_us = V_TIMEOUT_US, .n = V_N,
        .all = true, .thread = V_THREAD, .value = V_VALUE, .flags = V_FLAGS,
        .mode = V_MODE, .type = V_TYPE, .name = V_NAME,
        .lock_name = V_LOCK_NAME, .pid = V_PID, .caps = V_CAPS,
        .client_id = V_CLIENT_ID, .token = V_TOKEN,
        .client_name = V_CLIENT_NAME,
        .pattern = V_PATTERN, .after_name = V_AFTER_NAME,
        .after_id = V_AFTER_ID, .limit = V_LIMIT,
        .max_waiters = V_MAX_WAITERS, .cancel_id = V_CANCEL_ID};
}

/* Storage for every op's message, built by protobuf-c names. */
struct pb_request {
    Syncd__Request req;
    Syncd__Hello hello;
    Syncd__Open open;
    Syncd__Close close;
    Syncd__Unlink unlink;
    Syncd__Acquire acquire;
    Syncd__Release release;
    Syncd__Query query;
    Syncd__EventSet event_set;
    Syncd__EventClear event_clear;
    Syncd__EventWait event_wait;
    Syncd__CondWait cond_wait;
    Syncd__CondNotify cond_notify;
    Syncd__BarrierWait barrier_wait;
    Syncd__BarrierReset barrier_reset;
    Syncd__BarrierAbort barrier_abort;
    Syncd__Status status;
    Syncd__ListObjects list_objects;
    Syncd__ShowObject show_object;
    Syncd__ListClients list_clients;
    Syncd__Cancel cancel;
    Syncd__BarrierActionDone barrier_action_done;
    Syncd__Reclaim reclaim;
};

static ProtobufCBinaryData bytes(const char *s)
{
    return (ProtobufCBinaryData){strlen(s), (uint8_t *)s};
}

#define PB_OP(m, field, CASE, init)                                           \
    (init(&(m)->field), (m)->req.op_case = SYNCD__REQUEST__OP_##CASE,        \
     (m)->req.field = &(m)->field)

/* What the client should send for op, written independently of wire.c and
 * wire.h: through protobuf-c's field names only.  No default: a new op
 * fails to compile until it is tested here. */
static void pb_request(enum wire_op op, struct pb_request *m)
{
    memset(m, 0, sizeof(*m));
    syncd__request__init(&m->req);
    m->req.id = V_ID;
    switch (op) {
    case OP_HELLO:
        PB_OP(m, hello, HELLO, syncd__hello__init);
        m->hello.version = 2;
        m->hello.pid = V_PID;
        m->hello.client_name = (char *)V_CLIENT_NAME;
        m->hello.capabilities = V_CAPS;
        m->hello.client_id = (ProtobufCBinaryData){16, (uint8_t *)V_CLIENT_ID};
        return;
    case OP_OPEN:
        PB_OP(m, open, OPEN, syncd__open__init);
        m->open.name = bytes(V_NAME);
        m->open.type = SYNCD__OBJECT_TYPE__CONDITION;
        m->open.value = V_VALUE;
        m->open.flags = 1;
        m->open.lock_name = bytes(V_LOCK_NAME);
        m->open.mode = V_MODE;
        m->open.handle = V_HANDLE;
        return;
    case OP_CLOSE:
        PB_OP(m, close, CLOSE, syncd__close__init);
        m->close.handle = V_HANDLE;
        return;
    case OP_UNLINK:
        PB_OP(m, unlink, UNLINK, syncd__unlink__init);
        m->unlink.name = bytes(V_NAME);
        return;
    case OP_ACQUIRE:
        PB_OP(m, acquire, ACQUIRE, syncd__acquire__init);
        m->acquire.handle = V_HANDLE;
        m->acquire.timeout_us = V_TIMEOUT_US;
        m->acquire.thread = V_THREAD;
        return;
    case OP_RELEASE:
        PB_OP(m, release, RELEASE, syncd__release__init);
        m->release.handle = V_HANDLE;
        m->release.n = V_N;
        m->release.thread = V_THREAD;
        return;
    case OP_QUERY:
        PB_OP(m, query, QUERY, syncd__query__init);
        m->query.handle = V_HANDLE;
        m->query.thread = V_THREAD;
        return;
    case OP_EVENT_SET:
        PB_OP(m, event_set, EVENT_SET, syncd__event_set__init);
        m->event_set.handle = V_HANDLE;
        return;
    case OP_EVENT_CLEAR:
        PB_OP(m, event_clear, EVENT_CLEAR, syncd__event_clear__init);
        m->event_clear.handle = V_HANDLE;
        return;
    case OP_EVENT_WAIT:
        PB_OP(m, event_wait, EVENT_WAIT, syncd__event_wait__init);
        m->event_wait.handle = V_HANDLE;
        m->event_wait.timeout_us = V_TIMEOUT_US;
        return;
    case OP_COND_WAIT:
        PB_OP(m, cond_wait, COND_WAIT, syncd__cond_wait__init);
        m->cond_wait.handle = V_HANDLE;
        m->cond_wait.timeout_us = V_TIMEOUT_US;
        m->cond_wait.thread = V_THREAD;
        return;
    case OP_COND_NOTIFY:
        PB_OP(m, cond_notify, COND_NOTIFY, syncd__cond_notify__init);
        m->cond_notify.handle = V_HANDLE;
        m->cond_notify.n = V_N;
        m->cond_notify.all = true;
        m->cond_notify.thread = V_THREAD;
        return;
    case OP_BARRIER_WAIT:
        PB_OP(m, barrier_wait, BARRIER_WAIT, syncd__barrier_wait__init);
        m->barrier_wait.handle = V_HANDLE;
        m->barrier_wait.timeout_us = V_TIMEOUT_US;
        m->barrier_wait.action = true;
        return;
    case OP_BARRIER_ACTION_DONE:
        PB_OP(m, barrier_action_done, BARRIER_ACTION_DONE,
              syncd__barrier_action_done__init);
        m->barrier_action_done.handle = V_HANDLE;
        m->barrier_action_done.failed = true;
        return;
    case OP_BARRIER_RESET:
        PB_OP(m, barrier_reset, BARRIER_RESET, syncd__barrier_reset__init);
        m->barrier_reset.handle = V_HANDLE;
        return;
    case OP_BARRIER_ABORT:
        PB_OP(m, barrier_abort, BARRIER_ABORT, syncd__barrier_abort__init);
        m->barrier_abort.handle = V_HANDLE;
        return;
    case OP_STATUS:
        PB_OP(m, status, STATUS, syncd__status__init);
        return;
    case OP_LIST_OBJECTS:
        PB_OP(m, list_objects, LIST_OBJECTS, syncd__list_objects__init);
        m->list_objects.pattern = (char *)V_PATTERN;
        m->list_objects.after = bytes(V_AFTER_NAME);
        m->list_objects.limit = V_LIMIT;
        return;
    case OP_SHOW_OBJECT:
        PB_OP(m, show_object, SHOW_OBJECT, syncd__show_object__init);
        m->show_object.name = bytes(V_NAME);
        m->show_object.max_waiters = V_MAX_WAITERS;
        return;
    case OP_LIST_CLIENTS:
        PB_OP(m, list_clients, LIST_CLIENTS, syncd__list_clients__init);
        m->list_clients.after = V_AFTER_ID;
        m->list_clients.limit = V_LIMIT;
        return;
    case OP_CANCEL:
        PB_OP(m, cancel, CANCEL, syncd__cancel__init);
        m->cancel.request_id = V_CANCEL_ID;
        return;
    case OP_RECLAIM:
        PB_OP(m, reclaim, RECLAIM, syncd__reclaim__init);
        m->reclaim.handle = V_HANDLE;
        m->reclaim.token = V_TOKEN;
        m->reclaim.depth = V_N;
        return;
    }
}

/* What the daemon must decode for op (every other field stays empty). */
static struct request daemon_request(enum wire_op op)
{
    struct request r;

    memset(&r, 0, sizeof(r));
    r.id = V_ID;
    r.op = op;
    switch (op) {
    case OP_HELLO:
        r.version = 2;
        r.caps = V_CAPS;
        r.has_client_id = true;
        memcpy(r.client_id, V_CLIENT_ID, 16);
        r.pid = V_PID;
        strcpy(r.client_name, V_CLIENT_NAME);
        break;
    case OP_OPEN:
        r.type = V_TYPE;
        r.value = V_VALUE;
        r.flags = V_FLAGS;
        r.mode = V_MODE;
        r.handle = V_HANDLE;
        r.name_len = strlen(strcpy(r.name, V_NAME));
        r.lock_name_len = strlen(strcpy(r.lock_name, V_LOCK_NAME));
        break;
    case OP_UNLINK:
        r.name_len = strlen(strcpy(r.name, V_NAME));
        break;
    case OP_QUERY:
        r.handle = V_HANDLE;
        r.thread = V_THREAD;
        break;
    case OP_CLOSE:
    case OP_EVENT_SET:
    case OP_EVENT_CLEAR:
    case OP_BARRIER_RESET:
    case OP_BARRIER_ABORT:
        r.handle = V_HANDLE;
        break;
    case OP_ACQUIRE:
    case OP_COND_WAIT:
        r.thread = V_THREAD;
        /* fall through */
    case OP_EVENT_WAIT:
    case OP_BARRIER_WAIT:
        r.handle = V_HANDLE;
        r.timeout_us = V_TIMEOUT_US;
        r.action = op == OP_BARRIER_WAIT;
        break;
    case OP_BARRIER_ACTION_DONE:
        r.handle = V_HANDLE;
        r.action = true;
        break;
    case OP_RELEASE:
        r.handle = V_HANDLE;
        r.n = V_N;
        r.thread = V_THREAD;
        break;
    case OP_COND_NOTIFY:
        r.handle = V_HANDLE;
        r.n = V_N;
        r.notify_all = true;
        r.thread = V_THREAD;
        break;
    case OP_STATUS:
        break;
    case OP_LIST_OBJECTS:
        r.limit = V_LIMIT;
        r.pattern_len = strlen(strcpy(r.pattern, V_PATTERN));
        r.after_name_len = strlen(strcpy(r.after_name, V_AFTER_NAME));
        break;
    case OP_SHOW_OBJECT:
        r.max_waiters = V_MAX_WAITERS;
        r.name_len = strlen(strcpy(r.name, V_NAME));
        break;
    case OP_LIST_CLIENTS:
        r.after_id = V_AFTER_ID;
        r.limit = V_LIMIT;
        break;
    case OP_CANCEL:
        r.cancel_id = V_CANCEL_ID;
        break;
    case OP_RECLAIM:
        r.handle = V_HANDLE;
        r.token = V_TOKEN;
        r.n = V_N;
        break;
    }
    return r;
}

static void assert_same_request(const struct request *a,
                                const struct request *b, const char *how)
{
    const char *op = wire_op_name(b->op);

    cr_assert(eq(u64, a->id, b->id), "%s %s: id", how, op);
    cr_assert(eq(int, (int)a->op, (int)b->op), "%s %s: op", how, op);
    cr_assert(eq(u32, a->handle, b->handle), "%s %s: handle", how, op);
    cr_assert(eq(i64, a->timeout_us, b->timeout_us), "%s %s: timeout", how,
              op);
    cr_assert(eq(u32, a->n, b->n), "%s %s: n", how, op);
    cr_assert(eq(int, a->notify_all, b->notify_all), "%s %s: all", how, op);
    cr_assert(eq(int, a->action, b->action), "%s %s: action", how, op);
    cr_assert(eq(u64, a->thread, b->thread), "%s %s: thread", how, op);
    cr_assert(eq(u32, a->value, b->value), "%s %s: value", how, op);
    cr_assert(eq(u32, a->flags, b->flags), "%s %s: flags", how, op);
    cr_assert(eq(u32, a->mode, b->mode), "%s %s: mode", how, op);
    cr_assert(eq(u32, a->limit, b->limit), "%s %s: limit", how, op);
    cr_assert(eq(u32, a->max_waiters, b->max_waiters), "%s %s: max_waiters",
              how, op);
    cr_assert(eq(u64, a->after_id, b->after_id), "%s %s: after_id", how, op);
    cr_assert(eq(u64, a->cancel_id, b->cancel_id), "%s %s: cancel_id", how,
              op);
    cr_assert(eq(u32, a->type, b->type), "%s %s: type", how, op);
    cr_assert(eq(u32, a->version, b->version), "%s %s: version", how, op);
    cr_assert(eq(u32, a->caps, b->caps), "%s %s: caps", how, op);
    cr_assert(eq(int, a->has_client_id, b->has_client_id), "%s %s", how, op);
    cr_assert(eq(int, memcmp(a->client_id, b->client_id, 16), 0), "%s %s",
              how, op);
    cr_assert(eq(u64, a->token, b->token), "%s %s: token", how, op);
    cr_assert(eq(u32, a->pid, b->pid), "%s %s: pid", how, op);
    cr_assert(eq(sz, a->name_len, b->name_len), "%s %s: name", how, op);
    cr_assert(eq(str, (char *)a->name, (char *)b->name), "%s %s", how, op);
    cr_assert(eq(sz, a->lock_name_len, b->lock_name_len), "%s %s", how, op);
    cr_assert(eq(str, (char *)a->lock_name, (char *)b->lock_name), "%s %s",
              how, op);
    cr_assert(eq(sz, a->after_name_len, b->after_name_len), "%s %s", how,
              op);
    cr_assert(eq(str, (char *)a->after_name, (char *)b->after_name), "%s %s",
              how, op);
    cr_assert(eq(sz, a->pattern_len, b->pattern_len), "%s %s", how, op);
    cr_assert(eq(str, (char *)a->pattern, (char *)b->pattern), "%s %s", how,
              op);
    cr_assert(eq(str, (char *)a->client_name, (char *)b->client_name),
              "%s %s", how, op);
}

/* Pack m with protobuf-c as one frame; its length. */
static size_t pb_pack(const ProtobufCMessage *m, uint8_t *out)
{
    size_t n = protobuf_c_message_pack(m, out + FRAME_HEADER_SIZE);

    frame_put_header(out, (uint32_t)n);
    return FRAME_HEADER_SIZE + n;
}

Test(wire, every_op_client_bytes_equal_protobuf_c_and_daemon_decodes_them)
{
    uint8_t a[512], b[512];
    struct sync__request c;
    struct pb_request m;
    struct request got, want;
    const char *detail = NULL;
    size_t na, nb;
    int op;

    for (op = 0; op < WIRE_OP_COUNT; op++) {
        c = client_request((enum wire_op)op);
        na = sync__wire_encode(&c, V_ID, a, sizeof(a));
        cr_assert(eq(sz, na, sync__wire_size(&c, V_ID)), "%s",
                  wire_op_name(op));
        pb_request((enum wire_op)op, &m);
        nb = pb_pack(&m.req.base, b);
        cr_assert(eq(sz, na, nb), "%s: length", wire_op_name(op));
        cr_assert(eq(int, memcmp(a, b, na), 0), "%s: bytes differ",
                  wire_op_name(op));
        cr_assert(eq(int,
                     codec_decode_request(a + FRAME_HEADER_SIZE,
                                          na - FRAME_HEADER_SIZE, &got,
                                          &detail),
                     0),
                  "%s", wire_op_name(op));
        want = daemon_request((enum wire_op)op);
        assert_same_request(&got, &want, "decoded");
    }
}

static size_t put_varint(uint8_t *out, uint64_t v)
{
    size_t n = 0;

    while (v >= 0x80) {
        out[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    out[n++] = (uint8_t)v;
    return n;
}

/*
 * The daemon decodes a fast op identically whichever codec reads it: an
 * unknown field appended to the op's message (valid protobuf, which
 * fastwire declines) sends it through protobuf-c instead.
 */
Test(wire, fast_ops_decode_the_same_through_protobuf_c)
{
    const ProtobufCFieldDescriptor *fd;
    uint8_t body[256], msg[300];
    struct pb_request m;
    struct request fast, slow, want;
    struct fw_request fw;
    const char *detail = NULL;
    size_t bn, mn;
    int op;

    for (op = 0; op < WIRE_OP_COUNT; op++) {
        if (!wire_op_fast((uint32_t)op))
            continue;
        pb_request((enum wire_op)op, &m);
        fd = protobuf_c_message_descriptor_get_field_by_name(
            &syncd__request__descriptor, wire_op_name((uint32_t)op));
        cr_assert_not_null(fd);
        bn = protobuf_c_message_pack(
            *(const ProtobufCMessage *const *)((const char *)&m.req +
                                               fd->offset),
            body);
        body[bn++] = 15 << 3; /* field 15, varint 1: unknown */
        body[bn++] = 1;
        /* Request{id, op = body}, by hand. */
        mn = 0;
        msg[mn++] = 1 << 3 | 0;
        mn += put_varint(msg + mn, V_ID);
        mn += put_varint(msg + mn, fd->id << 3 | 2);
        mn += put_varint(msg + mn, bn);
        memcpy(msg + mn, body, bn);
        mn += bn;
        cr_assert(ne(int, fastwire_decode_request(msg, mn, &fw), 0),
                  "%s: fastwire took the unknown field", wire_op_name(op));
        cr_assert(eq(int, codec_decode_request(msg, mn, &slow, &detail), 0),
                  "%s: %s", wire_op_name(op), detail);
        pb_pack(&m.req.base, body);
        cr_assert(eq(int, codec_decode_request(
                              body + FRAME_HEADER_SIZE,
                              protobuf_c_message_get_packed_size(&m.req.base),
                              &fast, &detail),
                     0));
        want = daemon_request((enum wire_op)op);
        assert_same_request(&slow, &want, "protobuf-c");
        assert_same_request(&fast, &want, "fastwire");
    }
}

/* A reply of each kind the client reads, with and without a message. */
static struct reply daemon_reply(enum reply_kind kind, const char *message)
{
    struct reply r;

    memset(&r, 0, sizeof(r));
    r.id = V_ID;
    r.code = kind == REPLY_PLAIN ? SYNC_ETIMEDOUT : 0;
    r.message = message;
    r.kind = kind;
    switch (kind) {
    case REPLY_HELLO:
        r.u.hello.version = WIRE_PROTOCOL_VERSION;
        r.u.hello.server_pid = V_PID;
        r.u.hello.max_frame = 65536;
        r.u.hello.session_id = V_AFTER_ID;
        r.u.hello.caps = V_CAPS;
        r.u.hello.epoch = V_EPOCH;
        r.u.hello.grace_ms = V_GRACE_MS;
        break;
    case REPLY_OPEN:
        r.u.open.handle = V_HANDLE;
        r.u.open.created = true;
        break;
    case REPLY_ACQUIRE:
        r.u.acquire.token = V_THREAD;
        r.u.acquire.owner_died = true;
        r.u.acquire.index = 3;
        r.u.acquire.run_action = true;
        break;
    case REPLY_QUERY:
        r.u.query.value = -5;
        r.u.query.n_waiting = V_N;
        r.u.query.parties = V_LIMIT;
        r.u.query.broken = true;
        r.u.query.depth = 7;
        r.u.query.lock_held = true;
        break;
    case REPLY_PLAIN:
    case REPLY_STATUS:
    case REPLY_LIST:
    case REPLY_OBJECT:
    case REPLY_CLIENTS:
        break;
    }
    return r;
}

/* The same reply through protobuf-c's names; packed into out. */
static size_t pb_reply(const struct reply *r, uint8_t *out)
{
    Syncd__ServerMessage msg = SYNCD__SERVER_MESSAGE__INIT;
    Syncd__Reply rep = SYNCD__REPLY__INIT;
    Syncd__HelloResult hello = SYNCD__HELLO_RESULT__INIT;
    Syncd__OpenResult open = SYNCD__OPEN_RESULT__INIT;
    Syncd__AcquireResult acq = SYNCD__ACQUIRE_RESULT__INIT;
    Syncd__QueryResult q = SYNCD__QUERY_RESULT__INIT;

    msg.msg_case = SYNCD__SERVER_MESSAGE__MSG_REPLY;
    msg.reply = &rep;
    rep.id = r->id;
    rep.code = r->code;
    if (r->message != NULL)
        rep.message = (char *)r->message;
    if (r->kind == REPLY_HELLO) {
        hello.version = r->u.hello.version;
        hello.server_pid = r->u.hello.server_pid;
        hello.session_id = r->u.hello.session_id;
        hello.max_frame = r->u.hello.max_frame;
        hello.server_version = (char *)SYNCD_VERSION;
        hello.capabilities = r->u.hello.caps;
        hello.epoch = r->u.hello.epoch;
        hello.grace_ms = r->u.hello.grace_ms;
        rep.result_case = SYNCD__REPLY__RESULT_HELLO;
        rep.hello = &hello;
    } else if (r->kind == REPLY_OPEN) {
        open.handle = r->u.open.handle;
        open.created = r->u.open.created;
        rep.result_case = SYNCD__REPLY__RESULT_OPEN;
        rep.open = &open;
    } else if (r->kind == REPLY_ACQUIRE) {
        acq.fencing_token = r->u.acquire.token;
        acq.owner_died = r->u.acquire.owner_died;
        acq.index = r->u.acquire.index;
        acq.run_action = r->u.acquire.run_action;
        rep.result_case = SYNCD__REPLY__RESULT_ACQUIRE;
        rep.acquire = &acq;
    } else if (r->kind == REPLY_QUERY) {
        q.value = r->u.query.value;
        q.n_waiting = r->u.query.n_waiting;
        q.parties = r->u.query.parties;
        q.broken = r->u.query.broken;
        q.depth = r->u.query.depth;
        q.lock_held = r->u.query.lock_held;
        rep.result_case = SYNCD__REPLY__RESULT_QUERY;
        rep.query = &q;
    }
    return pb_pack(&msg.base, out);
}

Test(wire, replies_daemon_bytes_equal_protobuf_c_and_client_decodes_them)
{
    static const enum reply_kind kinds[] = {REPLY_PLAIN, REPLY_HELLO,
                                            REPLY_OPEN, REPLY_ACQUIRE,
                                            REPLY_QUERY};
    static const char *const messages[] = {NULL, "a detail"};
    uint8_t a[512], b[512];
    struct sync__incoming in;
    struct reply r;
    size_t na, nb, i, k;

    for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        for (k = 0; k < 2; k++) {
            r = daemon_reply(kinds[i], messages[k]);
            na = codec_encode_reply(&r, a, sizeof(a));
            nb = pb_reply(&r, b);
            cr_assert(eq(sz, na, nb), "kind %d message %zu", kinds[i], k);
            cr_assert(eq(int, memcmp(a, b, na), 0), "kind %d message %zu",
                      kinds[i], k);
            cr_assert(eq(int,
                         sync__wire_decode(a + FRAME_HEADER_SIZE,
                                           na - FRAME_HEADER_SIZE, &in),
                         0));
            cr_assert(in.is_reply);
            cr_assert(eq(u64, in.id, V_ID));
            cr_assert(eq(int, in.code, r.code));
            cr_assert(eq(u32, in.result.version, r.u.hello.version *
                                                     (r.kind == REPLY_HELLO)));
            if (r.kind == REPLY_HELLO) {
                cr_assert(eq(u32, in.result.max_frame, 65536));
                cr_assert(eq(u32, in.result.caps, V_CAPS));
                cr_assert(eq(u64, in.result.epoch, V_EPOCH));
                cr_assert(eq(u32, in.result.grace_ms, V_GRACE_MS));
            }
            if (r.kind == REPLY_OPEN) {
                cr_assert(eq(u32, in.result.handle, V_HANDLE));
                cr_assert(in.result.created);
            }
            if (r.kind == REPLY_ACQUIRE) {
                cr_assert(eq(u64, in.result.token, V_THREAD));
                cr_assert(in.result.owner_died);
                cr_assert(eq(i64, in.result.index, 3));
                cr_assert(in.result.run_action);
            }
            if (r.kind == REPLY_QUERY) {
                cr_assert(eq(i64, in.result.value, -5));
                cr_assert(eq(u32, in.result.n_waiting, V_N));
                cr_assert(eq(u32, in.result.parties, V_LIMIT));
                cr_assert(in.result.broken);
                cr_assert(eq(u32, in.result.depth, 7));
                cr_assert(in.result.lock_held);
            }
        }
    }
}

/* wire.h's fast-path field numbers, with protobuf-c's descriptor of each. */
struct wire_field_check {
    const ProtobufCMessageDescriptor *desc;
    const char *field;
    unsigned number;
    const char *constant;
};

static const struct wire_field_check wire_fields[] = {
#define WIRE_FIELD_CHECK(CONST, message, field, number)                       \
    {&syncd__##message##__descriptor, #field, number, "WIRE_" #CONST},
    WIRE_FIELD_MAP(WIRE_FIELD_CHECK)
#undef WIRE_FIELD_CHECK
};
#define N_WIRE_FIELDS (sizeof(wire_fields) / sizeof(wire_fields[0]))

/* The field types fastwire can carry: varints (and the messages nesting
 * them in a Request / ServerMessage). */
static bool fast_type(ProtobufCType t)
{
    return t == PROTOBUF_C_TYPE_UINT32 || t == PROTOBUF_C_TYPE_UINT64 ||
           t == PROTOBUF_C_TYPE_INT64 || t == PROTOBUF_C_TYPE_BOOL ||
           t == PROTOBUF_C_TYPE_SINT32 || t == PROTOBUF_C_TYPE_MESSAGE;
}

Test(wire, fast_path_field_numbers_are_protobuf_c_generated_ones)
{
    const ProtobufCFieldDescriptor *fd;
    size_t i;

    for (i = 0; i < N_WIRE_FIELDS; i++) {
        fd = protobuf_c_message_descriptor_get_field_by_name(
            wire_fields[i].desc, wire_fields[i].field);
        cr_assert_not_null(fd, "%s: no field %s.%s", wire_fields[i].constant,
                           wire_fields[i].desc->name, wire_fields[i].field);
        cr_assert(eq(u32, fd->id, wire_fields[i].number),
                  "%s is %u, syncd.proto says %s.%s = %u",
                  wire_fields[i].constant, wire_fields[i].number,
                  wire_fields[i].desc->name, fd->name, fd->id);
        cr_assert(ne(int, (int)fd->label, (int)PROTOBUF_C_LABEL_REPEATED));
        cr_assert(fast_type(fd->type), "%s: type %d", wire_fields[i].constant,
                  (int)fd->type);
        cr_assert(le(u32, fd->id, WIRE_FAST_MAX_FIELD + 3));
    }
}

/* A fast op's message has no field wire.h does not name. */
Test(wire, every_field_of_a_fast_op_is_named_in_wire_h)
{
    const ProtobufCMessageDescriptor *sub;
    const ProtobufCFieldDescriptor *fd;
    unsigned op, i;
    size_t k;

    for (op = 0; op < WIRE_OP_COUNT; op++) {
        if (!wire_op_fast(op))
            continue;
        fd = protobuf_c_message_descriptor_get_field_by_name(
            &syncd__request__descriptor, wire_op_name(op));
        cr_assert_not_null(fd);
        sub = fd->descriptor;
        for (i = 0; i < sub->n_fields; i++) {
            for (k = 0; k < N_WIRE_FIELDS; k++)
                if (wire_fields[k].desc == sub &&
                    strcmp(wire_fields[k].field, sub->fields[i].name) == 0)
                    break;
            cr_assert(lt(sz, k, N_WIRE_FIELDS),
                      "%s.%s is not in WIRE_FIELD_MAP", sub->name,
                      sub->fields[i].name);
            cr_assert(le(u32, sub->fields[i].id, WIRE_FAST_MAX_FIELD));
            cr_assert(ne(int, (int)sub->fields[i].type,
                         (int)PROTOBUF_C_TYPE_MESSAGE));
        }
    }
}

Test(wire, ops_are_the_request_oneof_in_order)
{
    const ProtobufCFieldDescriptor *fd;
    unsigned op;

    /* Request = id + one field per op: an op missing from wire.h shows. */
    cr_assert(eq(u32, syncd__request__descriptor.n_fields, WIRE_OP_COUNT + 1));
    for (op = 0; op < WIRE_OP_COUNT; op++) {
        fd = protobuf_c_message_descriptor_get_field_by_name(
            &syncd__request__descriptor, wire_op_name(op));
        cr_assert_not_null(fd, "Request has no op %s", wire_op_name(op));
        cr_assert(eq(u32, fd->id, op + WIRE_OP_FIRST_FIELD), "%s",
                  wire_op_name(op));
        cr_assert(eq(int, (int)fd->type, (int)PROTOBUF_C_TYPE_MESSAGE));
    }
    cr_assert_null(wire_op_name(WIRE_OP_COUNT));
}

Test(wire, object_types_are_the_proto_enum)
{
    const ProtobufCEnumValue *v;

    cr_assert(eq(u32, syncd__object_type__descriptor.n_values,
                 WIRE_TYPE_BARRIER + 1));
#define CHECK_TYPE(NAME, name)                                                \
    v = protobuf_c_enum_descriptor_get_value_by_name(                         \
        &syncd__object_type__descriptor, #NAME);                              \
    cr_assert_not_null(v);                                                    \
    cr_assert(eq(int, v->value, (int)WIRE_TYPE_##NAME), #NAME);
    WIRE_TYPE_MAP(CHECK_TYPE)
#undef CHECK_TYPE
}

/*
 * The bytes of every op as protocol version 2 has them (Request payload,
 * hex), with the values of client_request().  protobuf-c on both sides
 * would agree on a renumbered field; a client built from an older
 * syncd.proto (or another language) would not.  A change here is a
 * protocol change: keep the old numbers, or bump WIRE_PROTOCOL_VERSION.
 * Version 2 changed Hello (version 2, capabilities = field 4, client_id =
 * field 5), Open (handle = field 7) and added Reclaim (op field 22).
 */
static const char *const v2_bytes[] = {
    [OP_HELLO] =
        "08d588cd919202121f08021092211a0470726f6720112a10010203040506070809"
        "0a0b0c0d0e0f10",
    [OP_OPEN] =
        "08d588cd9192021a190a0763762f6e616d651006180920012a026c6b30a00338b424",
    [OP_CLOSE] = "08d588cd919202220308b424",
    [OP_UNLINK] = "08d588cd9192022a090a0763762f6e616d65",
    [OP_ACQUIRE] =
        "08d588cd919202321108b4241087ad4b1888ef99abc5e88c9111",
    [OP_RELEASE] = "08d588cd9192023a0f08b424104d1888ef99abc5e88c9111",
    /* Query.thread (field 2) was added after version 1 shipped: an
     * addition, which an older daemon skips (it then answers depth 0). */
    [OP_QUERY] = "08d588cd919202420d08b4241088ef99abc5e88c9111",
    [OP_EVENT_SET] = "08d588cd9192024a0308b424",
    [OP_EVENT_CLEAR] = "08d588cd919202520308b424",
    [OP_EVENT_WAIT] = "08d588cd9192025a0708b4241087ad4b",
    [OP_COND_WAIT] =
        "08d588cd919202621108b4241087ad4b1888ef99abc5e88c9111",
    [OP_COND_NOTIFY] =
        "08d588cd9192026a1108b424104d18012088ef99abc5e88c9111",
    /* BarrierWait.action (field 3): an addition, as Query.thread. */
    [OP_BARRIER_WAIT] = "08d588cd919202720908b4241087ad4b1801",
    [OP_BARRIER_RESET] = "08d588cd9192027a0308b424",
    [OP_BARRIER_ABORT] = "08d588cd91920282010308b424",
    [OP_STATUS] = "08d588cd9192028a0100",
    [OP_LIST_OBJECTS] =
        "08d588cd91920292010d0a02612a120561667465721837",
    [OP_SHOW_OBJECT] = "08d588cd9192029a010b0a0763762f6e616d651021",
    [OP_LIST_CLIENTS] = "08d588cd919202a2010408631037",
    [OP_CANCEL] = "08d588cd919202aa0102084d",
    [OP_BARRIER_ACTION_DONE] = "08d588cd919202b2010508b4241001",
    [OP_RECLAIM] = "08d588cd919202ba010c08b424108e9ab0d8a001184d",
};

/* A version-1 client's Hello as it was sent (values of client_request()):
 * the daemon reads version 1 and no capabilities. */
#define V1_HELLO "08d588cd919202120b08011092211a0470726f67"

Test(wire, version_1_hello_decodes_as_version_1_without_capabilities)
{
    uint8_t b[64];
    struct request r;
    const char *detail = NULL;
    size_t i, n = strlen(V1_HELLO) / 2;
    unsigned x;

    for (i = 0; i < n; i++) {
        cr_assert(eq(int, sscanf(V1_HELLO + 2 * i, "%2x", &x), 1));
        b[i] = (uint8_t)x;
    }
    cr_assert(eq(int, codec_decode_request(b, n, &r, &detail), 0));
    cr_assert(eq(int, r.op, OP_HELLO));
    cr_assert(eq(u32, r.version, 1));
    cr_assert(eq(u32, r.caps, 0));
    cr_assert(eq(u32, r.pid, V_PID));
    cr_assert(eq(str, r.client_name, (char *)V_CLIENT_NAME));
}

Test(wire, every_op_encodes_as_protocol_version_2)
{
    uint8_t a[512];
    char hex[1025];
    struct sync__request c;
    size_t n, i;
    int op;

    cr_assert(eq(int, WIRE_PROTOCOL_VERSION, 2));
    cr_assert(eq(sz, sizeof(v2_bytes) / sizeof(v2_bytes[0]),
                 (size_t)WIRE_OP_COUNT), "a new op needs its bytes here");
    for (op = 0; op < WIRE_OP_COUNT; op++) {
        c = client_request((enum wire_op)op);
        n = sync__wire_encode(&c, V_ID, a, sizeof(a));
        for (i = FRAME_HEADER_SIZE; i < n; i++)
            snprintf(hex + 2 * (i - FRAME_HEADER_SIZE), 3, "%02x", a[i]);
        hex[2 * (n - FRAME_HEADER_SIZE)] = '\0';
        cr_assert(eq(str, hex, (char *)v2_bytes[op]), "%s",
                  wire_op_name((uint32_t)op));
    }
}

/*
 * Inspection replies: the daemon encodes them with protobuf-c (heap);
 * syncctl reads them with protobuf-c from the raw frame the client keeps.
 * Each field set by the daemon comes back under its own name.
 */
Test(wire, inspection_replies_round_trip_by_field_name)
{
    struct party_info holder = {.session_id = 7, .pid = V_PID, .uid = 1000,
                                .client_name = V_CLIENT_NAME,
                                .thread = V_THREAD, .for_ms = 12,
                                .token = 5, .depth = 2};
    struct object_info obj = {.name = V_NAME, .type = OBJECT_RLOCK,
                              .value = 1, .n_waiting = 3, .bound = 4,
                              .handles = 2, .uid = 1000, .gid = 100,
                              .mode = 0640, .lock_name = V_LOCK_NAME,
                              .tokens = 9, .holders = &holder,
                              .n_holders = 1};
    struct object_list list = {.v = &obj, .n = 1, .more = true};
    struct client_info ci = {.session_id = 7, .pid = V_PID, .uid = 1000,
                             .gid = 100, .client_name = V_CLIENT_NAME,
                             .connected_ms = 99, .handles = 2, .held = 1,
                             .waiting = 3};
    struct client_list clients = {.v = &ci, .n = 1, .more = false};
    struct status_info st = {.pid = V_PID, .uptime_ms = 1234,
                             .socket = "/run/x.sock", .clients = 2,
                             .objects = 3, .waiters = 4, .requests = 5,
                             .deadlocks = 6, .denied = 7};
    struct reply r = {.id = V_ID, .kind = REPLY_STATUS};
    Syncd__ServerMessage *m;
    struct sync__incoming in;
    Syncd__ObjectInfo *o;
    uint8_t *buf;
    size_t n;

    st.requests_by_op[OP_ACQUIRE] = 11;
    r.u.status = &st;
    buf = codec_encode_reply_alloc(&r, &n);
    cr_assert_not_null(buf);
    cr_assert(eq(int, sync__wire_decode(buf + 4, n - 4, &in), 0));
    cr_assert(eq(u64, in.id, V_ID));
    m = syncd__server_message__unpack(NULL, n - 4, buf + 4);
    cr_assert_not_null(m);
    cr_assert(eq(u32, m->reply->status->pid, V_PID));
    cr_assert(eq(u64, m->reply->status->uptime_ms, 1234));
    cr_assert(eq(str, m->reply->status->socket, "/run/x.sock"));
    cr_assert(eq(u32, m->reply->status->waiters, 4));
    cr_assert(eq(u64, m->reply->status->counters->deadlocks, 6));
    cr_assert(eq(u64, m->reply->status->counters->denied, 7));
    cr_assert(eq(u64, m->reply->status->counters->requests_by_op[OP_ACQUIRE],
                 11));
    syncd__server_message__free_unpacked(m, NULL);
    xfree(buf);

    r.kind = REPLY_LIST;
    r.u.list = &list;
    buf = codec_encode_reply_alloc(&r, &n);
    cr_assert_not_null(buf);
    m = syncd__server_message__unpack(NULL, n - 4, buf + 4);
    cr_assert_not_null(m);
    cr_assert(m->reply->list->more);
    cr_assert(eq(sz, m->reply->list->n_objects, 1));
    o = m->reply->list->objects[0];
    cr_assert(eq(int, memcmp(o->name.data, V_NAME, o->name.len), 0));
    cr_assert(eq(int, (int)o->type, (int)SYNCD__OBJECT_TYPE__RLOCK));
    cr_assert(eq(u32, o->n_waiting, 3));
    cr_assert(eq(u32, o->bound, 4));
    cr_assert(eq(u32, o->mode, 0640));
    cr_assert(eq(u64, o->tokens, 9));
    cr_assert(eq(sz, o->lock_name.len, strlen(V_LOCK_NAME)));
    cr_assert(eq(sz, o->n_holders, 1));
    cr_assert(eq(u64, o->holders[0]->thread, V_THREAD));
    cr_assert(eq(u32, o->holders[0]->depth, 2));
    cr_assert(eq(u64, o->holders[0]->fencing_token, 5));
    syncd__server_message__free_unpacked(m, NULL);
    xfree(buf);

    r.kind = REPLY_OBJECT;
    r.u.object = &obj;
    buf = codec_encode_reply_alloc(&r, &n);
    cr_assert_not_null(buf);
    m = syncd__server_message__unpack(NULL, n - 4, buf + 4);
    cr_assert_not_null(m);
    cr_assert(eq(u32, m->reply->object->handles, 2));
    cr_assert(eq(u32, m->reply->object->gid, 100));
    cr_assert(eq(u32, m->reply->object->holders[0]->pid, V_PID));
    syncd__server_message__free_unpacked(m, NULL);
    xfree(buf);

    r.kind = REPLY_CLIENTS;
    r.u.clients = &clients;
    buf = codec_encode_reply_alloc(&r, &n);
    cr_assert_not_null(buf);
    m = syncd__server_message__unpack(NULL, n - 4, buf + 4);
    cr_assert_not_null(m);
    cr_assert(eq(sz, m->reply->clients->n_clients, 1));
    cr_assert(eq(u32, m->reply->clients->clients[0]->gid, 100));
    cr_assert(eq(u64, m->reply->clients->clients[0]->connected_ms, 99));
    cr_assert(eq(u32, m->reply->clients->clients[0]->waiting, 3));
    cr_assert(eq(str, m->reply->clients->clients[0]->client_name,
                 V_CLIENT_NAME));
    syncd__server_message__free_unpacked(m, NULL);
    xfree(buf);
}
