/*
 * etcd.c: HTTP/1.1 + JSON calls to etcd's v3 gateway.  Each blocking call
 * runs an easy handle in its ctx's own multi handle, so another thread can
 * wake it (curl_multi_wakeup) to cancel; the members' connections are kept
 * in one share (CURL_LOCK_DATA_CONNECT), so a call reuses a warm
 * connection made by any thread.  An etcd_call is one attempt whose easy
 * handle someone else drives (etcd_loop.c, on the event loop).  The
 * gateway does not fail over between members: a failed attempt moves
 * every later call to the next member.
 */
#include "cluster/etcd.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "syncclient.h"

struct etcd {
    char *urls[ETCD_MAX_ENDPOINTS]; /* owned, without a trailing '/' */
    size_t n;
    atomic_size_t current;          /* member every call tries first */
    char *cert, *key, *cacert;      /* owned, may be NULL */
    unsigned call_ms, budget_ms;
    struct curl_slist *hdr;         /* owned: every POST's headers */
    CURLSH *share;                  /* owned: connections, DNS */
    pthread_mutex_t locks[CURL_LOCK_DATA_LAST];
    /* etcd_stats: updated by the worker threads, read by the loop */
    atomic_uint_fast64_t calls, errors, latency_us, latency_max_us;
};

static int64_t etcd_now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* One call took us microseconds and ended with rv. */
static void etcd_count(struct etcd *e, int64_t us, int rv)
{
    uint_fast64_t max = atomic_load(&e->latency_max_us);

    atomic_fetch_add(&e->calls, 1);
    if (rv == SYNC_EUNAVAIL || rv == SYNC_EINTERNAL)
        atomic_fetch_add(&e->errors, 1);
    atomic_fetch_add(&e->latency_us, (uint_fast64_t)us);
    while ((uint_fast64_t)us > max &&
           !atomic_compare_exchange_weak(&e->latency_max_us, &max,
                                         (uint_fast64_t)us))
        ;
}

void etcd_stats(struct etcd *e, struct etcd_stats *out)
{
    out->calls = atomic_load(&e->calls);
    out->errors = atomic_load(&e->errors);
    out->latency_us = atomic_load(&e->latency_us);
    out->latency_max_us = atomic_load(&e->latency_max_us);
}

int64_t etcd_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void etcd_lock_cb(CURL *h, curl_lock_data d, curl_lock_access a,
                         void *arg)
{
    struct etcd *e = arg;

    (void)h;
    (void)a;
    pthread_mutex_lock(&e->locks[d]);
}

static void etcd_unlock_cb(CURL *h, curl_lock_data d, void *arg)
{
    struct etcd *e = arg;

    (void)h;
    pthread_mutex_unlock(&e->locks[d]);
}

static char *etcd_dup(const char *s)
{
    return s != NULL ? strdup(s) : NULL;
}

/* Split urls at commas into e->urls; NULL or why it is invalid. */
static const char *etcd_parse_urls(struct etcd *e, const char *urls)
{
    const char *p = urls, *comma;
    size_t len;

    while (*p != '\0') {
        comma = strchr(p, ',');
        len = comma ? (size_t)(comma - p) : strlen(p);
        if (len == 0)
            return "an empty member URL";
        if (e->n == ETCD_MAX_ENDPOINTS)
            return "more than 16 member URLs";
        if (strncmp(p, "http://", 7) != 0 && strncmp(p, "https://", 8) != 0)
            return "a member URL must start with http:// or https://";
        while (len > 0 && p[len - 1] == '/')
            len--;
        e->urls[e->n] = strndup(p, len);
        if (e->urls[e->n] == NULL)
            return "out of memory";
        e->n++;
        p = comma != NULL ? comma + 1 : p + strlen(p);
    }
    return e->n == 0 ? "no member URL" : NULL;
}

