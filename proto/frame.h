/*
 * frame.h: length-prefixed framing (4-byte big-endian length, then payload).
 * Pure byte logic, no I/O: an incremental decoder that checks each length
 * against a maximum before anything is buffered, and a header encoder.
 */
#ifndef SYNCD_FRAME_H
#define SYNCD_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define FRAME_HEADER_SIZE 4

enum frame_status {
    FRAME_OK = 0,        /* a whole frame is available */
    FRAME_NEED_MORE = 1, /* consumed everything given, no whole frame yet */
    FRAME_EMPTY = -1,    /* a zero length: invalid in this protocol */
    FRAME_TOO_BIG = -2,  /* length above the decoder's maximum */
};

/*
 * Accumulates bytes into one owned buffer that grows up to max_frame plus
 * the header, never beyond, whatever a peer claims.
 */
struct frame_decoder {
    uint8_t *buf;      /* owned */
    size_t off;        /* start of the unconsumed bytes */
    size_t len;        /* end of the bytes held */
    size_t cap;        /* allocated */
    size_t max_frame;  /* largest payload accepted */
    uint32_t bad_len;  /* the offending length after FRAME_TOO_BIG */
};

void frame_decoder_init(struct frame_decoder *d, size_t max_frame);
void frame_decoder_fini(struct frame_decoder *d);

/*
 * Append n bytes.  Returns 0 or SYNC_ENOMEM.  The caller must
 * then drain whole frames with frame_decoder_next().
 */
int frame_decoder_feed(struct frame_decoder *d, const uint8_t *p, size_t n);

/*
 * Take the next whole frame: FRAME_OK sets *payload (borrowed, valid until
 * the next feed/next call) and *len; FRAME_NEED_MORE; or FRAME_EMPTY /
 * FRAME_TOO_BIG, after which the stream cannot be resynchronised.
 */
enum frame_status frame_decoder_next(struct frame_decoder *d,
                                     const uint8_t **payload, size_t *len);

/* Write len as the 4-byte big-endian header at out. */
void frame_put_header(uint8_t *out, uint32_t len);
/* Read a 4-byte big-endian header. */
uint32_t frame_get_header(const uint8_t *in);

#endif
