/*
 * fastwire.c: protobuf wire format for messages made of varints and one
 * level of nesting.  Encoding follows protobuf-c exactly (fields in number
 * order, proto3 zero values omitted), so the bytes are the same; decoding
 * accepts only that canonical shape and sends everything else to
 * protobuf-c, which keeps the full protobuf rules in one place.
 */
#include "fastwire.h"

#include <string.h>

#include "frame.h"
#include "syncd.pb-c.h"

/* The numbers this file writes by hand are protobuf-c's (wire.h). */
#define FW_CHECK_OP(NAME, name, fast)                                         \
    _Static_assert((int)OP_##NAME + WIRE_OP_FIRST_FIELD ==                   \
                       (int)SYNCD__REQUEST__OP_##NAME,                        \
                   "wire.h: op " #name " is not Request field "             \
                   "OP_" #NAME " + WIRE_OP_FIRST_FIELD");
WIRE_OP_MAP(FW_CHECK_OP)
#undef FW_CHECK_OP
#define FW_CHECK_TYPE(NAME, name)                                             \
    _Static_assert((int)WIRE_TYPE_##NAME == (int)SYNCD__OBJECT_TYPE__##NAME, \
                   "wire.h: ObjectType " #NAME " differs from syncd.proto");
WIRE_TYPE_MAP(FW_CHECK_TYPE)
#undef FW_CHECK_TYPE
_Static_assert((int)WIRE_REPLY_ACQUIRE == (int)SYNCD__REPLY__RESULT_ACQUIRE,
               "wire.h: Reply.acquire");
_Static_assert((int)WIRE_REPLY_QUERY == (int)SYNCD__REPLY__RESULT_QUERY,
               "wire.h: Reply.query");
_Static_assert((int)WIRE_SERVER_MESSAGE_REPLY ==
                   (int)SYNCD__SERVER_MESSAGE__MSG_REPLY,
               "wire.h: ServerMessage.reply");
/* The fast ops' fields inside their messages have no generated constant;
 * test_wire checks them against the generated descriptors. */

#define WT_VARINT 0u
#define WT_LEN 2u
/* The highest Reply field the fast path accepts. */
#define FW_RESULT_MAX                                                         \
    (WIRE_REPLY_ACQUIRE > WIRE_REPLY_QUERY ? WIRE_REPLY_ACQUIRE               \
                                           : WIRE_REPLY_QUERY)

/* Read a varint at *pp (< end); -1 when malformed or truncated.  Tags
 * and most values are one byte: that case is tested first, and the cursor
 * stays in a register (the hot path of every request and reply). */
static inline int fw_get_varint(const uint8_t **pp, const uint8_t *end,
                                uint64_t *v)
{
    const uint8_t *p = *pp;
    uint64_t x = 0;
    unsigned shift;

    if (p < end && *p < 0x80) {
        *v = *p;
        *pp = p + 1;
        return 0;
    }
    /* Request ids and thread ids are often two bytes. */
    if (end - p >= 2 && p[1] < 0x80) {
        *v = (uint64_t)(p[0] & 0x7f) | (uint64_t)p[1] << 7;
        *pp = p + 2;
        return 0;
    }
    for (shift = 0; shift < 64 && p < end; shift += 7) {
        uint8_t b = *p++;

        x |= (uint64_t)(b & 0x7f) << shift;
        if ((b & 0x80) == 0) {
            *v = x;
            *pp = p;
            return 0;
        }
    }
    return -1;
}

/* A field's tag: a varint of at most 5 bytes, as protobuf-c reads tags (a
 * longer one is malformed there even when its value is small, so the fast
 * path must not accept it: both decoders agree on every input). */
static inline int fw_get_tag(const uint8_t **pp, const uint8_t *end,
                             uint64_t *tag)
{
    const uint8_t *start = *pp;

    if (fw_get_varint(pp, end, tag) != 0 || *pp - start > 5)
        return -1;
    return 0;
}

static size_t fw_put_varint(uint8_t *out, uint64_t v)
{
    size_t n = 0;

    while (v >= 0x80) {
        out[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    out[n++] = (uint8_t)v;
    return n;
}

/* Put field `num` = v unless v is 0 (proto3 omits defaults). */
static size_t fw_put_field(uint8_t *out, uint32_t num, uint64_t v)
{
    size_t n;

    if (v == 0)
        return 0;
    n = fw_put_varint(out, (uint64_t)num << 3 | WT_VARINT);
    return n + fw_put_varint(out + n, v);
}

/* Put a length-delimited field whose body is body[0..len). */
static size_t fw_put_message(uint8_t *out, uint32_t num, const uint8_t *body,
                             size_t len)
{
    size_t n = fw_put_varint(out, (uint64_t)num << 3 | WT_LEN);

    n += fw_put_varint(out + n, len);
    memcpy(out + n, body, len);
    return n + len;
}

/*
 * Parse a message of varint fields 1..FW_MAX_FIELDS, each at most once and
 * in increasing order (protobuf-c's shape).  0, 1 (not that shape), -1.
 */
static int fw_get_fields(const uint8_t *p, const uint8_t *end,
                         uint64_t f[FW_MAX_FIELDS + 1])
{
    uint64_t tag, v;
    uint32_t last = 0, num;

    memset(f, 0, sizeof(uint64_t) * (FW_MAX_FIELDS + 1));
    while (p < end) {
        if (fw_get_tag(&p, end, &tag) != 0)
            return -1;
        num = (uint32_t)(tag >> 3);
        if ((tag & 7) != WT_VARINT || tag >> 3 > FW_MAX_FIELDS || num == 0 ||
            num <= last)
            return 1;
        if (fw_get_varint(&p, end, &v) != 0)
            return -1;
        f[num] = v;
        last = num;
    }
    return 0;
}

/* Read a length-delimited field's extent; 0, 1 (not LEN) or -1. */
static int fw_get_len(const uint8_t **p, const uint8_t *end, uint64_t tag,
                      const uint8_t **body, const uint8_t **body_end)
{
    const uint8_t *start = *p;
    uint64_t len;

    if ((tag & 7) != WT_LEN)
        return 1;
    /* protobuf-c reads a length as a uint32 of at most 5 bytes (an
     * overlong 0 included): the fast path declines what it would refuse. */
    if (fw_get_varint(p, end, &len) != 0 || *p - start > 5 ||
        len > (uint64_t)(end - *p))
        return -1;
    *body = *p;
    *body_end = *p + len;
    *p += len;
    return 0;
}

int fastwire_decode_request(const uint8_t *p, size_t n, struct fw_request *r)
{
    const uint8_t *end = p + n, *body, *body_end;
    uint64_t tag, op;
    int rv;

    r->id = 0;
    r->op = 0;
    /* id (field 1) comes first when set; then exactly one op field. */
    if (fw_get_tag(&p, end, &tag) != 0)
        return -1;
    if (tag == ((uint64_t)WIRE_REQUEST_ID << 3 | WT_VARINT)) {
        if (fw_get_varint(&p, end, &r->id) != 0)
            return -1;
        if (fw_get_tag(&p, end, &tag) != 0)
            return -1;
    }
    /* A field number below the first op wraps around: one test. */
    op = (tag >> 3) - WIRE_OP_FIRST_FIELD;
    if (op >= WIRE_OP_COUNT || !wire_op_fast((uint32_t)op))
        return 1;
    r->op = (uint32_t)op;
    rv = fw_get_len(&p, end, tag, &body, &body_end);
    if (rv != 0)
        return rv;
    if (p != end)
        return 1;
    return fw_get_fields(body, body_end, r->f);
}

/* Encode fields 1..FW_MAX_FIELDS of f into body; its length. */
static size_t fw_put_fields(uint8_t *body, const uint64_t f[FW_MAX_FIELDS + 1])
{
    size_t n = 0;
    uint32_t i;

    for (i = 1; i <= FW_MAX_FIELDS; i++)
        n += fw_put_field(body + n, i, f[i]);
    return n;
}

size_t fastwire_encode_request(const struct fw_request *r, uint8_t *out,
                               size_t cap)
{
    uint8_t body[FW_MAX_FIELDS * 11], msg[FW_MAX_FIELDS * 11 + 32];
    size_t bn = fw_put_fields(body, r->f), mn;

    mn = fw_put_field(msg, WIRE_REQUEST_ID, r->id);
    mn += fw_put_message(msg + mn, r->op + WIRE_OP_FIRST_FIELD, body, bn);
    if (FRAME_HEADER_SIZE + mn > cap)
        return 0;
    frame_put_header(out, (uint32_t)mn);
    memcpy(out + FRAME_HEADER_SIZE, msg, mn);
    return FRAME_HEADER_SIZE + mn;
}

static uint64_t fw_zigzag32(int32_t v)
{
    return (uint32_t)((uint32_t)v << 1) ^ (uint32_t)(v >> 31);
}

/* As protobuf-c: a sint32 keeps the varint's low 32 bits, then unzigzags. */
static int32_t fw_unzigzag32(uint64_t v)
{
    uint32_t lo = (uint32_t)v;

    return (int32_t)((lo >> 1) ^ (0u - (lo & 1u)));
}

size_t fastwire_encode_reply(const struct fw_reply *r, uint8_t *out,
                             size_t cap)
{
    uint8_t res[FW_MAX_FIELDS * 11], reply[FW_MAX_FIELDS * 11 + 48];
    uint8_t msg[FW_MAX_FIELDS * 11 + 64];
    size_t rn = 0, pn, mn;

    pn = fw_put_field(reply, WIRE_REPLY_ID, r->id);
    pn += fw_put_field(reply + pn, WIRE_REPLY_CODE, fw_zigzag32(r->code));
    if (r->result != FW_RESULT_NONE) {
        rn = fw_put_fields(res, r->f);
        pn += fw_put_message(reply + pn, (uint32_t)r->result, res, rn);
    }
    mn = fw_put_message(msg, WIRE_SERVER_MESSAGE_REPLY, reply, pn);
    if (FRAME_HEADER_SIZE + mn > cap)
        return 0;
    frame_put_header(out, (uint32_t)mn);
    memcpy(out + FRAME_HEADER_SIZE, msg, mn);
    return FRAME_HEADER_SIZE + mn;
}

/* Reply fields id, code, then at most one result (acquire or query). */
static int fw_get_reply(const uint8_t *p, const uint8_t *end,
                        struct fw_reply *r)
{
    const uint8_t *body, *body_end;
    uint64_t tag, v;
    uint32_t last = 0, num;
    int rv;

    while (p < end) {
        if (fw_get_tag(&p, end, &tag) != 0)
            return -1;
        num = (uint32_t)(tag >> 3);
        if (tag >> 3 > FW_RESULT_MAX || num <= last)
            return 1;
        last = num;
        if (num == WIRE_REPLY_ID || num == WIRE_REPLY_CODE) {
            if ((tag & 7) != WT_VARINT)
                return 1;
            if (fw_get_varint(&p, end, &v) != 0)
                return -1;
            if (num == WIRE_REPLY_ID)
                r->id = v;
            else
                r->code = fw_unzigzag32(v);
            continue;
        }
        if (num != FW_RESULT_ACQUIRE && num != FW_RESULT_QUERY)
            return 1;
        rv = fw_get_len(&p, end, tag, &body, &body_end);
        if (rv == 0)
            rv = fw_get_fields(body, body_end, r->f);
        if (rv != 0)
            return rv;
        r->result = (enum fw_result)num;
    }
    return 0;
}

int fastwire_decode_reply(const uint8_t *p, size_t n, struct fw_reply *r)
{
    const uint8_t *end = p + n, *body, *body_end;
    uint64_t tag;
    int rv;

    memset(r, 0, sizeof(*r));
    if (fw_get_tag(&p, end, &tag) != 0)
        return -1;
    if (tag != ((uint64_t)WIRE_SERVER_MESSAGE_REPLY << 3 | WT_LEN))
        return 1;
    rv = fw_get_len(&p, end, tag, &body, &body_end);
    if (rv != 0)
        return rv;
    if (p != end)
        return 1;
    return fw_get_reply(body, body_end, r);
}