int etcd_new(struct etcd **out, const char *urls, const struct etcd_tls *tls,
             unsigned call_ms, unsigned budget_ms, const char **why)
{
    struct etcd *e = calloc(1, sizeof(*e));
    int i;

    *why = NULL;
    if (e == NULL)
        return SYNC_ENOMEM;
    *why = etcd_parse_urls(e, urls);
    if (*why != NULL) {
        etcd_free(e);
        return SYNC_EINVAL;
    }
    e->cert = etcd_dup(tls->cert);
    e->key = etcd_dup(tls->key);
    e->cacert = etcd_dup(tls->cacert);
    e->call_ms = call_ms;
    e->budget_ms = budget_ms;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    /* No "Expect: 100-continue" (curl adds it to bodies over 1 KiB): it
     * would cost a round trip more before the body goes. */
    e->hdr = curl_slist_append(
        curl_slist_append(NULL, "Content-Type: application/json"), "Expect:");
    for (i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_init(&e->locks[i], NULL);
    e->share = curl_share_init();
    if (e->share == NULL || e->hdr == NULL) {
        etcd_free(e);
        return SYNC_ENOMEM;
    }
    curl_share_setopt(e->share, CURLSHOPT_LOCKFUNC, etcd_lock_cb);
    curl_share_setopt(e->share, CURLSHOPT_UNLOCKFUNC, etcd_unlock_cb);
    curl_share_setopt(e->share, CURLSHOPT_USERDATA, e);
    curl_share_setopt(e->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
    curl_share_setopt(e->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    *out = e;
    return 0;
}

void etcd_free(struct etcd *e)
{
    size_t i;

    if (e == NULL)
        return;
    if (e->share != NULL) {
        CURLSHcode sc = curl_share_cleanup(e->share);

        if (sc != CURLSHE_OK)
            log_warnx("cluster: curl share not freed: %s",
                      curl_share_strerror(sc));
        for (i = 0; i < CURL_LOCK_DATA_LAST; i++)
            pthread_mutex_destroy(&e->locks[i]);
        curl_global_cleanup();
    }
    curl_slist_free_all(e->hdr);
    for (i = 0; i < e->n; i++)
        free(e->urls[i]);
    free(e->cert);
    free(e->key);
    free(e->cacert);
    free(e);
}

size_t etcd_n_endpoints(const struct etcd *e)
{
    return e->n;
}

const char *etcd_endpoint(const struct etcd *e, size_t i)
{
    return i < e->n ? e->urls[i] : NULL;
}

void etcd_ctx_init(struct etcd_ctx *c, struct etcd *e)
{
    c->e = e;
    c->budget_ms = 0;
    c->sent_ms = 0;
    atomic_init(&c->cancelled, false);
    atomic_init(&c->multi, NULL);
}

void etcd_ctx_fini(struct etcd_ctx *c)
{
    CURLM *m = atomic_exchange(&c->multi, NULL);

    if (m != NULL)
        curl_multi_cleanup(m);
}

void etcd_ctx_cancel(struct etcd_ctx *c)
{
    CURLM *m;

    /* The flag first: a multi made after this load sees it (seq_cst). */
    atomic_store(&c->cancelled, true);
    m = atomic_load(&c->multi);
    if (m != NULL)
        curl_multi_wakeup(m);
}

/* The ctx's multi, made by its first blocking call (a job served on the
 * loop never needs one: its socket pair is not worth making there). */
static CURLM *etcd_ctx_multi(struct etcd_ctx *c)
{
    CURLM *m = atomic_load(&c->multi);

    if (m == NULL && (m = curl_multi_init()) != NULL)
        atomic_store(&c->multi, m);
    return m;
}

/* ---- one HTTP exchange ------------------------------------------------- */

/* Each worker thread keeps one easy handle (reset per call), so its
 * state (DNS, TLS session) survives between calls. */
static __thread CURL *etcd_easy;

void etcd_thread_fini(void)
{
    if (etcd_easy != NULL)
        curl_easy_cleanup(etcd_easy);
    etcd_easy = NULL;
}

/* What a transfer collects: the whole body (unary) or lines (watch). */
struct etcd_buf {
    char *data;
    size_t len, cap;
    bool too_big;
    /* watch: each complete line goes to fn; stop once it says so */
    etcd_event_fn fn;
    void *arg;
    bool stop;
    bool broken;   /* the stream said canceled/compacted, or bad JSON */
};

#define ETCD_BODY_MAX (4u << 20)

static bool etcd_watch_line(struct etcd_buf *b, const char *line, size_t n)
{
    json_t *j = json_loadb(line, n, 0, NULL), *res, *evs, *ev;
    size_t i;

    res = j ? json_object_get(j, "result") : NULL;
    if (res == NULL || json_is_true(json_object_get(res, "canceled")) ||
        etcd_i64(res, "compact_revision") != 0) {
        b->broken = true;
        json_decref(j);
        return true;
    }
    evs = json_object_get(res, "events");
    json_array_foreach(evs, i, ev) {
        const char *t = json_string_value(json_object_get(ev, "type"));
        int type = t != NULL && strcmp(t, "DELETE") == 0 ? 1 : 0;

        if (b->fn(type, json_object_get(ev, "kv"), b->arg)) {
            json_decref(j);
            return true;
        }
    }
    json_decref(j);
    return false;
}

static size_t etcd_write_cb(char *p, size_t size, size_t nmemb, void *arg)
{
    struct etcd_buf *b = arg;
    size_t n = size * nmemb, start;
    char *nl;

    if (b->len + n + 1 > b->cap) {
        size_t cap = (b->len + n + 1) * 2;
        char *d;

        if (cap > ETCD_BODY_MAX || (d = realloc(b->data, cap)) == NULL) {
            b->too_big = true;
            return 0;
        }
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    if (b->fn == NULL)
        return n;
    /* The gateway ends each watch message with a newline. */
    start = 0;
    while ((nl = memchr(b->data + start, '\n', b->len - start)) != NULL) {
        size_t line = (size_t)(nl - (b->data + start));

        if (line > 0 && etcd_watch_line(b, b->data + start, line)) {
            b->stop = true;
            return 0;
        }
        start += line + 1;
    }
    memmove(b->data, b->data + start, b->len - start);
    b->len -= start;
    return n;
}

enum etcd_http { ETCD_HTTP_OK, ETCD_HTTP_FAILED, ETCD_HTTP_TIMEOUT,
                 ETCD_HTTP_CANCELLED };

static enum etcd_http etcd_http_result(CURLcode res)
{
    if (res == CURLE_OPERATION_TIMEDOUT)
        return ETCD_HTTP_TIMEOUT;
    return res == CURLE_OK ? ETCD_HTTP_OK : ETCD_HTTP_FAILED;
}

/* Run h in c's multi until done, cancelled, or stopped by the writer. */
static enum etcd_http etcd_perform(struct etcd_ctx *c, CURL *h,
                                   struct etcd_buf *b)
{
    CURLcode res = CURLE_OK;
    bool done = false;
    CURLM *multi = etcd_ctx_multi(c);
    CURLMsg *m;
    int running, q;

    if (multi == NULL)
        return ETCD_HTTP_FAILED;
    curl_multi_add_handle(multi, h);
    while (!done) {
        curl_multi_perform(multi, &running);
        while ((m = curl_multi_info_read(multi, &q)) != NULL)
            if (m->msg == CURLMSG_DONE) {
                res = m->data.result;
                done = true;
            }
        if (!done && atomic_load(&c->cancelled))
            break;
        if (!done)
            curl_multi_poll(multi, NULL, 0, 1000, NULL);
    }
    curl_multi_remove_handle(multi, h);
    if (atomic_load(&c->cancelled) && !(done && b->stop))
        return ETCD_HTTP_CANCELLED;
    if (b->stop)
        return ETCD_HTTP_OK;
    return etcd_http_result(res);
}

/* Set h up for one POST of body to member ep (bounded by timeout_ms when
 * > 0), its answer going into b. */
static void etcd_easy_prepare(struct etcd *e, CURL *h, size_t ep,
                              const char *path, const char *body,
                              long timeout_ms, struct etcd_buf *b)
{
    char url[512];

    snprintf(url, sizeof(url), "%s%s", e->urls[ep], path);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, e->hdr);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, etcd_write_cb);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, b);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)e->call_ms);
    if (timeout_ms > 0)
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
    if (e->cert != NULL)
        curl_easy_setopt(h, CURLOPT_SSLCERT, e->cert);
    if (e->key != NULL)
        curl_easy_setopt(h, CURLOPT_SSLKEY, e->key);
    if (e->cacert != NULL)
        curl_easy_setopt(h, CURLOPT_CAINFO, e->cacert);
}

