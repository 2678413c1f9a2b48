/*
 * make_corpus.c: writes the seed corpus of the fuzz targets with the
 * project's own encoders: requests through the client's sync__wire_encode,
 * replies through the daemon's codec_encode_reply(_alloc), and
 * fuzz_dispatch programs in the format of fuzz_program.h.
 *
 *   make_corpus DIR    writes DIR/fuzz_frame, DIR/fuzz_client_reply,
 *                      DIR/fuzz_syncctl_output and DIR/fuzz_dispatch
 *                      (created if missing)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "codec.h"
#include "frame.h"
#include "fuzz_program.h"
#include "internal.h"

struct buf {
    uint8_t b[8192];
    size_t n;
};

static const char *out_dir;

static void put(struct buf *b, const void *p, size_t n)
{
    if (b->n + n > sizeof(b->b)) {
        fprintf(stderr, "make_corpus: seed too big\n");
        exit(1);
    }
    if (n > 0)
        memcpy(b->b + b->n, p, n);
    b->n += n;
}

static void put8(struct buf *b, unsigned v)
{
    uint8_t c = (uint8_t)v;

    put(b, &c, 1);
}

static void write_seed(const char *target, const char *name,
                       const struct buf *b)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", out_dir, target);
    if (mkdir(path, 0755) != 0 && errno != EEXIST) {
        perror(path);
        exit(1);
    }
    snprintf(path, sizeof(path), "%s/%s/%s", out_dir, target, name);
    f = fopen(path, "wb");
    if (f == NULL || fwrite(b->b, 1, b->n, f) != b->n || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
}

/* ---- fuzz_frame: request streams --------------------------------------- */

static uint64_t next_id = 1;

static void req(struct buf *b, const struct sync__request *r)
{
    uint8_t frame[1024];
    size_t n = sync__wire_encode(r, next_id++, frame, sizeof(frame));

    if (n == 0) {
        fprintf(stderr, "make_corpus: request does not fit\n");
        exit(1);
    }
    put(b, frame, n);
}

/* Header of a fuzz_frame / fuzz_client_reply input. */
static void stream_head(struct buf *b, unsigned max_byte, size_t n_cuts,
                        const uint8_t *cuts)
{
    b->n = 0;
    put8(b, max_byte);
    put8(b, (unsigned)n_cuts);
    put(b, cuts, n_cuts);
}

static void frame_seeds(void)
{
    static const char long_name[] =
        "a-name-of-two-hundred-and-fifty-five-bytes-xxxxxxxxxxxxxxxxxxxxxxx"
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";
    static const uint8_t cuts3[] = {1, 5, 2}, cuts8[] = {0, 1, 2, 3,
                                                         4, 5, 6, 7};
    struct sync__request r;
    struct buf b;
    enum wire_op op;

    /* One Hello, whole. */
    stream_head(&b, 0x80 | 0x7f, 0, NULL);
    r = (struct sync__request){.op = OP_HELLO, .client_name = "seed"};
    req(&b, &r);
    write_seed("fuzz_frame", "hello", &b);

    /* A lock's life, cut in three places. */
    stream_head(&b, 0xff, 3, cuts3);
    req(&b, &r);
    r = (struct sync__request){.op = OP_OPEN, .type = WIRE_TYPE_LOCK,
                               .name = "lk", .mode = 0600};
    req(&b, &r);
    r = (struct sync__request){.op = OP_ACQUIRE, .handle = 1,
                               .timeout_us = -1, .thread = 7};
    req(&b, &r);
    r = (struct sync__request){.op = OP_RELEASE, .handle = 1,
                               .thread = 7};
    req(&b, &r);
    write_seed("fuzz_frame", "lock_cut", &b);

    /* Every op once, in small pieces. */
    stream_head(&b, 0x80 | 0x7f, 8, cuts8);
    for (op = OP_HELLO; op <= OP_LIST_CLIENTS; op++) {
        r = (struct sync__request){.op = op, .handle = 2, .n = 3,
                                   .timeout_us = 1500, .thread = 1,
                                   .value = 2, .all = true,
                                   .type = WIRE_TYPE_CONDITION, .name = "cv",
                                   .lock_name = "lk", .flags = 1,
                                   /* the fields that used to share the
                                      ones above, as they were sent */
                                   .pid = 2, .client_name = "cv",
                                   .pattern = "lk", .after_name = "cv",
                                   .after_id = 1, .limit = 3,
                                   .max_waiters = 3};
        req(&b, &r);
    }
    write_seed("fuzz_frame", "all_ops", &b);

    /* A name of 255 bytes (max_frame 512). */
    stream_head(&b, 0x80 | 0x3f, 0, NULL);
    r = (struct sync__request){.op = OP_OPEN, .type = WIRE_TYPE_EVENT,
                               .name = long_name};
    req(&b, &r);
    write_seed("fuzz_frame", "long_name", &b);

    /* A length above max_frame (16), then a zero length. */
    stream_head(&b, 15, 0, NULL);
    r = (struct sync__request){.op = OP_SHOW_OBJECT, .name = "sem",
                               .max_waiters = 5};
    req(&b, &r);
    write_seed("fuzz_frame", "too_big", &b);
    stream_head(&b, 0x7f, 1, cuts3);
    put(&b, "\0\0\0\0", 4);
    write_seed("fuzz_frame", "empty", &b);
}

