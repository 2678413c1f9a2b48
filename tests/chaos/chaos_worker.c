/*
 * chaos_worker.c: a killable worker.  It runs random mixes of every
 * primitive with random timeouts until told to stop, checking every call
 * (ch_check_call) and keeping the shared-memory witnesses up to date, so
 * that whatever instant the killer freezes and kills it at, the witnesses
 * stay sound:
 * - lock witnesses are set after the acquire and cleared before the
 *   release; a slot left set by a killed holder is taken over by the next
 *   acquirer, which must see owner_died == 1; the fencing token of each
 *   acquisition, read under the witness, must exceed the previous one;
 * - semaphore permits are tracked as one bit per worker slot (a worker holds
 *   at most one permit of each), set after the acquire and cleared before
 *   the release or the undoing close; the killer clears a frozen victim's
 *   bits before its SIGKILL returns the permits (SYNC_SEM_UNDO);
 * - the condition's buffer count changes by single stores under its lock
 *   (chaos_worker_ops.c, with the Event and Barrier operations and the
 *   helper thread that makes calls concurrently over the same connection).
 */
#include <stdio.h>
#include <unistd.h>

#include "chaos.h"
#include "chaos_worker.h"

struct worker wk;

static const char *const lk_names[CH_NLOCKABLE] = {
    "chaos/lock0", "chaos/lock1", "chaos/lock2", "chaos/rlock0",
    "chaos/rlock1"};
static const char *const sem_names[CH_NSEMS] = {CH_SEM_NAME, CH_BSEM_NAME};

const int ch_ok_timeout[] = {SYNC_ETIMEDOUT, 0};
static const int ok_timeout_dl[] = {SYNC_ETIMEDOUT, SYNC_EDEADLK, 0};

/* An open, or any other setup call, that must succeed. */
void ch_must(int rc, const char *what)
{
    if (rc != 0) {
        ch_violation("worker: %s: %s", what, sync_errname(rc));
        _exit(4);
    }
}

static void open_lockable(int i)
{
    if (i < CH_NLOCKS)
        ch_must(sync_lock_open(wk.c, lk_names[i], &wk.lk[i]), lk_names[i]);
    else
        ch_must(sync_rlock_open(wk.c, lk_names[i], &wk.rl[i - CH_NLOCKS]),
                lk_names[i]);
}

static void open_sem(int s)
{
    ch_must(sync_sem_open_flags(wk.c, sem_names[s], CH_SEM_INIT(s), s == 1,
                                SYNC_SEM_UNDO, &wk.sem[s]),
            sem_names[s]);
}

void ch_open_all(void)
{
    int i;

    for (i = 0; i < CH_NLOCKABLE; i++)
        open_lockable(i);
    for (i = 0; i < CH_NSEMS; i++)
        open_sem(i);
    ch_must(sync_event_open(wk.c, CH_EVENT_NAME, &wk.ev), CH_EVENT_NAME);
    ch_must(sync_event_open(wk.c, CH_EVONCE_NAME, &wk.once), CH_EVONCE_NAME);
    ch_must(sync_cond_open(wk.c, CH_COND_NAME, CH_COND_LOCK, &wk.cv),
            CH_COND_NAME);
    ch_must(sync_barrier_open(wk.c, CH_BAR_RAND, CH_RAND_PARTIES, &wk.bar),
            CH_BAR_RAND);
}

static void close_lockable(int i)
{
    if (i < CH_NLOCKS)
        sync_lock_close(wk.lk[i]);
    else
        sync_rlock_close(wk.rl[i - CH_NLOCKS]);
}

void ch_close_all(void)
{
    int i;

    for (i = 0; i < CH_NLOCKABLE; i++)
        close_lockable(i);
    for (i = 0; i < CH_NSEMS; i++)
        sync_sem_close(wk.sem[i]);
    sync_event_close(wk.ev);
    sync_event_close(wk.once);
    sync_cond_close(wk.cv);
    sync_barrier_close(wk.bar);
}

/* ---- Lock / RLock -------------------------------------------------------- */

static int lk_acquire(int i, bool blocking, double t)
{
    return i < CH_NLOCKS
               ? sync_lock_acquire(wk.lk[i], blocking, t)
               : sync_rlock_acquire(wk.rl[i - CH_NLOCKS], blocking, t);
}

static int lk_release(int i)
{
    return i < CH_NLOCKS ? sync_lock_release(wk.lk[i])
                         : sync_rlock_release(wk.rl[i - CH_NLOCKS]);
}

