/*
 * test_malformed.c: malformed and out-of-order input on a raw socket, one
 * test per class (raft's badSize/badType idea).  Each case states what the
 * daemon must do: answer with an error code (and which request id it
 * echoes), and either close the connection or keep serving it.  Every
 * case then checks that the daemon is alive and still serves a
 * well-behaved libsyncclient client; the fixture checks its clean exit.
 */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "daemon_fixture.h"
#include "rawsock.h"
#include "syncclient.h"
#include "wire.h"

#define MAX_FRAME 4096

static void malformed_init(void)
{
    static const char *const args[] = {"--max-frame", "4096", NULL};

    syncd_fixture_start(args);
}

TestSuite(malformed, .init = malformed_init, .fini = syncd_fixture_fini,
          .timeout = 30);

/* ---- the inputs --------------------------------------------------------- */

static void send_zero_length(int fd)
{
    cr_assert(eq(int, raw_send_header(fd, 0), 0));
}

static void send_length_4gib(int fd)
{
    cr_assert(eq(int, raw_send_header(fd, 0xffffffffu), 0));
}

static void send_length_above_max_frame(int fd)
{
    uint8_t body[64] = {0};

    cr_assert(eq(int, raw_send_header(fd, MAX_FRAME + 1), 0));
    /* A peer may already have closed; only the header matters. */
    (void)raw_send(fd, body, sizeof(body));
}

static void send_truncated_body_then_close(int fd)
{
    uint8_t body[10] = {0x08, 0x01};

    cr_assert(eq(int, raw_send_header(fd, 100), 0));
    cr_assert(eq(int, raw_send(fd, body, sizeof(body)), 0));
    cr_assert(eq(int, shutdown(fd, SHUT_WR), 0));
}

static void send_truncated_header_then_close(int fd)
{
    uint8_t h[2] = {0, 0};

    cr_assert(eq(int, raw_send(fd, h, sizeof(h)), 0));
    cr_assert(eq(int, shutdown(fd, SHUT_WR), 0));
}

static void send_garbage_protobuf(int fd)
{
    /* An 11-byte varint as the first field key cannot decode. */
    static const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                   0xff, 0xff, 0xff, 0xff, 0xff, 0x01};

    cr_assert(eq(int, raw_send_frame(fd, junk, sizeof(junk)), 0));
}

static void send_request_without_op(int fd)
{
    Syncd__Request rq = SYNCD__REQUEST__INIT;

    rq.id = 9;
    cr_assert(eq(int, raw_send_request(fd, &rq), 0));
}

static void send_unknown_op(int fd)
{
    /* id = 9, then field 99 (not in the oneof), varint 1. */
    static const uint8_t msg[] = {0x08, 0x09, 0x98, 0x06, 0x01};

    cr_assert(eq(int, raw_send_frame(fd, msg, sizeof(msg)), 0));
}

static void send_request_before_handshake(int fd)
{
    Syncd__Request rq = SYNCD__REQUEST__INIT;
    Syncd__Query q = SYNCD__QUERY__INIT;

    q.handle = 1;
    rq.id = 5;
    rq.op_case = SYNCD__REQUEST__OP_QUERY;
    rq.query = &q;
    cr_assert(eq(int, raw_send_request(fd, &rq), 0));
}

static void send_hello_version_3(int fd)
{
    cr_assert(eq(int, raw_send_hello(fd, 3, 3), 0));
}

static void send_hello_version_0(int fd)
{
    cr_assert(eq(int, raw_send_hello(fd, 3, 0), 0));
}

static void send_duplicate_hello(int fd)
{
    cr_assert(eq(int, raw_send_hello(fd, 4, 1), 0));
}

static void send_unknown_handle(int fd)
{
    Syncd__Request rq = SYNCD__REQUEST__INIT;
    Syncd__Acquire a = SYNCD__ACQUIRE__INIT;

    a.handle = 999;
    a.timeout_us = -1;
    rq.id = 6;
    rq.op_case = SYNCD__REQUEST__OP_ACQUIRE;
    rq.acquire = &a;
    cr_assert(eq(int, raw_send_request(fd, &rq), 0));
}

