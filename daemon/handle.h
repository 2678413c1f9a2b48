/*
 * handle.h: a session's table of small integer handles (1, 2, ...) that
 * name the objects it opened, like file descriptors.  Freed slots are
 * reused lowest-first; 0 is never a valid handle.
 */
#ifndef SYNCD_HANDLE_H
#define SYNCD_HANDLE_H

#include <stdint.h>

#include "objects/object.h"

#define HANDLE_FLAG_UNDO 0x1u
/* Never lend the lock through this handle (Open flag NO_CACHE). */
#define HANDLE_FLAG_NO_CACHE 0x2u

struct handle {
    struct object *obj;  /* owned reference (one of obj->refs, given back
                            with registry_rele when the handle closes);
                            NULL = free */
    uint32_t flags;      /* HANDLE_FLAG_* */
    uint32_t undo;       /* semaphore permits acquired and not released */
};

struct handle_table {
    struct handle *slots; /* owned; slots[i] is handle i + 1 */
    uint32_t cap;
    uint32_t used;
    uint32_t max;
};

void handle_table_init(struct handle_table *t, uint32_t max);
/* Frees the table only: the caller must have closed every handle first. */
void handle_table_fini(struct handle_table *t);

/*
 * Store obj under a new handle, which takes over the caller's reference
 * (on failure the caller still owns it).  0 and *id, SYNC_ELIMIT when max
 * handles are open, SYNC_ENOMEM.
 */
int handle_add(struct handle_table *t, struct object *obj, uint32_t flags,
               uint32_t *id);
/* The same under the number id (a reconnecting client's old handle):
 * SYNC_EEXIST when id is in use, SYNC_EINVAL for 0, SYNC_ELIMIT beyond
 * max. */
int handle_add_at(struct handle_table *t, struct object *obj, uint32_t flags,
                  uint32_t id);
/* The handle called id, or NULL when unknown. */
struct handle *handle_find(struct handle_table *t, uint32_t id);
/* Free the slot id; returns the object it referenced (or NULL), whose
 * reference passes to the caller. */
struct object *handle_remove(struct handle_table *t, uint32_t id);
/* Whether any open handle other than `except` references root, directly
 * or through an object whose object_root() it is (a condition's lock). */
int handle_refers(const struct handle_table *t, struct object *root,
                  uint32_t except);
/* Highest slot number in use is < this; iterate ids 1..handle_end()-1. */
uint32_t handle_end(const struct handle_table *t);

#endif
