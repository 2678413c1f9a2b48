/*
 * dispatch_internal.h: what dispatch.c and dispatch_wait.c share.
 */
#ifndef SYNCD_DISPATCH_INTERNAL_H
#define SYNCD_DISPATCH_INTERNAL_H

#include "codec.h"
#include "handle.h"
#include "session.h"

/* Answer rq's id with code (and an optional message). */
void dispatch_reply(struct session *s, uint64_t id, int code,
                    const char *message);

/* rq's handle if it exists and s may use it for rq's op; otherwise the
 * error is answered and NULL returned. */
struct handle *dispatch_handle(struct session *s, const struct request *rq);

/* Answer SYNC_ETYPE naming o's type. */
void dispatch_wrong_type(struct session *s, const struct request *rq,
                         const struct object *o);

/* Start acquire / event wait / condition wait / barrier wait (dispatch_wait.c). */
void dispatch_wait(struct session *s, const struct request *rq);

#endif
