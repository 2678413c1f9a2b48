/*
 * test_cluster_chaos.c: cluster/ Locks under failures.
 *
 * cluster_chaos/short_run: six processes (three per agent) take one
 * cluster Lock in a loop while the test kills, in turn, a client (kill -9,
 * respawned), an agent (kill -9, restarted on its socket), an etcd
 * follower and the etcd leader (kill -9, restarted 1.5 s later).  A
 * shared-memory witness counts double holders (someone enters while a
 * live process is inside, and that process's release then succeeds) and
 * token regressions (a grant whose fencing token is not above the
 * previous grant's): both must stay 0, and the lock must keep being
 * granted.  A holder whose agent gave its lease up (etcd out of reach for
 * 4/5 of the TTL) may be displaced, as cluster_cut shows: it must be told
 * so by its release (SYNC_ELOST); those are counted apart.  Beside them, four processes (two per
 * agent) take permits of a cluster Semaphore(2) through UNDO handles.  Each
 * permit's time inside is logged with its release's result; at the end no
 * three spans whose releases succeeded may overlap (a holder whose permit
 * went with its agent's lease is told so by its release, as a Lock's
 * holder is, and is counted apart), and the permits of the killed ones
 * must come back (permits keep being granted).
 * SYNCD_CLUSTER_CHAOS_SECONDS (default 20) sets the length.
 *
 * cluster_cut/agent_cut_off_releases_nothing_it_cannot_prove: every etcd
 * member is frozen (SIGSTOP) while a client of agent A holds a Lock; A
 * gives the lease up before it can have expired in etcd and tells the
 * client its release failed (the lock was lost); after the thaw a client
 * of B gets the lock, told its owner died.
 *
 * cluster_cut/first_member_killed_locks_go_on: the member both agents try
 * first dies (kill -9) between a client's Locks: the next acquire's and
 * release's calls, sent from the agent's loop, fail on it, and the
 * workers' retries on the next member serve them; every acquire and
 * release through either agent succeeds, within the election's pause,
 * with growing tokens.
 *
 * Each runs beside its own etcd (etcd_cluster.sh), as its own CTest test.
 */
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "cluster_fx.h"

TestSuite(cluster_chaos, .init = cfx_init, .fini = cfx_fini);
TestSuite(cluster_cut, .init = cfx_init, .fini = cfx_fini);
/* A member's death with the TTL users run: at 3 s the agent gives its
 * leases up 2.4 s after the last keepalive answer, and an election on a
 * loaded machine can take that long (docs/cluster.md, the TTL's
 * trade-off). */
TestSuite(cluster_failover, .init = cfx_init_default_ttl, .fini = cfx_fini);

#define CH_WORKERS 6
#define CH_SEM_WORKERS 4
#define CH_ALL (CH_WORKERS + CH_SEM_WORKERS)
#define CH_SEM_VALUE 2

#define CH_SEM_SPANS 16384
#define CH_SPAN_OPEN (-1000000) /* a span whose release has not returned */

/* One permit held: from the acquire's return to the release's call. */
struct chaos_span {
    int64_t in_us, out_us;
    int pid;
    atomic_int rv; /* the release's, or CH_SPAN_OPEN */
};

struct chaos {
    atomic_int stop;
    atomic_int holder;          /* pid of the worker inside, or 0 */
    atomic_int doubles, regressions, grants, errors, owner_died;
    atomic_int told;            /* holders displaced and told so */
    atomic_ullong last_token;
    atomic_int sem_grants;
    atomic_int n_spans;
    struct chaos_span spans[CH_SEM_SPANS];
};

