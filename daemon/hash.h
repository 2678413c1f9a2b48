/*
 * hash.h: uthash as every daemon file must include it.  By default uthash
 * calls exit() when an allocation fails; the daemon must instead refuse the
 * one request (SYNC_ENOMEM) and keep serving everybody else.  With
 * HASH_NONFATAL_OOM a failed add leaves the table unchanged and marks the
 * element: every struct kept in a uthash has a `bool hash_oom`, cleared
 * before each HASH_ADD* and checked after (no global flag).  A failed
 * bucket expansion is only slower lookups.
 */
#ifndef SYNCD_HASH_H
#define SYNCD_HASH_H

#include <stdbool.h>

#define HASH_NONFATAL_OOM 1
#define uthash_nonfatal_oom(elt) ((elt)->hash_oom = true)
/* Tables allocate through the daemon's hook too (xalloc.h). */
#define uthash_malloc(sz) xmalloc(sz)
#define uthash_free(ptr, sz) xfree(ptr)

#include "uthash.h"
#include "xalloc.h"

#endif