/* ---- fuzz_client_reply: reply streams ---------------------------------- */

static void reply(struct buf *b, const struct reply *rp)
{
    uint8_t frame[512], *heap;
    size_t n = codec_encode_reply(rp, frame, sizeof(frame));

    if (n > 0) {
        put(b, frame, n);
        return;
    }
    heap = codec_encode_reply_alloc(rp, &n);
    if (heap == NULL) {
        fprintf(stderr, "make_corpus: out of memory\n");
        exit(1);
    }
    put(b, heap, n);
    free(heap);
}

/* fuzz_syncctl_output takes one ServerMessage without its frame header. */
static void output_seed(const char *name, const struct reply *rp)
{
    struct buf framed = {.n = 0}, raw = {.n = 0};

    reply(&framed, rp);
    put(&raw, framed.b + FRAME_HEADER_SIZE, framed.n - FRAME_HEADER_SIZE);
    write_seed("fuzz_syncctl_output", name, &raw);
}

static void reply_seeds(void)
{
    static const uint8_t cuts[] = {3, 1, 9};
    struct party_info holder = {.session_id = 2, .pid = 42, .uid = 1000,
                                .client_name = "worker", .thread = 7,
                                .for_ms = 12, .token = 3, .depth = 2};
    struct object_info obj = {.name = "cv", .type = OBJECT_CONDITION,
                              .value = 1, .n_waiting = 1, .handles = 2,
                              .uid = 1000, .gid = 1000, .mode = 0660,
                              .lock_name = "lk", .tokens = 3,
                              .holders = &holder, .n_holders = 1,
                              .waiters = &holder, .n_waiters = 1};
    struct object_list list = {.v = &obj, .n = 1, .more = true};
    struct client_info client = {.session_id = 2, .pid = 42, .uid = 1000,
                                 .gid = 1000, .client_name = "worker",
                                 .connected_ms = 5, .handles = 1,
                                 .held = 1};
    struct client_list clients = {.v = &client, .n = 1};
    struct status_info st = {.pid = 1, .uptime_ms = 99,
                             .socket = "/run/syncd/syncd.sock",
                             .clients = 1, .objects = 2,
                             .limits = SYNCD_DEFAULT_LIMITS,
                             .requests = 10};
    struct reply rp;
    struct buf b;

    /* What a connection sees: hello, open, acquire, query, an error. */
    stream_head(&b, 0x80, 3, cuts);
    rp = (struct reply){.id = 1, .kind = REPLY_HELLO,
                        .u.hello = {.version = 2, .server_pid = 4242,
                                    .max_frame = 65536, .session_id = 3,
                                    .caps = WIRE_CAP_OWNERSHIP |
                                            WIRE_CAP_BARRIER_ACTION,
                                    .epoch = 5}};
    reply(&b, &rp);
    rp = (struct reply){.id = 2, .kind = REPLY_OPEN,
                        .u.open = {.handle = 1, .created = true}};
    reply(&b, &rp);
    rp = (struct reply){.id = 3, .kind = REPLY_ACQUIRE,
                        .u.acquire = {.token = 9, .owner_died = true,
                                      .index = 1, .run_action = true}};
    reply(&b, &rp);
    rp = (struct reply){.id = 4, .kind = REPLY_QUERY,
                        .u.query = {.value = -1, .n_waiting = 2,
                                    .parties = 3, .broken = true}};
    reply(&b, &rp);
    rp = (struct reply){.id = 5, .code = SYNC_ETIMEDOUT,
                        .message = "timed out"};
    reply(&b, &rp);
    write_seed("fuzz_client_reply", "session", &b);

    /* A connection-level error (id 0), with the daemon's small limit. */
    stream_head(&b, 0x7f, 0, NULL);
    rp = (struct reply){.id = 0, .code = SYNC_EPROTO,
                        .message = "zero-length frame"};
    reply(&b, &rp);
    write_seed("fuzz_client_reply", "fatal", &b);

    /* Inspection replies, one per file. */
    stream_head(&b, 0x80, 0, NULL);
    rp = (struct reply){.id = 6, .kind = REPLY_STATUS, .u.status = &st};
    reply(&b, &rp);
    write_seed("fuzz_client_reply", "status", &b);
    output_seed("status", &rp);
    stream_head(&b, 0x80, 0, NULL);
    rp = (struct reply){.id = 7, .kind = REPLY_LIST, .u.list = &list};
    reply(&b, &rp);
    write_seed("fuzz_client_reply", "list", &b);
    output_seed("list", &rp);
    stream_head(&b, 0x80, 0, NULL);
    rp = (struct reply){.id = 8, .kind = REPLY_OBJECT, .u.object = &obj};
    reply(&b, &rp);
    write_seed("fuzz_client_reply", "object", &b);
    output_seed("object", &rp);
    stream_head(&b, 0x80, 0, NULL);
    rp = (struct reply){.id = 9, .kind = REPLY_CLIENTS,
                        .u.clients = &clients};
    reply(&b, &rp);
    write_seed("fuzz_client_reply", "clients", &b);
    output_seed("clients", &rp);
}

