"""Indicator arithmetic on small hand-made inputs."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from reports.indicators import Measurement, measure, rolling_error_ratio
from reports.runfolder import RunFolder
from reports.slo import Objective, parse_slo
from reports.windows import Window


def test_rolling_error_ratio_windows() -> None:
    times = np.array([0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5])
    errors = np.array([False, True, True, False, False, False, False])
    t, ratio, total = rolling_error_ratio(times, errors, 0.0, 7.0, width=2.0)
    assert list(t) == [1, 2, 3, 4, 5, 6, 7]
    assert list(total) == [1, 2, 2, 2, 2, 2, 2]
    assert list(ratio) == [0.0, 0.5, 1.0, 0.5, 0.0, 0.0, 0.0]


def test_percentile_matches_numpy() -> None:
    from reports.indicators.requests import _percentile

    rng = np.random.default_rng(7)
    for n in (1, 2, 3, 10, 1001):
        x = rng.lognormal(size=n)
        for q in (50, 95, 99, 99.9):
            assert np.isclose(_percentile(x, q), np.percentile(x, q)), (n, q)


def _objective(yaml_text: str) -> Any:
    return parse_slo("objectives:\n" + yaml_text).objectives[0]


def _folder(tmp_path: Path, durability: dict[str, Any] | None = None, **manifest: Any) -> RunFolder:
    """A run folder with a manifest (started 0, ended 10, unless ``manifest`` says otherwise) and durability.json."""
    doc = {"id": "t", "started": 0.0, "ended": 10.0, "phases": [], **manifest}
    (tmp_path / "manifest.json").write_text(json.dumps(doc))
    if durability is not None:
        (tmp_path / "durability.json").write_text(json.dumps(durability))
    return RunFolder(tmp_path)


WRITES_LOST = "  - {name: w, indicator: writes_lost, window: run, target: '== 0'}\n"


@pytest.mark.parametrize(
    ("durability", "why"),
    [
        (None, "durability.json is missing (no acknowledged write was read back: see docs/ledger.md)"),
        ({"acknowledged": {}},
         "no acknowledged write in the ledger (the locustfile calls tenfold.ledger.acknowledged)"),
        ({"acknowledged": {"a": 3, "b": 1}, "unchecked": ["a", "b"]},
         "acknowledged a, b writes have no @ledger.verifier (or no store access)"),
        ({"acknowledged": {"a": 3}, "checked": {"a": 3}, "errors": {"a": 3}, "error_examples": ["ConnectError: x"]},
         "the verifiers failed for all 3 acknowledged writes, e.g. ConnectError: x"),
        ({"acknowledged": {"a": 3}, "checked": {"a": 3}, "errors": {"a": 3}},
         "the verifiers failed for all 3 acknowledged writes, e.g. ?"),
    ],
)  # fmt: skip
def test_writes_lost_has_no_data_rather_than_a_pass_without_evidence(
    tmp_path: Path, durability: dict[str, Any] | None, why: str
) -> None:
    m = measure(_folder(tmp_path, durability), _objective(WRITES_LOST), Window("run", 0.0, 10.0))
    assert m == Measurement(None, why)


@pytest.mark.parametrize(
    ("durability", "evidence"),
    [
        ({"acknowledged": 15, "checked": {"a": 15}}, "0 of 15 acknowledged writes missing"),
        ({"acknowledged": {"a": 15}, "checked": {"a": 15}, "missing": [{"kind": "a", "key": "k1"}, {"kind": "a"}]},
         "2 of 15 acknowledged writes missing, e.g. a:k1"),
    ],
    ids=["a total, nothing lost", "lost counted from the missing list"],
)  # fmt: skip
def test_writes_lost_older_durability_files(tmp_path: Path, durability: dict[str, Any], evidence: str) -> None:
    """durability.json may give the acknowledged writes as one number, and the lost only as a list."""
    m = measure(_folder(tmp_path, durability), _objective(WRITES_LOST), Window("run", 0.0, 10.0))
    assert m.evidence == evidence and m.value == float(evidence.split()[0])


def test_writes_lost_counts_the_lost_and_says_what_it_could_not_judge(tmp_path: Path) -> None:
    d = {
        "acknowledged": {"a": 10, "b": 5},
        "checked": {"a": 10, "b": 5},
        "lost": {"a": 2, "b": 1},
        "missing": [{"kind": "a", "key": "k1"}],
        "unverified": {"b": 1},
        "errors": {"a": 1},
        "unknown": {"a": 4},
    }
    m = measure(_folder(tmp_path, d), _objective(WRITES_LOST), Window("run", 0.0, 10.0))  # fmt: skip
    assert m.value == 3.0
    assert m.evidence == ("3 of 15 acknowledged writes missing, e.g. a:k1; 1 unverified, 1 unreadable, "
                          "4 with an unknown outcome (not counted)")  # fmt: skip


def _rows(tmp_path: Path, intended: list[float], **columns: list[Any]) -> None:
    """requests.parquet with one row per ``intended`` start; a column not given is a plain answered GET /x."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    n = len(intended)
    table: dict[str, Any] = {
        "intended_start": intended, "actual_start": intended, "latency_s": [0.01] * n, "latency_co_s": [0.01] * n,
        "route": ["/x"] * n, "method": ["GET"] * n, "priority": ["critical"] * n, "status": [200] * n,
        "degraded": [False] * n, **columns,
    }  # fmt: skip
    table["status"] = pa.array(table["status"], pa.int16())
    pq.write_table(pa.table(table), tmp_path / "requests.parquet")  # type: ignore[no-untyped-call]