static int lk_owner_died(int i)
{
    return i < CH_NLOCKS ? sync_lock_owner_died(wk.lk[i])
                         : sync_rlock_owner_died(wk.rl[i - CH_NLOCKS]);
}

static uint64_t lk_token(int i)
{
    return i < CH_NLOCKS ? sync_lock_token(wk.lk[i])
                         : sync_rlock_token(wk.rl[i - CH_NLOCKS]);
}

static int lk_locked(int i)
{
    return i < CH_NLOCKS ? sync_lock_locked(wk.lk[i])
                         : sync_rlock_locked(wk.rl[i - CH_NLOCKS]);
}

/* Acquire lockable i with a random timeout; true when held. */
static bool lk_take(int i)
{
    bool blocking = !ch_chance(10);
    double to = blocking ? ch_rand_timeout(0.3) : -1, t0 = ch_now();
    uint64_t tok;
    int rc, extra;

    rc = lk_acquire(i, blocking, to);
    /* SYNC_EDEADLK only makes sense while this thread holds another. */
    ch_check_call(lk_names[i], t0, to, rc, 0,
                  wk.nheld > 0 ? ok_timeout_dl : ch_ok_timeout);
    if (rc == SYNC_EDEADLK)
        atomic_fetch_add(&ch->st.deadlocks, 1);
    if (rc != 0)
        return false;
    ch_witness_take(&ch->lock_holder[i], wk.me, lk_owner_died(i), lk_names[i]);
    /* Acquisitions are serialized: tokens seen under the witness grow. */
    tok = lk_token(i);
    if (tok <= atomic_load(&ch->lock_token[i]))
        ch_violation("%s: fencing token %llu not above the previous %llu",
                     lk_names[i], (unsigned long long)tok,
                     (unsigned long long)atomic_load(&ch->lock_token[i]));
    atomic_store(&ch->lock_token[i], tok);
    wk.depth[i] = 1;
    wk.nheld++;
    /* RLock: re-entry by the owner returns 0 at once. */
    extra = i >= CH_NLOCKS ? ch_rand_int(0, 2) : 0;
    while (extra-- > 0) {
        t0 = ch_now();
        rc = ch_check_call("rlock re-entry", t0, 0.05,
                           sync_rlock_acquire(wk.rl[i - CH_NLOCKS], true, 0.05),
                           0, NULL);
        if (rc == 0)
            wk.depth[i]++;
    }
    return true;
}

static void lk_give(int i)
{
    double t0;

    /* Inner RLock levels: it stays held. */
    while (wk.depth[i] > 1) {
        t0 = ch_now();
        ch_check_call("rlock inner release", t0, -1, lk_release(i), 0, NULL);
        wk.depth[i]--;
        if (ch_chance(20) && lk_locked(i) != 1)
            ch_violation("%s: not locked after an inner release", lk_names[i]);
    }
    ch_witness_give(&ch->lock_holder[i], wk.me, lk_names[i]);
    wk.depth[i] = 0;
    wk.nheld--;
    t0 = ch_now();
    ch_check_call("lock release", t0, -1, lk_release(i), 0, NULL);
}

/* Give up a held lockable by closing its handle (the daemon releases it,
 * owner died), then reopen. */
static void lk_close_held(int i)
{
    ch_witness_give(&ch->lock_holder[i], wk.me, lk_names[i]);
    wk.depth[i] = 0;
    wk.nheld--;
    close_lockable(i);
    open_lockable(i);
}

static void op_locks(void)
{
    int i = ch_rand_int(0, CH_NLOCKABLE - 1), j = -1;

    if (!lk_take(i))
        return;
    if (ch_chance(35)) {
        j = (i + ch_rand_int(1, CH_NLOCKABLE - 1)) % CH_NLOCKABLE;
        if (!lk_take(j))
            j = -1;
    }
    if (ch_chance(50))
        ch_sleep_s(ch_rand_dbl(0, 0.002));
    if (j >= 0)
        lk_give(j);
    if (ch_chance(2))
        lk_close_held(i);
    else
        lk_give(i);
}

/* ---- semaphores ---------------------------------------------------------- */

static bool sem_take(int s)
{
    unsigned long long bit = 1ull << wk.slot, old;
    bool blocking = !ch_chance(10);
    double to = blocking ? ch_rand_timeout(0.3) : -1, t0 = ch_now();
    int rc, n;

    rc = ch_check_call(sem_names[s], t0, to,
                       sync_sem_acquire(wk.sem[s], blocking, to), 0,
                       ch_ok_timeout);
    if (rc != 0)
        return false;
    old = atomic_fetch_or(&ch->sem_mask[s], bit);
    if (old & bit)
        ch_violation("%s: slot %d already inside", sem_names[s], wk.slot);
    n = __builtin_popcountll(old | bit);
    if (n > (int)CH_SEM_INIT(s))
        ch_violation("%s: %d holders inside, initial value %u", sem_names[s], n,
                     CH_SEM_INIT(s));
    return true;
}

