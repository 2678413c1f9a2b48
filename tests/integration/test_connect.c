/*
 * test_connect.c: which daemon a client really reaches.  The library
 * refuses a daemon running as another user (SO_PEERCRED: only root, the
 * user "syncd" or the caller's own uid, plus SYNCD_TRUST_UID), and its
 * default path is the system daemon's socket when that exists and the
 * caller may connect, else the per-user one.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "daemon_fixture.h"
#include "syncclient.h"

#define OTHER_UID 65534 /* nobody */

TestSuite(connect, .init = syncd_fixture_mkdir, .fini = syncd_fixture_fini,
          .timeout = 30);

/*
 * An impostor: a process of another uid listening on path, accepting and
 * closing connections until killed.  Returns its pid once it listens.
 */
static pid_t impostor_start(const char *path)
{
    int ready[2];
    pid_t pid;

    cr_assert(eq(int, pipe(ready), 0));
    pid = fx_fork();
    cr_assert(ge(int, pid, 0));
    if (pid == 0) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        int fd, c;

        if (setgroups(0, NULL) != 0 || setgid(OTHER_UID) != 0 ||
            setuid(OTHER_UID) != 0)
            _exit(1);
        fd = socket(AF_UNIX, SOCK_STREAM, 0);
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
        if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
            listen(fd, 8) != 0)
            _exit(2);
        fx_signal(ready[1]);
        for (;;) {
            c = accept(fd, NULL, NULL);
            if (c >= 0)
                close(c);
        }
    }
    cr_assert(eq(int, fx_await(ready[0], 5000), 1), "impostor listening");
    close(ready[0]);
    close(ready[1]);
    return pid;
}

/* A directory anyone may write, as /tmp is. */
static void make_world_writable_dir(char *dir, size_t size)
{
    snprintf(dir, size, "/tmp/syncd-connect-XXXXXX");
    cr_assert(not(eq(ptr, mkdtemp(dir), NULL)));
    cr_assert(eq(int, chmod(dir, 01777), 0));
}

Test(connect, daemon_of_another_uid_is_refused_with_sync_epeer)
{
    char dir[64], path[96];
    sync_client *c = (sync_client *)&c;
    pid_t imp;

    make_world_writable_dir(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/syncd-0.sock", dir);
    imp = impostor_start(path);
    unsetenv("SYNCD_TRUST_UID");
    cr_assert(eq(int, sync_connect(path, &c), SYNC_EPEER));
    cr_assert(eq(ptr, c, NULL));
    cr_assert(not(eq(ptr, strstr(sync_strerror(SYNC_EPEER), "another user"),
                     NULL)));
    /* Opting in lets the connection proceed to the handshake, which this
     * impostor does not answer. */
    setenv("SYNCD_TRUST_UID", "12345," "65534", 1);
    cr_assert(eq(int, sync_connect(path, &c), SYNC_ECONN));
    setenv("SYNCD_TRUST_UID", "12345", 1);
    cr_assert(eq(int, sync_connect(path, &c), SYNC_EPEER));
    unsetenv("SYNCD_TRUST_UID");
    kill(imp, SIGKILL);
    fx_waitpid(imp, 5000);
    unlink(path);
    rmdir(dir);
}

Test(connect, daemon_of_root_or_own_uid_is_accepted)
{
    sync_client *c;

    syncd_fixture_start(NULL);
    cr_assert(eq(int, sync_connect(syncd_fx.sock, &c), 0));
    sync_disconnect(c);
}

/*
 * In a private mount namespace with a tmpfs over /run, start a root daemon
 * on /run/syncd/syncd.sock with the given socket mode, become an ordinary
 * user without $SYNCD_SOCKET or $XDG_RUNTIME_DIR, and report the default
 * path the library resolves and whether sync_connect(NULL) reaches the
 * daemon.
 */
struct default_seen {
    int setup;        /* 0 ok, else the step that failed */
    char path[108];
    char why[128];
    int connect_rv;
    pid_t daemon;     /* for the test process to stop (root may; the
                         child, an ordinary user by then, may not) */
};

static void default_child(const char *mode, struct default_seen *seen)
{
    const char *args[] = {"--socket-mode", mode, NULL};
    const char *why = "";
    sync_client *c;
    pid_t d;

    if (unshare(CLONE_NEWNS) != 0 ||
        mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) {
        seen->setup = 1;
        return;
    }
    if (mount("none", "/run", "tmpfs", 0, "mode=0755") != 0 ||
        mkdir("/run/syncd", 0755) != 0) {
        seen->setup = 2;
        return;
    }
    d = syncd_spawn("/run/syncd/syncd.sock", syncd_fx.log, args);
    seen->daemon = d;
    if (d < 0 || !syncd_wait_ready("/run/syncd/syncd.sock", d, syncd_start_ms())) {
        seen->setup = 3;
        return;
    }
    unsetenv("SYNCD_SOCKET");
    unsetenv("XDG_RUNTIME_DIR");
    if (setgroups(0, NULL) != 0 || setgid(OTHER_UID) != 0 ||
        setuid(OTHER_UID) != 0) {
        seen->setup = 4;
        return;
    }
    sync_default_socket_reason(seen->path, sizeof(seen->path), &why);
    snprintf(seen->why, sizeof(seen->why), "%s", why);
    seen->connect_rv = sync_connect(NULL, &c);
    if (seen->connect_rv == 0)
        sync_disconnect(c);
}

static struct default_seen *default_seen_as_user(const char *mode)
{
    struct default_seen *seen = fx_shared(sizeof(*seen));
    pid_t pid = fx_fork();

    cr_assert(ge(int, pid, 0));
    if (pid == 0) {
        default_child(mode, seen);
        _exit(0);
    }
    cr_assert(eq(int, fx_waitpid(pid, 60000), 0));
    /* The daemon outlives its parent when that parent cannot signal it
     * (it dropped root), e.g. under valgrind, which does not pass the
     * parent-death signal on: a daemon left on /run/syncd/syncd.sock. */
    if (seen->daemon > 0)
        kill(seen->daemon, SIGKILL);
    cr_assert(eq(int, seen->setup, 0), "namespace set-up failed at step %d",
              seen->setup);
    return seen;
}

Test(connect, default_is_the_system_socket_when_the_user_may_connect)
{
    struct default_seen *seen = default_seen_as_user("0666");

    cr_assert(eq(str, seen->path, "/run/syncd/syncd.sock"));
    cr_assert(not(eq(ptr, strstr(seen->why, "system daemon"), NULL)), "%s",
              seen->why);
    cr_assert(eq(int, seen->connect_rv, 0));
}

Test(connect, default_is_the_per_user_socket_when_the_system_one_is_closed)
{
    struct default_seen *seen = default_seen_as_user("0660");
    char want[64];

    snprintf(want, sizeof(want), "/tmp/syncd-%d.sock", OTHER_UID);
    cr_assert(eq(str, seen->path, want));
    cr_assert(not(eq(ptr, strstr(seen->why, "/tmp"), NULL)), "%s", seen->why);
    cr_assert(eq(int, seen->connect_rv, SYNC_ECONN));
}
