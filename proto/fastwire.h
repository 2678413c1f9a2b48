/*
 * fastwire.h: a hand-written encoder/decoder for the hot messages of the
 * protocol (requests whose op carries only integers, and the plain,
 * acquire and query replies), byte-for-byte what protobuf-c produces for
 * them.  protobuf-c's generic, descriptor-driven code cost more than half
 * of the daemon's instructions per request; anything the fast path does
 * not recognise exactly is left to protobuf-c (the caller falls back).
 */
#ifndef SYNCD_FASTWIRE_H
#define SYNCD_FASTWIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire.h"

#define FW_MAX_FIELDS WIRE_FAST_MAX_FIELD

/* A request: its id, its op (enum wire_op, one whose wire_op_fast() is
 * true), and the op's integer fields by field number (f[WIRE_ACQUIRE_THREAD]
 * is Acquire.thread; as sent, i.e. raw varint values). */
struct fw_request {
    uint64_t id;
    uint32_t op;
    uint64_t f[FW_MAX_FIELDS + 1];
};

/* Replies the fast path covers: result NOT_SET, AcquireResult or
 * QueryResult, without a message string. */
enum fw_result { FW_RESULT_NONE = 0, FW_RESULT_ACQUIRE = WIRE_REPLY_ACQUIRE,
                 FW_RESULT_QUERY = WIRE_REPLY_QUERY };

struct fw_reply {
    uint64_t id;
    int32_t code;
    enum fw_result result;
    uint64_t f[FW_MAX_FIELDS + 1]; /* the result's fields, raw varints */
};

/*
 * Decode a Request.  0 when done; otherwise (other ops, strings, unknown
 * or repeated fields, non-canonical or malformed encodings) non-zero:
 * decode with protobuf-c then, which has the last word on every rule.
 */
int fastwire_decode_request(const uint8_t *p, size_t n, struct fw_request *r);

/* Encode r as one frame (header included) into out (cap >= 64 is always
 * enough).  Returns the length, or 0 if it does not fit. */
size_t fastwire_encode_request(const struct fw_request *r, uint8_t *out,
                               size_t cap);

/* Decode a ServerMessage carrying such a reply: 0, or non-zero when
 * protobuf-c must decode it. */
int fastwire_decode_reply(const uint8_t *p, size_t n, struct fw_reply *r);

/* Encode r as one ServerMessage frame; length, or 0 if it does not fit. */
size_t fastwire_encode_reply(const struct fw_reply *r, uint8_t *out,
                             size_t cap);

#endif
