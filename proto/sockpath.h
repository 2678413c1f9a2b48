/*
 * sockpath.h: the default socket path, one rule for the daemon, the library
 * and syncctl (see sockpath.c).
 */
#ifndef SYNCD_SOCKPATH_H
#define SYNCD_SOCKPATH_H

#include <stdbool.h>
#include <stddef.h>

/* The system daemon's socket (systemd/syncd.socket listens there). */
#define SOCKPATH_SYSTEM "/run/syncd/syncd.sock"

/*
 * Write the default socket path into buf: a client's when serving is false
 * (the system daemon's socket is preferred when reachable), the daemon's
 * own listening path when true.  *why (if why is not NULL) gets a static
 * phrase saying which rule chose it.  0, or SYNC_EINVAL if size is too
 * small.
 */
int sockpath_resolve(char *buf, size_t size, bool serving, const char **why);

#endif
