/*
 * arena.h: a bump allocator for protobuf-c unpacking, so decoding a small
 * message allocates nothing on the heap (falls back to malloc when full).
 * Everything is released at once by pb_arena_reset()/pb_arena_fini().
 */
#ifndef SYNCD_ARENA_H
#define SYNCD_ARENA_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

#define PB_ARENA_SIZE 2048

struct pb_arena_spill;

struct pb_arena {
    ProtobufCAllocator allocator;   /* pass &arena->allocator to unpack */
    size_t used;
    struct pb_arena_spill *spill;   /* owned: malloc'd overflow blocks */
    _Alignas(16) uint8_t buf[PB_ARENA_SIZE];
};

void pb_arena_init(struct pb_arena *a);
/* Free every allocation made from the arena. */
void pb_arena_reset(struct pb_arena *a);

#endif
