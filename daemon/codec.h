/*
 * codec.h: wire bytes <-> plain structs for the daemon (fastwire for the hot
 * ops, protobuf-c for the rest).  codec.c and codec_inspect.c are the only
 * daemon files that include the generated *.pb-c.h; no protobuf pointer
 * leaves them.  The ops and their numbers are proto/wire.h's.
 */
#ifndef SYNCD_CODEC_H
#define SYNCD_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "inspect.h"
#include "objects/object.h"
#include "syncclient.h"
#include "wire.h"

#define CODEC_CLIENT_NAME_MAX 63

struct request {
    uint64_t id;
    enum wire_op op;
    uint32_t handle;
    int64_t timeout_us;        /* < 0: forever; 0: try once */
    uint32_t n;                /* release count; notify count */
    bool notify_all;           /* cond notify */
    bool action;               /* barrier wait: offers to run the action;
                                  barrier action done: it failed */
    uint64_t thread;           /* caller's thread (RLock, condition) */
    uint32_t value;            /* open: semaphore value */
    uint32_t flags;            /* open: WIRE_OPEN_FLAG_* */
    uint32_t mode;             /* open: permission bits when created */
    uint32_t limit;            /* list objects, list clients: page size */
    uint32_t max_waiters;      /* show object */
    uint64_t after_id;         /* list clients: page start */
    uint64_t cancel_id;        /* cancel: the request whose wait ends */
    uint32_t type;             /* open: enum wire_type, unchecked */
    uint32_t version;          /* hello */
    uint32_t caps;             /* hello: WIRE_CAP_* offered */
    bool has_client_id;        /* hello: client_id was 16 bytes */
    uint8_t client_id[16];     /* hello (WIRE_CAP_RECLAIM) */
    uint64_t token;            /* reclaim: the token held; 0: any */
    uint32_t pid;              /* hello */
    size_t name_len;           /* open/unlink: bytes in name as sent (may
                                  exceed SYNC_NAME_MAX: then only the
                                  first SYNC_NAME_MAX are copied) */
    char name[SYNC_NAME_MAX + 1];  /* NUL-terminated copy */
    size_t lock_name_len;      /* open of a condition; 0: private lock */
    char lock_name[SYNC_NAME_MAX + 1];
    size_t after_name_len;     /* list objects: page start; 0: the first */
    char after_name[SYNC_NAME_MAX + 1];
    size_t pattern_len;        /* list objects: glob */
    char pattern[SYNC_NAME_MAX + 1];
    char client_name[CODEC_CLIENT_NAME_MAX + 1];
};

enum reply_kind { REPLY_PLAIN, REPLY_HELLO, REPLY_OPEN, REPLY_ACQUIRE,
                  REPLY_QUERY, REPLY_STATUS, REPLY_LIST, REPLY_OBJECT,
                  REPLY_CLIENTS };

struct reply {
    uint64_t id;
    int code;
    const char *message;       /* borrowed, may be NULL */
    enum reply_kind kind;
    union {
        struct {
            uint32_t version, server_pid, max_frame;
            uint64_t session_id;
            uint32_t caps, grace_ms; /* version 2 */
            uint64_t epoch;          /* version 2 */
        } hello;
        struct {
            uint32_t handle;
            bool created;
        } open;
        struct {
            uint64_t token;
            bool owner_died;
            int64_t index;
            bool run_action;
            uint64_t cache; /* lc_grant() of a lending, 0: none */
        } acquire;
        struct {
            int64_t value;
            uint32_t n_waiting, parties;
            bool broken;
            uint32_t depth;  /* levels the caller holds (lock types) */
            bool lock_held;  /* lock types: the lock is held by anyone */
        } query;
        const struct status_info *status;  /* borrowed */
        const struct object_list *list;    /* borrowed */
        const struct object_info *object;  /* borrowed */
        const struct client_list *clients; /* borrowed */
    } u;
};

/*
 * Decode one frame's payload into *rq.  0, or SYNC_EPROTO when it is not a
 * valid Request (undecodable, or no known op); *err_detail then points to
 * a static description.  Name checks are dispatch's (after the handshake).
 */
int codec_decode_request(const uint8_t *buf, size_t len, struct request *rq,
                         const char **err_detail);

/*
 * Encode rp as one frame (4-byte header + ServerMessage) into out, which
 * has room for `cap` bytes.  Returns the frame's length, or 0 if it does
 * not fit or needs the heap (inspection replies): then use
 * codec_encode_reply_alloc.
 */
size_t codec_encode_reply(const struct reply *rp, uint8_t *out, size_t cap);
/* Encode rp into a new buffer (caller frees); NULL when out of memory. */
uint8_t *codec_encode_reply_alloc(const struct reply *rp, size_t *len);

#endif
