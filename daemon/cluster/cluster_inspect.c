/*
 * cluster_inspect.c: syncctl's views of cluster/ objects.  `ls` and `show`
 * read etcd in a job (a worker thread), so their reply is sent when the
 * job is back on the loop: `show NAME` of a cluster name alone, `ls` as
 * the local listing merged by name with what etcd holds.  When etcd is out
 * of reach, `ls` still answers with the local objects and says why the
 * cluster part is missing (after etcd_post's bounded retries, no longer).
 * Who holds or waits is read from the contender keys' values (recipe.h:
 * host, pid, uid, agent pid, session), the token is the key's create
 * revision.  Status, metrics and `clients` need no etcd: they are read
 * from the agent's own state.
 */
#include "cluster/cluster_internal.h"

#include <fnmatch.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codec.h"
#include "inspect.h"
#include "log.h"
#include "server.h"
#include "session.h"
#include "xalloc.h"

/* Keys one listing page reads at most: a page of 100 objects with their
 * contenders, well under etcd_post's 4 MiB answer. */
#define CINSPECT_KEYS 5000
#define CINSPECT_HOST 64

/* A contender (q/ key) of a Lock/RLock, from the key's value. */
struct cparty {
    struct party_info p;
    char host[CINSPECT_HOST];
};

/* One cluster object as etcd has it. */
struct cview {
    char name[SYNC_NAME_MAX + 1];
    bool typed;                /* its type key exists (unlinked: no) */
    int type;
    uint32_t param;
    char extra[SYNC_NAME_MAX + 1]; /* a Condition's lock name, or "" */
    int64_t inc;               /* the type key's create revision */
    int64_t flag;              /* Event: 1 set */
    /* recipe_prim.h's state under INC/, of the newest INC seen */
    int64_t state_inc, x, gen, round;
    uint32_t permits, waits, arrivals; /* s/, w/, a/ROUND/ of round */
    bool broken;
    char act[40 + RECIPE_SUFFIX_MAX]; /* a Barrier's action running:
                                         its actor's "INC/a/ROUND/WHO"
                                         ("": none, or found) */
    struct cparty *q;          /* owned: contenders by create revision */
    size_t nq, capq;
    uint32_t n_contenders;     /* all of them (q may hold fewer) */
};

struct cinspect {
    bool show;
    char name[SYNC_NAME_MAX + 1];    /* show */
    char pattern[SYNC_NAME_MAX + 1]; /* ls; "" none */
    char after[SYNC_NAME_MAX + 1];   /* ls; "" from the start */
    uint32_t limit, max_waiters;
    char start[ETCD_KEY_MAX], prefix[ETCD_KEY_MAX];
    size_t start_len, prefix_len;    /* range [start, end of prefix) */
    /* answer */
    struct cview *v;                 /* owned */
    size_t n, cap;
    bool more;                       /* etcd holds keys past this page */
};

/* ---- on the worker thread ---------------------------------------------- */

/* What the worker fills is malloc's (xalloc is the loop's); the reply's
 * holders and waiters, made on the loop, are xalloc's. */

/* Room in *v (n used of *cap items of size bytes) for one more; false
 * when out of memory (*v unchanged). */
static bool cinspect_grow(void **v, size_t n, size_t *cap, size_t size)
{
    size_t c = *cap ? *cap * 2 : 8;
    void *p;

    if (n < *cap)
        return true;
    if ((p = realloc(*v, c * size)) == NULL)
        return false;
    *v = p;
    *cap = c;
    return true;
}

static struct cview *cinspect_view(struct cinspect *in, const char *name,
                                   size_t len)
{
    struct cview *v;

    if (in->n > 0 && strlen(in->v[in->n - 1].name) == len &&
        memcmp(in->v[in->n - 1].name, name, len) == 0)
        return &in->v[in->n - 1];
    if (!cinspect_grow((void **)&in->v, in->n, &in->cap, sizeof(*in->v)))
        return NULL;
    v = &in->v[in->n++];
    memset(v, 0, sizeof(*v));
    memcpy(v->name, name, len < SYNC_NAME_MAX ? len : SYNC_NAME_MAX);
    return v;
}