/* ---- fuzz_dispatch: programs -------------------------------------------- */

#define ACT(kind, client) ((unsigned)(client) << 4 | (kind))
#define T_SHORT(us) (FUZZ_T_SHORT + 5 * (((us) - 1) / 20)) /* us <= 1020 */

/* Header: n clients, which say Hello on connect, profile, credentials. */
static void prog(struct buf *b, int n, unsigned hello_mask,
                 enum fuzz_profile profile, unsigned creds)
{
    b->n = 0;
    put8(b, (unsigned)(n - 1) | hello_mask << 2 | (unsigned)profile << 6);
    put8(b, creds);
}

static void run(struct buf *b)
{
    put8(b, ACT(ACT_RUN, 0));
}

static void op(struct buf *b, int client, enum wire_op o)
{
    put8(b, ACT(ACT_REQUEST, client));
    put8(b, o);
}

static void open_obj(struct buf *b, int client, enum fuzz_name name,
                     enum wire_type type, unsigned value, unsigned flags,
                     int lock_name, enum fuzz_mode mode)
{
    op(b, client, OP_OPEN);
    put8(b, name);
    put8(b, type);
    put8(b, value);
    put8(b, flags);
    if (lock_name < 0) {
        put8(b, 0);
    } else {
        put8(b, 0x80);
        put8(b, (unsigned)lock_name);
    }
    put8(b, mode);
}

/* acquire, event wait, barrier wait, cond wait: handle, timeout(, thread) */
static void wait_op(struct buf *b, int client, enum wire_op o,
                    unsigned handle, unsigned timeout, unsigned thread)
{
    op(b, client, o);
    put8(b, handle);
    put8(b, timeout);
    /* The third byte: the thread, or whether a barrier party offers to
     * run the action. */
    if (o == OP_ACQUIRE || o == OP_COND_WAIT || o == OP_BARRIER_WAIT)
        put8(b, thread);
}

