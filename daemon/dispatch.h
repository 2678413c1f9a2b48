/*
 * dispatch.h: one decoded request -> registry/object calls -> one reply
 * (now, or when a queued waiter completes).  The dispatch layer also keeps
 * each client's waits and gives back what a closing client holds.
 */
#ifndef SYNCD_DISPATCH_H
#define SYNCD_DISPATCH_H

#include "codec.h"
#include "session.h"

/* Handle rq for s.  May abort the session (handshake failures). */
void dispatch_request(struct session *s, const struct request *rq);

/* What server_init registers for the sessions: requests, shutdown of
 * waits, a closing client, freeing the recycled waits. */
extern const struct session_handler dispatch_handler;

#endif