/* A contender key's value: {"host":..,"pid":..,"uid":..,"agent":..,
 * "session":..}, written by cluster_lock.c. */
static void cinspect_party(json_t *kv, struct cparty *c)
{
    char val[512];
    json_t *info;
    const char *host;

    memset(c, 0, sizeof(*c));
    c->p.token = (uint64_t)etcd_i64(kv, "create_revision");
    c->p.depth = 1;
    if (etcd_unb64(kv, "value", val, sizeof(val)) < 0 ||
        (info = json_loads(val, 0, NULL)) == NULL) {
        snprintf(c->host, sizeof(c->host), "?");
        return;
    }
    host = json_string_value(json_object_get(info, "host"));
    snprintf(c->host, sizeof(c->host), "%s", host ? host : "?");
    c->p.pid = (uint32_t)json_integer_value(json_object_get(info, "pid"));
    c->p.uid = (uint32_t)json_integer_value(json_object_get(info, "uid"));
    c->p.agent_pid =
        (uint32_t)json_integer_value(json_object_get(info, "agent"));
    c->p.session_id =
        (uint64_t)json_integer_value(json_object_get(info, "session"));
    json_decref(info);
}

static int cinspect_add_party(struct cview *v, json_t *kv)
{
    v->n_contenders++;
    if (!cinspect_grow((void **)&v->q, v->nq, &v->capq, sizeof(*v->q)))
        return SYNC_ENOMEM;
    cinspect_party(kv, &v->q[v->nq++]);
    return 0;
}

static int cinspect_party_cmp(const void *a, const void *b)
{
    const struct cparty *x = a, *y = b;

    return x->p.token < y->p.token ? -1 : x->p.token > y->p.token;
}

/* A Semaphore's, Barrier's or Condition's key "INC/REST" (recipe_prim.h):
 * counted when INC is the newest incarnation seen so far (keys come
 * sorted, so an older one's are seen first and forgotten). */
static void cinspect_prim_key(struct cview *v, const char *suffix,
                              json_t *kv)
{
    char val[32];
    int64_t inc, round;
    int n = 0;

    if (sscanf(suffix, "%16" SCNx64 "/%n", &inc, &n) != 1 || n != 17)
        return;
    if (inc > v->state_inc) {
        v->state_inc = inc;
        v->x = v->gen = v->round = 0;
        v->permits = v->waits = v->arrivals = 0;
        v->broken = false;
    }
    if (inc < v->state_inc)
        return;
    suffix += n;
    if (strncmp(suffix, "s/", 2) == 0)
        v->permits++;
    else if (strncmp(suffix, "w/", 2) == 0)
        v->waits++;
    else if (strcmp(suffix, "broken") == 0)
        v->broken = true;
    else if (strcmp(suffix, "x") == 0 || strcmp(suffix, "gen") == 0) {
        if (etcd_unb64(kv, "value", val, sizeof(val)) > 0)
            *(suffix[0] == 'x' ? &v->x : &v->gen) = strtoll(val, NULL, 10);
    } else if (strcmp(suffix, "act") == 0) {
        /* The round's action runs ("ROUND WHO"): the actor's arrival key
         * (listed just before, "a/" sorting before "act") is not a
         * waiter's; cinspect_keys finds it to name the actor. */
        char act[32 + RECIPE_SUFFIX_MAX], who[RECIPE_SUFFIX_MAX];
        long long r;

        if (etcd_unb64(kv, "value", act, sizeof(act)) > 0 &&
            sscanf(act, "%lld %39s", &r, who) == 2 && r == v->round &&
            v->arrivals > 0) {
            v->arrivals--;
            snprintf(v->act, sizeof(v->act), "%016llx/a/%016llx/%s",
                     (unsigned long long)inc, (unsigned long long)r, who);
        }
    } else if (sscanf(suffix, "a/%16" SCNx64 "/", &round) == 1) {
        if (round > v->round) {
            v->round = round;
            v->arrivals = 0;
        }
        v->arrivals += round == v->round;
    }
}

/* One key of NAME's: its type, an Event's flag, a Lock's contender, the
 * other types' state. */