/* One POST of body to member ep; the answer is in b, status in *status. */
static enum etcd_http etcd_http(struct etcd_ctx *c, size_t ep,
                                const char *path, const char *body,
                                long timeout_ms, struct etcd_buf *b,
                                long *status)
{
    enum etcd_http r;
    CURL *h;

    if (etcd_easy == NULL)
        etcd_easy = curl_easy_init();
    else
        curl_easy_reset(etcd_easy);
    h = etcd_easy;
    *status = 0;
    if (h == NULL)
        return ETCD_HTTP_FAILED;
    etcd_easy_prepare(c->e, h, ep, path, body, timeout_ms, b);
    curl_easy_setopt(h, CURLOPT_SHARE, c->e->share);
    r = etcd_perform(c, h, b);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
    return r;
}

/* Move later calls off member ep (unless another call already did). */
static void etcd_fail_over(struct etcd *e, size_t ep)
{
    size_t want = ep;

    atomic_compare_exchange_strong(&e->current, &want, (ep + 1) % e->n);
}

/* gRPC codes worth another try: Unknown (e.g. "leader changed"),
 * DeadlineExceeded, ResourceExhausted, Aborted, Unavailable. */
static bool etcd_retryable(int64_t code)
{
    return code == 2 || code == 4 || code == 8 || code == 10 || code == 14;
}

