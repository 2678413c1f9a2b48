/*
 * store_db.c: the state file's format, and nothing about when to write
 * (store.c).  DIR/state.db is an SQLite database in WAL mode (the measured
 * choice: docs/persistence.md) with two tables:
 *
 *   objects(name PRIMARY KEY, type, param, lock_name, uid, gid, mode,
 *           state, tokens, crc)
 *   meta(key PRIMARY KEY, value, crc)          -- 'format' 1, 'epoch' N
 *   holds(name PRIMARY KEY, client_id, thread, depth, token, crc)
 *   permits(name, client_id, count, crc, PRIMARY KEY(name, client_id))
 *
 * (holds and permits came after the first files: a file without those
 * tables gets them, empty, and stays format 1.)
 *
 * crc is the CRC-32 (zlib) of the row's other columns in a fixed text
 * form, so a page that SQLite reads back intact but whose bytes changed
 * (a flipped bit, an edit) is caught; PRAGMA integrity_check catches a
 * damaged structure and an index that no longer matches its table (which
 * quick_check skips: a changed byte in a name's index entry would let a
 * later UPDATE or DELETE by name miss its row); a torn WAL tail is dropped by SQLite's own frame
 * checksums (those commits were never complete).
 */
#include "store.h"

#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define STORE_DB_FORMAT 1

struct store_db {
    sqlite3 *db;               /* owned */
    sqlite3_stmt *put, *del;   /* owned: prepared once */
    sqlite3_stmt *meta_put;    /* owned */
    sqlite3_stmt *hold_put, *hold_del; /* owned */
    sqlite3_stmt *permit_put, *permit_del, *permits_del; /* owned */
    char path[4096];
    bool fsync_commits;        /* synchronous=FULL rather than OFF */
    bool sync_now;             /* this transaction is FULL all the same */
};

static int store_db_fail(struct store_db *db, const char *what,
                         char err[STORE_ERR_MAX])
{
    snprintf(err, STORE_ERR_MAX, "%s: %s: %s", db->path, what,
             sqlite3_errmsg(db->db));
    return -1;
}

static int store_db_exec(struct store_db *db, const char *sql,
                         char err[STORE_ERR_MAX])
{
    return sqlite3_exec(db->db, sql, NULL, NULL, NULL) == SQLITE_OK
               ? 0
               : store_db_fail(db, sql, err);
}

static uint32_t store_db_rec_crc(const struct store_rec *r)
{
    char buf[2 * SYNC_NAME_MAX + 160];
    int n = snprintf(buf, sizeof(buf),
                     "%zu:%s|%" PRIu32 "|%" PRIu32 "|%zu:%s|%" PRIu32
                     "|%" PRIu32 "|%" PRIu32 "|%" PRId64 "|%" PRIu64,
                     strlen(r->name), r->name, r->type, r->param,
                     strlen(r->lock_name), r->lock_name, r->uid, r->gid,
                     r->mode, r->state, r->tokens);

    return (uint32_t)crc32(0, (const Bytef *)buf, (uInt)n);
}

/* "LEN:name|" and the client id in hex: the key columns of holds and
 * permits, as their checksums read them. */
static int store_db_key_text(char *buf, size_t size, const char *name,
                             const uint8_t client_id[16])
{
    int n = snprintf(buf, size, "%zu:%s|", strlen(name), name);
    size_t i;

    for (i = 0; i < 16; i++)
        n += snprintf(buf + n, size - (size_t)n, "%02x", client_id[i]);
    return n;
}

static uint32_t store_db_permits_crc(const struct store_permits *p)
{
    char buf[SYNC_NAME_MAX + 80];
    int n = store_db_key_text(buf, sizeof(buf), p->name, p->client_id);

    n += snprintf(buf + n, sizeof(buf) - (size_t)n, "|%" PRIu32, p->count);
    return (uint32_t)crc32(0, (const Bytef *)buf, (uInt)n);
}

static uint32_t store_db_hold_crc(const struct store_hold *h)
{
    char buf[SYNC_NAME_MAX + 160];
    int n = store_db_key_text(buf, sizeof(buf), h->name, h->client_id);

    n += snprintf(buf + n, sizeof(buf) - (size_t)n,
                  "|%" PRIu64 "|%" PRIu32 "|%" PRIu64, h->thread, h->depth,
                  h->token);
    return (uint32_t)crc32(0, (const Bytef *)buf, (uInt)n);
}

