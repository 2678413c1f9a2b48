"""Bad input from Python, each a clear exception and never a crash or a
hang: wrong argument types and values (the same exception class as
threading raises for the same call), every method of a closed object, and
a daemon that went away under blocked and idle calls of every class."""
import os
import tempfile
import threading
import time

import pytest

import syncd
from conftest import start_private_daemon


def _held_condition(mod):
    cond = mod.Condition()
    cond.acquire()
    return cond


# (what, build an object from a module (threading or syncd), the call)
SAME_AS_THREADING = [
    ("Lock.acquire(timeout='1')", lambda m: m.Lock(),
     lambda o: o.acquire(timeout="1")),
    ("Lock.acquire(blocking=[], timeout=[])", lambda m: m.Lock(),
     lambda o: o.acquire(True, [])),
    ("Lock.acquire(False, 1)", lambda m: m.Lock(),
     lambda o: o.acquire(False, 1)),
    ("Lock.acquire(timeout=-2)", lambda m: m.Lock(),
     lambda o: o.acquire(timeout=-2)),
    ("Lock.acquire(timeout=1e100)", lambda m: m.Lock(),
     lambda o: o.acquire(timeout=1e100)),
    ("Lock.acquire(timeout=nan)", lambda m: m.Lock(),
     lambda o: o.acquire(timeout=float("nan"))),
    ("Lock.acquire(1, 2, 3)", lambda m: m.Lock(),
     lambda o: o.acquire(1, 2, 3)),
    ("Lock.acquire(bogus=1)", lambda m: m.Lock(),
     lambda o: o.acquire(bogus=1)),
    ("Lock.acquire(blocking=None)", lambda m: m.Lock(),
     lambda o: o.acquire(blocking=None)),
    ("Lock.acquire('x')", lambda m: m.Lock(), lambda o: o.acquire("x")),
    ("Lock.acquire(1.5)", lambda m: m.Lock(), lambda o: o.acquire(1.5)),
    ("Lock.acquire(2**40)", lambda m: m.Lock(), lambda o: o.acquire(2**40)),
    ("RLock.acquire(None)", lambda m: m.RLock(), lambda o: o.acquire(None)),
    ("Condition.acquire([])", lambda m: m.Condition(),
     lambda o: o.acquire([])),
    ("Lock.release() unheld", lambda m: m.Lock(), lambda o: o.release()),
    ("Lock.release(1)", lambda m: m.Lock(), lambda o: o.release(1)),
    ("Lock.locked(1)", lambda m: m.Lock(), lambda o: o.locked(1)),
    ("RLock.acquire(timeout='x')", lambda m: m.RLock(),
     lambda o: o.acquire(timeout="x")),
    ("RLock.acquire(timeout=-5)", lambda m: m.RLock(),
     lambda o: o.acquire(timeout=-5)),
    ("RLock.release() unheld", lambda m: m.RLock(), lambda o: o.release()),
    ("Semaphore(-1)", lambda m: m, lambda m: m.Semaphore(-1)),
    ("Semaphore('3')", lambda m: m, lambda m: m.Semaphore("3")),
    ("Semaphore(None)", lambda m: m, lambda m: m.Semaphore(None)),
    ("BoundedSemaphore(-3)", lambda m: m, lambda m: m.BoundedSemaphore(-3)),
    ("Semaphore.acquire(timeout='x')", lambda m: m.Semaphore(0),
     lambda o: o.acquire(timeout="x")),
    ("Semaphore.acquire(False, 1)", lambda m: m.Semaphore(0),
     lambda o: o.acquire(False, 1)),
    ("Semaphore.release(0)", lambda m: m.Semaphore(0),
     lambda o: o.release(0)),
    ("Semaphore.release('2')", lambda m: m.Semaphore(0),
     lambda o: o.release("2")),
    ("BoundedSemaphore.release() over", lambda m: m.BoundedSemaphore(1),
     lambda o: o.release()),
    ("Event.wait('x')", lambda m: m.Event(), lambda o: o.wait("x")),
    ("Event.wait(1e100)", lambda m: m.Event(), lambda o: o.wait(1e100)),
    ("Event.set(1)", lambda m: m.Event(), lambda o: o.set(1)),
    ("Condition.wait() unheld", lambda m: m.Condition(),
     lambda o: o.wait(0.01)),
    ("Condition.notify() unheld", lambda m: m.Condition(),
     lambda o: o.notify()),
    ("Condition.notify_all() unheld", lambda m: m.Condition(),
     lambda o: o.notify_all()),
    ("Condition(Lock()).notify(0) unheld", lambda m: m.Condition(m.Lock()),
     lambda o: o.notify(0)),
    ("Condition().notify(0) unheld", lambda m: m.Condition(),
     lambda o: o.notify(0)),
    ("Condition.wait('x')", _held_condition, lambda o: o.wait("x")),
    ("Condition.wait_for(5)", _held_condition, lambda o: o.wait_for(5)),
    ("Condition.release() unheld", lambda m: m.Condition(),
     lambda o: o.release()),
    ("Barrier.wait('x')", lambda m: m.Barrier(2), lambda o: o.wait("x")),
]


