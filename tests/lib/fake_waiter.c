/*
 * fake_waiter.c: see fake_waiter.h.  The completion only records what it
 * was given, as a session's completion only queues a reply.
 */
#include "fake_waiter.h"

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <string.h>

/* Each Criterion test runs in its own process, so this starts at 0. */
static unsigned fake_waiter_clock;

static void fake_waiter_complete_cb(struct waiter *w, int code)
{
    struct fake_waiter *f = container_of(w, struct fake_waiter, w);

    cr_assert(eq(int, f->n_complete, 0),
              "waiter of owner %llu completed twice (codes %d then %d)",
              (unsigned long long)w->owner, f->code, code);
    /* The object must have unlinked the waiter before completing it. */
    cr_assert(eq(ptr, (void *)w->queue, NULL),
              "waiter completed while still queued");
    f->n_complete++;
    f->code = code;
    f->seq = ++fake_waiter_clock;
    f->token = w->token;
    f->owner_died = w->owner_died;
}

void fake_waiter_init(struct fake_waiter *f, uint64_t owner)
{
    memset(f, 0, sizeof(*f));
    list_init(&f->w.node);
    f->w.owner = owner;
    f->w.complete = fake_waiter_complete_cb;
    /* A value no object returns, so "never completed" is visible. */
    f->code = 12345;
}

void fake_waiter_init_n(struct fake_waiter *f, int n, uint64_t first_owner)
{
    int i;

    for (i = 0; i < n; i++)
        fake_waiter_init(&f[i], first_owner + (uint64_t)i);
}

void fake_waiter_init_thread(struct fake_waiter *f, uint64_t owner,
                             uint64_t thread)
{
    fake_waiter_init(f, owner);
    f->w.thread = thread;
}

bool fake_waiter_done(const struct fake_waiter *f)
{
    return f->n_complete > 0;
}

unsigned fake_waiter_completions(void)
{
    return fake_waiter_clock;
}