static void sem_give(int s)
{
    double t0;

    atomic_fetch_and(&ch->sem_mask[s], ~(1ull << wk.slot));
    t0 = ch_now();
    ch_check_call("sem release", t0, -1, sync_sem_release(wk.sem[s], 1), 0,
                  NULL);
}

static void sem_check_value(int s)
{
    double t0 = ch_now();
    int v = sync_sem_value(wk.sem[s]);

    ch_check_call("sem value", t0, -1, v, (int)CH_SEM_INIT(s), NULL);
}

static void op_sem(void)
{
    int s = ch_rand_int(0, CH_NSEMS - 1), o = -1;

    if (!sem_take(s))
        return;
    if (ch_chance(30) && sem_take(1 - s))
        o = 1 - s;
    if (ch_chance(30))
        sem_check_value(s);
    if (ch_chance(50))
        ch_sleep_s(ch_rand_dbl(0, 0.002));
    if (o >= 0)
        sem_give(o);
    if (ch_chance(3)) {
        /* Close the SYNC_SEM_UNDO handle holding a permit: given back. */
        atomic_fetch_and(&ch->sem_mask[s], ~(1ull << wk.slot));
        sync_sem_close(wk.sem[s]);
        atomic_fetch_add(&ch->st.undo_closes, 1);
        open_sem(s);
    } else {
        sem_give(s);
    }
}

/* Hold a lock and a permit, then disconnect: the daemon releases both. */
static void op_disconnect(void)
{
    int i = ch_rand_int(0, CH_NLOCKABLE - 1), s = ch_rand_int(0, 1);
    bool li = lk_take(i), si = sem_take(s);

    if (li)
        ch_witness_give(&ch->lock_holder[i], wk.me, lk_names[i]);
    if (si)
        atomic_fetch_and(&ch->sem_mask[s], ~(1ull << wk.slot));
    wk.depth[i] = 0;
    wk.nheld = 0;
    ch_helper_pause();
    sync_disconnect(wk.c);
    ch_close_all(); /* only frees memory now */
    wk.c = ch_connect();
    ch_open_all();
    ch_helper_resume();
    atomic_fetch_add(&ch->st.reconnects, 1);
}

/* ---- queries ------------------------------------------------------------- */

static void op_query(void)
{
    double t0 = ch_now();
    int rc;

    switch (ch_rand_int(0, 3)) {
        case 0:
            ch_check_call("locked", t0, -1, lk_locked(ch_rand_int(0, 4)), 1,
                          NULL);
            break;
        case 1:
            sem_check_value(ch_rand_int(0, 1));
            break;
        case 2:
            rc = sync_barrier_parties(wk.bar);
            if (rc != CH_RAND_PARTIES)
                ch_violation("bar_rand parties %d", rc);
            ch_check_call("n_waiting", t0, -1, sync_barrier_n_waiting(wk.bar),
                          CH_RAND_PARTIES - 1, NULL);
            break;
        default:
            ch_check_call("broken", t0, -1, sync_barrier_broken(wk.bar), 1,
                          NULL);
            break;
    }
}

void ch_worker_main(int slot, unsigned incarnation)
{
    int r;

    ch_seed(((uint64_t)getpid() << 32) ^ (uint64_t)(ch_now() * 1e9) ^
            incarnation);
    wk.slot = slot;
    wk.me = incarnation;
    wk.c = ch_connect();
    ch_open_all();
    ch_helper_start();
    while (!atomic_load(&ch->stop)) {
        r = ch_rand_int(0, 99);
        if (r < 25)
            op_locks();
        else if (r < 45)
            op_sem();
        else if (r < 60)
            ch_op_event();
        else if (r < 80)
            ch_op_cond();
        else if (r < 89)
            ch_op_barrier();
        else if (r < 99)
            op_query();
        else
            op_disconnect();
        if (ch_chance(10))
            ch_sleep_s(ch_rand_dbl(0, 0.001));
    }
    /* Nothing is held between operations: a clean goodbye. */
    ch_helper_stop();
    ch_close_all();
    sync_disconnect(wk.c);
    _exit(0);
}
