/*
 * lockcache.pml: the cached-lock protocol of docs/lock-caching.md, checked
 * exhaustively by spin (tests/model/run_model.sh).  One lock; client 1
 * (NT1 threads) may cache it in its shared page; client 2 (one thread)
 * always asks the daemon.  Client 1 may die (kill -9) at any point; the
 * daemon may revoke the cached lock at any time (another client's request,
 * a Condition wait, a handle close, an inspection).
 *
 * The word: state (REVOKED/FREE/HELD), gen (which lending), off (tokens
 * used from the lent range), tid (holding thread), depth (RLock levels).
 * Every change to it is one atomic step (a CAS in the code).
 *
 * Checked: mutual exclusion (assert in the critical section), fencing
 * tokens strictly increasing across all clients (assert at entry), RLock
 * depth as the user counted it, owner-died exactly when client 1 really
 * held the lock at its death (assert in the daemon), and no lost wake-up:
 * every run ends with every surviving thread done (spin reports a waiter
 * never granted as an invalid end state).
 */
#ifndef NT1
#define NT1 2           /* threads of client 1 */
#endif
#ifndef ITER
#define ITER 2          /* acquire/release rounds per thread */
#endif
#ifndef RANGE
#define RANGE 2         /* tokens lent per lending (exhaustion is a path) */
#endif
#ifndef DEPTH_MAX
#define DEPTH_MAX 2     /* depth the word holds; deeper goes remote */
#endif

#define T2 (NT1 + 1)    /* client 2's thread */
#define REVOKED 0
#define FREE 1
#define HELD 2

mtype = { ACQ, REL, DEATH };

/* client 1's page: one slot (word + base) */
byte wstate = REVOKED;
byte wgen = 0;
byte woff = 0;
byte wtid = 0;
byte wdepth = 0;
byte wbase = 0;

/* client 1's memory of its last lending (per handle in the code) */
byte c1gen = 0;
bool c1_dead = false;

/* the daemon's lock object */
bool held = false;
byte holder = 0;        /* client */
byte hthread = 0;
byte hdepth = 0;
byte tokens = 0;
bool cached = false;    /* lent to client 1 */
byte lgen = 0;          /* gens handed out */
byte prev = 0;          /* last client granted (adaptive lending) */
bool owner_died = false;

chan req = [8] of { mtype, byte, byte };   /* kind, client, thread */
chan waitq = [4] of { byte, byte };        /* FIFO: client, thread */
chan reply[T2 + 1] = [1] of { byte, byte, bool }; /* token, gen, died */

/* ghosts */
byte in_cs = 0;         /* threads inside the critical section */
byte c1_in_cs = 0;
byte c1_holding = 0;    /* client 1's threads holding (any way) */
byte last_tok = 0;
byte done = 0;          /* threads that finished */

/* The daemon takes a lent lock back with one CAS: a free word makes the
 * lock free, a held word becomes a hold the daemon keeps for client 1's
 * thread at its depth.  The tokens used from the range are read from the
 * same word. */
inline reclaim() {
    if
    :: cached ->
        cached = false;
        if
        :: wbase + woff > tokens -> tokens = wbase + woff
        :: else -> skip
        fi;
        if
        :: wstate == HELD ->
            held = true; holder = 1; hthread = wtid; hdepth = wdepth
        :: wstate == FREE ->
            assert(len(waitq) == 0);  /* nobody queues on a lent lock */
            held = false; holder = 0; hthread = 0; hdepth = 0
        :: else -> assert(false)
        fi;
        wstate = REVOKED
    :: else -> skip
    fi
}

/* Grant to (gc, gt); lend the lock to client 1 when it re-takes it and
 * nobody waits. */
inline grant(gc, gt) {
    held = true; holder = gc; hthread = gt; hdepth = 1;
    tokens++;
    gdied = owner_died; owner_died = false;
    if
    :: gc == 1 -> c1_holding++
    :: else -> skip
    fi;
    ggen = 0;
    if
    :: gc == 1 && prev == 1 && len(waitq) == 0 && !c1_dead ->
        lgen++;
        wbase = tokens; woff = 0; wtid = gt; wdepth = 1; wgen = lgen;
        wstate = HELD; cached = true; ggen = lgen
    :: else -> skip
    fi;
    prev = gc;
    reply[gt]!tokens, ggen, gdied
}

inline hand_off(died) {
    held = false; holder = 0; hthread = 0; hdepth = 0;
    owner_died = died;
    if
    :: nempty(waitq) -> waitq?wc, wt; grant(wc, wt)
    :: empty(waitq) -> skip
    fi
}

