"""Run a locustfile under the open model as a headless Locust subprocess (what ``tenfold run`` calls) and read back
its verdict.

A subprocess, not an in-process Locust: Locust monkey-patches the interpreter with gevent, and the
generator must be measurable (and cappable with a cgroup) on its own.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tenfold.errors import UsageError
from tenfold.layout import LOAD, REPORT

__all__ = [
    "DEFAULT_MASTER_BIND",
    "DEFAULT_MASTER_PORT",
    "DEFAULT_WORKERS_TIMEOUT_S",
    "OPEN_MODEL",
    "LoadResult",
    "collect",
    "locust_command",
    "run_locust",
    "split_address",
    "start_locust",
    "worker_command",
    "workers_missing",
]

DEFAULT_MASTER_PORT = 5557
"""Locust's own default: the port a master listens on for its workers."""
DEFAULT_MASTER_BIND = f"*:{DEFAULT_MASTER_PORT}"
DEFAULT_WORKERS_TIMEOUT_S = 120.0

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
    extra_args: tuple[str, ...] = (), remote_workers: int = 0, master_bind: str = DEFAULT_MASTER_BIND,
    workers_timeout_s: float = DEFAULT_WORKERS_TIMEOUT_S,
) -> list[str]:  # fmt: skip
    """``locust -f open_model.py,LOCUSTFILE --headless ...`` (a locustfile that imports the open model itself, like
    locustfiles/spike.py, loads the same classes twice: Locust keeps one).

    ``processes``: local worker processes (Locust's ``--processes``); ``remote_workers``: a master on
    ``master_bind`` (HOST:PORT) that starts once that many workers joined (``tenfold worker``), or gives up after
    ``workers_timeout_s``."""
    run = Path(run_dir)
    files = f"{OPEN_MODEL},{Path(locustfile).resolve()}"
    cmd = [sys.executable, "-m", "locust", "-f", files, "--headless", "--host", host,
           "--run-dir", str(run), "--scenario", scenario, "--load-profile", profile,
           "--csv", str(run / "locust" / "stats"), "--html", str(run / "locust" / REPORT),
           "--only-summary"]  # fmt: skip
    if quick:
        cmd.append("--quick")
    if scenario_file is not None:  # resolved: Locust may run from another directory (tenfold run: the repo)
        cmd += ["--scenario-file", str(Path(scenario_file).resolve())]
    if processes and processes > 1:
        # Locust's master listens on *:5557 unless told: two runs at once (or a test beside a bench) would clash,
        # and one run's workers could join the other's master. Loopback and a free port: its workers are local.
        port = _free_port()
        cmd += ["--processes", str(processes), "--master-bind-host", "127.0.0.1", "--master-bind-port", str(port),
                "--master-host", "127.0.0.1", "--master-port", str(port)]  # fmt: skip
    if remote_workers:
        bind_host, bind_port = split_address(master_bind)
        wait = str(max(1, round(workers_timeout_s)))
        cmd += ["--master", "--expect-workers", str(remote_workers), "--expect-workers-max-wait", wait,
                "--master-bind-host", bind_host, "--master-bind-port", str(bind_port)]  # fmt: skip
    return cmd + list(extra_args)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def worker_command(master: str, locustfile: str | Path, *, processes: int | None = None) -> list[str]:
    """``locust -f open_model.py,LOCUSTFILE --worker --master-host H --master-port P``: a worker that takes the
    plan (scenario, rates, start) from its master and sends its records back over Locust's messaging."""
    host, port = split_address(master)
    cmd = [sys.executable, "-m", "locust", "-f", f"{OPEN_MODEL},{Path(locustfile).resolve()}", "--worker",
           "--master-host", host, "--master-port", str(port)]  # fmt: skip
    if processes and processes > 1:
        cmd += ["--processes", str(processes)]
    return cmd


