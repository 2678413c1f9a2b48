/*
 * output.h: syncctl's back ends, as OpenBSD bgpctl's struct output: the
 * verbs fetch and decode, then hand the decoded protobuf messages (borrowed
 * for the call only) to text_output, json_output or metrics_output.
 * Every back end writes to stdout.
 */
#ifndef SYNCCTL_OUTPUT_H
#define SYNCCTL_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "syncd.pb-c.h"

struct output {
    /* status, or metrics for metrics_output; used is the socket syncctl
     * connected to and why the rule that chose it. */
    void (*status)(const Syncd__StatusResult *st, const char *used,
                   const char *why);
    /* ls: every matching object, sorted by name; cluster_error: why the
     * daemon could not list cluster/ objects (etcd), or NULL. */
    void (*objects)(Syncd__ObjectInfo *const *v, size_t n,
                    const char *cluster_error);
    /* show: one object with holders and waiters. */
    void (*object)(const Syncd__ObjectInfo *o);
    /* clients: every session in connection order. */
    void (*clients)(Syncd__ClientInfo *const *v, size_t n);
    /* barrier wait: this caller's arrival index. */
    void (*barrier)(const char *name, long index);
    /* event is-set: the answer (text prints nothing, like test(1)). */
    void (*event)(const char *name, bool set);
    /* sem NAME value: the semaphore's value now. */
    void (*sem_value)(const char *name, bool bounded, int value);
};

extern const struct output text_output;
extern const struct output json_output;
extern const struct output metrics_output;

/* ---- shared by the back ends (output.c) -------------------------------- */

/* "lock", "rlock", "semaphore", ... for a wire ObjectType. */
const char *output_type_name(int type);

/*
 * Name of requests_by_op[i] ("acquire", ...), indexed by enum wire_op
 * (proto/wire.h); NULL past the ops this syncctl knows.
 */
const char *output_op_name(size_t i);

/* The object's state in words ("locked", "value 3/5", "set", "2/3
 * broken", ...) into buf. */
void output_state(const Syncd__ObjectInfo *o, char *buf, size_t size);

/* Whether the type has a lock (Lock, RLock, Condition's lock). */
bool output_is_lockish(int type);

/* Whether the type is a semaphore (holders then hold undo permits). */
bool output_is_sem(int type);

/*
 * n bytes of s made safe for a terminal into buf (size bytes, always
 * NUL-terminated): printable UTF-8 as it is, a backslash as "\\", every
 * other byte (controls, invalid UTF-8) as \xNN; cut at a character
 * boundary when buf is full.  *width (if not NULL) gets the display
 * columns (wcwidth: 2 for a wide character).  Returns buf.
 */
const char *output_escape(const void *s, size_t n, char *buf, size_t size,
                          int *width);

#endif