static uint32_t store_db_meta_crc(const char *key, uint64_t value)
{
    char buf[96];
    int n = snprintf(buf, sizeof(buf), "%s|%" PRIu64, key, value);

    return (uint32_t)crc32(0, (const Bytef *)buf, (uInt)n);
}

int store_db_open(const char *dir, bool fsync_commits, struct store_db **out,
                  char err[STORE_ERR_MAX])
{
    struct store_db *db = calloc(1, sizeof(*db));
    int rc;

    *out = NULL;
    if (db == NULL) {
        snprintf(err, STORE_ERR_MAX, "out of memory");
        return -1;
    }
    db->fsync_commits = fsync_commits;
    snprintf(db->path, sizeof(db->path), "%s/state.db", dir);
    rc = sqlite3_open_v2(db->path, &db->db,
                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                             SQLITE_OPEN_NOMUTEX,
                         NULL);
    if (rc != SQLITE_OK)
        goto fail;
    /* Refuse rather than wait: the directory lock (store.c) already
     * keeps a second daemon out. */
    if (store_db_exec(db, "PRAGMA journal_mode=WAL", err) != 0 ||
        store_db_exec(db, fsync_commits ? "PRAGMA synchronous=FULL"
                                        : "PRAGMA synchronous=OFF",
                      err) != 0 ||
        store_db_exec(db,
                      "CREATE TABLE IF NOT EXISTS objects("
                      "name TEXT PRIMARY KEY, type INTEGER, param INTEGER,"
                      " lock_name TEXT, uid INTEGER, gid INTEGER,"
                      " mode INTEGER, state INTEGER, tokens INTEGER,"
                      " crc INTEGER);"
                      "CREATE TABLE IF NOT EXISTS meta("
                      "key TEXT PRIMARY KEY, value INTEGER, crc INTEGER);"
                      "CREATE TABLE IF NOT EXISTS holds("
                      "name TEXT PRIMARY KEY, client_id BLOB,"
                      " thread INTEGER, depth INTEGER, token INTEGER,"
                      " crc INTEGER);"
                      "CREATE TABLE IF NOT EXISTS permits("
                      "name TEXT, client_id BLOB, count INTEGER,"
                      " crc INTEGER, PRIMARY KEY(name, client_id))",
                      err) != 0)
        goto fail_err;
    if (sqlite3_prepare_v2(db->db,
                           "INSERT OR REPLACE INTO objects VALUES"
                           "(?,?,?,?,?,?,?,?,?,?)",
                           -1, &db->put, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db->db, "DELETE FROM objects WHERE name=?", -1,
                           &db->del, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db->db,
                           "INSERT OR REPLACE INTO meta VALUES(?,?,?)", -1,
                           &db->meta_put, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db->db,
                           "INSERT OR REPLACE INTO holds VALUES(?,?,?,?,?,?)",
                           -1, &db->hold_put, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db->db, "DELETE FROM holds WHERE name=?", -1,
                           &db->hold_del, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db->db,
                           "INSERT OR REPLACE INTO permits VALUES(?,?,?,?)",
                           -1, &db->permit_put, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db->db,
                           "DELETE FROM permits WHERE name=? AND client_id=?",
                           -1, &db->permit_del, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db->db, "DELETE FROM permits WHERE name=?", -1,
                           &db->permits_del, NULL) != SQLITE_OK)
        goto fail;
    *out = db;
    return 0;

fail:
    store_db_fail(db, "cannot open the state file", err);
fail_err:
    store_db_close(db);
    return -1;
}