static int cinspect_key(struct cview *v, const char *suffix, json_t *kv)
{
    char val[32 + SYNC_NAME_MAX + 1];
    unsigned t, p;
    int n = 0;

    if (strcmp(suffix, "type") == 0) {
        /* "T:P" or "T:P:EXTRA" (recipe_prim.h) */
        if (etcd_unb64(kv, "value", val, sizeof(val)) >= 0 &&
            sscanf(val, "%u:%u%n", &t, &p, &n) == 2) {
            v->typed = true;
            v->type = (int)t;
            v->param = p;
            v->inc = etcd_i64(kv, "create_revision");
            snprintf(v->extra, sizeof(v->extra), "%s",
                     val[n] == ':' ? val + n + 1 : "");
        }
        return 0;
    }
    if (strcmp(suffix, "flag") == 0) {
        v->flag = etcd_unb64(kv, "value", val, sizeof(val)) == 1 &&
                  val[0] == '1';
        return 0;
    }
    if (strncmp(suffix, "q/", 2) == 0)
        return cinspect_add_party(v, kv);
    cinspect_prim_key(v, suffix, kv); /* marks: nothing shown */
    return 0;
}

/* A Barrier's action runs (v->act): its actor is the party of the
 * arrival key v->act, among NAME's keys listed before kvs[i]. */
static int cinspect_actor(struct cview *v, json_t *kvs, size_t i,
                          const char *key, size_t prefix_len)
{
    char k[ETCD_KEY_MAX];
    json_t *kv;
    long n;

    while (i-- > 0) {
        kv = json_array_get(kvs, i);
        n = etcd_unb64(kv, "key", k, sizeof(k));
        if (n < (long)prefix_len || memcmp(k, key, prefix_len) != 0)
            break;
        if (strcmp(k + prefix_len, v->act) == 0)
            return cinspect_add_party(v, kv);
    }
    return 0;
}

/* Every key in kvs into in's views (keys arrive sorted, so one object's
 * keys are together). */
static int cinspect_keys(struct cinspect *in, json_t *kvs)
{
    char key[ETCD_KEY_MAX];
    const char *sep;
    struct cview *v;
    json_t *kv;
    size_t i;
    long n;
    int rv;

    json_array_foreach(kvs, i, kv) {
        n = etcd_unb64(kv, "key", key, sizeof(key));
        /* "syncd\x01NAME\x01SUFFIX": no name holds a control byte. */
        if (n < 8 || memcmp(key, "syncd\x01", 6) != 0 ||
            (sep = memchr(key + 6, 1, (size_t)n - 6)) == NULL)
            continue;
        v = cinspect_view(in, key + 6, (size_t)(sep - (key + 6)));
        if (v == NULL)
            return SYNC_ENOMEM;
        if ((rv = cinspect_key(v, sep + 1, kv)) != 0)
            return rv;
        if (v->act[0] != '\0') {
            rv = cinspect_actor(v, kvs, i, key, (size_t)(sep + 1 - key));
            v->act[0] = '\0';
            if (rv != 0)
                return rv;
        }
    }
    return 0;
}

static int cinspect_range(struct etcd_ctx *c, struct cinspect *in)
{
    json_t *req = json_pack("{s:o,s:o,s:s}", "key",
                            etcd_b64(in->start, in->start_len), "range_end",
                            etcd_prefix_end(in->prefix, in->prefix_len),
                            "limit", "5000");
    json_t *out = NULL;
    int rv = req ? etcd_post(c, "/v3/kv/range", req, &out) : SYNC_ENOMEM;

    json_decref(req);
    if (rv == 0)
        rv = cinspect_keys(in, json_object_get(out, "kvs"));
    /* The last object may go on past the page: it comes again next
     * page (unless it is the only one: then it is shown as far as read). */
    if (rv == 0 && json_is_true(json_object_get(out, "more"))) {
        in->more = true;
        if (in->n > 1)
            free(in->v[--in->n].q);
    }
    json_decref(out);
    return rv;
}

/* show NAME: every key of the object (CINSPECT_KEYS at most) and how
 * many contenders a Lock has, in one read. */
