/*
 * test_persist.c: --state-dir.  Objects, flags, counts and modes survive
 * kill -9 of the daemon and a restart on the same directory; fencing
 * tokens after a crash are greater than every token before it, under
 * every --fsync policy; a clean stop loses nothing even under batch; a
 * corrupt or foreign state file is refused at start with a clear message;
 * a second daemon on the same directory is refused; --fsync without a
 * state directory is warned about.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "daemon_fixture.h"
#include "rawsock.h"
#include "syncclient.h"

TestSuite(persist, .fini = syncd_fixture_fini, .timeout = 60);

static char state_dir[160];

/* Start (or restart) the daemon on DIR/state with the given policy. */
static void start(const char *policy, const char *interval)
{
    syncd_fixture_mkdir();
    snprintf(state_dir, sizeof(state_dir), "%s/state", syncd_fx.dir);
    syncd_fixture_start((const char *[]){"--state-dir", state_dir, "--fsync",
                                         policy, "--fsync-interval",
                                         interval, NULL});
}

static sync_client *connect_ok(void)
{
    sync_client *c = NULL;

    cr_assert(eq(int, sync_connect(syncd_fx.sock, &c), 0));
    return c;
}

/* The tokens of n acquire/release rounds of the Lock name; the last. */
static uint64_t lock_rounds(sync_client *c, const char *name, int n)
{
    sync_lock *l;
    uint64_t last = 0;
    int i;

    cr_assert(eq(int, sync_lock_open(c, name, &l), 0));
    for (i = 0; i < n; i++) {
        cr_assert(eq(int, sync_lock_acquire(l, true, 5.0), 0));
        cr_assert(gt(u64, sync_lock_token(l), last));
        last = sync_lock_token(l);
        cr_assert(eq(int, sync_lock_release(l), 0));
    }
    sync_lock_close(l);
    return last;
}

/* `syncctl show NAME` has a line containing needle. */
static bool show_contains(const char *name, const char *needle)
{
    char cmd[512];

    snprintf(cmd, sizeof(cmd), "%s -s %s show %s", SYNCCTL_BIN, syncd_fx.sock,
             name);
    return command_has_line(cmd, needle, NULL);
}

