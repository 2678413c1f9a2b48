/*
 * sockpath.c: the default socket path, resolved the same way by the daemon,
 * the library and syncctl: $SYNCD_SOCKET, else /run/syncd/syncd.sock for
 * root, else $XDG_RUNTIME_DIR/syncd.sock, else /tmp/syncd-$UID.sock.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "syncclient.h"

int sync_default_socket_path(char *buf, unsigned long size)
{
    const char *env = getenv("SYNCD_SOCKET");
    const char *xdg = getenv("XDG_RUNTIME_DIR");
    int n;

    if (env != NULL && env[0] != '\0')
        n = snprintf(buf, size, "%s", env);
    else if (geteuid() == 0)
        n = snprintf(buf, size, "/run/syncd/syncd.sock");
    else if (xdg != NULL && xdg[0] != '\0')
        n = snprintf(buf, size, "%s/syncd.sock", xdg);
    else
        n = snprintf(buf, size, "/tmp/syncd-%u.sock", (unsigned)geteuid());
    return n < 0 || (unsigned long)n >= size ? SYNC_EINVAL : 0;
}
