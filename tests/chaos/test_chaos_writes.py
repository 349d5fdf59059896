"""Every local experiment, one after another, under load with the write ledger: no acknowledged write is lost.

One ``tenfold run`` on a real stack: a small spike whose peak holds while each experiment in experiments/local
is injected in turn (pauses capped at 2 s, as in test_local_e2e, and 15 s apart so their windows do not overlap: at
10 s, cache-lost-30s took 14.6 s from its start to its end beside the suite's longest files, and the next experiment's
steady state found the cache still down; DynamoDB's outage 30 s after the database's restart, below).
Afterwards the ledger of acknowledged writes (My List adds, playback events) is reconciled with PostgreSQL and S3.

It shares the machine with other tests: its load is light (6 → 24 arrivals/s) and what it judges (writes lost,
crashes, the experiments' steady-state probes on answers and 5xx ratios) is not about CPU time.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from servers import free_port_base, reference_scenarios, tmpdir

from tenfold.run import REPO, RunOptions, execute

pytestmark = pytest.mark.e2e

SPACING_S = 15.0
MAX_PAUSE_S = 2.0
SLO = """
apiVersion: tenfold/v1
kind: SLO
metadata: {name: chaos-writes}
objectives:
  - {name: acknowledged-writes-lost, indicator: writes_lost, window: run, target: "== 0"}
  - {name: no-crashes, indicator: crashes, window: run, target: "== 0"}
"""
OVERLAY = """
hpa: {syncPeriodSeconds: 1, scaleUpStabilizationWindowSeconds: 0, scaleDownStabilizationWindowSeconds: 4,
      policyPeriodSeconds: 4, cpuBasis: limit}
env: {TENFOLD_DRAIN_SECONDS: "0.2"}
"""


def shortened(src: Path, dst: Path, offset_s: float) -> Path:
    exp = json.loads(src.read_text())
    for activity in exp["method"]:
        for when, seconds in activity.get("pauses", {}).items():
            activity["pauses"][when] = min(seconds, MAX_PAUSE_S)
    for ext in exp["extensions"]:
        if ext.get("name") == "tenfold":
            ext["schedule"] = {"phase": "peak", "offset_s": offset_s}
            ext["recovery_timeout_s"] = min(ext.get("recovery_timeout_s", 30), SPACING_S)
    dst.write_text(json.dumps(exp))
    return dst


def test_every_local_experiment_under_load_loses_no_acknowledged_write(tmp_path: Path) -> None:
    # The two outages last, the database's before DynamoDB's: their 5xx (503 + Retry-After) linger in the next
    # steady-state probe's 15 s window (`prometheus-5xx-ratio-below-1pct`), so nothing follows DynamoDB's, and
    # DynamoDB's comes twice the spacing after the database's (at 15 s its probe still saw the restart's 503s).
    last = ("postgres-restart", "dynamodb-outage")
    sources = sorted(
        (REPO / "experiments" / "local").glob("*.json"),
        key=lambda p: (last.index(p.stem) if p.stem in last else -1, p.stem),
    )
    offsets = [2 + i * SPACING_S + (SPACING_S if p.stem == last[-1] else 0) for i, p in enumerate(sources)]
    experiments = [shortened(p, tmp_path / p.name, at) for p, at in zip(sources, offsets, strict=True)]
    peak = offsets[-1] + SPACING_S
    reference_scenarios(tmp_path / "scenarios.yaml", {"chaos": {
        "baseline_rate": 6, "peak_multiplier": 4, "arrivals": "poisson",
        "phases": {"baseline": 4, "ramp": 2, "peak": peak, "cooldown": 6}}})  # fmt: skip
    (tmp_path / "slo.yaml").write_text(SLO)
    (tmp_path / "overlay.yaml").write_text(OVERLAY)
    home = tmpdir("chaos-writes")  # PostgreSQL runs as postgres: not under pytest's 0700 dir
    opts = RunOptions(
        profile="chaos", scenario_file=tmp_path / "scenarios.yaml", slo=tmp_path / "slo.yaml",
        experiments=[str(e) for e in experiments],
        runs_dir=tmp_path / "runs", home=str(home),
        stack_options={"base": free_port_base(), "seed_users": 300, "seed_titles": 200,
                       "overlay": tmp_path / "overlay.yaml"},
    )  # fmt: skip
    try:
        summary, run_dir = execute(opts, print)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    manifest = json.loads((run_dir / "manifest.json").read_text())
    injected = {e["name"] for e in manifest["experiments"] if e.get("injected_at")}
    assert injected == {p.stem for p in sources}, manifest["experiments"]
    durability = json.loads((run_dir / "durability.json").read_text())
    acknowledged = durability["acknowledged"]
    assert acknowledged["my-list"] > 0 and acknowledged["event"] > 0, durability
    assert durability["missing"] == [], durability["missing"][:5]
    # every acknowledged key was read back (`checked` counts distinct keys: a row removed twice is one key)
    assert durability["checked"].keys() == acknowledged.keys() and durability["errors"] == {}, durability
    assert all(0 < durability["checked"][k] <= acknowledged[k] for k in acknowledged), durability
    print(f"acknowledged {acknowledged}, unknown {durability['unknown']}, unverified {durability['unverified']}")
    verdicts = {v.objective: v for v in summary.verdicts}
    assert verdicts["acknowledged-writes-lost"].status == "pass", verdicts["acknowledged-writes-lost"]
    assert verdicts["no-crashes"].status == "pass", verdicts["no-crashes"]