Test(persist, objects_flags_counts_modes_survive_kill9)
{
    sync_client *c;
    sync_event *e;
    sync_sem *s, *b, *u;
    sync_lock *l;
    sync_barrier *bar;
    sync_cond *cv;
    uint64_t before;

    start("always", "100");
    c = connect_ok();
    cr_assert(eq(int, sync_set_create_mode(c, 0640), 0));
    cr_assert(eq(int, sync_event_open(c, "p/ev", &e), 0));
    cr_assert(eq(int, sync_event_set(e), 0));
    cr_assert(eq(int, sync_sem_open(c, "p/sem", 5, &s), 0));
    cr_assert(eq(int, sync_sem_acquire(s, true, 1.0), 0));
    cr_assert(eq(int, sync_sem_acquire(s, true, 1.0), 0));
    cr_assert(eq(int, sync_bsem_open(c, "p/bsem", 4, &b), 0));
    cr_assert(eq(int, sync_sem_acquire(b, true, 1.0), 0));
    /* Held through an undo handle: kept across the restart for its client
     * to reclaim (test_reclaim.c), given back when the grace period ends
     * unclaimed, as the holder's death would. */
    cr_assert(eq(int, sync_sem_open_flags(c, "p/undo", 2, false, SYNC_SEM_UNDO,
                                     &u),
                 0));
    cr_assert(eq(int, sync_sem_acquire(u, true, 1.0), 0));
    cr_assert(eq(int, sync_barrier_open(c, "p/bar", 3, &bar), 0));
    cr_assert(eq(int, sync_lock_open(c, "p/cvlock", &l), 0));
    cr_assert(eq(int, sync_cond_open(c, "p/cv", "p/cvlock", &cv), 0));
    before = lock_rounds(c, "p/lock", 3);
    {
        /* Anonymous objects end with their handles: not kept (the count
         * of restored objects below is the 8 named ones). */
        sync_event *anon_e;
        sync_lock *anon_l;

        cr_assert(eq(int, sync_event_open(c, NULL, &anon_e), 0));
        cr_assert(eq(int, sync_event_set(anon_e), 0));
        cr_assert(eq(int, sync_lock_open(c, NULL, &anon_l), 0));
        cr_assert(eq(int, sync_lock_acquire(anon_l, true, 1.0), 0));
        cr_assert(eq(int, syncd_fixture_kill(SIGKILL), 128 + SIGKILL));
        sync_event_close(anon_e);
        sync_lock_close(anon_l);
    }
    /* Closed after the kill: the undo permit was still held at the crash. */
    sync_event_close(e);
    sync_sem_close(s);
    sync_sem_close(b);
    sync_sem_close(u);
    sync_barrier_close(bar);
    sync_cond_close(cv);
    sync_lock_close(l);
    sync_disconnect(c);

    start("always", "100");
    cr_assert(syncd_fixture_log_contains("epoch 2, 8 object(s) and 0 hold(s) "
                                         "restored, 1 undo permit(s) kept",
                                         1000));
    c = connect_ok();
    cr_assert(eq(int, sync_set_open_existing(c, true), 0));
    cr_assert(eq(int, sync_event_open(c, "p/ev", &e), 0));
    cr_assert(eq(int, sync_event_is_set(e), 1));
    cr_assert(eq(int, sync_sem_open(c, "p/sem", 0, &s), 0));
    cr_assert(eq(int, sync_sem_value(s), 3));
    cr_assert(eq(int, sync_bsem_open(c, "p/bsem", 0, &b), 0));
    cr_assert(eq(int, sync_sem_value(b), 3));
    cr_assert(eq(int, sync_sem_open(c, "p/undo", 0, &u), 0));
    cr_assert(eq(int, sync_sem_value(u), 1));
    cr_assert(show_contains("p/bar", "parties:   3"));
    cr_assert(show_contains("p/ev", "mode 0640"));
    cr_assert(show_contains("p/cv", "p/cvlock"));
    /* The bound is the creation parameter: 4, not the value at the crash. */
    cr_assert(eq(int, sync_sem_release(b, 1), 0));
    cr_assert(eq(int, sync_sem_release(b, 1), SYNC_EVALUE));
    cr_assert(gt(u64, lock_rounds(c, "p/lock", 1), before));
    sync_event_close(e);
    sync_sem_close(s);
    sync_sem_close(b);
    sync_sem_close(u);
    sync_disconnect(c);
}

Test(persist, tokens_never_repeat_after_kill9_under_every_policy)
{
    const char *policies[] = {"always", "batch", "never"};
    uint64_t last = 0, first;
    sync_client *c;
    size_t i;

    for (i = 0; i < 3; i++) {
        start(policies[i], "100");
        c = connect_ok();
        first = lock_rounds(c, "tok", 1);
        cr_assert(gt(u64, first, last), "policy %s: %llu after %llu",
                  policies[i], (unsigned long long)first,
                  (unsigned long long)last);
        last = lock_rounds(c, "tok", 50);
        /* No time for a periodic commit: only the reservation is on disk. */
        cr_assert(eq(int, syncd_fixture_kill(SIGKILL), 128 + SIGKILL));
        sync_disconnect(c);
    }
    start("batch", "100");
    c = connect_ok();
    cr_assert(gt(u64, lock_rounds(c, "tok", 1), last));
    sync_disconnect(c);
}

Test(persist, clean_stop_loses_nothing_under_batch_and_never)
{
    const char *policies[] = {"batch", "never"};
    sync_client *c;
    sync_event *e;
    sync_sem *s;
    size_t i;

    for (i = 0; i < 2; i++) {
        /* A commit period far longer than the test: only the stop's
         * final commit can have written these. */
        start(policies[i], "60000");
        c = connect_ok();
        cr_assert(eq(int, sync_event_open(c, "clean/ev", &e), 0));
        if (i == 0)
            cr_assert(eq(int, sync_event_set(e), 0));
        else
            cr_assert(eq(int, sync_event_clear(e), 0));
        cr_assert(eq(int, sync_sem_open(c, "clean/sem", 10, &s), 0));
        cr_assert(eq(int, sync_sem_acquire(s, true, 1.0), 0));
        sync_event_close(e);
        sync_sem_close(s); /* the permit stays taken: no undo */
        sync_disconnect(c);
        cr_assert(eq(int, syncd_fixture_stop(), 0));
        cr_assert(syncd_fixture_log_contains("state: saved to", 1000));
    }
    start("batch", "100");
    c = connect_ok();
    cr_assert(eq(int, sync_event_open(c, "clean/ev", &e), 0));
    cr_assert(eq(int, sync_event_is_set(e), 0));
    cr_assert(eq(int, sync_sem_open(c, "clean/sem", 10, &s), 0));
    cr_assert(eq(int, sync_sem_value(s), 8));
    sync_event_close(e);
    sync_sem_close(s);
    sync_disconnect(c);
}