/* Every row of meta checked; format and epoch out. */
static int store_db_load_meta(struct store_db *db, uint64_t *epoch,
                              char err[STORE_ERR_MAX])
{
    sqlite3_stmt *st;
    uint64_t format = 0;
    int rc;

    *epoch = 0;
    if (sqlite3_prepare_v2(db->db, "SELECT key, value, crc FROM meta", -1,
                           &st, NULL) != SQLITE_OK)
        return store_db_fail(db, "cannot read", err);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *key = (const char *)sqlite3_column_text(st, 0);
        uint64_t value = (uint64_t)sqlite3_column_int64(st, 1);
        uint32_t crc = (uint32_t)sqlite3_column_int64(st, 2);

        if (key == NULL || store_db_meta_crc(key, value) != crc) {
            snprintf(err, STORE_ERR_MAX,
                     "%s is corrupt: the checksum of meta row '%s' does not "
                     "match its contents",
                     db->path, key ? key : "(null)");
            sqlite3_finalize(st);
            return -1;
        }
        if (strcmp(key, "epoch") == 0)
            *epoch = value;
        else if (strcmp(key, "format") == 0)
            format = value;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return store_db_fail(db, "cannot read", err);
    if (format != 0 && format != STORE_DB_FORMAT) {
        snprintf(err, STORE_ERR_MAX,
                 "%s has format %" PRIu64 "; this syncd reads format %d",
                 db->path, format, STORE_DB_FORMAT);
        return -1;
    }
    return 0;
}

static void store_db_copy(char *dst, const unsigned char *src, size_t cap)
{
    snprintf(dst, cap, "%s", src ? (const char *)src : "");
}

int store_db_load(struct store_db *db, uint64_t *epoch,
                  int (*cb)(void *arg, const struct store_rec *rec),
                  void *arg, char err[STORE_ERR_MAX])
{
    sqlite3_stmt *st;
    const unsigned char *txt;
    int rc;

    if (sqlite3_prepare_v2(db->db, "PRAGMA integrity_check", -1, &st, NULL) !=
        SQLITE_OK)
        return store_db_fail(db, "is not a usable state file", err);
    rc = sqlite3_step(st);
    txt = rc == SQLITE_ROW ? sqlite3_column_text(st, 0) : NULL;
    if (txt == NULL || strcmp((const char *)txt, "ok") != 0) {
        snprintf(err, STORE_ERR_MAX, "%s is corrupt: integrity_check: %s",
                 db->path, txt ? (const char *)txt : sqlite3_errmsg(db->db));
        sqlite3_finalize(st);
        return -1;
    }
    sqlite3_finalize(st);
    if (store_db_load_meta(db, epoch, err) != 0)
        return -1;
    /* Conditions last: their locks must exist first. */
    if (sqlite3_prepare_v2(db->db,
                           "SELECT name, type, param, lock_name, uid, gid, "
                           "mode, state, tokens, crc FROM objects "
                           "ORDER BY type = 6, name",
                           -1, &st, NULL) != SQLITE_OK)
        return store_db_fail(db, "cannot read", err);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct store_rec r;

        memset(&r, 0, sizeof(r));
        store_db_copy(r.name, sqlite3_column_text(st, 0), sizeof(r.name));
        r.type = (uint32_t)sqlite3_column_int64(st, 1);
        r.param = (uint32_t)sqlite3_column_int64(st, 2);
        store_db_copy(r.lock_name, sqlite3_column_text(st, 3),
                      sizeof(r.lock_name));
        r.uid = (uint32_t)sqlite3_column_int64(st, 4);
        r.gid = (uint32_t)sqlite3_column_int64(st, 5);
        r.mode = (uint32_t)sqlite3_column_int64(st, 6);
        r.state = sqlite3_column_int64(st, 7);
        r.tokens = (uint64_t)sqlite3_column_int64(st, 8);
        if (store_db_rec_crc(&r) != (uint32_t)sqlite3_column_int64(st, 9)) {
            snprintf(err, STORE_ERR_MAX,
                     "%s is corrupt: the checksum of object '%.255s' does "
                     "not match its contents",
                     db->path, r.name);
            sqlite3_finalize(st);
            return -1;
        }
        if (cb(arg, &r) != 0) {
            snprintf(err, STORE_ERR_MAX,
                     "%s: object '%.255s' (type %" PRIu32 ") cannot be "
                     "restored",
                     db->path, r.name, r.type);
            sqlite3_finalize(st);
            return -1;
        }
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : store_db_fail(db, "cannot read", err);
}

