"""Kinto (Pyramid + waitress), a service that stores writes, nobody on the team wrote it: its plain locustfile writes
records and acknowledges them in tenfold's ledger, a plain Chaos Toolkit experiment SIGKILLs it at peak+4s, and a
restart loop brings it back. In memory the records acknowledged before the kill are gone: acknowledged-writes-lost
fails (exit 1). The same run against the durable configuration (PostgreSQL) loses nothing and passes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from servers import Server

from tenfold.cli import main as cli

from .conftest import HERE, restarts

pytestmark = pytest.mark.e2e

SCENARIO = """
spike:
  health: {lag_p99_ms: 500}
  profiles:
    tiny:
      baseline_rate: 8
      peak_multiplier: 3
      phases: {baseline: 4, ramp: 2, peak: 14, cooldown: 4}
"""

SLO = """
objectives:
  - name: acknowledged-writes-lost
    indicator: writes_lost
    window: run
    target: "== 0"
  - name: kill-recovery
    indicator: recovery_time
    window: "chaos:kill-service"
    threshold: 0.5
    target: "<= 30s"
"""


def _run(kinto: Server, tmp_path: Path) -> tuple[int, dict[str, dict[str, object]], dict[str, object]]:
    (tmp_path / "scenario.yaml").write_text(SCENARIO)
    (tmp_path / "slo.yaml").write_text(SLO)
    code = cli(["run", "--target", kinto.url, "--locustfile", str(HERE / "kinto_locustfile.py"), "--scenario-file",
                str(tmp_path / "scenario.yaml"), "--profile", "tiny", "--slo", str(tmp_path / "slo.yaml"),
                "--runs-dir", str(tmp_path / "runs"),
                "--experiments", f"{HERE / 'experiments' / 'kill-service.json'}@peak+4s"])  # fmt: skip
    run_dir = tmp_path / "runs" / "latest"
    summary = json.loads((run_dir / "summary.json").read_text())
    assert restarts(kinto) >= 1, "the experiment killed the service and the loop restarted it"
    assert summary["outcome"] != "invalid", summary["invalid_reasons"]
    durability = json.loads((run_dir / "durability.json").read_text())
    assert durability["acknowledged"]["record"] > 50 and durability["errors"] == {}, durability
    return code, {v["objective"]: v for v in summary["verdicts"]}, durability


def test_a_store_that_forgets_on_restart_loses_acknowledged_writes(kinto_memory: Server, tmp_path: Path) -> None:
    code, verdicts, durability = _run(kinto_memory, tmp_path)
    lost = verdicts["acknowledged-writes-lost"]
    assert lost["status"] == "fail" and code == 1, lost
    assert durability["lost"]["record"] == lost["measured"] > 10, durability  # everything written before the kill
    assert verdicts["kill-recovery"]["status"] == "pass"  # it answers again: losing data is not an outage


def test_the_durable_configuration_of_the_same_store_loses_nothing(kinto_postgresql: Server, tmp_path: Path) -> None:
    code, verdicts, durability = _run(kinto_postgresql, tmp_path)
    assert verdicts["acknowledged-writes-lost"]["status"] == "pass", verdicts["acknowledged-writes-lost"]
    assert durability["lost"] == {} and durability["checked"]["record"] == durability["acknowledged"]["record"]
    assert code == 0, verdicts
