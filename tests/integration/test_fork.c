/*
 * test_fork.c: a sync_client inherited across fork() is detached in the
 * child: its calls fail with SYNC_EFORKED, sync_disconnect on it only frees
 * memory, the parent's connection is untouched, and the child's copy of
 * the socket is closed so the parent's Locks still come back when the
 * parent dies.
 */
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "daemon_fixture.h"
#include "syncclient.h"

TestSuite(fork, .init = syncd_fixture_init, .fini = syncd_fixture_fini,
          .timeout = 30);

/* What the child saw, one slot per call. */
enum {
    R_ACQUIRE,
    R_LOCKED,
    R_RELEASE,
    R_OPEN,
    R_OPEN_OUT_NULL,
    R_SEM_OPEN,
    R_UNLINK,
    R_CONNECT,
    R_NEW_OPEN,
    R_NEW_TRY,
    R_NEW_LOCKED,
    R_NEW_OTHER_ACQUIRE,
    R_NEW_OTHER_RELEASE,
    R_DONE,
    R_COUNT
};

Test(fork, inherited_client_fails_with_eforked_in_the_child)
{
    int *r = fx_shared(R_COUNT * sizeof(int));
    sync_client *c;
    sync_lock *l;
    pid_t pid;

    cr_assert(eq(int, sync_connect(syncd_fx.sock, &c), 0));
    cr_assert(eq(int, sync_lock_open(c, "fork/lock", &l), 0));
    cr_assert(eq(int, sync_lock_acquire(l, true, -1), 0));
    pid = fx_fork();
    cr_assert(ge(int, pid, 0));
    if (pid == 0) {
        sync_client *fresh;
        sync_lock *l2 = (sync_lock *)&l2, *nl, *other;
        sync_sem *s = (sync_sem *)&s;

        r[R_ACQUIRE] = sync_lock_acquire(l, true, 1.0);
        r[R_LOCKED] = sync_lock_locked(l);
        r[R_RELEASE] = sync_lock_release(l);
        r[R_OPEN] = sync_lock_open(c, "fork/other", &l2);
        r[R_OPEN_OUT_NULL] = l2 == NULL;
        r[R_SEM_OPEN] = sync_sem_open(c, "fork/sem", 1, &s);
        r[R_UNLINK] = sync_unlink(c, "fork/lock");
        /* Safe on an inherited client: only frees memory. */
        sync_lock_close(l);
        sync_disconnect(c);
        /* A connection of its own works. */
        r[R_CONNECT] = sync_connect(syncd_fx.sock, &fresh);
        if (r[R_CONNECT] != 0)
            _exit(2);
        r[R_NEW_OPEN] = sync_lock_open(fresh, "fork/lock", &nl);
        if (r[R_NEW_OPEN] != 0)
            _exit(3);
        /* The parent still holds it: the inherited copy did not drop it. */
        r[R_NEW_TRY] = sync_lock_acquire(nl, false, -1);
        r[R_NEW_LOCKED] = sync_lock_locked(nl);
        if (sync_lock_open(fresh, "fork/child", &other) != 0)
            _exit(4);
        r[R_NEW_OTHER_ACQUIRE] = sync_lock_acquire(other, true, 1.0);
        r[R_NEW_OTHER_RELEASE] = sync_lock_release(other);
        sync_lock_close(other);
        sync_lock_close(nl);
        sync_disconnect(fresh);
        r[R_DONE] = 1;
        _exit(0);
    }
    cr_assert(eq(int, fx_waitpid(pid, 10000), 0));
    cr_assert(eq(int, r[R_DONE], 1));
    cr_assert(eq(int, r[R_ACQUIRE], SYNC_EFORKED));
    cr_assert(eq(int, r[R_LOCKED], SYNC_EFORKED));
    cr_assert(eq(int, r[R_RELEASE], SYNC_EFORKED));
    cr_assert(eq(int, r[R_OPEN], SYNC_EFORKED));
    cr_assert(eq(int, r[R_OPEN_OUT_NULL], 1));
    cr_assert(eq(int, r[R_SEM_OPEN], SYNC_EFORKED));
    cr_assert(eq(int, r[R_UNLINK], SYNC_EFORKED));
    cr_assert(eq(int, r[R_CONNECT], 0));
    cr_assert(eq(int, r[R_NEW_OPEN], 0));
    cr_assert(eq(int, r[R_NEW_TRY], SYNC_ETIMEDOUT));
    cr_assert(eq(int, r[R_NEW_LOCKED], 1));
    cr_assert(eq(int, r[R_NEW_OTHER_ACQUIRE], 0));
    cr_assert(eq(int, r[R_NEW_OTHER_RELEASE], 0));

    /* The parent's client is untouched by all that. */
    cr_assert(eq(int, sync_lock_locked(l), 1));
    cr_assert(eq(int, sync_lock_release(l), 0));
    cr_assert(eq(int, sync_lock_acquire(l, true, 1.0), 0));
    cr_assert(eq(u64, sync_lock_token(l), 2));
    cr_assert(eq(int, sync_lock_release(l), 0));
    cr_assert(eq(int, sync_unlink(c, "fork/lock"), 0));
    sync_lock_close(l);
    sync_disconnect(c);
}