int store_db_load_holds(struct store_db *db,
                        int (*cb)(void *arg, const struct store_hold *h),
                        void *arg, char err[STORE_ERR_MAX])
{
    sqlite3_stmt *st;
    int rc;

    if (sqlite3_prepare_v2(db->db,
                           "SELECT name, client_id, thread, depth, token, crc "
                           "FROM holds ORDER BY name",
                           -1, &st, NULL) != SQLITE_OK)
        return store_db_fail(db, "cannot read", err);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct store_hold h;
        const void *id = sqlite3_column_blob(st, 1);

        memset(&h, 0, sizeof(h));
        store_db_copy(h.name, sqlite3_column_text(st, 0), sizeof(h.name));
        if (id != NULL && sqlite3_column_bytes(st, 1) == sizeof(h.client_id))
            memcpy(h.client_id, id, sizeof(h.client_id));
        h.thread = (uint64_t)sqlite3_column_int64(st, 2);
        h.depth = (uint32_t)sqlite3_column_int64(st, 3);
        h.token = (uint64_t)sqlite3_column_int64(st, 4);
        if (store_db_hold_crc(&h) != (uint32_t)sqlite3_column_int64(st, 5)) {
            snprintf(err, STORE_ERR_MAX,
                     "%s is corrupt: the checksum of the hold of '%.255s' "
                     "does not match its contents",
                     db->path, h.name);
            sqlite3_finalize(st);
            return -1;
        }
        if (cb(arg, &h) != 0) {
            snprintf(err, STORE_ERR_MAX,
                     "%s: the hold of '%.255s' cannot be restored", db->path,
                     h.name);
            sqlite3_finalize(st);
            return -1;
        }
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : store_db_fail(db, "cannot read", err);
}

int store_db_load_permits(struct store_db *db,
                          int (*cb)(void *arg, const struct store_permits *p),
                          void *arg, char err[STORE_ERR_MAX])
{
    sqlite3_stmt *st;
    int rc;

    if (sqlite3_prepare_v2(db->db,
                           "SELECT name, client_id, count, crc FROM permits "
                           "ORDER BY name, client_id",
                           -1, &st, NULL) != SQLITE_OK)
        return store_db_fail(db, "cannot read", err);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct store_permits p;
        const void *id = sqlite3_column_blob(st, 1);

        memset(&p, 0, sizeof(p));
        store_db_copy(p.name, sqlite3_column_text(st, 0), sizeof(p.name));
        if (id != NULL && sqlite3_column_bytes(st, 1) == sizeof(p.client_id))
            memcpy(p.client_id, id, sizeof(p.client_id));
        p.count = (uint32_t)sqlite3_column_int64(st, 2);
        if (store_db_permits_crc(&p) !=
            (uint32_t)sqlite3_column_int64(st, 3)) {
            snprintf(err, STORE_ERR_MAX,
                     "%s is corrupt: the checksum of the permits kept of "
                     "'%.255s' does not match their contents",
                     db->path, p.name);
            sqlite3_finalize(st);
            return -1;
        }
        if (cb(arg, &p) != 0) {
            snprintf(err, STORE_ERR_MAX,
                     "%s: the permits kept of '%.255s' cannot be restored",
                     db->path, p.name);
            sqlite3_finalize(st);
            return -1;
        }
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : store_db_fail(db, "cannot read", err);
}

int store_db_begin(struct store_db *db, bool sync, char err[STORE_ERR_MAX])
{
    /* A commit that must be durable under a policy that does not sync:
     * FULL for this one transaction (the pragma is read at BEGIN). */
    if (sync && !db->fsync_commits &&
        store_db_exec(db, "PRAGMA synchronous=FULL", err) != 0)
        return -1;
    db->sync_now = sync && !db->fsync_commits;
    return store_db_exec(db, "BEGIN", err);
}

static int store_db_step(struct store_db *db, sqlite3_stmt *st,
                         char err[STORE_ERR_MAX])
{
    int rc = sqlite3_step(st);

    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE ? 0 : store_db_fail(db, "cannot write", err);
}

