"""A real local stack for the tests in this folder: a temp state dir, a free port base, a small seed and a fast
autoscaling overlay (1 s sync, 5 s scale-down window) so scale-out and scale-in both fit in seconds."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from servers import free_port_base

from tenfold.stack import lifecycle
from tenfold.stack.state import pid_alive, read_state

FAST_OVERLAY = """
hpa:
  syncPeriodSeconds: 1
  scaleUpStabilizationWindowSeconds: 0
  scaleDownStabilizationWindowSeconds: 4
  policyPeriodSeconds: 4
  cpuBasis: limit
env:
  TENFOLD_DRAIN_SECONDS: "0.2"
"""


def leftover(pids: list[int]) -> list[int]:
    return [p for p in pids if pid_alive(p)]


@pytest.fixture(scope="module")
def stack() -> Iterator[dict[str, Any]]:
    home = Path(tempfile.mkdtemp(prefix="tenfold-stack-"))
    overlay = home / "overlay.yaml"
    overlay.write_text(FAST_OVERLAY)
    state = lifecycle.up(
        home, free_port_base(), seed_users=200, seed_titles=100, overlay=overlay, rate_limit=1_000_000, timeout_s=90
    )
    state["home"] = str(home)
    try:
        yield state
    finally:
        lifecycle.down(home)
        final = read_state(home) or {}
        pids = [*state.get("pids", []), *final.get("pids", [])]
        shutil.rmtree(home, ignore_errors=True)
        assert not leftover(pids), f"processes left behind: {leftover(pids)}"
        assert not Path(f"/sys/fs/cgroup/cpu/tenfold-{state['port_base']}").exists(), "cgroups left behind"


@pytest.fixture
def port_base() -> int:
    return free_port_base()
