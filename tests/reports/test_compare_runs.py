"""compare flags a run that got 2x slower or lost its fallbacks, and ignores noise between like runs."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from reports.compare import compare
from reports.evaluate import evaluate
from reports.render import write_summary
from reports.slo import SloFile


def test_same_distribution_is_no_regression(runs: Callable[[str], Path]) -> None:
    result = compare(runs("default"), runs("same_as_default"))
    assert not result.regressed, result.table()
    assert "no regression" in result.table()
    assert any(r.metric == "latency p95 (CO)" and r.p_value is not None for r in result.rows)


def test_twice_slower_is_a_latency_regression(runs: Callable[[str], Path]) -> None:
    result = compare(runs("default"), runs("twice_slower"))
    assert result.regressed
    metrics = {(r.metric, r.scope) for r in result.regressions}
    assert ("latency p95 (CO)", "all") in metrics
    assert all(r.metric.startswith("latency") for r in result.regressions)
    row = next(r for r in result.rows if (r.metric, r.scope) == ("latency p50 (CO)", "all"))
    assert row.p_value is not None and row.p_value < 1e-6
    assert row.a is not None and row.b is not None and 1.8 < row.b / row.a < 2.2
    assert "REGRESSED" in result.table()


def test_improvement_is_not_a_regression(runs: Callable[[str], Path]) -> None:
    assert not compare(runs("twice_slower"), runs("default")).regressed


def test_lost_fallbacks_regress_errors_and_objectives(
    runs: Callable[[str], Path], slo: SloFile, tmp_path: Path
) -> None:  # fmt: skip
    a, b = tmp_path / "a", tmp_path / "b"
    shutil.copytree(runs("default"), a)
    shutil.copytree(runs("no_fallbacks"), b)
    for run in (a, b):
        write_summary(evaluate(run, slo), run / "summary.json")
    result = compare(a, b)
    metrics = {(r.metric, r.scope) for r in result.regressions}
    assert ("error ratio", "all") in metrics and ("availability", "critical") in metrics
    assert ("objective cache-loss-fallbacks", "chaos:cache-lost-30s") in metrics
    assert result.to_dict()["regressed"] is True
