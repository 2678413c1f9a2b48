/*
 * syncctl.h: what syncctl's verb files share: the run context and one
 * function per verb.  A verb returns syncctl's exit code (see main.c) and
 * has printed any error itself.
 */
#ifndef SYNCCTL_H
#define SYNCCTL_H

#include "output.h"
#include "parser.h"
#include "syncclient.h"

struct ctl {
    sync_client *client;            /* owned by main() */
    const struct parse_result *res; /* borrowed (owner: main) */
    const struct output *out;       /* text_output or json_output */
    const char *socket;             /* the path in use, for messages */
    const char *socket_why;         /* the rule that chose it (static) */
    char detail[256];               /* the daemon's message for the last
                                       failed inspection, or "" */
};

/*
 * Print what failed to stderr ("syncctl: WHAT: sync_strerror(code)", then
 * the daemon's own words from ctl->detail if any; a lost daemon is said
 * plainly) and return 100 + the SYNC error number.
 * name, if not NULL, follows what.
 */
int ctl_fail(const struct ctl *ctl,
             int code,
             const char *what,
             const char *name);
/* The same, in other words than sync_strerror(code)'s. */
int ctl_fail_says(const struct ctl *ctl, int code, const char *what,
                  const char *name, const char *words);

/* The code, or 100 + its number; no message (for codes already shown). */
int ctl_exit_code(int code);

/* Inspection (view.c). */
int view_status(struct ctl *ctl, const struct output *out);
int view_ls(struct ctl *ctl);
int view_show(struct ctl *ctl);
int view_clients(struct ctl *ctl);

/* "pid N (COMMAND)" of the first holder of name into buf, or "" when it
 * has none or cannot be read.  Prints nothing. */
void view_holder(struct ctl *ctl, const char *name, char *buf, size_t size);

/* lock / sem: run CMD while holding (run.c). */
int run_lock(struct ctl *ctl);
int run_sem(struct ctl *ctl);

/* event, barrier, rm (script.c). */
int script_event(struct ctl *ctl);
int script_sem_value(struct ctl *ctl);
int script_barrier(struct ctl *ctl);
int script_rm(struct ctl *ctl);

#endif
