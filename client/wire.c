/*
 * wire.c: the client side of the wire format: requests are packed into a
 * caller buffer, server frames are unpacked into a stack arena, so a call
 * allocates nothing on the heap.
 */
#include <string.h>

#include "arena.h"
#include "fastwire.h"
#include "internal.h"
#include "syncd.pb-c.h"

/* Every possible sub-message, built in caller storage. */
struct wire_msg {
    Syncd__Request req;
    union {
        Syncd__Hello hello;
        Syncd__Open open;
        Syncd__Unlink unlink;
        Syncd__Status status;
        Syncd__ListObjects list_objects;
        Syncd__ShowObject show_object;
        Syncd__ListClients list_clients;
        Syncd__Cancel cancel;
        Syncd__Reclaim reclaim;
    } u;
};

static ProtobufCBinaryData wire_bytes(const char *s)
{
    ProtobufCBinaryData b = {s ? strlen(s) : 0, (uint8_t *)s};

    return b;
}

static bool wire_fast_request(const struct sync__request *r, uint64_t id,
                              struct fw_request *f);

/* The protobuf-c form of the ops fastwire does not cover. */
static void wire_build(const struct sync__request *r, uint64_t id,
                       struct wire_msg *m)
{
    syncd__request__init(&m->req);
    m->req.id = id;
    switch (r->op) {
    case OP_HELLO:
        syncd__hello__init(&m->u.hello);
        m->u.hello.version = WIRE_PROTOCOL_VERSION;
        m->u.hello.pid = r->pid;
        m->u.hello.capabilities = r->caps;
        if (r->client_id != NULL)
            m->u.hello.client_id =
                (ProtobufCBinaryData){16, (uint8_t *)r->client_id};
        m->u.hello.client_name =
            (char *)(r->client_name ? r->client_name : "");
        m->req.op_case = SYNCD__REQUEST__OP_HELLO;
        m->req.hello = &m->u.hello;
        break;
    case OP_OPEN:
        syncd__open__init(&m->u.open);
        m->u.open.name = wire_bytes(r->name);
        m->u.open.lock_name = wire_bytes(r->lock_name);
        m->u.open.type = (Syncd__ObjectType)r->type;
        m->u.open.value = r->value;
        m->u.open.flags = r->flags;
        m->u.open.handle = r->handle;
        m->u.open.mode = r->mode;
        m->req.op_case = SYNCD__REQUEST__OP_OPEN;
        m->req.open = &m->u.open;
        break;
    case OP_UNLINK:
        syncd__unlink__init(&m->u.unlink);
        m->u.unlink.name = wire_bytes(r->name);
        m->req.op_case = SYNCD__REQUEST__OP_UNLINK;
        m->req.unlink = &m->u.unlink;
        break;
    case OP_STATUS:
        syncd__status__init(&m->u.status);
        m->req.op_case = SYNCD__REQUEST__OP_STATUS;
        m->req.status = &m->u.status;
        break;
    case OP_LIST_OBJECTS:
        syncd__list_objects__init(&m->u.list_objects);
        m->u.list_objects.pattern = (char *)(r->pattern ? r->pattern : "");
        m->u.list_objects.after = wire_bytes(r->after_name);
        m->u.list_objects.limit = r->limit;
        m->req.op_case = SYNCD__REQUEST__OP_LIST_OBJECTS;
        m->req.list_objects = &m->u.list_objects;
        break;
    case OP_SHOW_OBJECT:
        syncd__show_object__init(&m->u.show_object);
        m->u.show_object.name = wire_bytes(r->name);
        m->u.show_object.max_waiters = r->max_waiters;
        m->req.op_case = SYNCD__REQUEST__OP_SHOW_OBJECT;
        m->req.show_object = &m->u.show_object;
        break;
    case OP_LIST_CLIENTS:
        syncd__list_clients__init(&m->u.list_clients);
        m->u.list_clients.after = r->after_id;
        m->u.list_clients.limit = r->limit;
        m->req.op_case = SYNCD__REQUEST__OP_LIST_CLIENTS;
        m->req.list_clients = &m->u.list_clients;
        break;
    case OP_CANCEL:
        syncd__cancel__init(&m->u.cancel);
        m->u.cancel.request_id = r->cancel_id;
        m->req.op_case = SYNCD__REQUEST__OP_CANCEL;
        m->req.cancel = &m->u.cancel;
        break;
    case OP_RECLAIM:
        syncd__reclaim__init(&m->u.reclaim);
        m->u.reclaim.handle = r->handle;
        m->u.reclaim.token = r->token;
        m->u.reclaim.depth = r->n;
        m->req.op_case = SYNCD__REQUEST__OP_RECLAIM;
        m->req.reclaim = &m->u.reclaim;
        break;
    case OP_CLOSE:
    case OP_ACQUIRE:
    case OP_RELEASE:
    case OP_QUERY:
    case OP_EVENT_SET:
    case OP_EVENT_CLEAR:
    case OP_EVENT_WAIT:
    case OP_COND_WAIT:
    case OP_COND_NOTIFY:
    case OP_BARRIER_WAIT:
    case OP_BARRIER_RESET:
    case OP_BARRIER_ABORT:
    case OP_BARRIER_ACTION_DONE:
        break; /* wire_op_fast(): always encoded by fastwire */
    }
}

