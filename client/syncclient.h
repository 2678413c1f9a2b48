/*
 * syncclient.h: the public API of libsyncclient, Python's threading
 * primitives (Lock, Semaphore, BoundedSemaphore, Event) shared between
 * processes through the syncd daemon.  This is the only public header.
 *
 * Conventions
 * - Every function returning int returns 0 (or a documented non-negative
 *   value) on success and a negative SYNC_E* code on failure;
 *   sync_strerror() describes a code, sync_errname() names it.
 * - Every call is thread-safe.  One sync_client is meant to be shared by all
 *   threads of a process; calls from many threads run concurrently over its
 *   single connection, and a blocked acquire never blocks other calls.
 * - Timeouts are in seconds as a double; a negative timeout waits forever,
 *   as in Python.  The daemon enforces them on the monotonic clock, so an
 *   acquire with a timeout either acquires or times out, never both.
 * - Every call returns only after the daemon applied it: once a release or
 *   a set returns, every other client sees it.
 * - An _open that fails sets *out to NULL.  _close and sync_disconnect
 *   accept NULL.
 * - If the daemon connection is lost, pending and later calls fail with
 *   SYNC_ECONN; nothing hangs.
 *
 * Ownership and crash safety
 * - A Lock is owned by the client (connection) that acquired it: any thread
 *   of that client may release it, as in Python; another client's release
 *   is SYNC_EPERM.  When a client disconnects for any reason (exit, crash,
 *   kill -9) the daemon releases its Locks at once and hands each to the
 *   next waiter in FIFO order; that waiter's sync_lock_owner_died() is 1.
 * - Semaphores have no owner (Python semantics) unless opened with
 *   SYNC_SEM_UNDO: then permits acquired through that handle and not
 *   released through it are given back when the handle is closed or the
 *   client disconnects (System V SEM_UNDO).
 *
 * fork()
 * The connection is SOCK_CLOEXEC, and in a child created by fork() every
 * inherited sync_client is detached at once (its socket is closed in the
 * child only), so the parent's Locks still come back when the parent dies.
 * Calls on an inherited client in the child fail with SYNC_EFORKED; the child
 * must call sync_disconnect() on it (which then only frees memory) and
 * sync_connect() anew.
 */
#ifndef SYNCCLIENT_H
#define SYNCCLIENT_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(SYNC_BUILDING_LIBRARY)
#define SYNC_API __attribute__((visibility("default")))
#else
#define SYNC_API
#endif

/*
 * Every error code: name, stable number (on the wire and in syncctl exit
 * codes, so this list is append-only), message.
 */
#define SYNC_ERRNO_MAP(XX)                                                    \
    XX(ETIMEDOUT, 1, "timed out, not acquired")                               \
    XX(EPERM, 2, "operation not permitted")                                   \
    XX(EINVAL, 3, "invalid argument")                                         \
    XX(ETYPE, 4, "name exists with another object type")                      \
    XX(EEXIST, 5, "name exists with other creation parameters")               \
    XX(ENOENT, 6, "no such object")                                           \
    XX(EVALUE, 7, "value out of range (bounded semaphore released too "      \
                  "many times)")                                              \
    XX(ELIMIT, 8, "limit reached")                                            \
    XX(ECONN, 9, "no connection to the daemon")                               \
    XX(EPROTO, 10, "protocol error")                                          \
    XX(ENOMEM, 11, "out of memory")                                           \
    XX(EBADF, 12, "unknown handle")                                           \
    XX(EVERSION, 13, "protocol version not supported")                        \
    XX(EFORKED, 14, "client inherited across fork(); connect anew")           \
    XX(ESHUTDOWN, 15, "daemon is shutting down")                              \
    XX(ENAME, 16, "invalid object name")                                      \
    XX(EDEADLK, 17, "deadlock detected")                                      \
    XX(EBROKEN, 18, "barrier is broken")                                      \
    XX(EINTERNAL, 19, "internal error")

enum sync_errno {
#define SYNC_ERRNO_ENUM(name, num, msg) SYNC_##name = -(num),
    SYNC_ERRNO_MAP(SYNC_ERRNO_ENUM)
#undef SYNC_ERRNO_ENUM
};

/* Longest object name in bytes (the daemon may be configured lower). */
#define SYNC_NAME_MAX 255

/* Message for a code (0 or a negative SYNC_E*); never NULL. */
SYNC_API const char *sync_strerror(int code);
/* Symbolic name for a code, e.g. "SYNC_ETIMEDOUT"; never NULL. */
SYNC_API const char *sync_errname(int code);

typedef struct sync_client sync_client;
typedef struct sync_lock sync_lock;
typedef struct sync_sem sync_sem;
typedef struct sync_event sync_event;

/* ---- connection --------------------------------------------------------- */

/*
 * Connect to the daemon at socket_path, or, when NULL, at the default path:
 * $SYNCD_SOCKET, else /run/syncd/syncd.sock for root, else
 * $XDG_RUNTIME_DIR/syncd.sock, else /tmp/syncd-$UID.sock.  Performs the
 * protocol handshake.  Returns 0, SYNC_ECONN (no daemon there), SYNC_EVERSION,
 * SYNC_EPROTO, SYNC_ENOMEM, SYNC_EINVAL (path too long).
 */
