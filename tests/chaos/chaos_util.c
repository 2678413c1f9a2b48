/*
 * chaos_util.c: clock, random numbers, violation log, the timing check of
 * every timed call and the mutual-exclusion witnesses.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "chaos.h"

struct chaos_shm *ch;

static _Thread_local uint64_t rng_state = 0x9e3779b97f4a7c15ull;

double ch_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void ch_sleep_s(double s)
{
    struct timespec ts;

    if (s <= 0)
        return;
    ts.tv_sec = (time_t)s;
    ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

void ch_seed(uint64_t s)
{
    rng_state = s ? s : 0x9e3779b97f4a7c15ull;
    (void)ch_rand();
}

uint64_t ch_rand(void)
{
    uint64_t x = rng_state;

    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    rng_state = x;
    return x;
}

int ch_rand_int(int lo, int hi)
{
    return lo + (int)(ch_rand() % (uint64_t)(hi - lo + 1));
}

double ch_rand_dbl(double lo, double hi)
{
    return lo + (hi - lo) * (double)(ch_rand() >> 11) / 9007199254740992.0;
}

bool ch_chance(int pct)
{
    return ch_rand_int(0, 99) < pct;
}

void ch_violation(const char *fmt, ...)
{
    unsigned n = atomic_fetch_add(&ch->n_viol, 1);
    char buf[CH_MSG_LEN];
    va_list ap;
    int len;

    len =
        snprintf(buf, sizeof(buf), "[pid %d t=%.3f] ", (int)getpid(), ch_now());
    va_start(ap, fmt);
    vsnprintf(buf + len, sizeof(buf) - (size_t)len, fmt, ap);
    va_end(ap);
    if (n < CH_MSGS)
        memcpy(ch->msg[n], buf, sizeof(buf));
    /* Also on stderr at once, so a hung or crashed run still shows it. */
    fprintf(stderr, "chaos VIOLATION %s\n", buf);
}

double ch_rand_timeout(double max)
{
    int r = ch_rand_int(0, 99);

    if (r < 10)
        return 0.0; /* blocking, but try once */
    if (r < 40)
        return ch_rand_dbl(0.0005, 0.02);
    return ch_rand_dbl(0.02, max);
}

/* Raise *m to v; true when v is the new maximum. */
static bool note_max(atomic_llong *m, long long v)
{
    long long cur = atomic_load(m);

    while (v > cur)
        if (atomic_compare_exchange_weak(m, &cur, v))
            return true;
    return false;
}

int ch_check_call(const char *what,
                  double t0,
                  double timeout,
                  int rc,
                  int max_value,
                  const int *allowed)
{
    double el = ch_now() - t0;
    double limit = (timeout > 0 ? timeout : 0) + ch->cfg.margin;
    bool ok = rc == 0 || (max_value > 0 && rc > 0 && rc <= max_value);
    const int *a;

    atomic_fetch_add(&ch->st.ops, 1);
    for (a = allowed; !ok && a != NULL && *a != 0; a++)
        ok = rc == *a;
    if (!ok)
        ch_violation("%s returned %d (%s), not an allowed result", what, rc,
                     sync_errname(rc));
    if (el > (timeout > 0 ? timeout : 0) &&
        note_max(&ch->st.max_late_us,
                 (long long)((el - (timeout > 0 ? timeout : 0)) * 1e6)))
        /* Informational (may tear with a concurrent maximum). */
        snprintf(ch->st.max_late_what, sizeof(ch->st.max_late_what), "%s",
                 what);
    if (el > limit)
        ch_violation(
            "%s (timeout %.3f s) took %.3f s > timeout + margin "
            "%.3f s (rc %s)",
            what, timeout, el, ch->cfg.margin, sync_errname(rc));
    if (rc == SYNC_ETIMEDOUT) {
        atomic_fetch_add(&ch->st.timeouts, 1);
        if (timeout > 0 && el < timeout) {
            if (note_max(&ch->st.max_early_us,
                         (long long)((timeout - el) * 1e6)))
                snprintf(ch->st.max_early_what, sizeof(ch->st.max_early_what),
                         "%s", what);
            if (el < timeout - ch->cfg.early)
                ch_violation(
                    "%s timed out after %.4f s, before its timeout "
                    "%.4f s",
                    what, el, timeout);
        }
    }
    return rc;
}

static atomic_uchar *dead_byte(unsigned inc)
{
    return &ch->dead[(inc % CH_MAX_INCARNATIONS) / 8];
}

void ch_mark_dead(unsigned inc)
{
    atomic_fetch_or(dead_byte(inc), (unsigned char)(1u << (inc % 8)));
}

bool ch_is_dead(unsigned inc, double wait_s)
{
    double end = ch_now() + wait_s;

    for (;;) {
        if (atomic_load(dead_byte(inc)) & (1u << (inc % 8)))
            return true;
        if (ch_now() >= end)
            return false;
        ch_sleep_s(0.002);
    }
}

void ch_witness_take(atomic_uint *slot,
                     unsigned me,
                     int owner_died,
                     const char *what)
{
    unsigned cur = 0;

    if (atomic_compare_exchange_strong(slot, &cur, me))
        return;
    if (cur == me) {
        ch_violation("%s: acquired while this process already held it", what);
        return;
    }
    if (owner_died != 1) {
        ch_violation(
            "%s: two holders: acquired (owner_died=%d) while "
            "incarnation %u holds it",
            what, owner_died, cur);
        return;
    }
    /* The previous holder died holding it: it must really be dead. */
    if (!ch_is_dead(cur, 5.0)) {
        ch_violation(
            "%s: owner_died takeover from incarnation %u, which "
            "is not dead",
            what, cur);
        return;
    }
    if (!atomic_compare_exchange_strong(slot, &cur, me)) {
        ch_violation("%s: witness changed during takeover (now %u)", what, cur);
        return;
    }
    atomic_fetch_add(&ch->st.takeovers, 1);
}

void ch_witness_give(atomic_uint *slot, unsigned me, const char *what)
{
    unsigned cur = me;

    if (!atomic_compare_exchange_strong(slot, &cur, 0))
        ch_violation(
            "%s: at release the witness names incarnation %u, not "
            "this holder %u",
            what, cur, me);
}

sync_client *ch_connect(void)
{
    sync_client *c = NULL;
    int rv = sync_connect(ch->cfg.sock, &c);

    if (rv != 0) {
        ch_violation("sync_connect: %s", sync_errname(rv));
        _exit(3);
    }
    atomic_fetch_add(&ch->st.clients, 1);
    return c;
}