static void send_open_unspecified_type(int fd)
{
    uint8_t buf[16];
    size_t n;

    /* Encoded by hand: Request{id 7, open{name "m/x"}}, type left 0. */
    buf[0] = 0x08; /* id = 7 */
    buf[1] = 0x07;
    buf[2] = 0x1a; /* field 3 (open), length-delimited */
    buf[3] = 5;
    buf[4] = 0x0a; /* Open.name */
    buf[5] = 3;
    memcpy(buf + 6, "m/x", 3);
    n = 9;
    cr_assert(eq(int, raw_send_frame(fd, buf, (uint32_t)n), 0));
}

/* A Hello padded (client_name) to exactly `size` bytes of payload. */
static void send_hello_of_size(int fd, size_t size)
{
    Syncd__Request rq = SYNCD__REQUEST__INIT;
    Syncd__Hello h = SYNCD__HELLO__INIT;
    char name[MAX_FRAME + 1];
    size_t k;

    h.version = 1;
    rq.id = 1;
    rq.op_case = SYNCD__REQUEST__OP_HELLO;
    rq.hello = &h;
    h.client_name = name;
    for (k = 0; k < size; k++) {
        memset(name, 'p', k);
        name[k] = '\0';
        if (syncd__request__get_packed_size(&rq) == size)
            break;
    }
    cr_assert(eq(sz, syncd__request__get_packed_size(&rq), size));
    cr_assert(eq(int, raw_send_request(fd, &rq), 0));
}

static void send_hello_at_max_frame(int fd)
{
    send_hello_of_size(fd, MAX_FRAME);
}

static void send_hello_one_byte_at_a_time(int fd)
{
    Syncd__Request rq = SYNCD__REQUEST__INIT;
    Syncd__Hello h = SYNCD__HELLO__INIT;
    uint8_t buf[128];
    size_t n, i;

    h.version = 1;
    h.client_name = (char *)"dribble";
    rq.id = 1;
    rq.op_case = SYNCD__REQUEST__OP_HELLO;
    rq.hello = &h;
    n = syncd__request__get_packed_size(&rq);
    cr_assert(le(sz, n + 4, sizeof(buf)));
    buf[0] = 0;
    buf[1] = 0;
    buf[2] = 0;
    buf[3] = (uint8_t)n;
    syncd__request__pack(&rq, buf + 4);
    for (i = 0; i < n + 4; i++) {
        cr_assert(eq(int, raw_send(fd, buf + i, 1), 0));
        fx_sleep_ms(1);
    }
}

/* ---- the table ---------------------------------------------------------- */

enum after { CLOSES, STAYS_OPEN };

struct mcase {
    void (*send)(int fd);
    bool hello_first;   /* do a good handshake before the input */
    bool expect_reply;  /* the daemon answers before anything else */
    uint64_t reply_id;  /* ... echoing this request id (0: connection) */
    int reply_code;     /* ... with this code */
    enum after after;
};

enum {
    ZERO_LENGTH,
    LENGTH_4GIB,
    LENGTH_ABOVE_MAX,
    TRUNCATED_BODY,
    TRUNCATED_HEADER,
    GARBAGE_PROTOBUF,
    NO_OP,
    UNKNOWN_OP,
    BEFORE_HANDSHAKE,
    HELLO_VERSION_3,
    HELLO_VERSION_0,
    DUPLICATE_HELLO,
    UNKNOWN_HANDLE,
    UNSPECIFIED_TYPE,
    AT_MAX_FRAME,
    ONE_BYTE_AT_A_TIME,
};

