/*
 * parser.c: argv -> struct parse_result.  Global options come before the
 * verb or among its own; a verb's options may follow its operands (GNU
 * permutation) except after "--", where the command of lock/sem begins.
 * Every verb answers --help on stdout; usage errors go to stderr.
 */
#include "parser.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "usage.h"

static const struct option longopts[] = {
    {"socket", required_argument, NULL, 's'},
    {"json", no_argument, NULL, 'j'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {"timeout", required_argument, NULL, 'w'},
    {"nonblock", no_argument, NULL, 'n'},
    {"mode", required_argument, NULL, 'm'},
    {"value", required_argument, NULL, 'v'},
    {"bounded", no_argument, NULL, 'b'},
    {"parties", required_argument, NULL, 'p'},
    {"conflict-exit-code", required_argument, NULL, 'E'},
    {"command", required_argument, NULL, 'c'},
    {NULL, 0, NULL, 0},
};

static int usage_error(const char *verb, const char *fmt, const char *arg)
{
    fprintf(stderr, "syncctl%s%s: ", verb ? " " : "", verb ? verb : "");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nTry 'syncctl %s%s--help'.\n", verb ? verb : "",
            verb ? " " : "");
    return EXIT_USAGE;
}

static bool parse_uint(const char *s,
                       int base,
                       unsigned long max,
                       unsigned *out)
{
    char *end;
    unsigned long v;

    errno = 0;
    if (s[0] == '-' || s[0] == '\0')
        return false;
    v = strtoul(s, &end, base);
    if (errno != 0 || *end != '\0' || v > max)
        return false;
    *out = (unsigned)v;
    return true;
}

static bool parse_seconds(const char *s, double *out)
{
    char *end;

    errno = 0;
    *out = strtod(s, &end);
    return s[0] != '\0' && *end == '\0' && errno == 0 && isfinite(*out);
}

/*
 * How to name option c in a message: "--long" for a known option, "-c" for
 * an unknown short one (c != 0), else the argument as given.
 */
static const char *opt_spelling(int c, const char *given)
{
    static char buf[32];
    size_t i;

    for (i = 0; c != 0 && longopts[i].name != NULL; i++) {
        if (longopts[i].val == c) {
            snprintf(buf, sizeof(buf), "--%s", longopts[i].name);
            return buf;
        }
    }
    if (c != 0 && c != '?') {
        snprintf(buf, sizeof(buf), "-%c", c);
        return buf;
    }
    return given != NULL ? given : "?";
}

/* Which option bit a short option needs (0: global). */
static unsigned opt_bit(int c)
{
    switch (c) {
        case 'w':
            return O_TIMEOUT;
        case 'n':
            return O_NONBLOCK;
        case 'm':
            return O_MODE;
        case 'v':
            return O_VALUE;
        case 'b':
            return O_BOUNDED;
        case 'p':
            return O_PARTIES;
        case 'E':
            return O_CONFLICT;
        case 'c':
            return O_COMMAND;
        default:
            return 0;
    }
}

/* One option c with optarg into res; 0, or an exit code. */
static int parse_opt(const struct verb *v,
                     int c,
                     const char *arg,
                     struct parse_result *res)
{
    unsigned u;

    switch (c) {
        case 's':
            res->socket = arg;
            return 0;
        case 'j':
            res->json = true;
            return 0;
        case 'n':
            res->nonblock = true;
            return 0;
        case 'b':
            res->bounded = true;
            return 0;
        case 'w':
            if (!parse_seconds(arg, &res->timeout))
                return usage_error(v->name, "bad timeout '%s'", arg);
            return 0;
        case 'm':
            if (!parse_uint(arg, 8, 0777, &u))
                return usage_error(v->name, "bad octal mode '%s'", arg);
            res->mode = (int)u;
            return 0;
        case 'v':
            if (!parse_uint(arg, 10, 0x7fffffff, &res->value))
                return usage_error(v->name, "bad value '%s'", arg);
            res->value_set = true;
            return 0;
        case 'p':
            if (!parse_uint(arg, 10, 0x7fffffff, &res->parties) ||
                res->parties == 0)
                return usage_error(v->name, "bad number of parties '%s'", arg);
            return 0;
        case 'E':
            if (!parse_uint(arg, 10, 255, &u))
                return usage_error(v->name, "bad exit code '%s' (0-255)", arg);
            res->conflict_exit = (int)u;
            return 0;
        case 'c':
            /* flock(1)'s -c: one command line for the shell. */
            res->shell[0] = "/bin/sh";
            res->shell[1] = "-c";
            res->shell[2] = (char *)arg;
            res->shell[3] = NULL;
            return 0;
    }
    return usage_error(v->name, "%s", "internal option error");
}

