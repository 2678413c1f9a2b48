"""python/examples/: the article's examples (Lock, Event, Semaphore,
Condition) with `import syncd` in place of threading's primitives and
processes in place of threads, run as a user would run them."""
import os
import subprocess
import sys

import pytest

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                        "examples")


def run(name, method):
    env = dict(os.environ)
    code = ("import multiprocessing, runpy, sys; "
            "multiprocessing.set_start_method(%r); "
            "sys.argv = [%r]; runpy.run_path(%r, run_name='__main__')"
            % (method, name, os.path.join(EXAMPLES, name)))
    out = subprocess.run([sys.executable, "-c", code], env=env, timeout=60,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out.stdout.splitlines()


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_lock_counter(method):
    assert run("lock_counter.py", method) == ["counter = 4000"]


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_event(method):
    assert run("event.py", method) == ["Waiting for the event to be set...",
                                       "Setting the event...",
                                       "Event has been set!"]


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_semaphore(method):
    lines = run("semaphore.py", method)
    assert len([l for l in lines if l.endswith("acquired semaphore")]) == 5
    assert lines[-1] == "at most 2 inside at once"


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_condition(method):
    assert run("condition.py", method) == [
        "consumer got [0, 1, 4, 9, 16, 25, 36, 49, 64, 81]"]
