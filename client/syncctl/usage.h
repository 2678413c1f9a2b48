/*
 * usage.h: syncctl's verbs as a table (name, options, synopsis, help) and
 * the help texts printed from it, shared by the parser.
 */
#ifndef SYNCCTL_USAGE_H
#define SYNCCTL_USAGE_H

#include <stdio.h>

#include "parser.h"

/* Options a verb accepts besides the global ones. */
#define O_TIMEOUT 0x01u
#define O_NONBLOCK 0x02u
#define O_MODE 0x04u
#define O_VALUE 0x08u
#define O_BOUNDED 0x10u
#define O_PARTIES 0x20u
#define O_CONFLICT 0x40u /* -E N */
#define O_COMMAND 0x80u  /* -c CMD */

struct verb {
    const char *name;
    enum actions action; /* NONE: chosen by a sub-action operand */
    unsigned opts;       /* O_* */
    const char *synopsis;
    const char *summary; /* one line for syncctl --help */
    const char *help;    /* for syncctl VERB --help */
};

/* The verb called name, or NULL. */
const struct verb *verb_find(const char *name);

/* syncctl --help: every verb, the global options, the exit codes. */
void usage_main(FILE *f);

/* syncctl VERB --help, on stdout. */
void usage_verb(const struct verb *v);

#endif
