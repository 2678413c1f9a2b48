/*
 * output.c: names and state words every back end shares, so text, JSON
 * and metrics never disagree on what to call a type, an op or a state.
 */
#include "output.h"
#include "wire.h"

#include <stdio.h>

const char *output_type_name(int type)
{
    switch (type) {
        case SYNCD__OBJECT_TYPE__LOCK:
            return "lock";
        case SYNCD__OBJECT_TYPE__RLOCK:
            return "rlock";
        case SYNCD__OBJECT_TYPE__SEMAPHORE:
            return "semaphore";
        case SYNCD__OBJECT_TYPE__BOUNDED_SEMAPHORE:
            return "bsemaphore";
        case SYNCD__OBJECT_TYPE__EVENT:
            return "event";
        case SYNCD__OBJECT_TYPE__CONDITION:
            return "condition";
        case SYNCD__OBJECT_TYPE__BARRIER:
            return "barrier";
        default:
            return "unknown";
    }
}

const char *output_op_name(size_t i)
{
    return i <= UINT32_MAX ? wire_op_name((uint32_t)i) : NULL;
}

bool output_is_lockish(int type)
{
    return type == SYNCD__OBJECT_TYPE__LOCK ||
           type == SYNCD__OBJECT_TYPE__RLOCK ||
           type == SYNCD__OBJECT_TYPE__CONDITION;
}

bool output_is_sem(int type)
{
    return type == SYNCD__OBJECT_TYPE__SEMAPHORE ||
           type == SYNCD__OBJECT_TYPE__BOUNDED_SEMAPHORE;
}

void output_state(const Syncd__ObjectInfo *o, char *buf, size_t size)
{
    switch (o->type) {
        case SYNCD__OBJECT_TYPE__LOCK:
        case SYNCD__OBJECT_TYPE__RLOCK:
            snprintf(buf, size, "%s", o->value != 0 ? "locked" : "free");
            break;
        case SYNCD__OBJECT_TYPE__CONDITION:
            /* A condition's value counts its waiters; its state is its lock's.
             */
            snprintf(buf, size, "%s", o->n_holders > 0 ? "locked" : "free");
            break;
        case SYNCD__OBJECT_TYPE__SEMAPHORE:
            snprintf(buf, size, "value %lld", (long long)o->value);
            break;
        case SYNCD__OBJECT_TYPE__BOUNDED_SEMAPHORE:
            snprintf(buf, size, "value %lld/%u", (long long)o->value, o->bound);
            break;
        case SYNCD__OBJECT_TYPE__EVENT:
            snprintf(buf, size, "%s", o->value != 0 ? "set" : "clear");
            break;
        case SYNCD__OBJECT_TYPE__BARRIER:
            snprintf(buf, size, "%u/%u%s", o->n_waiting, o->parties,
                     o->broken ? " broken" : "");
            break;
        default:
            snprintf(buf, size, "value %lld", (long long)o->value);
            break;
    }
}
