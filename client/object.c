/*
 * object.c: what every object handle shares: open by name, close, simple
 * requests and queries, and the (blocking, timeout) -> wire conversion.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

int sync__timeout_us(bool blocking, double timeout, int64_t *out)
{
    double us;

    if (isnan(timeout))
        return SYNC_EINVAL;
    if (!blocking) {
        /* Python: "can't specify a timeout for a non-blocking call". */
        if (timeout >= 0)
            return SYNC_EINVAL;
        *out = 0;
        return 0;
    }
    if (timeout < 0) {
        *out = -1;
        return 0;
    }
    us = ceil(timeout * 1e6);
    /* Beyond ~292,000 years is forever. */
    *out = us >= 9.2e18 ? -1 : (int64_t)us;
    return 0;
}

/* gettid() is a system call: once per thread, not once per request.
 * Only the forking thread survives a fork, and the handler forgets its
 * id there. */
static __thread uint64_t thread_id;

uint64_t sync__thread_id(void)
{
    if (thread_id == 0)
        thread_id = (uint64_t)gettid();
    return thread_id;
}

void sync__thread_id_forget(void)
{
    thread_id = 0;
}

/* A name for an anonymous object: unique on this machine (pid, a counter,
 * 32 random bits against a recycled pid's leftovers). */
static void object_anon_name(char *buf, size_t size)
{
    static unsigned long long seq;
    uint32_t r = 0;

    if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r))
        r = (uint32_t)time(NULL);
    snprintf(buf, size, "anon/%d.%llu.%08x", (int)getpid(),
             __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED), (unsigned)r);
}

int sync__object_open(sync_client *c, const struct sync__request *open,
                      struct sync__object *o)
{
    struct sync__request req;
    struct sync__result res;
    int rv;

    if (c == NULL)
        return SYNC_EINVAL;
    req = *open;
    if (open->name == NULL) {
        /* Anonymous: the daemon drops the name with the last handle. */
        object_anon_name(o->name, sizeof(o->name));
        req.flags |= WIRE_OPEN_FLAG_TRANSIENT;
    } else if (open->name[0] == '\0' || strlen(open->name) > SYNC_NAME_MAX) {
        return SYNC_ENAME;
    } else {
        strcpy(o->name, open->name);
    }
    req.name = o->name;
    req.mode = __atomic_load_n(&c->create_mode, __ATOMIC_RELAXED);
    if (__atomic_load_n(&c->open_existing, __ATOMIC_RELAXED))
        req.flags |= WIRE_OPEN_FLAG_EXISTING;
    if ((req.type == WIRE_TYPE_LOCK || req.type == WIRE_TYPE_RLOCK) &&
        __atomic_load_n(&c->no_cache, __ATOMIC_RELAXED))
        req.flags |= WIRE_OPEN_FLAG_NO_CACHE;
    rv = sync__call(c, &req, &res);
    if (rv != 0)
        return rv;
    pthread_mutex_lock(&c->mu);
    c->refs++;
    pthread_mutex_unlock(&c->mu);
    o->client = c;
    o->handle = res.handle;
    /* What a reconnect opens again, under the same handle: never created
     * anew as something else (the mode and flags as first sent). */
    o->reopen = req;
    o->reopen.name = o->name;
    o->reopen.lock_name = NULL;
    if (open->lock_name != NULL) {
        snprintf(o->lock_name, sizeof(o->lock_name), "%s", open->lock_name);
        o->reopen.lock_name = o->lock_name;
    }
    o->reopen.pattern = o->reopen.after_name = o->reopen.client_name = NULL;
    o->lock_hash = sync__name_hash(sync__object_lock_name(o));
    sync__objects_add(c, o);
    return 0;
}

const char *sync__object_lock_name(const struct sync__object *o)
{
    return o->lock_name[0] != '\0' ? o->lock_name : o->name;
}

uint32_t sync__name_hash(const char *name)
{
    uint32_t h = 2166136261u; /* FNV-1a */

    while (*name != '\0')
        h = (h ^ (uint8_t)*name++) * 16777619u;
    return h;
}

void sync__object_close(struct sync__object *o)
{
    struct sync__request req = {.op = OP_CLOSE, .handle = o->handle};
    sync_client *c = o->client;

    /* After disconnect or fork this just fails fast; the daemon already
     * dropped the handle with the connection. */
    if (!c->forked) {
        sync__objects_remove(c, o);
        (void)sync__call(c, &req, NULL);
    }
    sync__client_rele(c);
}

int sync__object_simple(struct sync__object *o, enum wire_op op)
{
    struct sync__request req = {.op = op, .handle = o->handle};

    return sync__call(o->client, &req, NULL);
}

int sync__object_query(struct sync__object *o, struct sync__result *res)
{
    struct sync__request req = {.op = OP_QUERY, .handle = o->handle,
                                .thread = sync__thread_id()};

    return sync__call(o->client, &req, res);
}

int sync__object_call(struct sync__object *o, struct sync__request *req,
                      struct sync__result *res)
{
    req->handle = o->handle;
    req->thread = sync__thread_id();
    return sync__call(o->client, req, res);
}

const char *sync_handle_name(const void *handle)
{
    /* Every handle type begins with its struct sync__object. */
    return handle == NULL ? NULL : ((const struct sync__object *)handle)->name;
}