static void release(struct buf *b, int client, unsigned handle, unsigned n,
                    unsigned thread)
{
    op(b, client, OP_RELEASE);
    put8(b, handle);
    put8(b, n);
    put8(b, thread);
}

static void handle_op(struct buf *b, int client, enum wire_op o,
                      unsigned handle)
{
    op(b, client, o);
    put8(b, handle);
    /* Query.thread; BarrierActionDone.failed: 0. */
    if (o == OP_QUERY || o == OP_BARRIER_ACTION_DONE)
        put8(b, 0);
}

/* BarrierActionDone through handle: failed or done. */
static void action_done(struct buf *b, int client, unsigned handle,
                        unsigned failed)
{
    op(b, client, OP_BARRIER_ACTION_DONE);
    put8(b, handle);
    put8(b, failed);
}

static void sleep_ms(struct buf *b, unsigned step)
{
    put8(b, ACT(ACT_SLEEP, 0));
    put8(b, step); /* index into 1, 2, 3, 5, 10, 100, 1000, 10001 ms */
}

static void lock_programs(void)
{
    struct buf b;

    /* Hand-off, owner death, RLock depth, deadlock refused. */
    prog(&b, 2, 3, PROFILE_ROOMY, 0);
    open_obj(&b, 0, NAME_LK, WIRE_TYPE_LOCK, 0, 0, -1, MODE_DEFAULT);
    open_obj(&b, 1, NAME_LK, WIRE_TYPE_LOCK, 0, 0, -1, MODE_DEFAULT);
    run(&b);
    wait_op(&b, 0, OP_ACQUIRE, 1, FUZZ_T_FOREVER, 0);
    wait_op(&b, 1, OP_ACQUIRE, 1, FUZZ_T_FOREVER, 0);
    run(&b);
    release(&b, 0, 1, 1, 0);
    run(&b);
    handle_op(&b, 0, OP_QUERY, 1);
    put8(&b, ACT(ACT_CLOSE, 1));
    run(&b);
    write_seed("fuzz_dispatch", "lock_handoff_death", &b);

    prog(&b, 2, 3, PROFILE_ROOMY, 0);
    open_obj(&b, 0, NAME_A, WIRE_TYPE_RLOCK, 0, 0, -1, MODE_DEFAULT);
    open_obj(&b, 0, NAME_B, WIRE_TYPE_LOCK, 0, 0, -1, MODE_DEFAULT);
    open_obj(&b, 1, NAME_A, WIRE_TYPE_RLOCK, 0, 0, -1, MODE_DEFAULT);
    open_obj(&b, 1, NAME_B, WIRE_TYPE_LOCK, 0, 0, -1, MODE_DEFAULT);
    run(&b);
    wait_op(&b, 0, OP_ACQUIRE, 1, FUZZ_T_FOREVER, 1);
    wait_op(&b, 0, OP_ACQUIRE, 1, FUZZ_T_TRY, 1);
    wait_op(&b, 1, OP_ACQUIRE, 2, FUZZ_T_FOREVER, 2);
    run(&b);
    wait_op(&b, 0, OP_ACQUIRE, 2, T_SHORT(500), 1);
    run(&b);
    wait_op(&b, 1, OP_ACQUIRE, 1, FUZZ_T_FOREVER, 2);
    run(&b);
    sleep_ms(&b, 2);
    release(&b, 0, 1, 1, 3);
    release(&b, 0, 1, 1, 1);
    run(&b);
    write_seed("fuzz_dispatch", "rlock_deadlock", &b);
}

