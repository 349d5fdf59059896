"""Run Chaos Toolkit experiments at their scheduled moments while the load runs.

Each experiment is ``chaos --no-version-check --no-log-file run --rollback-strategy always`` in a child
process of ours, with its journal in ``<run>/chaos/<name>.journal.json``. On Ctrl-C each child gets
exactly one SIGINT from us (they run in their own sessions) and runs its rollbacks; we wait for them.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tenfold.inject.schedule import ScheduledExperiment
from tenfold.stack.procs import preexec

__all__ = ["ExperimentRecord", "Injector"]


@dataclass
class ExperimentRecord:
    """What the manifest says about one experiment (names as docs/reports.md defines them)."""

    name: str
    file: str
    phase: str
    scheduled_offset_s: float
    recovery_timeout_s: float
    start: float | None = None
    end: float | None = None
    injected_at: float | None = None
    recovered_at: float | None = None
    status: str = "not-run"
    rollback_ok: bool | None = None
    exit_code: int | None = None
    interrupted: bool = False
    """It was running when the run was interrupted: its window is cut short (partial)."""
    problems: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _parse_ts(value: Any) -> float | None:
    if not isinstance(value, str):
        return None
    from datetime import UTC, datetime

    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        return None
    return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).timestamp()


def read_journal(record: ExperimentRecord, journal: Path) -> None:
    """Injection = the first method activity's start; recovery = the journal's end once rollbacks succeeded."""
    if not journal.is_file():
        record.problems.append("no journal was written")
        return
    doc = json.loads(journal.read_text())
    record.status = str(doc.get("status", "unknown"))
    runs = doc.get("run") or []
    method = [r for r in runs if isinstance(r, dict)]
    if method:
        record.injected_at = _parse_ts(method[0].get("start"))
    rollbacks = [r for r in doc.get("rollbacks") or [] if isinstance(r, dict)]
    failed = [r for r in rollbacks if r.get("status") != "succeeded"]
    record.rollback_ok = not failed
    if failed:
        record.problems.append(f"{len(failed)} rollback activities did not succeed")
    if record.rollback_ok and record.status in ("completed", "failed", "aborted", "interrupted"):
        record.recovered_at = _parse_ts(doc.get("end"))


class Injector:
    """Starts each experiment at ``t0 + its offset`` in its own thread; ``wait`` joins them."""

    def __init__(self, run_dir: Path, env: dict[str, str]) -> None:
        self.dir = run_dir / "chaos"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.env = {**os.environ, **env}
        self.records: list[ExperimentRecord] = []
        self._threads: list[threading.Thread] = []
        self._procs: list[tuple[subprocess.Popen[bytes], ExperimentRecord]] = []
        self._interrupted: set[subprocess.Popen[bytes]] = set()
        self._stop = threading.Event()

    def schedule(self, plan: list[ScheduledExperiment], t0: float, phase_starts: dict[str, float]) -> None:
        for exp in plan:
            rec = ExperimentRecord(exp.name, str(exp.path), exp.phase, exp.offset_s, exp.recovery_timeout_s)
            self.records.append(rec)
            t = threading.Thread(target=self._run, args=(exp, rec, t0 + exp.at(phase_starts)), daemon=True)
            t.start()
            self._threads.append(t)

    def cancel_pending(self) -> None:
        """Experiments not yet started will not start (Ctrl-C, or the load ended early)."""
        self._stop.set()

    def interrupt(self) -> None:
        """Ask running experiments to stop as Ctrl-C would: Chaos Toolkit then runs the rollbacks."""
        self.cancel_pending()
        for proc, rec in self._procs:
            if proc.poll() is None and proc not in self._interrupted:
                proc.send_signal(signal.SIGINT)
                self._interrupted.add(proc)
                rec.interrupted = True

    def running(self) -> list[str]:
        return [r.name for r in self.records if r.start and not r.end]

    def wait(self, timeout_s: float, stop: threading.Event | None = None) -> bool:
        """Wait up to ``timeout_s`` (less once ``stop`` is set) for every experiment to end; True when all did."""
        deadline = time.monotonic() + timeout_s
        while any(t.is_alive() for t in self._threads):
            if time.monotonic() >= deadline or (stop is not None and stop.is_set()):
                return False
            for t in self._threads:
                t.join(min(0.2, max(0.0, deadline - time.monotonic())))
                if stop is not None and stop.is_set():
                    break
        return True

    def kill_running(self, why: str) -> list[str]:
        """SIGKILL what is still running (its rollback did not finish in time); returns their names."""
        killed = []
        for proc, rec in self._procs:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                rec.problems.append(why)
                killed.append(rec.name)
        for t in self._threads:
            t.join(5)
        return killed

    def _run(self, exp: ScheduledExperiment, rec: ExperimentRecord, at: float) -> None:
        if self._stop.wait(max(0.0, at - time.time())):
            rec.status = "not-run"
            rec.problems.append("cancelled before its scheduled time")
            return
        journal = self.dir / f"{exp.name}.journal.json"
        log = self.dir / f"{exp.name}.log"
        argv = [sys.executable, "-m", "tenfold.inject.chaos_once", "--no-version-check", "--no-log-file", "run",
                "--rollback-strategy", "always", "--journal-path", str(journal), str(exp.path)]  # fmt: skip
        rec.start = time.time()
        with log.open("wb") as out:
            # Its own session: a terminal's Ctrl-C must not reach it directly. A second SIGINT makes Chaos
            # Toolkit skip the remaining rollbacks, so exactly one comes, from interrupt().
            # If the harness is SIGKILLed, the kernel sends that one SIGINT (PR_SET_PDEATHSIG; this thread lives
            # as long as the child does): the rollbacks still run.
            proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=self.env, start_new_session=True,
                                    preexec_fn=preexec(death_signal=signal.SIGINT))  # fmt: skip
            self._procs.append((proc, rec))
            rec.exit_code = proc.wait()
        rec.end = time.time()
        read_journal(rec, journal)