def _raised(build, call, mod):
    try:
        call(build(mod))
    except BaseException as e:  # noqa: B902 - any class counts
        return type(e), str(e)
    return None, ""


@pytest.mark.parametrize("what,build,call", SAME_AS_THREADING,
                         ids=[c[0] for c in SAME_AS_THREADING])
def test_wrong_arguments_raise_what_threading_raises(what, build, call):
    want, _ = _raised(build, call, threading)
    got, msg = _raised(build, call, syncd)
    assert want is not None, "threading accepts " + what
    assert got is not None, "syncd accepts " + what
    # The same class, or a subclass of it (syncd.DeadlockError is a
    # RuntimeError): `except` clauses written for threading still work.
    assert issubclass(got, want), "%s: threading %s, syncd %s: %s" % (
        what, want.__name__, got.__name__, msg)
    assert msg, "an exception without a message"


def test_barrier_action_and_condition_lock_are_checked_at_once():
    # threading would only fail when the action is called (by the last
    # party, in another process for syncd): refuse it up front.
    with pytest.raises(TypeError, match="action must be callable"):
        syncd.Barrier(2, action=5)
    # threading.Barrier takes these and misbehaves later (waits that
    # never meet; a TypeError deep inside wait()).
    with pytest.raises(ValueError, match="parties must be > 0"):
        syncd.Barrier(-1)
    with pytest.raises(TypeError):
        syncd.Barrier("3")
    # threading.Condition(5) fails later, with AttributeError; the issue
    # asks for a clear TypeError.
    with pytest.raises(TypeError, match="syncd.Lock or syncd.RLock"):
        syncd.Condition(5)
    with pytest.raises(TypeError, match="syncd.Lock or syncd.RLock"):
        syncd.Condition(syncd.Semaphore(1))
    with pytest.raises(TypeError, match="name must be str"):
        syncd.Semaphore(1, name=b"bytes")
    # A NUL inside would name another object ("a") in C.
    with pytest.raises(ValueError, match="NUL"):
        syncd.Event("a\0b")
    with pytest.raises(ValueError, match="NUL"):
        syncd.unlink("a\0b")
    with pytest.raises(ValueError, match="1 to 255 bytes"):
        syncd.unlink("")


# Every method and attribute of each class, as it would be used.
def _uses(obj):
    kind = type(obj).__name__
    common = [lambda: repr(obj), lambda: obj.name]
    if kind in ("Lock", "RLock"):
        return common + [lambda: obj.acquire(), lambda: obj.acquire(False),
                         lambda: obj.release(), lambda: obj.__enter__(),
                         lambda: obj.locked() if kind == "Lock" else
                         obj._is_owned()]
    if kind == "Condition":
        return common + [lambda: obj.acquire(), lambda: obj.release(),
                         lambda: obj.wait(0), lambda: obj.notify(),
                         lambda: obj.notify_all(), lambda: obj.__enter__()]
    if kind in ("Semaphore", "BoundedSemaphore"):
        return common + [lambda: obj.acquire(), lambda: obj.acquire(False),
                         lambda: obj.release(), lambda: obj._value]
    if kind == "Event":
        return common + [lambda: obj.set(), lambda: obj.clear(),
                         lambda: obj.is_set(), lambda: obj.wait(0)]
    assert kind == "Barrier"
    return common + [lambda: obj.wait(0), lambda: obj.reset(),
                     lambda: obj.abort(), lambda: obj.n_waiting,
                     lambda: obj.broken]


def _every_kind():
    return [syncd.Lock(), syncd.RLock(), syncd.Condition(), syncd.Semaphore(1),
            syncd.BoundedSemaphore(1), syncd.Event(), syncd.Barrier(2)]


@pytest.mark.parametrize("index", range(7))
def test_every_method_of_a_closed_object_raises_value_error(index):
    obj = _every_kind()[index]
    name = obj.name
    obj.close()
    obj.close()  # closing twice is harmless, as for files
    assert obj.closed
    uses = _uses(obj)
    for use in uses[2:]:
        with pytest.raises(ValueError, match="closed"):
            use()
    # repr and name still work: what it was is known (so do a lock's
    # token and owner_died: the last acquisition's, like a closed file's
    # name and mode).
    assert repr(obj).startswith("<closed syncd.") and obj.name == name
    if hasattr(obj, "token"):
        assert obj.token == 0 and obj.owner_died is False