size_t sync__wire_size(const struct sync__request *req, uint64_t id)
{
    struct fw_request fast;
    uint8_t buf[128];
    struct wire_msg m;

    if (wire_fast_request(req, id, &fast))
        return fastwire_encode_request(&fast, buf, sizeof(buf));
    wire_build(req, id, &m);
    return FRAME_HEADER_SIZE + syncd__request__get_packed_size(&m.req);
}

/* The fast-path form of req, when its op carries only integers. */
static bool wire_fast_request(const struct sync__request *r, uint64_t id,
                              struct fw_request *f)
{
    if (!wire_op_fast(r->op))
        return false;
    memset(f, 0, sizeof(*f));
    f->id = id;
    f->op = r->op;
    switch (r->op) {
    case OP_CLOSE: f->f[WIRE_CLOSE_HANDLE] = r->handle; break;
    case OP_QUERY:
        f->f[WIRE_QUERY_HANDLE] = r->handle;
        f->f[WIRE_QUERY_THREAD] = r->thread;
        break;
    case OP_EVENT_SET: f->f[WIRE_EVENT_SET_HANDLE] = r->handle; break;
    case OP_EVENT_CLEAR: f->f[WIRE_EVENT_CLEAR_HANDLE] = r->handle; break;
    case OP_BARRIER_RESET: f->f[WIRE_BARRIER_RESET_HANDLE] = r->handle; break;
    case OP_BARRIER_ABORT: f->f[WIRE_BARRIER_ABORT_HANDLE] = r->handle; break;
    case OP_ACQUIRE:
        f->f[WIRE_ACQUIRE_HANDLE] = r->handle;
        f->f[WIRE_ACQUIRE_TIMEOUT_US] = (uint64_t)r->timeout_us;
        f->f[WIRE_ACQUIRE_THREAD] = r->thread;
        break;
    case OP_EVENT_WAIT:
        f->f[WIRE_EVENT_WAIT_HANDLE] = r->handle;
        f->f[WIRE_EVENT_WAIT_TIMEOUT_US] = (uint64_t)r->timeout_us;
        break;
    case OP_COND_WAIT:
        f->f[WIRE_COND_WAIT_HANDLE] = r->handle;
        f->f[WIRE_COND_WAIT_TIMEOUT_US] = (uint64_t)r->timeout_us;
        f->f[WIRE_COND_WAIT_THREAD] = r->thread;
        break;
    case OP_BARRIER_WAIT:
        f->f[WIRE_BARRIER_WAIT_HANDLE] = r->handle;
        f->f[WIRE_BARRIER_WAIT_TIMEOUT_US] = (uint64_t)r->timeout_us;
        f->f[WIRE_BARRIER_WAIT_ACTION] = r->all;
        break;
    case OP_BARRIER_ACTION_DONE:
        f->f[WIRE_BARRIER_ACTION_DONE_HANDLE] = r->handle;
        f->f[WIRE_BARRIER_ACTION_DONE_FAILED] = r->all;
        break;
    case OP_RELEASE:
        f->f[WIRE_RELEASE_HANDLE] = r->handle;
        f->f[WIRE_RELEASE_N] = r->n;
        f->f[WIRE_RELEASE_THREAD] = r->thread;
        break;
    case OP_COND_NOTIFY:
        f->f[WIRE_COND_NOTIFY_HANDLE] = r->handle;
        f->f[WIRE_COND_NOTIFY_N] = r->n;
        f->f[WIRE_COND_NOTIFY_ALL] = r->all;
        f->f[WIRE_COND_NOTIFY_THREAD] = r->thread;
        break;
    case OP_HELLO:
    case OP_OPEN:
    case OP_UNLINK:
    case OP_STATUS:
    case OP_LIST_OBJECTS:
    case OP_SHOW_OBJECT:
    case OP_LIST_CLIENTS:
    case OP_CANCEL:
    case OP_RECLAIM:
        return false; /* not wire_op_fast() */
    }
    return true;
}

size_t sync__wire_encode(const struct sync__request *req, uint64_t id,
                         uint8_t *buf, size_t cap)
{
    struct wire_msg m;
    struct fw_request fast;
    size_t n;

    if (wire_fast_request(req, id, &fast))
        return fastwire_encode_request(&fast, buf, cap);
    wire_build(req, id, &m);
    n = syncd__request__get_packed_size(&m.req);
    if (FRAME_HEADER_SIZE + n > cap)
        return 0;
    syncd__request__pack(&m.req, buf + FRAME_HEADER_SIZE);
    frame_put_header(buf, (uint32_t)n);
    return FRAME_HEADER_SIZE + n;
}