/* Run getopt_long over a verb's arguments (args[0] is the verb). */
static int parse_verb_opts(const struct verb *v,
                           int n,
                           char **args,
                           struct parse_result *res)
{
    int c, rv;

    optind = 0; /* glibc: start afresh, permuting again */
    opterr = 0;
    while ((c = getopt_long(n, args, ":s:jhVw:nm:v:bp:E:c:", longopts,
                            NULL)) != -1) {
        if (c == 'h') {
            usage_verb(v);
            return 0;
        }
        if (c == 'V') {
            printf("syncctl %s\n", SYNCD_VERSION);
            return 0;
        }
        if (c == ':')
            return usage_error(v->name, "option '%s' needs an argument",
                               args[optind - 1]);
        if (c == '?')
            return usage_error(v->name, "unknown option '%s'",
                               opt_spelling(optopt, args[optind - 1]));
        if (opt_bit(c) != 0 && !(v->opts & opt_bit(c)))
            return usage_error(v->name, "option '%s' does not apply",
                               opt_spelling(c, NULL));
        if ((rv = parse_opt(v, c, optarg, res)) != 0)
            return rv;
    }
    if (res->nonblock && res->timeout >= 0)
        return usage_error(v->name, "%s", "-n and -w exclude each other");
    return -1;
}

static int parse_event(const struct verb *v,
                       int n,
                       char **ops,
                       struct parse_result *res)
{
    static const struct {
        const char *word;
        enum actions action;
    } sub[] = {{"set", EVENT_SET},
               {"clear", EVENT_CLEAR},
               {"wait", EVENT_WAIT},
               {"is-set", EVENT_IS_SET}};
    size_t i;

    if (n != 2)
        return usage_error(v->name, "%s", "expects ACTION NAME");
    for (i = 0; i < sizeof(sub) / sizeof(sub[0]); i++)
        if (strcmp(ops[0], sub[i].word) == 0)
            res->action = sub[i].action;
    if (res->action == NONE)
        return usage_error(v->name, "unknown action '%s'", ops[0]);
    if ((res->nonblock || res->timeout >= 0) && res->action != EVENT_WAIT)
        return usage_error(v->name, "%s", "-n and -w only apply to wait");
    res->name = ops[1];
    return -1;
}

static int parse_barrier(const struct verb *v,
                         int n,
                         char **ops,
                         struct parse_result *res)
{
    if (n != 2)
        return usage_error(v->name, "%s", "expects NAME ACTION");
    res->name = ops[0];
    if (strcmp(ops[1], "wait") == 0)
        res->action = BARRIER_WAIT;
    else if (strcmp(ops[1], "reset") == 0)
        res->action = BARRIER_RESET;
    else if (strcmp(ops[1], "abort") == 0)
        res->action = BARRIER_ABORT;
    else
        return usage_error(v->name, "unknown action '%s'", ops[1]);
    /* Without --parties the barrier must exist (its parties are read). */
    return -1;
}

/*
 * lock/sem: NAME, then CMD after "--" (cmd) or as the other operands, or
 * -c CMD.  A NAME that begins with "-" comes after "--", as usual:
 * `lock -n -- -name CMD` or `lock -n -- -name -- CMD`.
 */
static int parse_run(const struct verb *v,
                     int n,
                     char **ops,
                     char **cmd,
                     struct parse_result *res)
{
    char **rest;

    /* sem NAME value: a reader, not a command named "value" (that one
     * follows --, as any CMD may). */
    if (v->action == SEM && n == 2 && cmd == NULL && res->shell[0] == NULL &&
        strcmp(ops[1], "value") == 0) {
        if (res->value_set || res->bounded || res->nonblock ||
            res->timeout >= 0 || res->mode >= 0)
            return usage_error(v->name, "%s",
                               "value takes no option: it never creates and "
                               "never waits");
        res->action = SEM_VALUE;
        res->name = ops[0];
        return -1;
    }
    if (n > 1 && cmd != NULL)
        return usage_error(v->name, "unexpected '%s' before --", ops[1]);
    if (n >= 1) {
        res->name = ops[0];
        rest = cmd != NULL ? cmd : ops + 1;
    } else if (cmd != NULL && cmd[0] != NULL) {
        res->name = cmd[0];
        rest = cmd + 1;
        if (rest[0] != NULL && strcmp(rest[0], "--") == 0)
            rest++;
    } else {
        return usage_error(v->name, "%s", "expects NAME -- CMD [ARG...]");
    }
    if (res->shell[0] != NULL) {
        if (rest[0] != NULL)
            return usage_error(v->name, "-c and '%s' exclude each other",
                               rest[0]);
        res->cmd = res->shell;
        return -1;
    }
    res->cmd = rest;
    if (res->cmd[0] == NULL)
        return usage_error(v->name, "%s", "expects a command to run");
    return -1;
}

