/*
 * test_barrier_action.c: sync_barrier_wait_action across processes.  The
 * daemon asks exactly one party per round to run the action while the
 * others stay blocked; an action that fails, an actor killed with SIGKILL
 * and a party timing out during the action each break the barrier.
 */
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "daemon_fixture.h"
#include "syncclient.h"

TestSuite(barrier_action, .init = syncd_fixture_init,
          .fini = syncd_fixture_fini, .timeout = 60);

#define PARTIES 4
#define ROUNDS 5

/* What the processes of one test share. */
struct shared {
    atomic_int actions;            /* actions run, all rounds */
    atomic_int per_round[ROUNDS];  /* actions run in each round */
    atomic_int index_seen[ROUNDS][PARTIES];
    atomic_int early[ROUNDS];      /* parties released before the action
                                      had finished */
    atomic_int in_action;          /* an action is running now */
    atomic_int actor_pid;
    atomic_int result[PARTIES];    /* the wait's return, per party */
    atomic_int round;              /* the round an action belongs to */
};

static struct shared *sh;

/* The action: count it, and take a while so that a party let go before
 * the action ended would be seen. */
static int count_action(void *arg)
{
    int round = *(int *)arg;

    atomic_store(&sh->in_action, 1);
    atomic_fetch_add(&sh->actions, 1);
    atomic_fetch_add(&sh->per_round[round], 1);
    fx_sleep_ms(50);
    atomic_store(&sh->in_action, 0);
    return 0;
}

static sync_barrier *open_barrier(const char *name, unsigned parties)
{
    sync_client *c;
    sync_barrier *b;

    if (sync_connect(syncd_fx.sock, &c) != 0 ||
        sync_barrier_open(c, name, parties, &b) != 0)
        _exit(2);
    return b;
}

Test(barrier_action, runs_once_per_round_and_the_others_wait_for_it)
{
    pid_t pid[PARTIES];
    int i, r, k;

    sh = fx_shared(sizeof(*sh));
    for (i = 0; i < PARTIES; i++) {
        pid[i] = fx_fork();
        cr_assert(ge(int, pid[i], 0));
        if (pid[i] != 0)
            continue;
        sync_barrier *b = open_barrier("ba/rounds", PARTIES);

        for (r = 0; r < ROUNDS; r++) {
            int round = r, idx;

            /* Every party offers; one per round is asked. */
            idx = sync_barrier_wait_action(b, 10.0, count_action, &round);
            if (idx < 0 || idx >= PARTIES)
                _exit(3);
            if (atomic_load(&sh->in_action) ||
                atomic_load(&sh->per_round[r]) != 1)
                atomic_fetch_add(&sh->early[r], 1);
            atomic_fetch_add(&sh->index_seen[r][idx], 1);
        }
        _exit(0);
    }
    for (i = 0; i < PARTIES; i++)
        cr_assert(eq(int, fx_waitpid(pid[i], 30000), 0), "party %d", i);
    cr_assert(eq(int, atomic_load(&sh->actions), ROUNDS));
    for (r = 0; r < ROUNDS; r++) {
        cr_assert(eq(int, atomic_load(&sh->per_round[r]), 1), "round %d", r);
        cr_assert(eq(int, atomic_load(&sh->early[r]), 0), "round %d", r);
        for (k = 0; k < PARTIES; k++)
            cr_assert(eq(int, atomic_load(&sh->index_seen[r][k]), 1),
                      "round %d index %d", r, k);
    }
}

static int failing_action(void *arg)
{
    (void)arg;
    atomic_store(&sh->actor_pid, (int)getpid());
    return -1234;
}

/* Fork a party of barrier name that records what its wait returned. */
static pid_t spawn_party(const char *name, unsigned parties, int slot,
                         int (*action)(void *), double timeout)
{
    pid_t pid = fx_fork();

    cr_assert(ge(int, pid, 0));
    if (pid == 0) {
        sync_barrier *b = open_barrier(name, parties);

        atomic_store(&sh->result[slot],
                     sync_barrier_wait_action(b, timeout, action, NULL));
        _exit(0);
    }
    return pid;
}

