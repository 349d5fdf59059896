"""A harness SIGKILLed mid-run: no chance to clean up, still no process left behind and the rollback runs."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from run_files import files, start_tiny
from servers import tmpdir

pytestmark = pytest.mark.e2e
__all__ = ["files"]


def test_sigkill_of_the_harness_mid_run_leaves_no_process_and_still_rolls_back(
    files: dict[str, Path], tmp_path: Path
) -> None:
    """No chance to clean up: Locust and Chaos Toolkit get their one SIGINT from the kernel (parent-death signal),
    the experiment's rollback runs, and the stack the run started stops itself (its owner is gone)."""
    import psutil

    from tenfold.stack.controller import OWNER_GRACE_S
    from tenfold.stack.state import read_state

    runs = tmp_path / "runs"
    home = tmpdir("run")
    proc = start_tiny(files, str(files["experiment"]), runs, home, stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 150
        log = runs / "latest" / "chaos" / "cache-lost-short.log"
        while not (log.exists() and "Playing your experiment's method" in log.read_text()):  # the fault is going in
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.2)
        time.sleep(1)
        children = psutil.Process(proc.pid).children(recursive=True)

        def cmdline(c: psutil.Process) -> str:  # a child that just ended (a zombie until reaped) has none
            try:
                return " ".join(c.cmdline())
            except psutil.Error:
                return ""

        names = " ".join(cmdline(c) for c in children)
        assert "locust" in names and "chaos" in names and "tenfold.stack.controller" in names, names
        stack_pids = set((read_state(home) or {}).get("pids", []))
        everything = {c.pid for c in children} | stack_pids
        os.kill(proc.pid, signal.SIGKILL)  # the harness alone: its children are in sessions of their own
        proc.wait(10)
        gone_by = time.monotonic() + OWNER_GRACE_S + 45
        while alive := [p for p in everything if psutil.pid_exists(p) and psutil.Process(p).status() != "zombie"]:
            assert time.monotonic() < gone_by, [" ".join(psutil.Process(p).cmdline())[:120] for p in alive]
            time.sleep(0.5)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        shutil.rmtree(home, ignore_errors=True)
    journal = json.loads((runs / "latest" / "chaos" / "cache-lost-short.journal.json").read_text())
    assert journal["status"] == "interrupted", journal["status"]
    rollbacks = journal["rollbacks"]
    assert rollbacks and all(r.get("status") == "succeeded" for r in rollbacks), json.dumps(rollbacks)[:2000]
