"""Ctrl-C while `tenfold up` is still starting takes everything down again: no process is left behind."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tenfold.stack.state import pid_alive, read_state

pytestmark = pytest.mark.e2e


def test_ctrl_c_during_up_leaves_nothing(port_base: int) -> None:
    home = Path(tempfile.mkdtemp(prefix="tenfold-ctrlc-"))
    cli = subprocess.Popen(
        [sys.executable, "-m", "tenfold.cli", "up", "--home", str(home), "--port-base", str(port_base), "--no-seed"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    seen: set[int] = set()
    try:
        deadline = time.monotonic() + 60  # under `make test` other workers share the two cores
        while time.monotonic() < deadline:
            state = read_state(home) or {}
            seen.update(p for p in state.get("pids", []) if isinstance(p, int))
            if len(seen) >= 8:  # the controller and its dependencies are up; replicas are on their way
                break
            time.sleep(0.05)
        assert len(seen) >= 8, f"the stack never got going: {seen}"
        cli.send_signal(signal.SIGINT)
        code = cli.wait(30)
        assert code != 0
        deadline = time.monotonic() + 5
        while any(pid_alive(p) for p in seen) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not [p for p in seen if pid_alive(p)]
    finally:
        if cli.poll() is None:
            cli.kill()
            cli.wait()
        from tenfold.stack import lifecycle

        lifecycle.down(home)
        shutil.rmtree(home, ignore_errors=True)
