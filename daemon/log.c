/* log.c: leveled, line-buffered logging to stderr. */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static enum log_level log_max = LOG_LEVEL_INFO;
static int log_timestamps = 1;

void log_init(enum log_level max, int with_timestamps)
{
    log_max = max;
    log_timestamps = with_timestamps;
}

static void log_vline(enum log_level lvl, const char *tag, int err,
                      const char *fmt, va_list ap)
{
    char line[1024];
    size_t n = 0;

    if (lvl > log_max)
        return;
    if (log_timestamps) {
        struct timespec ts;
        struct tm tm;

        clock_gettime(CLOCK_REALTIME, &ts);
        localtime_r(&ts.tv_sec, &tm);
        n = strftime(line, sizeof(line), "%H:%M:%S", &tm);
        n += (size_t)snprintf(line + n, sizeof(line) - n, ".%03ld ",
                              ts.tv_nsec / 1000000);
    }
    n += (size_t)snprintf(line + n, sizeof(line) - n, "syncd[%s]: ", tag);
    if (n < sizeof(line))
        n += (size_t)vsnprintf(line + n, sizeof(line) - n, fmt, ap);
    if (err != 0 && n < sizeof(line))
        snprintf(line + n, sizeof(line) - n, ": %s", strerror(err));
    fprintf(stderr, "%s\n", line);
}

#define LOG_DEFINE(fn, lvl, tag, with_errno)                                  \
    void fn(const char *fmt, ...)                                             \
    {                                                                         \
        int saved = errno;                                                    \
        va_list ap;                                                           \
        va_start(ap, fmt);                                                    \
        log_vline(lvl, tag, with_errno ? saved : 0, fmt, ap);                 \
        va_end(ap);                                                           \
        errno = saved;                                                        \
    }

LOG_DEFINE(log_error, LOG_LEVEL_ERROR, "error", 0)
LOG_DEFINE(log_warn, LOG_LEVEL_WARN, "warn", 1)
LOG_DEFINE(log_warnx, LOG_LEVEL_WARN, "warn", 0)
LOG_DEFINE(log_info, LOG_LEVEL_INFO, "info", 0)
LOG_DEFINE(log_debug, LOG_LEVEL_DEBUG, "debug", 0)
