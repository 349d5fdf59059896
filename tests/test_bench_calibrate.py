"""bench/calibrate.py's tables: a study run in parts prints as one (runs, A/A and A/B pairs side by side)."""

from __future__ import annotations

from typing import Any

from bench.calibrate import merged, table


def _run(group: str, status: str, measured: float) -> dict[str, Any]:
    verdict = {"objective": "peak-title-latency-p99", "status": status, "measured": measured, "target_value": 0.25}
    return {"group": group, "exit_code": 0 if status == "pass" else 1, "summary": {"verdicts": [verdict]}}


def test_studies_run_in_parts_print_as_one() -> None:
    regression = {"metric": "latency p50 (CO)", "scope": "/api/titles/{id}"}
    first = {"runs": [_run("quick", "pass", 0.1)], "aa": [{"regressions": []}], "finished": "2026-12-06 07:37"}
    second = {"runs": [_run("quick", "pass", 0.2), _run("autoscaling off", "fail", 0.75)], "aa": [],
              "ab": [{"regressions": [regression]}], "finished": "2026-12-06 13:10",
              "machine": {"cpus": 2}}  # fmt: skip
    doc = merged([first, second])
    assert doc["finished"] == "2026-12-06 13:10" and doc["machine"] == {"cpus": 2}
    text = table(doc)
    assert "### quick (2 runs; exit codes: 0 x2)" in text
    assert "| peak-title-latency-p99 | 2 | 0 | 0 | 0.40 | 0.60 | 0.80 |" in text
    assert "### autoscaling off (1 runs; exit codes: 1 x1)" in text
    assert "| peak-title-latency-p99 | 0 | 1 | 0 | 3.00 | 3.00 | 3.00 |" in text
    assert "0 of 1 pairs flagged" in text and "1 of 1 pairs flagged" in text
    assert "- latency p50 (CO) /api/titles/{id}" in text
