"""``tenfold run --soak 20s`` (its shortest) end to end: constant load, RSS of every stack process, a verdict each."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from servers import free_port_base, tmpdir

from tenfold.cli import main as cli

pytestmark = pytest.mark.e2e

SERVICES = ("catalog", "events", "recommendations", "users")


def test_soak_samples_every_process_and_judges_each(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmpdir("soak")  # PostgreSQL runs as postgres: not under pytest's dir
    monkeypatch.setenv("TENFOLD_PORT_BASE", str(free_port_base()))
    try:
        code = cli(["run", "--soak", "20s", "--runs-dir", str(tmp_path / "runs"), "--home", str(home)])
    finally:
        shutil.rmtree(home, ignore_errors=True)
    run_dir = (tmp_path / "runs" / "latest").resolve()
    assert run_dir.name.endswith("-spike-soak")
    summary = json.loads((run_dir / "summary.json").read_text())
    assert code in (0, 1) and code == summary["exit_code"], summary["invalid_reasons"]
    scenario = yaml.safe_load((run_dir / "scenario.yaml").read_text())
    assert scenario["spike"]["profiles"]["soak"]["phases"] == {"baseline": 20, "ramp": 0, "peak": 0, "cooldown": 0}
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert [p["name"] for p in manifest["phases"]] == ["baseline"] and manifest["experiments"] == []

    rows = [json.loads(line) for line in (run_dir / "memory.jsonl").read_text().splitlines()]
    processes = {r["process"] for r in rows}
    replicas = {r["process"] for r in rows if r["kind"] == "replica"}
    assert {r.split("-")[0] for r in replicas} == set(SERVICES), processes
    assert {"controller", "postgres", "prometheus"} <= processes, processes
    assert all(r["rss_bytes"] > 1_000_000 for r in rows)

    memory = {v["objective"]: v for v in summary["verdicts"] if v["indicator"] == "memory_growth"}
    for replica in replicas:
        verdict = memory[f"memory-growth[{replica}]"]
        assert verdict["status"] in ("pass", "fail") and "after warm-up" in verdict["evidence"], verdict
    assert (run_dir / "charts" / "memory.png").is_file()
    assert "memory-growth[" in (run_dir / "junit.xml").read_text()
