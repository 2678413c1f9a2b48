/*
 * registry.c: name -> object map (uthash).  Invariant: an object is freed
 * exactly when it is unlinked and has no handle; waiters always come with a
 * handle, so no object is freed with waiters queued.
 */
#include "registry.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "objects/barrier.h"
#include "objects/condition.h"
#include "objects/event.h"
#include "objects/lock.h"
#include "objects/semaphore.h"
#include "syncclient.h"

void registry_init(struct registry *r, uint32_t max_objects,
                   uint32_t max_name)
{
    memset(r, 0, sizeof(*r));
    r->max_objects = max_objects;
    r->max_name = max_name > SYNC_NAME_MAX ? SYNC_NAME_MAX : max_name;
}

/* Free o and drop the references it holds on other objects. */
static void registry_free_object(struct registry *r, struct object *o)
{
    struct lock *bound = NULL;

    if (o->type == OBJECT_CONDITION)
        bound = condition_from_object(o)->lock;
    assert(o->refs == 0 && o->ops->n_waiting(o) == 0 && r->count > 0);
    o->ops->free(o);
    r->count--;
    if (bound != NULL) {
        bound->conditions--;
        registry_rele(r, &bound->base);
    }
}

void registry_fini(struct registry *r)
{
    struct object *o, *tmp;

    HASH_ITER(hh, r->by_name, o, tmp) {
        HASH_DEL(r->by_name, o);
        o->linked = false;
        if (o->refs == 0)
            registry_free_object(r, o);
    }
}

/* Length of the UTF-8 sequence starting at p (at most n bytes), 0 if
 * malformed: overlong forms, surrogates and values above U+10FFFF too. */
