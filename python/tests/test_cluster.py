"""syncd's objects on cluster/ names from Python, through two syncd
agents ("hosts") sharing one 3-member etcd: a Barrier with an action
whose processes are spread over both agents.

Run beside etcd: CTest starts this file through
tests/cluster/etcd_cluster.sh, which sets $SYNCD_ETCD_URLS; without it
every test here is skipped."""
import functools
import multiprocessing
import os
import signal
import subprocess
import tempfile
import time

import pytest

import syncd
from conftest import _daemon_path, wait_listening
from test_processes import _party_of_failing_round, _raise_value_error

URLS = os.environ.get("SYNCD_ETCD_URLS")
pytestmark = pytest.mark.skipif(
    not URLS, reason="SYNCD_ETCD_URLS is not set: run through "
    "tests/cluster/etcd_cluster.sh (CTest does)")


@pytest.fixture(scope="module")
def agents():
    """Two agents with --cluster, each on its own socket."""
    tmp = tempfile.mkdtemp(prefix="syncd-pycluster-")
    socks, procs = [], []
    for i in range(2):
        sock = os.path.join(tmp, "agent%d.sock" % i)
        log = open(os.path.join(tmp, "agent%d.log" % i), "w")
        proc = subprocess.Popen(
            [_daemon_path(), "--socket", sock, "--cluster", URLS,
             "--cluster-ttl", "3", "--config", "/dev/null"], stderr=log)
        assert wait_listening(sock, proc), "agent %d did not start" % i
        socks.append(sock)
        procs.append(proc)
    yield socks
    for proc in procs:
        proc.terminate()
    assert [proc.wait(timeout=10) for proc in procs] == [0, 0]


def _name(base):
    return "cluster/py%d/%s" % (os.getpid(), base)


def _exit_codes(target, args):
    """Run target(*a) in a forked process for each a in args; their exit
    codes."""
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=target, args=a) for a in args]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    return [p.exitcode for p in procs]


def _count_action(path):
    with open(path, "a") as f:
        f.write("%d\n" % os.getpid())
    time.sleep(0.1)  # a party let go before the action ended would see it


def _party(sock, name, path, rounds):
    syncd.connect(sock)
    b = syncd.Barrier(3, action=functools.partial(_count_action, path),
                      name=name)
    for r in range(rounds):
        b.wait(30)
        # Exactly one action per round, finished before anyone left it.
        with open(path) as f:
            if len(f.readlines()) != r + 1:
                os._exit(1)
    os._exit(0)


def test_barrier_action_across_two_agents(agents, tmp_path):
    path = tmp_path / "actions"
    path.write_text("")
    name = _name("act")
    assert _exit_codes(_party, [(agents[i % 2], name, str(path), 3)
                                for i in range(3)]) == [0, 0, 0]
    assert len(path.read_text().split()) == 3


def _failing_party(sock, name):
    syncd.connect(sock)
    _party_of_failing_round(
        syncd.Barrier(3, action=_raise_value_error, name=name))


def test_barrier_action_raising_breaks_it_on_both_agents(agents):
    name = _name("fail")
    # One process ran the action and got its exception (10), the other
    # two BrokenBarrierError (11).
    codes = _exit_codes(_failing_party,
                        [(agents[i % 2], name) for i in range(3)])
    assert sorted(codes) == [10, 11, 11]
    syncd.connect(agents[1])
    try:
        assert syncd.Barrier(3, name=name).broken
    finally:
        syncd.connect(None)


def _interrupted_waiter(sock, name, report):
    syncd.connect(sock)
    lock = syncd.Lock(name)
    try:
        report.put(("ready", 0.0))
        lock.acquire(timeout=30)
        report.put(("acquired", 0.0))
    except KeyboardInterrupt:
        report.put(("KeyboardInterrupt", time.monotonic()))
        time.sleep(0.5)  # still alive: its abandoned wait must not block
    os._exit(0)


def test_sigint_interrupts_a_cluster_acquire_within_100ms(agents):
    """Ctrl-C in a process waiting on agent B for a cluster Lock held
    through agent A: KeyboardInterrupt at once, and its contender key has
    left etcd's queue before the exception, so the lock goes straight to
    the next taker when its holder lets go."""
    name = _name("sigint")
    syncd.connect(agents[0])
    try:
        lock = syncd.Lock(name)
        assert lock.acquire(timeout=10)
        ctx = multiprocessing.get_context("fork")
        report = ctx.Queue()
        p = ctx.Process(target=_interrupted_waiter,
                        args=(agents[1], name, report))
        p.start()
        assert report.get(timeout=30)[0] == "ready"
        time.sleep(0.5)  # queued in etcd by now
        sent = time.monotonic()
        os.kill(p.pid, signal.SIGINT)
        what, when = report.get(timeout=10)
        assert what == "KeyboardInterrupt"
        assert when - sent < 0.1, "KeyboardInterrupt after %.1f ms" % (
            (when - sent) * 1000)
        lock.release()
        # The interrupted process still lives (its session and lease too):
        # only its key leaving the queue lets this through.
        assert p.is_alive()
        assert lock.acquire(timeout=2)
        assert not lock.owner_died
        lock.release()
        p.join(10)
        assert p.exitcode == 0
    finally:
        syncd.connect(None)