static void sem_event_programs(void)
{
    struct buf b;

    /* Semaphore with undo, a short wait that expires, a bounded one
     * released too often, a client dying with permits. */
    prog(&b, 2, 3, PROFILE_ROOMY, 0);
    open_obj(&b, 0, NAME_SEM, WIRE_TYPE_SEMAPHORE, 2, 1, -1, MODE_DEFAULT);
    open_obj(&b, 1, NAME_SEM, WIRE_TYPE_SEMAPHORE, 2, 0, -1, MODE_DEFAULT);
    open_obj(&b, 1, NAME_B, WIRE_TYPE_BOUNDED_SEMAPHORE, 1, 0, -1, MODE_DEFAULT);
    run(&b);
    wait_op(&b, 0, OP_ACQUIRE, 1, FUZZ_T_TRY, 0);
    wait_op(&b, 0, OP_ACQUIRE, 1, FUZZ_T_FOREVER, 0);
    wait_op(&b, 1, OP_ACQUIRE, 1, T_SHORT(1000), 0);
    run(&b);
    sleep_ms(&b, 3);
    release(&b, 1, 2, 1, 0);
    handle_op(&b, 1, OP_QUERY, 1);
    put8(&b, ACT(ACT_CLOSE, 0));
    run(&b);
    handle_op(&b, 1, OP_QUERY, 1);
    run(&b);
    write_seed("fuzz_dispatch", "semaphore_undo", &b);

    /* Event: waiters released by set, a timed wait after clear. */
    prog(&b, 3, 7, PROFILE_ROOMY, 0);
    open_obj(&b, 0, NAME_EV, WIRE_TYPE_EVENT, 0, 0, -1, MODE_DEFAULT);
    open_obj(&b, 1, NAME_EV, WIRE_TYPE_EVENT, 0, 0, -1, MODE_DEFAULT);
    open_obj(&b, 2, NAME_EV, WIRE_TYPE_EVENT, 0, 0, -1, MODE_DEFAULT);
    run(&b);
    wait_op(&b, 1, OP_EVENT_WAIT, 1, FUZZ_T_FOREVER, 0);
    wait_op(&b, 2, OP_EVENT_WAIT, 1, FUZZ_T_FOREVER, 0);
    run(&b);
    handle_op(&b, 0, OP_EVENT_SET, 1);
    run(&b);
    handle_op(&b, 0, OP_EVENT_CLEAR, 1);
    wait_op(&b, 1, OP_EVENT_WAIT, 1, 4 /* 10 s */, 0);
    run(&b);
    sleep_ms(&b, 7);
    write_seed("fuzz_dispatch", "event", &b);
}

