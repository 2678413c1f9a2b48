/*
 * deadline.h: every waiter deadline in one min-heap driven by one
 * uv_timer_t (ties broken FIFO by a sequence number, as libuv's timers).
 * Expiry calls the entry's callback, which cancels the waiter.
 */
#ifndef SYNCD_DEADLINE_H
#define SYNCD_DEADLINE_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct deadline_entry {
    uint64_t when;      /* loop time in ms (uv_now) */
    uint64_t seq;       /* insertion order, for FIFO ties */
    size_t index;       /* position in the heap; SIZE_MAX when not armed */
    void (*expire)(struct deadline_entry *e);
};

struct deadlines {
    uv_timer_t timer;              /* embedded; closed by deadlines_close */
    struct deadline_entry **heap;  /* owned array of borrowed entries */
    size_t len;
    size_t cap;
    uint64_t next_seq;
};

int deadlines_init(struct deadlines *d, uv_loop_t *loop);
/* Close the timer; close_cb receives the timer handle (its data is d). */
void deadlines_close(struct deadlines *d, uv_close_cb close_cb);
/* Free the heap after the timer is closed. */
void deadlines_fini(struct deadlines *d);

void deadline_entry_init(struct deadline_entry *e,
                         void (*expire)(struct deadline_entry *e));
/* Room for one more entry: after it, deadline_add cannot fail.  0 or
 * SYNC_ENOMEM. */
int deadline_reserve(struct deadlines *d);
/* Arm e to expire `timeout_ms` from now.  0 or SYNC_ENOMEM. */
int deadline_add(struct deadlines *d, struct deadline_entry *e,
                 uint64_t timeout_ms);
/* Disarm e; no-op when it is not armed. */
void deadline_remove(struct deadlines *d, struct deadline_entry *e);

#endif
