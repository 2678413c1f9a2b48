"""CPython's own conformance tests for threading's primitives
(Lib/test/lock_tests.py, Debian package libpython3.11-testsuite), run
against syncd's classes the way Lib/test/test_threading.py runs them
against threading's.

Excluded, each for a reason (pytest -rs lists them):
- test_at_fork_reinit (Lock, Event): calls _at_fork_reinit(), a private
  hook CPython's own fork handling calls on its internal locks.  syncd
  handles fork() itself: the child connects anew and holds nothing its
  parent held (tested in test_processes.py).
- ConditionTests.test_acquire: hands a threading.Lock to Condition.  A
  syncd Condition needs a lock the daemon knows; it raises TypeError for a
  threading.Lock, and test_api.py checks that.
"""
import unittest

from test import lock_tests

import syncd

AT_FORK = ("_at_fork_reinit() is a CPython-internal hook; syncd reconnects "
           "after fork() on its own (see test_processes.py)")


class LockTests(lock_tests.LockTests):
    locktype = staticmethod(syncd.Lock)

    @unittest.skip(AT_FORK)
    def test_at_fork_reinit(self):
        pass


class RLockTests(lock_tests.RLockTests):
    locktype = staticmethod(syncd.RLock)


class EventTests(lock_tests.EventTests):
    eventtype = staticmethod(syncd.Event)

    @unittest.skip(AT_FORK)
    def test_at_fork_reinit(self):
        pass


class ConditionAsRLockTests(lock_tests.RLockTests):
    # Condition uses an RLock by default and exports its API.
    locktype = staticmethod(syncd.Condition)


class ConditionTests(lock_tests.ConditionTests):
    condtype = staticmethod(syncd.Condition)

    @unittest.skip("passes a threading.Lock to Condition; syncd.Condition "
                   "takes a syncd Lock/RLock (TypeError otherwise, checked "
                   "in test_api.py)")
    def test_acquire(self):
        pass


class SemaphoreTests(lock_tests.SemaphoreTests):
    semtype = staticmethod(syncd.Semaphore)


class BoundedSemaphoreTests(lock_tests.BoundedSemaphoreTests):
    semtype = staticmethod(syncd.BoundedSemaphore)


class BarrierTests(lock_tests.BarrierTests):
    barriertype = staticmethod(syncd.Barrier)
