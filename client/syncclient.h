/*
 * syncclient.h: the public API of libsyncclient, Python's threading
 * primitives (Lock, RLock, Semaphore, BoundedSemaphore, Event, Condition,
 * Barrier) shared between processes through the syncd daemon.  This is the
 * only public header.
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
    XX(EBROKEN, 18, "barrier is broken; reset it: sync_barrier_reset() or "  \
                    "'syncctl barrier NAME reset'")                           \
    XX(EINTERNAL, 19, "internal error")                                       \
    XX(EPEER, 20, "the daemon at this socket runs as another user (not "     \
                  "root, syncd or you); SYNCD_TRUST_UID=UID accepts it")    \
    XX(EINTR, 21, "interrupted: the wait was cancelled")                      \
    XX(EUNAVAIL, 22, "cluster backend unavailable (etcd out of reach, or "   \
                     "the daemon has no --cluster)")                          \
    XX(ELOST, 23, "lock lost: the daemon restarted and the hold could not "  \
                  "be reclaimed")

enum sync_errno {
#define SYNC_ERRNO_ENUM(name, num, msg) SYNC_##name = -(num),
    SYNC_ERRNO_MAP(SYNC_ERRNO_ENUM)
#undef SYNC_ERRNO_ENUM
};

/*
 * The version of this header.  The top-level CMakeLists.txt takes the
 * project version from these three lines.  SYNC_VERSION_HEX is
 * 0xMMmmpp, to compare with what sync_version() reports at run time.
 */
#define SYNC_VERSION_MAJOR 0
#define SYNC_VERSION_MINOR 1
#define SYNC_VERSION_PATCH 0
#define SYNC_VERSION_STRING "0.1.0"
#define SYNC_VERSION_HEX                                                      \
    ((SYNC_VERSION_MAJOR << 16) | (SYNC_VERSION_MINOR << 8) |                 \
     SYNC_VERSION_PATCH)

/* The version of the library linked at run time, as SYNC_VERSION_HEX. */
SYNC_API unsigned sync_version(void);
/* The same as a string, "MAJOR.MINOR.PATCH"; never NULL. */
SYNC_API const char *sync_version_string(void);

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
typedef struct sync_rlock sync_rlock;
typedef struct sync_cond sync_cond;
typedef struct sync_barrier sync_barrier;

/* ---- connection --------------------------------------------------------- */

/*
 * Connect to the daemon at socket_path, or, when NULL, at the default path
 * (one rule, the same in syncctl and syncd):
 *   1. $SYNCD_SOCKET when set;
 *   2. the system daemon's socket, /run/syncd/syncd.sock, when it exists and
 *      this user may connect to it (always, for root);
 *   3. the per-user socket: $XDG_RUNTIME_DIR/syncd.sock, else
 *      /tmp/syncd-$UID.sock.
 * Whatever the path, the daemon at the other end must run as root, as the
 * user "syncd" or as the caller's own effective uid (SO_PEERCRED), so that
 * another user cannot stand in for it (anyone may bind a path in /tmp);
 * SYNCD_TRUST_UID (a comma-separated list of uids) accepts other uids.
 * Performs the protocol handshake.  Returns 0, SYNC_ECONN (no daemon
 * there), SYNC_EPEER (an untrusted uid), SYNC_EVERSION, SYNC_EPROTO,
 * SYNC_ENOMEM, SYNC_EINVAL (path too long).
 */
SYNC_API int sync_connect(const char *socket_path, sync_client **out);