static int cinspect_one(struct etcd_ctx *c, struct cinspect *in)
{
    char k[ETCD_KEY_MAX], q[ETCD_KEY_MAX];
    int kl = snprintf(k, sizeof(k), "syncd\x01%s\x01", in->name);
    int ql = snprintf(q, sizeof(q), "syncd\x01%s\x01q/", in->name);
    json_t *req, *out = NULL, *rs;
    struct cview *v = cinspect_view(in, in->name, strlen(in->name));
    int rv;

    if (v == NULL)
        return SYNC_ENOMEM;
    req = json_pack("{s:[{s:{s:o,s:o,s:s}},{s:{s:o,s:o,s:b}}]}", "success",
                    "request_range", "key", etcd_b64(k, (size_t)kl),
                    "range_end", etcd_prefix_end(k, (size_t)kl), "limit",
                    "5000", "request_range", "key", etcd_b64(q, (size_t)ql),
                    "range_end", etcd_prefix_end(q, (size_t)ql),
                    "count_only", 1);
    rv = req ? etcd_post(c, "/v3/kv/txn", req, &out) : SYNC_ENOMEM;
    json_decref(req);
    rs = json_object_get(out, "responses");
    if (rv == 0)
        rv = cinspect_keys(in, json_object_get(json_object_get(
                                   json_array_get(rs, 0), "response_range"),
                               "kvs"));
    if (rv == 0)
        v->n_contenders = (uint32_t)etcd_i64(
            json_object_get(json_array_get(rs, 1), "response_range"),
            "count");
    json_decref(out);
    return rv;
}

void cluster_inspect_run(struct cjob *j)
{
    struct cinspect *in = j->insp;
    size_t i, k;

    j->rv = in->show ? cinspect_one(&j->ctx, in) : cinspect_range(&j->ctx, in);
    if (j->rv != 0)
        return;
    /* Only objects that exist (an unlinked one's contenders may linger
     * until their holders let go) and match the pattern. */
    for (i = k = 0; i < in->n; i++) {
        struct cview *v = &in->v[i];

        if (!v->typed || (in->pattern[0] != '\0' &&
                          fnmatch(in->pattern, v->name, 0) != 0)) {
            free(v->q);
            continue;
        }
        if (v->nq > 1)
            qsort(v->q, v->nq, sizeof(*v->q), cinspect_party_cmp);
        in->v[k++] = *v;
    }
    in->n = k;
}

/* ---- back on the loop -------------------------------------------------- */

static void cinspect_free(struct cinspect *in)
{
    size_t i;

    if (in == NULL)
        return;
    for (i = 0; i < in->n; i++)
        free(in->v[i].q);
    free(in->v);
    free(in);
}

/* What this agent itself knows of its own contenders: the client's
 * command name and, for a holder, its thread and depth. */
static void cinspect_local(struct cluster *cl, const struct cview *v,
                           struct party_info *p)
{
    struct session *s;
    struct list_node *n;
    struct cobj *o;

    if (p->agent_pid != (uint32_t)getpid() || strcmp(p->host, cl->host) != 0 ||
        (s = server_find_session(cl->srv, p->session_id)) == NULL)
        return;
    p->client_name = s->client_name;
    for (n = s->cluster ? s->cluster->objs.next : NULL;
         n != NULL && n != &s->cluster->objs; n = n->next) {
        o = container_of(n, struct cobj, link);
        if (strcmp(o->name, v->name) == 0 && o->st == COBJ_HELD &&
            (uint64_t)o->token == p->token) {
            p->thread = o->thread;
            p->depth = o->depth;
        }
    }
}

/* v as syncctl's object_info; its parties point into v (and the agent's
 * sessions): send before the loop runs again. */
