/*
 * main.c: syncctl, the command-line tool of syncd: parse the command line,
 * connect to the daemon as libsyncclient does, run one verb, exit.
 *
 * Exit status (also listed by `syncctl --help`); lock and sem follow
 * flock(1):
 *   0        success; lock and sem: CMD's exit status, 128 + N when CMD was
 *            killed by signal N
 *   1        false: `event is-set` found the event clear; lock/sem: -n
 *            found the hold taken or -w ran out (-E N chooses the code)
 *   64       usage error (EX_USAGE)
 *   69       lock/sem: CMD could not be run (EX_UNAVAILABLE)
 *   100 + N  syncd error N, the stable number of SYNC_ERRNO_MAP; the
 *            message (sync_strerror) goes to stderr.  The common ones:
 *            101 SYNC_ETIMEDOUT  event wait -w timed out
 *            102 SYNC_EPERM      permission denied
 *            106 SYNC_ENOENT     no such object (show, rm, is-set, ...)
 *            109 SYNC_ECONN      no daemon listening, or connection lost
 *            118 SYNC_EBROKEN    barrier broken
 *   125      syncctl itself failed (fork, signalfd, output)
 * As with env(1) or timeout(1), CMD's own status may use any of these.
 */
#include <errno.h>
#include <langinfo.h>
#include <locale.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "syncctl.h"

int ctl_exit_code(int code)
{
    return code < 0 ? EXIT_SYNC_BASE - code : code;
}

/* name for a message: escaped, and cut after 64 bytes ("... (N bytes)"):
 * a 10,000-byte name is not echoed. */
static const char *ctl_show_name(const char *name, char *buf, size_t size)
{
    size_t len = strlen(name);
    char esc[4 * 64 + 1];

    output_escape(name, len > 64 ? 64 : len, esc, sizeof(esc), NULL);
    if (len > 64)
        snprintf(buf, size, "%s... (%zu bytes)", esc, len);
    else
        snprintf(buf, size, "%s", esc);
    return buf;
}

int ctl_fail(const struct ctl *ctl,
             int code,
             const char *what,
             const char *name)
{
    return ctl_fail_says(ctl, code, what, name, sync_strerror(code));
}

int ctl_fail_says(const struct ctl *ctl,
                  int code,
                  const char *what,
                  const char *name,
                  const char *words)
{
    char shown[4 * 64 + 32], detail[sizeof(ctl->detail)];

    if (name != NULL)
        name = ctl_show_name(name, shown, sizeof(shown));
    snprintf(detail, sizeof(detail), "%s", ctl->detail);
    /* The library refuses a long name itself, without the daemon's words. */
    if (code == SYNC_ENAME && detail[0] == '\0' && ctl->res != NULL &&
        ctl->res->name != NULL && strlen(ctl->res->name) > SYNC_NAME_MAX)
        snprintf(detail, sizeof(detail), "name longer than %d bytes",
                 SYNC_NAME_MAX);
    if (code == SYNC_ECONN && ctl->client == NULL) {
        if (access(ctl->socket, F_OK) == 0 && access(ctl->socket, W_OK) != 0)
            fprintf(stderr,
                    "syncctl: no permission to connect to syncd "
                    "on %s\n",
                    ctl->socket);
        else
            fprintf(stderr,
                    "syncctl: no syncd is listening on %s (%s); start "
                    "it with: syncd --socket %s\n",
                    ctl->socket, ctl->socket_why, ctl->socket);
    } else if (code == SYNC_ECONN) {
        fprintf(stderr,
                "syncctl: %s%s%s: lost the connection to syncd on "
                "%s\n",
                what, name ? " " : "", name ? name : "", ctl->socket);
    } else {
        fprintf(stderr, "syncctl: %s%s%s: %s%s%s%s\n", what,
                name ? " " : "", name ? name : "", words,
                detail[0] ? " (" : "", detail, detail[0] ? ")" : "");
    }
    return ctl_exit_code(code);
}

static int run_action(struct ctl *ctl)
{
    switch (ctl->res->action) {
        case STATUS:
            return view_status(ctl, ctl->out);
        case METRICS:
            return view_status(ctl, &metrics_output);
        case LS:
            return view_ls(ctl);
        case SHOW:
            return view_show(ctl);
        case CLIENTS:
            return view_clients(ctl);
        case LOCK:
            return run_lock(ctl);
        case SEM:
            return run_sem(ctl);
        case SEM_VALUE:
            return script_sem_value(ctl);
        case EVENT_SET:
        case EVENT_CLEAR:
        case EVENT_WAIT:
        case EVENT_IS_SET:
            return script_event(ctl);
        case BARRIER_WAIT:
        case BARRIER_RESET:
        case BARRIER_ABORT:
            return script_barrier(ctl);
        case RM:
            return script_rm(ctl);
        case NONE:
            break;
    }
    return EXIT_USAGE;
}

int main(int argc, char **argv)
{
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    struct parse_result res;
    struct ctl ctl = {.res = &res};
    int rv;

    rv = parse(argc, argv, &res);
    if (rv >= 0)
        return rv;
    /* Display widths of names (wcwidth) need a UTF-8 LC_CTYPE; output is
     * bytes either way, so no other locale category changes. */
    if (setlocale(LC_CTYPE, "") == NULL ||
        strcmp(nl_langinfo(CODESET), "UTF-8") != 0)
        setlocale(LC_CTYPE, "C.UTF-8");
    ctl.out = res.json ? &json_output : &text_output;
    /* Resolved here (the library's rule) so that status and every
     * message can say which socket was used and why. */
    if (res.socket != NULL) {
        ctl.socket = res.socket;
        ctl.socket_why = "--socket";
    } else if (sync_default_socket_reason(path, sizeof(path),
                                          &ctl.socket_why) == 0) {
        ctl.socket = path;
    } else {
        fprintf(stderr, "syncctl: the default socket path is too long\n");
        return ctl_exit_code(SYNC_EINVAL);
    }
    rv = sync_connect(ctl.socket, &ctl.client);
    if (rv != 0)
        return ctl_fail(&ctl, rv, "connect", ctl.socket);
    if (res.mode >= 0)
        sync_set_create_mode(ctl.client, (unsigned)res.mode);
    rv = run_action(&ctl);
    sync_disconnect(ctl.client);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "syncctl: writing output: %s\n", strerror(errno));
        return rv != 0 ? rv : EXIT_LOCAL;
    }
    return rv;
}
