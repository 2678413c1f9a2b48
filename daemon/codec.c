/*
 * codec.c: the daemon side of the wire format.  Requests are unpacked into
 * a stack arena and copied into struct request; the protobuf message is
 * gone before codec_decode_request returns.
 */
#include "codec.h"
#include "xalloc.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <stdlib.h>

#include "arena.h"
#include "codec_inspect.h"
#include "fastwire.h"
#include "frame.h"
#include "syncd.pb-c.h"

/* The object layer numbers its types as the wire does (it cannot include
 * wire.h: objects know nothing of the protocol). */
#define CODEC_CHECK_TYPE(NAME, name)                                          \
    _Static_assert((int)OBJECT_##NAME == (int)WIRE_TYPE_##NAME,              \
                   "object.h: OBJECT_" #NAME " is not the wire's");
WIRE_TYPE_MAP(CODEC_CHECK_TYPE)
#undef CODEC_CHECK_TYPE

/* Copy at most SYNC_NAME_MAX bytes of a name, NUL-terminated; *len gets
 * the length as sent so dispatch can refuse a long one. */
static void codec_copy_name(const ProtobufCBinaryData *src,
                            char dst[SYNC_NAME_MAX + 1], size_t *len)
{
    size_t n = src->len > SYNC_NAME_MAX ? SYNC_NAME_MAX : src->len;

    if (n > 0)
        memcpy(dst, src->data, n);
    dst[n] = '\0';
    *len = src->len;
}

/*
 * The client's self-chosen name is only informational, but it is echoed to
 * others (inspection): keep it printable ASCII, truncated, so it never
 * breaks a reply's UTF-8 or a terminal.
 */
static void codec_copy_client_name(const char *src,
                                   char dst[CODEC_CLIENT_NAME_MAX + 1])
{
    size_t i;

    for (i = 0; src != NULL && src[i] != '\0' && i < CODEC_CLIENT_NAME_MAX;
         i++)
        dst[i] = src[i] >= 0x20 && src[i] < 0x7f ? src[i] : '?';
    dst[i] = '\0';
}

/* Fill rq from the op; returns 0 or SYNC_EPROTO. */
static int codec_fill(const Syncd__Request *m, struct request *rq,
                      const char **detail)
{
    switch (m->op_case) {
    case SYNCD__REQUEST__OP_HELLO:
        rq->op = OP_HELLO;
        rq->version = m->hello->version;
        rq->pid = m->hello->pid;
        rq->caps = m->hello->capabilities;
        if (m->hello->client_id.len == sizeof(rq->client_id)) {
            rq->has_client_id = true;
            memcpy(rq->client_id, m->hello->client_id.data,
                   sizeof(rq->client_id));
        }
        codec_copy_client_name(m->hello->client_name, rq->client_name);
        return 0;
    case SYNCD__REQUEST__OP_OPEN:
        rq->op = OP_OPEN;
        rq->type = (uint32_t)m->open->type;
        rq->value = m->open->value;
        rq->flags = m->open->flags;
        rq->mode = m->open->mode;
        rq->handle = m->open->handle;
        codec_copy_name(&m->open->name, rq->name, &rq->name_len);
        codec_copy_name(&m->open->lock_name, rq->lock_name,
                        &rq->lock_name_len);
        return 0;
    case SYNCD__REQUEST__OP_UNLINK:
        rq->op = OP_UNLINK;
        codec_copy_name(&m->unlink->name, rq->name, &rq->name_len);
        return 0;
    case SYNCD__REQUEST__OP_CLOSE:
        rq->op = OP_CLOSE;
        rq->handle = m->close->handle;
        return 0;
    case SYNCD__REQUEST__OP_ACQUIRE:
        rq->op = OP_ACQUIRE;
        rq->handle = m->acquire->handle;
        rq->timeout_us = m->acquire->timeout_us;
        rq->thread = m->acquire->thread;
        return 0;
    case SYNCD__REQUEST__OP_RELEASE:
        rq->op = OP_RELEASE;
        rq->handle = m->release->handle;
        rq->n = m->release->n;
        rq->thread = m->release->thread;
        return 0;
    case SYNCD__REQUEST__OP_COND_WAIT:
        rq->op = OP_COND_WAIT;
        rq->handle = m->cond_wait->handle;
        rq->timeout_us = m->cond_wait->timeout_us;
        rq->thread = m->cond_wait->thread;
        return 0;
    case SYNCD__REQUEST__OP_COND_NOTIFY:
        rq->op = OP_COND_NOTIFY;
        rq->handle = m->cond_notify->handle;
        rq->n = m->cond_notify->n;
        rq->notify_all = m->cond_notify->all;
        rq->thread = m->cond_notify->thread;
        return 0;
    case SYNCD__REQUEST__OP_BARRIER_WAIT:
        rq->op = OP_BARRIER_WAIT;
        rq->handle = m->barrier_wait->handle;
        rq->timeout_us = m->barrier_wait->timeout_us;
        rq->action = m->barrier_wait->action;
        return 0;
    case SYNCD__REQUEST__OP_BARRIER_ACTION_DONE:
        rq->op = OP_BARRIER_ACTION_DONE;
        rq->handle = m->barrier_action_done->handle;
        rq->action = m->barrier_action_done->failed;
        return 0;
    case SYNCD__REQUEST__OP_BARRIER_RESET:
        rq->op = OP_BARRIER_RESET;
        rq->handle = m->barrier_reset->handle;
        return 0;
    case SYNCD__REQUEST__OP_BARRIER_ABORT:
        rq->op = OP_BARRIER_ABORT;
        rq->handle = m->barrier_abort->handle;
        return 0;
    case SYNCD__REQUEST__OP_STATUS:
        rq->op = OP_STATUS;
        return 0;
    case SYNCD__REQUEST__OP_CANCEL:
        rq->op = OP_CANCEL;
        rq->cancel_id = m->cancel->request_id;
        return 0;
    case SYNCD__REQUEST__OP_RECLAIM:
        rq->op = OP_RECLAIM;
        rq->handle = m->reclaim->handle;
        rq->token = m->reclaim->token;
        rq->n = m->reclaim->depth;
        return 0;
    case SYNCD__REQUEST__OP_LIST_OBJECTS: {
        ProtobufCBinaryData pat = {0, NULL};

        rq->op = OP_LIST_OBJECTS;
        rq->limit = m->list_objects->limit;
        if (m->list_objects->pattern != NULL) {
            pat.len = strlen(m->list_objects->pattern);
            pat.data = (uint8_t *)m->list_objects->pattern;
        }
        codec_copy_name(&pat, rq->pattern, &rq->pattern_len);
        codec_copy_name(&m->list_objects->after, rq->after_name,
                        &rq->after_name_len);
        return 0;
    }
    case SYNCD__REQUEST__OP_SHOW_OBJECT:
        rq->op = OP_SHOW_OBJECT;
        rq->max_waiters = m->show_object->max_waiters;
        codec_copy_name(&m->show_object->name, rq->name, &rq->name_len);
        return 0;
    case SYNCD__REQUEST__OP_LIST_CLIENTS:
        rq->op = OP_LIST_CLIENTS;
        rq->after_id = m->list_clients->after;
        rq->limit = m->list_clients->limit;
        return 0;
    case SYNCD__REQUEST__OP_QUERY:
        rq->op = OP_QUERY;
        rq->handle = m->query->handle;
        rq->thread = m->query->thread;
        return 0;
    case SYNCD__REQUEST__OP_EVENT_SET:
        rq->op = OP_EVENT_SET;
        rq->handle = m->event_set->handle;
        return 0;
    case SYNCD__REQUEST__OP_EVENT_CLEAR:
        rq->op = OP_EVENT_CLEAR;
        rq->handle = m->event_clear->handle;
        return 0;
    case SYNCD__REQUEST__OP_EVENT_WAIT:
        rq->op = OP_EVENT_WAIT;
        rq->handle = m->event_wait->handle;
        rq->timeout_us = m->event_wait->timeout_us;
        return 0;
    case SYNCD__REQUEST__OP__NOT_SET:
    case _SYNCD__REQUEST__OP__CASE_IS_INT_SIZE:
        break;
    }
    *detail = "unknown or missing operation";
    return SYNC_EPROTO;
}

/* A request decoded by the fast path (ops with integer fields only). */
static void codec_fill_fast(const struct fw_request *f, struct request *rq)
{
    rq->id = f->id;
    rq->op = (enum wire_op)f->op;
    switch (rq->op) {
    case OP_CLOSE: rq->handle = (uint32_t)f->f[WIRE_CLOSE_HANDLE]; return;
    case OP_QUERY:
        rq->handle = (uint32_t)f->f[WIRE_QUERY_HANDLE];
        rq->thread = f->f[WIRE_QUERY_THREAD];
        return;
    case OP_EVENT_SET:
        rq->handle = (uint32_t)f->f[WIRE_EVENT_SET_HANDLE];
        return;
    case OP_EVENT_CLEAR:
        rq->handle = (uint32_t)f->f[WIRE_EVENT_CLEAR_HANDLE];
        return;
    case OP_BARRIER_RESET:
        rq->handle = (uint32_t)f->f[WIRE_BARRIER_RESET_HANDLE];
        return;
    case OP_BARRIER_ABORT:
        rq->handle = (uint32_t)f->f[WIRE_BARRIER_ABORT_HANDLE];
        return;
    case OP_ACQUIRE:
        rq->handle = (uint32_t)f->f[WIRE_ACQUIRE_HANDLE];
        rq->timeout_us = (int64_t)f->f[WIRE_ACQUIRE_TIMEOUT_US];
        rq->thread = f->f[WIRE_ACQUIRE_THREAD];
        return;
    case OP_EVENT_WAIT:
        rq->handle = (uint32_t)f->f[WIRE_EVENT_WAIT_HANDLE];
        rq->timeout_us = (int64_t)f->f[WIRE_EVENT_WAIT_TIMEOUT_US];
        return;
    case OP_COND_WAIT:
        rq->handle = (uint32_t)f->f[WIRE_COND_WAIT_HANDLE];
        rq->timeout_us = (int64_t)f->f[WIRE_COND_WAIT_TIMEOUT_US];
        rq->thread = f->f[WIRE_COND_WAIT_THREAD];
        return;
    case OP_BARRIER_WAIT:
        rq->handle = (uint32_t)f->f[WIRE_BARRIER_WAIT_HANDLE];
        rq->timeout_us = (int64_t)f->f[WIRE_BARRIER_WAIT_TIMEOUT_US];
        rq->action = f->f[WIRE_BARRIER_WAIT_ACTION] != 0;
        return;
    case OP_BARRIER_ACTION_DONE:
        rq->handle = (uint32_t)f->f[WIRE_BARRIER_ACTION_DONE_HANDLE];
        rq->action = f->f[WIRE_BARRIER_ACTION_DONE_FAILED] != 0;
        return;
    case OP_RELEASE:
        rq->handle = (uint32_t)f->f[WIRE_RELEASE_HANDLE];
        rq->n = (uint32_t)f->f[WIRE_RELEASE_N];
        rq->thread = f->f[WIRE_RELEASE_THREAD];
        return;
    case OP_COND_NOTIFY:
        rq->handle = (uint32_t)f->f[WIRE_COND_NOTIFY_HANDLE];
        rq->n = (uint32_t)f->f[WIRE_COND_NOTIFY_N];
        rq->notify_all = f->f[WIRE_COND_NOTIFY_ALL] != 0;
        rq->thread = f->f[WIRE_COND_NOTIFY_THREAD];
        return;
    case OP_HELLO:
    case OP_OPEN:
    case OP_UNLINK:
    case OP_STATUS:
    case OP_LIST_OBJECTS:
    case OP_SHOW_OBJECT:
    case OP_LIST_CLIENTS:
    case OP_CANCEL:
    case OP_RECLAIM:
        break; /* fastwire declines these */
    }
}

int codec_decode_request(const uint8_t *buf, size_t len, struct request *rq,
                         const char **err_detail)
{
    struct pb_arena arena;
    struct fw_request fast;
    Syncd__Request *m;
    int rv;

    /* Every field an op does not set reads as empty; the name buffers
     * need only their first byte cleared. */
    memset(rq, 0, offsetof(struct request, name));
    rq->name[0] = '\0';
    rq->lock_name_len = 0;
    rq->lock_name[0] = '\0';
    rq->after_name_len = 0;
    rq->after_name[0] = '\0';
    rq->pattern_len = 0;
    rq->pattern[0] = '\0';
    rq->client_name[0] = '\0';
    if (fastwire_decode_request(buf, len, &fast) == 0) {
        codec_fill_fast(&fast, rq);
        return 0;
    }
    pb_arena_init(&arena);
    *err_detail = "undecodable protobuf";
    m = syncd__request__unpack(&arena.allocator, len, buf);
    if (m == NULL) {
        pb_arena_reset(&arena);
        return SYNC_EPROTO;
    }
    rq->id = m->id;
    rv = codec_fill(m, rq, err_detail);
    /* The arena owns every byte of m; resetting frees it all at once. */
    pb_arena_reset(&arena);
    return rv;
}

/* Build the protobuf message for rp in caller-provided storage. */
struct codec_out {
    Syncd__ServerMessage msg;
    Syncd__Reply reply;
    union {
        Syncd__HelloResult hello;
        Syncd__OpenResult open;
        Syncd__AcquireResult acquire;
        Syncd__QueryResult query;
    } r;
};

static void codec_build(const struct reply *rp, struct codec_out *o)
{
    syncd__server_message__init(&o->msg);
    syncd__reply__init(&o->reply);
    o->msg.msg_case = SYNCD__SERVER_MESSAGE__MSG_REPLY;
    o->msg.reply = &o->reply;
    o->reply.id = rp->id;
    o->reply.code = rp->code;
    if (rp->message != NULL)
        o->reply.message = (char *)rp->message;
    switch (rp->kind) {
    case REPLY_PLAIN:
        break;
    case REPLY_HELLO:
        syncd__hello_result__init(&o->r.hello);
        o->r.hello.version = rp->u.hello.version;
        o->r.hello.server_pid = rp->u.hello.server_pid;
        o->r.hello.session_id = rp->u.hello.session_id;
        o->r.hello.max_frame = rp->u.hello.max_frame;
        o->r.hello.server_version = (char *)SYNCD_VERSION;
        o->r.hello.capabilities = rp->u.hello.caps;
        o->r.hello.epoch = rp->u.hello.epoch;
        o->r.hello.grace_ms = rp->u.hello.grace_ms;
        o->reply.result_case = SYNCD__REPLY__RESULT_HELLO;
        o->reply.hello = &o->r.hello;
        break;
    case REPLY_OPEN:
        syncd__open_result__init(&o->r.open);
        o->r.open.handle = rp->u.open.handle;
        o->r.open.created = rp->u.open.created;
        o->reply.result_case = SYNCD__REPLY__RESULT_OPEN;
        o->reply.open = &o->r.open;
        break;
    case REPLY_ACQUIRE:
        syncd__acquire_result__init(&o->r.acquire);
        o->r.acquire.fencing_token = rp->u.acquire.token;
        o->r.acquire.owner_died = rp->u.acquire.owner_died;
        o->r.acquire.index = rp->u.acquire.index;
        o->r.acquire.run_action = rp->u.acquire.run_action;
        o->r.acquire.cache = rp->u.acquire.cache;
        o->reply.result_case = SYNCD__REPLY__RESULT_ACQUIRE;
        o->reply.acquire = &o->r.acquire;
        break;
    case REPLY_STATUS:
    case REPLY_LIST:
    case REPLY_OBJECT:
    case REPLY_CLIENTS:
        break; /* codec_encode_reply_alloc */
    case REPLY_QUERY:
        syncd__query_result__init(&o->r.query);
        o->r.query.value = rp->u.query.value;
        o->r.query.n_waiting = rp->u.query.n_waiting;
        o->r.query.parties = rp->u.query.parties;
        o->r.query.broken = rp->u.query.broken;
        o->r.query.depth = rp->u.query.depth;
        o->r.query.lock_held = rp->u.query.lock_held;
        o->reply.result_case = SYNCD__REPLY__RESULT_QUERY;
        o->reply.query = &o->r.query;
        break;
    }
}

static bool codec_needs_heap(const struct reply *rp)
{
    return rp->kind == REPLY_STATUS || rp->kind == REPLY_LIST ||
           rp->kind == REPLY_OBJECT || rp->kind == REPLY_CLIENTS;
}

/* The fast path covers replies with no message and a small result. */
static bool codec_encode_fast(const struct reply *rp, struct fw_reply *f)
{
    memset(f, 0, sizeof(*f));
    f->id = rp->id;
    f->code = rp->code;
    if (rp->message != NULL && rp->message[0] != '\0')
        return false;
    switch (rp->kind) {
    case REPLY_PLAIN:
        return true;
    case REPLY_ACQUIRE:
        f->result = FW_RESULT_ACQUIRE;
        f->f[WIRE_ACQUIRE_RESULT_FENCING_TOKEN] = rp->u.acquire.token;
        f->f[WIRE_ACQUIRE_RESULT_OWNER_DIED] = rp->u.acquire.owner_died;
        f->f[WIRE_ACQUIRE_RESULT_INDEX] = (uint64_t)rp->u.acquire.index;
        f->f[WIRE_ACQUIRE_RESULT_RUN_ACTION] = rp->u.acquire.run_action;
        f->f[WIRE_ACQUIRE_RESULT_CACHE] = rp->u.acquire.cache;
        return true;
    case REPLY_QUERY:
        f->result = FW_RESULT_QUERY;
        f->f[WIRE_QUERY_RESULT_VALUE] = (uint64_t)rp->u.query.value;
        f->f[WIRE_QUERY_RESULT_N_WAITING] = rp->u.query.n_waiting;
        f->f[WIRE_QUERY_RESULT_PARTIES] = rp->u.query.parties;
        f->f[WIRE_QUERY_RESULT_BROKEN] = rp->u.query.broken;
        f->f[WIRE_QUERY_RESULT_DEPTH] = rp->u.query.depth;
        f->f[WIRE_QUERY_RESULT_LOCK_HELD] = rp->u.query.lock_held;
        return true;
    case REPLY_HELLO:
    case REPLY_OPEN:
    case REPLY_STATUS:
    case REPLY_LIST:
    case REPLY_OBJECT:
    case REPLY_CLIENTS:
        break;
    }
    return false;
}

size_t codec_encode_reply(const struct reply *rp, uint8_t *out, size_t cap)
{
    struct codec_out o;
    struct fw_reply fast;
    size_t n;

    if (codec_needs_heap(rp))
        return 0;
    if (codec_encode_fast(rp, &fast))
        return fastwire_encode_reply(&fast, out, cap);
    codec_build(rp, &o);
    n = syncd__server_message__get_packed_size(&o.msg);
    if (FRAME_HEADER_SIZE + n > cap)
        return 0;
    syncd__server_message__pack(&o.msg, out + FRAME_HEADER_SIZE);
    frame_put_header(out, (uint32_t)n);
    return FRAME_HEADER_SIZE + n;
}

/* Pack msg as one frame into a new buffer. */
static uint8_t *codec_pack_alloc(const Syncd__ServerMessage *msg, size_t *len)
{
    size_t n = syncd__server_message__get_packed_size(msg);
    uint8_t *buf = xmalloc(FRAME_HEADER_SIZE + n);

    if (buf == NULL)
        return NULL;
    syncd__server_message__pack(msg, buf + FRAME_HEADER_SIZE);
    frame_put_header(buf, (uint32_t)n);
    *len = FRAME_HEADER_SIZE + n;
    return buf;
}

uint8_t *codec_encode_reply_alloc(const struct reply *rp, size_t *len)
{
    struct codec_out o;
    uint8_t *buf;

    codec_build(rp, &o);
    if (!codec_needs_heap(rp))
        return codec_pack_alloc(&o.msg, len);
    if (codec_inspect_attach(rp, &o.reply) != 0)
        return NULL;
    buf = codec_pack_alloc(&o.msg, len);
    codec_inspect_detach(&o.reply);
    return buf;
}
