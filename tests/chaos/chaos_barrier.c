/*
 * chaos_barrier.c: the two barrier checks that need a known set of parties.
 *
 * Fixed parties (chaos/bar_fixed): CH_FIXED_PARTIES processes that are never
 * killed go through numbered rounds in lockstep, with random timeouts (a
 * few short enough to break a round).  Each records its outcome in the
 * round's shared word; a round must end with every index 0..parties-1 seen
 * exactly once, or with every party getting SYNC_EBROKEN - never a mix.
 * After a broken round all parties acknowledge it, party 0 resets the
 * barrier, and the next round must work again.
 *
 * Kill-break (chaos/bar_kill): a coordinator that is never killed forks two
 * sacrificial parties; once the daemon shows the victim waiting it SIGKILLs
 * it.  The other party must get SYNC_EBROKEN within the margin of the kill
 * (not at its own 10 s timeout), the barrier must read broken with nobody
 * waiting, a late arrival must get SYNC_EBROKEN at once, reset() must make
 * it usable, and a full round (coordinator + two fresh parties) must then
 * hand out indices 0, 1, 2.
 */
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chaos.h"
#include "daemon_fixture.h"

static const int ok_broken[] = {SYNC_EBROKEN, 0};

static void must(int rc, const char *what)
{
    if (rc != 0) {
        ch_violation("%s: %s", what, sync_errname(rc));
        _exit(4);
    }
}

/* Spin until *v >= want (bounded); false on timeout. */
static bool await_at_least(atomic_uint *v, unsigned want, double secs)
{
    double end = ch_now() + secs;

    while (atomic_load(v) < want) {
        if (ch_now() > end)
            return false;
        ch_sleep_s(0.0005);
    }
    return true;
}

/* ---- fixed parties ------------------------------------------------------- */

#define FB_IDX(v) ((v)&0xffu)
#define FB_BROKEN(v) (((v) >> 8) & 0xffu)
#define FB_NIDX(v) (((v) >> 16) & 0xffu)

static void fixed_check_round(int q)
{
    unsigned v = atomic_exchange(&ch->fixed_round[q % CH_RING], 0);
    unsigned full = (1u << CH_FIXED_PARTIES) - 1;

    if (FB_NIDX(v) == CH_FIXED_PARTIES && FB_IDX(v) == full &&
        FB_BROKEN(v) == 0)
        atomic_fetch_add(&ch->st.fixed_done, 1);
    else if (FB_BROKEN(v) == CH_FIXED_PARTIES && FB_NIDX(v) == 0)
        atomic_fetch_add(&ch->st.fixed_broken, 1);
    else
        ch_violation(
            "bar_fixed round %d inconsistent: %u indices (mask "
            "%#x), %u SYNC_EBROKEN of %d parties",
            q, FB_NIDX(v), FB_IDX(v), FB_BROKEN(v), CH_FIXED_PARTIES);
}

void ch_fixed_final_check(void)
{
    int last = atomic_load(&ch->fb_stop_round), q;

    for (q = last - 1; q <= last; q++)
        if (q >= 1)
            fixed_check_round(q);
}