static int cinspect_info(struct cluster *cl, const struct cview *v,
                         uint32_t max_waiters, struct object_info *out)
{
    size_t i, nw;

    memset(out, 0, sizeof(*out));
    out->name = v->name;
    out->type = (enum object_type)v->type;
    switch (out->type) {
    case OBJECT_LOCK:
    case OBJECT_RLOCK:
        out->value = v->n_contenders > 0;
        out->n_waiting = v->n_contenders > 0 ? v->n_contenders - 1 : 0;
        out->tokens = v->nq > 0 ? v->q[0].p.token : 0;
        break;
    case OBJECT_EVENT:
        out->value = v->flag;
        break;
    case OBJECT_SEMAPHORE:
    case OBJECT_BOUNDED_SEMAPHORE:
        /* recipe_prim.h: value = initial + x - count(s/) */
        if (v->state_inc == v->inc) {
            out->value = (int64_t)v->param + v->x - v->permits;
            out->n_waiting = v->waits;
        } else {
            out->value = v->param;
        }
        out->bound = out->type == OBJECT_BOUNDED_SEMAPHORE ? v->param : 0;
        break;
    case OBJECT_BARRIER:
        out->parties = v->param;
        if (v->state_inc == v->inc) {
            out->broken = v->broken;
            out->n_waiting = v->round == v->gen ? v->arrivals : 0;
        }
        break;
    case OBJECT_CONDITION:
        /* Its waiters; holders are its own lock's contenders (a named
         * lock's are that lock's: show it). */
        out->n_waiting = v->state_inc == v->inc ? v->waits : 0;
        out->lock_name = v->extra[0] ? v->extra : NULL;
        out->value = out->n_waiting;
        break;
    }
    if (v->nq == 0)
        return 0;
    out->holders = xcalloc(1, sizeof(*out->holders));
    if (out->holders == NULL)
        return SYNC_ENOMEM;
    out->holders[0] = v->q[0].p;
    out->holders[0].host = v->q[0].host;
    cinspect_local(cl, v, &out->holders[0]);
    out->n_holders = 1;
    /* Waiters in queue order: a Lock's contenders (a Condition's are
     * counted, not listed: they are not in its lock's queue). */
    nw = v->nq - 1 < max_waiters ? v->nq - 1 : max_waiters;
    if (nw == 0 || (out->type != OBJECT_LOCK && out->type != OBJECT_RLOCK))
        return 0;
    out->waiters = xcalloc(nw, sizeof(*out->waiters));
    if (out->waiters == NULL)
        return SYNC_ENOMEM;
    for (i = 0; i < nw; i++) {
        out->waiters[i] = v->q[i + 1].p;
        out->waiters[i].host = v->q[i + 1].host;
        out->waiters[i].depth = 0;
        cinspect_local(cl, v, &out->waiters[i]);
    }
    out->n_waiters = nw;
    return 0;
}

static const char *cinspect_why(int rv)
{
    return rv == SYNC_EUNAVAIL ? "etcd is unreachable (no member answered "
                                 "in time)"
           : rv == SYNC_EINTERNAL ? "etcd's answer was not understood"
                                  : sync_strerror(rv);
}

static void cinspect_show_done(struct cjob *j, struct cinspect *in)
{
    struct session *s = j->cs->s;
    struct reply rp = {.id = j->req_id, .kind = REPLY_OBJECT};
    struct object_info o;
    int rv = j->rv;

    if (rv == 0 && in->n == 0)
        rv = SYNC_ENOENT;
    if (rv == 0)
        rv = cinspect_info(j->cl, &in->v[0], in->max_waiters, &o);
    if (rv != 0) {
        if (rv != SYNC_ENOENT)
            log_warnx("client pid %d uid %u: show '%s': %s", (int)s->pid,
                      (unsigned)s->uid, in->name, cinspect_why(rv));
        cluster_reply(j, rv, rv == SYNC_ENOENT ? NULL : cinspect_why(rv));
        return;
    }
    j->answered = true;
    rp.u.object = &o;
    session_send(s, &rp);
    inspect_object_fini(&o);
}

/*
 * The local page and the cluster views merged by name, at most limit;
 * more when either has objects past it.  A cluster page cut short by
 * CINSPECT_KEYS ends the merged page at its last name (what follows it,
 * local or not, comes with the next page).
 */
static int cinspect_merge(struct cluster *cl, struct cinspect *in,
                          struct object_list *local, struct object_list *out)
{
    size_t a = 0, b = 0, k = 0;
    int rv = 0, c;

