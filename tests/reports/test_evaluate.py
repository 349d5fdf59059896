"""Every indicator passes on the default synthetic run and fails on the run that breaks it."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from reports.evaluate import Status, Summary, Verdict, evaluate, format_value
from reports.slo import SloFile, load_slo, parse_slo

ROOT = Path(__file__).resolve().parents[2]


def _by_objective(summary: Summary) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for v in summary.verdicts:
        out.setdefault(v.objective, []).append(v.status)
    return out


def test_default_run_passes_everything(runs: Callable[[str], Path], slo: SloFile) -> None:
    summary = evaluate(runs("default"), slo)
    assert summary.outcome == "pass" and summary.exit_code == 0, summary.table()
    assert summary.counts == {"pass": len(summary.verdicts), "fail": 0, "no-data": 0}
    for v in summary.verdicts:
        assert v.evidence and v.target and v.start is not None and v.end is not None


# (run that breaks it, objective in the default slo.yaml that must fail there)
BREAKS = [
    ("no_autoscaling", "peak-latency-p99"),  # latency, CO-corrected
    ("no_autoscaling", "peak-latency-p95-locust"),  # latency, Locust-style
    ("no_autoscaling", "scale-out-reaction"),
    ("no_fallbacks", "run-error-ratio"),
    ("no_fallbacks", "cache-loss-fallbacks"),
    ("no_fallbacks", "chaos-zero-critical-5xx"),
    ("shed_critical_first", "critical-availability"),
    ("shed_critical_first", "shed-best-effort-first"),
    ("over_hpa_max", "max-replicas"),
    ("flapping", "no-flapping"),
    ("no_scale_in", "scale-in-after-cooldown"),
    ("never_recovers", "chaos-recovery"),
    ("lost_write", "acknowledged-writes-lost"),
    ("crash", "no-crashes"),
]


@pytest.mark.parametrize(("run", "objective"), BREAKS)
def test_broken_run_fails_its_objective(
    runs: Callable[[str], Path], slo: SloFile, run: str, objective: str
) -> None:  # fmt: skip
    summary = evaluate(runs(run), slo)
    assert _by_objective(summary)[objective] == ["fail"], summary.table()
    assert _by_objective(evaluate(runs("default"), slo))[objective] == ["pass"]
    assert summary.outcome == "fail" and summary.exit_code == 1


def test_every_indicator_has_a_failing_run(slo: SloFile) -> None:
    broken = {o for _, o in BREAKS}
    indicators = {o.indicator for o in slo.objectives if o.name in broken}
    assert indicators == {o.indicator for o in slo.objectives}


def test_failures_stay_specific(runs: Callable[[str], Path], slo: SloFile) -> None:
    """Dropping one write fails durability only; nothing else in the run is blamed."""
    failed = [v.objective for v in evaluate(runs("lost_write"), slo).verdicts if v.status == "fail"]
    assert failed == ["acknowledged-writes-lost"]


def test_disabled_autoscaling_reads_as_never(runs: Callable[[str], Path], slo: SloFile) -> None:
    v = next(v for v in evaluate(runs("no_autoscaling"), slo).verdicts if v.objective == "scale-out-reaction")
    assert v.measured_text == "never" and "never grew" in v.evidence


def test_starved_generator_is_invalid_not_failed(runs: Callable[[str], Path], slo: SloFile) -> None:
    summary = evaluate(runs("starved_generator"), slo)
    assert summary.outcome == "invalid" and summary.exit_code == 2
    assert any("generator" in r for r in summary.invalid_reasons)


def test_invalid_beats_failed(run_copy: Callable[[str], Path], slo: SloFile) -> None:
    run = run_copy("no_autoscaling")
    man = json.loads((run / "manifest.json").read_text())
    man["validity"] = {"valid": False, "reasons": ["catalog never became ready"]}
    man["experiments"][0]["rollback_ok"] = False
    (run / "manifest.json").write_text(json.dumps(man))
    summary = evaluate(run, slo)
    assert summary.outcome == "invalid"
    assert summary.invalid_reasons == ["catalog never became ready", "experiment cache-lost-30s: rollback failed"]


def test_missing_evidence_is_no_data_not_pass(run_copy: Callable[[str], Path], slo: SloFile) -> None:
    run = run_copy("default")
    (run / "durability.json").unlink()
    for name in ("replicas_ready", "replicas_desired"):
        (run / "metrics" / f"{name}.json").unlink()
    statuses = _by_objective(evaluate(run, slo))
    for objective in ("acknowledged-writes-lost", "scale-out-reaction", "max-replicas", "no-flapping"):
        assert statuses[objective] == ["no-data"], objective
    assert statuses["peak-latency-p99"] == ["pass"]


def test_missing_requests_make_the_run_invalid(run_copy: Callable[[str], Path], slo: SloFile) -> None:
    run = run_copy("default")
    (run / "requests.parquet").unlink()
    summary = evaluate(run, slo)
    assert summary.outcome == "invalid" and "requests.parquet" in summary.invalid_reasons[0]
    assert _by_objective(summary)["peak-latency-p99"] == ["no-data"]


def test_windows_unknown_experiment_and_fan_out(runs: Callable[[str], Path]) -> None:
    slo = parse_slo("""
