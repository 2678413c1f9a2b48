"""syncd: threading's Lock, RLock, Condition, Semaphore, BoundedSemaphore,
Event and Barrier, shared between processes through the syncd daemon.

Change ``import threading`` to ``import syncd`` and the same code works
across processes::

    import syncd
    lock = syncd.Lock("deploy")      # opens (or creates) the named lock
    with lock:
        ...                          # one process at a time, machine-wide

Every class takes an optional ``name``; without one the object is
anonymous (a generated name, which the daemon removes when the last handle
anywhere closes) and is shared by passing it to other processes (it
pickles by name).  Blocking
calls release the GIL.  The daemon is found like the C library finds it:
``syncd.connect(path)``, else ``$SYNCD_SOCKET``, else the default path.
``syncd.Manager()`` has ``multiprocessing.Manager()``'s Lock, RLock,
Semaphore, BoundedSemaphore, Event, Condition and Barrier methods.
"""

import os as _os
import threading as _threading
import time as _time
import weakref as _weakref

from . import _syncd
from ._syncd import (ConnectionError, DeadlockError, Error, connect,
                     socket_path, unlink)

__all__ = ["Lock", "RLock", "Condition", "Semaphore", "BoundedSemaphore",
           "Event", "Barrier", "Manager", "BrokenBarrierError", "TIMEOUT_MAX",
           "Error", "DeadlockError", "ConnectionError", "connect",
           "socket_path", "unlink"]

#: The very class threading raises, so ``except threading.BrokenBarrierError``
#: catches syncd's too.
BrokenBarrierError = _threading.BrokenBarrierError
TIMEOUT_MAX = _threading.TIMEOUT_MAX

for _e in (Error, DeadlockError, ConnectionError):
    _e.__module__ = "syncd"
del _e


def _rebuild(cls, args, kwargs):
    return cls(*args, **kwargs)


def _where(obj):
    return "name=%r" % obj.name


def _safe_repr(state_repr):
    """A repr that never raises: a closed object says so, and one whose
    state cannot be read (the daemon went away) names the error."""
    def __repr__(self):
        if self.closed:
            return "<closed %s.%s object %s at %#x>" % (
                type(self).__module__, type(self).__qualname__,
                _where(self), id(self))
        try:
            return state_repr(self)
        except (Error, ConnectionError) as e:
            return "<%s.%s object %s at %#x (state unknown: %s)>" % (
                type(self).__module__, type(self).__qualname__,
                _where(self), id(self), getattr(e, "errname", e))
    __repr__.__doc__ = state_repr.__doc__
    return __repr__


class Lock(_syncd.Lock):
    """threading.Lock across processes: Lock(name=None).

    Owned by the process: any of its threads may release it.  ``token`` is
    the fencing token and ``owner_died`` tells whether the previous holder
    died holding it, both for this handle's last acquisition; ``owner_lost``
    whether that hold was lost in a daemon restart (its release then raises
    syncd.Error SYNC_ELOST).
    """
    __slots__ = ()

    def __reduce__(self):
        return _rebuild, (type(self), (self.name,), {})

    @_safe_repr
    def __repr__(self):
        state = "locked" if self.locked() else "unlocked"
        return "<%s %s.%s object %s at %#x>" % (
            state, type(self).__module__, type(self).__qualname__,
            _where(self), id(self))


def _rlock_repr(obj, qualname):
    # threading's "owner=IDENT count=N", seen from the calling thread: its
    # own ident and levels when it holds the lock, else owner=0 count=0
    # (a holder in another thread or process has no ident here).
    count = obj._recursion_count()
    return "<%s %s.%s object %s owner=%d count=%d at %#x>" % (
        "locked" if count or obj.locked() else "unlocked", obj.__module__,
        qualname, _where(obj), _threading.get_ident() if count else 0, count,
        id(obj))


class RLock(_syncd.RLock):
    """threading.RLock across processes: RLock(name=None).

    Owned by one thread of one process, which may re-acquire it and must
    release it as often.
    """
    __slots__ = ()

    def __reduce__(self):
        return _rebuild, (type(self), (self.name,), {})

    @_safe_repr
    def __repr__(self):
        return _rlock_repr(self, type(self).__qualname__)


class Condition(_syncd.Condition):
    """threading.Condition across processes: Condition(lock=None, *, name=None).

    ``lock`` must be a syncd Lock or RLock (the condition then acquires
    through it); without one the condition has its own RLock.
    """
    __slots__ = ()

    def __reduce__(self):
        return _rebuild, (type(self), (self.lock,), {"name": self.name})

    @_safe_repr
    def __repr__(self):
        inner = repr(self.lock) if self.lock is not None else _rlock_repr(
            self, "RLock")
        return "<%s(%s, %d)>" % (type(self).__name__, inner,
                                 self._n_waiting())

    def wait_for(self, predicate, timeout=None):
        """Wait until predicate() is true; return its last value
        (threading's algorithm: the predicate runs with the lock held)."""
        endtime = None
        waittime = timeout
        result = predicate()
        while not result:
            if waittime is not None:
                if endtime is None:
                    endtime = _time.monotonic() + waittime
                else:
                    waittime = endtime - _time.monotonic()
                    if waittime <= 0:
                        break
            self.wait(waittime)
            result = predicate()
        return result


