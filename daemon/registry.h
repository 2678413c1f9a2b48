/*
 * registry.h: the name -> object map.  Objects are created on first open,
 * refcounted by handles, and persist until unlinked (like POSIX named
 * semaphores); an unlinked object is freed with its last handle.
 */
#ifndef SYNCD_REGISTRY_H
#define SYNCD_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "objects/object.h"

struct registry {
    struct object_env env;   /* what its objects share (clock, graph) */
    struct object *by_name;  /* owned: uthash head of linked objects */
    uint32_t count;          /* live objects, linked or not */
    uint32_t max_objects;
    uint32_t max_name;
};

/* Creation parameters of an open. */
struct object_spec {
    enum object_type type;
    uint32_t value;          /* semaphores: initial value (and bound);
                                barriers: parties */
    const char *lock_name;   /* conditions: the Lock/RLock to bind (created
                                as an RLock if missing); NULL: a private
                                RLock of the condition's own */
    uint32_t uid, gid, mode; /* owner and permissions of what is created */
    bool existing;           /* open only what exists (SYNC_ENOENT), with
                                whatever parameters it was created */
    bool transient;          /* a new object's name goes with its last
                                handle (anonymous objects) */
};

void registry_init(struct registry *r, uint32_t max_objects,
                   uint32_t max_name);
/* Free every object; only at shutdown, when no handle is left. */
void registry_fini(struct registry *r);

/*
 * 0 when name (len bytes, not NUL-terminated) is a valid object name:
 * 1..max_name bytes of UTF-8 without NUL or other control characters
 * (C0, DEL, C1), whose '/'-separated segments are neither empty (no "//",
 * no leading or trailing '/') nor "." or "..".  SYNC_ENAME otherwise.
 */
/* The same check: NULL when valid, else why not ("name longer than 255
 * bytes"; a static string, overwritten by the next call). */
const char *registry_name_problem(const struct registry *r, const char *name,
                                  size_t len);

int registry_check_name(const struct registry *r, const char *name,
                        size_t len);

/*
 * Find or create the object called name (NUL-terminated, already checked)
 * and take a reference for the caller.  *created tells which happened.
 * SYNC_ETYPE (another type, or a condition's lock name naming neither a
 * Lock nor an RLock), SYNC_EEXIST (other parameters), SYNC_ELIMIT (too
 * many objects), SYNC_EINVAL (bad parameters), SYNC_ENOMEM.
 */
int registry_open(struct registry *r, const char *name,
                  const struct object_spec *spec, struct object **out,
                  bool *created);

/* Drop a reference; frees the object if it was unlinked (or transient)
 * and unused, and resets a broken barrier nobody has open any more. */
void registry_rele(struct registry *r, struct object *o);

/* Remove name from the map.  0 or SYNC_ENOENT. */
int registry_unlink(struct registry *r, const char *name);

/* The linked object called name, without taking a reference, or NULL. */
struct object *registry_lookup(const struct registry *r, const char *name);

#endif
