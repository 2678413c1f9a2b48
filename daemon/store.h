/*
 * store.h: durable state beside the registry (--state-dir).  The dispatch
 * layer tells the store what changed (store_note, store_forget); store.c
 * decides when it reaches the disk (--fsync), store_db.c owns the file's
 * format (SQLite in WAL mode, a CRC-32 on every row).  Without a state
 * directory there is no store and the daemon keeps everything in memory.
 *
 * What is kept: every named object's type, creation parameters, owner and
 * mode; Event flags; Semaphore values; each lock's reserved fencing
 * tokens; the daemon epoch, one more at every start; who holds each lock,
 * and how many semaphore permits each client holds through undo handles
 * (a client that said who it is: Hello.client_id), so that it can
 * reclaim them after a restart (grace.c).  Not kept: who waits; permits
 * held through the undo handles of clients that gave no id (counted as
 * given back, as their deaths would).
 */
#ifndef SYNCD_STORE_H
#define SYNCD_STORE_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "registry.h"
#include "syncclient.h"

enum store_fsync {
    STORE_FSYNC_ALWAYS, /* every change committed and fsync'ed before its
                           reply is sent */
    STORE_FSYNC_BATCH,  /* changes committed and fsync'ed every interval */
    STORE_FSYNC_NEVER,  /* committed every interval; the kernel writes back */
};

/* Fencing tokens reserved at a time: one synchronous write per this many
 * grants of a lock; a restart skips at most this many. */
#define STORE_TOKEN_CHUNK 65536u

/* One object as the file keeps it. */
struct store_rec {
    char name[SYNC_NAME_MAX + 1];
    uint32_t type;                    /* enum object_type */
    uint32_t param;                   /* semaphore initial value, parties */
    char lock_name[SYNC_NAME_MAX + 1]; /* condition's lock; "" its own */
    uint32_t uid, gid, mode;
    int64_t state;                    /* event: set; semaphore: value */
    uint64_t tokens;                  /* locks (and conditions' own
                                         locks): tokens reserved */
};

/* Who holds a lock (a Lock, an RLock, a Condition's own lock), kept under
 * the name of the object the file keeps (the condition's, for its own). */
struct store_hold {
    char name[SYNC_NAME_MAX + 1];
    uint8_t client_id[16];
    uint64_t thread;
    uint32_t depth;
    uint64_t token;
};

/* Semaphore permits one client holds through undo handles (all its
 * sessions' handles), kept under the semaphore's name. */
struct store_permits {
    char name[SYNC_NAME_MAX + 1];
    uint8_t client_id[16];
    uint32_t count;
};

struct grace;

/* The file (store_db.c).  Every function returns 0 or -1 with the cause
 * in err (a sentence naming the file). */
struct store_db;
#define STORE_ERR_MAX 5120
int store_db_open(const char *dir, bool fsync_commits, struct store_db **out,
                  char err[STORE_ERR_MAX]);
/* Check the whole file and call cb for every object, locks before the
 * conditions bound to them; *epoch gets the last start's epoch (0 for a
 * new file).  A checksum that does not match refuses the file. */
int store_db_load(struct store_db *db, uint64_t *epoch,
                  int (*cb)(void *arg, const struct store_rec *rec),
                  void *arg, char err[STORE_ERR_MAX]);
/* Then every hold (checksums checked as for objects). */
int store_db_load_holds(struct store_db *db,
                        int (*cb)(void *arg, const struct store_hold *h),
                        void *arg, char err[STORE_ERR_MAX]);
int store_db_put_hold(struct store_db *db, const struct store_hold *h,
                      char err[STORE_ERR_MAX]);
int store_db_del_hold(struct store_db *db, const char *name,
                      char err[STORE_ERR_MAX]);
/* Then every permits row (checksums checked as for objects). */
int store_db_load_permits(struct store_db *db,
                          int (*cb)(void *arg, const struct store_permits *p),
                          void *arg, char err[STORE_ERR_MAX]);
/* Write p's row (count 0: delete it). */
int store_db_put_permits(struct store_db *db, const struct store_permits *p,
                         char err[STORE_ERR_MAX]);
/* Delete every permits row of name. */
int store_db_del_permits(struct store_db *db, const char *name,
                         char err[STORE_ERR_MAX]);
/* Start a transaction; with sync its commit is on disk when it returns,
 * whatever the policy the file was opened with. */
