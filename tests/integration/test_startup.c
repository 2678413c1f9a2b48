/*
 * test_startup.c: every way the daemon can fail to start says why (the
 * path, the call, the errno's text) and exits with its documented code (1
 * for the socket, 2 for the command line and the config file); the config
 * file is a flat `key = value` list, refused with a line number otherwise,
 * and never echoed when it is some other file; SIGHUP reports what it did.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "daemon_fixture.h"
#include "syncclient.h"

TestSuite(startup, .init = syncd_fixture_mkdir, .fini = syncd_fixture_fini,
          .timeout = 30);

/* Run syncd with sock and args to its exit; return its status and leave
 * its output in syncd_fx.log. */
static int run_syncd(const char *sock, const char *const *args)
{
    pid_t pid = syncd_spawn(sock, syncd_fx.log, args);

    cr_assert(gt(int, pid, 0));
    return fx_waitpid(pid, 10000);
}

static void write_file(const char *path, const char *text, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

    cr_assert(ge(int, fd, 0));
    cr_assert(eq(int, (int)write(fd, text, len), (int)len));
    close(fd);
}

static const char *in_dir(const char *leaf)
{
    static char path[8][160];
    static int next;
    char *p = path[next++ % 8];

    snprintf(p, sizeof(path[0]), "%s/%s", syncd_fx.dir, leaf);
    return p;
}

Test(startup, socket_under_a_regular_file_names_path_call_and_errno)
{
    const char *file = in_dir("plain");
    char sock[200], want[256];

    write_file(file, "x", 1);
    snprintf(sock, sizeof(sock), "%s/s.sock", file);
    cr_assert(eq(int, run_syncd(sock, NULL), 1));
    snprintf(want, sizeof(want), "cannot listen on %s: lstat: Not a directory",
             sock);
    cr_assert(syncd_fixture_log_contains(want, 0), "log lacks: %s", want);
}

Test(startup, socket_in_a_missing_directory_says_what_is_missing)
{
    char sock[200], want[256];

    snprintf(sock, sizeof(sock), "%s/no/such/s.sock", syncd_fx.dir);
    cr_assert(eq(int, run_syncd(sock, NULL), 1));
    snprintf(want, sizeof(want), "stat %s/no/such: No such file or directory",
             syncd_fx.dir);
    cr_assert(syncd_fixture_log_contains(want, 0), "log lacks: %s", want);
    cr_assert(not(syncd_fixture_log_contains("ermission denied", 0)));
}

Test(startup, empty_socket_path_is_a_usage_error)
{
    cr_assert(eq(int, run_syncd("", NULL), 2));
    cr_assert(syncd_fixture_log_contains("the socket path is empty", 0));
}

/* Start with --config file_text; return the exit status. */
static int run_with_config(const char *text, size_t len)
{
    const char *conf = in_dir("syncd.conf");
    const char *args[] = {"--config", conf, NULL};

    write_file(conf, text, len);
    return run_syncd(syncd_fx.sock, args);
}

Test(startup, config_directory_is_refused)
{
    const char *args[] = {"--config", syncd_fx.dir, NULL};

    const char *fifo = in_dir("fifo");
    const char *fifo_args[] = {"--config", fifo, NULL};

    cr_assert(eq(int, run_syncd(syncd_fx.sock, args), 2));
    cr_assert(syncd_fixture_log_contains("is not a regular file", 0));
    /* A FIFO neither hangs the start nor counts as a file. */
    cr_assert(eq(int, mkfifo(fifo, 0600), 0));
    cr_assert(eq(int, run_syncd(syncd_fx.sock, fifo_args), 2));
}

Test(startup, config_section_header_is_refused_with_its_line)
{
    static const char text[] = "max-waits = 8\n\n[limits]\nmax-handles = 9\n";

    cr_assert(eq(int, run_with_config(text, sizeof(text) - 1), 2));
    cr_assert(syncd_fixture_log_contains(
        "syncd.conf:3: [section] headers are not allowed", 0));
}

