/* waitq.c: FIFO wait queue; see waitq.h for the completion rule. */
#include "waitq.h"

#include <assert.h>

void waitq_init(struct waitq *q)
{
    list_init(&q->head);
    q->len = 0;
}

bool waitq_empty(const struct waitq *q)
{
    return q->len == 0;
}

size_t waitq_len(const struct waitq *q)
{
    return q->len;
}

void waitq_push(struct waitq *q, struct waiter *w)
{
    /* A waiter is on at most one queue, once: FIFO order holds by
     * construction (append at the tail, take from the head). */
    assert(w->queue == NULL);
    list_insert_tail(&q->head, &w->node);
    w->queue = q;
    q->len++;
}

struct waiter *waitq_peek(const struct waitq *q)
{
    if (q->len == 0)
        return NULL;
    return container_of(q->head.next, struct waiter, node);
}

void waitq_remove(struct waiter *w)
{
    if (w->queue == NULL)
        return;
    assert(w->queue->len > 0);
    list_remove(&w->node);
    w->queue->len--;
    w->queue = NULL;
}

struct waiter *waitq_pop(struct waitq *q)
{
    struct waiter *w = waitq_peek(q);

    if (w != NULL)
        waitq_remove(w);
    return w;
}

void waitq_complete(struct waiter *w, int code)
{
    waitq_remove(w);
    w->complete(w, code);
}