int store_db_put(struct store_db *db, const struct store_rec *r,
                 char err[STORE_ERR_MAX])
{
    sqlite3_stmt *st = db->put;

    sqlite3_bind_text(st, 1, r->name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, r->type);
    sqlite3_bind_int64(st, 3, r->param);
    sqlite3_bind_text(st, 4, r->lock_name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, r->uid);
    sqlite3_bind_int64(st, 6, r->gid);
    sqlite3_bind_int64(st, 7, r->mode);
    sqlite3_bind_int64(st, 8, r->state);
    sqlite3_bind_int64(st, 9, (sqlite3_int64)r->tokens);
    sqlite3_bind_int64(st, 10, store_db_rec_crc(r));
    return store_db_step(db, st, err);
}

int store_db_del(struct store_db *db, const char *name,
                 char err[STORE_ERR_MAX])
{
    sqlite3_bind_text(db->del, 1, name, -1, SQLITE_STATIC);
    return store_db_step(db, db->del, err);
}

int store_db_put_hold(struct store_db *db, const struct store_hold *h,
                      char err[STORE_ERR_MAX])
{
    sqlite3_stmt *st = db->hold_put;

    sqlite3_bind_text(st, 1, h->name, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, h->client_id, sizeof(h->client_id),
                      SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)h->thread);
    sqlite3_bind_int64(st, 4, h->depth);
    sqlite3_bind_int64(st, 5, (sqlite3_int64)h->token);
    sqlite3_bind_int64(st, 6, store_db_hold_crc(h));
    return store_db_step(db, st, err);
}

int store_db_del_hold(struct store_db *db, const char *name,
                      char err[STORE_ERR_MAX])
{
    sqlite3_bind_text(db->hold_del, 1, name, -1, SQLITE_STATIC);
    return store_db_step(db, db->hold_del, err);
}

int store_db_put_permits(struct store_db *db, const struct store_permits *p,
                         char err[STORE_ERR_MAX])
{
    sqlite3_stmt *st = p->count > 0 ? db->permit_put : db->permit_del;

    sqlite3_bind_text(st, 1, p->name, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, p->client_id, sizeof(p->client_id),
                      SQLITE_STATIC);
    if (p->count > 0) {
        sqlite3_bind_int64(st, 3, p->count);
        sqlite3_bind_int64(st, 4, store_db_permits_crc(p));
    }
    return store_db_step(db, st, err);
}

int store_db_del_permits(struct store_db *db, const char *name,
                         char err[STORE_ERR_MAX])
{
    sqlite3_bind_text(db->permits_del, 1, name, -1, SQLITE_STATIC);
    return store_db_step(db, db->permits_del, err);
}

static int store_db_meta(struct store_db *db, const char *key,
                         uint64_t value, char err[STORE_ERR_MAX])
{
    sqlite3_bind_text(db->meta_put, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(db->meta_put, 2, (sqlite3_int64)value);
    sqlite3_bind_int64(db->meta_put, 3, store_db_meta_crc(key, value));
    return store_db_step(db, db->meta_put, err);
}

int store_db_set_epoch(struct store_db *db, uint64_t epoch,
                       char err[STORE_ERR_MAX])
{
    if (store_db_meta(db, "format", STORE_DB_FORMAT, err) != 0)
        return -1;
    return store_db_meta(db, "epoch", epoch, err);
}

int store_db_commit(struct store_db *db, char err[STORE_ERR_MAX])
{
    int rv = store_db_exec(db, "COMMIT", err);

    if (rv != 0)
        (void)sqlite3_exec(db->db, "ROLLBACK", NULL, NULL, NULL);
    if (db->sync_now) {
        db->sync_now = false;
        (void)sqlite3_exec(db->db, "PRAGMA synchronous=OFF", NULL, NULL,
                           NULL);
    }
    return rv;
}

void store_db_close(struct store_db *db)
{
    if (db == NULL)
        return;
    sqlite3_finalize(db->put);
    sqlite3_finalize(db->del);
    sqlite3_finalize(db->meta_put);
    sqlite3_finalize(db->hold_put);
    sqlite3_finalize(db->hold_del);
    sqlite3_finalize(db->permit_put);
    sqlite3_finalize(db->permit_del);
    sqlite3_finalize(db->permits_del);
    if (db->db != NULL)
        sqlite3_close(db->db);
    free(db);
}
