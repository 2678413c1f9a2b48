/*
 * chaos_killer.c: the killer.  It forks the N workers, and until the run's
 * end, every kill_min..kill_max ms picks a random worker and:
 *   1. SIGSTOPs it and waits until it is stopped, so it is frozen at a
 *      random instruction, possibly in the middle of a call;
 *   2. clears the victim's semaphore bits: its permits are no longer
 *      counted inside (the daemon still holds them for it until step 3, so
 *      the count can only be low, never high, during the window);
 *   3. SIGKILLs it, reaps it (it must die of SIGKILL) and marks its
 *      incarnation dead, which lets the next holder of a lock it held take
 *      over the witness (with owner_died == 1);
 *   4. respawns the slot with a new incarnation.
 * A worker that exits by itself is a violation (it found something
 * unexpected).  At the end it sets `stop`, waits for every worker to exit
 * cleanly (status 0) and exits.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chaos.h"
#include "daemon_fixture.h"

static pid_t spawn(int slot)
{
    unsigned inc = atomic_fetch_add(&ch->next_incarnation, 1);
    pid_t pid;

    atomic_store(&ch->slot_inc[slot], inc);
    pid = fx_fork();
    if (pid < 0) {
        ch_violation("killer: fork: %s", strerror(errno));
        return -1;
    }
    if (pid == 0)
        ch_worker_main(slot, inc);
    atomic_store(&ch->slot_pid[slot], pid);
    atomic_fetch_add(&ch->st.spawned, 1);
    return pid;
}

static int slot_of(pid_t pid)
{
    int i;

    for (i = 0; i < ch->cfg.procs; i++)
        if (atomic_load(&ch->slot_pid[i]) == pid)
            return i;
    return -1;
}

/* A worker that ended by itself: a violation while the run goes on. */
static void reap_strays(void)
{
    int status, slot;
    pid_t pid;

    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        slot = slot_of(pid);
        if (slot < 0)
            continue;
        ch_violation("worker slot %d (pid %d) ended by itself: status %d", slot,
                     (int)pid, fx_exit_code(status));
        ch_mark_dead(atomic_load(&ch->slot_inc[slot]));
        atomic_store(&ch->slot_pid[slot], 0);
        spawn(slot);
    }
}

static void kill_one(int slot)
{
    pid_t pid = atomic_load(&ch->slot_pid[slot]);
    unsigned inc = atomic_load(&ch->slot_inc[slot]);
    int status, s;

    if (pid <= 0)
        return;
    if (kill(pid, SIGSTOP) != 0)
        return;
    while (waitpid(pid, &status, WUNTRACED) < 0 && errno == EINTR)
        ;
    if (!WIFSTOPPED(status)) {
        /* It ended on its own just now. */
        ch_violation("worker slot %d (pid %d) ended by itself: status %d", slot,
                     (int)pid, fx_exit_code(status));
    } else {
        for (s = 0; s < CH_NSEMS; s++)
            atomic_fetch_and(&ch->sem_mask[s], ~(1ull << slot));
        kill(pid, SIGKILL);
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
        if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
            ch_violation(
                "worker slot %d (pid %d) did not die of SIGKILL: "
                "status %d",
                slot, (int)pid, fx_exit_code(status));
        atomic_fetch_add(&ch->st.kills, 1);
    }
    ch_mark_dead(inc);
    atomic_store(&ch->slot_pid[slot], 0);
    spawn(slot);
}

void ch_killer_main(void)
{
    double start = ch_now(), end = start + ch->cfg.seconds, deadline;
    int i, status, code;
    pid_t pid;

    ch_seed(((uint64_t)getpid() << 20) ^ (uint64_t)(start * 1e6));
    for (i = 0; i < ch->cfg.procs; i++)
        spawn(i);
    while (ch_now() < end) {
        ch_sleep_s(ch_rand_int(ch->cfg.kill_min_ms, ch->cfg.kill_max_ms) /
                   1000.0);
        reap_strays();
        if (ch_now() < end)
            kill_one(ch_rand_int(0, ch->cfg.procs - 1));
    }
    atomic_store(&ch->stop, 1);
    /* Every worker finishes its operation, closes, disconnects, exits 0. */
    deadline = ch_now() + 60;
    for (i = 0; i < ch->cfg.procs; i++) {
        pid = atomic_load(&ch->slot_pid[i]);
        if (pid <= 0)
            continue;
        status = fx_wait_status(pid, (int)((deadline - ch_now()) * 1000));
        if (status == -1) {
            ch_violation(
                "worker slot %d (pid %d) did not exit within 60 s "
                "of the stop",
                i, (int)pid);
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            continue;
        }
        code = fx_exit_code(status);
        if (code != 0)
            ch_violation("worker slot %d (pid %d) exit status %d at the end", i,
                         (int)pid, code);
    }
    _exit(0);
}