/* Start the daemon on state_dir expecting it to refuse: exit status 1
 * and needle in its log. */
static void expect_refusal(const char *needle)
{
    pid_t pid = syncd_spawn(syncd_fx.sock, syncd_fx.log,
                            (const char *[]){"--state-dir", state_dir, NULL});
    int status;

    cr_assert(gt(int, pid, 0));
    status = fx_wait_status(pid, 10000);
    cr_assert(eq(int, fx_exit_code(status), 1));
    cr_assert(file_contains(syncd_fx.log, needle), "no '%s' in the log",
              needle);
}

static void sql(const char *stmt)
{
    char path[200];
    sqlite3 *db;

    snprintf(path, sizeof(path), "%s/state.db", state_dir);
    cr_assert(eq(int, sqlite3_open(path, &db), SQLITE_OK));
    cr_assert(eq(int, sqlite3_exec(db, stmt, NULL, NULL, NULL), SQLITE_OK),
              "%s", sqlite3_errmsg(db));
    sqlite3_close(db);
}

Test(persist, corrupt_state_is_refused_clearly)
{
    sync_client *c;
    sync_event *e;
    char path[200];
    FILE *f;

    start("always", "100");
    c = connect_ok();
    cr_assert(eq(int, sync_event_open(c, "corrupt/ev", &e), 0));
    cr_assert(eq(int, sync_event_set(e), 0));
    sync_event_close(e);
    sync_disconnect(c);
    cr_assert(eq(int, syncd_fixture_stop(), 0));

    /* A changed byte SQLite itself would read back happily. */
    sql("UPDATE objects SET state = 0 WHERE name = 'corrupt/ev'");
    expect_refusal("is corrupt: the checksum of object 'corrupt/ev' does "
                   "not match its contents; refusing to start");

    /* Not a database at all. */
    snprintf(path, sizeof(path), "%s/state.db", state_dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/state.db-wal", state_dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/state.db", state_dir);
    f = fopen(path, "w");
    cr_assert(f != NULL);
    for (int i = 0; i < 4096; i++)
        fputc(i * 7 + 3, f);
    fclose(f);
    expect_refusal("refusing to start (move the directory's state.db* files "
                   "away to start empty)");
    syncd_fx.check_exit = false; /* the last daemon was the refused one */
}

/* A file of at most max bytes into buf; its length. */
static size_t read_file(const char *path, unsigned char *buf, size_t max)
{
    FILE *f = fopen(path, "rb");
    size_t n;

    cr_assert_not_null(f, "%s", path);
    n = fread(buf, 1, max, f);
    cr_assert(lt(sz, n, max), "%s is larger than the test expects", path);
    fclose(f);
    return n;
}

static void write_file(const char *path, const unsigned char *buf, size_t n)
{
    FILE *f = fopen(path, "wb");

    cr_assert_not_null(f, "%s", path);
    cr_assert(eq(sz, fwrite(buf, 1, n, f), n));
    cr_assert(eq(int, fclose(f), 0));
}

/* A name is in the file twice: in its table row, which the row's CRC
 * covers, and in the primary key's index, which it does not.  A byte
 * changed in either copy refuses the start: a stale index entry would let
 * a later update or unlink of that name miss its row (PRAGMA quick_check
 * does not compare an index with its table; integrity_check does). */
