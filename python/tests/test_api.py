"""syncd's Python API beyond CPython's lock_tests: threading's argument
rules, exceptions, names, pickling, attributes, and bad input (wrong
types, a closed object, a daemon that went away) as clear exceptions."""
import gc
import os
import pickle
import tempfile
import threading
import time

import pytest

import syncd
from conftest import start_private_daemon


def test_exceptions_are_threadings_and_runtime_errors():
    assert syncd.BrokenBarrierError is threading.BrokenBarrierError
    assert issubclass(syncd.DeadlockError, RuntimeError)
    assert issubclass(syncd.DeadlockError, syncd.Error)
    assert issubclass(syncd.ConnectionError, ConnectionError)
    assert syncd.TIMEOUT_MAX == threading.TIMEOUT_MAX


def test_condition_takes_only_a_syncd_lock():
    with pytest.raises(TypeError, match="syncd.Lock or syncd.RLock"):
        syncd.Condition(threading.Lock())
    with pytest.raises(TypeError):
        syncd.Condition("a name is not a lock")
    lock = syncd.Lock()
    cond = syncd.Condition(lock)
    with cond:
        assert lock.locked() and not lock.acquire(False)
    assert not lock.locked()


def test_lock_timeout_rules_are_cpythons():
    lock = syncd.Lock()
    with pytest.raises(ValueError, match="non-blocking"):
        lock.acquire(False, 1)
    with pytest.raises(ValueError, match="non-negative"):
        lock.acquire(timeout=-2)
    with pytest.raises(OverflowError):
        lock.acquire(timeout=threading.TIMEOUT_MAX * 2)
    with pytest.raises(TypeError):
        lock.acquire(timeout="1")
    with pytest.raises(TypeError):
        lock.acquire(bogus=1)
    assert lock.acquire(timeout=0)
    t0 = time.monotonic()
    assert lock.acquire(True, 0.05) is False
    assert time.monotonic() - t0 >= 0.045
    lock.release()
    with pytest.raises(RuntimeError, match="release unlocked lock"):
        lock.release()


def test_waits_with_timeout_at_or_below_zero_do_not_block():
    ev, sem = syncd.Event(), syncd.Semaphore(0)
    cond, bar = syncd.Condition(), syncd.Barrier(2)
    t0 = time.monotonic()
    assert ev.wait(0) is False and ev.wait(-5) is False
    assert sem.acquire(timeout=0) is False and sem.acquire(timeout=-1) is False
    with cond:
        assert cond.wait(0) is False and cond.wait(-1) is False
    with pytest.raises(threading.BrokenBarrierError):
        bar.wait(0)
    assert bar.broken
    assert time.monotonic() - t0 < 0.5
    with pytest.raises(ValueError, match="non-blocking"):
        sem.acquire(False, 1)
    with pytest.raises(OverflowError):
        ev.wait(threading.TIMEOUT_MAX * 2)


def test_semaphores_values_and_bounds():
    with pytest.raises(ValueError):
        syncd.Semaphore(-1)
    with pytest.raises(ValueError):
        syncd.Semaphore(2 ** 40)
    sem = syncd.BoundedSemaphore(2)
    assert isinstance(sem, syncd.Semaphore)
    with pytest.raises(ValueError, match="n must be one or more"):
        sem.release(0)
    with pytest.raises(ValueError, match="released too many times"):
        sem.release()
    assert sem.acquire() and sem.acquire() and not sem.acquire(False)
    sem.release(2)
    assert sem._value == 2


def test_rlock_and_condition_ownership_is_per_thread():
    r = syncd.RLock()
    with r:
        errors = []

        def other():
            try:
                r.release()
            except RuntimeError as e:
                errors.append(str(e))
        t = threading.Thread(target=other)
        t.start()
        t.join()
        assert errors == ["cannot release un-acquired lock"]
        assert r._recursion_count() == 1
    cond = syncd.Condition()
    with pytest.raises(RuntimeError, match="un-acquired"):
        cond.notify()
    with pytest.raises(RuntimeError, match="un-acquired"):
        cond.wait(0.01)


def test_is_owned_of_a_condition_on_a_lock_is_one_query():
    # threading's rule for a plain Lock (held by anyone), answered by the
    # daemon: it takes nothing, so no fencing token is spent.
    lock = syncd.Lock()
    cond = syncd.Condition(lock)
    lock.acquire()
    first = lock.token
    lock.release()
    assert [cond._is_owned() for _ in range(5)] == [False] * 5
    with lock:
        assert cond._is_owned()
        assert lock.token == first + 1


def test_wait_for_returns_the_predicates_value():
    cond = syncd.Condition()
    with cond:
        assert cond.wait_for(lambda: 42) == 42
        assert cond.wait_for(lambda: 0, timeout=0.05) == 0