Test(barrier_action, failing_action_breaks_it_and_its_party_gets_the_failure)
{
    pid_t pid[3];
    int i, actor = -1;
    sync_client *c;
    sync_barrier *b;

    sh = fx_shared(sizeof(*sh));
    /* A handle kept open: a broken barrier nobody has open is reset. */
    cr_assert(eq(int, sync_connect(syncd_fx.sock, &c), 0));
    cr_assert(eq(int, sync_barrier_open(c, "ba/fail", 3, &b), 0));
    for (i = 0; i < 3; i++)
        pid[i] = spawn_party("ba/fail", 3, i, failing_action, 10.0);
    for (i = 0; i < 3; i++)
        cr_assert(eq(int, fx_waitpid(pid[i], 20000), 0));
    for (i = 0; i < 3; i++) {
        if (pid[i] == atomic_load(&sh->actor_pid))
            actor = i;
    }
    cr_assert(ge(int, actor, 0), "no party ran the action");
    for (i = 0; i < 3; i++)
        cr_assert(eq(int, atomic_load(&sh->result[i]),
                     i == actor ? -1234 : SYNC_EBROKEN), "party %d", i);
    cr_assert(eq(int, sync_barrier_broken(b), 1));
    cr_assert(eq(int, sync_barrier_wait(b, 1.0), SYNC_EBROKEN));
    sync_barrier_close(b);
    sync_disconnect(c);
}

/* `syncctl show name` through the daemon, whole. */
static void syncctl_show(const char *name, char *out, size_t size)
{
    char cmd[512];
    size_t n = 0;
    FILE *f;

    snprintf(cmd, sizeof(cmd), "%s --socket %s show %s", SYNCCTL_BIN,
             syncd_fx.sock, name);
    f = popen(cmd, "r");
    cr_assert(ne(ptr, f, NULL));
    while (n + 1 < size && fgets(out + n, (int)(size - n), f) != NULL)
        n += strlen(out + n);
    out[n] = '\0';
    pclose(f);
}

static int hanging_action(void *arg)
{
    (void)arg;
    atomic_store(&sh->actor_pid, (int)getpid());
    for (;;)
        pause();
    return 0;
}

Test(barrier_action, actor_killed_with_sigkill_breaks_it)
{
    pid_t actor, other;
    char out[2048], want[96];
    double t0;
    int i;

    sh = fx_shared(sizeof(*sh));
    /* Only the first party offers, so it is the one asked, whichever
     * process arrives last. */
    actor = spawn_party("ba/kill", 2, 0, hanging_action, -1);
    other = spawn_party("ba/kill", 2, 1, NULL, -1);
    for (i = 0; i < 500 && atomic_load(&sh->actor_pid) == 0; i++)
        fx_sleep_ms(10);
    cr_assert(eq(int, atomic_load(&sh->actor_pid), (int)actor));
    /* The other party is held while the action runs, and syncctl says
     * by whom. */
    fx_sleep_ms(100);
    cr_assert(eq(int, fx_wait_status(other, 0), -1));
    syncctl_show("ba/kill", out, sizeof(out));
    snprintf(want, sizeof(want), "action:    running in pid %d uid %u",
             (int)actor, (unsigned)getuid());
    cr_assert(ne(ptr, strstr(out, want), NULL), "%s", out);
    cr_assert(ne(ptr, strstr(out, "waiters:   1"), NULL), "%s", out);
    t0 = fx_now();
    cr_assert(eq(int, kill(actor, SIGKILL), 0));
    cr_assert(eq(int, fx_waitpid(other, 5000), 0));
    cr_assert(lt(dbl, fx_now() - t0, 2.0));
    cr_assert(eq(int, atomic_load(&sh->result[1]), SYNC_EBROKEN));
    cr_assert(eq(int, fx_waitpid(actor, 5000), 128 + SIGKILL));
    cr_assert(syncd_fixture_log_contains("barrier 'ba/kill' broken: the "
                                         "party running its action",
                                         2000));
}

static int slow_action(void *arg)
{
    (void)arg;
    atomic_store(&sh->actor_pid, (int)getpid());
    fx_sleep_ms(600);
    return 0;
}