/*
 * Reconnecting.  When the connection drops (the daemon was restarted:
 * systemctl restart, a crash, kill -9), a client reconnects by itself: it
 * dials again with exponential backoff (10 ms doubling to 500 ms) for at
 * most reconnect_ms in all, re-opens every handle under the same handle,
 * reclaims what it held (Locks, RLocks at every level, a Condition's lock:
 * same fencing token) within the daemon's grace period, and sends again
 * the calls that were in flight: waits (acquire, event, condition and
 * barrier waits) with what is left of their timeout, a condition wait
 * after taking its lock back.  A call in flight either completes after the
 * reconnect or fails with a code; it never succeeds without having
 * happened.  Not sent again (they may have happened): a semaphore release
 * (SYNC_ECONN).  When the reconnect fails within reconnect_ms, calls
 * return SYNC_ECONN (and the next call tries again).
 *
 * A hold the daemon cannot give back (the grace period was over, the
 * object was unlinked, the daemon restarted on other state or in memory)
 * is lost: sync_lock_owner_lost() (and the RLock and Condition forms)
 * returns 1 for its handle until its next successful acquire, and the
 * release of each lost level returns SYNC_ELOST (without sending anything,
 * or, when the connection dropped under that very release, instead of the
 * daemon's "not held"); a release balancing a later acquire works as
 * usual.  Under --fsync batch or never, a grant made in the last interval
 * before a crash may not be on disk: its holder learns it this way.
 *
 * A forked child never reconnects or reclaims its parent's holds (its
 * inherited client returns SYNC_EFORKED).  Semaphore permits held through
 * undo handles are reclaimed too (the daemon keeps them for the client
 * during the grace period); one that cannot be taken back makes a
 * sync_sem_release of it return SYNC_ELOST (nothing is sent).
 */
struct sync_connect_opts {
    /* 1: reconnect; 0: never (calls return SYNC_ECONN, as programs that
     * want the error need); -1: the environment's SYNCD_RECONNECT (0
     * turns it off), else on. */
    int reconnect;
    /* Longest time to try, in ms; < 0: SYNCD_RECONNECT_MS, else 10000. */
    int reconnect_ms;
};

/* sync_connect with options (NULL: the defaults, as sync_connect). */
SYNC_API int sync_connect_opts(const char *socket_path,
                               const struct sync_connect_opts *opts,
                               sync_client **out);

/*
 * Close the connection and free the client.  Everything the client still
 * holds is released by the daemon as if the process had died (Locks are
 * marked owner-died for their next holder).  Objects opened through this
 * client must not be used afterwards but must still be closed (their close
 * then only frees memory).  Calls blocked in other threads return SYNC_ECONN.
 */
SYNC_API void sync_disconnect(sync_client *c);

/*
 * Permission bits (like a file's: 0600 owner read/write, 0060 group, 0006
 * others; execute bits are ignored) given to objects this client creates
 * from now on.  Default 0660.  Reading state (locked, value, is_set,
 * listing) needs read; everything else needs write; root may do all.  A
 * denied call returns SYNC_EPERM.  Returns 0 or SYNC_EINVAL (mode > 0777).
 */
SYNC_API int sync_set_create_mode(sync_client *c, unsigned mode);

/*
 * With existing true, every _open through this client from now on opens
 * only an object that exists (SYNC_ENOENT otherwise; nothing is created)
 * and accepts it whatever its creation parameters: the value of
 * sync_sem_open, the parties of sync_barrier_open and the lock of
 * sync_cond_open are then ignored (the type must still match).  For
 * programs that only look at or act on objects others create.  Returns 0
 * or SYNC_EINVAL (c NULL).
 */
SYNC_API int sync_set_open_existing(sync_client *c, bool existing);

/*
 * Lock caching (on by default): the daemon may lend an uncontended Lock or
 * RLock to this client, whose acquire and release then touch no socket
 * until another client asks for it.  sync_set_lock_cache(c, false) makes
 * the Lock and RLock handles c opens from now on never cached (handles
 * already open keep their setting); SYNCD_CACHE=0 in the environment turns
 * caching off for every connection the process makes, and `lock-cache =
 * off` in syncd.conf for the whole daemon.  Every guarantee holds either
 * way.  Returns 0 or SYNC_EINVAL (c NULL).
 */
SYNC_API int sync_set_lock_cache(sync_client *c, bool on);

/* Write the default socket path (sync_connect's rule) into buf; 0 or
 * SYNC_EINVAL if too small. */
SYNC_API int sync_default_socket_path(char *buf, unsigned long size);

/* The same, and *why (not NULL) gets a static phrase saying which rule
 * chose the path (e.g. "$SYNCD_SOCKET is set"). */
SYNC_API int sync_default_socket_reason(char *buf, unsigned long size,
                                        const char **why);

