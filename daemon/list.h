/*
 * list.h: intrusive circular doubly-linked list (libuv queue.h style).  A
 * node that is not on a list points to itself, so removal is idempotent.
 */
#ifndef SYNCD_LIST_H
#define SYNCD_LIST_H

#include <stdbool.h>
#include <stddef.h>

struct list_node {
    struct list_node *next;
    struct list_node *prev;
};

#define container_of(ptr, type, member)                                       \
    ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

static inline void list_init(struct list_node *n)
{
    n->next = n->prev = n;
}

static inline bool list_empty(const struct list_node *head)
{
    return head->next == head;
}

static inline void list_insert_tail(struct list_node *head,
                                    struct list_node *n)
{
    n->prev = head->prev;
    n->next = head;
    head->prev->next = n;
    head->prev = n;
}

static inline void list_remove(struct list_node *n)
{
    n->prev->next = n->next;
    n->next->prev = n->prev;
    list_init(n);
}

#define list_foreach_safe(pos, tmp, head)                                     \
    for ((pos) = (head)->next, (tmp) = (pos)->next; (pos) != (head);          \
         (pos) = (tmp), (tmp) = (pos)->next)

#endif
