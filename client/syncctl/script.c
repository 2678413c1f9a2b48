/*
 * script.c: the small scripting verbs: event set/clear/wait/is-set,
 * sem NAME value, barrier wait/reset/abort and rm.  Each opens the object through the
 * public API, does one thing and closes it.  A reader (event is-set, sem
 * value) never creates; a barrier named without --parties must exist already.
 */
#include <stdio.h>

#include "syncctl.h"

int script_event(struct ctl *ctl)
{
    const struct parse_result *r = ctl->res;
    sync_event *e;
    int rv;

    sync_set_open_existing(ctl->client, r->action == EVENT_IS_SET);
    rv = sync_event_open(ctl->client, r->name, &e);
    if (rv != 0)
        return ctl_fail(ctl, rv, "event", r->name);
    switch (r->action) {
        case EVENT_SET:
            rv = sync_event_set(e);
            break;
        case EVENT_CLEAR:
            rv = sync_event_clear(e);
            break;
        case EVENT_WAIT:
            /* -n asks once: Python's wait(0). */
            rv = sync_event_wait(e, r->nonblock ? 0.0 : r->timeout);
            if (rv == SYNC_ETIMEDOUT) {
                /* The library's words ("not acquired") are a lock's. */
                sync_event_close(e);
                return ctl_fail_says(ctl, rv, "event", r->name,
                                     "timed out, still clear");
            }
            break;
        default:
            /* is-set answers like test(1): 0 set, 1 clear. */
            rv = sync_event_is_set(e);
            sync_event_close(e);
            if (rv < 0)
                return ctl_fail(ctl, rv, "event", r->name);
            ctl->out->event(r->name, rv == 1);
            return rv == 1 ? 0 : EXIT_FALSE;
    }
    sync_event_close(e);
    return rv != 0 ? ctl_fail(ctl, rv, "event", r->name) : 0;
}

int script_sem_value(struct ctl *ctl)
{
    const struct parse_result *r = ctl->res;
    bool bounded = false;
    sync_sem *s;
    int rv;

    /* Either kind of semaphore; the value given to open is ignored for an
     * existing one. */
    sync_set_open_existing(ctl->client, true);
    rv = sync_sem_open_flags(ctl->client, r->name, 0, false, 0, &s);
    if (rv == SYNC_ETYPE) {
        bounded = true;
        rv = sync_sem_open_flags(ctl->client, r->name, 0, true, 0, &s);
    }
    if (rv != 0)
        return ctl_fail(ctl, rv, "sem", r->name);
    rv = sync_sem_value(s);
    sync_sem_close(s);
    if (rv < 0)
        return ctl_fail(ctl, rv, "sem", r->name);
    ctl->out->sem_value(r->name, bounded, rv);
    return 0;
}

int script_barrier(struct ctl *ctl)
{
    const struct parse_result *r = ctl->res;
    sync_barrier *b;
    int rv;

    /* Without --parties: the existing barrier, whatever its parties. */
    sync_set_open_existing(ctl->client, r->parties == 0);
    rv = sync_barrier_open(ctl->client, r->name, r->parties, &b);
    if (rv == SYNC_ENOENT)
        snprintf(ctl->detail, sizeof(ctl->detail),
                 "give --parties N to create it");
    if (rv != 0)
        return ctl_fail(ctl, rv, "barrier", r->name);
    if (r->action == BARRIER_WAIT) {
        rv = sync_barrier_wait(b, r->timeout);
        if (rv >= 0)
            ctl->out->barrier(r->name, rv);
    } else {
        rv = r->action == BARRIER_RESET ? sync_barrier_reset(b)
                                        : sync_barrier_abort(b);
    }
    sync_barrier_close(b);
    return rv < 0 ? ctl_fail(ctl, rv, "barrier", r->name) : 0;
}

int script_rm(struct ctl *ctl)
{
    int rv = sync_unlink(ctl->client, ctl->res->name);

    return rv != 0 ? ctl_fail(ctl, rv, "rm", ctl->res->name) : 0;
}
