/*
 * fuzz_program.h: the input format of fuzz_dispatch, shared with
 * make_corpus (which writes seed programs in it).  An input is a small
 * program: a 2-byte header, then actions until the bytes run out.  Every
 * byte is consumed as read; a missing byte reads as 0, so any input is a
 * valid program.
 *
 *   header[0]  bits 0-1: clients - 1 (1..4 raw sockets)
 *              bits 2-5: client i sends a Hello on connect (version 1;
 *                        odd clients version 2 offering lock caching)
 *              bits 6-7: limits profile (enum fuzz_profile)
 *   header[1]  2 bits per client: its credentials (enum fuzz_cred)
 *
 *   action     low 4 bits: enum fuzz_act; high 4 bits: client (mod n)
 *
 * ACT_REQUEST is followed by the op (enum wire_op in proto/wire.h, mod WIRE_OP_COUNT) and that
 * op's fields in the proto's order, most one byte through the pickers
 * below (fuzz_program.c, fuzz_request_build, is the reference).
 */
#ifndef SYNCD_FUZZ_PROGRAM_H
#define SYNCD_FUZZ_PROGRAM_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "syncd.pb-c.h"

enum fuzz_act {
    ACT_REQUEST,    /* op, fields: one valid protobuf Request frame */
    ACT_RUN,        /* uv_run(NOWAIT) and read every client's replies */
    ACT_SLEEP,      /* byte: advance the virtual clock 1 ms..10 s (index
                       into 1, 2, 3, 5, 10, 100, 1000, 10001), run */
    ACT_RAW_FRAME,  /* byte L, L bytes: a frame of garbage (L = 0: empty) */
    ACT_RAW_BYTES,  /* byte L, L bytes: unframed, e.g. a partial header */
    ACT_CLOSE,      /* close the client's socket: the client dies */
    ACT_SHUT_WR,    /* half-close: the daemon reads EOF */
    ACT_PAUSE,      /* toggle reading the client's replies */
    ACT_LIMITS,     /* byte: profile, applied at once (SIGHUP reload) */
    ACT_RECONNECT,  /* a closed client connects again as a new session */
    ACT_PAGE,       /* lock caching: byte op, byte slot, 8 bytes word: the
                       client changes a word of its shared page (op % 3: 0
                       any value, 1 a local acquire, 2 a local release); a
                       no-op without a page (odd clients offer caching) */
    ACT_N_KINDS,    /* 11..15 are ACT_REQUEST too: requests dominate */
};

enum fuzz_profile {
    PROFILE_ROOMY,   /* small but rarely reached limits */
    PROFILE_TIGHT,   /* every limit within reach of a short program */
    PROFILE_BACKLOG, /* tiny write backlog and socket buffer */
    PROFILE_DEFAULT, /* SYNCD_DEFAULT_LIMITS */
};

enum fuzz_cred {
    CRED_ROOT,       /* uid 0: may do everything */
    CRED_ALICE,      /* uid 1000 gid 1000 */
    CRED_BOB,        /* uid 1001 gid 1000: alice's group */
    CRED_EVE,        /* uid 1002 gid 1002, supplementary group 1000 */
};

/*
 * Field pickers: one byte each.
 * handle:  < 0xf0: byte % 8 (0 is never valid); else 4 more bytes, raw.
 * name:    < 0xe0: fuzz_names[byte % FUZZ_N_NAMES]; else (byte & 0x1f)
 *          raw bytes follow.
 * timeout: byte % 5: 0 try, 1 forever, 2 1..1024 us, 3 -7, 4 10 s.
 */
enum fuzz_name {
    NAME_A, NAME_B, NAME_LK, NAME_CV, NAME_SEM, NAME_EV,
    NAME_EMPTY,      /* invalid: empty */
    NAME_BAD_UTF8,   /* invalid: "\xff\xfe" */
    NAME_NUL,        /* invalid: "a\0b" */
    NAME_255,        /* 255 x: valid unless max_name is lower */
    NAME_256,        /* 256 y: always too long */
    NAME_UTF8,       /* "\u00e9t\u00e9": valid, multibyte */
    NAME_9,          /* "123456789": above PROFILE_TIGHT's max_name */
    FUZZ_N_NAMES
};

/* mode: byte < 0xf0 indexes FUZZ_MODES; else 4 more bytes, raw. */
#define FUZZ_MODES {0, 0600, 0660, 0666, 0640, 0604, 0006, 0777, 0060, 0400}
enum fuzz_mode { MODE_DEFAULT, MODE_600, MODE_660, MODE_666, MODE_640,
                 MODE_604, MODE_006, MODE_777, MODE_060, MODE_400 };
#define FUZZ_NAME_RAW 0xe0
#define FUZZ_HANDLE_RAW 0xf0

#define FUZZ_T_TRY 0
#define FUZZ_T_FOREVER 1
#define FUZZ_T_SHORT 2

/* ---- decoding (fuzz_program.c) ------------------------------------------ */

/* The unread rest of an input.  Reads past the end give 0. */
struct fuzz_cur {
    const uint8_t *p;
    size_t n;
};

uint8_t fuzz_u8(struct fuzz_cur *c);
/* Four bytes, big-endian. */
uint32_t fuzz_u32(struct fuzz_cur *c);
/* Up to want bytes of the input, borrowed; *got tells how many. */
const uint8_t *fuzz_take(struct fuzz_cur *c, size_t want, size_t *got);

/* Fill the pickers' long names; once, before any build. */
void fuzz_program_init(void);

/* One Request in caller storage: every sub-message it may point to, and
 * room for a string picked raw.  Bytes fields borrow the input. */
struct req_msg {
    Syncd__Request rq;
    Syncd__Hello hello;
    Syncd__Open open;
    Syncd__Close close;
    Syncd__Unlink unlink;
    Syncd__Acquire acquire;
    Syncd__Release release;
    Syncd__Query query;
    Syncd__EventSet event_set;
    Syncd__EventClear event_clear;
    Syncd__EventWait event_wait;
    Syncd__CondWait cond_wait;
    Syncd__CondNotify cond_notify;
    Syncd__BarrierWait barrier_wait;
    Syncd__BarrierReset barrier_reset;
    Syncd__BarrierAbort barrier_abort;
    Syncd__Status status;
    Syncd__ListObjects list_objects;
    Syncd__ShowObject show_object;
    Syncd__ListClients list_clients;
    Syncd__Cancel cancel;
    Syncd__BarrierActionDone barrier_action_done;
    Syncd__Reclaim reclaim;
    char sbuf[40];
};

/* Read an op and its fields at c into m (id left 0). */
void fuzz_request_build(struct fuzz_cur *c, struct req_msg *m);
/* Print m on one line: enough to rewrite it as a regression test. */
void fuzz_request_trace(FILE *out, int client, const struct req_msg *m);

#endif
