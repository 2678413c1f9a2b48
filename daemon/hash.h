/*
 * hash.h: uthash as every daemon file must include it.  By default uthash
 * calls exit() when an allocation fails; the daemon must instead refuse the
 * one request (SYNC_ENOMEM) and keep serving everybody else.  With
 * HASH_NONFATAL_OOM a failed add leaves the table unchanged and sets
 * hash_oom; a failed bucket expansion is only slower lookups.  Every
 * HASH_ADD* is therefore preceded by hash_oom = 0 and followed by a check.
 */
#ifndef SYNCD_HASH_H
#define SYNCD_HASH_H

/* Set by uthash when an add could not allocate (the daemon is
 * single-threaded: one flag serves every table). */
extern int hash_oom;

#define HASH_NONFATAL_OOM 1
#define uthash_nonfatal_oom(elt) (hash_oom = 1)
/* Tables allocate through the daemon's hook too (xalloc.h). */
#define uthash_malloc(sz) xmalloc(sz)
#define uthash_free(ptr, sz) xfree(ptr)

#include "uthash.h"
#include "xalloc.h"

#endif
