/*
 * fake_waiter.h: a struct waiter for unit tests that records its completion
 * instead of queueing a reply.  Invariant checked: a waiter is completed
 * exactly once (a second completion fails the test); the completion never
 * calls back into object code.
 */
#ifndef SYNCD_TEST_FAKE_WAITER_H
#define SYNCD_TEST_FAKE_WAITER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "waitq.h"

struct fake_waiter {
    struct waiter w;   /* handed to object code */
    int code;          /* code of the completion; meaningless before one */
    int n_complete;    /* completions seen: 0 or 1 */
    unsigned seq;      /* global completion order (1, 2, ...), 0 = none */
    uint64_t token;    /* w.token as seen at completion time */
    bool owner_died;   /* w.owner_died as seen at completion time */
};

/* A fresh, unqueued waiter for owner. */
void fake_waiter_init(struct fake_waiter *f, uint64_t owner);

/* Initialise n waiters at once, owner ids first_owner, first_owner + 1... */
void fake_waiter_init_n(struct fake_waiter *f, int n, uint64_t first_owner);

/* A fresh waiter for one thread of owner (RLock, Condition, deadlocks). */
void fake_waiter_init_thread(struct fake_waiter *f, uint64_t owner,
                             uint64_t thread);

/* Whether f has been completed. */
bool fake_waiter_done(const struct fake_waiter *f);

/* Completions seen by all fake waiters of this test process so far. */
unsigned fake_waiter_completions(void);

/*
 * Assertions as macros so a failure reports the caller's line.  The
 * includer must include <criterion/new/assert.h>.
 */
#define FAKE_ASSERT_DONE(f, expected_code)                                    \
    do {                                                                      \
        cr_assert(eq(int, (f)->n_complete, 1), "waiter not completed once");  \
        cr_assert(eq(int, (f)->code, (expected_code)));                       \
        cr_assert(eq(ptr, (void *)(f)->w.queue, NULL));                       \
    } while (0)

#define FAKE_ASSERT_PENDING(f)                                                \
    do {                                                                      \
        cr_assert(eq(int, (f)->n_complete, 0), "waiter completed early");    \
        cr_assert(ne(ptr, (void *)(f)->w.queue, NULL), "waiter not queued"); \
    } while (0)

#define FAKE_ASSERT_UNTOUCHED(f)                                              \
    do {                                                                      \
        cr_assert(eq(int, (f)->n_complete, 0), "waiter was completed");      \
        cr_assert(eq(ptr, (void *)(f)->w.queue, NULL), "waiter was queued"); \
    } while (0)

/*
 * For a suite's .fini: Criterion 2.4 ignores assertion failures there (the
 * test still passes), but reports an abort() as a crash in teardown and
 * exits non-zero, which fails the CTest.
 */
#define TEST_FINI_CHECK(cond, what)                                           \
    do {                                                                      \
        if (!(cond)) {                                                        \
            fprintf(stderr, "%s:%d: teardown check failed: %s\n", __FILE__,   \
                    __LINE__, (what));                                        \
            abort();                                                          \
        }                                                                     \
    } while (0)

#endif
