/*
 * deadline.c: binary min-heap of deadlines keyed by (when, seq), with one
 * uv timer always set to the earliest.  Invariant: e->index is its heap
 * position while armed and SIZE_MAX otherwise.
 */
#include "deadline.h"
#include "xalloc.h"

#include <stdlib.h>

#include "syncclient.h"

static void deadlines_timer_cb(uv_timer_t *t);

int deadlines_init(struct deadlines *d, uv_loop_t *loop)
{
    d->heap = NULL;
    d->len = d->cap = 0;
    d->next_seq = 0;
    d->timer.data = d;
    return uv_timer_init(loop, &d->timer) == 0 ? 0 : SYNC_EINTERNAL;
}

void deadlines_close(struct deadlines *d, uv_close_cb close_cb)
{
    uv_close((uv_handle_t *)&d->timer, close_cb);
}

void deadlines_fini(struct deadlines *d)
{
    xfree(d->heap);
    d->heap = NULL;
    d->len = d->cap = 0;
}

void deadline_entry_init(struct deadline_entry *e,
                         void (*expire)(struct deadline_entry *e))
{
    e->when = 0;
    e->seq = 0;
    e->index = SIZE_MAX;
    e->expire = expire;
}

static int deadline_less(const struct deadline_entry *a,
                         const struct deadline_entry *b)
{
    return a->when < b->when || (a->when == b->when && a->seq < b->seq);
}

static void deadline_place(struct deadlines *d, size_t i,
                           struct deadline_entry *e)
{
    d->heap[i] = e;
    e->index = i;
}

static void deadline_sift_up(struct deadlines *d, size_t i)
{
    struct deadline_entry *e = d->heap[i];

    while (i > 0 && deadline_less(e, d->heap[(i - 1) / 2])) {
        deadline_place(d, i, d->heap[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
    deadline_place(d, i, e);
}

static void deadline_sift_down(struct deadlines *d, size_t i)
{
    struct deadline_entry *e = d->heap[i];
    size_t c;

    for (;;) {
        c = 2 * i + 1;
        if (c >= d->len)
            break;
        if (c + 1 < d->len && deadline_less(d->heap[c + 1], d->heap[c]))
            c++;
        if (!deadline_less(d->heap[c], e))
            break;
        deadline_place(d, i, d->heap[c]);
        i = c;
    }
    deadline_place(d, i, e);
}

/* Point the timer at the earliest deadline, or stop it. */
static void deadlines_rearm(struct deadlines *d)
{
    uint64_t now = uv_now(d->timer.loop);
    uint64_t when;

    if (d->len == 0) {
        uv_timer_stop(&d->timer);
        return;
    }
    when = d->heap[0]->when;
    uv_timer_start(&d->timer, deadlines_timer_cb, when > now ? when - now : 0,
                   0);
}

int deadline_reserve(struct deadlines *d)
{
    size_t cap;
    struct deadline_entry **p;

    if (d->len < d->cap)
        return 0;
    cap = d->cap ? d->cap * 2 : 64;
    if ((p = xrealloc(d->heap, cap * sizeof(*p))) == NULL)
        return SYNC_ENOMEM;
    d->heap = p;
    d->cap = cap;
    return 0;
}

int deadline_add(struct deadlines *d, struct deadline_entry *e,
                 uint64_t timeout_ms)
{
    /* Not uv_now(): the loop's clock was read when it woke and may be
     * stale by now.  The precise clock, rounded up, never is; the timer
     * then fires on the loop clock, which is never ahead of it, so a
     * wait never ends before its timeout. */
    uint64_t now = (uv_hrtime() + 999999) / 1000000;

    if (deadline_reserve(d) != 0)
        return SYNC_ENOMEM;
    e->when = timeout_ms > UINT64_MAX - now ? UINT64_MAX : now + timeout_ms;
    e->seq = d->next_seq++;
    d->heap[d->len] = e;
    e->index = d->len++;
    deadline_sift_up(d, e->index);
    if (e->index == 0)
        deadlines_rearm(d);
    return 0;
}

void deadline_remove(struct deadlines *d, struct deadline_entry *e)
{
    size_t i = e->index;
    struct deadline_entry *last;

    if (i == SIZE_MAX)
        return;
    e->index = SIZE_MAX;
    last = d->heap[--d->len];
    if (last != e) {
        deadline_place(d, i, last);
        if (i > 0 && deadline_less(last, d->heap[(i - 1) / 2]))
            deadline_sift_up(d, i);
        else
            deadline_sift_down(d, i);
    }
    if (i == 0)
        deadlines_rearm(d);
}

static void deadlines_timer_cb(uv_timer_t *t)
{
    struct deadlines *d = t->data;
    uint64_t now = uv_now(t->loop);
    struct deadline_entry *e;

    /* expire() may add or remove other entries; re-read the top each time. */
    while (d->len > 0 && d->heap[0]->when <= now) {
        e = d->heap[0];
        deadline_remove(d, e);
        e->expire(e);
    }
    deadlines_rearm(d);
}