/*
 * What one attempt's answer (r, status, body b) means: 0 and *out; a final
 * SYNC_ENOENT or SYNC_EINTERNAL; or SYNC_EUNAVAIL, worth another try on
 * the next member (later calls move there too).
 */
static int etcd_answer(struct etcd *e, size_t ep, const char *path,
                       enum etcd_http r, long status, struct etcd_buf *b,
                       json_t **out)
{
    json_t *j = r == ETCD_HTTP_OK && b->data
                    ? json_loadb(b->data, b->len, 0, NULL)
                    : NULL;
    int64_t code = j != NULL ? etcd_i64(j, "code") : 0;

    if (j != NULL && status == 200 && code == 0) {
        *out = j;
        return 0;
    }
    if (j != NULL && code == 5) {
        json_decref(j);
        return SYNC_ENOENT;
    }
    if (j != NULL && !etcd_retryable(code) && status < 500) {
        log_warnx("cluster: etcd %s%s answered %ld: %.200s", e->urls[ep],
                  path, status, b->data);
        json_decref(j);
        return SYNC_EINTERNAL;
    }
    json_decref(j);
    etcd_fail_over(e, ep);
    return SYNC_EUNAVAIL;
}

int etcd_post(struct etcd_ctx *c, const char *path, json_t *body,
              json_t **out)
{
    struct etcd *e = c->e;
    int64_t end = etcd_now_ms() + (c->budget_ms ? c->budget_ms : e->budget_ms),
            t0 = etcd_now_us();
    char *text = json_dumps(body, JSON_COMPACT);
    struct etcd_buf b;
    enum etcd_http r;
    size_t ep;
    long status;
    int rv = SYNC_EUNAVAIL;

    *out = NULL;
    if (text == NULL)
        return SYNC_ENOMEM;
    for (;;) {
        memset(&b, 0, sizeof(b));
        ep = atomic_load(&e->current) % e->n;
        c->sent_ms = etcd_now_ms();
        r = etcd_http(c, ep, path, text, (long)e->call_ms, &b, &status);
        if (r == ETCD_HTTP_CANCELLED) {
            rv = SYNC_EINTR;
            break;
        }
        rv = etcd_answer(e, ep, path, r, status, &b, out);
        if (rv != SYNC_EUNAVAIL)
            break;
        free(b.data);
        b.data = NULL;
        if (etcd_now_ms() >= end || etcd_ctx_multi(c) == NULL)
            break;
        /* A pause, so a stalled election is not hammered. */
        curl_multi_poll(etcd_ctx_multi(c), NULL, 0, 50, NULL);
    }
    free(b.data);
    free(text);
    etcd_count(e, etcd_now_us() - t0, rv);
    return rv;
}

/* ---- one attempt sent by someone else (etcd_loop.c) -------------------- */

size_t etcd_current(struct etcd *e)
{
    return atomic_load(&e->current) % e->n;
}

unsigned etcd_call_ms(const struct etcd *e)
{
    return e->call_ms;
}

int64_t etcd_clock_us(void)
{
    return etcd_now_us();
}

int etcd_attempt_end(struct etcd *e, size_t ep, const char *path,
                     bool arrived, long status, char *body, size_t len,
                     int64_t t0_us, json_t **out)
{
    struct etcd_buf b;
    int rv;

    memset(&b, 0, sizeof(b));
    b.data = body;
    b.len = len;
    *out = NULL;
    rv = etcd_answer(e, ep, path, arrived ? ETCD_HTTP_OK : ETCD_HTTP_FAILED,
                     status, &b, out);
    etcd_count(e, etcd_now_us() - t0_us, rv);
    return rv;
}

static int etcd_watch_req(struct etcd_ctx *c, const char *key,
                          size_t key_len, bool prefix, int64_t start_rev,
                          int64_t deadline_ms, etcd_event_fn fn, void *arg)
{
    json_t *req = json_pack("{s:{s:o,s:o}}", "create_request", "key",
                            etcd_b64(key, key_len), "start_revision",
                            etcd_s64(start_rev));
    struct etcd_buf b = {.fn = fn, .arg = arg};
    long timeout = 0, status;
    enum etcd_http r;
    size_t ep = atomic_load(&c->e->current) % c->e->n;
    char *text;

    if (req != NULL && prefix &&
        json_object_set_new(json_object_get(req, "create_request"),
                            "range_end", etcd_prefix_end(key, key_len)) != 0) {
        json_decref(req);
        req = NULL;
    }
    if (req == NULL)
        return SYNC_ENOMEM;
    text = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    if (text == NULL)
        return SYNC_ENOMEM;
    if (deadline_ms >= 0) {
        timeout = (long)(deadline_ms - etcd_now_ms());
        if (timeout <= 0) {
            free(text);
            return SYNC_ETIMEDOUT;
        }
    }
    r = etcd_http(c, ep, "/v3/watch", text, timeout, &b, &status);
    free(text);
    free(b.data);
    if (r == ETCD_HTTP_CANCELLED)
        return SYNC_EINTR;
    if (b.stop && !b.broken)
        return 0;
    if (r == ETCD_HTTP_TIMEOUT && deadline_ms >= 0 &&
        etcd_now_ms() >= deadline_ms - 1)
        return SYNC_ETIMEDOUT;
    if (!b.broken)
        etcd_fail_over(c->e, ep);
    return SYNC_EUNAVAIL;
}

