"""``python -m bench NAME --help`` prints that bench's help and runs nothing (a run rewrites its committed results)."""

from __future__ import annotations

import pytest

from bench.__main__ import RESULTS, main


def test_help_of_a_bench_prints_its_docstring_and_writes_no_result(capsys: pytest.CaptureFixture[str]) -> None:
    result = RESULTS / "reports.json"
    before = result.stat().st_mtime_ns
    assert main(["reports", "--help"]) == 0
    out = capsys.readouterr().out
    assert "evaluate + render of a 1M-row run folder" in out and "=== bench/reports.py ===" not in out
    assert result.stat().st_mtime_ns == before
