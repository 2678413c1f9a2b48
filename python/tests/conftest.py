"""pytest fixtures: one syncd daemon on a private socket for the session.

$SYNCD_BIN names the daemon (CTest sets it); otherwise build/daemon/syncd
of the source tree.  Its socket goes into $SYNCD_SOCKET before anything
connects, so processes started by the tests (fork, spawn, forkserver)
find it too.
"""
import os
import socket
import subprocess
import sys
import tempfile
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def wait_listening(sock, proc, seconds=10):
    """Until the daemon at sock accepts connections (the socket file
    appears at bind(), before listen())."""
    deadline = time.monotonic() + seconds
    while True:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            try:
                s.connect(sock)
                return True
            except OSError:
                pass
        if proc.poll() is not None or time.monotonic() > deadline:
            return False
        time.sleep(0.01)


def _daemon_path():
    path = os.environ.get("SYNCD_BIN") or os.path.join(ROOT, "build", "daemon", "syncd")
    if not os.access(path, os.X_OK):
        pytest.exit("no syncd daemon at %s (build first, or set SYNCD_BIN)" % path, 2)
    return path


@pytest.fixture(scope="session", autouse=True)
def syncd_daemon():
    tmp = tempfile.mkdtemp(prefix="syncd-py-")
    sock = os.path.join(tmp, "syncd.sock")
    proc = subprocess.Popen([_daemon_path(), "--socket", sock, "--quiet"],
                            stderr=open(os.path.join(tmp, "syncd.log"), "w"))
    if not wait_listening(sock, proc):
        pytest.exit("syncd did not start (see %s/syncd.log)" % tmp, 2)
    os.environ["SYNCD_SOCKET"] = sock
    yield sock
    proc.terminate()
    rc = proc.wait(timeout=10)
    sys.stderr.write(open(os.path.join(tmp, "syncd.log")).read())
    assert rc == 0, "syncd exited with %d" % rc


def start_private_daemon(sock, *args):
    """A daemon of the test's own on sock (a test that kills it), with
    extra command-line args; the caller kills it and reconnects to
    $SYNCD_SOCKET when done."""
    proc = subprocess.Popen([_daemon_path(), "--socket", sock, "--quiet"]
                            + list(args))
    assert wait_listening(sock, proc), "syncd did not start on " + sock
    return proc
