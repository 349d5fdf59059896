"""Run folders that are partial or written differently still evaluate and render (no data, not a crash)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from reports.evaluate import evaluate
from reports.render import render
from reports.runfolder import RunFolder
from reports.slo import SloFile

T0 = 1_700_000_000.0


def _manifest(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True)
    (path / "manifest.json").write_text(json.dumps({
        "id": path.name, "started": T0, "ended": T0 + 10,
        "phases": [{"name": "baseline", "start": T0, "end": T0 + 5}, {"name": "peak", "start": T0 + 5, "end": T0 + 10}],
        "experiments": [], "controls": {"autoscaling": True, "fallbacks": True}, "hpa": {},
        "validity": {"valid": True, "reasons": []},
    }))  # fmt: skip


def test_plain_strings_unsorted_rows_and_shed_column(tmp_path: Path, slo: SloFile) -> None:
    run = tmp_path / "plain"
    _manifest(run)
    intended = np.array([T0 + 7, T0 + 1, T0 + 8, T0 + 2, T0 + 9])
    pq.write_table(pa.table({  # type: ignore[no-untyped-call]
        "intended_start": intended, "actual_start": intended, "latency_s": [0.5, 0.01, 0.5, 0.01, 0.5],
        "latency_co_s": [0.6, 0.01, 0.6, 0.01, 0.6], "route": ["/a", "/b", "/a", "/b", "/a"],
        "method": ["GET"] * 5, "priority": ["critical", "best-effort", "critical", "critical", "best-effort"],
        "status": pa.array([200, 200, 503, 200, 503], pa.int16()), "degraded": [False] * 5,
        "shed": [False, False, False, False, True],
    }), run / "requests.parquet")  # fmt: skip
    req = RunFolder(run).requests
    assert req is not None
    assert list(req.intended) == sorted(intended)
    assert list(req.latency) == [0.01, 0.01, 0.5, 0.5, 0.5]  # columns moved with the sort
    assert int(req.shed.sum()) == 1 and int(req.error.sum()) == 1  # the 503 with Retry-After is a shed
    sel = req.select(T0 + 5, T0 + 10, route="/a", priority="critical")
    assert sel.count() == 2 and sel.count_true(req.error) == 1
    summary = evaluate(run, slo)
    statuses = {v.objective: v.status for v in summary.verdicts}
    assert statuses["peak-latency-p99"] == "fail" and statuses["baseline-latency-p99"] == "pass"
    assert statuses["scale-out-reaction"] == "no-data" and statuses["chaos-recovery"] == "no-data"
    assert summary.outcome == "fail"
    html = render(run, summary).read_text()
    # latency, throughput, budget, shed order (one row was shed): the metrics-based charts are left out
    assert html.count("data:image/png") == 4 and "Shed order by priority" in html


def test_empty_folder_is_invalid_and_still_renders(tmp_path: Path, slo: SloFile) -> None:
    summary = evaluate(tmp_path, slo)
    assert summary.outcome == "invalid" and "manifest.json is missing" in summary.invalid_reasons[0]
    assert all(v.status == "no-data" for v in summary.verdicts)
    assert "Run invalid" in render(tmp_path, summary).read_text()


def test_zero_rows_are_invalid(tmp_path: Path, slo: SloFile) -> None:
    run = tmp_path / "zero"
    _manifest(run)
    empty = pa.table({
        "intended_start": pa.array([], pa.float64()), "actual_start": pa.array([], pa.float64()),
        "latency_s": pa.array([], pa.float64()), "latency_co_s": pa.array([], pa.float64()),
        "route": pa.array([], pa.string()), "method": pa.array([], pa.string()), "priority": pa.array([], pa.string()),
        "status": pa.array([], pa.int16()), "degraded": pa.array([], pa.bool_()),
    })  # fmt: skip
    pq.write_table(empty, run / "requests.parquet")  # type: ignore[no-untyped-call]
    summary = evaluate(run, slo)
    assert summary.outcome == "invalid" and "empty" in summary.invalid_reasons[0]
    render(run, summary)


def test_columns_read_two_at_a_time_are_the_columns(tmp_path: Path) -> None:
    from reports.runfolder import _Ahead

    path = tmp_path / "t.parquet"
    table = pa.table({name: np.arange(4) * (i + 1) for i, name in enumerate("abcde")})
    pq.write_table(table, path)  # type: ignore[no-untyped-call]
    for asked in ("abcd", "acbd", "dcba", "aebcd"):  # e is not in the order: read alone
        ahead = _Ahead(pq.ParquetFile(path), list("abcd"))  # type: ignore[no-untyped-call]
        for name in asked:
            assert ahead(name).to_pylist() == table.column(name).to_pylist(), (asked, name)
            assert len(ahead.ahead) <= 1
