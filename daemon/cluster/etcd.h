/*
 * etcd.h: etcd v3's JSON gateway (/v3/kv, /v3/lease, /v3/watch) over
 * libcurl + jansson: the only file that knows etcd's wire format (base64
 * keys and values, int64s as JSON strings, a failed txn without
 * "succeeded").  Calls block their thread (a cluster job's worker,
 * cluster_job.c) and are cancellable from any thread; unary calls fail
 * over between the members and retry within a bounded time.  The
 * exception is etcd_loop.c's single attempt on the event loop: it speaks
 * HTTP/1.1 itself and asks this file what the answer means.
 */
#ifndef SYNCD_ETCD_H
#define SYNCD_ETCD_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ETCD_MAX_ENDPOINTS 16
#define ETCD_KEY_MAX 320

struct etcd_tls {
    const char *cert;   /* client certificate (PEM) or NULL */
    const char *key;    /* its private key or NULL */
    const char *cacert; /* CA bundle to verify the members, or NULL */
};

struct etcd;

/*
 * Parse urls ("http://h:p,https://h:p,...") and keep the TLS files' paths.
 * call_ms bounds one HTTP attempt; budget_ms bounds a unary call with all
 * its retries.  0 or SYNC_EINVAL (a bad list; why says what) or
 * SYNC_ENOMEM.  Call before any thread uses libcurl.
 */
int etcd_new(struct etcd **out, const char *urls, const struct etcd_tls *tls,
             unsigned call_ms, unsigned budget_ms, const char **why);
void etcd_free(struct etcd *e);
/* What the unary calls (etcd_post) cost so far, read from any thread. */
struct etcd_stats {
    uint64_t calls;          /* calls made */
    uint64_t errors;         /* of them SYNC_EUNAVAIL or SYNC_EINTERNAL */
    uint64_t latency_us;     /* their total time, retries included */
    uint64_t latency_max_us; /* the slowest */
};
void etcd_stats(struct etcd *e, struct etcd_stats *out);

/* The number of members configured, and member i's URL. */
size_t etcd_n_endpoints(const struct etcd *e);
const char *etcd_endpoint(const struct etcd *e, size_t i);

/*
 * One thread's cancellable calls.  Made and freed on any thread, used by
 * one thread at a time; etcd_ctx_cancel may be called from any thread.
 */
struct etcd_ctx {
    struct etcd *e;        /* borrowed (owner: the cluster) */
    _Atomic(void *) multi; /* owned CURLM, made by the first call */
    atomic_bool cancelled;
    unsigned budget_ms;    /* a unary call's budget; 0: the etcd's */
    int64_t sent_ms;       /* when etcd_post last sent an attempt: an
                              answer it got was made after this */
};
void etcd_ctx_init(struct etcd_ctx *c, struct etcd *e);
void etcd_ctx_fini(struct etcd_ctx *c);
/* Make the ctx's current and later calls return SYNC_EINTR promptly. */
void etcd_ctx_cancel(struct etcd_ctx *c);
/* A thread that made calls ends: free its curl handle. */
void etcd_thread_fini(void);

/*
 * POST body (borrowed) to path ("/v3/kv/txn") and parse the answer into
 * *out (caller decrefs).  Fails over to the next member on a connection
 * error, a timeout, a 5xx or a retryable gRPC code, until budget_ms has
 * passed.  0; SYNC_ENOENT (gRPC NotFound: an unknown or expired lease);
 * SYNC_EINTR (cancelled); SYNC_EUNAVAIL (no member answered in time);
 * SYNC_EINTERNAL (an answer that is not etcd's).
 */
int etcd_post(struct etcd_ctx *c, const char *path, json_t *body,
              json_t **out);

/*
 * One attempt of a unary call sent by someone else (etcd_loop.c, its own
 * HTTP/1.1 on the event loop): what the attempt needs and what it meant.
 * etcd_current: the member to try.
 * etcd_attempt_end: the attempt to member ep began at t0_us
 * (etcd_clock_us) and ended with an answer (arrived; its status and body,
 * which this may read but not keep) or without one; its result as
 * etcd_post's, except that SYNC_EUNAVAIL means this member failed (later
 * calls go to the next) and a blocking etcd_post may still succeed.
 */
size_t etcd_current(struct etcd *e);
unsigned etcd_call_ms(const struct etcd *e);
int64_t etcd_clock_us(void);
int etcd_attempt_end(struct etcd *e, size_t ep, const char *path,
                     bool arrived, long status, char *body, size_t len,
                     int64_t t0_us, json_t **out);

/*
 * Called by etcd_watch for each event: type 0 PUT, 1 DELETE; kv borrowed.
 * Return true to end the watch.
 */
typedef bool (*etcd_event_fn)(int type, json_t *kv, void *arg);

/*
 * Watch key from start_rev until fn returns true (0), deadline_ms passes
 * (monotonic ms; < 0: none; SYNC_ETIMEDOUT), the ctx is cancelled
 * (SYNC_EINTR) or the stream breaks (SYNC_EUNAVAIL: the caller re-reads
 * and watches again, on the member etcd_post moved to).
 */
int etcd_watch(struct etcd_ctx *c, const char *key, size_t key_len,
               int64_t start_rev, int64_t deadline_ms, etcd_event_fn fn,
               void *arg);

/* The same for every key that begins with prefix (len bytes). */
int etcd_watch_prefix(struct etcd_ctx *c, const char *prefix, size_t len,
                      int64_t start_rev, int64_t deadline_ms,
                      etcd_event_fn fn, void *arg);

/* ---- the JSON shapes --------------------------------------------------- */

/* A JSON string holding base64(bytes[0..len)); NULL when out of memory. */
json_t *etcd_b64(const char *bytes, size_t len);
/* Decode the base64 string field `field` of obj into out (cap bytes, NUL
 * added); its length, or -1 when absent or invalid. */
long etcd_unb64(json_t *obj, const char *field, char *out, size_t cap);
/* An int64 field (etcd sends them as strings; absent: 0). */
int64_t etcd_i64(json_t *obj, const char *field);
/* A JSON string of n in decimal. */
json_t *etcd_s64(int64_t n);
/* The range end covering every key that starts with prefix (len bytes). */
json_t *etcd_prefix_end(const char *prefix, size_t len);
/* Monotonic milliseconds. */
int64_t etcd_now_ms(void);

#endif
