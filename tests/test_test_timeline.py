"""scripts/test_timeline.py: a suite's timeline as file spans per worker, and the seconds that order the suite."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[1]


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("test_timeline_script", REPO / "scripts" / "test_timeline.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


timeline = _script()

LINES = [
    {"worker": "gw0", "test": "tests/a.py::t1", "start": 100.0, "end": 101.0, "cpu": 0.5},
    {"worker": "gw0", "test": "tests/a.py::t2", "start": 101.0, "end": 130.0, "cpu": 12.25},
    {"worker": "gw1", "test": "tests/b.py::t1", "start": 100.5, "end": 100.9},
    {"worker": "gw1", "test": "tests/a.py::t3", "start": 101.0, "end": 103.6},
]


def test_a_files_tests_on_one_worker_are_one_span_from_first_setup_to_last_teardown() -> None:
    spans = timeline.spans(LINES)
    assert [(s.worker, s.path, s.tests) for s in spans] == [
        ("gw0", "tests/a.py", 2), ("gw1", "tests/b.py", 1), ("gw1", "tests/a.py", 1)]  # fmt: skip
    assert spans[0].seconds == pytest.approx(30.0)
    assert [s.cpu for s in spans] == [12.75, 0.0, 0.0]  # a line without cpu (an older timeline) counts none


def test_file_seconds_add_up_across_workers_and_leave_out_files_under_a_second() -> None:
    assert timeline.file_seconds(timeline.spans(LINES)) == {"tests/a.py": 33}  # 30 + 2.6, rounded; b.py: 0.4 s


def test_write_records_the_seconds_the_suite_orders_by(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source, out = tmp_path / "t.jsonl", tmp_path / "seconds.json"
    source.write_text("".join(json.dumps(x) + "\n" for x in LINES))
    assert timeline.main([str(source), "--write", str(out)]) == 0
    assert json.loads(out.read_text()) == {"tests/a.py": 33}
    printed = capsys.readouterr().out
    assert "4 tests in 30 s of wall time on 2 workers, 13 s of CPU" in printed
    assert "most CPU:\n    12.8 s of CPU in   30.0 s  gw0  tests/a.py" in printed
    assert timeline.main([str(source), "--bogus"]) == 2


def test_the_committed_seconds_name_only_files_that_exist() -> None:
    """A renamed or deleted test file would keep a stale entry: the suite would order by a file that is gone."""
    seconds = json.loads((REPO / "tests" / "file_seconds.json").read_text())
    assert len(seconds) >= 20
    assert [path for path in seconds if not (REPO / path).is_file()] == []