def _blocked_call(obj):
    kind = type(obj).__name__
    if kind in ("Lock", "RLock", "Semaphore", "BoundedSemaphore"):
        return obj.acquire
    if kind == "Event":
        return obj.wait
    if kind == "Barrier":
        return obj.wait
    assert kind == "Condition"

    def cond_wait():
        with obj:
            obj.wait()
    return cond_wait


def test_a_daemon_killed_under_blocked_calls_of_every_class(monkeypatch):
    """SIGKILL the daemon while a thread is blocked in each class's wait:
    each raises syncd.ConnectionError at once, and so does every later
    call, until a daemon is back on the socket."""
    # Reconnecting off: this program wants the error (reconnecting and
    # reclaiming are tests/integration/test_reclaim.c's).
    monkeypatch.setenv("SYNCD_RECONNECT", "0")
    tmp = tempfile.mkdtemp(prefix="syncd-py-killed-")
    sock = os.path.join(tmp, "s.sock")
    proc = start_private_daemon(sock)
    try:
        syncd.connect(sock)
        holder = syncd.Lock("killed/l")
        holder.acquire()
        rholder = syncd.RLock("killed/r")
        rholder.acquire()
        objs = [syncd.Lock("killed/l"), syncd.RLock("killed/r"),
                syncd.Semaphore(0), syncd.BoundedSemaphore(0),
                syncd.Event(), syncd.Barrier(3), syncd.Condition()]
        results = {}

        def run(obj):
            try:
                _blocked_call(obj)()
                results[type(obj).__name__] = "returned"
            except BaseException as e:  # noqa: B902
                results[type(obj).__name__] = e

        threads = [threading.Thread(target=run, args=(o,), daemon=True)
                   for o in objs]
        for t in threads:
            t.start()
        time.sleep(0.3)  # every thread is blocked in the daemon
        assert not results, results
        proc.kill()
        proc.wait()
        t0 = time.monotonic()
        for t in threads:
            t.join(5)
        assert time.monotonic() - t0 < 2, "a blocked call hung"
        assert not any(t.is_alive() for t in threads)
        for kind, e in results.items():
            assert isinstance(e, syncd.ConnectionError), (kind, e)
            assert getattr(e, "errname", None) in (
                "SYNC_ECONN", "SYNC_ESHUTDOWN"), (kind, e)
        assert len(results) == len(objs)
        # Idle calls and new objects: the same clear error, no hang.
        for obj in objs:
            for use in _uses(obj)[2:]:
                try:
                    use()
                except syncd.ConnectionError:
                    pass
                except (RuntimeError, ValueError, syncd.Error) as e:
                    # Ownership errors answered locally are fine too, but
                    # never another kind of failure.
                    assert not isinstance(e, syncd.ConnectionError)
        with pytest.raises(syncd.ConnectionError):
            syncd.Event("killed/new")
        with pytest.raises(syncd.ConnectionError):
            syncd.Lock()
        assert time.monotonic() - t0 < 4
    finally:
        if proc.poll() is None:
            proc.kill()
        syncd.connect(os.environ["SYNCD_SOCKET"])
    assert syncd.Event("pytest/bad/after").wait(0) is False


def test_a_hold_lost_in_a_restart_is_told_by_owner_lost(monkeypatch):
    """A daemon restarted without its state cannot give a lock back: the
    client reconnects by itself, owner_lost turns True, the release says
    SYNC_ELOST (syncd.Error), and the next acquire works again."""
    monkeypatch.delenv("SYNCD_RECONNECT", raising=False)
    tmp = tempfile.mkdtemp(prefix="syncd-py-lost-")
    sock = os.path.join(tmp, "s.sock")
    proc = start_private_daemon(sock)
    try:
        syncd.connect(sock)
        for lk in (syncd.Lock("lost/l"), syncd.RLock("lost/r")):
            assert lk.acquire()
            assert lk.owner_lost is False
            proc.kill()
            proc.wait()
            proc = start_private_daemon(sock)  # in memory: nothing kept
            deadline = time.monotonic() + 5
            while not lk.owner_lost and time.monotonic() < deadline:
                time.sleep(0.02)
            assert lk.owner_lost is True, type(lk).__name__
            with pytest.raises(syncd.Error) as e:
                lk.release()
            assert e.value.errname == "SYNC_ELOST"
            assert lk.acquire(timeout=5)
            assert lk.owner_lost is False
            lk.release()
    finally:
        if proc.poll() is None:
            proc.kill()
        syncd.connect(os.environ["SYNCD_SOCKET"])