SYNC_API int sync_connect(const char *socket_path, sync_client **out);

/*
 * Close the connection and free the client.  Everything the client still
 * holds is released by the daemon as if the process had died (Locks are
 * marked owner-died for their next holder).  Objects opened through this
 * client must not be used afterwards but must still be closed (their close
 * then only frees memory).  Calls blocked in other threads return SYNC_ECONN.
 */
SYNC_API void sync_disconnect(sync_client *c);

/* Write the default socket path into buf; 0 or SYNC_EINVAL if too small. */
SYNC_API int sync_default_socket_path(char *buf, unsigned long size);

/*
 * Remove a name.  Objects already open stay usable by whoever has them open
 * and are freed with their last handle; the next open of the name creates a
 * new object.  0, SYNC_ENOENT, SYNC_ENAME.
 */
SYNC_API int sync_unlink(sync_client *c, const char *name);

/* ---- Lock (threading.Lock) ---------------------------------------------- */

/* Open or create the Lock called name.  SYNC_ETYPE if name is another type. */
SYNC_API int sync_lock_open(sync_client *c, const char *name, sync_lock **out);
/*
 * Acquire.  blocking=false tries once (timeout must then be negative, as
 * Python's ValueError, else SYNC_EINVAL).  0 when acquired, SYNC_ETIMEDOUT
 * when not.  The lock is owned by the client, not the thread: a second
 * acquire from the same client waits like anyone else.
 */
SYNC_API int sync_lock_acquire(sync_lock *l, bool blocking, double timeout);
/* Release.  SYNC_EPERM if this client does not hold it. */
SYNC_API int sync_lock_release(sync_lock *l);
/* 1 when locked by anyone, 0 when free, <0 error. */
SYNC_API int sync_lock_locked(sync_lock *l);
/*
 * After a successful acquire through l: 1 when the previous holder died (or
 * disconnected, or closed the lock) while holding it, so the protected state
 * may need repair (like a robust mutex's EOWNERDEAD); 0 otherwise.
 */
SYNC_API int sync_lock_owner_died(sync_lock *l);
/*
 * After a successful acquire through l: the fencing token of that
 * acquisition, a 64-bit number that grows with every acquisition of this
 * lock, so a resource can reject writes from a stale holder.  0 if l never
 * acquired.
 */
SYNC_API uint64_t sync_lock_token(sync_lock *l);
/* Close the handle; a lock still held through it is released (owner died). */
SYNC_API void sync_lock_close(sync_lock *l);

/* ---- Semaphore / BoundedSemaphore --------------------------------------- */

/* Flags for sync_sem_open_flags(). */
#define SYNC_SEM_UNDO 0x1u /* give back unreleased permits on close/exit */

/*
 * Open or create the Semaphore called name with the initial value.  An
 * existing semaphore must have been created with the same value, else
 * SYNC_EEXIST; SYNC_ETYPE for another type (including a bounded one).
 */
SYNC_API int sync_sem_open(sync_client *c, const char *name, unsigned value,
                           sync_sem **out);
/* Same for a BoundedSemaphore, whose bound is its initial value. */
SYNC_API int sync_bsem_open(sync_client *c, const char *name, unsigned value,
                            sync_sem **out);
/* Either of the above with flags (SYNC_SEM_UNDO); bounded selects the type. */
SYNC_API int sync_sem_open_flags(sync_client *c, const char *name,
                                 unsigned value, bool bounded, unsigned flags,
                                 sync_sem **out);
/* Take one permit.  0, or SYNC_ETIMEDOUT when not acquired.  FIFO. */
SYNC_API int sync_sem_acquire(sync_sem *s, bool blocking, double timeout);
/*
 * Give back n >= 1 permits (SYNC_EINVAL for 0).  SYNC_EVALUE when a bounded
 * semaphore would exceed its bound (nothing is released then).
 */
SYNC_API int sync_sem_release(sync_sem *s, unsigned n);
/* Current value (>= 0), or <0 error. */
SYNC_API int sync_sem_value(sync_sem *s);
/* Close the handle; with SYNC_SEM_UNDO, unreleased permits are given back. */
SYNC_API void sync_sem_close(sync_sem *s);

/* ---- Event (threading.Event) -------------------------------------------- */

SYNC_API int sync_event_open(sync_client *c, const char *name,
                             sync_event **out);
/* Set the flag and wake every waiter. */
SYNC_API int sync_event_set(sync_event *e);
SYNC_API int sync_event_clear(sync_event *e);
/* 1 set, 0 clear, <0 error. */
SYNC_API int sync_event_is_set(sync_event *e);
/* 0 once the flag is (or becomes) set, SYNC_ETIMEDOUT if it did not. */
SYNC_API int sync_event_wait(sync_event *e, double timeout);
SYNC_API void sync_event_close(sync_event *e);

#ifdef __cplusplus
}
#endif
#endif /* SYNCCLIENT_H */
