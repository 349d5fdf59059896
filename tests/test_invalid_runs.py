"""Runs whose evidence cannot be trusted are invalid (exit 2), whatever their verdicts: a fault that was never
injected, and a generator that left no record. (A starved generator: tests/load/test_locust.py and tests/test_run.py;
an interrupted run: tests/test_interrupts.py; a failed rollback: tests/chaos/test_rollback_validity.py.)"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from load._server import Server
from load.conftest import locustfile

from tenfold.cli import main as cli

pytestmark = pytest.mark.e2e

SCENARIO = """
spike:
  health: {lag_p99_ms: 1000}
  profiles:
    short: {baseline_rate: 20, phases: {baseline: 3, peak: 5}}
"""
SLO = "objectives:\n  - {name: errors, indicator: error_ratio, window: run, target: '<= 1%'}\n"
NEVER = {
    "version": "1.0.0",
    "title": "a fault whose steady state never holds",
    "description": "its hypothesis fails before the method: the fault is never injected",
    "steady-state-hypothesis": {"title": "never", "probes": [
        {"type": "probe", "name": "fails", "tolerance": 0, "provider": {"type": "process", "path": "false"}}]},
    "method": [{"type": "action", "name": "noop", "provider": {"type": "process", "path": "true"}}],
}  # fmt: skip


@pytest.fixture
def target() -> Iterator[Server]:
    srv = Server().start()
    yield srv
    srv.stop()


def _args(target: Server, tmp_path: Path) -> list[str]:
    (tmp_path / "scenario.yaml").write_text(SCENARIO)
    (tmp_path / "slo.yaml").write_text(SLO)
    return ["run", "--target", target.url, "--locustfile", str(locustfile(tmp_path)), "--scenario-file",
            str(tmp_path / "scenario.yaml"), "--profile", "short", "--slo", str(tmp_path / "slo.yaml"),
            "--runs-dir", str(tmp_path / "runs")]  # fmt: skip


def test_a_fault_never_injected_makes_the_run_invalid(target: Server, tmp_path: Path) -> None:
    (tmp_path / "never.json").write_text(json.dumps(NEVER))
    code = cli([*_args(target, tmp_path), "--experiments", f"{tmp_path / 'never.json'}@baseline+1s"])
    summary = json.loads((tmp_path / "runs" / "latest" / "summary.json").read_text())
    assert code == 2 and summary["outcome"] == "invalid"
    assert any("never injected its fault" in r for r in summary["invalid_reasons"]), summary["invalid_reasons"]
    assert [v["status"] for v in summary["verdicts"]] == ["pass"]  # the verdicts alone would have passed


def test_a_generator_that_left_no_record_makes_the_run_invalid(target: Server, tmp_path: Path) -> None:
    """The generator SIGKILLed mid-run (the OOM killer, a node going away): no load.json, no requests."""
    argv = [str(Path(sys.executable).parent / "tenfold"), *_args(target, tmp_path)]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while target.count < 20:
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.1)
        (locust,) = [c for c in psutil.Process(proc.pid).children() if "locust" in " ".join(c.cmdline())]
        for p in [locust, *locust.children(recursive=True)]:
            p.kill()
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 2, out.decode()[-2000:]
    summary = json.loads((tmp_path / "runs" / "latest" / "summary.json").read_text())
    assert "the load generator wrote no load.json (see locust/locust.log)" in summary["invalid_reasons"]
    assert [v["status"] for v in summary["verdicts"]] == ["no-data"]
