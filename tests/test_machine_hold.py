"""servers.machine: how xdist workers share the machine. An exclusive hold waits for every shared one and lets none
start meanwhile; a worker that holds it already takes it again at once (no deadlock at a gate an exclusive taker
closed while it waits for that very worker)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

TESTS = Path(__file__).resolve().parent

HOLD = """
import fcntl, sys, time
sys.path.insert(0, {tests!r})
from servers import machine
mode = fcntl.LOCK_EX if sys.argv[1] == "ex" else fcntl.LOCK_SH
print("waiting", time.time(), flush=True)
with machine(mode):
    print("in", time.time(), flush=True)
    if sys.argv[2] == "nested":
        time.sleep(0.6)  # meanwhile an exclusive taker closes the gate
        with machine(fcntl.LOCK_SH):
            print("nested", time.time(), flush=True)
    time.sleep(float(sys.argv[3]))
    print("out", time.time(), flush=True)
"""


def _start(run: str, mode: str, nested: str, hold_s: float) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTEST_XDIST_TESTRUNUID": run}
    return subprocess.Popen([sys.executable, "-c", HOLD.format(tests=str(TESTS)), mode, nested, str(hold_s)],
                            env=env, stdout=subprocess.PIPE, text=True)  # fmt: skip


def _times(proc: subprocess.Popen[str]) -> dict[str, float]:
    try:
        out, _ = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()  # deadlocked: the test fails (and _cleanup leaves no process behind)
        raise
    assert proc.returncode == 0, out
    return {line.split()[0]: float(line.split()[1]) for line in out.splitlines()}


def _cleanup(run: str, procs: list[subprocess.Popen[str]]) -> None:
    for p in procs:
        p.kill()
        p.wait()
    for suffix in ("gate", "lock"):
        Path(f"/tmp/tenfold-pytest-{run}.{suffix}").unlink(missing_ok=True)


def test_an_exclusive_hold_waits_for_a_shared_one_and_a_shared_one_waits_for_it() -> None:
    run, procs = uuid.uuid4().hex, []
    try:
        procs.append(_start(run, "sh", "flat", 1.0))
        time.sleep(0.3)
        procs.append(_start(run, "ex", "flat", 1.0))
        time.sleep(0.3)
        procs.append(_start(run, "sh", "flat", 0.0))  # arrives while the exclusive one waits: the gate keeps it out
        s, e, late_t = (_times(p) for p in procs)
    finally:
        _cleanup(run, procs)
    assert e["in"] >= s["out"] - 0.01, (s, e)
    assert late_t["in"] >= e["out"] - 0.01, (e, late_t)


def test_a_worker_holding_it_takes_it_again_without_waiting_at_a_closed_gate() -> None:
    run, procs = uuid.uuid4().hex, []
    try:
        procs.append(_start(run, "sh", "nested", 0.2))
        time.sleep(0.3)
        procs.append(_start(run, "ex", "flat", 0.0))  # closes the gate, then waits for the holder
        h, e = (_times(p) for p in procs)  # a deadlock times out here
    finally:
        _cleanup(run, procs)
    assert h["nested"] - h["in"] < 1.0 and e["in"] >= h["out"] - 0.01, (h, e)
