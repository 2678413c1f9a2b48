/*
 * wire.h: the protocol's numbers, the one place the daemon, libsyncclient
 * and syncctl take them from: the version, the object types, the ops (in
 * Request.op order, with their field numbers and whether the hand-written
 * fast path carries them) and every field the fast path writes by number.
 * syncd.proto is the schema; fastwire.c checks these numbers against the
 * protobuf-c generated constants at compile time, tests/unit/test_wire.c
 * the field numbers against the generated descriptors.
 */
#ifndef SYNCD_WIRE_H
#define SYNCD_WIRE_H

#include <stdbool.h>
#include <stdint.h>

/* Hello.version / HelloResult.version this code speaks.  The daemon also
 * serves WIRE_PROTOCOL_VERSION_MIN..: a version-1 Hello is answered as
 * version 1 did (version 1, no capabilities, epoch or grace). */
#define WIRE_PROTOCOL_VERSION 2
#define WIRE_PROTOCOL_VERSION_MIN 1

/*
 * Capability bits (Hello.capabilities: offered by the client;
 * HelloResult.capabilities: granted = offered AND supported by the daemon).
 * A bit is granted only when the daemon has its code; a client uses a
 * feature only when its bit was granted.  Reserved here for every issue.
 */
#define WIRE_CAP_RECLAIM (1u << 0)        /* reclaim holds after a restart */
#define WIRE_CAP_OWNERSHIP (1u << 1)      /* Query.thread; QueryResult.depth,
                                             lock_held */
#define WIRE_CAP_BARRIER_ACTION (1u << 2) /* barrier action */
#define WIRE_CAP_LOCK_CACHE (1u << 3)     /* client-side lock caching */
#define WIRE_CAP_CLUSTER (1u << 4)        /* etcd cluster/ names */

/* XX(NAME, name): ObjectType values 1.. in order (NAME as in syncd.proto). */
#define WIRE_TYPE_MAP(XX)                                                     \
    XX(LOCK, lock)                                                            \
    XX(RLOCK, rlock)                                                          \
    XX(SEMAPHORE, semaphore)                                                  \
    XX(BOUNDED_SEMAPHORE, bounded_semaphore)                                  \
    XX(EVENT, event)                                                          \
    XX(CONDITION, condition)                                                  \
    XX(BARRIER, barrier)

enum wire_type {
    WIRE_TYPE_UNSPECIFIED = 0,
#define WIRE_TYPE_ENUM(NAME, name) WIRE_TYPE_##NAME,
    WIRE_TYPE_MAP(WIRE_TYPE_ENUM)
#undef WIRE_TYPE_ENUM
};

/*
 * XX(NAME, name, fast): the ops, in the order of Request's oneof: op
 * OP_<NAME> is Request field OP_<NAME> + WIRE_OP_FIRST_FIELD, named <name>
 * there.  fast: its message has integer fields only, so fastwire.c encodes
 * and decodes it.  Append only: the daemon's counters (Counters.
 * requests_by_op) and the fuzz corpus index by op.
 */
#define WIRE_OP_MAP(XX)                                                       \
    XX(HELLO, hello, false)                                                   \
    XX(OPEN, open, false)                                                     \
    XX(CLOSE, close, true)                                                    \
    XX(UNLINK, unlink, false)                                                 \
    XX(ACQUIRE, acquire, true)                                                \
    XX(RELEASE, release, true)                                                \
    XX(QUERY, query, true)                                                    \
    XX(EVENT_SET, event_set, true)                                            \
    XX(EVENT_CLEAR, event_clear, true)                                        \
    XX(EVENT_WAIT, event_wait, true)                                          \
    XX(COND_WAIT, cond_wait, true)                                            \
    XX(COND_NOTIFY, cond_notify, true)                                        \
    XX(BARRIER_WAIT, barrier_wait, true)                                      \
    XX(BARRIER_RESET, barrier_reset, true)                                    \
    XX(BARRIER_ABORT, barrier_abort, true)                                    \
    XX(STATUS, status, false)                                                 \
    XX(LIST_OBJECTS, list_objects, false)                                     \
    XX(SHOW_OBJECT, show_object, false)                                       \
    XX(LIST_CLIENTS, list_clients, false)                                     \
    XX(CANCEL, cancel, false)                                                 \
    XX(BARRIER_ACTION_DONE, barrier_action_done, true)                        \
    XX(RECLAIM, reclaim, false)

enum wire_op {
#define WIRE_OP_ENUM(NAME, name, fast) OP_##NAME,
    WIRE_OP_MAP(WIRE_OP_ENUM)
#undef WIRE_OP_ENUM
};

/* How many ops there are (apart, so that switches need no case for it). */
enum {
#define WIRE_OP_ONE(NAME, name, fast) +1
    WIRE_OP_COUNT = 0 WIRE_OP_MAP(WIRE_OP_ONE)
#undef WIRE_OP_ONE
};

/* Request field number of the first op (1 is the request id). */
#define WIRE_OP_FIRST_FIELD 2

/* The op's name as in syncd.proto ("acquire"); NULL when op is unknown. */
static inline const char *wire_op_name(uint32_t op)
{
    static const char *const names[] = {
#define WIRE_OP_NAME(NAME, name, fast) #name,
        WIRE_OP_MAP(WIRE_OP_NAME)
#undef WIRE_OP_NAME
    };

    return op < WIRE_OP_COUNT ? names[op] : NULL;
}

/* The ops the fast path (fastwire.c) carries, one bit per op. */
#define WIRE_OP_FAST_BIT(NAME, name, fast) | ((fast) ? 1ull << OP_##NAME : 0)
#define WIRE_OP_FAST_MASK (0ull WIRE_OP_MAP(WIRE_OP_FAST_BIT))
_Static_assert(WIRE_OP_COUNT <= 64, "WIRE_OP_FAST_MASK holds 64 ops");

