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
     "Exits 106 when there is no such object (or you may not read it).\n"},
    {"clients", CLIENTS, 0, "clients", "the connected sessions",
     "List the connected sessions: session id, pid, uid, command, connected\n"
     "for, objects open, locks held, pending waits.\n"},
    {"metrics", METRICS, 0, "metrics", "counters for Prometheus",
     "Print the daemon's counters and gauges in the Prometheus text\n"
     "exposition format (metric names start with syncd_).\n"},
    {"lock", LOCK, O_TIMEOUT | O_NONBLOCK | O_MODE,
     "lock [-n | -w SECONDS] [--mode OCTAL] NAME -- CMD [ARG...]",
     "run CMD while holding the Lock NAME",
     "Acquire the Lock NAME (created if needed), run CMD while holding it,\n"
     "release it when CMD ends, and exit with CMD's status (128 + N if CMD\n"
     "was killed by signal N).  Exits 101 when the lock was not taken (-n,\n"
     "or -w expired).  CMD never runs without the lock: SIGINT, SIGTERM and\n"
     "SIGHUP are passed on to CMD; if syncctl is killed, CMD is killed too;\n"
     "if the daemon goes away (releasing the lock), CMD gets SIGTERM and\n"
     "syncctl exits 109.  CMD's environment has SYNCCTL_TOKEN (the fencing\n"
     "token) and SYNCCTL_OWNER_DIED (1 if the last holder died holding it).\n"
     "Like flock(1), CMD inherits a descriptor of the hold (its number is in\n"
     "SYNCCTL_HOLD_FD): if syncctl is killed, the lock is released only once\n"
     "CMD is gone too; background processes CMD leaves behind keep it then,\n"
     "unless they close that descriptor.\n"},
    {"sem", SEM, O_TIMEOUT | O_NONBLOCK | O_MODE | O_VALUE | O_BOUNDED,
     "sem [-n | -w SECONDS] [--mode OCTAL] NAME --value N [--bounded] -- "
     "CMD [ARG...]",
     "run CMD while holding a permit of the Semaphore NAME",
     "Take one permit of the Semaphore NAME (created with value N; with\n"
     "--bounded a BoundedSemaphore), run CMD, give the permit back when CMD\n"
     "ends and exit with CMD's status, as lock does.  The permit is taken\n"
     "with SYNC_SEM_UNDO: if syncctl dies, it goes back by itself.  Exits\n"
     "101 when not acquired; 105 when NAME exists with another value.\n"},
    {"event", NONE, O_TIMEOUT | O_NONBLOCK | O_MODE,
     "event set|clear|wait|is-set [-n | -w SECONDS] [--mode OCTAL] NAME",
     "set, clear, wait for or test the Event NAME",
     "set: set the Event NAME and wake its waiters.  clear: clear it.\n"
     "wait: exit 0 once it is set, 101 if -w SECONDS pass first (-n: do not\n"
     "wait).  is-set: exit 0 when set, 1 when clear, like test(1).\n"},
    {"barrier", NONE, O_TIMEOUT | O_MODE | O_PARTIES,
     "barrier [-w SECONDS] [--mode OCTAL] NAME --parties N wait|reset|abort",
     "wait at (and print the arrival index), reset or abort a Barrier",
     "wait: wait at the Barrier NAME for N parties and print this caller's\n"
     "arrival index (0..N-1); exits 118 when the barrier is or becomes\n"
     "broken (a -w timeout breaks it, as in Python).  reset: wake waiters\n"
     "with broken and make it usable again.  abort: break it.\n"},
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
    "  -j, --json             print JSON instead of text\n"
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
            "Exit status:\n"
            "    0  success; lock and sem: CMD's exit status (128 + N if "
            "killed by signal N)\n"
            "    1  false: event is-set found the event clear\n"
            "    2  usage error\n"
            "  125  syncctl itself failed (fork, signalfd, output)\n"
            "  126  CMD could not be executed\n"
            "  127  CMD not found\n"
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
        "%s%s\nExit status: 2 on usage errors, 100 + N on syncd error N "
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