def _requests(tmp_path: Path, priority: list[str], status: list[int], failed: list[bool]) -> None:
    n = len(status)
    _rows(tmp_path, [float(i) for i in range(n)], priority=priority, status=status, failed=failed, shed=[False] * n)


def test_objectives_filtered_by_priority_say_no_data_when_nothing_is_classified(tmp_path: Path) -> None:
    _requests(tmp_path, ["unclassified"] * 4, [200, 200, 500, 200], [False] * 4)
    run = _folder(tmp_path)
    w = Window("run", 0.0, 10.0)
    for text in ("  - {name: a, indicator: availability, priority: critical, window: run, target: '>= 99%'}\n",
                 "  - {name: c, indicator: critical_5xx, window: run, target: '== 0'}\n",
                 "  - {name: s, indicator: shed_order, window: run, target: true}\n"):  # fmt: skip
        assert measure(run, _objective(text), w).value is None, text
    unclassified = "  - {name: u, indicator: error_ratio, priority: unclassified, window: run, target: '<= 1%'}\n"
    assert measure(run, _objective(unclassified), w).value == pytest.approx(0.25)


def test_a_success_the_locustfile_marked_failed_is_an_error_a_4xx_is_not(tmp_path: Path) -> None:
    _requests(tmp_path, ["critical"] * 4, [200, 200, 404, 503], [True, False, True, True])
    m = measure(_folder(tmp_path), _objective("  - {name: e, indicator: error_ratio, window: run, target: '<= 1%'}\n"),
                Window("run", 0.0, 10.0))  # fmt: skip
    assert m.value == pytest.approx(0.5)  # the marked 200 and the 503; the 404 is the client's


# Hand-made run folders, each with one thing to notice. T is the window start: not 0, so an evidence offset
# ("+3.0s") is measured from the window, not from the epoch.
T = 1_000.0
W = Window("run", T, T + 100.0)


def _o(indicator: str, target: str, **fields: Any) -> Objective:
    """One objective over the ``run`` window (``fields`` as in the SLO file)."""
    o = {"name": "o", "indicator": indicator, "window": "run", "target": target, **fields}
    return parse_slo(f"objectives:\n  - {json.dumps(o)}\n").objectives[0]


def test_requests_missing_is_no_data(tmp_path: Path) -> None:
    for o in (_o("error_ratio", "<= 1%"), _o("shed_order", "true")):
        assert measure(_folder(tmp_path), o, W) == Measurement(None, "requests.parquet is missing")


def test_no_rows_says_which_filters_chose_none(tmp_path: Path) -> None:
    _rows(tmp_path, [T + 1, T + 2], priority=["best-effort", "critical"])
    run = _folder(tmp_path)
    o = _o("error_ratio", "<= 1%", route="/x", method="post", priority="critical")
    assert measure(run, o, W) == Measurement(
        None, "no request rows in the window (route=/x, method=post, priority=critical)"
    )
    # critical_5xx looks at critical requests unless told otherwise, and says so
    assert measure(run, _o("critical_5xx", "== 0", route="/y"), W) == Measurement(
        None, "no request rows in the window (route=/y, priority=critical)"
    )


def test_the_method_filter_chooses_rows(tmp_path: Path) -> None:
    _rows(tmp_path, [T + 1, T + 2], method=["GET", "POST"], status=[200, 503])
    m = measure(_folder(tmp_path), _o("error_ratio", "<= 1%", method="post"), W)
    assert m == Measurement(1.0, "1 errors (5xx or no response) of 1 requests (method=post); 0 shed")


def test_error_ratio_without_filters(tmp_path: Path) -> None:
    _rows(tmp_path, [T + 1, T + 2, T + 3, T + 4], status=[200, 503, 429, 200])
    m = measure(_folder(tmp_path), _o("error_ratio", "<= 1%"), W)
    assert m == Measurement(0.25, "1 errors (5xx or no response) of 4 requests; 1 shed")


def test_availability_counts_errors_and_shed_requests_as_not_good(tmp_path: Path) -> None:
    _rows(tmp_path, [T + 1, T + 2, T + 3, T + 4], status=[200, 503, 429, 200])
    m = measure(_folder(tmp_path), _o("availability", ">= 99%"), W)
    assert m == Measurement(0.5, "2 good of 4 requests (1 errors, 1 shed)")


def test_fallback_ratio_is_the_share_of_degraded_answers(tmp_path: Path) -> None:
    _rows(tmp_path, [T + 1, T + 2, T + 3, T + 4], degraded=[False, True, False, False])
    m = measure(_folder(tmp_path), _o("fallback_ratio", "<= 1%"), W)
    assert m == Measurement(0.25, "1 degraded answers of 4 requests")


def test_critical_5xx_counts_critical_errors_only(tmp_path: Path) -> None:
    _rows(tmp_path, [T + 1, T + 2, T + 3], priority=["critical", "critical", "best-effort"], status=[503, 200, 503])
    m = measure(_folder(tmp_path), _o("critical_5xx", "== 0"), W)
    assert m == Measurement(1.0, "1 5xx/no-response of 2 critical requests")


@pytest.mark.parametrize(
    ("measure_", "value", "kind"),
    [("co", 0.5, "CO-corrected (from intended start)"), ("locust", 0.01, "Locust-style (from actual start)")],
)
def test_latency_measured_from_intended_or_actual_start(tmp_path: Path, measure_: str, value: float, kind: str) -> None:
    _rows(tmp_path, [T + 1, T + 2], latency_s=[0.01, 0.01], latency_co_s=[0.5, 0.5])
    m = measure(_folder(tmp_path), _o("latency", "<= 1s", percentile=50, measure=measure_), W)
    assert m == Measurement(value, f"p50 of 2 requests, {kind}")


