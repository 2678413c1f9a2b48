/*
 * lockcache_page.h: the shared page of lock caching (WIRE_CAP_LOCK_CACHE), as
 * the daemon and libsyncclient both see it.  One page per client, created
 * by the daemon (a sealed memfd: it cannot shrink under the daemon) and
 * passed with the HelloResult over SCM_RIGHTS.  Slot 0 is the header;
 * slots 1..LC_SLOTS-1 each carry one lent lock: a word changed only by
 * atomic compare-and-swap (the client) or exchange (the daemon), and the
 * first fencing token's base, written by the daemon before it publishes
 * the word.  docs/lock-caching.md has every transition and why it is safe.
 */
#ifndef SYNCD_LOCKCACHE_PAGE_H
#define SYNCD_LOCKCACHE_PAGE_H

#include <stdint.h>

#define LC_PAGE_SIZE 4096u
#define LC_SLOTS (LC_PAGE_SIZE / sizeof(struct lc_slot))
#define LC_MAGIC 0x31434c434e595330ull /* "0SYNCLC1" little-endian */

struct lc_slot {
    uint64_t word; /* slot 0: LC_MAGIC */
    uint64_t base; /* the token before the lent range; slot 0: LC_SLOTS */
};

/*
 * The word: state (2 bits) | gen (16) | off (16) | tid (22) | depth (8).
 * state: REVOKED (not lent: the daemon keeps the lock), FREE (lent, not
 * held), HELD (lent, held by thread tid of the client, depth levels).
 * gen: which lending of this slot (a stale handle's CAS fails).  off:
 * tokens of the range used so far: the holder's token is base + off.
 */
enum lc_state { LC_REVOKED = 0, LC_FREE = 1, LC_HELD = 2 };

#define LC_STATE_SHIFT 62
#define LC_GEN_SHIFT 46
#define LC_OFF_SHIFT 30
#define LC_TID_SHIFT 8
#define LC_GEN_MAX 0xffffu
#define LC_OFF_MAX 0xffffu
#define LC_TID_MAX 0x3fffffu
#define LC_DEPTH_MAX 0xffu

static inline uint64_t lc_word(enum lc_state st, uint32_t gen, uint32_t off,
                               uint32_t tid, uint32_t depth)
{
    return (uint64_t)st << LC_STATE_SHIFT |
           (uint64_t)(gen & LC_GEN_MAX) << LC_GEN_SHIFT |
           (uint64_t)(off & LC_OFF_MAX) << LC_OFF_SHIFT |
           (uint64_t)(tid & LC_TID_MAX) << LC_TID_SHIFT |
           (uint64_t)(depth & LC_DEPTH_MAX);
}

static inline unsigned lc_state(uint64_t w) { return (unsigned)(w >> LC_STATE_SHIFT); }
static inline uint32_t lc_gen(uint64_t w) { return (uint32_t)(w >> LC_GEN_SHIFT) & LC_GEN_MAX; }
static inline uint32_t lc_off(uint64_t w) { return (uint32_t)(w >> LC_OFF_SHIFT) & LC_OFF_MAX; }
static inline uint32_t lc_tid(uint64_t w) { return (uint32_t)(w >> LC_TID_SHIFT) & LC_TID_MAX; }
static inline uint32_t lc_depth(uint64_t w) { return (uint32_t)w & LC_DEPTH_MAX; }

/*
 * AcquireResult.cache: the lending that came with a grant, 0 for none:
 * slot (bits 0-15) | gen (16-31) | range (32-47): the client may take up to
 * `range` tokens locally (off < range).
 */
static inline uint64_t lc_grant(uint32_t slot, uint32_t gen, uint32_t range)
{
    return (uint64_t)slot | (uint64_t)gen << 16 | (uint64_t)range << 32;
}
static inline uint32_t lc_grant_slot(uint64_t g) { return (uint32_t)g & 0xffffu; }
static inline uint32_t lc_grant_gen(uint64_t g) { return (uint32_t)(g >> 16) & 0xffffu; }
static inline uint32_t lc_grant_range(uint64_t g) { return (uint32_t)(g >> 32) & 0xffffu; }

#endif
