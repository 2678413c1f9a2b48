/*
 * fuzz_frame.c: the daemon's read path without the socket.  A byte stream,
 * cut into chunks at fuzzer-chosen points, is fed to a frame_decoder with a
 * small max_frame as session_read_cb does; every whole frame goes to
 * codec_decode_request.  Invariants: frames are exactly the stream's
 * frames, never empty or above max_frame, the buffer stays bounded, errors
 * are sticky, and the codec agrees with a plain protobuf-c unpack.
 *
 * Input: [max byte][n cuts][n chunk sizes][stream...]
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "frame.h"
#include "syncd.pb-c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_CUTS 8

/* Whether s is printable ASCII, NUL-terminated within cap bytes. */
static int printable_within(const char *s, size_t cap)
{
    size_t i;

    for (i = 0; i < cap; i++) {
        if (s[i] == '\0')
            return 1;
        if (s[i] < 0x20 || s[i] >= 0x7f)
            return 0;
    }
    return 0;
}

/* A name copy: NUL-terminated within SYNC_NAME_MAX, as long as sent or
 * truncated to SYNC_NAME_MAX. */
static void check_name(const char *name, size_t len)
{
    assert(memchr(name, '\0', SYNC_NAME_MAX + 1) != NULL);
    assert(strlen(name) <= (len < SYNC_NAME_MAX ? len : SYNC_NAME_MAX));
}

/* A name field as copied, against the bytes protobuf-c decoded. */
static void same_name(const char *name, size_t len,
                      const ProtobufCBinaryData *want)
{
    size_t n = want->len < SYNC_NAME_MAX ? want->len : SYNC_NAME_MAX;

    check_name(name, len);
    assert(len == want->len);
    assert(n == 0 || memcmp(name, want->data, n) == 0);
}

/*
 * What codec_fill does, from the message protobuf-c decoded: the codec's
 * fast path (fastwire.c) must give exactly the same request.
 */