def test_latency_of_one_request_and_of_none_answered(tmp_path: Path) -> None:
    _rows(tmp_path, [T + 1, T + 2], latency_co_s=[0.2, float("nan")])
    o = _o("latency", "<= 1s", percentile=99)
    assert measure(_folder(tmp_path), o, W).value == pytest.approx(0.2)  # the one finite latency
    assert measure(_folder(tmp_path), o, Window("run", T + 2, T + 3)) == Measurement(
        None, "no finite latency in the window"
    )


BE, CR = "best-effort", "critical"


def _shed(tmp_path: Path, rows: list[tuple[float, str, bool]], route: list[str] | None = None) -> RunFolder:
    """Requests at T + offset of a priority, shed (429) or answered."""
    _rows(tmp_path, [T + t for t, _, _ in rows], priority=[p for _, p, _ in rows],
          status=[429 if shed else 200 for _, _, shed in rows], route=route or ["/x"] * len(rows))  # fmt: skip
    return _folder(tmp_path)


@pytest.mark.parametrize(
    ("rows", "holds", "evidence"),
    [
        pytest.param([(1, BE, True), (2, BE, False), (3, CR, False), (4, CR, False)], 1.0,
                     "best-effort first shed +1.0s, share 50.0%; critical first shed never, share 0.0%",
                     id="best-effort shed, critical never"),
        pytest.param([(1, BE, False), (2, BE, False), (3, CR, True), (4, CR, False)], 0.0,
                     "best-effort first shed never, share 0.0%; critical first shed +3.0s, share 50.0%",
                     id="critical shed, best-effort never"),
        pytest.param([(2.1, BE, True), (3, BE, True), (1, CR, True), (4, CR, False)], 0.0,
                     "best-effort first shed +2.1s, share 100.0%; critical first shed +1.0s, share 50.0%",
                     id="critical shed first by more than a second, best-effort the larger share"),
        pytest.param([(2, BE, True), (3, BE, True), (1, CR, True), (4, CR, False)], 1.0,
                     "best-effort first shed +2.0s, share 100.0%; critical first shed +1.0s, share 50.0%",
                     id="critical shed first by one second: one onset"),
        pytest.param([(1.9, BE, True), (3, BE, True), (1, CR, True), (4, CR, False)], 1.0,
                     "best-effort first shed +1.9s, share 100.0%; critical first shed +1.0s, share 50.0%",
                     id="critical shed first by 0.9 s: one onset"),
        pytest.param([(1.9, BE, True), (3, BE, False), (1, CR, True), (4, CR, True)], 0.0,
                     "best-effort first shed +1.9s, share 50.0%; critical first shed +1.0s, share 100.0%",
                     id="one onset, critical the larger share"),
        pytest.param([(1, BE, True), (2, BE, True), (1, CR, True), (2, CR, False)], 1.0,
                     "best-effort first shed +1.0s, share 100.0%; critical first shed +1.0s, share 50.0%",
                     id="shed at the same instant"),
        pytest.param([(1, BE, True), (2, BE, False), (3, CR, True), (4, CR, False)], 1.0,
                     "best-effort first shed +1.0s, share 50.0%; critical first shed +3.0s, share 50.0%",
                     id="the same share"),
        pytest.param([(1, BE, True), (2, BE, False), (3, BE, False), (4, BE, False), (5, CR, True), (6, CR, True)], 0.0,
                     "best-effort first shed +1.0s, share 25.0%; critical first shed +5.0s, share 100.0%",
                     id="best-effort shed first, critical the larger share"),
        pytest.param([(1, BE, True), (2, BE, False)], 1.0,
                     "best-effort first shed +1.0s, share 50.0%; critical first shed never, share 0.0%",
                     id="no critical request"),
        pytest.param([(1, BE, False), (2, CR, False)], 1.0, "no request was shed (1 best-effort, 1 critical)",
                     id="nothing shed"),
        pytest.param([(1, "degraded", True)], None, "no best-effort or critical requests in the window",
                     id="neither priority"),
    ],
)  # fmt: skip
def test_shed_order_best_effort_first_and_at_least_as_much(
    tmp_path: Path, rows: list[tuple[float, str, bool]], holds: float | None, evidence: str
) -> None:
    assert measure(_shed(tmp_path, rows), _o("shed_order", "true"), W) == Measurement(holds, evidence)


def test_shed_order_on_one_route(tmp_path: Path) -> None:
    run = _shed(tmp_path, [(1, CR, True), (2.5, BE, True), (3, CR, False)], route=["/b", "/a", "/a"])
    assert measure(run, _o("shed_order", "true", route="/a"), W).value == 1.0
    assert measure(run, _o("shed_order", "true"), W).value == 0.0  # /b shed a critical request first


Samples = tuple[dict[str, str], list[float], list[float]]


def _svc(service: str, *values: float, start: float = T) -> Samples:
    """One service's samples, one a second from ``start``."""
    return {"service": service}, [start + i for i in range(len(values))], list(values)


def _metric(tmp_path: Path, name: str, *series: Samples, query: str = "q") -> None:
    """metrics/<name>.json as Prometheus answers a range query."""
    (tmp_path / "metrics").mkdir(exist_ok=True)
    result = [
        {"metric": labels, "values": [[t, str(v)] for t, v in zip(ts, vs, strict=True)]} for labels, ts, vs in series
    ]
    doc = {"query": query, "data": {"resultType": "matrix", "result": result}}
    (tmp_path / "metrics" / f"{name}.json").write_text(json.dumps(doc))


def _hpa(target: float | None = None, max_: float | None = None) -> dict[str, float]:
    return {k: v for k, v in (("target_cpu_utilization", target), ("max", max_)) if v is not None}


