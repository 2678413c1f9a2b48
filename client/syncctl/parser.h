/*
 * parser.h: syncctl's command line, as OpenBSD bgpctl's parser.h: one
 * enum actions and a struct parse_result that main() acts on.  Parsing has
 * no side effect but printing help or a usage error.
 */
#ifndef SYNCCTL_PARSER_H
#define SYNCCTL_PARSER_H

#include <stdbool.h>

/* Exit codes besides 100 + SYNC error number (see main.c); lock and sem
 * follow flock(1) and sysexits.h. */
#define EXIT_FALSE 1       /* event is-set: the event is clear */
#define EXIT_CONFLICT 1    /* lock/sem: not acquired (-n, -w); -E sets it */
#define EXIT_USAGE 64      /* EX_USAGE: bad command line */
#define EXIT_NOCMD 69      /* EX_UNAVAILABLE: lock/sem: CMD cannot run */
#define EXIT_LOCAL 125     /* syncctl itself failed (fork, pipe, memory) */
#define EXIT_SYNC_BASE 100 /* + the SYNC error number */

enum actions {
    NONE,
    STATUS,
    LS,
    SHOW,
    CLIENTS,
    METRICS,
    LOCK,
    SEM,
    SEM_VALUE,
    EVENT_SET,
    EVENT_CLEAR,
    EVENT_WAIT,
    EVENT_IS_SET,
    BARRIER_WAIT,
    BARRIER_RESET,
    BARRIER_ABORT,
    RM,
};

struct parse_result {
    enum actions action;
    const char *socket; /* --socket; NULL: the library's default;
                           borrowed (owner: argv) */
    bool json;          /* --json */
    const char *name;   /* object name, or ls's pattern (may be NULL);
                           borrowed (owner: argv) */
    double timeout;     /* -w; negative: wait forever */
    bool nonblock;      /* -n */
    unsigned value;     /* sem --value */
    bool value_set;     /* --value was given */
    bool bounded;       /* sem --bounded */
    unsigned parties;   /* barrier --parties */
    int mode;           /* --mode; -1: the library's default */
    int conflict_exit;  /* lock/sem: exit code when not acquired (-E) */
    char **cmd;         /* lock/sem: NULL-terminated; borrowed (argv) or
                           shell */
    char *shell[4];     /* -c CMD: /bin/sh -c CMD */
};

/*
 * Parse argv into *res.  Returns -1 when there is an action to run, else
 * the exit code to leave with at once: 0 after --help or --version,
 * EXIT_USAGE after a usage error (a message was printed to stderr).
 */
int parse(int argc, char **argv, struct parse_result *res);

#endif
