"""Output that fits where it goes: a log gets one unwrapped line per row; --json gives machine-readable output;
--version says what runs."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from rich.console import Console
from synthetic import Knobs, make_run

from tenfold.output import LoadProgress, Tick
from tenfold.run import REPO

TENFOLD = str(Path(sys.executable).parent / "tenfold")
LONG = "x" * 150  # longer than any terminal's 80 columns


def _tenfold(*args: str, columns: str = "80") -> subprocess.CompletedProcess[str]:
    """The CLI with stdout to a pipe, as in a CI job."""
    env = {**os.environ, "COLUMNS": columns, "NO_COLOR": "1"}
    return subprocess.run([TENFOLD, *args], capture_output=True, text=True, env=env, timeout=120, cwd=REPO)


def test_validate_in_a_log_is_one_line_per_file_however_long(tmp_path: Path) -> None:
    bad = tmp_path / f"slo-{LONG}.yaml"
    bad.write_text("objectives:\n  - {name: a, indicator: latncy, window: run, target: '<= 1s'}\n")
    out = _tenfold("validate", str(REPO / "slo.yaml"), str(bad))
    assert out.returncode == 65
    lines = out.stdout.splitlines()
    assert lines[0] == "validate"
    (line,) = [ln for ln in lines if LONG in ln]  # the file and its error on one line, not folded
    assert line.startswith("FAIL") and "unknown indicator 'latncy'" in line
    assert any(ln.startswith("ok") and "slo.yaml" in ln and "20 objectives" in ln for ln in lines)
    assert "\x1b[" not in out.stdout  # NO_COLOR, and not a terminal: no escape codes


def test_validate_json(tmp_path: Path) -> None:
    doc = json.loads(_tenfold("validate", "--json", str(REPO / "slo.yaml")).stdout)
    assert doc == {"valid": True, "files": [{"file": "slo.yaml", "valid": True, "result": "SLO file, 20 objectives"}]}


def test_report_in_a_log_is_one_line_per_verdict_and_json_on_request(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run", Knobs(rows=5000, fallbacks=False))
    shutil.copy(REPO / "slo.yaml", run / "slo.yaml")
    out = _tenfold("report", str(run))
    assert out.returncode == 1
    lines = out.stdout.splitlines()
    verdicts = json.loads((run / "summary.json").read_text())["verdicts"]
    for v in verdicts:  # every verdict on one line, its evidence whole
        assert sum(v["objective"] in ln and v["evidence"] in ln for ln in lines) >= 1, v["objective"]
    assert any(ln.startswith("fail") and "cache-loss-fallbacks" in ln for ln in lines)
    assert any(ln.startswith("FAIL") and "passed" in ln for ln in lines)
    doc = json.loads(_tenfold("report", str(run), "--json").stdout)
    assert doc["schema_version"] == 1 and doc["outcome"] == "fail" and len(doc["verdicts"]) == len(verdicts)


def test_version() -> None:
    out = _tenfold("--version")
    assert out.returncode == 0 and out.stdout.startswith("tenfold ") and out.stdout.split()[1][0].isdigit()


def test_load_progress_in_a_log_is_one_plain_line_per_tick() -> None:
    lines: list[str] = []
    progress = LoadProgress(lines.append, live=False)
    assert progress.interval == 5.0
    tick = Tick(elapsed=45.2, total=115, phase="peak", rate=746.6, replicas={"catalog": 8, "users": 2},
                faults=["kill-recommendation-replicas"])  # fmt: skip
    progress.update(tick)
    progress.update(Tick(elapsed=50, total=115, phase="peak"))  # no Prometheus to ask: no rate, no replicas
    progress.close()
    assert lines == ["+   45s of 115s peak          747 req/s  cata=8 user=2  chaos: kill-recommendation-replicas",
                     "+   50s of 115s peak"]  # fmt: skip


def test_load_progress_on_a_terminal_is_a_live_bar_and_log_lines_scroll_above_it() -> None:
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=140, color_system=None)
    said: list[str] = []
    progress = LoadProgress(said.append, console=console)
    assert progress.live and progress.interval == 1.0
    progress.update(Tick(elapsed=10, total=115, phase="baseline", rate=80, replicas={"catalog": 2}))
    console.print("a log line while the bar is up")
    progress.update(Tick(elapsed=45, total=115, phase="peak", rate=747, replicas={"catalog": 8},
                         faults=["cache-lost-30s"]))  # fmt: skip
    progress.close()
    shown = screen.getvalue()
    assert said == []  # the ticks went to the bar, not to the log
    assert "a log line while the bar is up" in shown
    final = shown.rsplit("\r", 1)[-1]  # what stays on the screen: the last state of the bar
    assert "peak" in final and "45/115 s" in final and "747 req/s" in final and "cata=8" in final
    assert "chaos: cache-lost-30s" in final and "━" in final