static void cond_barrier_programs(void)
{
    struct buf b;

    /* Condition on a named lock: wait, notify, a timed wait that comes
     * back holding the lock, the waiter's client dying. */
    prog(&b, 2, 3, PROFILE_ROOMY, 0);
    open_obj(&b, 0, NAME_CV, WIRE_TYPE_CONDITION, 0, 0, NAME_LK, MODE_DEFAULT);
    open_obj(&b, 1, NAME_CV, WIRE_TYPE_CONDITION, 0, 0, NAME_LK, MODE_DEFAULT);
    run(&b);
    wait_op(&b, 0, OP_ACQUIRE, 1, FUZZ_T_FOREVER, 0);
    wait_op(&b, 0, OP_COND_WAIT, 1, FUZZ_T_FOREVER, 0);
    run(&b);
    wait_op(&b, 1, OP_ACQUIRE, 1, FUZZ_T_FOREVER, 0);
    op(&b, 1, OP_COND_NOTIFY);
    put8(&b, 1);
    put8(&b, 1);
    put8(&b, 0);
    put8(&b, 0);
    release(&b, 1, 1, 1, 0);
    run(&b);
    wait_op(&b, 0, OP_COND_WAIT, 1, T_SHORT(300), 0);
    run(&b);
    sleep_ms(&b, 1);
    put8(&b, ACT(ACT_CLOSE, 0));
    run(&b);
    write_seed("fuzz_dispatch", "condition", &b);

    /* Barrier of 2 passes; of 3 breaks on timeout, then reset, abort. */
    prog(&b, 3, 7, PROFILE_ROOMY, 0);
    open_obj(&b, 0, NAME_B, WIRE_TYPE_BARRIER, 2, 0, -1, MODE_DEFAULT);
    open_obj(&b, 1, NAME_B, WIRE_TYPE_BARRIER, 2, 0, -1, MODE_DEFAULT);
    open_obj(&b, 2, NAME_A, WIRE_TYPE_BARRIER, 3, 0, -1, MODE_DEFAULT);
    run(&b);
    wait_op(&b, 0, OP_BARRIER_WAIT, 1, FUZZ_T_FOREVER, 0);
    wait_op(&b, 1, OP_BARRIER_WAIT, 1, FUZZ_T_FOREVER, 0);
    wait_op(&b, 2, OP_BARRIER_WAIT, 1, T_SHORT(100), 0);
    run(&b);
    sleep_ms(&b, 2);
    handle_op(&b, 2, OP_QUERY, 1);
    handle_op(&b, 2, OP_BARRIER_RESET, 1);
    wait_op(&b, 2, OP_BARRIER_WAIT, 1, FUZZ_T_FOREVER, 0);
    run(&b);
    handle_op(&b, 0, OP_BARRIER_ABORT, 1);
    run(&b);
    write_seed("fuzz_dispatch", "barrier", &b);

    /* Barrier of 3 with actions: the offering party runs it, reports done;
     * a stranger's report; arrivals during the action; a failed action;
     * then the acting client dies mid-action. */
    prog(&b, 4, 15, PROFILE_ROOMY, 0);
    for (int i = 0; i < 4; i++)
        open_obj(&b, i, NAME_B, WIRE_TYPE_BARRIER, 3, 0, -1, MODE_DEFAULT);
    run(&b);
    wait_op(&b, 0, OP_BARRIER_WAIT, 1, FUZZ_T_FOREVER, 1);
    wait_op(&b, 1, OP_BARRIER_WAIT, 1, FUZZ_T_FOREVER, 0);
    wait_op(&b, 2, OP_BARRIER_WAIT, 1, FUZZ_T_FOREVER, 0);
    run(&b);
    action_done(&b, 3, 1, 0);
    wait_op(&b, 3, OP_BARRIER_WAIT, 1, FUZZ_T_FOREVER, 1);
    run(&b);
    action_done(&b, 0, 1, 0);
    run(&b);
    wait_op(&b, 1, OP_BARRIER_WAIT, 1, T_SHORT(500), 1);
    wait_op(&b, 2, OP_BARRIER_WAIT, 1, FUZZ_T_FOREVER, 1);
    run(&b);
    action_done(&b, 2, 1, 1);
    handle_op(&b, 0, OP_QUERY, 1);
    handle_op(&b, 0, OP_BARRIER_RESET, 1);
    wait_op(&b, 0, OP_BARRIER_WAIT, 1, FUZZ_T_FOREVER, 1);
    wait_op(&b, 1, OP_BARRIER_WAIT, 1, FUZZ_T_FOREVER, 1);
    wait_op(&b, 2, OP_BARRIER_WAIT, 1, T_SHORT(100), 1);
    run(&b);
    put8(&b, ACT(ACT_CLOSE, 2));
    run(&b);
    sleep_ms(&b, 2);
    write_seed("fuzz_dispatch", "barrier_action", &b);
}

static void inspect_programs(void)
{
    struct buf b;

    prog(&b, 2, 3, PROFILE_DEFAULT, 0);
    open_obj(&b, 0, NAME_LK, WIRE_TYPE_LOCK, 0, 0, -1, MODE_DEFAULT);
    open_obj(&b, 0, NAME_CV, WIRE_TYPE_CONDITION, 0, 0, -1, MODE_DEFAULT);
    wait_op(&b, 0, OP_ACQUIRE, 1, FUZZ_T_FOREVER, 0);
    open_obj(&b, 1, NAME_LK, WIRE_TYPE_LOCK, 0, 0, -1, MODE_DEFAULT);
    wait_op(&b, 1, OP_ACQUIRE, 1, FUZZ_T_FOREVER, 0);
    run(&b);
    op(&b, 1, OP_STATUS);
    op(&b, 1, OP_LIST_OBJECTS);
    put8(&b, 1); /* pattern "*" */
    put8(&b, 0); /* no after */
    put8(&b, 0); /* default page */
    op(&b, 1, OP_SHOW_OBJECT);
    put8(&b, NAME_LK);
    put8(&b, 10);
    op(&b, 1, OP_LIST_CLIENTS);
    put8(&b, 0);
    put8(&b, 1);
    run(&b);
    write_seed("fuzz_dispatch", "inspect", &b);
}