SPIKE = _o("scale_out_reaction", "<= 30s", trigger="spike")
CPU = _o("scale_out_reaction", "<= 30s", trigger="cpu")
NO_SPIKE = "no service had a scale-out after the window start with replica data (replicas_ready, cpu_utilization, " \
           "manifest hpa)"  # fmt: skip
NO_CPU = "no service had a CPU crossing of the HPA target with replica data (replicas_ready, cpu_utilization, " \
         "manifest hpa)"  # fmt: skip


def test_scale_out_reaction_from_the_spike_to_the_first_new_ready_replica(tmp_path: Path) -> None:
    _metric(tmp_path, "replicas_ready", _svc("a", 2, 2, 2, 3, 4))
    assert measure(_folder(tmp_path), SPIKE, W) == Measurement(
        3.0, "slowest a: window start at +0.0s, ready 2→3 after 3.0s"
    )


def test_scale_out_reaction_never_grew(tmp_path: Path) -> None:
    _metric(tmp_path, "replicas_ready", _svc("a", 2, 2, 2))
    assert measure(_folder(tmp_path), SPIKE, W) == Measurement(
        math.inf, "slowest a: window start at +0.0s, ready 2→never grew"
    )


def test_scale_out_reaction_ready_series_starting_after_the_trigger(tmp_path: Path) -> None:
    """Before its first sample a service had what that sample says."""
    _metric(tmp_path, "replicas_ready", _svc("a", 2, 3, 4, start=T + 5))
    assert measure(_folder(tmp_path), SPIKE, W).value == 6.0


@pytest.mark.parametrize("desired", ["hpa_desired_replicas", "replicas_desired"])
def test_scale_out_reaction_needs_a_scale_out_to_react_to(tmp_path: Path, desired: str) -> None:
    _metric(tmp_path, "replicas_ready", _svc("a", 2, 2, 2))
    _metric(tmp_path, desired, _svc("a", 2, 2, 2))
    assert measure(_folder(tmp_path), SPIKE, W) == Measurement(None, NO_SPIKE)


def test_scale_out_reaction_reads_what_the_hpa_asked_for_when_autoscaling_is_off(tmp_path: Path) -> None:
    """A control run: the HPA asked for more, the deployment (autoscaling off) never got it: never, not no data."""
    _metric(tmp_path, "replicas_ready", _svc("a", 2, 2, 2))
    _metric(tmp_path, "replicas_desired", _svc("a", 2, 2, 2))
    _metric(tmp_path, "hpa_desired_replicas", _svc("a", 2, 4, 4))
    assert measure(_folder(tmp_path), SPIKE, W).value == math.inf


@pytest.mark.parametrize("skipped", ["nothing to react to", "no ready samples"])
def test_scale_out_reaction_skips_a_service_and_judges_the_next(tmp_path: Path, skipped: str) -> None:
    if skipped == "nothing to react to":
        _metric(tmp_path, "replicas_ready", _svc("a", 2, 2, 2), _svc("b", 2, 2, 3))
        _metric(tmp_path, "replicas_desired", _svc("a", 2, 2, 2), _svc("b", 2, 3, 3))
    else:
        _metric(tmp_path, "replicas_ready", _svc("a"), _svc("b", 2, 2, 3))
    assert measure(_folder(tmp_path), SPIKE, W) == Measurement(
        2.0, "slowest b: window start at +0.0s, ready 2→3 after 2.0s"
    )


def test_scale_out_reaction_is_the_slowest_service_first_by_name_on_a_tie(tmp_path: Path) -> None:
    _metric(tmp_path, "replicas_ready", _svc("a", 2, 3), _svc("b", 2, 3), _svc("c", 2, 2, 3), _svc("d", 2, 2, 3))
    m = measure(_folder(tmp_path), SPIKE, W)
    assert m == Measurement(2.0, "slowest c: window start at +0.0s, ready 2→3 after 2.0s")


def test_scale_out_reaction_without_evidence(tmp_path: Path) -> None:
    assert measure(_folder(tmp_path), SPIKE, W) == Measurement(None, "metrics/replicas_ready.json is missing or empty")
    _metric(tmp_path, "replicas_ready", _svc("a", 2, 3))
    o = _o("scale_out_reaction", "<= 30s", trigger="spike", service="nope")
    assert measure(_folder(tmp_path), o, W) == Measurement(None, NO_SPIKE)


def test_scale_out_reaction_from_two_cpu_samples_past_the_hpa_tolerance(tmp_path: Path) -> None:
    """The target is 70% (written as a percentage); the HPA acts beyond 77%, so 76.5% twice is no trigger."""
    _metric(tmp_path, "cpu_utilization", _svc("a", 0.765, 0.765, 0.9, 0.95, 0.95, 0.95, 0.95))
    _metric(tmp_path, "replicas_ready", _svc("a", 2, 2, 2, 2, 2, 3, 3))
    m = measure(_folder(tmp_path, hpa={"a": _hpa(target=70)}), CPU, W)
    assert m == Measurement(3.0, "slowest a: CPU 90% > 70% at +2.0s, ready 2→3 after 3.0s")


def test_scale_out_reaction_cpu_exactly_at_the_tolerance_is_no_trigger(tmp_path: Path) -> None:
    _metric(tmp_path, "cpu_utilization", _svc("a", 0.55, 0.55, 0.6, 0.6))  # 50% + 10% = 55%: not beyond
    _metric(tmp_path, "replicas_ready", _svc("a", 2, 2, 2, 3))
    m = measure(_folder(tmp_path, hpa={"a": _hpa(target=0.5)}), CPU, W)
    assert m == Measurement(1.0, "slowest a: CPU 60% > 50% at +2.0s, ready 2→3 after 1.0s")