static size_t utf8_seq_len(const unsigned char *p, size_t n)
{
    size_t len, i;
    uint32_t cp;

    if (p[0] < 0x80)
        return 1;
    if ((p[0] & 0xe0) == 0xc0) {
        len = 2;
        cp = p[0] & 0x1f;
    } else if ((p[0] & 0xf0) == 0xe0) {
        len = 3;
        cp = p[0] & 0x0f;
    } else if ((p[0] & 0xf8) == 0xf0) {
        len = 4;
        cp = p[0] & 0x07;
    } else {
        return 0;
    }
    if (len > n)
        return 0;
    for (i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (p[i] & 0x3f);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
        (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

/* What is wrong with the '/'-separated segments of name, or NULL: an
 * empty one ("a//b", a leading or trailing '/') or "." / "..", which
 * would make two spellings of one path. */
static const char *registry_segment_problem(const char *name, size_t len)
{
    size_t start = 0, end, n;

    while (start <= len) {
        const char *slash = memchr(name + start, '/', len - start);

        end = slash != NULL ? (size_t)(slash - name) : len;
        n = end - start;
        if (n == 0)
            return "name has an empty path segment ('//', or '/' at its "
                   "start or end)";
        if ((n == 1 && name[start] == '.') ||
            (n == 2 && name[start] == '.' && name[start + 1] == '.'))
            return "name has a '.' or '..' path segment";
        start = end + 1;
    }
    return NULL;
}

const char *registry_name_problem(const struct registry *r, const char *name,
                                  size_t len)
{
    static char too_long[48];
    const unsigned char *p = (const unsigned char *)name;
    size_t i = 0, step;

    if (len == 0)
        return "empty name";
    if (len > r->max_name) {
        /* The limit, never the name: it may be 10,000 bytes. */
        snprintf(too_long, sizeof(too_long), "name longer than %u bytes",
                 (unsigned)r->max_name);
        return too_long;
    }
    while (i < len) {
        if (p[i] == 0)
            return "name contains a NUL byte";
        /* C0 controls, DEL and the C1 controls U+0080..U+009F. */
        if (p[i] < 0x20 || p[i] == 0x7f ||
            (p[i] == 0xc2 && i + 1 < len && p[i + 1] >= 0x80 &&
             p[i + 1] <= 0x9f))
            return "name contains a control character";
        step = utf8_seq_len(p + i, len - i);
        if (step == 0)
            return "name is not valid UTF-8";
        i += step;
    }
    return registry_segment_problem(name, len);
}

int registry_check_name(const struct registry *r, const char *name,
                        size_t len)
{
    return registry_name_problem(r, name, len) == NULL ? 0 : SYNC_ENAME;
}

struct object *registry_lookup(const struct registry *r, const char *name)
{
    struct object *o = NULL;

    HASH_FIND_STR(r->by_name, name, o);
    return o;
}

static struct object *registry_create(const char *name,
                                      const struct object_spec *spec)
{
    switch (spec->type) {
    case OBJECT_LOCK:
        return (struct object *)lock_new(name);
    case OBJECT_SEMAPHORE:
    case OBJECT_BOUNDED_SEMAPHORE: {
        struct semaphore *s = semaphore_new(
            name, spec->value, spec->type == OBJECT_BOUNDED_SEMAPHORE);
        return s ? &s->base : NULL;
    }
    case OBJECT_EVENT:
        return (struct object *)event_new(name);
    case OBJECT_RLOCK:
        return (struct object *)rlock_new(name);
    case OBJECT_BARRIER:
        return (struct object *)barrier_new(name, spec->value);
    case OBJECT_CONDITION:
        break; /* registry_create_condition */
    }
    return NULL;
}

/* Whether spec may be created at all; checked before allocating. */
static int registry_check_spec(const struct object_spec *spec)
{
    switch (spec->type) {
    case OBJECT_LOCK:
    case OBJECT_RLOCK:
    case OBJECT_EVENT:
    case OBJECT_CONDITION:
        return 0;
    case OBJECT_SEMAPHORE:
    case OBJECT_BOUNDED_SEMAPHORE:
        return spec->value > SEMAPHORE_VALUE_MAX ? SYNC_EINVAL : 0;
    case OBJECT_BARRIER:
        return spec->value == 0 ? SYNC_EINVAL : 0;
    }
    return SYNC_EINVAL;
}

/* The creation parameter that must match when opening an existing name. */
static uint32_t registry_param(const struct object_spec *spec)
{
    switch (spec->type) {
    case OBJECT_SEMAPHORE:
    case OBJECT_BOUNDED_SEMAPHORE:
    case OBJECT_BARRIER:
        return spec->value;
    case OBJECT_LOCK:
    case OBJECT_RLOCK:
    case OBJECT_EVENT:
    case OBJECT_CONDITION:
        break;
    }
    return 0;
}

/* Whether an existing object was created with the parameters of spec. */
static bool registry_same_params(const struct object *o,
                                 const struct object_spec *spec)
{
    const struct condition *c;

    if (o->type != OBJECT_CONDITION)
        return o->param == registry_param(spec);
    c = container_of(o, struct condition, base);
    if (spec->lock_name == NULL)
        return c->own_lock;
    /* Bound by object, compared by name: once the lock is unlinked the
     * name means another lock (or none), so it no longer matches. */
    return !c->own_lock && c->lock->base.linked &&
           strcmp(c->lock->base.name, spec->lock_name) == 0;
}

/* The lock a new condition binds to, with a reference for it. */
static int registry_condition_lock(struct registry *r, const char *cond_name,
                                   const struct object_spec *spec,
                                   struct lock **out)
{
    struct object_spec rlock = {.type = OBJECT_RLOCK, .uid = spec->uid,
                                .gid = spec->gid, .mode = spec->mode};
    struct object *o;
    struct lock *own;
    bool created;
    int rv;

    if (spec->lock_name == NULL) {
        /* threading.Condition(): "a new RLock object is created and used
         * as the underlying lock" - private, reachable by no name. */
        own = rlock_new(cond_name);
        if (own == NULL)
            return SYNC_ENOMEM;
        own->base.env = &r->env;
        own->base.refs = 1;
        own->base.uid = spec->uid;
        own->base.gid = spec->gid;
        own->base.mode = spec->mode;
        r->count++;
        *out = own;
        return 0;
    }
    o = registry_lookup(r, spec->lock_name);
    if (o != NULL && o->type != OBJECT_LOCK && o->type != OBJECT_RLOCK)
        return SYNC_ETYPE;
    if (o != NULL) {
        o->refs++;
    } else {
        rv = registry_open(r, spec->lock_name, &rlock, &o, &created);
        if (rv != 0)
            return rv;
    }
    *out = lock_from_object(o);
    return 0;
}

/*
 * A condition follows its lock's name: when the lock it was bound to by
 * name has been unlinked, opening the condition with that name binds it to
 * the lock now called so (created as an RLock if missing), provided the
 * condition is idle.  SYNC_EEXIST otherwise, as for other parameters.
 */
static int registry_rebind_condition(struct registry *r, struct object *o,
                                     const struct object_spec *spec)
{
    struct condition *c = condition_from_object(o);
    struct lock *l, *old;
    int rv;

    if (c->own_lock || spec->lock_name == NULL || c->lock->base.linked ||
        strcmp(c->lock->base.name, spec->lock_name) != 0)
        return SYNC_EEXIST;
    rv = registry_condition_lock(r, o->name, spec, &l);
    if (rv != 0)
        return rv;
    if (condition_rebind(c, l, &old) != 0) {
        registry_rele(r, &l->base);
        return SYNC_EEXIST;
    }
    registry_rele(r, &old->base);
    return 0;
}

static int registry_create_condition(struct registry *r, const char *name,
                                     const struct object_spec *spec,
                                     struct object **out)
{
    struct condition *c;
    struct lock *l;
    int rv;

    /* A condition is two objects when it brings its lock along. */
    if ((spec->lock_name == NULL ||
         registry_lookup(r, spec->lock_name) == NULL) &&
        r->count + 1 >= r->max_objects)
        return SYNC_ELIMIT;
    /* Its own name would then name two objects. */
    if (spec->lock_name != NULL && strcmp(spec->lock_name, name) == 0)
        return SYNC_EINVAL;
    rv = registry_condition_lock(r, name, spec, &l);
    if (rv != 0)
        return rv;
    c = condition_new(name, l, spec->lock_name == NULL);
    if (c == NULL) {
        registry_rele(r, &l->base);
        return SYNC_ENOMEM;
    }
    *out = &c->base;
    return 0;
}

int registry_open(struct registry *r, const char *name,
                  const struct object_spec *spec, struct object **out,
                  bool *created)
{
    struct object *o = registry_lookup(r, name);
    int rv;

    *out = NULL;
    *created = false;
    if (o == NULL && spec->existing)
        return SYNC_ENOENT;
    rv = spec->existing ? 0 : registry_check_spec(spec);
    if (rv != 0)
        return rv;
    if (o != NULL) {
        if (o->type != spec->type)
            return SYNC_ETYPE;
        if (!spec->existing && !registry_same_params(o, spec)) {
            rv = o->type == OBJECT_CONDITION
                     ? registry_rebind_condition(r, o, spec)
                     : SYNC_EEXIST;
            if (rv != 0)
                return rv;
        }
        o->refs++;
        *out = o;
        return 0;
    }
    if (r->count >= r->max_objects)
        return SYNC_ELIMIT;
    if (spec->type == OBJECT_CONDITION) {
        rv = registry_create_condition(r, name, spec, &o);
        if (rv != 0)
            return rv;
    } else if ((o = registry_create(name, spec)) == NULL) {
        return SYNC_ENOMEM;
    }
    o->env = &r->env;
    r->count++;
    o->refs = 1;
    o->uid = spec->uid;
    o->gid = spec->gid;
    o->mode = spec->mode;
    o->transient = spec->transient;
    o->hash_oom = false;
    HASH_ADD_KEYPTR(hh, r->by_name, o->name, strlen(o->name), o);
    if (o->hash_oom) {
        registry_rele(r, o);
        return SYNC_ENOMEM;
    }
    o->linked = true;
    *out = o;
    *created = true;
    return 0;
}

void registry_rele(struct registry *r, struct object *o)
{
    assert(o->refs > 0);
    o->refs--;
    /* An anonymous object lives as long as someone has it open. */
    if (o->refs == 0 && o->linked && o->transient) {
        HASH_DEL(r->by_name, o);
        o->linked = false;
    }
    if (o->refs == 0 && !o->linked) {
        registry_free_object(r, o);
        return;
    }
    /* A barrier left broken by a run that is over (a timeout, an abort, a
     * party that died) would fail every later run until someone resets
     * it.  With no handle open anywhere there is no live party whose
     * Python semantics a reset could change: start afresh. */
    if (o->refs == 0 && o->type == OBJECT_BARRIER &&
        barrier_from_object(o)->broken)
        barrier_reset(barrier_from_object(o));
}

int registry_unlink(struct registry *r, const char *name)
{
    struct object *o = registry_lookup(r, name);

    if (o == NULL)
        return SYNC_ENOENT;
    HASH_DEL(r->by_name, o);
    o->linked = false;
    if (o->refs == 0)
        registry_free_object(r, o);
    return 0;
}