    memset(out, 0, sizeof(*out));
    out->v = xcalloc(in->limit, sizeof(*out->v));
    if (out->v == NULL)
        return SYNC_ENOMEM;
    while (k < in->limit && (a < local->n || b < in->n)) {
        c = a == local->n ? 1
            : b == in->n  ? -1
                          : strcmp(local->v[a].name, in->v[b].name);
        if (c <= 0 && in->more && b == in->n)
            break; /* past the cluster page's last name */
        if (c <= 0) {
            out->v[k++] = local->v[a];
            memset(&local->v[a++], 0, sizeof(local->v[0]));
        } else if ((rv = cinspect_info(cl, &in->v[b++], INSPECT_MAX_WAITERS,
                                       &out->v[k++])) != 0) {
            break;
        }
    }
    out->n = k;
    out->more = local->more || in->more || a < local->n || b < in->n;
    return rv;
}

static void cinspect_list_done(struct cjob *j, struct cinspect *in)
{
    struct session *s = j->cs->s;
    struct reply rp = {.id = j->req_id, .kind = REPLY_LIST};
    struct object_list local, all;
    int rv;

    rv = inspect_list(s, in->pattern[0] ? in->pattern : NULL,
                      in->after[0] ? in->after : NULL, in->limit, &local);
    if (rv != 0) {
        cluster_reply(j, rv, NULL);
        return;
    }
    if (j->rv != 0) {
        /* Local objects still, and why the cluster ones are not there. */
        log_warnx("client pid %d uid %u: list: cluster/ objects left out: "
                  "%s", (int)s->pid, (unsigned)s->uid, cinspect_why(j->rv));
        while (in->n > 0)
            free(in->v[--in->n].q);
        in->more = false;
    }
    rv = cinspect_merge(j->cl, in, &local, &all);
    inspect_list_fini(&local);
    if (rv != 0) {
        inspect_list_fini(&all);
        cluster_reply(j, rv, NULL);
        return;
    }
    all.cluster_error = j->rv != 0 ? cinspect_why(j->rv) : NULL;
    j->answered = true;
    rp.u.list = &all;
    session_send(s, &rp);
    inspect_list_fini(&all);
}

void cluster_inspect_done(struct cjob *j)
{
    struct cinspect *in = j->insp;

    if (!j->answered && j->cs != NULL && j->cs->s != NULL) {
        if (in->show)
            cinspect_show_done(j, in);
        else
            cinspect_list_done(j, in);
    }
    cinspect_free(j->insp);
    j->insp = NULL;
}

/* ---- the hooks --------------------------------------------------------- */

#define CLUSTER_INSPECT_BUDGET_MS 3000

/* Start a job for in on behalf of s; false (and in freed) when out of
 * memory. */
static bool cinspect_start(struct session *s, const struct request *rq,
                           struct cinspect *in)
{
    struct cluster *cl = s->server->cluster;
    struct csess *cs = cluster_csess(s);
    struct cjob *j = cs != NULL ? cluster_job_new(cl, cs, CJ_INSPECT) : NULL;

    if (j == NULL) {
        cinspect_free(in);
        return false;
    }
    j->req_id = rq->id;
    j->op = rq->op;
    j->insp = in;
    /* A look, not a change: an operator asking while etcd is out of reach
     * hears so (with the local objects) after half the budget of a call
     * that must get through; an election (1-2 s) still fits. */
    j->ctx.budget_ms = CLUSTER_INSPECT_BUDGET_MS;
    cluster_job_start(j);
    return true;
}

void cluster_inspect_show(struct session *s, const struct request *rq)
{
    struct cinspect *in;

    if (s->server->cluster == NULL) {
        cluster_send(s, rq->id, SYNC_ENOENT,
                     "cluster/ names need a daemon started with --cluster");
        return;
    }
    in = calloc(1, sizeof(*in));
    if (in == NULL) {
        cluster_send(s, rq->id, SYNC_ENOMEM, NULL);
        return;
    }
    in->show = true;
    snprintf(in->name, sizeof(in->name), "%s", rq->name);
    in->max_waiters = rq->max_waiters == 0 ||
                              rq->max_waiters > INSPECT_MAX_WAITERS
                          ? INSPECT_MAX_WAITERS
                          : rq->max_waiters;
    if (!cinspect_start(s, rq, in))
        cluster_send(s, rq->id, SYNC_ENOMEM, NULL);
}

