/*
 * rawsock.h: talk to syncd byte by byte, bypassing libsyncclient, to test
 * how the daemon treats malformed or out-of-order input.
 *
 * Frames are a 4-byte big-endian length and a protobuf message (Request to
 * the daemon, ServerMessage back), as in proto/syncd.proto.
 */
#ifndef SYNCD_TEST_RAWSOCK_H
#define SYNCD_TEST_RAWSOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "syncd.pb-c.h"

/* Outcome of reading from the daemon. */
enum raw_status {
    RAW_OK = 1,       /* a whole frame (or message) was read */
    RAW_EOF = 0,      /* the daemon closed the connection */
    RAW_TIMEOUT = -1, /* nothing complete within the timeout */
    RAW_ERROR = -2,   /* read error, or a frame that does not decode */
};

/* A decoded ServerMessage.reply, flattened. */
struct raw_reply {
    bool is_reply;      /* false: the message was a Notice */
    uint64_t id;
    int code;
    char message[256];
    int result_case;    /* SYNCD__REPLY__RESULT_* */
    uint32_t version;   /* hello */
    uint32_t max_frame; /* hello */
    uint32_t caps;      /* hello (version 2): capabilities granted */
    uint64_t epoch;     /* hello (version 2) */
    uint32_t grace_ms;  /* hello (version 2) */
    uint32_t handle;    /* open */
    uint64_t token;     /* acquire */
    bool owner_died;    /* acquire */
    int64_t value;      /* query */
};

/* Connect to path; a socket fd, or -1. */
int raw_connect(const char *path);

/* Send all n bytes (MSG_NOSIGNAL); 0, or -1 (e.g. EPIPE). */
int raw_send(int fd, const void *p, size_t n);

/* Build header + payload in one buffer and send it; 0 or -1. */
int raw_send_frame(int fd, const void *payload, uint32_t len);

/* Send just a 4-byte header claiming len bytes; 0 or -1. */
int raw_send_header(int fd, uint32_t len);

/* Pack rq and send it as one frame; 0 or -1. */
int raw_send_request(int fd, const Syncd__Request *rq);

/*
 * Read one whole frame within timeout_ms.  RAW_OK sets *payload (malloc'd,
 * free it) and *len; RAW_EOF, RAW_TIMEOUT or RAW_ERROR otherwise.
 */
enum raw_status raw_read_frame(int fd, int timeout_ms, uint8_t **payload,
                               size_t *len);

/* Read one frame and decode it as a ServerMessage into *out. */
enum raw_status raw_read_reply(int fd, int timeout_ms, struct raw_reply *out);

/*
 * Read and discard frames until the daemon closes the connection:
 * RAW_EOF, or RAW_TIMEOUT / RAW_ERROR.
 */
enum raw_status raw_expect_eof(int fd, int timeout_ms);

/* ---- well-formed requests ------------------------------------------------ */

/* Send Hello{version} with request id; 0 or -1. */
int raw_send_hello(int fd, uint64_t id, uint32_t version);
/* The same offering capabilities caps (WIRE_CAP_* bits). */
int raw_send_hello_caps(int fd, uint64_t id, uint32_t version, uint32_t caps);

/* Connect to sock, Hello{version}, read the reply into *out and close:
 * RAW_OK or why not. */
enum raw_status raw_hello_at(const char *sock, uint32_t version,
                             struct raw_reply *out);

/* Hello version 1 and read its reply; returns the reply code, or a
 * RAW_* status below -100 (-100 + status) if no reply came. */
int raw_hello(int fd);

/* Open the name_len bytes at name (NULs allowed: names are bytes on the
 * wire) as type (Syncd__ObjectType) with value; returns the reply code,
 * the handle in *handle. */
int raw_open(int fd, uint64_t id, const char *name, size_t name_len,
             int type, uint32_t value, uint32_t *handle);

/* Acquire (timeout_us as on the wire) and read the reply into *out;
 * returns the reply code. */
int raw_acquire(int fd, uint64_t id, uint32_t handle, int64_t timeout_us,
                struct raw_reply *out);

/* Release and read the reply; returns its code. */
int raw_release(int fd, uint64_t id, uint32_t handle);

/* Status to a value no reply code can take, for call-then-code helpers. */
#define RAW_NO_REPLY(st) (-100 + (int)(st))

#endif
