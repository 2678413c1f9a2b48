/*
 * test_frame.c: length-prefixed framing (proto/frame.c): the header codec
 * and the incremental decoder, whatever way the stream is split.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"

#define MAX_FRAME 1024

static struct frame_decoder d;

static void setup(void)
{
    frame_decoder_init(&d, MAX_FRAME);
}

static void teardown(void)
{
    frame_decoder_fini(&d);
}

TestSuite(frame, .init = setup, .fini = teardown);

/* Append one frame (header + payload of len bytes, pattern seeded by tag). */
static size_t put_frame(uint8_t *out, uint32_t len, uint8_t tag)
{
    uint32_t i;

    frame_put_header(out, len);
    for (i = 0; i < len; i++)
        out[FRAME_HEADER_SIZE + i] = (uint8_t)(tag + i * 7);
    return FRAME_HEADER_SIZE + len;
}

/* What a decoder produced: concatenated payloads and their lengths. */
struct frames {
    uint8_t data[4096];
    size_t used;
    size_t lens[16];
    int n;
};

/* Take every whole frame; returns the status that stopped the loop. */
static enum frame_status drain(struct frame_decoder *dec, struct frames *out)
{
    const uint8_t *p;
    size_t len;
    enum frame_status st;

    while ((st = frame_decoder_next(dec, &p, &len)) == FRAME_OK) {
        cr_assert(lt(int, out->n, 16));
        cr_assert(le(sz, out->used + len, sizeof(out->data)));
        memcpy(out->data + out->used, p, len);
        out->used += len;
        out->lens[out->n++] = len;
    }
    return st;
}

Test(frame, header_round_trip)
{
    static const uint32_t vals[] = {0, 1, 255, 256, 65535, 65536,
                                    0x01020304, 0x7fffffff, 0x80000000,
                                    0xffffffff};
    uint8_t b[4];
    size_t i;

    for (i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
        frame_put_header(b, vals[i]);
        cr_assert(eq(u32, frame_get_header(b), vals[i]));
    }
}

Test(frame, header_is_big_endian)
{
    uint8_t b[4];
    uint8_t raw[4] = {0xde, 0xad, 0xbe, 0xef};

    frame_put_header(b, 0x01020304);
    cr_assert(eq(u8, b[0], 1));
    cr_assert(eq(u8, b[1], 2));
    cr_assert(eq(u8, b[2], 3));
    cr_assert(eq(u8, b[3], 4));
    cr_assert(eq(u32, frame_get_header(raw), 0xdeadbeef));
}

Test(frame, empty_decoder_needs_more)
{
    const uint8_t *p = NULL;
    size_t len = 0;

    cr_assert(eq(int, frame_decoder_next(&d, &p, &len), FRAME_NEED_MORE));
    cr_assert(eq(int, frame_decoder_feed(&d, (const uint8_t *)"", 0), 0));
    cr_assert(eq(int, frame_decoder_next(&d, &p, &len), FRAME_NEED_MORE));
}

Test(frame, partial_header_and_partial_body_need_more)
{
    uint8_t buf[64];
    size_t n = put_frame(buf, 10, 1);
    const uint8_t *p;
    size_t len;

    cr_assert(eq(int, frame_decoder_feed(&d, buf, 3), 0));
    cr_assert(eq(int, frame_decoder_next(&d, &p, &len), FRAME_NEED_MORE));
    cr_assert(eq(int, frame_decoder_feed(&d, buf + 3, 5), 0));
    cr_assert(eq(int, frame_decoder_next(&d, &p, &len), FRAME_NEED_MORE));
    cr_assert(eq(int, frame_decoder_feed(&d, buf + 8, n - 8), 0));
    cr_assert(eq(int, frame_decoder_next(&d, &p, &len), FRAME_OK));
    cr_assert(eq(sz, len, 10));
    cr_assert(eq(int, memcmp(p, buf + FRAME_HEADER_SIZE, 10), 0));
    cr_assert(eq(int, frame_decoder_next(&d, &p, &len), FRAME_NEED_MORE));
}