/*
 * Remove a name.  Objects already open stay usable by whoever has them open
 * and are freed with their last handle; the next open of the name creates a
 * new object.  0, SYNC_ENOENT, SYNC_ENAME.
 */
SYNC_API int sync_unlink(sync_client *c, const char *name);

/*
 * Anonymous objects: every sync_*_open accepts name NULL and then creates
 * an object with a generated name ("anon/PID.N.RANDOM") that the daemon
 * removes when the object's last handle anywhere closes (a named object
 * lives until sync_unlink).  Other processes open it by that name, e.g.
 * one passed to a child; sync_handle_name() gives it.
 *
 * The name of any object handle (sync_lock *, sync_sem *, ...): the one it
 * was opened with, or the generated one.  NULL for NULL.
 */
SYNC_API const char *sync_handle_name(const void *handle);

/*
 * Interruptible waits (what Python's Ctrl-C needs).  Registers, for the
 * calling thread only, a check that its blocking calls (an acquire that
 * may wait, sync_event_wait, sync_cond_wait, sync_barrier_wait) run when
 * a signal interrupts them (install the handler without SA_RESTART), and
 * every 20 ms while another thread of the client reads the connection.
 * When check(arg) returns true the wait is cancelled in the daemon, as if
 * its timeout ran out at that moment, and the call returns SYNC_EINTR:
 * nothing was acquired; a condition wait holds its lock again (as
 * Python's interrupted Condition.wait does); a barrier wait broke the
 * barrier (as in Python).  If the daemon granted the wait before the
 * cancel arrived, the call returns 0 as usual and the caller owns what it
 * got.  check runs on the waiting thread, outside any library lock, and
 * may call the library.  NULL removes it.
 */
SYNC_API void sync_set_interrupt_check(bool (*check)(void *arg), void *arg);

/* ---- Lock (threading.Lock) ---------------------------------------------- */

/* Open or create the Lock called name.  SYNC_ETYPE if name is another type. */
SYNC_API int sync_lock_open(sync_client *c, const char *name, sync_lock **out);
/*
 * Acquire.  blocking=false tries once (timeout must then be negative, as
 * Python's ValueError, else SYNC_EINVAL).  0 when acquired, SYNC_ETIMEDOUT
 * when not.  The lock is owned by the client, not the thread: a second
 * acquire from the same client waits like anyone else.  SYNC_EDEADLK, at
 * once, when waiting would close a cycle in the wait-for graph (this
 * thread holds a lock that the holder of l, directly or through others,
 * waits for); the daemon logs the cycle.
 */
SYNC_API int sync_lock_acquire(sync_lock *l, bool blocking, double timeout);
/* Release.  SYNC_EPERM if this client does not hold it. */
SYNC_API int sync_lock_release(sync_lock *l);
/*
 * Lock caching's fast path alone: acquire (release) l only if the daemon
 * has lent it to this client and that takes one atomic operation here - no
 * message, never a wait.  0 when done, exactly as sync_lock_acquire
 * (sync_lock_release) would have done it; 1 when it cannot be done so (not
 * lent, held, taken back, caching off): then call sync_lock_acquire
 * (sync_lock_release), which decides.  For a runtime that gives up a lock
 * of its own around a call that may block (Python's GIL) and need not for
 * one that cannot.  SYNC_EINVAL for NULL.
 */
SYNC_API int sync_lock_acquire_local(sync_lock *l);
SYNC_API int sync_lock_release_local(sync_lock *l);
/* 1 when locked by anyone, 0 when free, <0 error. */
SYNC_API int sync_lock_locked(sync_lock *l);
/*
 * After a successful acquire through l: 1 when the previous holder died (or
 * disconnected, or closed the lock) while holding it, so the protected state
 * may need repair (like a robust mutex's EOWNERDEAD); 0 otherwise.
 */
SYNC_API int sync_lock_owner_died(sync_lock *l);
/* 1 when this handle's hold was lost in a daemon restart (a reclaim was
 * refused; see sync_connect_opts), until its next successful acquire; its
 * next release returns SYNC_ELOST.  0 otherwise; SYNC_EINVAL for NULL. */
SYNC_API int sync_lock_owner_lost(sync_lock *l);
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

/* Largest semaphore value (and bound); an open with more is SYNC_EINVAL, a
 * release that would pass it is SYNC_EVALUE. */
