"""``up`` / ``down`` / ``status`` as functions (the CLI and ``tenfold run`` call these)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from tenfold.errors import MissingDependencyError, StackError
from tenfold.stack.cgroups import remove_tree
from tenfold.stack.emulators import DYNALITE, MOTO
from tenfold.stack.ports import Ports, check_free, port_base
from tenfold.stack.postgres import PG_BIN
from tenfold.stack.procs import kill_tree
from tenfold.stack.state import pid_alive, read_state, state_dir
from tenfold.stack.status import StackStatus, as_status

__all__ = ["check_binaries", "down", "running_state", "status", "up"]

_BINARIES = {
    "haproxy": "haproxy",
    "prometheus": "prometheus",
    "redis-server": "redis-server",
    "redis-sentinel": "redis-sentinel",
    "setpriv": "util-linux",
    "runuser": "util-linux",
}


def check_binaries() -> None:
    missing = [f"{b} (Debian package {pkg})" for b, pkg in _BINARIES.items() if shutil.which(b) is None]
    if not (PG_BIN / "postgres").exists():
        missing.append(f"{PG_BIN / 'postgres'} (Debian package postgresql-15)")
    if not DYNALITE.exists():
        missing.append(f"{DYNALITE} (npm package dynalite)")
    if not MOTO.exists():
        missing.append(f"{MOTO} (PyPI package moto[server])")
    if missing:
        raise MissingDependencyError("missing: " + "; ".join(missing) + ". Run `make setup`.")


def running_state(home: Path) -> StackStatus | None:
    """The state of a live controller in ``home`` (its last status), or None."""
    state = read_state(home)
    if state and isinstance(state.get("pid"), int) and pid_alive(state["pid"]) and state.get("phase") != "stopped":
        return as_status(state)
    return None


def up(
    home: str | Path | None = None,
    base: int | None = None,
    *,
    autoscaling: bool = True,
    rate_limit: int = 5000,
    seed: bool = True,
    seed_users: int | None = None,
    seed_titles: int | None = None,
    overlay: str | Path | None = None,
    manifests: str | Path | None = None,
    links: bool = True,
    timeout_s: float = 90.0,
    owner_pid: int | None = None,
) -> StackStatus:
    """Start the controller in the background; return its state once every component is ready.

    With ``owner_pid`` (``tenfold run`` starting a stack for itself) the stack stops on its own once that
    process is gone, even after a SIGKILL that left it no chance to say so.
    """
    directory = state_dir(home)
    if (state := running_state(directory)) is not None:
        raise StackError(
            f"the stack is already running (controller pid {state['pid']}, gateway {state.get('gateway')}); "
            "`tenfold down` first, or use another TENFOLD_HOME and --port-base for a second stack"
        )
    _cleanup_leftovers(directory)
    check_binaries()
    _check_manifests(manifests, overlay)
    ports = Ports(port_base(base))
    check_free(ports.fixed() | ports.replicas())
    (directory / "logs").mkdir(exist_ok=True)
    (directory / "state.json").unlink(missing_ok=True)
    argv = [sys.executable, "-m", "tenfold.stack.controller_process", "--home", str(directory)]
    argv += ["--port-base", str(ports.base)]
    argv += ["--rate-limit", str(rate_limit)]
    if not autoscaling:
        argv.append("--no-autoscaling")
    if not seed:
        argv.append("--no-seed")
    if seed_users is not None:
        argv += ["--seed-users", str(seed_users)]
    if seed_titles is not None:
        argv += ["--seed-titles", str(seed_titles)]
    if overlay is not None:
        argv += ["--overlay", str(overlay)]
    if manifests is not None:
        argv += ["--manifests", str(manifests)]
    if not links:
        argv.append("--no-links")
    if owner_pid is not None:
        argv += ["--owner-pid", str(owner_pid)]
    with (directory / "logs" / "controller.log").open("ab") as log:
        proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            env=os.environ | {"PYTHONUNBUFFERED": "1"},
        )  # fmt: skip
    try:
        return _wait_ready(directory, proc, timeout_s)
    except BaseException:  # Ctrl-C or a failure while starting: take everything down again
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
        _cleanup_leftovers(directory)
        raise


def _check_manifests(manifests: str | Path | None, overlay: str | Path | None) -> None:
    """A broken manifest or overlay is the user's file: say so (file, line, fix; exit 65) before starting anything,
    instead of a controller that dies with it (exit 70)."""
    from tenfold.stack.calibration import calibrate, load_calibration
    from tenfold.stack.manifests import DEFAULT_MANIFESTS, DEFAULT_OVERLAY, load_overlay, load_services

    services = load_services(Path(manifests) if manifests else DEFAULT_MANIFESTS,
                             load_overlay(Path(overlay) if overlay else DEFAULT_OVERLAY))  # fmt: skip
    calibrate(services, load_calibration())


def _wait_ready(directory: Path, proc: subprocess.Popen[bytes], timeout_s: float) -> StackStatus:
    deadline = time.monotonic() + timeout_s
    while True:
        state = read_state(directory) or {}
        if state.get("phase") == "ready":
            return as_status(state)
        code = proc.poll()
        if code is not None or state.get("phase") == "failed":
            if code is None:
                proc.wait(30)
            raise StackError(state.get("error") or f"the controller exited ({code}); see {directory / 'logs'}")
        if time.monotonic() > deadline:
            raise StackError(f"the stack was not ready after {timeout_s:g} s; logs in {directory / 'logs'}")
        time.sleep(0.05)


def _cleanup_leftovers(directory: Path) -> None:
    """Pids a dead controller recorded (normally already gone through PR_SET_PDEATHSIG)."""
    state = read_state(directory)
    if state:
        kill_tree([p for p in state.get("pids", []) if isinstance(p, int) and pid_alive(p)])
        if isinstance(state.get("port_base"), int):
            time.sleep(0.1)  # let the killed tasks leave their groups
            remove_tree(f"tenfold-{state['port_base']}")


def down(home: str | Path | None = None, timeout_s: float = 30.0) -> bool:
    """Stop the stack; True when one was running. Leaves no process behind (kills leftovers by pid)."""
    directory = state_dir(home)
    state = running_state(directory)
    if state is None:
        _cleanup_leftovers(directory)
        return False
    pid = int(state["pid"])
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if pid_alive(pid):
        os.kill(pid, signal.SIGKILL)
    _cleanup_leftovers(directory)
    return True


def status(home: str | Path | None = None) -> StackStatus | None:
    """The live status from the control API (falls back to the state file); None when not running."""
    directory = state_dir(home)
    state = running_state(directory)
    if state is None:
        return None
    from tenfold.stack.client import ControlClient

    try:
        return ControlClient(state["control"]).status()
    except StackError:
        return state