static int64_t chaos_now_us(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

/*
 * The witness of one grant.  Returns whether another process entered
 * while this live one was inside: the lock was taken from it (its agent
 * gave its lease up), which is allowed only if its release then says the
 * hold was lost (chaos_told).
 */
static bool chaos_section(struct chaos *ch, uint64_t tok, bool died)
{
    int me = (int)getpid(), prev = 0;

    if (!atomic_compare_exchange_strong(&ch->holder, &prev, me))
        atomic_store(&ch->holder, me); /* judged by prev, when it leaves */
    if (tok <= atomic_load(&ch->last_token))
        atomic_fetch_add(&ch->regressions, 1);
    atomic_store(&ch->last_token, tok);
    atomic_fetch_add(&ch->grants, 1);
    if (died)
        atomic_fetch_add(&ch->owner_died, 1);
    fx_sleep_ms(2 + rand() % 8);
    prev = me;
    return !atomic_compare_exchange_strong(&ch->holder, &prev, 0);
}

/* A holder someone entered beside: its release must not succeed (that
 * is a double holder); told it lost the lock, it is a lease given up. */
static void chaos_told(struct chaos *ch, int release_rv)
{
    if (release_rv == 0) {
        fprintf(stderr, "cluster chaos: pid %d was inside when another "
                "entered, and its release succeeded\n", (int)getpid());
        atomic_fetch_add(&ch->doubles, 1);
    } else {
        atomic_fetch_add(&ch->told, 1);
    }
}

/* A semaphore worker holds a permit: log the span (its release's result
 * comes later, chaos_sem_released).  The span's index, or -1 when the
 * log is full. */
static int chaos_sem_section(struct chaos *ch)
{
    int i = atomic_fetch_add(&ch->n_spans, 1);
    struct chaos_span *sp = i < CH_SEM_SPANS ? &ch->spans[i] : NULL;

    if (sp != NULL) {
        atomic_store(&sp->rv, CH_SPAN_OPEN);
        sp->pid = (int)getpid();
        sp->in_us = chaos_now_us();
    }
    atomic_fetch_add(&ch->sem_grants, 1);
    fx_sleep_ms(2 + rand() % 8);
    if (sp != NULL)
        sp->out_us = chaos_now_us();
    return sp != NULL ? i : -1;
}

static void chaos_sem_released(struct chaos *ch, int i, int rv)
{
    if (i >= 0)
        atomic_store(&ch->spans[i].rv, rv);
}

/*
 * Judge the permits' spans: at any moment at most CH_SEM_VALUE of those
 * whose release succeeded may have been inside.  Spans whose release
 * failed (the permit went with a lease: SYNC_ELOST, or the agent died)
 * and those of killed workers (no result) are left out; *lost counts
 * the failed ones that overlapped CH_SEM_VALUE others.  Returns the
 * number of violations.
 */
static int chaos_sem_judge(struct chaos *ch, int *lost)
{
    int n = atomic_load(&ch->n_spans), i, k, inside, bad = 0;

    *lost = 0;
    if (n > CH_SEM_SPANS)
        n = CH_SEM_SPANS;
    for (i = 0; i < n; i++) {
        const struct chaos_span *a = &ch->spans[i];
        int rv = atomic_load(&a->rv);

        if (rv == CH_SPAN_OPEN)
            continue;
        for (k = 0, inside = 0; k < n; k++) {
            const struct chaos_span *b = &ch->spans[k];

            /* b was inside when a entered */
            if (k != i && atomic_load(&b->rv) == 0 &&
                b->in_us <= a->in_us && b->out_us > a->in_us)
                inside++;
        }
        if (inside < CH_SEM_VALUE)
            continue;
        if (rv != 0) {
            (*lost)++;
            continue;
        }
        fprintf(stderr, "cluster chaos: pid %d took a permit while %d "
                "others held theirs, and every release succeeded\n",
                a->pid, inside);
        bad++;
    }
    return bad;
}

/*
 * One worker: slots below CH_WORKERS take the Lock, the others a permit
 * of the Semaphore; connect (again) when the agent or the connection is
 * gone.
 */
static void chaos_worker(struct chaos *ch, int slot)
{
    bool sem = slot >= CH_WORKERS;
    sync_client *c = NULL;
    sync_lock *l = NULL;
    sync_sem *s = NULL;
    int rv;

    srand((unsigned)getpid());
    while (!atomic_load(&ch->stop)) {
        if (c == NULL) {
            c = cfx_connect_nofail(slot % CFX_AGENTS);
            rv = c == NULL ? SYNC_ECONN
                 : sem ? sync_sem_open_flags(c, cfx_name("chaos-sem"),
                                             CH_SEM_VALUE, true,
                                             SYNC_SEM_UNDO, &s)
                       : sync_lock_open(c, cfx_name("chaos"), &l);
            if (rv != 0) {
                if (c != NULL)
                    sync_disconnect(c);
                c = NULL;
                fx_sleep_ms(50);
                continue;
            }
        }
        rv = sem ? sync_sem_acquire(s, true, 10)
                 : sync_lock_acquire(l, true, 10);
        if (rv == 0 && sem) {
            int span = chaos_sem_section(ch);

            rv = sync_sem_release(s, 1);
            chaos_sem_released(ch, span, rv);
        } else if (rv == 0) {
            bool displaced = chaos_section(ch, sync_lock_token(l),
                                           sync_lock_owner_died(l) == 1);

            rv = sync_lock_release(l);
            if (displaced)
                chaos_told(ch, rv);
        }
        if (rv != 0 && rv != SYNC_ETIMEDOUT) {
            atomic_fetch_add(&ch->errors, 1);
            sync_disconnect(c);
            c = NULL;
            fx_sleep_ms(20);
        }
    }
    if (c != NULL)
        sync_disconnect(c);
    _exit(0);
}

static pid_t chaos_spawn(struct chaos *ch, int slot)
{
    pid_t pid = fx_fork();

    cr_assert(ge(int, pid, 0));
    if (pid == 0)
        chaos_worker(ch, slot);
    return pid;
}

/* etcd member i's pid (from etcd_cluster.sh's file). */
static pid_t member_pid(int i)
{
    char path[256];
    FILE *f;
    int pid = -1;

    snprintf(path, sizeof(path), "%s/m%d.pid", getenv("SYNCD_ETCD_DIR"), i);
    f = fopen(path, "r");
    if (f != NULL) {
        if (fscanf(f, "%d", &pid) != 1)
            pid = -1;
        fclose(f);
    }
    return pid;
}

/* Which member leads (etcdctl endpoint status), or -1. */
static int member_leader(void)
{
    char cmd[600], out[4096];
    const char *urls = getenv("SYNCD_ETCD_URLS"), *p;
    unsigned long long id, leader;
    FILE *f;
    size_t n;
    int i;

    for (i = 0; i < 3; i++) {
        char url[128];

        p = urls;
        for (int k = 0; k < i && p; k++)
            p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL;
        if (p == NULL)
            return -1;
        snprintf(url, sizeof(url), "%.*s", (int)strcspn(p, ","), p);
        snprintf(cmd, sizeof(cmd), "ETCDCTL_API=3 etcdctl --endpoints=%s "
                 "--command-timeout=1s endpoint status -w json 2>/dev/null",
                 url);
        f = popen(cmd, "r");
        if (f == NULL)
            continue;
        n = fread(out, 1, sizeof(out) - 1, f);
        pclose(f);
        out[n] = '\0';
        if ((p = strstr(out, "\"member_id\":")) == NULL ||
            sscanf(p, "\"member_id\":%llu", &id) != 1 ||
            (p = strstr(out, "\"leader\":")) == NULL ||
            sscanf(p, "\"leader\":%llu", &leader) != 1)
            continue;
        if (id == leader)
            return i;
    }
    return -1;
}

/* Kill member i with SIGKILL; start it again after down_ms. */
static void member_bounce(int i, int down_ms)
{
    char path[256], cmd[600];
    pid_t pid = member_pid(i);

    cr_assert(gt(int, pid, 0));
    if (kill(pid, SIGKILL) != 0) {
        snprintf(cmd, sizeof(cmd), "tail -5 %s/m%d.log >&2",
                 getenv("SYNCD_ETCD_DIR"), i);
        (void)system(cmd);
        cr_assert(false, "etcd member %d (pid %d) was already gone", i,
                       (int)pid);
    }
    fx_sleep_ms(down_ms);
    snprintf(path, sizeof(path), "%s/m%d", getenv("SYNCD_ETCD_DIR"), i);
    snprintf(cmd, sizeof(cmd), "(bash %s.cmd & echo $! > %s.pid)", path,
             path);
    cr_assert(eq(int, system(cmd), 0));
}

Test(cluster_chaos, short_run, .timeout = 180)
{
    struct chaos *ch = fx_shared(sizeof(*ch));
    const char *env = getenv("SYNCD_CLUSTER_CHAOS_SECONDS");
    double seconds = env ? atof(env) : 20.0, end;
    pid_t pids[CH_ALL];
    int i, step = 0, kills[4] = {0}, leader, victim, sem_bad, sem_lost;

    for (i = 0; i < CH_ALL; i++)
        pids[i] = chaos_spawn(ch, i);
    end = fx_now() + seconds;
    while (fx_now() < end) {
        fx_sleep_ms(800 + rand() % 400);
        switch (step++ % 4) {
        case 0: /* a client */
            victim = rand() % CH_ALL;
            kill(pids[victim], SIGKILL);
            (void)fx_waitpid(pids[victim], 5000);
            pids[victim] = chaos_spawn(ch, victim);
            kills[0]++;
            break;
        case 1: /* an agent: its clients reconnect once it is back */
            victim = rand() % CFX_AGENTS;
            cfx_kill_agent(victim);
            fx_sleep_ms(300);
            cfx_start_agent(victim, cfx.urls);
            kills[1]++;
            break;
        case 2: /* a follower */
        case 3: /* the leader */
            leader = member_leader();
            victim = leader < 0 ? rand() % 3
                     : step % 4 == 0 ? leader
                                      : (leader + 1 + rand() % 2) % 3;
            member_bounce(victim, 1500);
            kills[victim == leader ? 3 : 2]++;
            break;
        }
    }
    atomic_store(&ch->stop, 1);
    for (i = 0; i < CH_ALL; i++)
        cr_assert(eq(int, fx_waitpid(pids[i], 30000), 0), "worker %d", i);
    sem_bad = chaos_sem_judge(ch, &sem_lost);
    fprintf(stderr, "cluster chaos: %.0f s, %d grants, %d owner-died, %d "
            "permits, %d errors, %d holders displaced and told, %d permits "
            "overtaken and told; killed %d clients, %d agents, %d "
            "followers, %d leaders\n", seconds,
            atomic_load(&ch->grants), atomic_load(&ch->owner_died),
            atomic_load(&ch->sem_grants), atomic_load(&ch->errors),
            atomic_load(&ch->told), sem_lost, kills[0], kills[1], kills[2],
            kills[3]);
    cr_assert(eq(int, sem_bad, 0),
              "more permit holders than the semaphore's value, each "
              "release successful");
    cr_assert(ge(int, atomic_load(&ch->sem_grants), 20),
              "the permits kept moving");
    cr_assert(eq(int, atomic_load(&ch->doubles), 0), "double holders");
    cr_assert(eq(int, atomic_load(&ch->regressions), 0), "token regressions");
    cr_assert(ge(int, atomic_load(&ch->grants), 20), "the lock kept moving");
    cr_assert(ge(int, kills[3], 1), "the leader was killed at least once");
}

/* Freeze (or thaw) every etcd member. */
static void members_signal(int sig)
{
    int i;

    for (i = 0; i < 3; i++)
        cr_assert(eq(int, kill(member_pid(i), sig), 0));
}

Test(cluster_failover, first_member_killed_locks_go_on, .timeout = 90)
{
    sync_client *c[2] = {cfx_connect(0), cfx_connect(1)};
    sync_lock *l[2] = {NULL, NULL};
    uint64_t last = 0, tok;
    double t0;
    int i;

    for (i = 0; i < 2; i++) {
        cr_assert(eq(int, sync_lock_open(c[i], cfx_name("first"), &l[i]),
                     0));
        cr_assert(eq(int, sync_lock_acquire(l[i], true, 20), 0));
        cr_assert(eq(int, sync_lock_release(l[i]), 0));
    }
    cr_assert(eq(int, kill(member_pid(0), SIGKILL), 0));
    for (i = 0; i < 10; i++) {
        sync_lock *lk = l[i % 2];

        t0 = fx_now();
        cr_assert(eq(int, sync_lock_acquire(lk, true, 20), 0), "round %d",
                  i);
        tok = sync_lock_token(lk);
        cr_assert(gt(u64, tok, last), "round %d: token %llu after %llu", i,
                  (unsigned long long)tok, (unsigned long long)last);
        last = tok;
        cr_assert(eq(int, sync_lock_owner_died(lk), 0));
        cr_assert(eq(int, sync_lock_release(lk), 0), "round %d", i);
        /* An election (~2 s) and a failed attempt at most, not the 6 s
         * budget of a call. */
        cr_assert(lt(dbl, fx_now() - t0, 5.0), "round %d took %.1f s", i,
                  fx_now() - t0);
    }
    for (i = 0; i < 2; i++)
        sync_disconnect(c[i]);
}

Test(cluster_cut, agent_cut_off_releases_nothing_it_cannot_prove,
     .timeout = 90)
{
    sync_client *a = cfx_connect(0), *b = cfx_connect(1);
    sync_lock *la = NULL, *lb = NULL;
    sync_sem *sa = NULL, *sb = NULL;
    double t0;

    cr_assert(eq(int, sync_lock_open(a, cfx_name("cut"), &la), 0));
    cr_assert(eq(int, sync_lock_open(b, cfx_name("cut"), &lb), 0));
    cr_assert(eq(int, sync_lock_acquire(la, true, -1), 0));
    /* A Semaphore of 2: A holds one UNDO permit (a key under its lease),
     * B one plain permit. */
    cr_assert(eq(int, sync_sem_open_flags(a, cfx_name("cutsem"), 2, true,
                                          SYNC_SEM_UNDO, &sa), 0));
    cr_assert(eq(int, sync_sem_open_flags(b, cfx_name("cutsem"), 2, true, 0,
                                          &sb), 0));
    cr_assert(eq(int, sync_sem_acquire(sa, true, 10), 0));
    cr_assert(eq(int, sync_sem_acquire(sb, true, 10), 0));
    members_signal(SIGSTOP);
    /* TTL 3 s: A gives the lease up after 4/5 of it without an answer. */
    cr_assert(syncd_wait_ready(cfx.sock[0], cfx.pid[0], 100));
    t0 = fx_now();
    while (!file_contains(cfx.log[0], "given up") && fx_now() - t0 < 10)
        fx_sleep_ms(50);
    cr_assert(file_contains(cfx.log[0], "given up"),
              "agent A never gave its lease up");
    cr_assert(lt(dbl, fx_now() - t0, 3.5));
    /* The client learns the lock is lost; it is never told "released". */
    cr_assert(eq(int, sync_lock_release(la), SYNC_ELOST));
    /* So is its UNDO permit, at once (etcd is still frozen): its key
     * went with the lease, and nothing of B's is given back for it. */
    t0 = fx_now();
    cr_assert(eq(int, sync_sem_release(sa, 1), SYNC_ELOST));
    cr_assert(lt(dbl, fx_now() - t0, 0.5));
    cr_assert(file_contains(cfx.log[0], "UNDO permit(s) of"),
              "agent A did not log the lost permit");
    fx_sleep_ms(1500);
    members_signal(SIGCONT);
    /* After the thaw the lease is gone (revoked by A, or expired), and B
     * gets the lock, told that its owner died. */
    cr_assert(eq(int, sync_lock_acquire(lb, true, 20), 0));
    cr_assert(eq(int, sync_lock_owner_died(lb), 1));
    cr_assert(eq(int, sync_lock_release(lb), 0));
    /* The lost permit is back (the lease ended), B's is still out: one
     * free, taken by A under its new lease, and none after it. */
    cr_assert(eq(int, sync_sem_value(sb), 1));
    cr_assert(eq(int, sync_sem_acquire(sa, true, 20), 0));
    cr_assert(eq(int, sync_sem_acquire(sb, true, 0.2), SYNC_ETIMEDOUT));
    cr_assert(eq(int, sync_sem_release(sa, 1), 0));
    cr_assert(eq(int, sync_sem_release(sb, 1), 0));
    cr_assert(eq(int, sync_sem_value(sb), 2));
    /* A works again with a new lease. */
    cr_assert(eq(int, sync_lock_acquire(la, true, 20), 0));
    cr_assert(eq(int, sync_lock_owner_died(la), 0));
    cr_assert(eq(int, sync_lock_release(la), 0));
    sync_disconnect(a);
    sync_disconnect(b);
}
