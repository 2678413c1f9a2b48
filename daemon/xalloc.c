/*
 * xalloc.c: the daemon's allocation hook (see xalloc.h).  The counters cost
 * one relaxed atomic add per call: allocations are off the hot path (see
 * bench/README.md), so this is not measurable there.
 */
#include "xalloc.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static _Atomic long fail_at = -1; /* value of calls that fails, or -1 */
static _Atomic long calls, live;
static _Atomic int fired;

void xalloc_fail_after(long after)
{
    if (after >= 0)
        atomic_store(&fired, 0); /* a disarm keeps the verdict readable */
    atomic_store(&fail_at, after < 0 ? -1 : atomic_load(&calls) + after);
}

long xalloc_calls(void)
{
    return atomic_load(&calls);
}

long xalloc_live(void)
{
    return atomic_load(&live);
}

int xalloc_fault_fired(void)
{
    return atomic_load(&fired);
}

/* Count one allocation; false if this is the one to fail. */
static int xalloc_allowed(void)
{
    long n = atomic_fetch_add_explicit(&calls, 1, memory_order_relaxed);

    if (n == atomic_load_explicit(&fail_at, memory_order_relaxed)) {
        atomic_store(&fired, 1);
        return 0;
    }
    return 1;
}

void *xmalloc(size_t n)
{
    void *p = xalloc_allowed() ? malloc(n) : NULL;

    if (p != NULL)
        atomic_fetch_add_explicit(&live, 1, memory_order_relaxed);
    return p;
}

void *xcalloc(size_t n, size_t size)
{
    void *p = xalloc_allowed() ? calloc(n, size) : NULL;

    if (p != NULL)
        atomic_fetch_add_explicit(&live, 1, memory_order_relaxed);
    return p;
}

void *xrealloc(void *p, size_t n)
{
    void *q;

    if (!xalloc_allowed())
        return NULL; /* p stays valid, as with realloc */
    q = realloc(p, n);
    if (q != NULL && p == NULL)
        atomic_fetch_add_explicit(&live, 1, memory_order_relaxed);
    return q;
}

char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = xmalloc(n);

    if (p != NULL)
        memcpy(p, s, n);
    return p;
}

void xfree(void *p)
{
    if (p == NULL)
        return;
    atomic_fetch_sub_explicit(&live, 1, memory_order_relaxed);
    free(p);
}