Test(barrier_action, timeout_during_the_action_breaks_it_for_all)
{
    pid_t actor, other;
    double t0 = fx_now();

    sh = fx_shared(sizeof(*sh));
    actor = spawn_party("ba/timeout", 2, 0, slow_action, -1);
    other = spawn_party("ba/timeout", 2, 1, NULL, 0.3);
    cr_assert(eq(int, fx_waitpid(other, 5000), 0));
    cr_assert(eq(int, atomic_load(&sh->result[1]), SYNC_EBROKEN));
    cr_assert(eq(int, fx_waitpid(actor, 5000), 0));
    /* The action finished after the round broke: its party hears so. */
    cr_assert(eq(int, atomic_load(&sh->result[0]), SYNC_EBROKEN));
    cr_assert(ge(dbl, fx_now() - t0, 0.6));
}

Test(barrier_action, parties_without_an_action_are_released_at_once)
{
    pid_t pid[2];
    int i;

    sh = fx_shared(sizeof(*sh));
    for (i = 0; i < 2; i++)
        pid[i] = spawn_party("ba/none", 2, i, NULL, 10.0);
    for (i = 0; i < 2; i++)
        cr_assert(eq(int, fx_waitpid(pid[i], 10000), 0));
    cr_assert(eq(int, atomic_load(&sh->result[0]) +
                          atomic_load(&sh->result[1]), 1));
    cr_assert(eq(int, sync_barrier_wait_action(NULL, 1.0, NULL, NULL),
                 SYNC_EINVAL));
}

/* An action that runs until the test says go (sh->round). */
static int held_action(void *arg)
{
    int i;

    (void)arg;
    atomic_store(&sh->in_action, 1);
    for (i = 0; i < 500 && atomic_load(&sh->round) == 0; i++)
        fx_sleep_ms(10);
    atomic_store(&sh->in_action, 0);
    return 0;
}

/* Python's n_waiting: while the action runs, every party of the round
 * counts (the runner too: threading increments its count before calling
 * the action); an arrival during it is not counted before its round. */
Test(barrier_action, n_waiting_counts_the_round_as_threading_does)
{
    sync_client *c;
    sync_barrier *b;
    pid_t p[4];
    int i;

    sh = fx_shared(sizeof(*sh));
    cr_assert(eq(int, sync_connect(syncd_fx.sock, &c), 0));
    cr_assert(eq(int, sync_barrier_open(c, "ba/nwait", 2, &b), 0));
    p[0] = spawn_party("ba/nwait", 2, 0, held_action, 10);
    for (i = 0; i < 500 && sync_barrier_n_waiting(b) < 1; i++)
        fx_sleep_ms(10);
    cr_assert(eq(int, sync_barrier_n_waiting(b), 1));
    p[1] = spawn_party("ba/nwait", 2, 1, NULL, 10);
    for (i = 0; i < 500 && atomic_load(&sh->in_action) == 0; i++)
        fx_sleep_ms(10);
    cr_assert(eq(int, atomic_load(&sh->in_action), 1));
    cr_assert(eq(int, sync_barrier_n_waiting(b), 2), "during the action");
    p[2] = spawn_party("ba/nwait", 2, 2, NULL, 10);
    fx_sleep_ms(200);
    cr_assert(eq(int, sync_barrier_n_waiting(b), 2),
              "an arrival during the action counted");
    atomic_store(&sh->round, 1);
    cr_assert(eq(int, fx_waitpid(p[0], 10000), 0));
    cr_assert(eq(int, fx_waitpid(p[1], 10000), 0));
    /* The round is over: the one that arrived during it waits now. */
    for (i = 0; i < 500 && sync_barrier_n_waiting(b) != 1; i++)
        fx_sleep_ms(10);
    cr_assert(eq(int, sync_barrier_n_waiting(b), 1), "after the round");
    p[3] = spawn_party("ba/nwait", 2, 3, NULL, 10);
    for (i = 2; i < 4; i++)
        cr_assert(eq(int, fx_waitpid(p[i], 10000), 0));
    for (i = 0; i < 4; i++)
        cr_assert(ge(int, atomic_load(&sh->result[i]), 0), "party %d: %d", i,
                  atomic_load(&sh->result[i]));
    cr_assert(eq(int, sync_barrier_n_waiting(b), 0));
    sync_disconnect(c);
}
