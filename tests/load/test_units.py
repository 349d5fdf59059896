"""Schedule, recorder, self-check and merge, without Locust."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from tenfold.errors import ConfigError, UsageError
from tenfold.load import (
    HealthLimits,
    Ledger,
    Recorder,
    Schedule,
    judge,
    load_scenario,
    merge_run,
    zipf_rank,
    zipf_title_id,
)
from tenfold.load._health import allowed_cores

REPO = Path(__file__).resolve().parents[2]


def test_shipped_scenarios_have_quick_and_default_profiles() -> None:
    s = load_scenario(REPO / "locustfiles" / "scenarios.yaml", "spike")
    assert {"quick", "default"} <= set(s.profiles)
    sched = Schedule(s.profiles["quick"])
    assert [p.name for p in sched.phases] == ["baseline", "ramp", "peak", "cooldown"]
    assert sched.peak_rps == pytest.approx(10 * sched.baseline_rps)


def test_schedule_is_piecewise_linear() -> None:
    s = load_scenario(REPO / "locustfiles" / "scenarios.yaml", "spike")
    sched = Schedule(s.profiles["default"])
    r0, r1 = sched.baseline_rps, sched.peak_rps
    ramp = next(p for p in sched.phases if p.name == "ramp")
    assert sched.rate_at(0) == r0
    assert sched.rate_at((ramp.start + ramp.end) / 2) == pytest.approx((r0 + r1) / 2)
    assert sched.rate_at(ramp.end + 1) == r1
    assert sched.rate_at(sched.duration - 1) == r0
    assert sched.rate_at(sched.duration + 1) == 0.0


def _scenario_x(tmp_path: Path, *, rps: int, extra: str = "") -> Path:
    """A one-scenario file ``x`` (``extra``: more lines under ``x:``, before ``profiles``)."""
    p = tmp_path / "s.yaml"
    p.write_text(
        f"x:\n  journeys: {{home: 1}}\n{extra}  profiles:\n    default:\n      baseline_rps: {rps}\n"
        "      phases: {baseline: 1, ramp: 0, peak: 0, cooldown: 0}\n"
    )
    return p


def test_bad_scenario_names_the_field(tmp_path: Path) -> None:
    p = _scenario_x(tmp_path, rps=-1)
    with pytest.raises(ConfigError, match=r"s\.yaml:5:21: x\.profiles\.default\.baseline_rps: .*greater than 0"):
        load_scenario(p, "x")
    with pytest.raises(UsageError, match="no scenario named 'y'; --scenario takes one of: x"):
        load_scenario(p, "y")


def test_zipf_favours_low_ids() -> None:
    rng = random.Random(3)
    ids = np.array([zipf_title_id(rng) for _ in range(20_000)])
    assert ids.min() >= 1 and ids.max() <= 10_000
    assert (ids == 1).mean() > 5 * (ids == 10).mean()


def test_zipf_rank_stays_in_the_population_and_favours_low_ranks() -> None:
    rng = random.Random(5)
    ranks = np.array([zipf_rank(rng, 500, 1.0) for _ in range(20_000)])
    assert ranks.min() >= 1 and ranks.max() <= 500
    assert (ranks == 1).mean() > 5 * (ranks == 10).mean()
    flat = np.array([zipf_rank(rng, 500, 0.0) for _ in range(20_000)])
    assert flat.min() >= 1 and flat.max() <= 500
    assert (flat == 1).mean() < 3 * (flat == 10).mean() + 0.002


def test_shipped_spike_has_a_bounded_active_viewer_set(tmp_path: Path) -> None:
    viewers = load_scenario(REPO / "locustfiles" / "scenarios.yaml", "spike").viewers
    assert 0 < viewers.active <= 10_000 and viewers.zipf_s > 0
    p = _scenario_x(tmp_path, rps=1, extra="  viewers: {active: 0}\n")
    with pytest.raises(ConfigError, match=r"s\.yaml:3:21: x\.viewers\.active: .*greater than or equal to 1"):
        load_scenario(p, "x")


def test_recorder_grows_past_a_chunk_and_writes_dictionary_columns(tmp_path: Path) -> None:
    rec = Recorder(["/a", "/b/{id}"], worker=3)
    n = 70_000
    for i in range(n):
        rec.add(100.0 + i, 100.5 + i, 0.25, 0.001, i % 2, 0, 1, 200 if i % 7 else 503, i % 5 == 0, False)
    rec.write(tmp_path / "r.parquet")
    t = pq.read_table(tmp_path / "r.parquet")
    assert t.num_rows == n
    assert str(t.schema.field("route").type).startswith("dictionary")
    assert t.column("latency_co_s").to_numpy()[5] == pytest.approx(0.75)
    assert t.column("route").to_pylist()[:2] == ["/a", "/b/{id}"]
    assert t.column("priority").to_pylist()[0] == "degraded"
    assert (t.column("status").to_numpy() == 503).sum() == len(range(0, n, 7))
    assert set(t.column("worker").to_pylist()) == {3}


def test_judge_flags_hot_cpu_and_lag() -> None:
    lim = HealthLimits()
    hot = [(float(t), 0.97) for t in range(10)]
    v = judge(hot, 1.0, lim)
    assert not v.valid and "CPU" in (v.reason or "") and "--processes" in (v.reason or "")
    assert judge([(float(t), 0.97 if t % 3 else 0.2) for t in range(20)], 1.0, lim).valid
    v = judge([(1.0, 0.1)], 80.0, lim)
    assert not v.valid and "lag" in (v.reason or "")
    assert judge([(1.0, 0.1)], 10.0, lim).valid


def test_allowed_cores_without_quota_is_one_core() -> None:
    assert 0 < allowed_cores() <= 1.0


def test_merge_combines_parts_into_one_record(tmp_path: Path) -> None:
    parts = tmp_path / "parts"
    parts.mkdir()
    for w in (0, 1):
        rec = Recorder(["/x"], worker=w)
        for i in range(100):
            t = 1000.0 + i * 0.02 + w * 0.01
            rec.add(t, t + 0.001, 0.01, 0.001, 0, 0, 2, 200, False, False)
        rec.write(parts / f"requests-{w}.parquet")
        led = Ledger(parts / f"ledger-{w}.jsonl")
        led.my_list(7, 9, f"k{w}", 201, 1000.4 + w, 1000.5 + w)
        led.my_list_unknown(7, 9, f"u{w}", 0, 1000.6 + w, 1003.0 + w)  # not an acknowledged write
        led.close()
        (parts / f"health-{w}.json").write_text(json.dumps(
            {"worker": w, "cpu_samples": [[1001.0, 0.3]], "lag_p99_ms": 1.0}))  # fmt: skip
    sched = Schedule(load_scenario(REPO / "locustfiles" / "scenarios.yaml", "static").profiles["default"])
    doc = merge_run(tmp_path, scenario="static", profile="default", t0=1000.0, phases=sched.phases,
                    limits=HealthLimits(), expected_processes=2, target={})  # fmt: skip
    t = pq.read_table(tmp_path / "requests.parquet")
    assert t.num_rows == 200 and doc["requests"] == 200
    assert sorted(set(t.column("worker").to_pylist())) == [0, 1]
    assert doc["valid"] and doc["achieved_rates"]["baseline"] == pytest.approx(200 / 5)
    assert len((tmp_path / "ledger.jsonl").read_text().splitlines()) == 4 and doc["acknowledged_writes"] == 2
    doc = merge_run(tmp_path, scenario="static", profile="default", t0=1000.0, phases=sched.phases,
                    limits=HealthLimits(), expected_processes=3, target={})  # fmt: skip
    assert not doc["valid"] and "2 of 3" in doc["invalid_reason"]


def test_phases_go_into_the_manifest(tmp_path: Path) -> None:
    from reports.runfolder import RunFolder

    (tmp_path / "parts").mkdir()
    sched = Schedule(load_scenario(REPO / "locustfiles" / "scenarios.yaml", "spike").profiles["quick"])
    kw = {"scenario": "spike", "profile": "quick", "t0": 1000.0, "phases": sched.phases, "limits": HealthLimits(),
          "expected_processes": 0, "target": {}}  # fmt: skip
    merge_run(tmp_path, **kw)  # type: ignore[arg-type]
    man = RunFolder(tmp_path).manifest
    assert man is not None and [p.name for p in man.phases] == ["baseline", "ramp", "peak", "cooldown"]
    assert man.phases[1].start == pytest.approx(1000.0 + sched.phases[0].end)
    assert not man.valid  # no requests: invalid, and says so
    (tmp_path / "manifest.json").write_text(json.dumps({"id": "x", "phases": [], "experiments": [{"name": "e"}]}))
    merge_run(tmp_path, **kw)  # type: ignore[arg-type]
    doc = json.loads((tmp_path / "manifest.json").read_text())
    assert doc["experiments"] == [{"name": "e"}] and len(doc["phases"]) == 4
