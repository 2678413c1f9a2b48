/*
 * usage.c: the verb table and every help text, so that `syncctl --help`,
 * `syncctl VERB --help` and the parser agree on what each verb takes.
 * The exit codes are listed from SYNC_ERRNO_MAP, so they never go stale.
 */
#include "usage.h"

#include <string.h>

#include "syncclient.h"

static const struct verb verbs[] = {
    {"status", STATUS, 0, "status",
     "the daemon: version, pid, uptime, counts, counters, limits",
     "Show the daemon's version, pid, uptime, socket, number of clients,\n"
     "objects and waiters, requests served, counters and limits.\n"},
    {"ls", LS, 0, "ls [PATTERN]",
     "objects matching the glob PATTERN, one per line",
     "List the objects you may read whose name matches the glob PATTERN\n"
     "(default: all), one per line: name, type, state (locked/free, value,\n"
     "set/clear, barrier arrivals/parties), holder (pid and command) and\n"
     "number of waiters.\n"},
    {"show", SHOW, 0, "show NAME", "one object in full: holders and waiters",
     "Show everything about one object: state, owner uid/gid/mode, the\n"
     "holder(s) (pid, uid, command, thread, held for, fencing token, RLock\n"
     "depth; for a semaphore the clients holding undo permits and how many)\n"
     "and the waiter queue in order (pid, uid, command, thread, waited).\n"
     "Exits 106 when there is no such object (or you may not read it);\n"
     "never creates one.\n"},
    {"clients", CLIENTS, 0, "clients", "the connected sessions",
     "List the connected sessions: session id, pid, uid, command, connected\n"
     "for, objects open, locks held, pending waits.\n"},
    {"metrics", METRICS, 0, "metrics", "counters for Prometheus",
     "Print the daemon's counters and gauges in the Prometheus text\n"
     "exposition format (metric names start with syncd_).\n"},
    {"lock", LOCK, O_TIMEOUT | O_NONBLOCK | O_MODE | O_CONFLICT | O_COMMAND,
     "lock [-n | -w SECONDS] [-E N] [--mode OCTAL] NAME -- CMD [ARG...]\n"
     "       syncctl lock [-n | -w SECONDS] [-E N] NAME -c 'COMMAND LINE'",
     "run CMD while holding the Lock NAME",
     "Acquire the Lock NAME (created if needed), run CMD while holding it,\n"
     "release it when CMD ends, and exit with CMD's status (128 + N if CMD\n"
     "was killed by signal N), as flock(1) does.  When -n finds the lock\n"
     "held or -w runs out, say who holds it and exit 1 (or -E's N); exit 69\n"
     "when CMD cannot be run, 64 on a usage error.  -c runs a command line\n"
     "with /bin/sh -c.  A NAME that begins with - follows --:\n"
     "`syncctl lock -- -name CMD`.  CMD never runs without the lock: SIGINT,\n"
     "SIGTERM and SIGHUP are passed on to CMD; if syncctl is killed, CMD is\n"
     "killed too.  A daemon restart on its --state-dir keeps the lock (it is\n"
     "reclaimed, same token) and CMD runs on; if the lock is lost instead (no\n"
     "daemon back within 10 s, or one that could not give it back), CMD gets\n"
     "SIGTERM, then SIGKILL 5 s later if it is still running, syncctl says\n"
     "which ended it and exits 109.  CMD's environment has SYNCCTL_TOKEN (the\n"
     "fencing token) and SYNCCTL_OWNER_DIED (1 if the last holder died\n"
     "holding it).\n"
     "Like flock(1), CMD inherits a descriptor of the hold (its number is in\n"
     "SYNCCTL_HOLD_FD): if syncctl is killed, the lock is released only once\n"
     "CMD is gone too; background processes CMD leaves behind keep it then,\n"
     "unless they close that descriptor.\n"},
    {"sem", SEM,
     O_TIMEOUT | O_NONBLOCK | O_MODE | O_VALUE | O_BOUNDED | O_CONFLICT |
         O_COMMAND,
     "sem [-n | -w SECONDS] [-E N] [--mode OCTAL] NAME [--value N "
     "[--bounded]] -- CMD [ARG...]\n"
     "       syncctl sem NAME value",
     "run CMD while holding a permit of the Semaphore NAME; print its value",
     "Take one permit of the Semaphore NAME, run CMD, give the permit back\n"
     "when CMD ends and exit with CMD's status, as lock does (also -c, -E\n"
     "and the exit codes 1, 64 and 69).  With --value N it is created if\n"
     "missing, with value N (--bounded: a BoundedSemaphore), and must have\n"
     "been created with N; without --value it must exist, with any value.\n"
     "The permit is taken with SYNC_SEM_UNDO: if syncctl dies, it goes back\n"
     "by itself.  Exits 105 when NAME exists with another value, 106 when\n"
     "it does not exist and no --value was given.\n"
     "value: print the current value of the Semaphore or BoundedSemaphore\n"
     "NAME (--json: name, type, value); exits 106 when there is no such\n"
     "semaphore, and never creates one.  (A CMD named value follows --.)\n"},
    {"event", NONE, O_TIMEOUT | O_NONBLOCK | O_MODE,
     "event set|clear|wait|is-set [-n | -w SECONDS] [--mode OCTAL] NAME",
     "set, clear, wait for or test the Event NAME",
     "set: set the Event NAME (created if needed) and wake its waiters.\n"
     "clear: clear it.  wait: exit 0 once it is set, 101 if -w SECONDS pass\n"
     "first (-n: do not wait); a missing event is created, so a waiter may\n"
     "start before the setter.  is-set: exit 0 when set, 1 when clear, like\n"
     "test(1), 106 when there is no such event (never creates one).\n"},
    {"barrier", NONE, O_TIMEOUT | O_MODE | O_PARTIES,
     "barrier [-w SECONDS] [--mode OCTAL] NAME [--parties N] "
     "wait|reset|abort",
     "wait at (and print the arrival index), reset or abort a Barrier",
     "wait: wait at the Barrier NAME and print this caller's arrival index\n"
     "(0..parties-1); exits 118 when the barrier is or becomes broken (a -w\n"
     "timeout breaks it, as in Python).  reset: wake waiters with broken and\n"
     "make it usable again.  abort: break it.  With --parties N the barrier\n"
     "is created if missing and must have N parties; without, it must\n"
     "exist (106 otherwise) and keeps its own.\n"},
    {"rm", RM, 0, "rm NAME", "remove a name",
     "Remove the name NAME.  Holders keep their handles; the next open of\n"
     "NAME creates a new object.  Exits 106 when there is no such object.\n"},
};