/* Whether the fast path carries op (a decoder's hot path: one test). */
static inline bool wire_op_fast(uint32_t op)
{
    return ((WIRE_OP_FAST_MASK >> (op & 63u)) & 1u) != 0 && op < 64;
}

/*
 * XX(CONST, message, field, number): every field the fast path reads or
 * writes by number, as WIRE_<CONST> = number; message and field are the
 * names in syncd.proto (message in protobuf-c's lower-case form).  Every
 * fast op's fields are here; the fast path handles varint fields only.
 */
#define WIRE_FIELD_MAP(XX)                                                    \
    XX(REQUEST_ID, request, id, 1)                                            \
    XX(CLOSE_HANDLE, close, handle, 1)                                        \
    XX(ACQUIRE_HANDLE, acquire, handle, 1)                                    \
    XX(ACQUIRE_TIMEOUT_US, acquire, timeout_us, 2)                            \
    XX(ACQUIRE_THREAD, acquire, thread, 3)                                    \
    XX(RELEASE_HANDLE, release, handle, 1)                                    \
    XX(RELEASE_N, release, n, 2)                                              \
    XX(RELEASE_THREAD, release, thread, 3)                                    \
    XX(QUERY_HANDLE, query, handle, 1)                                        \
    XX(QUERY_THREAD, query, thread, 2)                                        \
    XX(EVENT_SET_HANDLE, event_set, handle, 1)                                \
    XX(EVENT_CLEAR_HANDLE, event_clear, handle, 1)                            \
    XX(EVENT_WAIT_HANDLE, event_wait, handle, 1)                              \
    XX(EVENT_WAIT_TIMEOUT_US, event_wait, timeout_us, 2)                      \
    XX(COND_WAIT_HANDLE, cond_wait, handle, 1)                                \
    XX(COND_WAIT_TIMEOUT_US, cond_wait, timeout_us, 2)                        \
    XX(COND_WAIT_THREAD, cond_wait, thread, 3)                                \
    XX(COND_NOTIFY_HANDLE, cond_notify, handle, 1)                            \
    XX(COND_NOTIFY_N, cond_notify, n, 2)                                      \
    XX(COND_NOTIFY_ALL, cond_notify, all, 3)                                  \
    XX(COND_NOTIFY_THREAD, cond_notify, thread, 4)                            \
    XX(BARRIER_WAIT_HANDLE, barrier_wait, handle, 1)                          \
    XX(BARRIER_WAIT_TIMEOUT_US, barrier_wait, timeout_us, 2)                  \
    XX(BARRIER_WAIT_ACTION, barrier_wait, action, 3)                          \
    XX(BARRIER_ACTION_DONE_HANDLE, barrier_action_done, handle, 1)            \
    XX(BARRIER_ACTION_DONE_FAILED, barrier_action_done, failed, 2)            \
    XX(BARRIER_RESET_HANDLE, barrier_reset, handle, 1)                        \
    XX(BARRIER_ABORT_HANDLE, barrier_abort, handle, 1)                        \
    XX(SERVER_MESSAGE_REPLY, server_message, reply, 1)                        \
    XX(REPLY_ID, reply, id, 1)                                                \
    XX(REPLY_CODE, reply, code, 2)                                            \
    XX(REPLY_ACQUIRE, reply, acquire, 6)                                      \
    XX(REPLY_QUERY, reply, query, 7)                                          \
    XX(ACQUIRE_RESULT_FENCING_TOKEN, acquire_result, fencing_token, 1)        \
    XX(ACQUIRE_RESULT_OWNER_DIED, acquire_result, owner_died, 2)              \
    XX(ACQUIRE_RESULT_INDEX, acquire_result, index, 3)                        \
    XX(ACQUIRE_RESULT_RUN_ACTION, acquire_result, run_action, 4)              \
    XX(ACQUIRE_RESULT_CACHE, acquire_result, cache, 5)                        \
    XX(QUERY_RESULT_VALUE, query_result, value, 1)                            \
    XX(QUERY_RESULT_N_WAITING, query_result, n_waiting, 2)                    \
    XX(QUERY_RESULT_PARTIES, query_result, parties, 3)                        \
    XX(QUERY_RESULT_BROKEN, query_result, broken, 4)                          \
    XX(QUERY_RESULT_DEPTH, query_result, depth, 5)                            \
    XX(QUERY_RESULT_LOCK_HELD, query_result, lock_held, 6)

enum wire_field {
#define WIRE_FIELD_ENUM(CONST, message, field, number) WIRE_##CONST = number,
    WIRE_FIELD_MAP(WIRE_FIELD_ENUM)
#undef WIRE_FIELD_ENUM
};

/* The largest field number of a fast op's or fast result's message. */
#define WIRE_FAST_MAX_FIELD 6

/* Open.flags bits. */
#define WIRE_OPEN_FLAG_UNDO 0x1u
/* Open only an existing object (SYNC_ENOENT otherwise), whatever its
 * creation parameters (value, parties, lock): for readers and for verbs on
 * an object someone else created. */
#define WIRE_OPEN_FLAG_EXISTING 0x2u
/* Create the object transient: its name is removed when its last handle
 * anywhere closes (anonymous objects, whose generated name is only how
 * other processes open them).  Ignored when the object exists. */
#define WIRE_OPEN_FLAG_TRANSIENT 0x4u
/* Lock, RLock: never lend the lock to this client through this handle
 * (lock caching off for it; sync_set_lock_cache). */
#define WIRE_OPEN_FLAG_NO_CACHE 0x8u

#endif