static void access_limit_programs(void)
{
    struct buf b;

    /* alice creates 0600 and 0660 objects; bob (her group) and eve (in
     * the group as a supplementary) try them; root sees all. */
    prog(&b, 4, 15, PROFILE_ROOMY,
         CRED_ALICE | CRED_BOB << 2 | CRED_EVE << 4 | CRED_ROOT << 6);
    open_obj(&b, 0, NAME_A, WIRE_TYPE_LOCK, 0, 0, -1, MODE_600);
    open_obj(&b, 0, NAME_B, WIRE_TYPE_SEMAPHORE, 1, 0, -1, MODE_640);
    run(&b);
    open_obj(&b, 1, NAME_A, WIRE_TYPE_LOCK, 0, 0, -1, MODE_DEFAULT);
    open_obj(&b, 1, NAME_B, WIRE_TYPE_SEMAPHORE, 1, 0, -1, MODE_DEFAULT);
    open_obj(&b, 2, NAME_B, WIRE_TYPE_SEMAPHORE, 1, 0, -1, MODE_DEFAULT);
    open_obj(&b, 3, NAME_A, WIRE_TYPE_LOCK, 0, 0, -1, MODE_DEFAULT);
    run(&b);
    wait_op(&b, 1, OP_ACQUIRE, 1, FUZZ_T_TRY, 0);
    handle_op(&b, 1, OP_QUERY, 1);
    op(&b, 1, OP_UNLINK);
    put8(&b, NAME_A);
    op(&b, 3, OP_UNLINK);
    put8(&b, NAME_A);
    run(&b);
    write_seed("fuzz_dispatch", "access", &b);

    /* Tight limits: a refused 3rd/4th client, too many objects, handles,
     * waits, a long name; then a SIGHUP back to roomy limits. */
    prog(&b, 4, 15, PROFILE_TIGHT, 0);
    open_obj(&b, 0, NAME_A, WIRE_TYPE_LOCK, 0, 0, -1, MODE_DEFAULT);
    open_obj(&b, 0, NAME_CV, WIRE_TYPE_CONDITION, 0, 0, -1, MODE_DEFAULT);
    open_obj(&b, 0, NAME_B, WIRE_TYPE_EVENT, 0, 0, -1, MODE_DEFAULT);
    open_obj(&b, 0, NAME_9, WIRE_TYPE_EVENT, 0, 0, -1, MODE_DEFAULT);
    run(&b);
    open_obj(&b, 1, NAME_A, WIRE_TYPE_LOCK, 0, 0, -1, MODE_DEFAULT);
    wait_op(&b, 1, OP_ACQUIRE, 1, FUZZ_T_FOREVER, 0);
    wait_op(&b, 0, OP_ACQUIRE, 1, FUZZ_T_FOREVER, 0);
    wait_op(&b, 0, OP_ACQUIRE, 1, FUZZ_T_FOREVER, 1);
    run(&b);
    put8(&b, ACT(ACT_LIMITS, 0));
    put8(&b, PROFILE_ROOMY);
    open_obj(&b, 0, NAME_B, WIRE_TYPE_EVENT, 0, 0, -1, MODE_DEFAULT);
    run(&b);
    write_seed("fuzz_dispatch", "limits", &b);
}