static const struct mcase cases[] = {
    [ZERO_LENGTH] = {send_zero_length, true, true, 0, SYNC_EPROTO, CLOSES},
    [LENGTH_4GIB] = {send_length_4gib, true, true, 0, SYNC_EPROTO, CLOSES},
    [LENGTH_ABOVE_MAX] = {send_length_above_max_frame, false, true, 0,
                          SYNC_EPROTO, CLOSES},
    [TRUNCATED_BODY] = {send_truncated_body_then_close, true, false, 0, 0,
                        CLOSES},
    [TRUNCATED_HEADER] = {send_truncated_header_then_close, false, false, 0,
                          0, CLOSES},
    [GARBAGE_PROTOBUF] = {send_garbage_protobuf, true, true, 0, SYNC_EPROTO,
                          CLOSES},
    [NO_OP] = {send_request_without_op, true, true, 0, SYNC_EPROTO, CLOSES},
    [UNKNOWN_OP] = {send_unknown_op, true, true, 0, SYNC_EPROTO, CLOSES},
    [BEFORE_HANDSHAKE] = {send_request_before_handshake, false, true, 5,
                          SYNC_EPROTO, CLOSES},
    [HELLO_VERSION_3] = {send_hello_version_3, false, true, 3,
                         SYNC_EVERSION, CLOSES},
    [HELLO_VERSION_0] = {send_hello_version_0, false, true, 3,
                         SYNC_EVERSION, CLOSES},
    [DUPLICATE_HELLO] = {send_duplicate_hello, true, true, 4, SYNC_EPROTO,
                         STAYS_OPEN},
    [UNKNOWN_HANDLE] = {send_unknown_handle, true, true, 6, SYNC_EBADF,
                        STAYS_OPEN},
    [UNSPECIFIED_TYPE] = {send_open_unspecified_type, true, true, 7,
                          SYNC_EINVAL, STAYS_OPEN},
    [AT_MAX_FRAME] = {send_hello_at_max_frame, false, true, 1, 0,
                      STAYS_OPEN},
    [ONE_BYTE_AT_A_TIME] = {send_hello_one_byte_at_a_time, false, true, 1, 0,
                            STAYS_OPEN},
};

/* A well-behaved client: connect, lock, unlock. */
static void check_daemon_serves(void)
{
    sync_client *c;
    sync_lock *l;

    cr_assert(syncd_fixture_alive(), "the daemon died");
    cr_assert(eq(int, sync_connect(syncd_fx.sock, &c), 0));
    cr_assert(eq(int, sync_lock_open(c, "malformed/after", &l), 0));
    cr_assert(eq(int, sync_lock_acquire(l, true, 5.0), 0));
    cr_assert(eq(int, sync_lock_release(l), 0));
    sync_lock_close(l);
    sync_disconnect(c);
    cr_assert(syncd_fixture_alive(), "the daemon died");
}

/* The raw connection still works: open a lock, acquire, release. */
static void check_raw_usable(int fd)
{
    struct raw_reply r;
    uint32_t h = 0;

    cr_assert(eq(int, raw_open(fd, 100, "malformed/raw", 13,
                               SYNCD__OBJECT_TYPE__LOCK, 0, &h), 0));
    cr_assert(eq(int, raw_acquire(fd, 101, h, -1, &r), 0));
    cr_assert(eq(u64, r.id, 101));
    cr_assert(eq(u64, r.token, 1));
    cr_assert(eq(int, raw_release(fd, 102, h), 0));
}

static void run_case(int which)
{
    const struct mcase *mc = &cases[which];
    struct raw_reply r;
    enum raw_status st;
    int fd = raw_connect(syncd_fx.sock);

    cr_assert(ge(int, fd, 0));
    if (mc->hello_first)
        cr_assert(eq(int, raw_hello(fd), 0));
    mc->send(fd);
    if (mc->expect_reply) {
        st = raw_read_reply(fd, 5000, &r);
        cr_assert(eq(int, st, RAW_OK), "no reply (status %d)", st);
        cr_assert(r.is_reply);
        cr_assert(eq(int, r.code, mc->reply_code), "reply: %s (%s)",
                  sync_errname(r.code), r.message);
        cr_assert(eq(u64, r.id, mc->reply_id));
    }
    if (mc->after == CLOSES) {
        st = raw_expect_eof(fd, 5000);
        cr_assert(eq(int, st, RAW_EOF), "connection not closed (%d)", st);
    } else {
        check_raw_usable(fd);
    }
    close(fd);
    check_daemon_serves();
}

Test(malformed, zero_length_frame) { run_case(ZERO_LENGTH); }
Test(malformed, length_4gib) { run_case(LENGTH_4GIB); }
Test(malformed, length_above_max_frame) { run_case(LENGTH_ABOVE_MAX); }
Test(malformed, truncated_body_then_close) { run_case(TRUNCATED_BODY); }
Test(malformed, truncated_header_then_close) { run_case(TRUNCATED_HEADER); }
Test(malformed, garbage_protobuf) { run_case(GARBAGE_PROTOBUF); }
Test(malformed, request_without_op) { run_case(NO_OP); }
Test(malformed, unknown_op) { run_case(UNKNOWN_OP); }
Test(malformed, request_before_handshake) { run_case(BEFORE_HANDSHAKE); }
Test(malformed, hello_version_3) { run_case(HELLO_VERSION_3); }
Test(malformed, hello_version_0) { run_case(HELLO_VERSION_0); }

