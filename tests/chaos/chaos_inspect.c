/*
 * chaos_inspect.c: the daemon's own accounting, read with the inspection
 * requests (client/internal.h sync__call with OP_STATUS /
 * OP_LIST_OBJECTS / OP_LIST_CLIENTS, raw replies decoded with
 * syncd__server_message__unpack), compared with the truth.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chaos.h"
#include "internal.h"
#include "syncd.pb-c.h"

/* One inspection call; the reply's ServerMessage (caller frees) or NULL. */
static Syncd__ServerMessage *ci_call(sync_client *c,
                                     const struct sync__request *req,
                                     Syncd__Reply__ResultCase want)
{
    struct sync__result res;
    Syncd__ServerMessage *m;
    int rv;

    memset(&res, 0, sizeof(res));
    rv = sync__call(c, req, &res);
    if (rv != 0 || res.raw == NULL) {
        free(res.raw);
        ch_violation("inspection op %d failed: %s", (int)req->op,
                     sync_errname(rv));
        return NULL;
    }
    m = syncd__server_message__unpack(NULL, res.raw_len, res.raw);
    free(res.raw);
    if (m == NULL || m->msg_case != SYNCD__SERVER_MESSAGE__MSG_REPLY ||
        m->reply->result_case != want) {
        ch_violation("inspection op %d: unexpected reply", (int)req->op);
        if (m != NULL)
            syncd__server_message__free_unpacked(m, NULL);
        return NULL;
    }
    return m;
}

/* Call fn on every object named chaos/...; returns how many, -1 on error. */
static int ci_each_object(sync_client *c,
                          void (*fn)(const Syncd__ObjectInfo *o, void *arg),
                          void *arg)
{
    struct sync__request req = {
        .op = OP_LIST_OBJECTS, .limit = 100, .pattern = "chaos/*"};
    Syncd__ServerMessage *m;
    Syncd__ListResult *l;
    char after[SYNC_NAME_MAX + 1] = "";
    const ProtobufCBinaryData *last;
    int count = 0;
    bool more;
    size_t i;

    do {
        req.after_name = after[0] ? after : NULL;
        m = ci_call(c, &req, SYNCD__REPLY__RESULT_LIST);
        if (m == NULL)
            return -1;
        l = m->reply->list;
        for (i = 0; i < l->n_objects; i++)
            fn(l->objects[i], arg);
        count += (int)l->n_objects;
        more = l->more && l->n_objects > 0;
        if (more) {
            last = &l->objects[l->n_objects - 1]->name;
            snprintf(after, sizeof(after), "%.*s", (int)last->len,
                     (const char *)last->data);
        }
        syncd__server_message__free_unpacked(m, NULL);
    } while (more);
    return count;
}

static void name_of(const Syncd__ObjectInfo *o, char *buf, size_t size)
{
    snprintf(buf, size, "%.*s", (int)o->name.len, (const char *)o->name.data);
}

static bool is_lockish(const Syncd__ObjectInfo *o)
{
    return o->type == SYNCD__OBJECT_TYPE__LOCK ||
           o->type == SYNCD__OBJECT_TYPE__RLOCK ||
           o->type == SYNCD__OBJECT_TYPE__CONDITION;
}

/* Invariants that hold at every instant. */
static void ci_live_object(const Syncd__ObjectInfo *o, void *arg)
{
    char name[SYNC_NAME_MAX + 1];
    int64_t init;

    (void)arg;
    name_of(o, name, sizeof(name));
    if (is_lockish(o) && o->n_holders > 1)
        ch_violation("daemon: %s has %zu holders", name, o->n_holders);
    if ((o->type == SYNCD__OBJECT_TYPE__LOCK ||
         o->type == SYNCD__OBJECT_TYPE__RLOCK) &&
        o->value != (int64_t)o->n_holders)
        ch_violation("daemon: %s locked=%lld with %zu holders", name,
                     (long long)o->value, o->n_holders);
    if (o->type == SYNCD__OBJECT_TYPE__SEMAPHORE ||
        o->type == SYNCD__OBJECT_TYPE__BOUNDED_SEMAPHORE) {
        init = CH_SEM_INIT(o->type == SYNCD__OBJECT_TYPE__BOUNDED_SEMAPHORE);
        if (o->value < 0 || o->value > init)
            ch_violation("daemon: %s value %lld outside [0, %lld]", name,
                         (long long)o->value, (long long)init);
    }
    if (o->type == SYNCD__OBJECT_TYPE__BARRIER && o->n_waiting >= o->parties)
        ch_violation("daemon: %s has %u waiting of %u parties", name,
                     o->n_waiting, o->parties);
}

int ch_inspect_live(sync_client *c)
{
    return ci_each_object(c, ci_live_object, NULL);
}

/* The daemon's lock caching counters at the last STATUS. */
static uint64_t ci_lends, ci_reclaims;

/* Polls STATUS until only the checker is left with nobody waiting (up to
 * 10 s); returns the last status's client count. */
