/*
 * fuzz_program.c: decodes fuzz_dispatch programs (fuzz_program.h): the
 * input cursor, the field pickers and the Request each ACT_REQUEST
 * builds, plus a one-line trace of it.  Every byte read is consumed the
 * same way whatever the daemon does, so a program replays exactly.
 */
#include "fuzz_program.h"

#include <string.h>

#include "codec.h"
#include "objects/semaphore.h"

static char name255[256], name256[257], client_long[101];

void fuzz_program_init(void)
{
    memset(name255, 'x', 255);
    memset(name256, 'y', 256);
    memset(client_long, 'n', 100);
}

/* ---- input cursor -------------------------------------------------------- */

uint8_t fuzz_u8(struct fuzz_cur *c)
{
    if (c->n == 0)
        return 0;
    c->n--;
    return *c->p++;
}

uint32_t fuzz_u32(struct fuzz_cur *c)
{
    uint32_t v = 0;
    int i;

    for (i = 0; i < 4; i++)
        v = v << 8 | fuzz_u8(c);
    return v;
}

const uint8_t *fuzz_take(struct fuzz_cur *c, size_t want, size_t *got)
{
    const uint8_t *p = c->p;

    *got = want < c->n ? want : c->n;
    c->p += *got;
    c->n -= *got;
    return p;
}

/* ---- requests ------------------------------------------------------------ */

static const struct {
    const char *s;
    size_t len;
} fuzz_names[FUZZ_N_NAMES] = {
    [NAME_A] = {"a", 1},          [NAME_B] = {"b", 1},
    [NAME_LK] = {"lk", 2},        [NAME_CV] = {"cv", 2},
    [NAME_SEM] = {"sem", 3},      [NAME_EV] = {"ev", 2},
    [NAME_EMPTY] = {"", 0},       [NAME_BAD_UTF8] = {"\xff\xfe", 2},
    [NAME_NUL] = {"a\0b", 3},     [NAME_255] = {name255, 255},
    [NAME_256] = {name256, 256},  [NAME_UTF8] = {"\xc3\xa9t\xc3\xa9", 5},
    [NAME_9] = {"123456789", 9},
};

static ProtobufCBinaryData pick_name(struct fuzz_cur *c)
{
    uint8_t b = fuzz_u8(c);
    ProtobufCBinaryData d;

    if (b >= FUZZ_NAME_RAW) {
        d.data = (uint8_t *)fuzz_take(c, b & 0x1f, &d.len);
    } else {
        d.data = (uint8_t *)fuzz_names[b % FUZZ_N_NAMES].s;
        d.len = fuzz_names[b % FUZZ_N_NAMES].len;
    }
    return d;
}

/* An optional name: first byte < 0x80 means none. */
static ProtobufCBinaryData pick_opt_name(struct fuzz_cur *c)
{
    ProtobufCBinaryData none = {0, NULL};

    return fuzz_u8(c) < 0x80 ? none : pick_name(c);
}

static uint32_t pick_handle(struct fuzz_cur *c)
{
    uint8_t b = fuzz_u8(c);

    return b >= FUZZ_HANDLE_RAW ? fuzz_u32(c) : b % 8u;
}

static int64_t pick_timeout(struct fuzz_cur *c)
{
    uint8_t b = fuzz_u8(c);

    switch (b % 5) {
    case FUZZ_T_TRY: return 0;
    case FUZZ_T_FOREVER: return -1;
    case FUZZ_T_SHORT: return 1 + (int64_t)(b / 5) * 20;
    case 3: return -7;
    default: return 10 * 1000 * 1000;
    }
}

/* Counts and values: small mostly, the edges sometimes. */
static uint32_t pick_count(struct fuzz_cur *c)
{
    uint8_t b = fuzz_u8(c);

    switch (b) {
    case 0xff: return fuzz_u32(c);
    case 0xfe: return SEMAPHORE_VALUE_MAX;
    case 0xfd: return SEMAPHORE_VALUE_MAX + 1u;
    case 0xfc: return UINT32_MAX;
    default: return b % 6u;
    }
}

static uint32_t pick_mode(struct fuzz_cur *c)
{
    static const uint32_t modes[] = FUZZ_MODES;
    uint8_t b = fuzz_u8(c);

    return b >= 0xf0 ? fuzz_u32(c) : modes[b % (sizeof(modes) / sizeof(*modes))];
}

static uint32_t pick_type(struct fuzz_cur *c)
{
    uint8_t b = fuzz_u8(c);

    return b >= 0xf0 ? b : b % 9u; /* 0 and 8: unknown */
}

static uint32_t pick_version(struct fuzz_cur *c)
{
    uint8_t b = fuzz_u8(c);

    return b == 0xff ? 2 : b == 0xfe ? 0 : b == 0xfd ? fuzz_u32(c) : 1;
}

/* A NUL-terminated string: from a table, or raw bytes (copied to buf). */
static char *pick_string(struct fuzz_cur *c, const char *const *table, size_t n,
                         char *buf)
{
    uint8_t b = fuzz_u8(c);
    const uint8_t *p;
    size_t len;

    if (b < FUZZ_NAME_RAW)
        return (char *)table[b % n];
    p = fuzz_take(c, b & 0x1f, &len);
    memcpy(buf, p, len);
    buf[len] = '\0';
    return buf;
}

