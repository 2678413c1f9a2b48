/*
 * frame.c: incremental decoder for length-prefixed frames.  Invariant: the
 * buffer never holds more than one header plus max_frame bytes of a frame
 * that has not yet been consumed, so a hostile length cannot grow memory.
 */
#include "frame.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "syncclient.h"

void frame_decoder_init(struct frame_decoder *d, size_t max_frame)
{
    memset(d, 0, sizeof(*d));
    d->max_frame = max_frame;
}

void frame_decoder_fini(struct frame_decoder *d)
{
    free(d->buf);
    d->buf = NULL;
    d->len = d->cap = 0;
}

void frame_put_header(uint8_t *out, uint32_t len)
{
    out[0] = (uint8_t)(len >> 24);
    out[1] = (uint8_t)(len >> 16);
    out[2] = (uint8_t)(len >> 8);
    out[3] = (uint8_t)len;
}

uint32_t frame_get_header(const uint8_t *in)
{
    return (uint32_t)in[0] << 24 | (uint32_t)in[1] << 16 |
           (uint32_t)in[2] << 8 | (uint32_t)in[3];
}

static int frame_reserve(struct frame_decoder *d, size_t need)
{
    size_t cap = d->cap ? d->cap : 256;
    uint8_t *p;

    if (need <= d->cap)
        return 0;
    /* Checked where the buffer grows, off the per-frame path. */
    assert(d->off <= d->len && d->len <= d->cap);
    while (cap < need)
        cap *= 2;
    p = realloc(d->buf, cap);
    if (p == NULL)
        return SYNC_ENOMEM;
    d->buf = p;
    d->cap = cap;
    return 0;
}

int frame_decoder_feed(struct frame_decoder *d, const uint8_t *p, size_t n)
{
    if (n == 0)
        return 0;
    /* Compact lazily: frames handed out by next() stay valid until here. */
    if (d->off > 0) {
        memmove(d->buf, d->buf + d->off, d->len - d->off);
        d->len -= d->off;
        d->off = 0;
    }
    if (frame_reserve(d, d->len + n) != 0)
        return SYNC_ENOMEM;
    memcpy(d->buf + d->len, p, n);
    d->len += n;
    return 0;
}

enum frame_status frame_decoder_next(struct frame_decoder *d,
                                     const uint8_t **payload, size_t *len)
{
    size_t avail = d->len - d->off;
    uint32_t n;

    if (avail < FRAME_HEADER_SIZE)
        return FRAME_NEED_MORE;
    n = frame_get_header(d->buf + d->off);
    if (n == 0)
        return FRAME_EMPTY;
    /* Check the claimed length before anything is buffered for it. */
    if (n > d->max_frame) {
        d->bad_len = n;
        return FRAME_TOO_BIG;
    }
    if (avail - FRAME_HEADER_SIZE < n)
        return FRAME_NEED_MORE;
    *payload = d->buf + d->off + FRAME_HEADER_SIZE;
    *len = n;
    d->off += FRAME_HEADER_SIZE + (size_t)n;
    return FRAME_OK;
}
