"""Schedule, recorder, self-check and merge, without Locust."""

from __future__ import annotations

import json
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
    locustfile_of,
    merge_run,
    priority_of,
    workload_misfit,
)
from tenfold.load._health import allowed_cores
from tenfold.load._recorder import ROUTE_CAP

REPO = Path(__file__).resolve().parents[2]


def test_shipped_scenarios_have_quick_and_default_profiles() -> None:
    s = load_scenario(REPO / "locustfiles" / "scenarios.yaml", "spike")
    assert {"quick", "default"} <= set(s.profiles)
    sched = Schedule(s.profiles["quick"])
    assert [p.name for p in sched.phases] == ["baseline", "ramp", "peak", "cooldown"]
    assert sched.peak_rate == pytest.approx(10 * sched.baseline_rate)
    assert locustfile_of(s, REPO / "locustfiles" / "scenarios.yaml") == REPO / "locustfiles" / "viewers.py"


def test_schedule_is_piecewise_linear() -> None:
    s = load_scenario(REPO / "locustfiles" / "scenarios.yaml", "spike")
    sched = Schedule(s.profiles["default"])
    r0, r1 = sched.baseline_rate, sched.peak_rate
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
        f"x:\n  locustfile: lf.py\n{extra}  profiles:\n    default:\n      baseline_rate: {rps}\n"
        "      phases: {baseline: 1, ramp: 0, peak: 0, cooldown: 0}\n"
    )
    return p


def test_bad_scenario_names_the_field(tmp_path: Path) -> None:
    p = _scenario_x(tmp_path, rps=-1)
    with pytest.raises(ConfigError, match=r"s\.yaml:5:22: x\.profiles\.default\.baseline_rate: .*greater than 0"):
        load_scenario(p, "x")
    with pytest.raises(UsageError, match="no scenario named 'y'; --scenario takes one of: x"):
        load_scenario(p, "y")


def test_a_scenarios_locustfile_is_relative_to_the_scenario_file(tmp_path: Path) -> None:
    p = _scenario_x(tmp_path, rps=1)
    assert locustfile_of(load_scenario(p, "x"), p) == tmp_path.resolve() / "lf.py"
    p.write_text(p.read_text().replace("  locustfile: lf.py\n", ""))
    assert locustfile_of(load_scenario(p, "x"), p) is None


def test_priority_comes_from_the_header_and_anything_else_is_unclassified() -> None:
    assert [priority_of(v) for v in ("critical", "Degraded ", b"best-effort")] == [0, 1, 2]
    assert {priority_of(v) for v in (None, "high", "", 3)} == {3}


def test_recorder_grows_past_a_chunk_and_writes_dictionary_columns(tmp_path: Path) -> None:
    rec = Recorder(worker=3)
    n = 70_000
    for i in range(n):
        rec.add(100.0 + i, 100.5 + i, 0.25, ("/a", "/b/{id}")[i % 2], "GET", 1, 200 if i % 7 else 503, i % 5 == 0,
                False, i % 11 == 0)  # fmt: skip
    rec.write(tmp_path / "r.parquet")
    t = pq.read_table(tmp_path / "r.parquet")
    assert t.num_rows == n
    assert str(t.schema.field("route").type).startswith("dictionary")
    assert t.column("latency_co_s").to_numpy()[5] == pytest.approx(0.75)
    assert t.column("route").to_pylist()[:2] == ["/a", "/b/{id}"]
    assert t.column("priority").to_pylist()[0] == "degraded"
    assert (t.column("status").to_numpy() == 503).sum() == len(range(0, n, 7))
    assert set(t.column("worker").to_pylist()) == {3}
    assert t.column("failed").to_numpy(zero_copy_only=False).sum() == len(range(0, n, 11))


def test_past_200_route_names_the_rest_are_other_and_counted(tmp_path: Path) -> None:
    rec = Recorder()
    for i in range(ROUTE_CAP + 50):
        rec.add(1.0, 1.0, 0.01, f"/items/{i}", "GET", 3, 200, False, False, False)
    rec.add(1.0, 1.0, 0.01, "/items/3", "GET", 3, 200, False, False, False)  # a known name keeps its own code
    routes = rec.table().column("route").to_pylist()
    assert len(set(routes)) == ROUTE_CAP + 1 and routes.count("other") == 50 and routes[-1] == "/items/3"
    assert rec.routes.overflow_requests == 50 and len(rec.routes.overflow_names) == 50