#define SET_OP(m, field, CASE)                                                \
    ((m)->rq.op_case = SYNCD__REQUEST__OP_##CASE, (m)->rq.field = &(m)->field)

static void build_handle_op(struct fuzz_cur *c, struct req_msg *m,
                            enum wire_op op)
{
    switch (op) {
    case OP_CLOSE:
        m->close.handle = pick_handle(c);
        SET_OP(m, close, CLOSE);
        break;
    case OP_QUERY:
        m->query.handle = pick_handle(c);
        m->query.thread = fuzz_u8(c) % 4u;
        SET_OP(m, query, QUERY);
        break;
    case OP_EVENT_SET:
        m->event_set.handle = pick_handle(c);
        SET_OP(m, event_set, EVENT_SET);
        break;
    case OP_EVENT_CLEAR:
        m->event_clear.handle = pick_handle(c);
        SET_OP(m, event_clear, EVENT_CLEAR);
        break;
    case OP_BARRIER_RESET:
        m->barrier_reset.handle = pick_handle(c);
        SET_OP(m, barrier_reset, BARRIER_RESET);
        break;
    case OP_BARRIER_ACTION_DONE:
        m->barrier_action_done.handle = pick_handle(c);
        m->barrier_action_done.failed = fuzz_u8(c) & 1;
        SET_OP(m, barrier_action_done, BARRIER_ACTION_DONE);
        break;
    default:
        m->barrier_abort.handle = pick_handle(c);
        SET_OP(m, barrier_abort, BARRIER_ABORT);
        break;
    }
}

static void build_wait_op(struct fuzz_cur *c, struct req_msg *m,
                          enum wire_op op)
{
    switch (op) {
    case OP_ACQUIRE:
        m->acquire.handle = pick_handle(c);
        m->acquire.timeout_us = pick_timeout(c);
        m->acquire.thread = fuzz_u8(c) % 4u;
        SET_OP(m, acquire, ACQUIRE);
        break;
    case OP_RELEASE:
        m->release.handle = pick_handle(c);
        m->release.n = pick_count(c);
        m->release.thread = fuzz_u8(c) % 4u;
        SET_OP(m, release, RELEASE);
        break;
    case OP_EVENT_WAIT:
        m->event_wait.handle = pick_handle(c);
        m->event_wait.timeout_us = pick_timeout(c);
        SET_OP(m, event_wait, EVENT_WAIT);
        break;
    case OP_COND_WAIT:
        m->cond_wait.handle = pick_handle(c);
        m->cond_wait.timeout_us = pick_timeout(c);
        m->cond_wait.thread = fuzz_u8(c) % 4u;
        SET_OP(m, cond_wait, COND_WAIT);
        break;
    case OP_COND_NOTIFY:
        m->cond_notify.handle = pick_handle(c);
        m->cond_notify.n = pick_count(c);
        m->cond_notify.all = fuzz_u8(c) & 1;
        m->cond_notify.thread = fuzz_u8(c) % 4u;
        SET_OP(m, cond_notify, COND_NOTIFY);
        break;
    default:
        m->barrier_wait.handle = pick_handle(c);
        m->barrier_wait.timeout_us = pick_timeout(c);
        m->barrier_wait.action = fuzz_u8(c) & 1;
        SET_OP(m, barrier_wait, BARRIER_WAIT);
        break;
    }
}

static void build_request(struct fuzz_cur *c, struct req_msg *m)
{
    static const char *const client_names[] = {"fuzz", "", "\x01\x7f\xff",
                                               client_long};
    static const char *const patterns[] = {"", "*", "a*", "?", "[",
                                           "[!a-", "*\\", "l*k"};
    enum wire_op op = (enum wire_op)(fuzz_u8(c) % WIRE_OP_COUNT);

    switch (op) {
    case OP_HELLO:
        m->hello.version = pick_version(c);
        m->hello.client_name = pick_string(c, client_names, 4, m->sbuf);
        SET_OP(m, hello, HELLO);
        break;
    case OP_OPEN:
        m->open.name = pick_name(c);
        m->open.type = (Syncd__ObjectType)pick_type(c);
        m->open.value = pick_count(c);
        m->open.flags = fuzz_u8(c) % 4u;
        m->open.lock_name = pick_opt_name(c);
        m->open.mode = pick_mode(c);
        SET_OP(m, open, OPEN);
        break;
    case OP_UNLINK:
        m->unlink.name = pick_name(c);
        SET_OP(m, unlink, UNLINK);
        break;
    case OP_CLOSE:
    case OP_QUERY:
    case OP_EVENT_SET:
    case OP_EVENT_CLEAR:
    case OP_BARRIER_RESET:
    case OP_BARRIER_ABORT:
    case OP_BARRIER_ACTION_DONE:
        build_handle_op(c, m, op);
        break;
    case OP_ACQUIRE:
    case OP_RELEASE:
    case OP_EVENT_WAIT:
    case OP_COND_WAIT:
    case OP_COND_NOTIFY:
    case OP_BARRIER_WAIT:
        build_wait_op(c, m, op);
        break;
    case OP_STATUS:
        SET_OP(m, status, STATUS);
        break;
    case OP_LIST_OBJECTS:
        m->list_objects.pattern = pick_string(c, patterns, 8, m->sbuf);
        m->list_objects.after = pick_opt_name(c);
        m->list_objects.limit = fuzz_u8(c);
        SET_OP(m, list_objects, LIST_OBJECTS);
        break;
    case OP_SHOW_OBJECT:
        m->show_object.name = pick_name(c);
        m->show_object.max_waiters = fuzz_u8(c);
        SET_OP(m, show_object, SHOW_OBJECT);
        break;
    case OP_LIST_CLIENTS:
        m->list_clients.after = fuzz_u8(c) % 8u;
        m->list_clients.limit = fuzz_u8(c) % 8u;
        SET_OP(m, list_clients, LIST_CLIENTS);
        break;
    case OP_CANCEL:
        /* Ids run 1, 2, ... per connection: mostly one sent already,
         * sometimes the cancel's own or one not sent yet. */
        m->cancel.request_id = 1u + fuzz_u8(c) % 32u;
        SET_OP(m, cancel, CANCEL);
        break;
    case OP_RECLAIM:
        m->reclaim.handle = pick_handle(c);
        m->reclaim.token = fuzz_u8(c) % 4u;
        SET_OP(m, reclaim, RECLAIM);
        break;
    }
}

void fuzz_request_build(struct fuzz_cur *c, struct req_msg *m)
{
    syncd__request__init(&m->rq);
    syncd__hello__init(&m->hello);
    syncd__open__init(&m->open);
    syncd__close__init(&m->close);
    syncd__unlink__init(&m->unlink);
    syncd__acquire__init(&m->acquire);
    syncd__release__init(&m->release);
    syncd__query__init(&m->query);
    syncd__event_set__init(&m->event_set);
    syncd__event_clear__init(&m->event_clear);
    syncd__event_wait__init(&m->event_wait);
    syncd__cond_wait__init(&m->cond_wait);
    syncd__cond_notify__init(&m->cond_notify);
    syncd__barrier_wait__init(&m->barrier_wait);
    syncd__barrier_reset__init(&m->barrier_reset);
    syncd__barrier_abort__init(&m->barrier_abort);
    syncd__status__init(&m->status);
    syncd__list_objects__init(&m->list_objects);
    syncd__show_object__init(&m->show_object);
    syncd__list_clients__init(&m->list_clients);
    syncd__cancel__init(&m->cancel);
    syncd__barrier_action_done__init(&m->barrier_action_done);
    syncd__reclaim__init(&m->reclaim);
    build_request(c, m);
}

static void trace_name(FILE *out, const ProtobufCBinaryData *d)
{
    size_t i;

    fputc('"', out);
    for (i = 0; i < d->len && i < 24; i++)
        fprintf(out, d->data[i] >= 0x20 && d->data[i] < 0x7f ? "%c"
                                                                  : "\\x%02x",
                d->data[i]);
    fprintf(out, "%s\"", d->len > 24 ? "..." : "");
}

void fuzz_request_trace(FILE *out, int client, const struct req_msg *m)
{
    const Syncd__Request *r = &m->rq;
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field(&syncd__request__descriptor,
                                                r->op_case);
    const ProtobufCMessage *sub = f ? *(ProtobufCMessage *const *)(void *)(
                                          (const char *)r + f->offset)
                                    : NULL;
    const ProtobufCFieldDescriptor *sf;
    const char *p;
    unsigned i;

    fprintf(out, "c%d -> id %llu %s", client,
            (unsigned long long)r->id, f ? f->name : "?");
    for (i = 0; sub != NULL && i < sub->descriptor->n_fields; i++) {
        sf = &sub->descriptor->fields[i];
        p = (const char *)sub + sf->offset;
        fprintf(out, " %s=", sf->name);
        switch (sf->type) {
        case PROTOBUF_C_TYPE_INT64:
            fprintf(out, "%lld", (long long)*(const int64_t *)(const void *)p);
            break;
        case PROTOBUF_C_TYPE_UINT64:
            fprintf(out, "%llu",
                    (unsigned long long)*(const uint64_t *)(const void *)p);
            break;
        case PROTOBUF_C_TYPE_BOOL:
            fprintf(out, "%d", *(const protobuf_c_boolean *)(const void *)p);
            break;
        case PROTOBUF_C_TYPE_BYTES:
            trace_name(out, (const ProtobufCBinaryData *)(const void *)p);
            break;
        case PROTOBUF_C_TYPE_STRING:
            fprintf(out, "\"%s\"", *(char *const *)(const void *)p);
            break;
        default: /* uint32 and enums */
            fprintf(out, "%u", *(const uint32_t *)(const void *)p);
            break;
        }
    }
    fputc('\n', out);
}

