/*
 * config.h: syncd's settings from the command line and the optional config
 * file (same keys as the long options, `key = value` lines; command-line
 * flags win).  The limits can be re-read on SIGHUP.
 */
#ifndef SYNCD_CONFIG_H
#define SYNCD_CONFIG_H

#include <limits.h>
#include <stdbool.h>

#include "log.h"
#include "store.h"
#include "syncd_limits.h"

/* SYSCONFDIR/syncd/syncd.conf of the configured prefix (daemon/CMakeLists.txt). */
#define CONFIG_DEFAULT_FILE SYNCD_CONFIG_FILE

struct config {
    char socket_path[PATH_MAX];   /* empty: the default path */
    unsigned socket_mode;
    long socket_uid;              /* -1: leave as is */
    long socket_gid;
    char config_file[PATH_MAX];   /* empty: none */
    bool config_file_given;       /* --config: a missing file is an error */
    struct syncd_limits limits;
    enum log_level log_level;
    char state_dir[PATH_MAX];     /* empty: state in memory only */
    enum store_fsync fsync;
    unsigned fsync_interval_ms;
    char cluster[PATH_MAX];       /* etcd URLs; empty: no cluster/ names */
    unsigned cluster_ttl;         /* seconds */
    char cluster_cert[PATH_MAX], cluster_key[PATH_MAX],
        cluster_cacert[PATH_MAX]; /* empty: none */
    unsigned grace_ms;            /* reclaim grace after a start */
    bool lock_cache_off;          /* lock-cache = off */
    /* Which settings the command line fixed (the file must not override). */
    unsigned long set_by_flag;
};

/*
 * Parse argv (and the config file it names, or the default one if it
 * exists).  Exits with status 0 for --help/--version, 2 on a usage error or
 * an invalid file.
 */
void config_load(struct config *cfg, int argc, char **argv);

/*
 * Re-read the config file (SIGHUP) into *limits, keeping values fixed by
 * flags, and write into report (size bytes) which keys were applied, which
 * changed but need a restart, and which the command line keeps.  0, or -1
 * with messages on stderr when the file is invalid (then *limits is
 * unchanged).
 */
int config_reload(const struct config *cfg, struct syncd_limits *limits,
                  char *report, size_t size);

#endif