static unsigned ci_await_quiet(sync_client *c,
                               unsigned *waiters,
                               unsigned *objects)
{
    struct sync__request req = {.op = OP_STATUS};
    double end = ch_now() + 10;
    Syncd__ServerMessage *m;
    unsigned clients = 0;

    for (;;) {
        m = ci_call(c, &req, SYNCD__REPLY__RESULT_STATUS);
        if (m == NULL)
            return 0;
        clients = m->reply->status->clients;
        *waiters = m->reply->status->waiters;
        *objects = m->reply->status->objects;
        if (m->reply->status->counters != NULL) {
            ci_lends = m->reply->status->counters->cache_lends;
            ci_reclaims = m->reply->status->counters->cache_reclaims;
        }
        syncd__server_message__free_unpacked(m, NULL);
        if ((clients == 1 && *waiters == 0) || ch_now() > end)
            return clients;
        ch_sleep_s(0.02);
    }
}

/* `show` of one object at the end: no holder, an empty waiter queue. */
static void ci_show_final(sync_client *c, const char *name)
{
    struct sync__request req = {
        .op = OP_SHOW_OBJECT, .name = name, .max_waiters = 100};
    Syncd__ServerMessage *m = ci_call(c, &req, SYNCD__REPLY__RESULT_OBJECT);
    Syncd__ObjectInfo *o;

    if (m == NULL)
        return;
    o = m->reply->object;
    if (o->n_holders != 0 || o->n_waiters != 0 || o->n_waiting != 0)
        ch_violation(
            "final: show %s: %zu holders, %zu waiters queued, "
            "n_waiting %u",
            name, o->n_holders, o->n_waiters, o->n_waiting);
    syncd__server_message__free_unpacked(m, NULL);
}

/* At the end: nothing held, nobody waiting, values back, handles exact. */
static void ci_final_object(const Syncd__ObjectInfo *o, void *arg)
{
    char name[SYNC_NAME_MAX + 1];
    unsigned want_handles;

    ci_live_object(o, NULL);
    name_of(o, name, sizeof(name));
    ci_show_final(arg, name);
    if (o->n_holders != 0)
        ch_violation("final: %s still held by pid %u", name,
                     o->holders[0]->pid);
    if (o->n_waiting != 0)
        ch_violation("final: %s has %u waiters", name, o->n_waiting);
    if ((o->type == SYNCD__OBJECT_TYPE__LOCK ||
         o->type == SYNCD__OBJECT_TYPE__RLOCK) &&
        o->value != 0)
        ch_violation("final: %s still locked", name);
    if (o->type == SYNCD__OBJECT_TYPE__SEMAPHORE ||
        o->type == SYNCD__OBJECT_TYPE__BOUNDED_SEMAPHORE) {
        unsigned init =
            CH_SEM_INIT(o->type == SYNCD__OBJECT_TYPE__BOUNDED_SEMAPHORE);
        if (o->value != (int64_t)init)
            ch_violation(
                "final: %s value %lld, initial %u (permits not "
                "conserved)",
                name, (long long)o->value, init);
    }
    /* The checker holds one handle on each object (the condition's
     * reference to its named lock is not a handle). */
    want_handles = 1;
    if (o->handles != want_handles)
        ch_violation(
            "final: %s has %u handles, expected %u (the "
            "checker's)",
            name, o->handles, want_handles);
}

void ch_inspect_final(sync_client *c, unsigned n_objects, unsigned my_handles)
{
    struct sync__request req = {.op = OP_LIST_CLIENTS, .limit = 100};
    unsigned clients, waiters = 0, objects = 0;
    Syncd__ServerMessage *m;
    Syncd__ClientInfo *ci;
    int n;

    clients = ci_await_quiet(c, &waiters, &objects);
    if (clients != 1 || waiters != 0)
        ch_violation(
            "final: daemon status shows %u clients and %u "
            "waiters, expected only the checker and none",
            clients, waiters);
    if (objects != n_objects)
        ch_violation("final: daemon has %u objects, expected %u", objects,
                     n_objects);
    /* Lock caching is on (the default): the run must have exercised it,
     * lendings, take-backs and kills of borrowers included. */
    printf("chaos: lock caching: %llu lendings, %llu taken back\n",
           (unsigned long long)ci_lends, (unsigned long long)ci_reclaims);
    if (getenv("SYNCD_CACHE") == NULL && (ci_lends == 0 || ci_reclaims == 0))
        ch_violation("final: no lock was lent (%llu) or taken back (%llu): "
                     "the run did not exercise lock caching",
                     (unsigned long long)ci_lends,
                     (unsigned long long)ci_reclaims);
    n = ci_each_object(c, ci_final_object, c);
    if (n != (int)n_objects)
        ch_violation("final: listing shows %d chaos/ objects, expected %u", n,
                     n_objects);
    m = ci_call(c, &req, SYNCD__REPLY__RESULT_CLIENTS);
    if (m == NULL)
        return;
    if (m->reply->clients->n_clients != 1) {
        ch_violation("final: %zu clients listed, expected 1",
                     m->reply->clients->n_clients);
    } else {
        ci = m->reply->clients->clients[0];
        if (ci->handles != my_handles || ci->held != 0 || ci->waiting != 0)
            ch_violation(
                "final: the checker's session shows %u handles "
                "(expected %u), %u held, %u waiting",
                ci->handles, my_handles, ci->held, ci->waiting);
    }
    syncd__server_message__free_unpacked(m, NULL);
}