void ch_fixed_party_main(int id)
{
    unsigned nbroken = 0, old;
    atomic_uint *slot;
    sync_barrier *b;
    sync_client *c;
    double to, t0;
    int r, rc, sr;

    ch_seed(((uint64_t)getpid() << 16) ^ (uint64_t)(ch_now() * 1e9));
    c = ch_connect();
    must(sync_barrier_open(c, CH_BAR_FIXED, CH_FIXED_PARTIES, &b),
         CH_BAR_FIXED);
    for (r = 1;; r++) {
        if (id == 0) {
            /* Everyone recorded round r-2 before arriving at r-1, which
             * has completed (or broken and been acknowledged by all). */
            if (r >= 3)
                fixed_check_round(r - 2);
            if (atomic_load(&ch->stop) && atomic_load(&ch->fb_stop_round) == 0)
                atomic_store(&ch->fb_stop_round, r);
        }
        if (ch_chance(50))
            ch_sleep_s(ch_rand_dbl(0, 0.003));
        to = ch_chance(8) ? ch_rand_dbl(0.001, 0.03) : 5.0;
        t0 = ch_now();
        rc = ch_check_call("bar_fixed wait", t0, to, sync_barrier_wait(b, to),
                           CH_FIXED_PARTIES - 1, ok_broken);
        slot = &ch->fixed_round[r % CH_RING];
        if (rc >= 0) {
            old = atomic_fetch_or(slot, 1u << rc);
            if (old & (1u << rc))
                ch_violation("bar_fixed round %d: index %d handed out twice", r,
                             rc);
            atomic_fetch_add(slot, 1u << 16);
        } else if (rc == SYNC_EBROKEN) {
            atomic_fetch_add(slot, 1u << 8);
            nbroken++;
            atomic_fetch_add(&ch->fb_acks, 1);
            if (id == 0) {
                if (!await_at_least(&ch->fb_acks, nbroken * CH_FIXED_PARTIES,
                                    30)) {
                    ch_violation(
                        "bar_fixed round %d: broken, but not all "
                        "parties saw it within 30 s",
                        r);
                    _exit(6);
                }
                t0 = ch_now();
                ch_check_call("bar_fixed reset", t0, -1, sync_barrier_reset(b),
                              0, NULL);
                if (sync_barrier_broken(b) != 0)
                    ch_violation("bar_fixed still broken after reset()");
                atomic_store(&ch->fb_reset_gen, nbroken);
            } else if (!await_at_least(&ch->fb_reset_gen, nbroken, 30)) {
                ch_violation("bar_fixed round %d: no reset within 30 s", r);
                _exit(6);
            }
        } else {
            _exit(6); /* recorded by ch_check_call */
        }
        sr = atomic_load(&ch->fb_stop_round);
        if (sr != 0 && r >= sr)
            break;
    }
    sync_barrier_close(b);
    sync_disconnect(c);
    _exit(0);
}

/* ---- kill-break ---------------------------------------------------------- */

#define KB_PENDING 1000 /* kb_rc before the party's wait returned */

static long long now_us(void)
{
    return (long long)(ch_now() * 1e6);
}

/* Sacrificial party k: wait (after kb_go when told to), record, exit. */
static pid_t kb_child(int k, bool wait_go)
{
    sync_barrier *b;
    sync_client *c;
    double end;
    pid_t pid;
    int rc;

    atomic_store(&ch->kb_rc[k], KB_PENDING);
    atomic_store(&ch->kb_t_ret_us[k], 0);
    atomic_store(&ch->kb_t_call_us[k], 0);
    pid = fx_fork();
    if (pid != 0)
        return pid;
    c = ch_connect();
    must(sync_barrier_open(c, CH_BAR_KILL, CH_KB_PARTIES, &b), CH_BAR_KILL);
    end = ch_now() + 20;
    while (wait_go && !atomic_load(&ch->kb_go) && ch_now() < end)
        ch_sleep_s(0.0005);
    atomic_store(&ch->kb_t_call_us[k], now_us());
    rc = sync_barrier_wait(b, 10.0);
    atomic_store(&ch->kb_t_ret_us[k], now_us());
    atomic_store(&ch->kb_rc[k], rc);
    sync_barrier_close(b);
    sync_disconnect(c);
    _exit(0);
}

static int kb_reap(pid_t pid, const char *who)
{
    int code = fx_waitpid(pid, 20000);

    if (code != 0)
        ch_violation("kill-break: %s exit status %d", who, code);
    return code;
}

/* Wait until the daemon shows n parties waiting; false after 10 s. */
static bool kb_await_waiting(sync_barrier *b, int n)
{
    double end = ch_now() + 10;

    while (sync_barrier_n_waiting(b) != n) {
        if (ch_now() > end)
            return false;
        ch_sleep_s(0.001);
    }
    return true;
}