def test_scale_out_reaction_two_samples_over_are_a_trigger(tmp_path: Path) -> None:
    _metric(tmp_path, "cpu_utilization", _svc("a", 0.1, 0.9, 0.9, 0.1))
    _metric(tmp_path, "replicas_ready", _svc("a", 2, 2, 2, 3))
    assert measure(_folder(tmp_path, hpa={"a": _hpa(target=0.7)}), CPU, W).value == 2.0


@pytest.mark.parametrize("skipped", ["no cpu samples", "no HPA target", "cpu never crossed"])
def test_scale_out_reaction_skips_a_service_without_a_cpu_trigger(tmp_path: Path, skipped: str) -> None:
    cpu = [_svc("b", 0.9, 0.9, 0.9)]
    if skipped != "no cpu samples":
        cpu.insert(0, _svc("a", *([0.9] * 3 if skipped == "no HPA target" else [0.2] * 3)))
    _metric(tmp_path, "cpu_utilization", *cpu)
    _metric(tmp_path, "replicas_ready", _svc("a", 2, 2, 2), _svc("b", 2, 3, 3))
    hpa = {"a": _hpa(target=0.7), "b": _hpa(target=0.7)}
    if skipped == "no HPA target":
        del hpa["a"]
    m = measure(_folder(tmp_path, hpa=hpa), CPU, W)
    assert m == Measurement(1.0, "slowest b: CPU 90% > 70% at +0.0s, ready 2→3 after 1.0s")


def test_scale_out_reaction_without_a_cpu_trigger_is_no_data(tmp_path: Path) -> None:
    _metric(tmp_path, "cpu_utilization", _svc("a", 0.9, 0.9, 0.9))
    _metric(tmp_path, "replicas_ready", _svc("a", 2, 3, 3))
    assert measure(RunFolder(tmp_path), CPU, W) == Measurement(None, NO_CPU)  # no manifest: no HPA target
    assert measure(_folder(tmp_path, hpa={"a": _hpa(target=95)}), CPU, W) == Measurement(None, NO_CPU)


@pytest.mark.parametrize(
    ("hpa", "fraction"),
    [({"a": _hpa(target=70)}, 0.7), ({"a": _hpa(target=0.7)}, 0.7), ({"a": _hpa(target=1.0)}, 1.0),
     ({"a": _hpa(target=2)}, 0.02), ({"a": _hpa(max_=8)}, None), ({}, None)],
)  # fmt: skip
def test_the_hpa_cpu_target_is_a_fraction_or_a_percentage(
    tmp_path: Path, hpa: dict[str, dict[str, float]], fraction: float | None
) -> None:
    """Above 1 it is a percentage (Kubernetes writes 70), up to 1 a fraction (0.7; 1.0 is 100%)."""
    from reports.indicators.scaling import _cpu_target

    assert _cpu_target(_folder(tmp_path, hpa=hpa), "a") == fraction


MAX = _o("max_replicas", "<= 8")
MAX_HPA = _o("max_replicas", "<= hpa_max")


def test_max_replicas_reads_desired_replicas(tmp_path: Path) -> None:
    _metric(tmp_path, "replicas_desired", _svc("a", 2, 6, 4), query="tenfold_desired_replicas")
    _metric(tmp_path, "replicas_ready", _svc("a", 2, 9, 4))
    assert measure(_folder(tmp_path), MAX, W) == Measurement(
        6.0, "a: at most 6 replicas; query tenfold_desired_replicas"
    )


def test_max_replicas_falls_back_to_ready_replicas(tmp_path: Path) -> None:
    _metric(tmp_path, "replicas_ready", _svc("a", 2, 9, 4))
    assert measure(_folder(tmp_path), MAX, W).value == 9.0


def test_max_replicas_without_samples(tmp_path: Path) -> None:
    missing = "metrics/replicas_desired.json and replicas_ready.json are missing or empty"
    assert measure(_folder(tmp_path), MAX, W) == Measurement(None, missing)
    _metric(tmp_path, "replicas_desired", _svc("a", 9, 9, start=T - 10))
    assert measure(_folder(tmp_path), MAX, W) == Measurement(None, "no replica samples in the window")
    assert measure(_folder(tmp_path, hpa={"a": _hpa(target=70)}), MAX_HPA, W) == Measurement(
        None, "no replica samples in the window for services with an HPA max"
    )


@pytest.mark.parametrize("values", [[9, 7, 1, 2, 9], [9, 2, 1, 7, 9]], ids=["at the start", "at the end"])
def test_max_replicas_window_includes_both_ends(tmp_path: Path, values: list[float]) -> None:
    _metric(tmp_path, "replicas_desired", ({"service": "a"}, [T - 1, T, T + 50, T + 100, T + 101], values))
    assert measure(_folder(tmp_path), MAX, W).value == 7.0


def test_max_replicas_against_each_services_hpa_max_names_the_furthest_over(tmp_path: Path) -> None:
    _metric(tmp_path, "replicas_desired", _svc("a", 2, 5), _svc("b", 2, 7))
    run = _folder(tmp_path, hpa={"a": _hpa(max_=4), "b": _hpa(max_=8)})
    assert measure(run, MAX_HPA, W) == Measurement(5.0, "a: at most 5 replicas (HPA max 4); query q", 4.0)


def test_max_replicas_against_hpa_max_all_under_names_the_closest(tmp_path: Path) -> None:
    _metric(tmp_path, "replicas_desired", _svc("a", 2, 3), _svc("b", 2, 5))
    run = _folder(tmp_path, hpa={"a": _hpa(max_=8), "b": _hpa(max_=8)})
    assert measure(run, MAX_HPA, W) == Measurement(5.0, "b: at most 5 replicas (HPA max 8); query q", 8.0)


