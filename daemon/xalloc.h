/*
 * xalloc.h: every allocation the daemon makes itself goes through here, so
 * a test can fail the Nth one and check that the request gets SYNC_ENOMEM,
 * everybody else keeps being served, and nothing leaks (raft's
 * test/lib/heap.h idea).  Without a fault armed these are malloc & co.
 * libuv, protobuf-c's unpacking arena and the frame decoder (proto/)
 * allocate on their own and are not covered.
 */
#ifndef SYNCD_XALLOC_H
#define SYNCD_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
void xfree(void *p);

/*
 * Tests only: make the allocation `after` allocations from now fail
 * (0: the very next one), once; a negative value disarms.  The daemon is
 * single-threaded, but a test may arm it from another thread: the counter
 * is atomic.
 */
void xalloc_fail_after(long after);
/* Allocations (successful or failed) made so far, and live blocks now
 * (allocated, not yet freed: a leak check once the server is gone). */
long xalloc_calls(void);
long xalloc_live(void);
/* True once the armed failure has happened (until the next arming). */
int xalloc_fault_fired(void);

#endif