static void kb_scenario(sync_barrier *b, int variant)
{
    long long t_kill, t_ref, late_us = (long long)(ch->cfg.margin * 1e6);
    int status, rc, rcs[3], i, j;
    pid_t s1, s2, s3, s4;
    double t0;

    atomic_store(&ch->kb_go, 0);
    /* Variant 0: both sacrificial parties wait, the victim is killed.
     * Variant 1: the victim waits alone and is killed; the other arrives
     * only then (on a barrier that is, or is about to be, broken). */
    s1 = kb_child(0, false);
    if (!kb_await_waiting(b, 1))
        ch_violation("kill-break: the victim never showed up waiting");
    s2 = kb_child(1, variant == 1);
    if (variant == 0 && !kb_await_waiting(b, 2))
        ch_violation("kill-break: two parties never showed up waiting");
    t_kill = now_us();
    kill(s1, SIGKILL);
    status = fx_wait_status(s1, 20000);
    if (fx_exit_code(status) != 128 + SIGKILL)
        ch_violation(
            "kill-break: the victim was not killed waiting "
            "(status %d): its wait returned %d",
            fx_exit_code(status), atomic_load(&ch->kb_rc[0]));
    atomic_store(&ch->kb_go, 1);
    kb_reap(s2, "second party");
    rc = atomic_load(&ch->kb_rc[1]);
    t_ref = atomic_load(&ch->kb_t_call_us[1]);
    if (t_ref < t_kill)
        t_ref = t_kill;
    if (rc != SYNC_EBROKEN)
        ch_violation(
            "kill-break (variant %d): the other party got %d (%s), "
            "not SYNC_EBROKEN",
            variant, rc, sync_errname(rc));
    else if (atomic_load(&ch->kb_t_ret_us[1]) - t_ref > late_us)
        ch_violation(
            "kill-break (variant %d): SYNC_EBROKEN came %.3f s "
            "after the kill",
            variant, (double)(atomic_load(&ch->kb_t_ret_us[1]) - t_ref) / 1e6);
    else if (variant == 0 && atomic_load(&ch->kb_t_ret_us[1]) < t_kill)
        ch_violation("kill-break: the other party returned before the kill");
    if ((rc = sync_barrier_broken(b)) != 1)
        ch_violation("kill-break: broken() is %d after the kill", rc);
    if ((rc = sync_barrier_n_waiting(b)) != 0)
        ch_violation("kill-break: %d waiting after the break", rc);
    t0 = ch_now();
    ch_check_call("bar_kill late wait", t0, 1.0, sync_barrier_wait(b, 1.0), 0,
                  ok_broken);
    if (ch_now() - t0 > ch->cfg.margin)
        ch_violation("kill-break: a wait on the broken barrier blocked");
    must(sync_barrier_reset(b), "kill-break reset");
    if ((rc = sync_barrier_broken(b)) != 0)
        ch_violation("kill-break: broken() is %d after reset()", rc);
    /* A full round after the reset. */
    s3 = kb_child(2, false);
    s4 = kb_child(3, false);
    t0 = ch_now();
    rcs[0] = ch_check_call("bar_kill wait", t0, 10.0,
                           sync_barrier_wait(b, 10.0), CH_KB_PARTIES - 1, NULL);
    kb_reap(s3, "round party 3");
    kb_reap(s4, "round party 4");
    rcs[1] = atomic_load(&ch->kb_rc[2]);
    rcs[2] = atomic_load(&ch->kb_rc[3]);
    for (i = 0; i < 3; i++) {
        if (rcs[i] < 0 || rcs[i] >= CH_KB_PARTIES)
            ch_violation(
                "kill-break: round after reset: party %d got %d "
                "(%s)",
                i, rcs[i], sync_errname(rcs[i]));
        for (j = 0; j < i; j++)
            if (rcs[i] == rcs[j])
                ch_violation(
                    "kill-break: round after reset: index %d "
                    "twice",
                    rcs[i]);
    }
    atomic_fetch_add(&ch->st.kb_runs, 1);
}

void ch_killbreak_main(void)
{
    sync_barrier *b;
    sync_client *c;

    ch_seed(((uint64_t)getpid() << 24) ^ (uint64_t)(ch_now() * 1e9));
    c = ch_connect();
    must(sync_barrier_open(c, CH_BAR_KILL, CH_KB_PARTIES, &b), CH_BAR_KILL);
    while (!atomic_load(&ch->stop)) {
        kb_scenario(b, ch_rand_int(0, 1));
        ch_sleep_s(ch_rand_dbl(0.05, 0.3));
    }
    sync_barrier_close(b);
    sync_disconnect(c);
    _exit(0);
}