#define SYNC_SEM_VALUE_MAX 0x7fffffffu

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

/* ---- RLock (threading.RLock) -------------------------------------------- */

/*
 * Owned by a (client, thread) pair: the owning thread may acquire it again
 * and must release it as many times; a release by any other thread or
 * process is SYNC_EPERM.  When the client dies every level goes at once and
 * the next holder's sync_rlock_owner_died() is 1.
 */
SYNC_API int sync_rlock_open(sync_client *c, const char *name,
                             sync_rlock **out);
/* As sync_lock_acquire; re-entry by the owning thread returns 0 at once.
 * SYNC_EDEADLK when waiting would close a wait-for cycle. */
SYNC_API int sync_rlock_acquire(sync_rlock *r, bool blocking, double timeout);
/* Release one level.  SYNC_EPERM unless this thread owns it. */
SYNC_API int sync_rlock_release(sync_rlock *r);
/* As sync_lock_acquire_local / _release_local: the owning thread's
 * re-entry and each level's release too, when lent. */
SYNC_API int sync_rlock_acquire_local(sync_rlock *r);
SYNC_API int sync_rlock_release_local(sync_rlock *r);
/* 1 when held by anyone, 0 when free, <0 error. */
SYNC_API int sync_rlock_locked(sync_rlock *r);
/*
 * 1 when the calling thread (of this client) holds r, 0 when it does not
 * (free, or held by another thread or process), <0 error.  The daemon
 * answers, so an acquire through any handle of this client on the same
 * RLock (or a Condition bound to it) counts.  A process created by fork()
 * holds nothing its parent held (the inherited handle is SYNC_EFORKED; a
 * new connection's handle answers 0).  This, sync_rlock_depth and
 * sync_cond_locked/_is_owned/_depth return SYNC_EVERSION from a daemon
 * that does not answer for ownership (no WIRE_CAP_OWNERSHIP granted).
 */
SYNC_API int sync_rlock_is_owned(sync_rlock *r);
/* The calling thread's recursion depth on r: 0 when it does not hold r,
 * else the number of releases still owed; <0 error. */
SYNC_API int sync_rlock_depth(sync_rlock *r);
/* As sync_lock_owner_died / sync_lock_token, for the last acquire. */
SYNC_API int sync_rlock_owner_died(sync_rlock *r);
SYNC_API int sync_rlock_owner_lost(sync_rlock *r);
SYNC_API uint64_t sync_rlock_token(sync_rlock *r);
SYNC_API void sync_rlock_close(sync_rlock *r);

/* ---- Condition (threading.Condition) ------------------------------------ */

/*
 * Open or create the Condition called name, bound to the Lock or RLock
 * called lock_name (created as an RLock if it does not exist yet).
 * lock_name NULL: the condition's own private RLock, as
 * threading.Condition() does.  Opening an existing condition with another
 * lock_name is SYNC_EEXIST; a lock_name naming another type is SYNC_ETYPE.
 * A condition stays bound to its lock object: once that lock is unlinked,
 * opening the condition with its lock_name is SYNC_EEXIST too (the name
 * now means another lock, or none).
 */
SYNC_API int sync_cond_open(sync_client *c, const char *name,
                            const char *lock_name, sync_cond **out);
/* Acquire / release the underlying lock (as sync_lock_* / sync_rlock_*). */
SYNC_API int sync_cond_acquire(sync_cond *cv, bool blocking, double timeout);
SYNC_API int sync_cond_release(sync_cond *cv);
/* 1 when the condition's lock is held by anyone, 0 when free, <0 error
 * (threading.Condition's locked(); it never takes the lock). */
SYNC_API int sync_cond_locked(sync_cond *cv);
/*
 * 1 when the calling thread may wait and notify: it holds the condition's
 * RLock, or, for a Lock, its client holds it (threading.Condition's
 * _is_owned()); 0 otherwise, including while this thread is inside
 * sync_cond_wait; <0 error.
 */
SYNC_API int sync_cond_is_owned(sync_cond *cv);
/* The calling thread's levels on the condition's lock (as
 * sync_rlock_depth; 1 for a Lock its client holds), 0 when not held. */