def test_barrier_action_that_raises_breaks_the_barrier():
    def action():
        raise ZeroDivisionError
    b = syncd.Barrier(2, action=action)
    results = []

    def party():
        try:
            b.wait(10)
            results.append("passed")
        except threading.BrokenBarrierError:
            results.append("broken")
        except ZeroDivisionError:
            results.append("action raised")
    ts = [threading.Thread(target=party) for _ in range(2)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert sorted(results) == ["action raised", "broken"]
    assert b.broken
    b.reset()
    assert not b.broken


def test_deadlock_between_two_threads_is_an_error():
    x, y = syncd.RLock(), syncd.RLock()
    x_held, y_held = threading.Event(), threading.Event()
    out = []

    def first():
        with x:
            x_held.set()
            y_held.wait()
            try:
                out.append(y.acquire(timeout=5))
                y.release()
            except syncd.DeadlockError:
                out.append("deadlock")

    t = threading.Thread(target=first)
    t.start()
    with y:
        y_held.set()
        x_held.wait()
        time.sleep(0.2)  # first() waits for y now
        try:
            got = x.acquire(timeout=5)
            x.release()
        except syncd.DeadlockError as e:
            got = "deadlock"
            assert e.errname == "SYNC_EDEADLK"
    t.join()
    assert "deadlock" in out + [got]


def test_names_pickling_and_attributes():
    lock = syncd.Lock("pytest/api/named")
    assert lock.name == "pytest/api/named" and not lock.anonymous
    anon = syncd.Lock()
    assert anon.anonymous and anon.name.startswith("anon/")
    twin = pickle.loads(pickle.dumps(lock))
    assert type(twin) is syncd.Lock and twin.name == lock.name
    # The same lock: this process's second acquire waits like anyone else's.
    assert lock.acquire() and not twin.acquire(False)
    assert lock.token > 0 and lock.owner_died is False
    assert "locked syncd.Lock object name='pytest/api/named'" in repr(lock)
    twin.release()  # a Lock belongs to the process, as in threading
    assert not lock.locked()
    for obj in (syncd.RLock(), syncd.Semaphore(3), syncd.BoundedSemaphore(2),
                syncd.Event(), syncd.Condition(syncd.RLock()),
                syncd.Barrier(3, timeout=1.5)):
        copy = pickle.loads(pickle.dumps(obj))
        assert type(copy) is type(obj) and copy.name == obj.name


def test_bad_input_raises_clear_exceptions():
    with pytest.raises(TypeError, match="name must be str"):
        syncd.Lock(5)
    with pytest.raises(ValueError, match="1 to 255 bytes"):
        syncd.Lock("")
    with pytest.raises(ValueError, match="1 to 255 bytes"):
        syncd.Event("x" * 256)
    with pytest.raises(ValueError, match="parties must be > 0"):
        syncd.Barrier(0)
    syncd.Lock("pytest/api/typed")
    with pytest.raises(syncd.Error) as e:
        syncd.RLock("pytest/api/typed")
    assert e.value.errname == "SYNC_ETYPE" and "pytest/api/typed" in str(e.value)
    ev = syncd.Event()
    ev.close()
    assert ev.closed
    with pytest.raises(ValueError, match="closed"):
        ev.set()


def test_a_daemon_that_went_away_is_a_connection_error(monkeypatch):
    # A program that wants the error turns reconnecting off.
    monkeypatch.setenv("SYNCD_RECONNECT", "0")
    tmp = tempfile.mkdtemp(prefix="syncd-py-gone-")
    sock = os.path.join(tmp, "s.sock")
    proc = start_private_daemon(sock)
    try:
        syncd.connect(sock)
        assert syncd.socket_path() == sock
        lock = syncd.Lock("gone")
        assert lock.acquire()
        proc.kill()
        proc.wait()
        t0 = time.monotonic()
        with pytest.raises(syncd.ConnectionError) as e:
            lock.release()
        assert e.value.errname in ("SYNC_ECONN", "SYNC_ESHUTDOWN")
        with pytest.raises(syncd.ConnectionError):
            lock.acquire()
        assert time.monotonic() - t0 < 2
        with pytest.raises(syncd.ConnectionError, match="cannot connect"):
            syncd.connect(sock)
        # A daemon back on that socket: the same objects work again (the
        # connection and what it held were lost with the old daemon).
        os.unlink(sock)
        proc = start_private_daemon(sock)
        assert lock.acquire(False) and lock.locked()
        lock.release()
    finally:
        if proc.poll() is None:
            proc.kill()
        syncd.connect(os.environ["SYNCD_SOCKET"])
    # Objects re-open by name on the new connection.
    assert syncd.Lock("pytest/api/after").acquire(False)


def test_an_anonymous_object_goes_with_its_last_handle():
    lock = syncd.Lock()
    name = lock.name
    twin = pickle.loads(pickle.dumps(lock))  # a second handle, by name
    del lock
    gc.collect()
    with pytest.raises(syncd.Error) as e:  # the Lock is still there
        syncd.RLock(name)
    assert e.value.errname == "SYNC_ETYPE"
    del twin
    gc.collect()
    assert syncd.RLock(name).acquire()  # the name was free again
    syncd.unlink(name)


def test_unlink_of_a_missing_name_names_it():
    with pytest.raises(syncd.Error) as e:
        syncd.unlink("pytest/api/never-made")
    assert e.value.errname == "SYNC_ENOENT"
    assert "'pytest/api/never-made'" in str(e.value), str(e.value)


@pytest.mark.parametrize("cls, args, methods", [
    ("Semaphore", (2,), ("acquire", "release")),
    ("BoundedSemaphore", (2,), ("acquire", "release")),
    ("Event", (), ("wait", "set", "clear", "is_set")),
    ("Condition", (), ("wait", "wait_for", "notify", "notify_all")),
    ("Barrier", (2,), ("wait", "reset", "abort")),
])
def test_signatures_are_threadings(cls, args, methods):
    """inspect.signature() of each method is threading's (tools and IDEs
    read it); Lock/RLock's own have none in CPython to compare with."""
    import inspect
    mine, theirs = getattr(syncd, cls)(*args), getattr(threading, cls)(*args)
    for m in methods:
        assert (inspect.signature(getattr(mine, m)) ==
                inspect.signature(getattr(theirs, m))), (cls, m)


def _repr_shape(text):
    """A repr with the varying parts (addresses, idents, names) blanked."""
    import re
    text = re.sub(r" at 0x[0-9a-f]+", " at ADDR", text)
    text = re.sub(r"owner=[1-9][0-9]*", "owner=IDENT", text)
    text = re.sub(r" name='[^']*'", "", text)
    return text.replace("_thread.lock", "syncd.Lock").replace(
        "_thread.RLock", "syncd.RLock").replace("threading.", "syncd.")


def test_reprs_have_threadings_shape_and_state():
    """repr() as CPython's, with syncd's name added: the same state words,
    RLock's owner=/count=, Condition's (lock, waiters)."""
    for make in (lambda m: m.Lock(), lambda m: m.RLock(),
                 lambda m: m.Semaphore(2), lambda m: m.BoundedSemaphore(2),
                 lambda m: m.Event(), lambda m: m.Condition(),
                 lambda m: m.Barrier(2)):
        ours, theirs = make(syncd), make(threading)
        assert _repr_shape(repr(ours)) == _repr_shape(repr(theirs))
        if hasattr(theirs, "acquire"):
            ours.acquire()
            theirs.acquire()
            assert _repr_shape(repr(ours)) == _repr_shape(repr(theirs))
            ours.release()
            theirs.release()
    rlock = syncd.RLock()
    with rlock, rlock:
        assert "owner=%d count=2" % threading.get_ident() in repr(rlock)
    # Condition: its waiters are counted, as threading's len(_waiters).
    cond = syncd.Condition(syncd.Lock())
    started = threading.Barrier(3)

    def waiter():
        started.wait()
        with cond:
            cond.wait(5)
    threads = [threading.Thread(target=waiter) for _ in range(2)]
    for t in threads:
        t.start()
    started.wait()
    deadline = time.monotonic() + 5
    while repr(cond).endswith(", 0)>") or repr(cond).endswith(", 1)>"):
        assert time.monotonic() < deadline, repr(cond)
        time.sleep(0.01)
    assert repr(cond).endswith(", 2)>")
    with cond:
        cond.notify_all()
    for t in threads:
        t.join()
    assert repr(cond).endswith(", 0)>")


def test_barrier_n_waiting_during_the_action_is_threadings():
    """While the action runs, n_waiting counts every party of the round,
    the one running it too, as threading's does."""
    seen = {}
    for mod in (threading, syncd):
        go = threading.Event()
        barrier = mod.Barrier(2, action=lambda: go.wait(5))
        threads = [threading.Thread(target=barrier.wait) for _ in range(2)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 5
        while barrier.n_waiting < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.1)
        seen[mod.__name__] = barrier.n_waiting
        go.set()
        for t in threads:
            t.join()
        seen[mod.__name__ + " after"] = barrier.n_waiting
    assert seen == {"threading": 2, "threading after": 0,
                    "syncd": 2, "syncd after": 0}