objectives:
  - {name: a, indicator: fallback_ratio, window: "chaos:nope", target: "> 0"}
  - {name: b, indicator: fallback_ratio, window: "chaos:*", target: "> 0"}
  - {name: c, indicator: latency, percentile: 50, route: "/api/titles/{id}", window: baseline, target: "<= 50ms"}
  - {name: d, indicator: latency, percentile: 50, route: "/api/nope", window: baseline, target: "<= 50ms"}
  - {name: e, indicator: error_ratio, priority: critical, window: chaos:cache-lost-30s, target: "<= 1%"}
""")
    vs = {v.objective: v for v in evaluate(runs("default"), slo).verdicts}
    assert vs["a"].status == "no-data" and "chaos:nope" in vs["a"].evidence
    assert vs["b"].window == "chaos:cache-lost-30s" and vs["b"].status == "pass"
    assert vs["c"].status == "pass" and "route=/api/titles/{id}" in vs["c"].evidence
    assert vs["d"].status == "no-data"
    assert vs["e"].status == "pass"


def test_summary_table_and_dict(runs: Callable[[str], Path], slo: SloFile) -> None:
    summary = evaluate(runs("never_recovers"), slo)
    d = json.loads(json.dumps(summary.to_dict(), allow_nan=False))
    rec = next(v for v in d["verdicts"] if v["objective"] == "chaos-recovery")
    assert rec["measured"] is None and rec["measured_text"] == "never" and rec["status"] == "fail"
    assert d["outcome"] == "fail" and d["exit_code"] == 1
    assert "FAIL" in summary.table() and "outcome: fail" in summary.table()


def test_one_noisy_cpu_sample_is_no_trigger(run_copy: Callable[[str], Path], slo: SloFile) -> None:
    """A single scrape over the target in the baseline must not start the reaction clock."""
    run = run_copy("default")
    path = run / "metrics" / "cpu_utilization.json"
    doc = json.loads(path.read_text())
    for series in doc["data"]["result"]:
        series["values"][5][1] = "0.99"
    path.write_text(json.dumps(doc))
    v = next(v for v in evaluate(run, slo).verdicts if v.objective == "scale-out-reaction")
    assert v.status == "pass" and "+22.0s" in v.evidence, v.evidence


# What a `tenfold run --target URL` run has no evidence for: no Prometheus of ours (metrics/), no controller
# (controller_events.jsonl), no access to the stores (durability.json). README "Deploy to AWS" lists these.
STACK_ONLY = {"scale-out-reaction", "scale-out-after-spike", "max-replicas", "no-flapping",
              "scale-in-after-cooldown", "no-crashes", "acknowledged-writes-lost"}  # fmt: skip


def test_a_target_run_says_no_data_for_what_needs_the_stack(run_copy: Callable[[str], Path], slo: SloFile) -> None:
    """Without the stack's evidence these objectives are "no data", never a pass (crashes included: no controller
    events is not "no crash"); everything measured from requests.parquet still gets a verdict."""
    import shutil

    run = run_copy("default")
    shutil.rmtree(run / "metrics")
    (run / "controller_events.jsonl").unlink()
    (run / "durability.json").unlink()
    summary = evaluate(run, slo)
    statuses = _by_objective(summary)
    assert {o for o, s in statuses.items() if s == ["no-data"]} == STACK_ONLY, summary.table()
    assert all(s == ["pass"] for o, s in statuses.items() if o not in STACK_ONLY)
    assert summary.outcome == "pass" and summary.counts["no-data"] == len(STACK_ONLY)


def test_a_pass_near_the_line_is_marked_in_the_summary_junit_and_report(
    runs: Callable[[str], Path], tmp_path: Path
) -> None:
    import shutil

    from reports.render import render

    run = tmp_path / "run"
    shutil.copytree(runs("default"), run)
    loose = "objectives:\n  - {name: p99, indicator: latency, percentile: 99, window: peak, target: '<= 10s'}\n"
    measured = evaluate(run, parse_slo(loose)).verdicts[0].measured
    assert measured is not None
    close = loose.replace("<= 10s", f"<= {measured * 1.05 * 1000:.1f}ms")  # 5% inside
    far = loose.replace("<= 10s", f"<= {measured * 1.5 * 1000:.1f}ms")
    near_summary = evaluate(run, parse_slo(close))
    (v,) = near_summary.verdicts
    assert v.status == "pass" and v.near_line and v.margin_text.endswith("under") and near_summary.near_line == ["p99"]
    render(run, near_summary)
    assert json.loads((run / "summary.json").read_text())["verdicts"][0]["near_line"] is True
    assert "near the line" in (run / "report.html").read_text() and "near the line" in (run / "junit.xml").read_text()
    far_summary = evaluate(run, parse_slo(far))
    assert not far_summary.verdicts[0].near_line and far_summary.near_line == []
    render(run, far_summary)
    assert "near the line" not in (run / "report.html").read_text()


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [(None, "s", "no data"), (1.0, "bool", "yes"), (0.5, "bool", "yes"), (0.4, "bool", "no"), (math.inf, "s", "never"),
     (math.inf, "count", "∞"), (0.25, "s", "250 ms"), (0.9996, "s", "1000 ms"), (1.0, "s", "1.00 s"),
     (0.9985, "ratio", "99.850%"), (0.999, "ratio", "99.9000%"), (0.99951, "ratio", "99.9510%"),
     (1.0, "ratio", "100.000%"), (3.0, "count", "3"), (2.5, "count", "2.5")],
)  # fmt: skip
def test_format_value(value: float | None, unit: str, text: str) -> None:
    assert format_value(value, unit) == text


def test_every_indicator_has_its_unit() -> None:
    from reports.evaluate import _unit

    objectives = [*load_slo(ROOT / "slo.yaml").objectives, *load_slo(ROOT / "slo-soak.yaml").objectives]
    units = {o.indicator: _unit(o) for o in objectives}
    assert units == {
        "latency": "s", "scale_out_reaction": "s", "recovery_time": "s", "error_ratio": "ratio",
        "availability": "ratio", "fallback_ratio": "ratio", "memory_growth": "ratio", "shed_order": "bool",
        "scale_in": "bool", "critical_5xx": "count", "max_replicas": "count", "flapping": "count",
        "writes_lost": "count", "crashes": "count",
    }  # fmt: skip


def test_summary_table() -> None:
    def verdict(objective: str, status: Status, **more: Any) -> Verdict:
        return Verdict(objective=objective, description="", indicator="latency", window="peak", start=0.0, end=1.0,
                       measured=0.2, measured_text="200 ms", target="<= 250ms", unit="s", status=status,
                       evidence="", **more)  # fmt: skip

    verdicts = [verdict("p99", "pass", margin=0.05, margin_text="5% under"),
                verdict("p50-long-name", "fail", partial=True, margin=-0.1, margin_text="10% over")]  # fmt: skip
    summary = Summary(run_id="r", run_dir="r", slo_name="s", outcome="invalid", invalid_reasons=["a", "b"],
                      verdicts=verdicts)  # fmt: skip
    assert summary.table() == (
        "status                objective      window          measured  target    margin  \n"
        "PASS (near the line)  p99            peak            200 ms    <= 250ms  5% under\n"
        "FAIL                  p50-long-name  peak (partial)  200 ms    <= 250ms  10% over\n"
        "outcome: invalid (a; b)"
    )
    assert summary.counts == {"pass": 1, "fail": 1, "no-data": 0} and summary.near_line == ["p99"]
    cut = "measured 200 ms vs target <= 250ms (peak, partial: the run was interrupted inside it)"
    assert (
        summary.verdicts[1].message == cut
        and summary.verdicts[0].message == "measured 200 ms vs target <= 250ms (peak)"
    )
    assert Summary("r", "r", "s", "pass", [], []).table().endswith("\noutcome: pass")


@pytest.mark.parametrize(
    ("load", "reason"),
    [({"valid": False}, "load generator: marked invalid"), ({"valid": False, "invalid_reason": "slow"},
                                                             "load generator: slow"), ({}, None)],
)  # fmt: skip
def test_the_load_generator_can_make_a_run_invalid(
    run_copy: Callable[[str], Path], slo: SloFile, load: dict[str, Any], reason: str | None
) -> None:
    run = run_copy("default")
    (run / "load.json").write_text(json.dumps(load))
    assert evaluate(run, slo).invalid_reasons == ([reason] if reason else [])


def test_a_manifest_without_its_reasons_and_no_manifest(run_copy: Callable[[str], Path], slo: SloFile,
                                                        tmp_path: Path) -> None:  # fmt: skip
    run = run_copy("default")
    man = json.loads((run / "manifest.json").read_text())
    (run / "manifest.json").write_text(json.dumps({**man, "validity": {"valid": False}}))
    assert evaluate(run, slo).invalid_reasons == ["the manifest marks the run invalid"]
    (run / "manifest.json").unlink()
    summary = evaluate(run, slo)
    assert summary.invalid_reasons == ["manifest.json is missing: this is not a run folder"]
    assert (summary.run_id, summary.started, summary.ended, summary.controls) == ("default", None, None, {})
    (tmp_path / "empty").mkdir()
    assert evaluate(tmp_path / "empty", slo).invalid_reasons == ["manifest.json is missing: this is not a run folder"]


def test_no_request_rows_make_the_run_invalid(run_copy: Callable[[str], Path], slo: SloFile) -> None:
    run = run_copy("default")
    (run / "requests.parquet").unlink()
    assert evaluate(run, slo).invalid_reasons == ["no request records (requests.parquet missing or empty)"]


def test_the_summary_tells_the_run(run_copy: Callable[[str], Path], slo: SloFile) -> None:
    run = run_copy("default")
    man = json.loads((run / "manifest.json").read_text())
    (run / "manifest.json").write_text(json.dumps({**man, "id": "run-42"}))
    summary = evaluate(run, slo)
    assert (summary.run_id, summary.run_dir, summary.slo_name) == ("run-42", str(run), "spike-default")
    assert (summary.started, summary.ended) == (man["started"], man["ended"])
    assert summary.controls == {"autoscaling": True, "fallbacks": True}


def test_a_symbolic_target_is_judged_against_the_value_it_stands_for(runs: Callable[[str], Path], slo: SloFile) -> None:
    (v,) = [v for v in evaluate(runs("default"), slo).verdicts if v.objective == "max-replicas"]
    assert (v.target, v.target_value, v.measured, v.status) == ("<= hpa_max = 8", 8.0, 6.0, "pass")
    assert v.margin == pytest.approx(0.25) and v.margin_text == "25% under"
    (v,) = [v for v in evaluate(runs("default"), slo).verdicts if v.objective == "peak-latency-p99"]
    assert v.target_value == 0.5 and v.target == "<= 500ms"


def test_a_ratio_target_is_as_far_as_its_budget_allows(runs: Callable[[str], Path]) -> None:
    """Availability >= 90% measured at 99%: 90% of the 10% error budget is left (not 10% above the 90%)."""
    slo = parse_slo("objectives:\n  - {name: a, indicator: availability, window: run, target: '>= 90%'}\n")
    (v,) = evaluate(runs("default"), slo).verdicts
    assert v.measured is not None and v.margin == pytest.approx((v.measured - 0.9) / 0.1)
