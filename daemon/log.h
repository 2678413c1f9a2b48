/*
 * log.h: one line per event to stderr (journald adds the timestamp when run
 * by systemd; we add our own otherwise).  log_warn appends strerror(errno),
 * log_warnx does not (OpenBSD log.h).
 */
#ifndef SYNCD_LOG_H
#define SYNCD_LOG_H

enum log_level { LOG_LEVEL_ERROR, LOG_LEVEL_WARN, LOG_LEVEL_INFO,
                 LOG_LEVEL_DEBUG };

void log_init(enum log_level max, int with_timestamps);
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