#define N_VERBS (sizeof(verbs) / sizeof(verbs[0]))

static const char global_help[] =
    "Options for every verb:\n"
    "  -s, --socket PATH      the daemon's socket (default: $SYNCD_SOCKET,\n"
    "                         else /run/syncd/syncd.sock if it exists and\n"
    "                         you may connect (always for root), else\n"
    "                         $XDG_RUNTIME_DIR/syncd.sock, else\n"
    "                         /tmp/syncd-$UID.sock; `status` says which)\n"
    "  -j, --json             print JSON instead of text (status, ls, show,\n"
    "                         clients, event is-set, sem value, barrier\n"
    "                         wait; refused by the verbs that print\n"
    "                         nothing)\n"
    "  -h, --help             show help (syncctl VERB --help: that verb's)\n"
    "  -V, --version          print syncctl's version\n";

static const struct {
    unsigned bit;
    const char *text;
} opt_help[] = {
    {O_TIMEOUT,
     "  -w, --timeout SECONDS  give up after so long (default: "
     "wait forever)\n"},
    {O_NONBLOCK, "  -n, --nonblock         do not wait at all\n"},
    {O_MODE,
     "  -m, --mode OCTAL       permissions of an object this creates "
     "(0660)\n"},
    {O_VALUE, "  -v, --value N          the semaphore's initial value\n"},
    {O_BOUNDED, "  -b, --bounded          a BoundedSemaphore\n"},
    {O_PARTIES, "  -p, --parties N        the barrier's number of parties\n"},
    {O_CONFLICT,
     "  -E, --conflict-exit-code N  exit N (0-255) when -n or -w finds the\n"
     "                         hold taken (default 1)\n"},
    {O_COMMAND,
     "  -c, --command CMDLINE  run CMDLINE with /bin/sh -c (instead of CMD)\n"},
};

void usage_main(FILE *f)
{
    size_t i;

    fprintf(f,
            "usage: syncctl [-s PATH] [--json] VERB [ARG...]\n\n"
            "Inspect and script syncd, the daemon that serves Python's\n"
            "threading primitives to processes.\n\nVerbs:\n");
    for (i = 0; i < N_VERBS; i++)
        fprintf(f, "  %-9s %s\n", verbs[i].name, verbs[i].summary);
    fprintf(f, "\n%s\n", global_help);
    fprintf(f,
            "Exit status (lock and sem as flock(1)):\n"
            "    0  success; lock and sem: CMD's exit status (128 + N if "
            "killed by signal N)\n"
            "    1  false: event is-set found the event clear; lock/sem: -n "
            "found it taken or\n"
            "       -w ran out (-E N chooses another code)\n"
            "   64  usage error\n"
            "   69  lock/sem: CMD could not be run\n"
            "  125  syncctl itself failed (fork, signalfd, output)\n"
            "  100 + N: syncd error N, with its message on stderr:\n");
#define SYNC_EXIT_LINE(name, num, msg) \
    fprintf(f, "  %d  SYNC_%-10s %s\n", EXIT_SYNC_BASE + (num), #name, msg);
    SYNC_ERRNO_MAP(SYNC_EXIT_LINE)
#undef SYNC_EXIT_LINE
}

void usage_verb(const struct verb *v)
{
    size_t i;

    printf("usage: syncctl %s\n\n%s\n", v->synopsis, v->help);
    if (v->opts != 0)
        printf("Options:\n");
    for (i = 0; i < sizeof(opt_help) / sizeof(opt_help[0]); i++)
        if (v->opts & opt_help[i].bit)
            printf("%s", opt_help[i].text);
    printf(
        "%s%s\nExit status: 64 on usage errors, 100 + N on syncd error N "
        "(see syncctl --help).\n",
        v->opts != 0 ? "\n" : "", global_help);
}

const struct verb *verb_find(const char *name)
{
    size_t i;

    for (i = 0; i < N_VERBS; i++)
        if (strcmp(verbs[i].name, name) == 0)
            return &verbs[i];
    return NULL;
}