static void misbehave_programs(void)
{
    struct buf b;

    /* No hello; a bad version; garbage; an empty frame; a partial
     * header then death; a half-close; a reconnect. */
    prog(&b, 4, 0, PROFILE_ROOMY, 0);
    handle_op(&b, 0, OP_QUERY, 1);
    op(&b, 1, OP_HELLO);
    put8(&b, 0xff); /* version 2 */
    put8(&b, 0);
    put8(&b, ACT(ACT_RAW_FRAME, 2));
    put8(&b, 3);
    put(&b, "\x08\x01\xff", 3);
    put8(&b, ACT(ACT_RAW_FRAME, 3));
    put8(&b, 0);
    run(&b);
    put8(&b, ACT(ACT_RECONNECT, 0));
    op(&b, 0, OP_HELLO);
    put8(&b, 0);
    put8(&b, 2); /* a client name with control bytes */
    op(&b, 0, OP_HELLO); /* twice */
    put8(&b, 0);
    put8(&b, 0);
    put8(&b, ACT(ACT_RAW_BYTES, 0));
    put8(&b, 2);
    put(&b, "\0\0", 2);
    run(&b);
    put8(&b, ACT(ACT_SHUT_WR, 0));
    run(&b);
    write_seed("fuzz_dispatch", "misbehave", &b);

    /* A client that stops reading under a tiny write backlog. */
    prog(&b, 1, 1, PROFILE_BACKLOG, 0);
    put8(&b, ACT(ACT_PAUSE, 0));
    for (int i = 0; i < 4; i++) {
        for (int j = 0; j < 40; j++)
            op(&b, 0, OP_STATUS);
        run(&b);
    }
    write_seed("fuzz_dispatch", "backlog", &b);
}

/* A client's move on its lock cache page (ACT_PAGE): op, slot, word. */
static void page_op(struct buf *b, int client, unsigned o, unsigned slot,
                    uint64_t word)
{
    put8(b, ACT(ACT_PAGE, client));
    put8(b, o);
    put8(b, slot);
    put(b, (const char *)&word, 8);
}

static void lockcache_programs(void)
{
    struct buf b;

    /* Client 1 (version 2, lock caching) takes lock A twice: lent.  It
     * releases and re-takes it in its page, then client 0 asks (the
     * daemon takes it back while held), client 1 releases through the
     * daemon, re-takes twice, scribbles on its word and dies. */
    prog(&b, 2, 3, PROFILE_ROOMY, 0);
    open_obj(&b, 1, NAME_A, WIRE_TYPE_LOCK, 0, 0, -1, MODE_DEFAULT);
    open_obj(&b, 0, NAME_A, WIRE_TYPE_LOCK, 0, 0, -1, MODE_DEFAULT);
    run(&b);
    wait_op(&b, 1, OP_ACQUIRE, 1, FUZZ_T_TRY, 1);
    release(&b, 1, 1, 1, 1);
    wait_op(&b, 1, OP_ACQUIRE, 1, FUZZ_T_TRY, 1);
    run(&b);
    page_op(&b, 1, 2, 1, 0);
    page_op(&b, 1, 1, 1, 0);
    wait_op(&b, 0, OP_ACQUIRE, 1, FUZZ_T_FOREVER, 2);
    run(&b);
    release(&b, 1, 1, 1, 1);
    run(&b);
    release(&b, 0, 1, 1, 2);
    wait_op(&b, 1, OP_ACQUIRE, 1, FUZZ_T_TRY, 1);
    release(&b, 1, 1, 1, 1);
    wait_op(&b, 1, OP_ACQUIRE, 1, FUZZ_T_TRY, 1);
    run(&b);
    page_op(&b, 1, 0, 2, 0xffffffffffffffffull);
    handle_op(&b, 0, OP_QUERY, 1);
    put8(&b, ACT(ACT_CLOSE, 1));
    wait_op(&b, 0, OP_ACQUIRE, 1, FUZZ_T_FOREVER, 2);
    run(&b);
    write_seed("fuzz_dispatch", "lockcache", &b);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: make_corpus DIR\n");
        return 2;
    }
    out_dir = argv[1];
    if (mkdir(out_dir, 0755) != 0 && errno != EEXIST) {
        perror(out_dir);
        return 1;
    }
    frame_seeds();
    reply_seeds();
    lock_programs();
    sem_event_programs();
    cond_barrier_programs();
    inspect_programs();
    access_limit_programs();
    misbehave_programs();
    lockcache_programs();
    return 0;
}