Test(frame, several_frames_in_one_feed)
{
    uint8_t buf[256];
    size_t n = 0;
    struct frames got = {0};

    n += put_frame(buf + n, 1, 10);
    n += put_frame(buf + n, 20, 20);
    n += put_frame(buf + n, 3, 30);
    cr_assert(eq(int, frame_decoder_feed(&d, buf, n), 0));
    cr_assert(eq(int, drain(&d, &got), FRAME_NEED_MORE));
    cr_assert(eq(int, got.n, 3));
    cr_assert(eq(sz, got.lens[0], 1));
    cr_assert(eq(sz, got.lens[1], 20));
    cr_assert(eq(sz, got.lens[2], 3));
    cr_assert(eq(u8, got.data[0], 10));
    cr_assert(eq(int, memcmp(got.data + 1, buf + 5 + 4, 20), 0));
    cr_assert(eq(int, memcmp(got.data + 21, buf + 5 + 24 + 4, 3), 0));
}

Test(frame, payloads_stay_valid_until_next_feed)
{
    uint8_t buf[64];
    size_t n = put_frame(buf, 4, 1);
    const uint8_t *p1, *p2;
    size_t l1, l2;

    n += put_frame(buf + n, 4, 100);
    cr_assert(eq(int, frame_decoder_feed(&d, buf, n), 0));
    cr_assert(eq(int, frame_decoder_next(&d, &p1, &l1), FRAME_OK));
    cr_assert(eq(int, frame_decoder_next(&d, &p2, &l2), FRAME_OK));
    cr_assert(eq(int, memcmp(p1, buf + 4, 4), 0));
    cr_assert(eq(int, memcmp(p2, buf + 12, 4), 0));
}

/* The reference stream: frames of varied sizes, one of them maximal. */
static size_t reference_stream(uint8_t *buf, struct frames *want)
{
    static const uint32_t sizes[] = {1, 5, 300, 2, MAX_FRAME, 7};
    size_t n = 0, i;

    for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        n += put_frame(buf + n, sizes[i], (uint8_t)(i * 31));
        memcpy(want->data + want->used, buf + n - sizes[i], sizes[i]);
        want->used += sizes[i];
        want->lens[want->n++] = sizes[i];
    }
    return n;
}

static void assert_same_frames(const struct frames *got,
                               const struct frames *want, size_t split)
{
    int i;

    cr_assert(eq(int, got->n, want->n), "split at %zu", split);
    for (i = 0; i < want->n; i++)
        cr_assert(eq(sz, got->lens[i], want->lens[i]), "split %zu frame %d",
                  split, i);
    cr_assert(eq(sz, got->used, want->used));
    cr_assert(eq(int, memcmp(got->data, want->data, want->used), 0),
              "split at %zu", split);
}

Test(frame, stream_split_at_every_byte_yields_same_frames)
{
    static uint8_t buf[4096];
    static struct frames want, got;
    struct frame_decoder dec;
    size_t n = reference_stream(buf, &want), k;

    for (k = 0; k <= n; k++) {
        memset(&got, 0, sizeof(got));
        frame_decoder_init(&dec, MAX_FRAME);
        cr_assert(eq(int, frame_decoder_feed(&dec, buf, k), 0));
        cr_assert(eq(int, drain(&dec, &got), FRAME_NEED_MORE));
        cr_assert(eq(int, frame_decoder_feed(&dec, buf + k, n - k), 0));
        cr_assert(eq(int, drain(&dec, &got), FRAME_NEED_MORE));
        assert_same_frames(&got, &want, k);
        frame_decoder_fini(&dec);
    }
}

Test(frame, stream_fed_byte_by_byte_yields_same_frames)
{
    static uint8_t buf[4096];
    static struct frames want, got;
    size_t n = reference_stream(buf, &want), i;

    for (i = 0; i < n; i++) {
        cr_assert(eq(int, frame_decoder_feed(&d, buf + i, 1), 0));
        cr_assert(eq(int, drain(&d, &got), FRAME_NEED_MORE));
    }
    assert_same_frames(&got, &want, 1);
    /* Consumed bytes were compacted away, not kept. */
    cr_assert(le(sz, d.cap, 2 * (MAX_FRAME + FRAME_HEADER_SIZE)));
}

Test(frame, zero_length_is_frame_empty)
{
    uint8_t buf[16];
    const uint8_t *p;
    size_t len;

    frame_put_header(buf, 0);
    cr_assert(eq(int, frame_decoder_feed(&d, buf, 4), 0));
    cr_assert(eq(int, frame_decoder_next(&d, &p, &len), FRAME_EMPTY));
    cr_assert(eq(int, frame_decoder_next(&d, &p, &len), FRAME_EMPTY));
}

