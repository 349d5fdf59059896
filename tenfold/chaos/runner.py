"""Run one experiment file the way `tenfold run` needs it: the `chaos` CLI, rollbacks always, journal kept.

The CLI (not chaoslib in-process) so Chaos Toolkit's own Ctrl-C handling and journal writing apply unchanged,
and so a hung activity can be killed without killing the run. The outcome says whether the evidence can be
trusted: an experiment whose rollbacks did not all succeed leaves the stack in an unknown state, which makes
the run invalid (exit 2).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tenfold.errors import ConfigError

__all__ = ["ExperimentOutcome", "Schedule", "run_experiment", "schedule"]

_CHAOS = Path(sys.executable).parent / "chaos"


@dataclass(frozen=True)
class Schedule:
    """When `tenfold run` injects an experiment: ``offset_s`` after ``phase`` starts; recovery bounded."""

    phase: str
    offset_s: float
    recovery_timeout_s: float


@dataclass(frozen=True)
class ExperimentOutcome:
    name: str
    journal: Path
    status: str  # completed | failed | aborted | interrupted | missing (no journal)
    deviated: bool
    rollbacks_ok: bool
    started: float  # unix seconds
    ended: float
    exit_code: int

    @property
    def valid(self) -> bool:
        """False when the stack may not be whole again: a rollback failed or the run never finished."""
        return self.rollbacks_ok and self.status != "missing"


def schedule(path: str | Path) -> Schedule:
    """The ``tenfold`` extension of an experiment file; a file without one is a ConfigError naming the fix."""
    try:
        experiment: dict[str, Any] = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read the experiment: {exc}", path=str(path)) from exc
    for ext in experiment.get("extensions") or []:
        if isinstance(ext, dict) and ext.get("name") == "tenfold":
            sched = ext.get("schedule") or {}
            try:
                return Schedule(
                    phase=str(sched["phase"]),
                    offset_s=float(sched.get("offset_s", 0)),
                    recovery_timeout_s=float(ext.get("recovery_timeout_s", 60)),
                )
            except (KeyError, TypeError, ValueError) as exc:
                raise ConfigError(f"bad tenfold schedule {ext!r}: {exc}", path=str(path)) from exc
    raise ConfigError(
        'no schedule: add {"name": "tenfold", "schedule": {"phase": "peak", "offset_s": 10}, '
        '"recovery_timeout_s": 60} to "extensions"',
        path=str(path),
    )


def run_experiment(
    path: str | Path,
    journal_dir: str | Path,
    *,
    control_url: str | None = None,
    env: dict[str, str] | None = None,
    timeout_s: float = 600.0,
) -> ExperimentOutcome:
    """Run ``path`` with ``--rollback-strategy always``; the journal goes to ``journal_dir/<stem>.json``.

    On timeout the CLI gets SIGINT first (so it still plays the rollbacks), SIGKILL only if that hangs too."""
    path = Path(path)
    journal = Path(journal_dir) / f"{path.stem}.json"
    journal.parent.mkdir(parents=True, exist_ok=True)
    journal.unlink(missing_ok=True)
    extra = {"TENFOLD_CONTROL_URL": control_url} if control_url else {}
    argv = [str(_CHAOS), "--no-version-check", "--no-log-file", "run", "--rollback-strategy", "always"]
    argv += ["--journal-path", str(journal), str(path)]
    started = time.time()
    proc = subprocess.Popen(
        argv,
        cwd=journal.parent,
        env={**os.environ, **extra, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        code = proc.wait(timeout_s)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGINT)
        try:
            code = proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = proc.wait()
    return _outcome(path.stem, journal, started, time.time(), code)


def _outcome(name: str, journal: Path, started: float, ended: float, code: int) -> ExperimentOutcome:
    try:
        data: dict[str, Any] = json.loads(journal.read_text())
    except (OSError, ValueError):
        return ExperimentOutcome(name, journal, "missing", False, False, started, ended, code)
    rollbacks = data.get("rollbacks") or []
    return ExperimentOutcome(
        name=name,
        journal=journal,
        status=str(data.get("status", "missing")),
        deviated=bool(data.get("deviated")),
        rollbacks_ok=all(r.get("status") == "succeeded" for r in rollbacks),
        started=started,
        ended=ended,
        exit_code=code,
    )