static void same_request(const Syncd__Request *m, const struct request *rq)
{
    assert(rq->id == m->id);
    switch (m->op_case) {
    case SYNCD__REQUEST__OP_HELLO:
        assert(rq->op == OP_HELLO && rq->version == m->hello->version &&
               rq->pid == m->hello->pid);
        assert(printable_within(rq->client_name, sizeof(rq->client_name)));
        break;
    case SYNCD__REQUEST__OP_OPEN:
        assert(rq->op == OP_OPEN && rq->type == (uint32_t)m->open->type &&
               rq->value == m->open->value && rq->flags == m->open->flags &&
               rq->mode == m->open->mode);
        same_name(rq->name, rq->name_len, &m->open->name);
        same_name(rq->lock_name, rq->lock_name_len, &m->open->lock_name);
        break;
    case SYNCD__REQUEST__OP_UNLINK:
        assert(rq->op == OP_UNLINK);
        same_name(rq->name, rq->name_len, &m->unlink->name);
        break;
    case SYNCD__REQUEST__OP_SHOW_OBJECT:
        assert(rq->op == OP_SHOW_OBJECT &&
               rq->max_waiters == m->show_object->max_waiters);
        same_name(rq->name, rq->name_len, &m->show_object->name);
        break;
    case SYNCD__REQUEST__OP_LIST_OBJECTS:
        assert(rq->op == OP_LIST_OBJECTS &&
               rq->limit == m->list_objects->limit);
        assert(rq->pattern_len == strlen(m->list_objects->pattern));
        check_name(rq->pattern, rq->pattern_len);
        same_name(rq->after_name, rq->after_name_len, &m->list_objects->after);
        break;
    case SYNCD__REQUEST__OP_LIST_CLIENTS:
        assert(rq->op == OP_LIST_CLIENTS &&
               rq->after_id == m->list_clients->after &&
               rq->limit == m->list_clients->limit);
        break;
    case SYNCD__REQUEST__OP_STATUS:
        assert(rq->op == OP_STATUS);
        break;
    case SYNCD__REQUEST__OP_CANCEL:
        assert(rq->op == OP_CANCEL &&
               rq->cancel_id == m->cancel->request_id);
        break;
    case SYNCD__REQUEST__OP_RECLAIM:
        assert(rq->op == OP_RECLAIM && rq->handle == m->reclaim->handle &&
               rq->token == m->reclaim->token);
        break;
    case SYNCD__REQUEST__OP_CLOSE:
        assert(rq->op == OP_CLOSE && rq->handle == m->close->handle);
        break;
    case SYNCD__REQUEST__OP_QUERY:
        assert(rq->op == OP_QUERY && rq->handle == m->query->handle &&
               rq->thread == m->query->thread);
        break;
    case SYNCD__REQUEST__OP_EVENT_SET:
        assert(rq->op == OP_EVENT_SET && rq->handle == m->event_set->handle);
        break;
    case SYNCD__REQUEST__OP_EVENT_CLEAR:
        assert(rq->op == OP_EVENT_CLEAR &&
               rq->handle == m->event_clear->handle);
        break;
    case SYNCD__REQUEST__OP_BARRIER_RESET:
        assert(rq->op == OP_BARRIER_RESET &&
               rq->handle == m->barrier_reset->handle);
        break;
    case SYNCD__REQUEST__OP_BARRIER_ABORT:
        assert(rq->op == OP_BARRIER_ABORT &&
               rq->handle == m->barrier_abort->handle);
        break;
    case SYNCD__REQUEST__OP_ACQUIRE:
        assert(rq->op == OP_ACQUIRE && rq->handle == m->acquire->handle &&
               rq->timeout_us == m->acquire->timeout_us &&
               rq->thread == m->acquire->thread);
        break;
    case SYNCD__REQUEST__OP_RELEASE:
        assert(rq->op == OP_RELEASE && rq->handle == m->release->handle &&
               rq->n == m->release->n && rq->thread == m->release->thread);
        break;
    case SYNCD__REQUEST__OP_EVENT_WAIT:
        assert(rq->op == OP_EVENT_WAIT &&
               rq->handle == m->event_wait->handle &&
               rq->timeout_us == m->event_wait->timeout_us);
        break;
    case SYNCD__REQUEST__OP_COND_WAIT:
        assert(rq->op == OP_COND_WAIT && rq->handle == m->cond_wait->handle &&
               rq->timeout_us == m->cond_wait->timeout_us &&
               rq->thread == m->cond_wait->thread);
        break;
    case SYNCD__REQUEST__OP_COND_NOTIFY:
        assert(rq->op == OP_COND_NOTIFY &&
               rq->handle == m->cond_notify->handle &&
               rq->n == m->cond_notify->n &&
               rq->notify_all == m->cond_notify->all &&
               rq->thread == m->cond_notify->thread);
        break;
    case SYNCD__REQUEST__OP_BARRIER_WAIT:
        assert(rq->op == OP_BARRIER_WAIT &&
               rq->handle == m->barrier_wait->handle &&
               rq->timeout_us == m->barrier_wait->timeout_us &&
               rq->action == m->barrier_wait->action);
        break;
    case SYNCD__REQUEST__OP_BARRIER_ACTION_DONE:
        assert(rq->op == OP_BARRIER_ACTION_DONE &&
               rq->handle == m->barrier_action_done->handle &&
               rq->action == m->barrier_action_done->failed);
        break;
    case SYNCD__REQUEST__OP__NOT_SET:
    case _SYNCD__REQUEST__OP__CASE_IS_INT_SIZE:
        assert(!"decoded a request without an op");
        break;
    }
}