/* The literal start of pattern (up to its first wildcard) into out. */
static size_t cinspect_literal(const char *pattern, char *out, size_t cap)
{
    size_t n = 0;

    for (; *pattern && !strchr("*?[\\", *pattern) && n + 1 < cap; pattern++)
        out[n++] = *pattern;
    out[n] = '\0';
    return n;
}

bool cluster_inspect_list(struct session *s, const struct request *rq)
{
    char lit[SYNC_NAME_MAX + 1];
    size_t ll;
    struct cinspect *in;
    int n;

    if (s->server->cluster == NULL)
        return false;
    ll = cinspect_literal(rq->pattern_len ? rq->pattern : "", lit,
                          sizeof(lit));
    /* A pattern whose fixed start no cluster/ name has: local only. */
    if (strncmp(lit, CLUSTER_PREFIX,
                ll < CLUSTER_PREFIX_LEN ? ll : CLUSTER_PREFIX_LEN) != 0)
        return false;
    in = calloc(1, sizeof(*in));
    if (in == NULL)
        return false; /* the local listing then, without cluster/ */
    if (rq->pattern_len)
        snprintf(in->pattern, sizeof(in->pattern), "%s", rq->pattern);
    if (rq->after_name_len)
        snprintf(in->after, sizeof(in->after), "%s", rq->after_name);
    in->limit = rq->limit == 0 || rq->limit > INSPECT_PAGE ? INSPECT_PAGE
                                                            : rq->limit;
    n = snprintf(in->prefix, sizeof(in->prefix), "syncd\x01%s",
                 ll > CLUSTER_PREFIX_LEN ? lit : CLUSTER_PREFIX);
    in->prefix_len = (size_t)n;
    /* Names after `after` have keys from "syncd\x01AFTER\x02" on (the
     * separator \x01 sorts below every byte a name has). */
    memcpy(in->start, in->prefix, in->prefix_len);
    in->start_len = in->prefix_len;
    if (in->after[0] != '\0') {
        char k[ETCD_KEY_MAX];
        int kl = snprintf(k, sizeof(k), "syncd\x01%s\x02", in->after);

        if (kl > 0 && (size_t)kl < sizeof(k) && strcmp(k, in->start) > 0) {
            memcpy(in->start, k, (size_t)kl + 1);
            in->start_len = (size_t)kl;
        }
    }
    return cinspect_start(s, rq, in);
}

/* ---- no etcd needed ---------------------------------------------------- */

void cluster_inspect_status(struct cluster *cl, struct status_info *st)
{
    static char urls[ETCD_MAX_ENDPOINTS * 128];
    struct etcd_stats es;
    struct list_node *n;
    size_t i, len = 0;

    if (cl == NULL)
        return;
    urls[0] = '\0';
    for (i = 0; i < etcd_n_endpoints(cl->etcd); i++)
        len += (size_t)snprintf(urls + len, sizeof(urls) - len, "%s%s",
                                i ? "," : "", etcd_endpoint(cl->etcd, i));
    st->cluster = urls;
    etcd_stats(cl->etcd, &es);
    st->cluster_calls = es.calls;
    st->cluster_errors = es.errors;
    st->cluster_latency_us = es.latency_us;
    st->cluster_latency_max_us = es.latency_max_us;
    st->cluster_leases_lost = cl->stats.leases_lost;
    for (n = cl->sessions.next; n != &cl->sessions; n = n->next)
        st->cluster_leases +=
            container_of(n, struct csess, link)->lease_state == LEASE_LIVE;
}

void cluster_inspect_client(const struct session *s, struct client_info *c)
{
    const struct csess *cs = s->cluster;
    const struct list_node *n;

    if (cs == NULL)
        return;
    c->handles += cs->used;
    c->cluster_lease =
        cs->lease_state == LEASE_LIVE ? (uint64_t)cs->lease : 0;
    for (n = cs->objs.next; n != &cs->objs; n = n->next)
        c->cluster_held +=
            container_of(n, const struct cobj, link)->st == COBJ_HELD;
}
