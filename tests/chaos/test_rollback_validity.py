"""A failed rollback makes the run invalid, from a real journal: the injector runs a real Chaos Toolkit
experiment (``tenfold.inject.chaos_once``, as ``tenfold run`` does) whose rollback raises, reads the journal Chaos
Toolkit wrote, and the run's manifest says invalid and why. The same experiment with a rollback that works is valid."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from tenfold.inject.injector import Injector
from tenfold.inject.schedule import ScheduledExperiment
from tenfold.run_manifest import write_manifest
from tenfold.run_options import RunOptions

FAILING = {"type": "python", "module": "json", "func": "loads", "arguments": {"s": "{not json"}}  # raises
WORKING = {"type": "python", "module": "json", "func": "loads", "arguments": {"s": "{}"}}


def experiment(path: Path, rollback: dict[str, Any]) -> ScheduledExperiment:
    doc = {
        "version": "1.0.0", "title": "a harmless fault", "description": "its rollback is the part under test",
        "method": [{"type": "action", "name": "inject", "provider": WORKING}],
        "rollbacks": [{"type": "action", "name": "restore", "provider": rollback}],
    }  # fmt: skip
    path.write_text(json.dumps(doc))
    return ScheduledExperiment(path.stem, path, "peak", 0.0, 30.0)


def run_once(run_dir: Path, rollback: dict[str, Any]) -> dict[str, Any]:
    """One experiment through the injector (a real ``chaos run``), then the manifest ``tenfold run`` writes."""
    exp = experiment(run_dir / "restore-test.json", rollback)
    injector = Injector(run_dir, {})
    started = time.time()
    injector.schedule([exp], started, {"peak": 0.0})
    injector.wait(60)
    load = {"valid": True, "phases": []}
    opts = RunOptions(scenario_file=run_dir / "s.yaml", slo=run_dir / "slo.yaml", runs_dir=run_dir)
    write_manifest(run_dir, opts, {}, load, injector, started, time.time(), None, {})
    manifest: dict[str, Any] = json.loads((run_dir / "manifest.json").read_text())
    assert (run_dir / "chaos" / "restore-test.journal.json").is_file()  # the journal went into the run folder
    return manifest


def test_a_rollback_that_raises_marks_the_run_invalid(tmp_path: Path) -> None:
    manifest = run_once(tmp_path, FAILING)
    journal = json.loads((tmp_path / "chaos" / "restore-test.journal.json").read_text())
    assert [r["status"] for r in journal["rollbacks"]] == ["failed"]  # what Chaos Toolkit itself recorded
    (record,) = manifest["experiments"]
    assert record["rollback_ok"] is False and record["injected_at"] and record["recovered_at"] is None
    assert manifest["validity"] == {
        "valid": False,
        "reasons": ["experiment restore-test: rollback failed (1 rollback activities did not succeed)"],
    }


def test_a_rollback_that_works_keeps_the_run_valid(tmp_path: Path) -> None:
    manifest = run_once(tmp_path, WORKING)
    (record,) = manifest["experiments"]
    assert record["rollback_ok"] is True and record["status"] == "completed" and record["recovered_at"]
    assert manifest["validity"] == {"valid": True, "reasons": []}
