/* arena.c: bump allocator for protobuf-c; see arena.h. */
#include "arena.h"

#include <stdlib.h>

struct pb_arena_spill {
    struct pb_arena_spill *next;
    _Alignas(16) uint8_t data[];
};

static void *pb_arena_alloc(void *data, size_t size)
{
    struct pb_arena *a = data;
    size_t aligned = (size + 15) & ~(size_t)15;
    struct pb_arena_spill *s;

    if (aligned >= size && aligned <= PB_ARENA_SIZE - a->used) {
        void *p = a->buf + a->used;
        a->used += aligned;
        return p;
    }
    s = malloc(sizeof(*s) + size);
    if (s == NULL)
        return NULL;
    s->next = a->spill;
    a->spill = s;
    return s->data;
}

/* Memory is given back all at once by pb_arena_reset(). */
static void pb_arena_free(void *data, void *p)
{
    (void)data;
    (void)p;
}

void pb_arena_init(struct pb_arena *a)
{
    a->allocator.alloc = pb_arena_alloc;
    a->allocator.free = pb_arena_free;
    a->allocator.allocator_data = a;
    a->used = 0;
    a->spill = NULL;
}

void pb_arena_reset(struct pb_arena *a)
{
    struct pb_arena_spill *s;

    while ((s = a->spill) != NULL) {
        a->spill = s->next;
        free(s);
    }
    a->used = 0;
}
