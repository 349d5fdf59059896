"""``tenfold run --target URL --prometheus URL`` against a system the harness did not start (here a local stack this
test starts on a free port base, loaded through its gateway as if it were a deployment): verdicts and a report,
replica series from the given Prometheus with the queries the SLO file replaces, "no data" for what needs the
stack's controller and stores, and experiments that reach the target. (Without --prometheus:
tests/reports/test_evaluate.py, STACK_ONLY; kube-state-metrics' series: tests/test_kube_metrics.py.)"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from servers import free_port_base, reference_scenarios

from reports.collect import LOCAL_QUERIES
from reports.slo import load_slo
from tenfold.run import REPO, RunOptions, execute
from tenfold.stack import lifecycle

pytestmark = pytest.mark.e2e

SEED_USERS = 300

# An experiment that only asks the target, as every experiments/aws file's steady-state probe does: without
# TENFOLD_GATEWAY_URL it would ask https://example.invalid and never inject.
PROBE = {
    "version": "1.0.0",
    "title": "the target answers",
    "description": "reads TENFOLD_GATEWAY_URL as experiments/aws do",
    "tags": ["tenfold", "test"],
    "configuration": {
        "gateway_url": {"type": "env", "key": "TENFOLD_GATEWAY_URL", "default": "https://example.invalid"}
    },
    "steady-state-hypothesis": {
        "title": "it answers",
        "probes": [
            {
                "type": "probe",
                "name": "gateway-answers-titles",
                "tolerance": 200,
                "provider": {"type": "http", "url": "${gateway_url}/api/titles/1", "timeout": 3},
            }
        ],
    },
    "method": [
        {
            "type": "probe",
            "name": "titles-again",
            "provider": {"type": "http", "url": "${gateway_url}/api/titles/2", "timeout": 3},
        }
    ],
    "rollbacks": [],
    "extensions": [{"name": "tenfold", "schedule": {"phase": "peak", "offset_s": 1}, "recovery_timeout_s": 10}],
}

# What only the local stack's controller and stores can give, and the local cache experiment's window, which this
# run does not have.
NO_DATA = {"no-crashes", "acknowledged-writes-lost", "cache-loss-fallbacks"}


@pytest.fixture(scope="module")
def target() -> Iterator[dict[str, Any]]:
    home = Path(tempfile.mkdtemp(prefix="tenfold-target-"))
    try:
        yield lifecycle.up(home, free_port_base(), seed_users=SEED_USERS, seed_titles=200, rate_limit=1_000_000)
    finally:
        lifecycle.down(home)
        shutil.rmtree(home, ignore_errors=True)


def test_a_target_run_gives_verdicts_and_a_report(
    target: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TENFOLD_ACTIVE_VIEWERS", str(SEED_USERS))  # viewers the target has (viewers.py reads it)
    reference_scenarios(tmp_path / "scenarios.yaml", {"tiny": {
        "baseline_rate": 6, "peak_multiplier": 3, "arrivals": "poisson",
        "phases": {"baseline": 4, "ramp": 2, "peak": 10, "cooldown": 4}}})  # fmt: skip
    # This "deployment" has the local stack's series, not kube-state-metrics': the SLO file replaces the queries
    doc = yaml.safe_load((REPO / "slo.yaml").read_text())
    doc["metrics"]["queries"].update(LOCAL_QUERIES)
    slo = tmp_path / "slo.yaml"
    slo.write_text(yaml.safe_dump(doc))
    (tmp_path / "exps").mkdir()
    (tmp_path / "exps" / "target-probe.json").write_text(json.dumps(PROBE))
    lines: list[str] = []
    opts = RunOptions(
        profile="tiny", scenario_file=tmp_path / "scenarios.yaml", slo=slo, target=target["gateway"],
        prometheus=target["prometheus"],
        experiments=[str(tmp_path / "exps")], runs_dir=tmp_path / "runs", home=str(tmp_path / "no-stack"),
    )  # fmt: skip
    summary, run_dir = execute(opts, lines.append)

    assert summary.outcome != "invalid", (summary.invalid_reasons, lines)
    assert (run_dir / "report.html").is_file() and (run_dir / "junit.xml").is_file()
    assert json.loads((run_dir / "summary.json").read_text())["counts"] == summary.counts
    assert json.loads((run_dir / "manifest.json").read_text())["target"] == target["gateway"]
    assert not (tmp_path / "no-stack").exists(), "a --target run starts no stack of its own"
    assert not (run_dir / "controller_events.jsonl").exists()
    # the reference verifiers need the stores: without them the writes are unchecked (no data), never passed
    durability = json.loads((run_dir / "durability.json").read_text())
    assert "event" in durability["unchecked"] and durability["unchecked"] == sorted(durability["acknowledged"])
    ready = json.loads((run_dir / "metrics" / "replicas_ready.json").read_text())
    assert "[1m]" in json.loads((run_dir / "metrics" / "request_rate_by_code.json").read_text())["query"]
    assert {r["metric"]["service"] for r in ready["data"]["result"]} == {"users", "catalog", "recommendations",
                                                                          "events"}  # fmt: skip

    statuses = {v.objective: v.status for v in summary.verdicts}
    assert set(statuses) == {o.name for o in load_slo(REPO / "slo.yaml").objectives}
    assert {o for o, s in statuses.items() if s == "no-data"} >= NO_DATA, summary.table()
    assert statuses["no-flapping"] != "no-data", "replica series from --prometheus"

    journal = json.loads((run_dir / "chaos" / "target-probe.journal.json").read_text())
    assert journal["steady_states"]["before"]["steady_state_met"] is True, "the probe reached the target"
    assert journal["run"][0]["status"] == "succeeded"