int store_db_begin(struct store_db *db, bool sync, char err[STORE_ERR_MAX]);
int store_db_put(struct store_db *db, const struct store_rec *rec,
                 char err[STORE_ERR_MAX]);
int store_db_del(struct store_db *db, const char *name,
                 char err[STORE_ERR_MAX]);
int store_db_set_epoch(struct store_db *db, uint64_t epoch,
                       char err[STORE_ERR_MAX]);
/* Commit (rolled back if that fails). */
int store_db_commit(struct store_db *db, char err[STORE_ERR_MAX]);
void store_db_close(struct store_db *db);

struct store_dirty;
struct store_ledger;

struct store {
    struct store_db *db;        /* owned */
    enum store_fsync policy;
    uint64_t interval_ms;       /* batch/never: commit period */
    uv_timer_t timer;           /* embedded: the next periodic commit */
    bool timer_open;
    struct store_dirty *dirty;  /* owned: uthash by name, latest records */
    struct store_ledger *ledger; /* owned: uthash by (name, client id):
                                   every client's undo permits per
                                   semaphore, as the file has them or will
                                   at the next commit */
    uint32_t ledger_dirty;      /* rows changed since the last commit */
    struct registry *registry;  /* borrowed (owner: server) */
    uint64_t epoch;             /* this start's */
    uint32_t loaded;            /* objects restored at start */
    uint32_t holds_loaded;      /* holds restored (grace.c's ghosts) */
    uint32_t permits_loaded;    /* undo permits restored (ghosts too) */
    bool frozen;                /* stopping: nothing more is recorded */
    int lock_fd;                /* the directory's flock, until closed */
    unsigned batch;             /* store_batch_begin nesting */
    bool batch_changed;         /*   ... and a change waits for its end */
    struct grace *grace;        /* borrowed: gets the restored holds */
    /* The client id of the session `owner` (false: it gave none, so its
     * holds are not kept). */
    bool (*client_id_of)(void *arg, uint64_t owner, uint8_t id[16]);
    void *client_id_arg;
    uint64_t commits;           /* periodic or immediate commits */
    uint64_t write_errors;
};

/*
 * Open (creating it) the state in dir, lock it against a second daemon,
 * restore its objects into r, count this start in the epoch (on disk
 * before it returns).  0, or -1 after logging why (a corrupt or foreign
 * file, a locked or unwritable directory): the daemon must not start.
 */
int store_open(struct store *st, const char *dir, enum store_fsync policy,
               uint64_t interval_ms, uv_loop_t *loop, struct registry *r,
               struct grace *g);

/* The object the file keeps o's lock under: o itself, or for a
 * condition's own lock the condition; NULL when nothing is kept
 * (unlinked, anonymous). */
struct object *store_named(struct store *st, struct object *o);

/* Stopping: commit what is pending, then record nothing more (the holds
 * of the sessions being closed stay in the file for their reclaim). */
void store_freeze(struct store *st);

/* o changed (created, flag, value): record it, now or at the next commit
 * as the policy says.  Unlinked and anonymous (transient) objects are not
 * kept. */
void store_note(struct store *st, struct object *o);
/*
 * The permits client_id holds through undo handles of semaphore o changed
 * by delta: record the new count, at the next commit as the policy says.
 * Unlinked and anonymous semaphores are not kept.
 */
void store_permits_changed(struct store *st, struct object *o,
                           const uint8_t client_id[16], int64_t delta);
/*
 * Changes made between store_batch_begin and store_batch_end (nested:
 * the outermost end) are committed together under --fsync always, not one
 * by one: a change of several records - a semaphore's value and a
 * client's undo permits - never reaches the disk half made, whatever
 * instant a kill -9 lands.  (batch and never commit from a timer, which
 * never runs inside one request.)  NULL st: nothing to do.
 */
void store_batch_begin(struct store *st);
void store_batch_end(struct store *st);
/* name was unlinked: remove it. */
void store_forget(struct store *st, const char *name);
/* Commit what is pending, with an fsync unless the policy is never. */
void store_flush(struct store *st);
/* Flush (synced, whatever the policy: a clean stop loses nothing), close
 * the file and the timer (closed when the loop next runs). */
void store_close(struct store *st);

/* "always", "batch", "never" -> policy; -1 for anything else. */
int store_fsync_parse(const char *s);
const char *store_fsync_name(enum store_fsync p);

#endif