def test_max_replicas_against_hpa_max_skips_services_without_one(tmp_path: Path) -> None:
    _metric(tmp_path, "replicas_desired", _svc("a", 2, 9), _svc("b", 2, 5))
    run = _folder(tmp_path, hpa={"b": _hpa(max_=8)})
    assert measure(run, MAX_HPA, W) == Measurement(5.0, "b: at most 5 replicas (HPA max 8); query q", 8.0)


def test_max_replicas_against_a_number_ignores_the_hpa_max(tmp_path: Path) -> None:
    _metric(tmp_path, "replicas_desired", _svc("a", 2, 5))
    assert measure(_folder(tmp_path, hpa={"a": _hpa(max_=4)}), MAX, W) == Measurement(
        5.0, "a: at most 5 replicas; query q"
    )
    (tmp_path / "manifest.json").unlink()
    assert measure(RunFolder(tmp_path), MAX, W).value == 5.0  # no manifest, no HPA: still measured


def test_max_replicas_names_the_first_service_on_a_tie_and_skips_one_without_samples(tmp_path: Path) -> None:
    _metric(tmp_path, "replicas_desired", _svc("a", 9, start=T - 10), _svc("b", 2, 5), _svc("c", 2, 5))
    assert measure(_folder(tmp_path), MAX, W) == Measurement(5.0, "b: at most 5 replicas; query q")


def test_series_of_one_service_are_summed(tmp_path: Path) -> None:
    """Per-instance series (two pods of one service) add up on the union of their timestamps."""
    one, two = (
        ({"service": "a", "pod": "1"}, [T, T + 2, T + 4], [1.0, 1.0, 1.0]),
        ({"service": "a", "pod": "2"}, [T + 1, T + 3], [2.0, 4.0]),
    )
    _metric(tmp_path, "replicas_desired", one, two)
    assert measure(_folder(tmp_path), MAX, W) == Measurement(5.0, "a: at most 5 replicas; query q")


def test_a_series_without_a_service_label_is_one_unnamed_service(tmp_path: Path) -> None:
    _metric(tmp_path, "replicas_desired", ({}, [T, T + 1], [2.0, 3.0]))
    assert measure(_folder(tmp_path), MAX, W) == Measurement(3.0, ": at most 3 replicas; query q")


FLAP = _o("flapping", "<= 2")


@pytest.mark.parametrize(
    ("values", "changes"),
    [([2, 3, 4, 5, 4, 3], 1), ([2, 3, 2, 3], 2), ([5, 4, 4, 3], 0), ([2, 3, 2], 1), ([2, 3], 0), ([2, 2, 2], 0)],
    ids=["up then down", "up-down-up", "a pause between two steps down", "one step each way", "one step", "flat"],
)
def test_flapping_counts_direction_changes_not_steps(tmp_path: Path, values: list[float], changes: int) -> None:
    _metric(tmp_path, "replicas_desired", _svc("a", *values))
    assert measure(_folder(tmp_path), FLAP, W) == Measurement(
        float(changes), f"a: {changes} direction changes over {len(values)} samples"
    )


def test_flapping_names_the_worst_service_first_by_name_on_a_tie(tmp_path: Path) -> None:
    _metric(tmp_path, "replicas_desired", _svc("a", 2, 3), _svc("b", 2, 3, 2), _svc("c", 2, 3, 2))
    assert measure(_folder(tmp_path), FLAP, W) == Measurement(1.0, "b: 1 direction changes over 3 samples")


def test_flapping_without_samples(tmp_path: Path) -> None:
    assert measure(_folder(tmp_path), FLAP, W) == Measurement(None, "metrics/replicas_desired.json is missing or empty")
    _metric(tmp_path, "replicas_desired", _svc("a", 2, 3))
    assert measure(_folder(tmp_path), _o("flapping", "<= 2", service="nope"), W) == Measurement(
        None, "no desired-replica samples for the service"
    )


SCALE_IN = _o("scale_in", "true")
W3 = Window("cooldown", T, T + 3)  # its end falls on the fourth sample


def test_scale_in_reads_desired_replicas_at_the_window_end(tmp_path: Path) -> None:
    _metric(tmp_path, "replicas_desired", _svc("a", 2, 6, 6, 3, 6))
    assert measure(_folder(tmp_path), SCALE_IN, W3) == Measurement(1.0, "a: 3 at end vs peak 6")


def test_scale_in_prefers_desired_to_ready_replicas(tmp_path: Path) -> None:
    """A killed replica dips ready replicas, which is no scale-in: desired decides when there is one."""
    _metric(tmp_path, "replicas_ready", _svc("a", 2, 6, 6, 3))
    assert measure(_folder(tmp_path), SCALE_IN, W3).value == 1.0
    _metric(tmp_path, "replicas_desired", _svc("a", 2, 6, 6, 6))
    assert measure(_folder(tmp_path), SCALE_IN, W3) == Measurement(0.0, "a: 6 at end vs peak 6")


