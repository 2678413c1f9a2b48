/*
 * etcd_loop.h: one etcd call at a time per request, run on the event loop
 * (no blocking, no retry: a caller whose call fails hands its work to a
 * worker thread, whose etcd_post retries and fails over).
 */
#ifndef SYNCD_ETCD_LOOP_H
#define SYNCD_ETCD_LOOP_H

#include <uv.h>

#include "cluster/etcd.h"

struct etcd_loop;

/* What a call ended with (etcd_call_end's codes) and its answer (the
 * callee's to decref; NULL unless rv is 0). */
typedef void (*etcd_loop_fn)(int rv, json_t *out, void *arg);

/* NULL when out of memory, or when a member is not plain http:// (TLS
 * stays with libcurl on the workers).  Its handles live on loop. */
struct etcd_loop *etcd_loop_new(struct etcd *e, uv_loop_t *loop);
/* POST body (borrowed) to path; fn runs on the loop when it ends, never
 * before this returns.  0, or SYNC_ENOMEM (fn will not run). */
int etcd_loop_post(struct etcd_loop *l, const char *path, json_t *body,
                   etcd_loop_fn fn, void *arg);
/* With no call pending: close it; closed(arg) runs once it is freed. */
void etcd_loop_close(struct etcd_loop *l, void (*closed)(void *arg),
                     void *arg);

#endif
