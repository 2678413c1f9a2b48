/*
 * service.h: life under systemd: socket activation (LISTEN_FDS),
 * readiness and status (sd_notify), and watchdog pings from the event loop
 * itself, so a stuck loop is noticed.  All no-ops without systemd.
 */
#ifndef SYNCD_SERVICE_H
#define SYNCD_SERVICE_H

#include <uv.h>

/* The listening socket systemd passed us, or -1 when not socket
 * activated (or when it passed something unusable, which is logged). */
int service_listen_fd(void);

/* Start watchdog pings on loop if systemd asked for them.  0 or -1. */
int service_watchdog_start(uv_loop_t *loop);
void service_watchdog_stop(void);

/* sd_notify helpers: READY=1 with a STATUS line, a new STATUS, STOPPING=1,
 * RELOADING=1 then READY=1. */
void service_ready(const char *status);
void service_status(const char *status);
void service_stopping(void);
void service_reloading(int done);

#endif