class Semaphore(_syncd.Semaphore):
    """threading.Semaphore across processes:
    Semaphore(value=1, *, name=None, undo=False).

    With ``undo=True`` the daemon gives back the permits this process
    acquired through this object and did not release when the process
    dies or closes it (System V's SEM_UNDO; ``SYNC_SEM_UNDO`` in C): a
    crashed worker does not keep its permit.  Releases through it count
    down its permits first; a release beyond them is a plain release, as
    ``threading`` allows.  Leave it off when one process acquires and
    another releases (a handoff): the acquirer's death would give the
    permit back a second time."""
    __slots__ = ()

    def __reduce__(self):
        return _rebuild, (type(self), (self._initial_value,),
                          {"name": self.name, "undo": self.undo})

    @_safe_repr
    def __repr__(self):
        return "<%s.%s at %#x %s: value=%d>" % (
            type(self).__module__, type(self).__qualname__, id(self),
            _where(self), self._value)


class BoundedSemaphore(_syncd.BoundedSemaphore, Semaphore):
    """threading.BoundedSemaphore across processes."""
    __slots__ = ()

    @_safe_repr
    def __repr__(self):
        return "<%s.%s at %#x %s: value=%d/%d>" % (
            type(self).__module__, type(self).__qualname__, id(self),
            _where(self), self._value, self._initial_value)


class Event(_syncd.Event):
    """threading.Event across processes: Event(name=None)."""
    __slots__ = ()

    def __reduce__(self):
        return _rebuild, (type(self), (self.name,), {})

    @_safe_repr
    def __repr__(self):
        return "<%s.%s at %#x %s: %s>" % (
            type(self).__module__, type(self).__qualname__, id(self),
            _where(self), "set" if self.is_set() else "unset")


class Barrier(_syncd.Barrier):
    """threading.Barrier across processes:
    Barrier(parties, action=None, timeout=None, *, name=None).

    When a round is full the daemon asks exactly one party that has an
    ``action`` to run it (the last to arrive if it has one, as in
    threading; else the latest that has one), in that party's process,
    while every other party waits; if it raises, the barrier breaks: that
    party gets the exception, the others BrokenBarrierError.  So does the
    acting process dying, or another party's timeout passing meanwhile.
    Processes that pass no action are never asked (a pickled Barrier
    carries its action, by reference).
    """
    __slots__ = ("_action", "_timeout")

    def __init__(self, parties, action=None, timeout=None, *, name=None):
        if action is not None and not callable(action):
            raise TypeError("action must be callable, not %s"
                            % type(action).__name__)
        super().__init__(parties, name=name)
        self._action = action
        self._timeout = timeout

    def __reduce__(self):
        return _rebuild, (type(self), (self.parties, self._action,
                                       self._timeout), {"name": self.name})

    @_safe_repr
    def __repr__(self):
        if self.broken:
            state = "broken"
        else:
            state = "waiters=%d/%d" % (self.n_waiting, self.parties)
        return "<%s.%s at %#x %s: %s>" % (
            type(self).__module__, type(self).__qualname__, id(self),
            _where(self), state)

    def wait(self, timeout=None):
        """Wait for every party; return this party's arrival index
        (0 .. parties-1).  BrokenBarrierError when the barrier is or
        becomes broken (also when timeout passes)."""
        if timeout is None:
            timeout = self._timeout
        return self._wait(timeout, self._action)


class Manager:
    """multiprocessing.Manager()'s synchronization methods, by the same
    names, returning syncd's anonymous objects: ``m.Lock()``, ``m.RLock()``,
    ``m.Semaphore(value=1)``, ``m.BoundedSemaphore(value=1)``,
    ``m.Event()``, ``m.Condition(lock=None)``, ``m.Barrier(parties,
    action=None, timeout=None)``.  There is no server process to start:
    the daemon is the server.  ``shutdown()`` (also on leaving a ``with``
    block) closes every object this manager made, as a SyncManager's
    shutdown ends its proxies; other processes' handles (pickled copies)
    keep theirs.  Manager's other types (dict, list, Queue, Value, ...)
    are not syncd's.
    """

    def __init__(self):
        self._made = _weakref.WeakSet()
        self._shut = False

    def _make(self, cls, *args, **kwargs):
        if self._shut:
            raise ValueError("the syncd.Manager was shut down")
        obj = cls(*args, **kwargs)
        self._made.add(obj)
        return obj

    def Lock(self):
        return self._make(Lock)

    def RLock(self):
        return self._make(RLock)

    def Semaphore(self, value=1):
        return self._make(Semaphore, value)

    def BoundedSemaphore(self, value=1):
        return self._make(BoundedSemaphore, value)

    def Event(self):
        return self._make(Event)

    def Condition(self, lock=None):
        return self._make(Condition, lock)

    def Barrier(self, parties, action=None, timeout=None):
        return self._make(Barrier, parties, action, timeout)

    def start(self, initializer=None, initargs=()):
        """A SyncManager's start(): nothing to start; runs initializer."""
        if initializer is not None:
            initializer(*initargs)

    def join(self, timeout=None):
        """Nothing to wait for (no server process)."""

    def shutdown(self):
        """Close every object this manager made (idempotent)."""
        self._shut = True
        for obj in list(self._made):
            obj.close()
        self._made.clear()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.shutdown()

    def __repr__(self):
        return "<syncd.Manager %s, %d object(s)>" % (
            "shut down" if self._shut else "open", len(self._made))


_os.register_at_fork(after_in_child=_syncd._after_fork)
