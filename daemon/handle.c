/*
 * handle.c: per-session handle table.  A flat array indexed by handle - 1:
 * lookups are O(1) on the hot path; the array only grows, bounded by max.
 */
#include "handle.h"
#include "xalloc.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "syncclient.h"

void handle_table_init(struct handle_table *t, uint32_t max)
{
    memset(t, 0, sizeof(*t));
    t->max = max;
}

void handle_table_fini(struct handle_table *t)
{
    xfree(t->slots);
    memset(t, 0, sizeof(*t));
}

static int handle_grow(struct handle_table *t)
{
    uint32_t cap = t->cap ? t->cap * 2 : 8;
    struct handle *p;

    if (cap > t->max)
        cap = t->max;
    p = xrealloc(t->slots, (size_t)cap * sizeof(*p));
    if (p == NULL)
        return SYNC_ENOMEM;
    memset(p + t->cap, 0, (size_t)(cap - t->cap) * sizeof(*p));
    t->slots = p;
    t->cap = cap;
    return 0;
}

int handle_add(struct handle_table *t, struct object *obj, uint32_t flags,
               uint32_t *id)
{
    uint32_t i;
    int rv;

    if (t->used >= t->max)
        return SYNC_ELIMIT;
    if (t->used == t->cap) {
        rv = handle_grow(t);
        if (rv != 0)
            return rv;
    }
    for (i = 0; t->slots[i].obj != NULL; i++)
        ;
    t->slots[i] = (struct handle){.obj = obj, .flags = flags};
    t->used++;
    *id = i + 1;
    return 0;
}

int handle_add_at(struct handle_table *t, struct object *obj, uint32_t flags,
                  uint32_t id)
{
    int rv;

    if (id == 0)
        return SYNC_EINVAL;
    if (t->used >= t->max || id > t->max)
        return SYNC_ELIMIT;
    while (t->cap < id) {
        rv = handle_grow(t);
        if (rv != 0)
            return rv;
    }
    if (t->slots[id - 1].obj != NULL)
        return SYNC_EEXIST;
    t->slots[id - 1] = (struct handle){.obj = obj, .flags = flags};
    t->used++;
    return 0;
}

struct handle *handle_find(struct handle_table *t, uint32_t id)
{
    if (id == 0 || id > t->cap || t->slots[id - 1].obj == NULL)
        return NULL;
    return &t->slots[id - 1];
}

struct object *handle_remove(struct handle_table *t, uint32_t id)
{
    struct handle *h = handle_find(t, id);
    struct object *o;

    if (h == NULL)
        return NULL;
    o = h->obj;
    memset(h, 0, sizeof(*h));
    assert(t->used > 0);
    t->used--;
    return o;
}

int handle_refers(const struct handle_table *t, struct object *root,
                  uint32_t except)
{
    uint32_t i;

    for (i = 0; i < t->cap; i++)
        if (i + 1 != except && t->slots[i].obj != NULL &&
            object_root(t->slots[i].obj) == root)
            return 1;
    return 0;
}

uint32_t handle_end(const struct handle_table *t)
{
    return t->cap + 1;
}
