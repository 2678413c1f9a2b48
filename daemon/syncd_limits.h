/*
 * syncd_limits.h: every resource bound the daemon enforces, with its default.
 * Each is a command-line option of syncd; exceeding one is SYNC_ELIMIT (or
 * a closed connection for a frame/backlog), never memory growth.
 */
#ifndef SYNCD_LIMITS_H
#define SYNCD_LIMITS_H

#include <stddef.h>
#include <stdint.h>

struct syncd_limits {
    uint32_t max_frame;         /* bytes in one frame's payload */
    uint32_t max_objects;       /* named objects in the daemon */
    uint32_t max_handles;       /* open handles per client */
    uint32_t max_waits;         /* pending waits per client */
    uint32_t max_name;          /* bytes in an object name (<= 255) */
    uint32_t max_clients;       /* connected clients */
    uint32_t max_write_backlog; /* unsent reply bytes per client */
};

/* The smallest max_frame: a Hello with a long program name and a request
 * with a 255-byte name must fit. */
#define SYNCD_MIN_FRAME 1024u

#define SYNCD_DEFAULT_LIMITS                                                  \
    {                                                                         \
        .max_frame = 64 * 1024, .max_objects = 1000000,                      \
        .max_handles = 4096, .max_waits = 1024, .max_name = 255,             \
        .max_clients = 16384, .max_write_backlog = 4 * 1024 * 1024,          \
    }

#endif