/* One frame's payload through the codec, checked against protobuf-c. */
static void decode_frame(const uint8_t *p, size_t n)
{
    struct request rq;
    const char *detail = NULL;
    Syncd__Request *m = syncd__request__unpack(NULL, n, p);
    int rv;

    /* Stale bytes of a previous frame would hide a missing copy. */
    memset(&rq, 0xa5, sizeof(rq));
    rv = codec_decode_request(p, n, &rq, &detail);

    /* Neither the fast path nor the arena allocator may change what
     * decodes, or into what: protobuf-c has the last word. */
    assert(rv == 0 || rv == SYNC_EPROTO);
    if (m == NULL)
        assert(rv == SYNC_EPROTO && detail != NULL &&
               strcmp(detail, "undecodable protobuf") == 0);
    else if (m->op_case == SYNCD__REQUEST__OP__NOT_SET)
        assert(rv == SYNC_EPROTO);
    else
        assert(rv == 0);
    if (rv == 0)
        same_request(m, &rq);
    if (m != NULL)
        syncd__request__free_unpacked(m, NULL);
}

/* Drain whole frames after a feed; returns 0, or the sticky error. */
static int drain(struct frame_decoder *d, const uint8_t *stream, size_t end,
                 size_t *pos)
{
    const uint8_t *payload;
    size_t len;
    enum frame_status st;

    for (;;) {
        st = frame_decoder_next(d, &payload, &len);
        if (st != FRAME_OK)
            break;
        /* Exactly the next frame of the stream, within the buffer. */
        assert(len >= 1 && len <= d->max_frame);
        assert(*pos + FRAME_HEADER_SIZE + len <= end);
        assert(frame_get_header(stream + *pos) == len);
        assert(memcmp(payload, stream + *pos + FRAME_HEADER_SIZE, len) == 0);
        assert(payload >= d->buf && payload + len <= d->buf + d->len);
        *pos += FRAME_HEADER_SIZE + len;
        decode_frame(payload, len);
    }
    if (st == FRAME_NEED_MORE) {
        /* What is held is less than one header plus one allowed frame. */
        assert(d->len - d->off == end - *pos);
        assert(d->len - d->off < FRAME_HEADER_SIZE + d->max_frame);
        return 0;
    }
    /* An error names the header at the current position, and sticks. */
    assert(end - *pos >= FRAME_HEADER_SIZE);
    if (st == FRAME_EMPTY)
        assert(frame_get_header(stream + *pos) == 0);
    else
        assert(d->bad_len == frame_get_header(stream + *pos) &&
               d->bad_len > d->max_frame);
    assert(frame_decoder_next(d, &payload, &len) == st);
    return (int)st;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct frame_decoder d;
    size_t cuts[FUZZ_MAX_CUTS], n_cuts, i, fed = 0, pos = 0, chunk,
        max_chunk = 0, max_frame, bound;

    if (size < 2)
        return 0;
    /* 1..128 bytes, or 8..1024 in steps of 8 to reach long names. */
    max_frame = (size_t)((data[0] & 0x7f) + 1) << (data[0] & 0x80 ? 3 : 0);
    n_cuts = data[1] % (FUZZ_MAX_CUTS + 1);
    if (size < 2 + n_cuts)
        return 0;
    for (i = 0; i < n_cuts; i++)
        cuts[i] = data[2 + i];
    data += 2 + n_cuts;
    size -= 2 + n_cuts;

    /* The codec alone, on the whole stream, for direct coverage. */
    decode_frame(data, size);

    frame_decoder_init(&d, max_frame);
    for (i = 0; i <= n_cuts && fed < size; i++) {
        /* The last chunk is the rest; a zero-sized chunk is allowed. */
        chunk = i < n_cuts ? cuts[i] : size - fed;
        if (chunk > size - fed)
            chunk = size - fed;
        if (chunk > max_chunk)
            max_chunk = chunk;
        assert(frame_decoder_feed(&d, data + fed, chunk) == 0);
        fed += chunk;
        /* The buffer grows by doubling to at most twice what one
         * unfinished frame plus one chunk needs, whatever a peer claims. */
        bound = 2 * (FRAME_HEADER_SIZE + max_frame + max_chunk);
        assert(d.cap <= (bound > 256 ? bound : 256));
        if (drain(&d, data, fed, &pos) != 0)
            break;
    }
    frame_decoder_fini(&d);
    return 0;
}
