"""A daemon restarted with its state (--state-dir): the Python objects of
a running program carry on unchanged.  The package inherits
libsyncclient's reconnect and reclaim (docs/persistence.md); these tests
check what a Python program sees: its locks still held with the same
token, nobody else let in, its waits still waiting, and every object's
state as it was."""
import multiprocessing
import os
import tempfile
import time

import pytest

import syncd
from conftest import start_private_daemon


@pytest.fixture
def durable_daemon(monkeypatch):
    """A private daemon keeping its state in a directory, and a way to
    kill -9 it and start it again on the same socket and state; the
    package is connected to it for the test, back to the session's
    daemon after."""
    monkeypatch.delenv("SYNCD_RECONNECT", raising=False)
    tmp = tempfile.mkdtemp(prefix="syncd-py-restart-")
    sock = os.path.join(tmp, "s.sock")
    args = ("--state-dir", os.path.join(tmp, "state"), "--fsync", "always")
    procs = [start_private_daemon(sock, *args)]

    def restart():
        procs[-1].kill()
        procs[-1].wait()
        procs.append(start_private_daemon(sock, *args))

    old = os.environ["SYNCD_SOCKET"]
    monkeypatch.setenv("SYNCD_SOCKET", sock)
    syncd.connect(sock)
    try:
        yield restart
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        os.environ["SYNCD_SOCKET"] = old
        syncd.connect(old)


def _await_waiters(cond, n, seconds=20):
    """Until n processes wait on cond (a fixed sleep is too short on a
    loaded machine: a notify sent before a waiter is back is lost)."""
    deadline = time.monotonic() + seconds
    while cond._n_waiting() != n and time.monotonic() < deadline:
        time.sleep(0.01)
    assert cond._n_waiting() == n


def _take_after_restart(name, started, result):
    """Waits for the Lock name from before the restart until after it."""
    lk = syncd.Lock(name)
    started.set()
    t0 = time.monotonic()
    got = lk.acquire(timeout=30)
    result.put((got, time.monotonic() - t0, lk.owner_died, lk.token))
    if got:
        lk.release()


def _try_lock(name, result):
    result.put(syncd.Lock(name).acquire(timeout=0.3))


def _cond_waiter(cond, started, result):
    with cond:
        started.set()
        woke = cond.wait(30)
        result.put((woke, cond._is_owned()))
    # A release after the restart is a plain release (the wait's level
    # was not counted lost): the lock is free for the notifier again.
    free = syncd.Lock("restart/cond-lock")
    result.put(free.acquire(timeout=0))
    free.release()


def test_holds_and_state_survive_a_kill_9_of_the_daemon(durable_daemon):
    ctx = multiprocessing.get_context("fork")
    lk = syncd.Lock("restart/lock")
    rl = syncd.RLock("restart/rlock")
    # Named, so that the waiter's and the notifier's are one condition;
    # its lock is a Lock of its own (acquired through that handle).
    cond = syncd.Condition(syncd.Lock("restart/cond-lock"),
                           name="restart/cond")
    sem = syncd.Semaphore(3, name="restart/sem")
    bsem = syncd.BoundedSemaphore(2, name="restart/bsem")
    ev = syncd.Event("restart/event")
    assert lk.acquire()
    token = lk.token
    assert rl.acquire() and rl.acquire()
    assert sem.acquire() and sem.acquire()
    assert bsem.acquire()
    ev.set()

    # A process queued behind the lock, and one waiting on a condition,
    # both from before the crash.
    started, cstarted = ctx.Event(), ctx.Event()
    result, cresult = ctx.Queue(), ctx.Queue()
    waiter = ctx.Process(target=_take_after_restart,
                         args=("restart/lock", started, result))
    cwaiter = ctx.Process(target=_cond_waiter,
                          args=(cond, cstarted, cresult))
    waiter.start()
    cwaiter.start()
    assert started.wait(10) and cstarted.wait(10)
    _await_waiters(cond, 1)
    time.sleep(0.3)  # the lock's waiter is queued too

    durable_daemon()

    # Same objects, no call made anew: the hold is kept, same token,
    # and nobody else gets in while it is.
    assert lk.locked() is True
    assert lk.token == token
    assert lk.owner_lost is False
    assert rl._is_owned() and rl._recursion_count() == 2
    assert ev.is_set() is True
    assert sem.acquire(timeout=0) is True      # 3 - 2 = 1 left ...
    assert sem.acquire(timeout=0) is False     # ... and no more
    assert bsem.acquire(timeout=0) is True
    assert bsem.acquire(timeout=0) is False
    trier_result = ctx.Queue()
    trier = ctx.Process(target=_try_lock, args=("restart/lock",
                                                trier_result))
    trier.start()
    assert trier_result.get(timeout=10) is False
    trier.join(10)
    assert result.empty(), "the queued waiter got a lock still held"

    # Released after the restart: the waiter queued before it gets the
    # lock cleanly, with a newer token.
    lk.release()
    got, waited, owner_died, wtoken = result.get(timeout=15)
    assert got is True and owner_died is False
    assert wtoken > token
    waiter.join(10)
    assert waiter.exitcode == 0

    # The condition's waiter is still waiting (its lock given back, not
    # reclaimed as a hold), and a notify wakes it holding the lock.
    assert cresult.empty()
    _await_waiters(cond, 1)
    with cond:
        cond.notify()
    woke, owned = cresult.get(timeout=15)
    assert woke is True and owned is True
    assert cresult.get(timeout=15) is True
    cwaiter.join(10)
    assert cwaiter.exitcode == 0

    rl.release()
    rl.release()
    assert not rl._is_owned()
    for _ in range(3):
        sem.release()
    bsem.release()
    bsem.release()
    with pytest.raises(ValueError):
        bsem.release()
    ev.clear()
    assert ev.is_set() is False


def _deep_cond_waiter(cond, started, result):
    with cond:
        with cond:
            started.set()
            woke = cond.wait(30)
            result.put((woke, cond._is_owned()))
        result.put(cond._is_owned())      # one level still held
    result.put(cond._is_owned())          # none


@pytest.mark.parametrize("kind", ["own RLock", "RLock given"])
def test_condition_waiting_at_depth_two_across_a_kill_9(durable_daemon,
                                                        kind):
    """An RLock condition waited on two levels deep: after the restart
    the wait goes on, and it returns as deep as it was (two with-exits,
    no error, the lock then free)."""
    ctx = multiprocessing.get_context("fork")
    name = "restart/deep-" + kind.split()[0]
    cond = (syncd.Condition(name=name) if kind == "own RLock" else
            syncd.Condition(syncd.RLock(name + "-lock"), name=name))
    started, result = ctx.Event(), ctx.Queue()
    waiter = ctx.Process(target=_deep_cond_waiter,
                         args=(cond, started, result))
    waiter.start()
    assert started.wait(10)
    _await_waiters(cond, 1)
    durable_daemon()
    _await_waiters(cond, 1)  # its client is back and waits again
    assert result.empty()
    with cond:
        cond.notify()
    assert result.get(timeout=15) == (True, True)
    assert result.get(timeout=15) is True
    assert result.get(timeout=15) is False
    waiter.join(10)
    assert waiter.exitcode == 0
    assert cond.acquire(timeout=5)
    cond.release()
