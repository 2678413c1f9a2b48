/*
 * sockpath.c: which socket a program reaches, by one rule used by the
 * library, syncctl and (for its own listening path) the daemon:
 *   1. $SYNCD_SOCKET when set;
 *   2. clients only: the system daemon's socket, /run/syncd/syncd.sock,
 *      when it exists and this user may connect to it;
 *   3. the per-user path: /run/syncd/syncd.sock for root, else
 *      $XDG_RUNTIME_DIR/syncd.sock, else /tmp/syncd-$UID.sock.
 * A path in /tmp is world-writable ground: the library checks the peer's
 * uid (SO_PEERCRED) on every connection, so an impostor is refused.
 */
#include "sockpath.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "syncclient.h"

/* Whether the system daemon's socket exists and we may connect to it
 * (connecting to a Unix socket needs write permission on its file). */
static bool sockpath_system_reachable(void)
{
    struct stat st;

    return stat(SOCKPATH_SYSTEM, &st) == 0 && S_ISSOCK(st.st_mode) &&
           access(SOCKPATH_SYSTEM, W_OK) == 0;
}

int sockpath_resolve(char *buf, size_t size, bool serving, const char **why)
{
    const char *env = getenv("SYNCD_SOCKET");
    const char *xdg = getenv("XDG_RUNTIME_DIR");
    const char *reason;
    int n;

    if (env != NULL && env[0] != '\0') {
        n = snprintf(buf, size, "%s", env);
        reason = "$SYNCD_SOCKET is set";
    } else if (geteuid() == 0) {
        n = snprintf(buf, size, "%s", SOCKPATH_SYSTEM);
        reason = "root's default: the system daemon's socket";
    } else if (!serving && sockpath_system_reachable()) {
        n = snprintf(buf, size, "%s", SOCKPATH_SYSTEM);
        reason = "the system daemon's socket exists and you may connect";
    } else if (xdg != NULL && xdg[0] != '\0') {
        n = snprintf(buf, size, "%s/syncd.sock", xdg);
        reason = serving ? "per-user socket in $XDG_RUNTIME_DIR"
                         : "no reachable system socket; per-user socket in "
                           "$XDG_RUNTIME_DIR";
    } else {
        n = snprintf(buf, size, "/tmp/syncd-%u.sock", (unsigned)geteuid());
        reason = serving ? "per-user socket in /tmp (no $XDG_RUNTIME_DIR)"
                         : "no reachable system socket and no "
                           "$XDG_RUNTIME_DIR; per-user socket in /tmp";
    }
    if (why != NULL)
        *why = reason;
    return n < 0 || (size_t)n >= size ? SYNC_EINVAL : 0;
}

int sync_default_socket_path(char *buf, unsigned long size)
{
    return sockpath_resolve(buf, size, false, NULL);
}

int sync_default_socket_reason(char *buf, unsigned long size,
                               const char **why)
{
    return sockpath_resolve(buf, size, false, why);
}
