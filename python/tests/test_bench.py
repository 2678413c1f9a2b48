"""bench/python_bench.py runs with tiny parameters and prints every row
(no timing is asserted: that is the benchmark's job, not the suite's)."""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_python_bench_prints_every_row():
    from conftest import _daemon_path
    out = subprocess.run(
        [sys.executable, os.path.join(ROOT, "bench", "python_bench.py"),
         "--syncd", _daemon_path(), "--p1", "20", "--p2", "20",
         "--p3-seconds", "0.1", "--reps", "1"],
        capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    rows = [l for l in out.stdout.splitlines() if l.startswith("| ")]
    for system in ("syncd", "syncd (C library)",
                   "Python floor: the loop, two no-op builtin calls",
                   "threading.Lock", "multiprocessing.Lock",
                   "Manager().Lock()"):
        assert any(r.startswith("| %s |" % system) for r in rows), system
    for goal in ("P1 syncd (Python) x C library",
                 "P1 Python floor x C library", "P1 syncd x Manager",
                 "P2 syncd x Manager", "P3 syncd x Manager"):
        assert any(r.startswith("| %s |" % goal) for r in rows), goal
