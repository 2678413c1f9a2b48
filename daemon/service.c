/* service.c: systemd integration through libsystemd (sd-daemon). */
#include "service.h"

#include <stdint.h>
#include <sys/socket.h>
#include <systemd/sd-daemon.h>

#include "log.h"

static uv_timer_t watchdog_timer;
static int watchdog_on;

int service_listen_fd(void)
{
    int n = sd_listen_fds(1);

    if (n <= 0)
        return -1;
    if (n > 1)
        log_warnx("systemd passed %d sockets; using the first", n);
    if (sd_is_socket_unix(SD_LISTEN_FDS_START, SOCK_STREAM, 1, NULL, 0) <= 0) {
        log_error("the socket systemd passed is not a listening Unix stream "
                  "socket");
        return -1;
    }
    log_info("using the socket passed by systemd (LISTEN_FDS)");
    return SD_LISTEN_FDS_START;
}

static void service_watchdog_cb(uv_timer_t *t)
{
    (void)t;
    sd_notify(0, "WATCHDOG=1");
}

int service_watchdog_start(uv_loop_t *loop)
{
    uint64_t usec = 0;

    if (sd_watchdog_enabled(1, &usec) <= 0 || usec == 0)
        return 0;
    if (uv_timer_init(loop, &watchdog_timer) != 0)
        return -1;
    watchdog_on = 1;
    /* Ping at half the interval, as sd_watchdog_enabled(3) advises. */
    uv_timer_start(&watchdog_timer, service_watchdog_cb, 0,
                   usec / 2000 ? usec / 2000 : 1);
    log_info("systemd watchdog: pinging every %llu ms",
             (unsigned long long)(usec / 2000));
    return 0;
}

void service_watchdog_stop(void)
{
    if (watchdog_on)
        uv_close((uv_handle_t *)&watchdog_timer, NULL);
    watchdog_on = 0;
}

void service_ready(const char *status)
{
    sd_notifyf(0, "READY=1\nSTATUS=%s\nMAINPID=%lu", status,
               (unsigned long)getpid());
}

void service_status(const char *status)
{
    sd_notifyf(0, "STATUS=%s", status);
}

void service_stopping(void)
{
    sd_notify(0, "STOPPING=1");
}

void service_reloading(int done)
{
    sd_notify(0, done ? "READY=1" : "RELOADING=1");
}