SYNC_API int sync_cond_depth(sync_cond *cv);
/* How many wait on the condition now (notified ones that are taking the
 * lock back no longer count): >= 0, or a negative SYNC_E* code.
 * Python's repr(threading.Condition) shows this number. */
SYNC_API int sync_cond_n_waiting(sync_cond *cv);
SYNC_API int sync_cond_owner_lost(sync_cond *cv); /* as sync_lock_owner_lost */
/*
 * Release the lock (every RLock level), wait until notified or timeout
 * seconds pass, then get the lock back.  The release and the wait are one
 * atomic step in the daemon: no notify falls between them.  0 when
 * notified, SYNC_ETIMEDOUT when not; the lock is held again on return in
 * both cases.  SYNC_EPERM if this thread does not hold the lock.
 */
SYNC_API int sync_cond_wait(sync_cond *cv, double timeout);
/*
 * Wait until predicate(arg) is true (checked first, and after each wake-up,
 * with the lock held).  0 when it holds, SYNC_ETIMEDOUT when it still does
 * not after timeout seconds.
 */
SYNC_API int sync_cond_wait_for(sync_cond *cv, bool (*predicate)(void *),
                                void *arg, double timeout);
/* Wake up to n waiters (FIFO); SYNC_EPERM without the lock. */
SYNC_API int sync_cond_notify(sync_cond *cv, unsigned n);
/* Wake every waiter; SYNC_EPERM without the lock. */
SYNC_API int sync_cond_notify_all(sync_cond *cv);
SYNC_API void sync_cond_close(sync_cond *cv);

/* ---- Barrier (threading.Barrier) ---------------------------------------- */

/* Open or create a barrier for parties (>= 1) parties; another number of
 * parties for an existing one is SYNC_EEXIST. */
SYNC_API int sync_barrier_open(sync_client *c, const char *name,
                               unsigned parties, sync_barrier **out);
/*
 * Wait until parties callers have arrived.  Returns the arrival index
 * 0..parties-1 (distinct per round), or SYNC_EBROKEN when the barrier is or
 * becomes broken (an abort, a reset while waiting, a party that timed out
 * or died) - a timeout here breaks the barrier and also returns
 * SYNC_EBROKEN, as Python raises BrokenBarrierError.
 */
SYNC_API int sync_barrier_wait(sync_barrier *b, double timeout);
/*
 * As sync_barrier_wait, offering to run the round's action (Python's
 * Barrier(parties, action)).  When the round is full the daemon asks
 * exactly one party that offers - the last to arrive if it does, as in
 * Python - to run it: this call then runs action(arg) on the calling
 * thread, with no lock of the library held, while every other party
 * stays blocked.  action returns 0 for success: everyone is then released
 * with their indices and this call returns its own.  Any other value is a
 * failure: the barrier breaks (the others get SYNC_EBROKEN) and this call
 * returns that value if it is negative, else SYNC_EBROKEN.  The action's
 * client dying, or any party's timeout passing while it runs, breaks the
 * barrier too; the actor then gets SYNC_EBROKEN after its action
 * returns.  A party that passes no action (NULL) waits as
 * sync_barrier_wait does and is never asked.  SYNC_EVERSION when the
 * daemon does not offer barrier actions (WIRE_CAP_BARRIER_ACTION).
 */
SYNC_API int sync_barrier_wait_action(sync_barrier *b, double timeout,
                                      int (*action)(void *arg), void *arg);
/* Wake current waiters with SYNC_EBROKEN and make the barrier usable. */
SYNC_API int sync_barrier_reset(sync_barrier *b);
/* Break the barrier: waiters now and later get SYNC_EBROKEN until reset. */
SYNC_API int sync_barrier_abort(sync_barrier *b);
/* Number of parties, waiters in the current round, broken (1/0); or <0. */
SYNC_API int sync_barrier_parties(sync_barrier *b);
SYNC_API int sync_barrier_n_waiting(sync_barrier *b);
SYNC_API int sync_barrier_broken(sync_barrier *b);
SYNC_API void sync_barrier_close(sync_barrier *b);

#ifdef __cplusplus
}
#endif
#endif /* SYNCCLIENT_H */