/* Every capability bit proto/wire.h reserves. */
#define ALL_CAPS                                                              \
    (WIRE_CAP_RECLAIM | WIRE_CAP_OWNERSHIP | WIRE_CAP_BARRIER_ACTION |        \
     WIRE_CAP_LOCK_CACHE | WIRE_CAP_CLUSTER)

/* A version-1 client (even one that sets the version-2 field) is answered
 * as version 1 was: version 1, nothing of version 2; its ops work. */
Test(malformed, version_1_hello_is_served_as_version_1)
{
    struct raw_reply r;
    int fd = raw_connect(syncd_fx.sock);

    cr_assert(ge(int, fd, 0));
    cr_assert(eq(int, raw_send_hello_caps(fd, 1, 1, ALL_CAPS), 0));
    cr_assert(eq(int, raw_read_reply(fd, 5000, &r), RAW_OK));
    cr_assert(eq(int, r.code, 0));
    cr_assert(eq(int, r.result_case, SYNCD__REPLY__RESULT_HELLO));
    cr_assert(eq(u32, r.version, 1));
    cr_assert(eq(u32, r.max_frame, MAX_FRAME));
    cr_assert(eq(u32, r.caps, 0));
    cr_assert(eq(u64, r.epoch, 0));
    cr_assert(eq(u32, r.grace_ms, 0));
    check_raw_usable(fd);
    close(fd);
    check_daemon_serves();
}

/* Version 2: granted = offered AND supported; nothing offered, nothing
 * granted; no grace and epoch 0 for a daemon without a state directory. */
Test(malformed, version_2_hello_grants_only_offered_capabilities)
{
    struct raw_reply r;
    int fd = raw_connect(syncd_fx.sock);

    cr_assert(ge(int, fd, 0));
    cr_assert(eq(int, raw_send_hello_caps(fd, 1, 2, ALL_CAPS | 0x80000000u),
                 0));
    cr_assert(eq(int, raw_read_reply(fd, 5000, &r), RAW_OK));
    cr_assert(eq(int, r.code, 0));
    cr_assert(eq(u32, r.version, 2));
    cr_assert(eq(u32, r.caps & ~(uint32_t)ALL_CAPS, 0),
              "an unknown bit was granted: %#x", r.caps);
    /* Issue 13's features are in this daemon. */
    cr_assert(eq(u32, r.caps & (WIRE_CAP_OWNERSHIP | WIRE_CAP_BARRIER_ACTION),
                 WIRE_CAP_OWNERSHIP | WIRE_CAP_BARRIER_ACTION));
    cr_assert(eq(u64, r.epoch, 0));
    cr_assert(eq(u32, r.grace_ms, 0));
    check_raw_usable(fd);
    close(fd);

    fd = raw_connect(syncd_fx.sock);
    cr_assert(ge(int, fd, 0));
    cr_assert(eq(int, raw_send_hello_caps(fd, 1, 2, 0), 0));
    cr_assert(eq(int, raw_read_reply(fd, 5000, &r), RAW_OK));
    cr_assert(eq(int, r.code, 0));
    cr_assert(eq(u32, r.version, 2));
    cr_assert(eq(u32, r.caps, 0));
    close(fd);

    /* One bit offered, that one granted. */
    fd = raw_connect(syncd_fx.sock);
    cr_assert(ge(int, fd, 0));
    cr_assert(eq(int, raw_send_hello_caps(fd, 1, 2, WIRE_CAP_BARRIER_ACTION),
                 0));
    cr_assert(eq(int, raw_read_reply(fd, 5000, &r), RAW_OK));
    cr_assert(eq(u32, r.caps, WIRE_CAP_BARRIER_ACTION));
    close(fd);
    check_daemon_serves();
}
Test(malformed, duplicate_hello) { run_case(DUPLICATE_HELLO); }
Test(malformed, unknown_handle) { run_case(UNKNOWN_HANDLE); }
Test(malformed, open_unspecified_type) { run_case(UNSPECIFIED_TYPE); }
Test(malformed, frame_at_max_frame_is_accepted) { run_case(AT_MAX_FRAME); }
Test(malformed, frame_one_byte_at_a_time) { run_case(ONE_BYTE_AT_A_TIME); }