@pytest.mark.parametrize(
    ("series", "holds", "evidence"),
    [
        ([_svc("a", 2, 2, 2, 2)], 1.0, "a: never scaled out (2)"),
        ([_svc("a", 2, 2, 2, 2), _svc("b", 2, 6, 6, 6)], 0.0, "a: never scaled out (2); b: 6 at end vs peak 6"),
        ([_svc("a", 2, 6, 6, 6), _svc("b", 2, 6, 6, 3)], 0.0, "a: 6 at end vs peak 6; b: 3 at end vs peak 6"),
        ([_svc("a"), _svc("b", 2, 6, 6, 3)], 1.0, "b: 3 at end vs peak 6"),
    ],
    ids=["never scaled out", "one never scaled out, one stayed out", "one stayed out", "one without samples"],
)
def test_scale_in_every_service_that_scaled_out(tmp_path: Path, series: list[Samples], holds: float,
                                                evidence: str) -> None:  # fmt: skip
    _metric(tmp_path, "replicas_desired", *series)
    assert measure(_folder(tmp_path), SCALE_IN, W3) == Measurement(holds, evidence)


def test_scale_in_without_samples(tmp_path: Path) -> None:
    assert measure(_folder(tmp_path), SCALE_IN, W3) == Measurement(
        None, "metrics/replicas_desired.json is missing or empty"
    )
    _metric(tmp_path, "replicas_desired", _svc("a", 2, 3))
    assert measure(_folder(tmp_path), _o("scale_in", "true", service="nope"), W3) == Measurement(
        None, "no replica samples for the service"
    )


CRASHES = _o("crashes", "== 0")
KILL = {"ts": T + 10, "kind": "replica_killed", "service": "catalog", "from": 1, "to": "SIGKILL"}
STOP = {"ts": T + 10, "kind": "component_stopped", "service": "redis", "from": None, "to": None}


def _died(after: float, service: str = "catalog", replica: int | None = 1) -> dict[str, Any]:
    if replica is None:
        return {"ts": T + 10 + after, "kind": "component_restarted", "service": service, "from": None}
    return {"ts": T + 10 + after, "kind": "replica_died", "service": service, "from": replica, "to": 4242}


