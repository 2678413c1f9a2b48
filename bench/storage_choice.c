/*
 * storage_choice.c: the measurement behind syncd's state file
 * (docs/persistence.md).  Writes the kind of record syncd keeps (a name,
 * a few integers) to SQLite in WAL mode, to LMDB and to a hand-written
 * append-only log with a CRC per record, under the three --fsync policies:
 *
 *   always  one committed, fsync'ed write per change
 *   batch   100 changes per commit, fsync'ed (one 100 ms period of a busy
 *           daemon)
 *   never   one commit per change, no fsync (what kill -9 leaves intact)
 *
 * and prints microseconds per change.  Built when LMDB's development
 * files are present (bench/CMakeLists.txt); run it on the disk the state
 * directory will live on:  ./storage_choice /var/lib/syncd-measure
 */
#include <fcntl.h>
#include <lmdb.h>
#include <stdbool.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#define N_OBJECTS 64

static double now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* One record: "name|type|value" like a semaphore's row. */
static int record(char *buf, size_t size, int i)
{
    return snprintf(buf, size, "bench/sem%02d|3|%d", i % N_OBJECTS, i);
}

static void die(const char *what)
{
    fprintf(stderr, "storage_choice: %s\n", what);
    exit(1);
}

static double run_sqlite(const char *dir, int n, int per_commit, bool sync)
{
    char path[512], rec[64];
    sqlite3 *db;
    sqlite3_stmt *st;
    double t0;
    int i;

    snprintf(path, sizeof(path), "%s/bench.db", dir);
    unlink(path);
    if (sqlite3_open(path, &db) != SQLITE_OK)
        die("sqlite3_open");
    sqlite3_exec(db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL);
    sqlite3_exec(db, sync ? "PRAGMA synchronous=FULL"
                          : "PRAGMA synchronous=OFF", NULL, NULL, NULL);
    sqlite3_exec(db, "CREATE TABLE o(name TEXT PRIMARY KEY, v TEXT, crc INT)",
                 NULL, NULL, NULL);
    sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO o VALUES(?,?,?)", -1, &st,
                       NULL);
    t0 = now_us();
    for (i = 0; i < n; i++) {
        int len = record(rec, sizeof(rec), i);

        if (i % per_commit == 0)
            sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
        sqlite3_bind_text(st, 1, rec, 12, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, rec, len, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, crc32(0, (const Bytef *)rec, len));
        if (sqlite3_step(st) != SQLITE_DONE)
            die("sqlite3_step");
        sqlite3_reset(st);
        if (i % per_commit == per_commit - 1 || i == n - 1)
            sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    }
    t0 = (now_us() - t0) / n;
    sqlite3_finalize(st);
    sqlite3_close(db);
    return t0;
}

static double run_lmdb(const char *dir, int n, int per_commit, bool sync)
{
    char path[512], rec[64];
    MDB_env *env;
    MDB_txn *txn = NULL;
    MDB_dbi dbi;
    double t0;
    int i;

    snprintf(path, sizeof(path), "%s/lmdb", dir);
    mkdir(path, 0700);
    snprintf(path, sizeof(path), "%s/lmdb/data.mdb", dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/lmdb", dir);
    if (mdb_env_create(&env) || mdb_env_set_mapsize(env, 64 << 20) ||
        mdb_env_open(env, path, sync ? 0 : MDB_NOSYNC, 0600))
        die("mdb_env_open");
    t0 = now_us();
    for (i = 0; i < n; i++) {
        int len = record(rec, sizeof(rec), i);
        MDB_val k = {12, rec}, v = {(size_t)len, rec};

        if (i % per_commit == 0 &&
            (mdb_txn_begin(env, NULL, 0, &txn) || mdb_dbi_open(txn, NULL, 0,
                                                               &dbi)))
            die("mdb_txn_begin");
        if (mdb_put(txn, dbi, &k, &v, 0))
            die("mdb_put");
        if ((i % per_commit == per_commit - 1 || i == n - 1) &&
            mdb_txn_commit(txn))
            die("mdb_txn_commit");
    }
    t0 = (now_us() - t0) / n;
    mdb_env_close(env);
    return t0;
}

static double run_log(const char *dir, int n, int per_commit, bool sync)
{
    char path[512], rec[80];
    double t0;
    int fd, i;

    snprintf(path, sizeof(path), "%s/bench.log", dir);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0600);
    if (fd < 0)
        die("open log");
    t0 = now_us();
    for (i = 0; i < n; i++) {
        int len = record(rec + 8, sizeof(rec) - 8, i);
        unsigned crc = crc32(0, (const Bytef *)rec + 8, len);

        memcpy(rec, &len, 4);
        memcpy(rec + 4, &crc, 4);
        if (write(fd, rec, 8 + len) != 8 + len)
            die("write");
        if (sync && (i % per_commit == per_commit - 1 || i == n - 1))
            fdatasync(fd);
    }
    t0 = (now_us() - t0) / n;
    close(fd);
    return t0;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : ".";
    static const struct {
        const char *name;
        int n, per_commit;
        bool sync;
    } policies[] = {
        {"always", 500, 1, true},
        {"batch", 20000, 100, true},
        {"never", 20000, 1, false},
    };
    size_t p;

    mkdir(dir, 0700);
    printf("%-8s %12s %12s %12s   (us per change)\n", "policy", "sqlite-wal",
           "lmdb", "append-log");
    for (p = 0; p < sizeof(policies) / sizeof(policies[0]); p++)
        printf("%-8s %12.2f %12.2f %12.2f\n", policies[p].name,
               run_sqlite(dir, policies[p].n, policies[p].per_commit,
                          policies[p].sync),
               run_lmdb(dir, policies[p].n, policies[p].per_commit,
                        policies[p].sync),
               run_log(dir, policies[p].n, policies[p].per_commit,
                       policies[p].sync));
    return 0;
}