/* Whether action prints something --json can shape. */
static bool action_prints(enum actions a)
{
    switch (a) {
        case STATUS:
        case LS:
        case SHOW:
        case CLIENTS:
        case EVENT_IS_SET:
        case SEM_VALUE:
        case BARRIER_WAIT:
            return true;
        case NONE:
        case METRICS:
        case LOCK:
        case SEM:
        case EVENT_SET:
        case EVENT_CLEAR:
        case EVENT_WAIT:
        case BARRIER_RESET:
        case BARRIER_ABORT:
        case RM:
            return false;
    }
    return false;
}

/* Operands of verb v (ops: NULL-terminated).  -1 or an exit code. */
static int parse_operands(const struct verb *v,
                          int n,
                          char **ops,
                          char **cmd,
                          struct parse_result *res)
{
    res->action = v->action;
    switch (v->action) {
        case NONE:
            return strcmp(v->name, "event") == 0
                       ? parse_event(v, n, ops, res)
                       : parse_barrier(v, n, ops, res);
        case LS:
            if (n > 1)
                return usage_error(v->name, "unexpected '%s'", ops[1]);
            res->name = n == 1 ? ops[0] : NULL;
            return -1;
        case SHOW:
        case RM:
            if (n != 1)
                return usage_error(v->name, "%s", "expects one NAME");
            res->name = ops[0];
            return -1;
        case LOCK:
        case SEM:
            return parse_run(v, n, ops, cmd, res);
        default:
            if (n > 0)
                return usage_error(v->name, "unexpected '%s'", ops[0]);
            return -1;
    }
}

/* The index of the first "--" in args[1..n), or n. */
static int find_dashdash(int n, char **args)
{
    int i;

    for (i = 1; i < n; i++)
        if (strcmp(args[i], "--") == 0)
            return i;
    return n;
}

static int parse_globals(int argc, char **argv, struct parse_result *res)
{
    int c;

    opterr = 0;
    while ((c = getopt_long(argc, argv, "+:s:jhV", longopts, NULL)) != -1) {
        switch (c) {
            case 's':
                res->socket = optarg;
                break;
            case 'j':
                res->json = true;
                break;
            case 'h':
                usage_main(stdout);
                return 0;
            case 'V':
                printf("syncctl %s\n", SYNCD_VERSION);
                return 0;
            case ':':
                return usage_error(NULL, "option '%s' needs an argument",
                                   argv[optind - 1]);
            default:
                return usage_error(NULL, "unknown option '%s'",
                                   opt_spelling(optopt, argv[optind - 1]));
        }
    }
    return -1;
}

int parse(int argc, char **argv, struct parse_result *res)
{
    const struct verb *v;
    char **args, **cmd = NULL;
    int rv, n, dd;

    memset(res, 0, sizeof(*res));
    res->timeout = -1;
    res->mode = -1;
    res->conflict_exit = EXIT_CONFLICT;
    if ((rv = parse_globals(argc, argv, res)) >= 0)
        return rv;
    if (optind >= argc)
        return usage_error(NULL, "%s", "no verb given");
    args = argv + optind;
    n = argc - optind;
    if (strcmp(args[0], "help") == 0) {
        if (n == 1 || (v = verb_find(args[1])) == NULL)
            usage_main(stdout);
        else
            usage_verb(v);
        return 0;
    }
    if ((v = verb_find(args[0])) == NULL)
        return usage_error(NULL, "unknown verb '%s'", args[0]);
    dd = find_dashdash(n, args);
    if (dd < n && (v->action == LOCK || v->action == SEM)) {
        cmd = args + dd + 1; /* argv is NULL-terminated */
        n = dd;
    }
    if ((rv = parse_verb_opts(v, n, args, res)) >= 0)
        return rv;
    if ((rv = parse_operands(v, n - optind, args + optind, cmd, res)) >= 0)
        return rv;
    if (res->json && !action_prints(res->action))
        return usage_error(v->name, "--json does not apply: %s",
                           res->action == METRICS
                               ? "it prints the Prometheus text format"
                               : "it prints nothing on success");
    return -1;
}