Test(frame, zero_length_after_good_frame_is_frame_empty)
{
    uint8_t buf[32];
    size_t n = put_frame(buf, 3, 1);
    const uint8_t *p;
    size_t len;

    frame_put_header(buf + n, 0);
    cr_assert(eq(int, frame_decoder_feed(&d, buf, n + 4), 0));
    cr_assert(eq(int, frame_decoder_next(&d, &p, &len), FRAME_OK));
    cr_assert(eq(sz, len, 3));
    cr_assert(eq(int, frame_decoder_next(&d, &p, &len), FRAME_EMPTY));
}

Test(frame, length_at_max_is_accepted)
{
    static uint8_t buf[MAX_FRAME + FRAME_HEADER_SIZE];
    const uint8_t *p;
    size_t len;

    put_frame(buf, MAX_FRAME, 5);
    cr_assert(eq(int, frame_decoder_feed(&d, buf, sizeof(buf)), 0));
    cr_assert(eq(int, frame_decoder_next(&d, &p, &len), FRAME_OK));
    cr_assert(eq(sz, len, MAX_FRAME));
    cr_assert(eq(u32, d.bad_len, 0));
}

Test(frame, length_over_max_is_too_big_with_bad_len)
{
    uint8_t buf[8];
    const uint8_t *p;
    size_t len;

    frame_put_header(buf, MAX_FRAME + 1);
    cr_assert(eq(int, frame_decoder_feed(&d, buf, 4), 0));
    cr_assert(eq(int, frame_decoder_next(&d, &p, &len), FRAME_TOO_BIG));
    cr_assert(eq(u32, d.bad_len, MAX_FRAME + 1));
}

Test(frame, huge_length_is_rejected_before_buffering)
{
    uint8_t buf[32] = {0xff, 0xff, 0xff, 0xff};
    const uint8_t *p;
    size_t len;

    /* The header and a few body bytes, as one read would bring them. */
    cr_assert(eq(int, frame_decoder_feed(&d, buf, sizeof(buf)), 0));
    cr_assert(eq(int, frame_decoder_next(&d, &p, &len), FRAME_TOO_BIG));
    cr_assert(eq(u32, d.bad_len, 0xffffffffu));
    cr_assert(le(sz, d.cap, 256), "buffer grew for the claimed length");
    /* The stream cannot be resynchronised: the verdict stays. */
    cr_assert(eq(int, frame_decoder_next(&d, &p, &len), FRAME_TOO_BIG));
}

Test(frame, too_big_after_good_frame_keeps_good_frame)
{
    uint8_t buf[32];
    size_t n = put_frame(buf, 2, 9);
    const uint8_t *p;
    size_t len;

    frame_put_header(buf + n, 0x10000000);
    cr_assert(eq(int, frame_decoder_feed(&d, buf, n + 4), 0));
    cr_assert(eq(int, frame_decoder_next(&d, &p, &len), FRAME_OK));
    cr_assert(eq(sz, len, 2));
    cr_assert(eq(u8, p[0], 9));
    cr_assert(eq(int, frame_decoder_next(&d, &p, &len), FRAME_TOO_BIG));
    cr_assert(eq(u32, d.bad_len, 0x10000000));
}

Test(frame, steady_stream_does_not_grow_buffer)
{
    uint8_t buf[128];
    size_t n = put_frame(buf, 100, 3);
    struct frames got;
    int i;

    for (i = 0; i < 10000; i++) {
        memset(&got, 0, sizeof(got));
        cr_assert(eq(int, frame_decoder_feed(&d, buf, n), 0));
        cr_assert(eq(int, drain(&d, &got), FRAME_NEED_MORE));
        cr_assert(eq(int, got.n, 1));
    }
    cr_assert(le(sz, d.cap, 256));
}

Test(frame, fini_without_feed_and_twice_is_safe)
{
    struct frame_decoder dec;

    frame_decoder_init(&dec, 16);
    frame_decoder_fini(&dec);
    frame_decoder_fini(&dec);
    cr_assert(eq(ptr, dec.buf, NULL));
}