active proctype Daemon()
{
    mtype m;
    byte c, t, wc, wt, ggen, n;
    bool gdied;
end:
    do
    :: atomic { req?m, c, t ->
        reclaim();
        if
        :: m == ACQ ->
            if
            :: !held -> grant(c, t)
            :: held && holder == c && hthread == t && RLOCK ->
                hdepth++; reply[t]!tokens, 0, false
            :: else -> waitq!c, t
            fi
        :: m == REL ->
            assert(held && holder == c);
            assert(!RLOCK || hthread == t);
            hdepth--;
            if
            :: c == 1 && hdepth == 0 -> c1_holding--
            :: else -> skip
            fi;
            if
            :: hdepth == 0 -> hand_off(false)
            :: else -> skip
            fi;
            reply[t]!0, 0, false
        :: m == DEATH ->
            /* drop client 1's waiters, then its hold (owner died) */
            n = len(waitq);
            do
            :: n > 0 -> waitq?wc, wt; if :: wc != 1 -> waitq!wc, wt :: else fi; n--
            :: n == 0 -> break
            od;
            if
            :: held && holder == 1 -> assert(c1_holding > 0); hand_off(true)
            :: else -> assert(c1_holding == 0)
            fi;
            c1_holding = 0
        fi }
    :: atomic { cached -> reclaim() }  /* another client, a Condition,
                                          a close, an inspection */
    od
}

/* Client 1's thread t: local CAS when the word lets it, else the daemon. */
proctype Client1(byte t)
{
    byte i = 0, d, tok, g;
    bool ok, died;
    do
    :: i < ITER ->
        d = 0;
acquire:
        ok = false;
        atomic {
            if
            :: c1_dead -> goto gone
            :: !c1_dead && wgen == c1gen && wstate == FREE && woff < RANGE ->
                woff++; wstate = HELD; wtid = t; wdepth = 1;
                tok = wbase + woff; ok = true; c1_holding++
            :: !c1_dead && RLOCK && wgen == c1gen && wstate == HELD &&
               wtid == t && wdepth < DEPTH_MAX ->
                wdepth++; ok = true
            :: else -> skip
            fi
        }
        if
        :: !ok ->
            atomic { if :: c1_dead -> goto gone :: else -> req!ACQ, 1, t fi }
            if
            :: reply[t]?tok, g, died -> if :: g != 0 -> c1gen = g :: else fi
            :: c1_dead -> goto gone
            fi
        :: else -> skip
        fi;
        d++;
        if
        :: d == 1 ->
            atomic {
                if :: c1_dead -> goto gone :: else fi;
                assert(in_cs == 0); in_cs++; c1_in_cs++;
                assert(tok > last_tok); last_tok = tok
            }
        :: else -> skip
        fi;
        /* an RLock owner may go one level deeper */
        if
        :: RLOCK && d < 2 -> goto acquire
        :: true -> skip
        fi;
release:
        if
        :: d == 1 ->
            atomic { if :: c1_dead -> goto gone :: else fi; in_cs--; c1_in_cs-- }
        :: else -> skip
        fi;
        ok = false;
        atomic {
            if
            :: c1_dead -> goto gone
            :: !c1_dead && wgen == c1gen && wstate == HELD &&
               (!RLOCK || wtid == t) ->
                assert(!RLOCK || wdepth == d);
                if
                :: wdepth > 1 -> wdepth--
                :: else -> wstate = FREE; wtid = 0; wdepth = 0; c1_holding--
                fi;
                ok = true
            :: else -> skip
            fi
        }
        if
        :: !ok ->
            atomic { if :: c1_dead -> goto gone :: else -> req!REL, 1, t fi }
            if
            :: reply[t]?tok, g, died
            :: c1_dead -> goto gone
            fi
        :: else -> skip
        fi;
        d--;
        if
        :: d > 0 -> goto release
        :: else -> skip
        fi;
        i++
    :: else -> break
    od;
gone:
    atomic { done++ }
}

/* Client 2: always through the daemon (no cache). */
proctype Client2()
{
    byte i = 0, tok, g;
    bool died;
    do
    :: i < ITER ->
        req!ACQ, 2, T2;
        reply[T2]?tok, g, died;
        assert(g == 0);
        atomic { assert(in_cs == 0); in_cs++; assert(tok > last_tok); last_tok = tok }
        atomic { in_cs-- }
        req!REL, 2, T2;
        reply[T2]?tok, g, died;
        i++
    :: else -> break
    od;
    atomic { done++ }
}

/* kill -9 of client 1, at most once, at any point. */
proctype Killer()
{
    atomic {
        !c1_dead ->
        c1_dead = true;
        in_cs = in_cs - c1_in_cs; c1_in_cs = 0;
        req!DEATH, 1, 0
    }
}

init {
    byte k;
    atomic {
        k = 1;
        do
        :: k <= NT1 -> run Client1(k); k++
        :: k > NT1 -> break
        od;
        run Client2();
        if
        :: KILL -> run Killer()
        :: else -> skip
        fi
    }
    /* no lost wake-up: every thread finishes, so no waiter was left */
    (done == NT1 + 1);
    assert(in_cs == 0)
}