static void wire_result(const Syncd__Reply *r, struct sync__result *res)
{
    memset(res, 0, sizeof(*res));
    switch (r->result_case) {
    case SYNCD__REPLY__RESULT_HELLO:
        res->version = r->hello->version;
        res->max_frame = r->hello->max_frame;
        res->server_pid = r->hello->server_pid;
        res->caps = r->hello->capabilities;
        res->epoch = r->hello->epoch;
        res->grace_ms = r->hello->grace_ms;
        break;
    case SYNCD__REPLY__RESULT_OPEN:
        res->handle = r->open->handle;
        res->created = r->open->created;
        break;
    case SYNCD__REPLY__RESULT_ACQUIRE:
        res->token = r->acquire->fencing_token;
        res->owner_died = r->acquire->owner_died;
        res->index = r->acquire->index;
        res->run_action = r->acquire->run_action;
        res->cache = r->acquire->cache;
        break;
    case SYNCD__REPLY__RESULT_QUERY:
        res->value = r->query->value;
        res->n_waiting = r->query->n_waiting;
        res->parties = r->query->parties;
        res->broken = r->query->broken;
        res->depth = r->query->depth;
        res->lock_held = r->query->lock_held;
        break;
    case SYNCD__REPLY__RESULT_STATUS:
    case SYNCD__REPLY__RESULT_LIST:
    case SYNCD__REPLY__RESULT_OBJECT:
    case SYNCD__REPLY__RESULT_CLIENTS:
        /* Inspection results: the caller decodes the raw frame. */
    case SYNCD__REPLY__RESULT__NOT_SET:
    case _SYNCD__REPLY__RESULT__CASE_IS_INT_SIZE:
        break;
    }
}

/* A reply decoded by the fast path. */
static void wire_fast_result(const struct fw_reply *f,
                             struct sync__incoming *in)
{
    memset(in, 0, sizeof(*in));
    in->is_reply = true;
    in->id = f->id;
    in->code = f->code > 0 ? SYNC_EPROTO : f->code;
    if (f->result == FW_RESULT_ACQUIRE) {
        in->result.token = f->f[WIRE_ACQUIRE_RESULT_FENCING_TOKEN];
        in->result.owner_died = f->f[WIRE_ACQUIRE_RESULT_OWNER_DIED] != 0;
        in->result.index = (int64_t)f->f[WIRE_ACQUIRE_RESULT_INDEX];
        in->result.run_action = f->f[WIRE_ACQUIRE_RESULT_RUN_ACTION] != 0;
        in->result.cache = f->f[WIRE_ACQUIRE_RESULT_CACHE];
    } else if (f->result == FW_RESULT_QUERY) {
        in->result.value = (int64_t)f->f[WIRE_QUERY_RESULT_VALUE];
        in->result.n_waiting = (uint32_t)f->f[WIRE_QUERY_RESULT_N_WAITING];
        in->result.parties = (uint32_t)f->f[WIRE_QUERY_RESULT_PARTIES];
        in->result.broken = f->f[WIRE_QUERY_RESULT_BROKEN] != 0;
        in->result.depth = (uint32_t)f->f[WIRE_QUERY_RESULT_DEPTH];
        in->result.lock_held = f->f[WIRE_QUERY_RESULT_LOCK_HELD] != 0;
    }
}

int sync__wire_decode(const uint8_t *p, size_t n, struct sync__incoming *in)
{
    struct pb_arena arena;
    struct fw_reply fast;
    Syncd__ServerMessage *m;

    if (fastwire_decode_reply(p, n, &fast) == 0) {
        wire_fast_result(&fast, in);
        return 0;
    }
    pb_arena_init(&arena);
    m = syncd__server_message__unpack(&arena.allocator, n, p);
    if (m == NULL) {
        pb_arena_reset(&arena);
        return SYNC_EPROTO;
    }
    memset(in, 0, sizeof(*in));
    if (m->msg_case == SYNCD__SERVER_MESSAGE__MSG_REPLY) {
        in->is_reply = true;
        in->id = m->reply->id;
        in->code = m->reply->code;
        /* A code we do not know (a newer daemon) is still an error. */
        if (in->code > 0)
            in->code = SYNC_EPROTO;
        wire_result(m->reply, &in->result);
    }
    /* Notices, and message kinds from a newer daemon, are ignored. */
    pb_arena_reset(&arena);
    return 0;
}

bool sync__wire_raw_reply(enum wire_op op)
{
    return op == OP_STATUS || op == OP_LIST_OBJECTS ||
           op == OP_SHOW_OBJECT || op == OP_LIST_CLIENTS;
}