def split_address(address: str, default_port: int = DEFAULT_MASTER_PORT) -> tuple[str, int]:
    """``HOST:PORT``, ``HOST`` or ``[V6]:PORT`` as (host, port); UsageError for anything else."""
    host, sep, port = address.rpartition(":")
    if not sep or "]" in port:
        host, port = address, str(default_port)
    host = host.strip("[]")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UsageError(f"{address!r}: give the master's address as HOST:PORT, e.g. 10.0.0.5:{default_port}")
    return host, int(port)


def workers_missing(log: str, expected: int) -> str | None:
    """Why the master never started, from Locust's log: the ``expected`` workers did not all join in time."""
    if "Gave up waiting for workers to connect" not in log:
        return None
    counts = re.findall(r"Waiting for workers to be ready, (\d+) of \d+ connected", log)
    joined = f"only {counts[-1]} of {expected}" if counts else f"fewer than {expected}"
    return (f"{joined} workers joined before the master gave up waiting (--workers-timeout): start each with "
            "`tenfold worker --master HOST:PORT --locustfile FILE` where it reaches the master's address "
            "(--master-bind), or lower --remote-workers")  # fmt: skip


def start_locust(
    host: str, run_dir: str | Path, locustfile: str | Path, *, scenario: str = "spike", profile: str = "default",
    quick: bool = False,
    processes: int | None = None, scenario_file: str | Path | None = None, extra_args: tuple[str, ...] = (),
    env: dict[str, str] | None = None, remote_workers: int = 0, master_bind: str = DEFAULT_MASTER_BIND,
    workers_timeout_s: float = DEFAULT_WORKERS_TIMEOUT_S,
) -> subprocess.Popen[bytes]:  # fmt: skip
    """Start the scenario in the background (for an orchestrator that injects faults meanwhile).

    ``<run_dir>/load-plan.json`` appears when the test starts, with the phases' epoch times; call
    ``collect(run_dir, proc.wait())`` at the end. Output goes to ``<run_dir>/locust/locust.log``.
    """
    run = Path(run_dir)
    (run / "locust").mkdir(parents=True, exist_ok=True)
    cmd = locust_command(host, run, locustfile, scenario=scenario, profile=profile, quick=quick, processes=processes,
                         scenario_file=scenario_file, extra_args=extra_args, remote_workers=remote_workers,
                         master_bind=master_bind, workers_timeout_s=workers_timeout_s)  # fmt: skip
    with (run / "locust" / "locust.log").open("wb") as logf:
        return subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})},
                                start_new_session=True)  # fmt: skip


def collect(run_dir: str | Path, exit_code: int) -> LoadResult:
    """The result of a finished run from its folder."""
    run = Path(run_dir)
    load_json = run / LOAD
    doc = json.loads(load_json.read_text()) if load_json.is_file() else None
    return LoadResult(exit_code, run, doc)


def run_locust(
    host: str, run_dir: str | Path, locustfile: str | Path, *, scenario: str = "spike", profile: str = "default",
    quick: bool = False,
    processes: int | None = None, scenario_file: str | Path | None = None, timeout_s: float | None = None,
    extra_args: tuple[str, ...] = (), env: dict[str, str] | None = None, remote_workers: int = 0,
    master_bind: str = DEFAULT_MASTER_BIND, workers_timeout_s: float = DEFAULT_WORKERS_TIMEOUT_S,
) -> LoadResult:  # fmt: skip
    """Run the scenario to its end (killed after ``timeout_s``); exit code 2 means the run is invalid."""
    proc = start_locust(host, run_dir, locustfile, scenario=scenario, profile=profile, quick=quick, processes=processes,
                        scenario_file=scenario_file, extra_args=extra_args, env=env, remote_workers=remote_workers,
                        master_bind=master_bind, workers_timeout_s=workers_timeout_s)  # fmt: skip
    try:
        code = proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # its own session: the master and its --processes workers
        proc.wait()
        raise
    return collect(run_dir, code)
