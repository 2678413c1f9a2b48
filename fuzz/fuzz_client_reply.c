/*
 * fuzz_client_reply.c: libsyncclient's read path without the socket.  What
 * a (hostile or broken) daemon might send, cut into chunks at fuzzer-chosen
 * points, goes through a frame_decoder as client_read_until does, and each
 * whole frame through sync__wire_decode.  Invariants: the decoder agrees
 * with a plain protobuf-c unpack, never reports a positive code, and
 * copies the fields it knows exactly.
 *
 * Input: [max byte][n cuts][n chunk sizes][stream...]
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "internal.h"
#include "syncd.pb-c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_CUTS 8
/* The client's own limit (client.c: frame_decoder_init(.., 16u << 20)). */
#define CLIENT_MAX_FRAME (16u << 20)

/* What sync__wire_decode kept, against the full protobuf-c message. */
static void check_result(const Syncd__Reply *r, const struct sync__result *res)
{
    switch (r->result_case) {
    case SYNCD__REPLY__RESULT_HELLO:
        assert(res->version == r->hello->version &&
               res->max_frame == r->hello->max_frame);
        break;
    case SYNCD__REPLY__RESULT_OPEN:
        assert(res->handle == r->open->handle &&
               res->created == r->open->created);
        break;
    case SYNCD__REPLY__RESULT_ACQUIRE:
        assert(res->token == r->acquire->fencing_token &&
               res->owner_died == r->acquire->owner_died &&
               res->index == r->acquire->index &&
               res->run_action == r->acquire->run_action);
        break;
    case SYNCD__REPLY__RESULT_QUERY:
        assert(res->value == r->query->value &&
               res->n_waiting == r->query->n_waiting &&
               res->parties == r->query->parties &&
               res->broken == r->query->broken &&
               res->depth == r->query->depth &&
               res->lock_held == r->query->lock_held);
        break;
    default:
        assert(res->raw == NULL && res->handle == 0 && res->token == 0);
        break;
    }
}

static void decode_frame(const uint8_t *p, size_t n)
{
    struct sync__incoming in;
    Syncd__ServerMessage *m = syncd__server_message__unpack(NULL, n, p);
    int rv = sync__wire_decode(p, n, &in);
    uint8_t *raw;

    /* The arena allocator must not change what decodes. */
    assert(rv == 0 || rv == SYNC_EPROTO);
    assert((m == NULL) == (rv != 0));
    if (rv == 0) {
        assert(in.is_reply == (m->msg_case == SYNCD__SERVER_MESSAGE__MSG_REPLY));
        /* A code the client does not know is still an error. */
        assert(in.code <= 0);
        if (in.is_reply) {
            assert(in.id == m->reply->id);
            assert(in.code == (m->reply->code > 0 ? SYNC_EPROTO
                                                  : m->reply->code));
            check_result(m->reply, &in.result);
        } else {
            assert(in.id == 0 && in.code == 0);
        }
        /* As client_deliver does for an inspection call. */
        if (in.is_reply && in.code == 0) {
            raw = malloc(n);
            assert(raw != NULL);
            memcpy(raw, p, n);
            free(raw);
        }
    }
    if (m != NULL)
        syncd__server_message__free_unpacked(m, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct frame_decoder d;
    const uint8_t *payload;
    size_t cuts[FUZZ_MAX_CUTS], n_cuts, i, fed = 0, chunk, len, max_frame;
    enum frame_status st = FRAME_NEED_MORE;

    if (size < 2)
        return 0;
    /* Bit 7: the client's real limit; else a small one (1..128). */
    max_frame = data[0] & 0x80 ? CLIENT_MAX_FRAME : (size_t)(data[0] & 0x7f) + 1;
    n_cuts = data[1] % (FUZZ_MAX_CUTS + 1);
    if (size < 2 + n_cuts)
        return 0;
    for (i = 0; i < n_cuts; i++)
        cuts[i] = data[2 + i];
    data += 2 + n_cuts;
    size -= 2 + n_cuts;

    decode_frame(data, size);

    frame_decoder_init(&d, max_frame);
    for (i = 0; i <= n_cuts && fed < size && st == FRAME_NEED_MORE; i++) {
        chunk = i < n_cuts ? cuts[i] : size - fed;
        if (chunk > size - fed)
            chunk = size - fed;
        assert(frame_decoder_feed(&d, data + fed, chunk) == 0);
        fed += chunk;
        /* client_read_until: deliver frames until one is bad. */
        while ((st = frame_decoder_next(&d, &payload, &len)) == FRAME_OK) {
            assert(len >= 1 && len <= max_frame);
            decode_frame(payload, len);
        }
    }
    frame_decoder_fini(&d);
    return 0;
}
