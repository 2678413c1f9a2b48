#!/usr/bin/env python3
"""syncmanager_bench.py: the multiprocessing.managers.SyncManager baseline
for syncbench (which runs it and parses its RESULT lines; it inherits
syncbench's CPU affinity).  The same workloads as syncbench, through Lock,
Semaphore and Event proxies of one SyncManager server process:

  W1     Lock acquire+release by one process, per pair (us)
  W2     two processes ping-pong through two Semaphores, per round trip (us)
  W3     4 processes: acquire / touch shared memory / release (ops/s)
  W3x64  the same with 64 processes (ops/s)
  W4     Event: waiters (procs x threads, each thread has its own proxy
         connection, as SyncManager requires) ; set -> last returned (us)
  W5     open+close: SyncManager has no names, so m.Lock() (creates the
         server object) and dropping the proxy (decref frees it) (us)

Output lines: RESULT <workload> <median> <tail> <note>; for throughputs the
tail is the 1st percentile of repetitions, else p99 of the samples.
"""
import argparse
import multiprocessing as mp
import sys
import threading
import time
from multiprocessing.managers import SyncManager


def quantile(v, q):
    v = sorted(v)
    return v[min(len(v) - 1, int(q * (len(v) - 1) + 0.5))]


def now_us():
    return time.monotonic_ns() / 1e3


def report(wl, samples, note, tail_q=0.99):
    print("RESULT %s %.6g %.6g %s" % (wl, quantile(samples, 0.5),
                                      quantile(samples, tail_q), note),
          flush=True)


def w1(m, a):
    lock = m.Lock()
    out = []
    for rep in range(-1, a.reps):
        for _ in range(a.w1 if rep >= 0 else a.w1 // 5 + 10):
            t0 = now_us()
            lock.acquire()
            lock.release()
            if rep >= 0:
                out.append(now_us() - t0)
    report("W1", out, "%d samples" % len(out))


def w2_peer(sa, sb, n):
    for _ in range(n):
        sa.acquire()
        sb.release()


def w2(m, a):
    sa, sb = m.Semaphore(0), m.Semaphore(0)
    warm = a.w2 // 5 + 10
    p = mp.Process(target=w2_peer, args=(sa, sb, warm + a.reps * a.w2))
    p.start()
    out = []
    for rep in range(-1, a.reps):
        for _ in range(a.w2 if rep >= 0 else warm):
            t0 = now_us()
            sa.release()
            sb.acquire()
            if rep >= 0:
                out.append(now_us() - t0)
    p.join()
    report("W2", out, "%d samples" % len(out))


def w3_worker(lock, counter, allops, idx, window, ops, bar):
    for rep in range(len(window)):
        bar.wait()
        t_start, t_end = window[rep]
        counted = 0
        t = 0
        while t < t_end:
            lock.acquire()
            counter.value += 1  # raw shared memory, guarded only by lock
            allops[idx] += 1
            lock.release()
            t = now_us()
            if t_start <= t <= t_end:
                counted += 1
        ops[rep * 64 + idx] = counted
        bar.wait()


def w3(m, a, nprocs, name):
    lock = m.Lock()
    counter = mp.RawValue("q", 0)
    allops = mp.RawArray("q", nprocs)
    nreps = a.reps + 1
    ops = mp.RawArray("q", nreps * 64)
    # The window of every repetition is fixed up front (20 ms grace each).
    bar = mp.Barrier(nprocs + 1)
    window = []
    procs = []
    for rep in range(nreps):
        secs = a.w3_seconds / 2 if rep == 0 else a.w3_seconds
        window.append([0.0, secs])
    shared_window = mp.RawArray("d", nreps * 2)

    class W:  # indexable view handed to the children (fork)
        def __len__(self):
            return nreps

        def __getitem__(self, i):
            return shared_window[2 * i], shared_window[2 * i + 1]

    for i in range(nprocs):
        p = mp.Process(target=w3_worker, args=(lock, counter, allops, i, W(),
                                               ops, bar))
        p.start()
        procs.append(p)
    tput = []
    for rep in range(nreps):
        base = now_us() + 20e3
        shared_window[2 * rep] = base
        shared_window[2 * rep + 1] = base + window[rep][1] * 1e6
        bar.wait()
        bar.wait()
        if rep > 0:
            tput.append(sum(ops[rep * 64 + i] for i in range(nprocs)) /
                        window[rep][1])
    for p in procs:
        p.join()
    ok = counter.value == sum(allops)
    report(name, tput, "%d processes; shared counter %s" %
           (nprocs, "consistent" if ok else "INCONSISTENT"), 0.01)


def w4_proc(ev_proxy, nthreads, ready, done, stamps, base):
    def waiter(slot):
        with ready.get_lock():
            ready.value += 1
        ev_proxy.wait()  # each thread opens its own connection
        stamps[base + slot] = now_us()
        with done.get_lock():
            done.value += 1

    th = [threading.Thread(target=waiter, args=(i,)) for i in range(nthreads)]
    for t in th:
        t.start()
    for t in th:
        t.join()


def w4(m, a):
    n = a.w4_procs * a.w4_threads
    lat = []
    for rep in range(-1, a.reps):
        ev = m.Event()
        ready, done = mp.Value("i", 0), mp.Value("i", 0)
        stamps = mp.RawArray("d", n)
        procs = [mp.Process(target=w4_proc,
                            args=(ev, a.w4_threads, ready, done,
                                  stamps, i * a.w4_threads))
                 for i in range(a.w4_procs)]
        for p in procs:
            p.start()
        deadline = time.monotonic() + 120
        while ready.value < n and time.monotonic() < deadline:
            time.sleep(0.001)
        time.sleep(0.1)
        t_set = now_us()
        ev.set()
        for p in procs:
            p.join()
        if rep >= 0:
            lat.append(max(stamps) - t_set)
        del ev
    report("W4", lat, "%d waiters in %d processes" % (n, a.w4_procs))


def w5(m, a):
    out = []
    for rep in range(-1, a.reps):
        for _ in range(a.w5 if rep >= 0 else a.w5 // 5 + 10):
            t0 = now_us()
            lk = m.Lock()
            del lk  # decref round trip frees the server-side object
            if rep >= 0:
                out.append(now_us() - t0)
    report("W5", out, "%d samples; m.Lock() + drop proxy (no names)" %
           len(out))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", default="W1,W2,W3,W3x64,W4,W5")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--w1", type=int, default=5000)
    ap.add_argument("--w2", type=int, default=2500)
    ap.add_argument("--w3-seconds", type=float, default=1.0)
    ap.add_argument("--w4-procs", type=int, default=10)
    ap.add_argument("--w4-threads", type=int, default=100)
    ap.add_argument("--w5", type=int, default=1250)
    a = ap.parse_args()
    only = set(a.only.split(","))
    mp.set_start_method("fork")
    with SyncManager() as m:
        if "W1" in only:
            w1(m, a)
        if "W2" in only:
            w2(m, a)
        if "W3" in only:
            w3(m, a, 4, "W3")
        if "W3x64" in only:
            w3(m, a, 64, "W3x64")
        if "W4" in only:
            w4(m, a)
        if "W5" in only:
            w5(m, a)
    return 0


if __name__ == "__main__":
    sys.exit(main())
