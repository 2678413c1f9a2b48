/*
 * event.h: threading.Event across processes: a flag that set() raises and
 * clear() lowers; wait() returns once the flag is set.
 */
#ifndef SYNCD_EVENT_H
#define SYNCD_EVENT_H

#include "object.h"

struct event {
    struct object base;
    bool set;
    struct waitq waiters;
};

/* A new clear event; NULL when out of memory. */
struct event *event_new(const char *name);
/* Raise the flag and complete every waiter with 0. */
void event_set(struct event *e);
void event_clear(struct event *e);
/* 0 when the flag is set, SYNCD_PENDING queued, SYNC_ETIMEDOUT if clear and
 * may_wait is false. */
int event_wait(struct event *e, struct waiter *w, bool may_wait);

struct event *event_from_object(struct object *o);

#endif