def _events(tmp_path: Path, *events: dict[str, Any]) -> RunFolder:
    (tmp_path / "controller_events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    return _folder(tmp_path)


@pytest.mark.parametrize(
    ("events", "crashed"),
    [
        pytest.param([KILL, _died(0.3)], [], id="the killed replica died"),
        pytest.param([KILL, _died(0.0)], [], id="died at the kill's instant"),
        pytest.param([KILL, _died(10.0)], [], id="died 10 s after the kill"),
        pytest.param([KILL, _died(10.5)], ["catalog#1"], id="died 10.5 s after the kill"),
        pytest.param([KILL, _died(-1.0)], ["catalog#1"], id="died before the kill"),
        pytest.param([KILL, _died(0.3, replica=0)], ["catalog#0"], id="another replica died"),
        pytest.param([KILL, _died(0.3, service="users")], ["users#1"], id="another service's replica died"),
        pytest.param([{**STOP, "kind": "component_killed"}, _died(60.0, "redis", None)], [], id="killed, restarted"),
        pytest.param([STOP, _died(30.0, "redis", None)], [], id="stopped, restarted"),
        pytest.param([STOP, _died(61.0, "redis", None)], ["redis"], id="restarted 61 s after the stop"),
        pytest.param([KILL, _died(5.0, "redis", None)], ["redis"], id="restarted, never told to stop"),
        pytest.param([STOP, _died(5.0, "postgres", None)], ["postgres"], id="another component restarted"),
    ],
)
def test_crashes_are_deaths_no_kill_or_stop_explains(
    tmp_path: Path, events: list[dict[str, Any]], crashed: list[str]
) -> None:
    """A replica killed through the control API may die within 10 s, a stopped component be restarted within 60 s:
    that is the chaos. Any other death or restart is a crash, named service#replica or by component."""
    m = measure(_events(tmp_path, *events), CRASHES, W)
    if crashed:
        assert m == Measurement(float(len(crashed)), f"died on their own: {', '.join(crashed)}")
    else:
        assert m == Measurement(0.0, "no process died on its own (2 controller events)")


def test_crashes_in_the_window_only(tmp_path: Path) -> None:
    # from just before the window's start to just after its end; e has no time: it is in no window
    run = _events(tmp_path, _died(-10.0 - 1e-3, "a"), _died(-10.0, "b"), _died(90.0, "c"), _died(90.0 + 1e-3, "d"),
                  {"kind": "replica_died", "service": "e", "from": 1})  # fmt: skip
    assert measure(run, CRASHES, Window("run", T, T + 100)) == Measurement(2.0, "died on their own: b#1, c#1")


def test_crashes_names_ten_and_counts_all(tmp_path: Path) -> None:
    m = measure(_events(tmp_path, *[_died(i, f"s{i:02}") for i in range(12)]), CRASHES, W)
    assert m == Measurement(12.0, "died on their own: " + ", ".join(f"s{i:02}#1" for i in range(10)))


def test_crashes_without_a_controller_is_no_data(tmp_path: Path) -> None:
    assert measure(RunFolder(tmp_path), CRASHES, W) == Measurement(None, "manifest.json is missing")
    assert measure(_folder(tmp_path), CRASHES, W) == Measurement(
        None, "controller_events.jsonl is missing (no controller saw the processes: a --target run)"
    )


def test_writes_lost_is_judged_without_a_window(tmp_path: Path) -> None:
    """An interrupted run never reached its cooldown, say; what was acknowledged was still read back."""
    d = {"acknowledged": {"a": 2}, "checked": {"a": 2}}
    m = measure(_folder(tmp_path, d), _objective(WRITES_LOST), Window("cooldown", None, None))
    assert m == Measurement(0.0, "0 of 2 acknowledged writes missing")
    assert measure(_folder(tmp_path, d), FLAP, Window("cooldown", None, None)) == Measurement(
        None, "the run has no window 'cooldown'"
    )


def test_memory_growth_in_a_window_the_run_does_not_have(tmp_path: Path) -> None:
    from reports.indicators import measure_each

    o = _o("memory_growth", "<= 10%")
    assert measure_each(_folder(tmp_path), o, Window("peak", None, None)) == [
        ("", Measurement(None, "the run has no window 'peak'"))
    ]


def test_rolling_error_ratio_with_a_step_of_two_seconds() -> None:
    times, errors = np.array([0.5, 1.5, 2.5, 3.5]), np.array([True, False, False, False])
    t, ratio, total = rolling_error_ratio(times, errors, 0.0, 4.0, width=2.0, step=2.0)
    assert (list(t), list(ratio), list(total)) == ([2.0, 4.0], [0.5, 0.0], [2.0, 2.0])


def test_rolling_error_ratio_of_a_window_shorter_than_a_step() -> None:
    t, ratio, total = rolling_error_ratio(np.array([0.2]), np.array([True]), 0.0, 0.5, width=5.0)
    assert (list(t), list(ratio), list(total)) == ([1.0], [1.0], [1.0])


def test_rolling_error_ratio_leaves_out_rows_outside_and_is_zero_without_rows() -> None:
    times, errors = np.array([-0.5, 0.5, 3.5]), np.array([True, True, True])
    t, ratio, total = rolling_error_ratio(times, errors, 0.0, 3.0, width=1.0)
    assert (list(t), list(ratio), list(total)) == ([1.0, 2.0, 3.0], [1.0, 0.0, 0.0], [1.0, 0.0, 0.0])


INJECTED = {"name": "x", "start": T - 1, "end": T + 20, "injected_at": T, "recovered_at": T + 20,
            "status": "completed", "rollback_ok": True}  # fmt: skip


def _recovery(tmp_path: Path, rows: list[tuple[float, bool]], experiments: list[dict[str, Any]] | None = None,
              **fields: Any) -> Measurement:  # fmt: skip
    """recovery_time of experiment x (injected at T) over requests at T + offset, each an error or not."""
    from reports.windows import resolve

    routes, priorities = fields.pop("routes", ["/x"] * len(rows)), fields.pop("priorities", [CR] * len(rows))
    _rows(tmp_path, [T + t for t, _ in rows], status=[503 if e else 200 for _, e in rows], route=routes,
          priority=priorities)  # fmt: skip
    run = _folder(tmp_path, started=T - 10, ended=T + 100, experiments=experiments or [INJECTED])
    (w,) = resolve("chaos:x", run.manifest)
    o = _o("recovery_time", "<= 30s", window="chaos:x", **{"sliding_s": 1, "threshold": 0.5, **fields})
    return measure(run, o, w)


def test_recovery_when_the_error_ratio_is_back_under_the_threshold(tmp_path: Path) -> None:
    """An error ratio at the threshold is not yet recovered: the last such window ends 1 s after the injection."""
    m = _recovery(tmp_path, [(0.2, True), (0.4, False), (1.5, False), (2.5, False)])
    assert m == Measurement(1.0, "last 1s window with error ratio ≥ 50% ended at +1.0s")


def test_recovery_after_one_failed_request_alone_in_its_window(tmp_path: Path) -> None:
    assert _recovery(tmp_path, [(0.5, True), (1.5, False), (2.5, False)]).value == 1.0


def test_recovery_never_lost(tmp_path: Path) -> None:
    m = _recovery(tmp_path, [(0.5, False), (1.5, False), (2.5, False)])
    assert m == Measurement(0.0, "error ratio over 1s never reached 50% (3 requests)")


def test_recovery_never_recovered(tmp_path: Path) -> None:
    m = _recovery(tmp_path, [(0.5, True), (50.5, False), (99.5, True)])
    assert m == Measurement(math.inf, "error ratio still ≥ 50% at +100s (3 requests)")


def test_recovery_ends_at_the_next_injection(tmp_path: Path) -> None:
    """Errors after the next experiment's injection are that experiment's."""
    later = {**INJECTED, "name": "y", "start": T + 49, "end": T + 70, "injected_at": T + 50, "recovered_at": T + 70}
    m = _recovery(tmp_path, [(0.5, False), (60.5, True), (61.5, False)], experiments=[INJECTED, later])
    assert m == Measurement(0.0, "error ratio over 1s never reached 50% (1 requests)")


@pytest.mark.parametrize("only", [{"route": "/a"}, {"priority": "critical"}])
def test_recovery_of_chosen_requests(tmp_path: Path, only: dict[str, str]) -> None:
    rows = [(0.5, True), (0.6, False), (1.5, False)]  # the error is on /b, best-effort
    m = _recovery(tmp_path, rows, routes=["/b", "/a", "/a"], priorities=[BE, CR, CR], **only)
    assert m.value == 0.0


def test_recovery_without_evidence(tmp_path: Path) -> None:
    from reports.runfolder import Experiment

    missing = Measurement(None, "requests.parquet or the experiment's injection time is missing")
    _rows(tmp_path, [T + 0.5], status=[503])
    exp = Experiment("x", T - 1, T + 20, T, T + 20, "completed", True)
    o, w = _o("recovery_time", "<= 30s", window="chaos:x"), Window("chaos:x", T, T + 20, exp)
    assert measure(RunFolder(tmp_path), o, w) == missing  # no manifest
    assert measure(_folder(tmp_path), o, replace(w, experiment=replace(exp, injected_at=None))) == missing
    run = _folder(tmp_path, ended=T + 100)
    assert measure(run, o, w).value == 5.0  # one request, an error: the 5 s window holding it
    later = replace(exp, injected_at=T + 1)
    assert measure(run, o, replace(w, experiment=later)) == Measurement(None, "no request rows after the injection")