/* Two requests in one write are both answered, in order. */
Test(malformed, pipelined_requests_in_one_write)
{
    Syncd__Request rq = SYNCD__REQUEST__INIT;
    Syncd__Hello h = SYNCD__HELLO__INIT;
    Syncd__Query q = SYNCD__QUERY__INIT;
    uint8_t buf[256];
    struct raw_reply r;
    size_t n1, n2;
    int fd = raw_connect(syncd_fx.sock);

    cr_assert(ge(int, fd, 0));
    h.version = 1;
    rq.id = 1;
    rq.op_case = SYNCD__REQUEST__OP_HELLO;
    rq.hello = &h;
    n1 = syncd__request__pack(&rq, buf + 4);
    buf[0] = buf[1] = buf[2] = 0;
    buf[3] = (uint8_t)n1;
    q.handle = 42;
    rq.id = 2;
    rq.op_case = SYNCD__REQUEST__OP_QUERY;
    rq.query = &q;
    n2 = syncd__request__pack(&rq, buf + 8 + n1);
    buf[4 + n1] = buf[5 + n1] = buf[6 + n1] = 0;
    buf[7 + n1] = (uint8_t)n2;
    cr_assert(eq(int, raw_send(fd, buf, 8 + n1 + n2), 0));
    cr_assert(eq(int, raw_read_reply(fd, 5000, &r), RAW_OK));
    cr_assert(eq(u64, r.id, 1));
    cr_assert(eq(int, r.code, 0));
    cr_assert(eq(u32, r.version, 1));
    cr_assert(eq(u32, r.max_frame, MAX_FRAME));
    cr_assert(eq(int, raw_read_reply(fd, 5000, &r), RAW_OK));
    cr_assert(eq(u64, r.id, 2));
    cr_assert(eq(int, r.code, SYNC_EBADF));
    check_raw_usable(fd);
    close(fd);
    check_daemon_serves();
}

/* Timeouts at the ends of int64 neither overflow nor end the wait. */
Test(malformed, extreme_timeouts_wait_until_granted)
{
    static const int64_t extremes[] = {INT64_MAX, INT64_MIN};
    struct raw_reply r;
    uint32_t ha = 0, hb = 0;
    size_t i;
    int a = raw_connect(syncd_fx.sock), b = raw_connect(syncd_fx.sock);

    cr_assert(ge(int, a, 0));
    cr_assert(ge(int, b, 0));
    cr_assert(eq(int, raw_hello(a), 0));
    cr_assert(eq(int, raw_hello(b), 0));
    cr_assert(eq(int, raw_open(a, 2, "m/extreme", 9, SYNCD__OBJECT_TYPE__LOCK,
                               0, &ha), 0));
    cr_assert(eq(int, raw_open(b, 2, "m/extreme", 9, SYNCD__OBJECT_TYPE__LOCK,
                               0, &hb), 0));
    for (i = 0; i < sizeof(extremes) / sizeof(extremes[0]); i++) {
        Syncd__Request rq = SYNCD__REQUEST__INIT;
        Syncd__Acquire acq = SYNCD__ACQUIRE__INIT;

        cr_assert(eq(int, raw_acquire(a, 10 + i, ha, -1, &r), 0));
        acq.handle = hb;
        acq.timeout_us = extremes[i];
        rq.id = 20 + i;
        rq.op_case = SYNCD__REQUEST__OP_ACQUIRE;
        rq.acquire = &acq;
        cr_assert(eq(int, raw_send_request(b, &rq), 0));
        /* Still waiting... */
        cr_assert(eq(int, raw_read_reply(b, 200, &r), RAW_TIMEOUT),
                  "timeout %lld ended the wait", (long long)extremes[i]);
        /* ...until the lock is released to it. */
        cr_assert(eq(int, raw_release(a, 30 + i, ha), 0));
        cr_assert(eq(int, raw_read_reply(b, 5000, &r), RAW_OK));
        cr_assert(eq(u64, r.id, 20 + i));
        cr_assert(eq(int, r.code, 0));
        cr_assert(eq(int, raw_release(b, 40 + i, hb), 0));
    }
    close(a);
    close(b);
    check_daemon_serves();
}