int etcd_watch(struct etcd_ctx *c, const char *key, size_t key_len,
               int64_t start_rev, int64_t deadline_ms, etcd_event_fn fn,
               void *arg)
{
    return etcd_watch_req(c, key, key_len, false, start_rev, deadline_ms, fn,
                          arg);
}

int etcd_watch_prefix(struct etcd_ctx *c, const char *prefix, size_t len,
                      int64_t start_rev, int64_t deadline_ms,
                      etcd_event_fn fn, void *arg)
{
    return etcd_watch_req(c, prefix, len, true, start_rev, deadline_ms, fn,
                          arg);
}

/* ---- JSON helpers ------------------------------------------------------ */

/*
 * Base64 by hand: jansson has none, and a crypto library only for these
 * twenty lines would be a heavier dependency than the code.
 */
static const char etcd_b64_chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

json_t *etcd_b64(const char *bytes, size_t len)
{
    const unsigned char *p = (const unsigned char *)bytes;
    char *out = malloc((len + 2) / 3 * 4 + 1), *o = out;
    json_t *j;
    size_t i;

    if (out == NULL)
        return NULL;
    for (i = 0; i + 2 < len; i += 3) {
        *o++ = etcd_b64_chars[p[i] >> 2];
        *o++ = etcd_b64_chars[((p[i] & 3) << 4) | (p[i + 1] >> 4)];
        *o++ = etcd_b64_chars[((p[i + 1] & 15) << 2) | (p[i + 2] >> 6)];
        *o++ = etcd_b64_chars[p[i + 2] & 63];
    }
    if (i < len) {
        *o++ = etcd_b64_chars[p[i] >> 2];
        if (i + 1 < len) {
            *o++ = etcd_b64_chars[((p[i] & 3) << 4) | (p[i + 1] >> 4)];
            *o++ = etcd_b64_chars[(p[i + 1] & 15) << 2];
        } else {
            *o++ = etcd_b64_chars[(p[i] & 3) << 4];
            *o++ = '=';
        }
        *o++ = '=';
    }
    *o = '\0';
    j = json_string(out);
    free(out);
    return j;
}

static int etcd_b64_val(int ch)
{
    const char *p = ch != '\0' ? strchr(etcd_b64_chars, ch) : NULL;

    return p != NULL ? (int)(p - etcd_b64_chars) : -1;
}

long etcd_unb64(json_t *obj, const char *field, char *out, size_t cap)
{
    const char *s = json_string_value(json_object_get(obj, field));
    size_t n = 0;
    unsigned acc = 0;
    int bits = 0, v;

    if (s == NULL)
        return -1;
    for (; *s != '\0' && *s != '='; s++) {
        if ((v = etcd_b64_val(*s)) < 0)
            return -1;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (n + 1 >= cap)
                return -1;
            out[n++] = (char)((acc >> bits) & 0xff);
        }
    }
    out[n] = '\0';
    return (long)n;
}

int64_t etcd_i64(json_t *obj, const char *field)
{
    json_t *v = json_object_get(obj, field);

    if (json_is_integer(v))
        return json_integer_value(v);
    if (json_is_string(v))
        return strtoll(json_string_value(v), NULL, 10);
    return 0;
}

json_t *etcd_s64(int64_t n)
{
    char buf[24];

    snprintf(buf, sizeof(buf), "%lld", (long long)n);
    return json_string(buf);
}

json_t *etcd_prefix_end(const char *prefix, size_t len)
{
    char end[ETCD_KEY_MAX];

    if (len == 0 || len > sizeof(end))
        return NULL;
    memcpy(end, prefix, len);
    /* The prefixes here never end in 0xff (names are UTF-8 and the
     * separators are ASCII), so incrementing the last byte is enough. */
    end[len - 1]++;
    return etcd_b64(end, len);
}