Test(startup, config_nul_byte_is_refused)
{
    static const char text[] = "max-waits = 8\nmax-handles\0 = 9\n";

    cr_assert(eq(int, run_with_config(text, sizeof(text) - 1), 2));
    cr_assert(syncd_fixture_log_contains("syncd.conf:2: NUL byte", 0));
}

Test(startup, config_unknown_key_has_its_line_number)
{
    static const char text[] = "# comment\nmax-waits = 8\nmax-wait = 9\n";

    cr_assert(eq(int, run_with_config(text, sizeof(text) - 1), 2));
    cr_assert(syncd_fixture_log_contains(
        "syncd.conf:3: unknown key 'max-wait'", 0));
}

Test(startup, another_kind_of_file_is_never_echoed)
{
    /* What /etc/shadow looks like: inih would read `alice` as a key. */
    static const char text[] =
        "alice:$y$j9T$secrethash:19000:0:99999:7:::\n"
        "bobby:!:19000:0:99999:7:::\n";

    cr_assert(eq(int, run_with_config(text, sizeof(text) - 1), 2));
    cr_assert(syncd_fixture_log_contains(
        "syncd.conf:1: not a `key = value` line", 0));
    cr_assert(not(syncd_fixture_log_contains("alice", 0)));
    cr_assert(not(syncd_fixture_log_contains("bobby", 0)));
    cr_assert(not(syncd_fixture_log_contains("secret", 0)));
}

Test(startup, max_frame_too_small_for_a_handshake_is_refused)
{
    static const char *const flag[] = {"--max-frame", "64", NULL};
    static const char text[] = "max-frame = 100\n";

    cr_assert(eq(int, run_syncd(syncd_fx.sock, flag), 2));
    cr_assert(syncd_fixture_log_contains("max-frame 64 is too small", 0));
    cr_assert(eq(int, run_with_config(text, sizeof(text) - 1), 2));
    cr_assert(syncd_fixture_log_contains(
        "syncd.conf:1: max-frame 100 is too small", 0));
}

Test(startup, sighup_says_which_keys_it_applied_and_which_need_a_restart)
{
    const char *conf = in_dir("hup.conf");
    const char *args[] = {"--config", conf, "--max-clients", "50", NULL};
    static const char before[] =
        "max-waits = 8\nsocket-mode = 0660\nmax-clients = 60\n";
    static const char after[] =
        "max-waits = 16\nsocket-mode = 0600\nmax-clients = 70\n"
        "max-handles = 4096\n";

    write_file(conf, before, sizeof(before) - 1);
    syncd_fixture_start(args);
    write_file(conf, after, sizeof(after) - 1);
    cr_assert(eq(int, kill(syncd_fx.pid, SIGHUP), 0));
    cr_assert(syncd_fixture_log_contains(
                  "applied: max-waits; needs a restart: socket-mode; "
                  "kept from the command line: max-clients",
                  5000),
              "%s", syncd_fixture_read_log());
}

Test(startup, help_names_the_config_file_that_cmake_installs)
{
    const char *args[] = {"--help", NULL};
    char want[256];

    cr_assert(eq(int, run_syncd(syncd_fx.sock, args), 0));
    snprintf(want, sizeof(want), "                           %s\n",
             SYNCD_TEST_CONFIG_FILE);
    cr_assert(syncd_fixture_log_contains(want, 0), "%s",
              syncd_fixture_read_log());
}

Test(startup, library_version_is_the_header_s_and_the_daemon_s)
{
    const char *args[] = {"--version", NULL};
    char want[64];

    cr_assert(eq(u32, sync_version(), SYNC_VERSION_HEX));
    cr_assert(eq(str, (char *)sync_version_string(), SYNC_VERSION_STRING));
    /* The build's version (CMake's project version) comes from the
     * header too. */
    cr_assert(eq(str, (char *)sync_version_string(), SYNCD_VERSION));
    snprintf(want, sizeof(want), "syncd %s ", SYNC_VERSION_STRING);
    cr_assert(eq(int, run_syncd(syncd_fx.sock, args), 0));
    cr_assert(syncd_fixture_log_contains(want, 0));
}
