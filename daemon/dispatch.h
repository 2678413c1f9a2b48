/*
 * dispatch.h: one decoded request -> registry/object calls -> one reply
 * (now, or when a queued waiter completes).
 */
#ifndef SYNCD_DISPATCH_H
#define SYNCD_DISPATCH_H

#include "codec.h"
#include "session.h"
#include "waitq.h"

/* Handle rq for s.  May abort the session (handshake failures). */
void dispatch_request(struct session *s, const struct request *rq);

/* Completion of a queued waiter: answers its request (unless the session
 * is closing) and recycles it. */
void dispatch_complete_cb(struct waiter *w, int code);

#endif
