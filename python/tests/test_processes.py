"""syncd's objects across real processes: multiprocessing with every start
method, a holder killed with SIGKILL, a bounded buffer, a barrier with an
action, an event released to 50 processes, and Ctrl-C (SIGINT) in a
blocked acquire and Condition.wait."""
import functools
import multiprocessing
import multiprocessing.managers
import os
import signal
import threading
import time

import pytest

import syncd

METHODS = ["fork", "spawn", "forkserver"]


# ---- a named Lock shared by 8 processes ----------------------------------

def _count_under_lock(lock, path, n):
    for _ in range(n):
        with lock:
            with open(path) as f:
                v = int(f.read())
            with open(path, "w") as f:
                f.write(str(v + 1))


def _hold_forever(lock, held):
    lock.acquire()
    held.set()
    time.sleep(60)


def _next_holder(lock):
    # Exit status 0 only when this acquisition learns its predecessor died.
    if not lock.acquire(timeout=10):
        os._exit(2)
    died = lock.owner_died
    lock.release()
    os._exit(0 if died else 3)


@pytest.mark.parametrize("method", METHODS)
def test_named_lock_eight_processes_and_a_killed_holder(method, tmp_path):
    ctx = multiprocessing.get_context(method)
    lock = syncd.Lock("pytest/eight/" + method)
    path = tmp_path / "counter"
    path.write_text("0")
    procs = [ctx.Process(target=_count_under_lock, args=(lock, str(path), 25))
             for _ in range(8)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    # 200 read-modify-write cycles, none lost: they never overlapped.
    assert path.read_text() == "200"

    held = syncd.Event()
    victim = ctx.Process(target=_hold_forever, args=(lock, held))
    victim.start()
    assert held.wait(30)
    assert lock.locked()
    nxt = ctx.Process(target=_next_holder, args=(lock,))
    nxt.start()
    time.sleep(0.2)  # the next holder queues behind the victim
    os.kill(victim.pid, signal.SIGKILL)
    victim.join(10)
    nxt.join(30)
    assert nxt.exitcode == 0, "the next holder did not see owner_died"
    assert not lock.locked()


# ---- a Pool's initializer ---------------------------------------------------

_pool_lock = None


def _pool_init(lock):
    global _pool_lock
    _pool_lock = lock


def _pool_task(i):
    with _pool_lock:
        return (i, _pool_lock.name, _pool_lock.token > 0)


@pytest.mark.parametrize("method", METHODS)
def test_lock_through_a_pool_initializer(method):
    ctx = multiprocessing.get_context(method)
    lock = syncd.Lock()  # anonymous: shared by its generated name
    with ctx.Pool(2, initializer=_pool_init, initargs=(lock,)) as pool:
        got = pool.map(_pool_task, range(6))
    assert got == [(i, lock.name, True) for i in range(6)]


# ---- fork(): the child holds nothing its parent held -----------------------

def test_fork_child_holds_nothing_its_parent_held():
    lock = syncd.Lock()
    rlock = syncd.RLock()
    assert lock.acquire() and rlock.acquire()
    pid = os.fork()
    if pid == 0:
        ok = (lock.locked() and not lock.acquire(False)
              and not rlock._is_owned() and not rlock.acquire(False))
        try:
            lock.release()
            ok = False
        except RuntimeError:
            pass
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert lock.locked() and rlock._is_owned()
    lock.release()
    rlock.release()


# ---- a bounded buffer with a Condition --------------------------------------

CAP = 4
N_ITEMS = 200


def _producer(cv, buf):
    for i in range(1, N_ITEMS + 1):
        with cv:
            cv.wait_for(lambda: buf[2] < CAP)
            buf[3 + buf[1]] = i
            buf[1] = (buf[1] + 1) % CAP
            buf[2] += 1
            cv.notify_all()


def _consumer(cv, buf):
    got = []
    for _ in range(N_ITEMS):
        with cv:
            cv.wait_for(lambda: buf[2] > 0)
            got.append(buf[3 + buf[0]])
            buf[0] = (buf[0] + 1) % CAP
            buf[2] -= 1
            cv.notify_all()
    os._exit(0 if got == list(range(1, N_ITEMS + 1)) else 1)


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_bounded_buffer_producer_and_consumer(method):
    ctx = multiprocessing.get_context(method)
    cv = syncd.Condition(syncd.Lock())
    buf = ctx.RawArray("i", 3 + CAP)  # head, tail, count, items
    cons = ctx.Process(target=_consumer, args=(cv, buf))
    prod = ctx.Process(target=_producer, args=(cv, buf))
    cons.start()
    prod.start()
    prod.join(60)
    cons.join(60)
    assert (prod.exitcode, cons.exitcode) == (0, 0)
    assert buf[2] == 0


# ---- a Barrier of processes with an action ----------------------------------

def _append_line(path):
    with open(path, "a") as f:
        f.write("%d\n" % os.getpid())


def _party(barrier, path, rounds):
    for r in range(rounds):
        barrier.wait(30)
        # The action ran exactly once per wait, before anyone left it
        # (every wait of this barrier runs it; two waits per round).
        with open(path) as f:
            if len(f.readlines()) != 2 * r + 1:
                os._exit(1)
        barrier.wait(30)  # nobody starts the next wait's action early


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_barrier_of_processes_with_an_action(method, tmp_path):
    ctx = multiprocessing.get_context(method)
    path = tmp_path / "actions"
    path.write_text("")
    # The action is pickled with the barrier (by reference).
    barrier = syncd.Barrier(4, action=functools.partial(_append_line, str(path)))
    procs = [ctx.Process(target=_party, args=(barrier, str(path), 3))
             for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0] * 4
    # Six waits, six actions.
    assert len(path.read_text().splitlines()) == 6
    assert not barrier.broken


def _raise_value_error():
    raise ValueError("action failed")


def _party_of_failing_round(barrier):
    try:
        barrier.wait(30)
    except ValueError:
        os._exit(10)  # this process ran the action, which raised
    except threading.BrokenBarrierError:
        os._exit(11)
    os._exit(0)


def test_barrier_action_raising_in_one_process_breaks_it_for_the_others():
    ctx = multiprocessing.get_context("fork")
    barrier = syncd.Barrier(3, action=_raise_value_error)
    procs = [ctx.Process(target=_party_of_failing_round, args=(barrier,))
             for _ in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    # Exactly one process was asked to run the action and got its
    # exception; the other two got BrokenBarrierError.
    assert sorted(p.exitcode for p in procs) == [10, 11, 11]
    assert barrier.broken


def _record_pid(path):
    with open(path, "a") as f:
        f.write("%d\n" % os.getpid())


def _party_without_action(name, parties):
    b = syncd.Barrier(parties, name=name)
    os._exit(0 if b.wait(30) in range(parties) else 1)


def test_barrier_action_runs_in_the_process_that_has_one(tmp_path):
    """A party without an action is never asked to run it: the round's
    action runs in the one process that passed it."""
    ctx = multiprocessing.get_context("fork")
    path = tmp_path / "pids"
    path.write_text("")
    barrier = syncd.Barrier(3, action=functools.partial(_record_pid, str(path)))
    others = [ctx.Process(target=_party_without_action,
                          args=(barrier.name, 3)) for _ in range(2)]
    for p in others:
        p.start()
    index = barrier.wait(30)
    for p in others:
        p.join(60)
    assert [p.exitcode for p in others] == [0, 0]
    assert 0 <= index < 3
    assert path.read_text().split() == [str(os.getpid())]


# ---- an Event released to 50 processes --------------------------------------

def _await_event(ev, ready):
    ready.release()
    os._exit(0 if ev.wait(30) else 1)


def test_event_released_to_fifty_processes():
    ctx = multiprocessing.get_context("fork")
    ev = syncd.Event()
    ready = syncd.Semaphore(0)
    procs = [ctx.Process(target=_await_event, args=(ev, ready))
             for _ in range(50)]
    for p in procs:
        p.start()
    for _ in procs:
        assert ready.acquire(timeout=30)
    time.sleep(0.1)  # let the last ones reach wait()
    t0 = time.monotonic()
    ev.set()
    for p in procs:
        p.join(30)
    assert [p.exitcode for p in procs] == [0] * 50
    assert time.monotonic() - t0 < 10


# ---- Ctrl-C -------------------------------------------------------------

def _blocked(kind, obj, report):
    try:
        if kind == "acquire":
            report.put(("ready", 0.0))
            obj.acquire()
            report.put(("acquired", 0.0))
        else:
            with obj:
                report.put(("ready", 0.0))
                obj.wait()
            report.put(("woke", 0.0))
    except KeyboardInterrupt:
        report.put(("KeyboardInterrupt", time.monotonic()))
        report.put(("held after", float(kind == "acquire" and obj.locked()
                                        and not obj.acquire(False))))
        time.sleep(0.5)  # still alive: the lock is free anyway


@pytest.mark.parametrize("kind", ["acquire", "condition_wait"])
def test_sigint_interrupts_a_blocked_call_within_100ms(kind):
    ctx = multiprocessing.get_context("fork")
    if kind == "acquire":
        obj = syncd.Lock()
        assert obj.acquire()  # the child waits behind us
    else:
        obj = syncd.Condition()
    report = ctx.Queue()
    p = ctx.Process(target=_blocked, args=(kind, obj, report))
    p.start()
    assert report.get(timeout=30)[0] == "ready"
    time.sleep(0.3)  # in the daemon's queue by now
    sent = time.monotonic()
    os.kill(p.pid, signal.SIGINT)
    what, when = report.get(timeout=5)
    assert what == "KeyboardInterrupt"
    assert when - sent < 0.1, "KeyboardInterrupt after %.1f ms" % (
        (when - sent) * 1000)
    report.get(timeout=5)
    if kind == "acquire":
        obj.release()
    # Free for others at once, while the interrupted process still lives:
    # the daemon never granted it the abandoned wait.
    assert p.is_alive()
    assert obj.acquire(False)
    obj.release()
    p.join(10)
    assert p.exitcode == 0


# ---- syncd.Manager(): multiprocessing.Manager()'s names ---------------------

def _manager_worker(lock, ev, sem, counter_path):
    ev.wait(30)
    with sem:
        with lock:
            with open(counter_path, "a") as f:
                f.write("x")


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_manager_shortcut_has_managers_names_and_works_across_processes(
        method, tmp_path):
    ctx = multiprocessing.get_context(method)
    names = ["Lock", "RLock", "Semaphore", "BoundedSemaphore", "Event",
             "Condition", "Barrier"]
    # The same methods as multiprocessing's SyncManager.
    assert all(hasattr(multiprocessing.managers.SyncManager, n)
               for n in names)
    path = tmp_path / "count"
    path.write_text("")
    with syncd.Manager() as m:
        lock, ev, sem = m.Lock(), m.Event(), m.Semaphore(2)
        assert type(lock) is syncd.Lock and lock.anonymous
        assert type(m.RLock()) is syncd.RLock
        assert type(m.BoundedSemaphore()) is syncd.BoundedSemaphore
        assert type(m.Condition(lock)).__name__ == "Condition"
        assert m.Barrier(2, timeout=5).parties == 2
        procs = [ctx.Process(target=_manager_worker,
                             args=(lock, ev, sem, str(path)))
                 for _ in range(4)]
        for p in procs:
            p.start()
        ev.set()
        for p in procs:
            p.join(60)
        assert [p.exitcode for p in procs] == [0] * 4
        assert path.read_text() == "xxxx"
    # shutdown() closed what it made, as SyncManager's ends its proxies.
    assert lock.closed and ev.closed
    with pytest.raises(ValueError, match="closed"):
        lock.acquire()
    with pytest.raises(ValueError, match="shut down"):
        m.Lock()


# ---- a semaphore with undo: a killed holder's permits come back -----------

def _take_permits(sem, n, held):
    for _ in range(n):
        sem.acquire()
    held.set()
    time.sleep(60)


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_undo_semaphore_gives_a_killed_holders_permits_back(method):
    ctx = multiprocessing.get_context(method)
    gpus = syncd.BoundedSemaphore(4, name="pytest/gpus/" + method, undo=True)
    plain = syncd.BoundedSemaphore(1, name="pytest/plain/" + method)
    assert gpus.undo and not plain.undo
    held = syncd.Event()
    # Pickled to the child (spawn): it opens the same semaphore with undo.
    victim = ctx.Process(target=_take_permits, args=(gpus, 3, held))
    victim.start()
    assert held.wait(30)
    assert gpus._value == 1
    os.kill(victim.pid, signal.SIGKILL)
    victim.join(10)
    # The daemon gave the 3 back when the process's connection ended.
    deadline = time.monotonic() + 5
    while gpus._value != 4 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert gpus._value == 4
    for _ in range(4):
        assert gpus.acquire(timeout=1)
    gpus.release(4)

    # Without undo a killed holder's permit stays taken, as in threading.
    held = syncd.Event()
    victim = ctx.Process(target=_take_permits, args=(plain, 1, held))
    victim.start()
    assert held.wait(30)
    os.kill(victim.pid, signal.SIGKILL)
    victim.join(10)
    time.sleep(0.2)
    assert not plain.acquire(timeout=0.1)
    plain.release()


def test_undo_semaphore_release_and_repr():
    s = syncd.Semaphore(2, undo=True)
    assert s.acquire() and s.acquire()
    s.release()
    s.release()
    s.release()  # beyond its own permits: a plain release, as threading's
    assert s._value == 3
    with pytest.raises(TypeError):
        syncd.Semaphore(1, None, True)  # name and undo are keyword-only
