"""Run a locustfile under the open model as a headless Locust subprocess (what ``tenfold run`` calls) and read back
its verdict.

A subprocess, not an in-process Locust: Locust monkey-patches the interpreter with gevent, and the
generator must be measurable (and cappable with a cgroup) on its own.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["OPEN_MODEL", "LoadResult", "collect", "locust_command", "run_locust", "start_locust"]

OPEN_MODEL = Path(__file__).resolve().parent / "open_model.py"
"""Locust loads this first (its shape and clock), then the user's locustfile (its users)."""


@dataclass(frozen=True)
class LoadResult:
    exit_code: int
    run_dir: Path
    load: dict[str, Any] | None
    """load.json as written by the run, None if the run never got that far (see locust/locust.log)."""

    @property
    def valid(self) -> bool:
        return self.exit_code != 2 and self.load is not None and bool(self.load.get("valid"))


def locust_command(
    host: str, run_dir: str | Path, locustfile: str | Path, *, scenario: str = "spike", profile: str = "default",
    quick: bool = False, processes: int | None = None, scenario_file: str | Path | None = None,
    extra_args: tuple[str, ...] = (),
) -> list[str]:  # fmt: skip
    """``locust -f open_model.py,LOCUSTFILE --headless ...`` (a locustfile that imports the open model itself, like
    locustfiles/spike.py, loads the same classes twice: Locust keeps one)."""
    run = Path(run_dir)
    files = f"{OPEN_MODEL},{Path(locustfile).resolve()}"
    cmd = [sys.executable, "-m", "locust", "-f", files, "--headless", "--host", host,
           "--run-dir", str(run), "--scenario", scenario, "--load-profile", profile,
           "--csv", str(run / "locust" / "stats"), "--html", str(run / "locust" / "report.html"),
           "--only-summary"]  # fmt: skip
    if quick:
        cmd.append("--quick")
    if scenario_file is not None:
        cmd += ["--scenario-file", str(scenario_file)]
    if processes and processes > 1:
        cmd += ["--processes", str(processes)]
    return cmd + list(extra_args)


def start_locust(
    host: str, run_dir: str | Path, locustfile: str | Path, *, scenario: str = "spike", profile: str = "default",
    quick: bool = False,
    processes: int | None = None, scenario_file: str | Path | None = None, extra_args: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
) -> subprocess.Popen[bytes]:  # fmt: skip
    """Start the scenario in the background (for an orchestrator that injects faults meanwhile).

    ``<run_dir>/load-plan.json`` appears when the test starts, with the phases' epoch times; call
    ``collect(run_dir, proc.wait())`` at the end. Output goes to ``<run_dir>/locust/locust.log``.
    """
    run = Path(run_dir)
    (run / "locust").mkdir(parents=True, exist_ok=True)
    cmd = locust_command(host, run, locustfile, scenario=scenario, profile=profile, quick=quick, processes=processes,
                         scenario_file=scenario_file, extra_args=extra_args)  # fmt: skip
    with (run / "locust" / "locust.log").open("wb") as logf:
        return subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})},
                                start_new_session=True)  # fmt: skip


def collect(run_dir: str | Path, exit_code: int) -> LoadResult:
    """The result of a finished run from its folder."""
    run = Path(run_dir)
    load_json = run / "load.json"
    doc = json.loads(load_json.read_text()) if load_json.is_file() else None
    return LoadResult(exit_code, run, doc)


def run_locust(
    host: str, run_dir: str | Path, locustfile: str | Path, *, scenario: str = "spike", profile: str = "default",
    quick: bool = False,
    processes: int | None = None, scenario_file: str | Path | None = None, timeout_s: float | None = None,
    extra_args: tuple[str, ...] = (), env: dict[str, str] | None = None,
) -> LoadResult:  # fmt: skip
    """Run the scenario to its end (killed after ``timeout_s``); exit code 2 means the run is invalid."""
    proc = start_locust(host, run_dir, locustfile, scenario=scenario, profile=profile, quick=quick, processes=processes,
                        scenario_file=scenario_file, extra_args=extra_args, env=env)  # fmt: skip
    try:
        code = proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # its own session: the master and its --processes workers
        proc.wait()
        raise
    return collect(run_dir, code)