Test(fork, killed_holder_releases_lock_while_its_forked_child_lives)
{
    sync_client *c;
    sync_lock *l;
    int ready[2], life[2];
    pid_t holder, grandchild = -1;
    ssize_t n;

    /* Orphaned grandchildren come back to us, so they can be reaped. */
    cr_assert(eq(int, prctl(PR_SET_CHILD_SUBREAPER, 1), 0));
    cr_assert(eq(int, sync_connect(syncd_fx.sock, &c), 0));
    cr_assert(eq(int, sync_lock_open(c, "fork/held", &l), 0));
    cr_assert(eq(int, pipe(ready), 0));
    /* The grandchild lives until we close life[1] (or die). */
    cr_assert(eq(int, pipe(life), 0));
    holder = fx_fork();
    cr_assert(ge(int, holder, 0));
    if (holder == 0) {
        sync_client *hc;
        sync_lock *hl;
        pid_t g;

        close(ready[0]);
        close(life[1]);
        if (sync_connect(syncd_fx.sock, &hc) != 0 ||
            sync_lock_open(hc, "fork/held", &hl) != 0 ||
            sync_lock_acquire(hl, true, 5.0) != 0)
            _exit(2);
        /* A child that inherits hc and outlives us.  No parent-death
         * signal: it must stay alive after the holder is killed. */
        g = fork();
        if (g < 0)
            _exit(3);
        if (g == 0) {
            char b;

            close(ready[1]);
            while (read(life[0], &b, 1) > 0)
                ;
            _exit(0);
        }
        if (write(ready[1], &g, sizeof(g)) != (ssize_t)sizeof(g))
            _exit(4);
        for (;;)
            pause();
    }
    close(ready[1]);
    close(life[0]);
    n = read(ready[0], &grandchild, sizeof(grandchild));
    cr_assert(eq(sz, (size_t)n, sizeof(grandchild)));
    close(ready[0]);
    cr_assert(eq(int, sync_lock_locked(l), 1));

    cr_assert(eq(int, kill(holder, SIGKILL), 0));
    cr_assert(eq(int, fx_waitpid(holder, 5000), 128 + SIGKILL));
    /* The grandchild still has a copy of the holder's client, but not of
     * its socket: the lock comes back. */
    cr_assert(eq(int, kill(grandchild, 0), 0), "grandchild is gone");
    cr_assert(eq(int, sync_lock_acquire(l, true, 5.0), 0));
    cr_assert(eq(int, sync_lock_owner_died(l), 1));
    cr_assert(eq(int, kill(grandchild, 0), 0), "grandchild is gone");
    cr_assert(eq(int, sync_lock_release(l), 0));

    close(life[1]);
    cr_assert(eq(int, fx_waitpid(grandchild, 5000), 0));
    sync_lock_close(l);
    sync_disconnect(c);
}