Test(persist, a_changed_byte_in_any_copy_of_a_name_is_refused)
{
    static unsigned char orig[1 << 20], bad[1 << 20];
    static const char name[] = "corrupt/indexed";
    sync_client *c;
    sync_event *e;
    char path[200], wal[200];
    size_t n, i, copies = 0;

    start("always", "100");
    c = connect_ok();
    cr_assert(eq(int, sync_event_open(c, name, &e), 0));
    cr_assert(eq(int, sync_event_set(e), 0));
    sync_event_close(e);
    sync_disconnect(c);
    cr_assert(eq(int, syncd_fixture_stop(), 0));
    /* A clean stop checkpoints the log into state.db. */
    snprintf(wal, sizeof(wal), "%s/state.db-wal", state_dir);
    cr_assert(access(wal, F_OK) != 0, "%s is left after a clean stop", wal);
    snprintf(path, sizeof(path), "%s/state.db", state_dir);
    n = read_file(path, orig, sizeof(orig));
    for (i = 0; i + sizeof(name) - 1 <= n; i++) {
        if (memcmp(orig + i, name, sizeof(name) - 1) != 0)
            continue;
        copies++;
        memcpy(bad, orig, n);
        bad[i + 4] ^= 1; /* "corrupt" -> "corsupt" */
        write_file(path, bad, n);
        cr_assert(eq(int, truncate(syncd_fx.log, 0), 0)); /* this start's */
        expect_refusal("is corrupt");
        cr_assert(file_contains(syncd_fx.log, "refusing to start"));
    }
    cr_assert(ge(sz, copies, 2), "the name is %zu time(s) in the file", copies);
    /* The file as it was starts again: the refusals changed nothing. */
    write_file(path, orig, n);
    syncd_fixture_start((const char *[]){"--state-dir", state_dir, NULL});
    cr_assert(show_contains(name, "state:     set"));
}

Test(persist, second_daemon_on_the_same_dir_is_refused)
{
    char sock2[200];
    pid_t pid;

    start("batch", "100");
    snprintf(sock2, sizeof(sock2), "%s/other.sock", syncd_fx.dir);
    pid = syncd_spawn(sock2, syncd_fx.log,
                      (const char *[]){"--state-dir", state_dir, NULL});
    cr_assert(gt(int, pid, 0));
    cr_assert(eq(int, fx_exit_code(fx_wait_status(pid, 10000)), 1));
    cr_assert(file_contains(syncd_fx.log, "is in use by another syncd"));
}

/* Hello (version 2) on a raw connection: the epoch the daemon reports. */
static uint64_t hello_epoch(void)
{
    struct raw_reply r;

    cr_assert(eq(int, raw_hello_at(syncd_fx.sock, 2, &r), RAW_OK));
    cr_assert(eq(int, r.code, 0));
    cr_assert(eq(u32, r.version, 2));
    return r.epoch;
}

/* The config file's `state_dir` (the spelling) is `state-dir`;
 * a version-2 Hello reports the start's epoch, one more at each start. */
Test(persist, config_state_dir_alias_and_epoch_in_hello)
{
    char conf[200], text[256];
    FILE *f;
    uint64_t first;

    syncd_fixture_mkdir();
    snprintf(state_dir, sizeof(state_dir), "%s/state", syncd_fx.dir);
    snprintf(conf, sizeof(conf), "%s/syncd.conf", syncd_fx.dir);
    snprintf(text, sizeof(text), "state_dir = %s\nfsync_interval = 50\n",
             state_dir);
    f = fopen(conf, "w");
    cr_assert_not_null(f);
    cr_assert(eq(int, fputs(text, f) >= 0, 1));
    cr_assert(eq(int, fclose(f), 0));
    syncd_fixture_start((const char *[]){"--config", conf, NULL});
    first = hello_epoch();
    cr_assert(ge(u64, first, 1));
    cr_assert(syncd_fixture_log_contains(state_dir, 1000));
    syncd_fixture_kill(SIGKILL);
    syncd_fixture_start((const char *[]){"--config", conf, NULL});
    cr_assert(eq(u64, hello_epoch(), first + 1));
}

Test(persist, durability_flags_without_a_state_dir_are_warned_about)
{
    syncd_fixture_mkdir();
    syncd_fixture_start((const char *[]){"--fsync", "always", NULL});
    cr_assert(syncd_fixture_log_contains("state: in memory only", 1000));
    cr_assert(syncd_fixture_log_contains("have no effect without a state "
                                         "directory", 1000));
}

/* The defaults say nothing more than "in memory". */
Test(persist, no_state_dir_and_default_durability_is_not_warned_about)
{
    syncd_fixture_mkdir();
    syncd_fixture_start((const char *[]){NULL});
    cr_assert(syncd_fixture_log_contains("state: in memory only", 1000));
    cr_assert(not(syncd_fixture_log_contains("have no effect", 200)));
}
