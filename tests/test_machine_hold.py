"""servers.machine: how xdist workers share the machine. An exclusive hold waits for every shared one and lets none
start meanwhile; a worker that holds it already takes it again at once (no deadlock at a gate an exclusive taker
closed while it waits for that very worker)."""

from __future__ import annotations

import fcntl
import os
import select
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

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
        sys.stdin.readline()  # the test says when: an exclusive taker has closed the gate meanwhile
        with machine(fcntl.LOCK_SH):
            print("nested", time.time(), flush=True)
    else:
        sys.stdin.readline()  # held until the test lets go
    print("out", time.time(), flush=True)
"""


class Holder:
    """One worker process taking the machine; it holds it until told to let go."""

    def __init__(self, run: str, mode: str, nested: bool = False) -> None:
        env = {**os.environ, "PYTEST_XDIST_TESTRUNUID": run}
        argv = [sys.executable, "-c", HOLD.format(tests=str(TESTS)), mode, "nested" if nested else "flat"]
        self.proc = subprocess.Popen(argv, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.times: dict[str, float] = {}
        self._pending = b""

    def reached(self, word: str, timeout: float = 20.0) -> bool:
        """Whether the process printed ``word`` within ``timeout`` (its line's time is kept). Reads the pipe's
        bytes itself: a buffered readline could hold the next line where select no longer sees it."""
        deadline = time.monotonic() + timeout
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        while word not in self.times:
            if b"\n" in self._pending:
                line, self._pending = self._pending.split(b"\n", 1)
                self.times[line.split()[0].decode()] = float(line.split()[1])
                continue
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                return False
            chunk = os.read(fd, 4096)
            if not chunk:
                return False
            self._pending += chunk
        return True

    def release(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write("\n")
        self.proc.stdin.flush()


@pytest.fixture
def holders() -> Iterator[tuple[str, list[Holder]]]:
    run, made = uuid.uuid4().hex, list[Holder]()
    yield run, made
    for h in made:
        h.proc.kill()
        h.proc.wait()
    for suffix in ("gate", "lock"):
        Path(f"/tmp/tenfold-pytest-{run}.{suffix}").unlink(missing_ok=True)


def _gate_closed(run: str, timeout: float = 20.0) -> bool:
    """Whether an exclusive taker closed the gate (a shared taker would wait there) within ``timeout``."""
    deadline = time.monotonic() + timeout
    with open(f"/tmp/tenfold-pytest-{run}.gate", "a") as gate:
        while time.monotonic() < deadline:
            try:
                fcntl.flock(gate, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(gate, fcntl.LOCK_UN)
            time.sleep(0.02)
    return False


def test_an_exclusive_hold_waits_for_a_shared_one_and_a_shared_one_waits_for_it(
    holders: tuple[str, list[Holder]],
) -> None:
    run, made = holders
    shared = Holder(run, "sh")
    made.append(shared)
    assert shared.reached("in")
    exclusive = Holder(run, "ex")
    made.append(exclusive)
    assert _gate_closed(run) and not exclusive.reached("in", timeout=0.5)  # waits for the shared hold
    late = Holder(run, "sh")
    made.append(late)
    assert late.reached("waiting") and not late.reached("in", timeout=0.5)  # the closed gate keeps it out
    shared.release()
    assert shared.reached("out") and exclusive.reached("in") and not late.reached("in", timeout=0.5)
    exclusive.release()
    assert exclusive.reached("out") and late.reached("in")
    late.release()
    assert late.times["in"] >= exclusive.times["out"] >= exclusive.times["in"] >= shared.times["out"]


def test_a_worker_holding_it_takes_it_again_without_waiting_at_a_closed_gate(
    holders: tuple[str, list[Holder]],
) -> None:
    run, made = holders
    holder = Holder(run, "sh", nested=True)
    made.append(holder)
    assert holder.reached("in")
    exclusive = Holder(run, "ex")
    made.append(exclusive)
    assert _gate_closed(run)
    holder.release()
    assert holder.reached("nested", timeout=5.0)  # a second take through the gate would wait for ever here
    assert holder.reached("out") and exclusive.reached("in")