def test_a_workload_answered_mostly_404_405_401_does_not_fit_the_target() -> None:
    ok = np.array([200] * 51 + [404] * 49)
    assert workload_misfit(ok) is None
    bad = np.array([200] * 40 + [404] * 30 + [405] * 20 + [401] * 10)
    reason = workload_misfit(bad)
    assert reason is not None and "60 of 100" in reason and "30 x 404" in reason and "--locustfile" in reason
    assert workload_misfit(np.array([500] * 100)) is None  # a broken service is the service's verdict, not invalid


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
        rec = Recorder(worker=w)
        for i in range(100):
            t = 1000.0 + i * 0.02 + w * 0.01
            rec.add(t, t + 0.001, 0.01, f"/x{w}", "GET", 2, 200, False, False, False)  # each its own dictionary
        rec.write(parts / f"requests-{w}.parquet")
        led = Ledger(parts / f"ledger-{w}.jsonl", w)
        led.write("item", f"k{w}", "acknowledged", 1000.4 + w, 1000.5 + w)
        led.write("item", f"u{w}", "unknown", 1000.6 + w, 1003.0 + w)  # not an acknowledged write
        led.close()
        (parts / f"health-{w}.json").write_text(json.dumps(
            {"worker": w, "cpu_samples": [[1001.0, 0.3]], "lag_p99_ms": 1.0, "scheduled": 50,
             "arrivals_by_phase": {"baseline": 50}, "on_start": {"runs": 2, "failures": 1}}))  # fmt: skip
    sched = Schedule(load_scenario(_scenario_x(tmp_path, rps=20), "x").profiles["default"])
    sched.phases[0] = sched.phases[0].model_copy(update={"end": 5.0})
    doc = merge_run(tmp_path, scenario="x", profile="default", t0=1000.0, phases=sched.phases,
                    limits=HealthLimits(), expected_processes=2, target={})  # fmt: skip
    t = pq.read_table(tmp_path / "requests.parquet")
    assert t.num_rows == 200 and doc["requests"] == 200 and doc["arrivals"] == 100
    assert sorted(set(t.column("worker").to_pylist())) == [0, 1]
    assert sorted(set(t.column("route").to_pylist())) == ["/x0", "/x1"]
    assert doc["valid"] and doc["achieved_rates"]["baseline"] == pytest.approx(100 / 5)
    assert doc["achieved_request_rates"]["baseline"] == pytest.approx(200 / 5)
    assert len((tmp_path / "ledger.jsonl").read_text().splitlines()) == 4 and doc["acknowledged_writes"] == 2
    doc = merge_run(tmp_path, scenario="x", profile="default", t0=1000.0, phases=sched.phases,
                    limits=HealthLimits(), expected_processes=3, target={})  # fmt: skip
    assert not doc["valid"] and "2 of 3" in doc["invalid_reason"]


def test_a_run_whose_every_on_start_failed_is_invalid(tmp_path: Path) -> None:
    parts = tmp_path / "parts"
    parts.mkdir()
    rec = Recorder()
    rec.add(1000.0, 1000.0, 0.01, "/login", "POST", 3, 503, False, False, True)
    rec.write(parts / "requests-0.parquet")
    health = {"worker": 0, "cpu_samples": [], "lag_p99_ms": 1.0,
              "on_start": {"runs": 3, "failures": 3, "first_failure": "U.on_start: HTTPError: 503"}}  # fmt: skip
    (parts / "health-0.json").write_text(json.dumps(health))
    doc = merge_run(tmp_path, scenario="x", profile="p", t0=1000.0, phases=[], limits=HealthLimits(),
                    expected_processes=1, target={})  # fmt: skip
    assert not doc["valid"] and "every on_start failed (3 of 3; first: U.on_start: HTTPError: 503)" in doc[
        "invalid_reason"]  # fmt: skip
    health["on_start"] = {"runs": 3, "failures": 2}
    (parts / "health-0.json").write_text(json.dumps(health))
    assert merge_run(tmp_path, scenario="x", profile="p", t0=1000.0, phases=[], limits=HealthLimits(),
                     expected_processes=1, target={})["valid"]  # fmt: skip


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
