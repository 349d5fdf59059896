"""render writes one self-contained report.html, summary.json and junit.xml; Chromium renders it cleanly."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread

from reports.evaluate import evaluate
from reports.render import render
from reports.slo import SloFile

CHROMIUM = "/usr/bin/chromium"


def test_render_writes_every_file(run_copy: Callable[[str], Path], slo: SloFile) -> None:
    run = run_copy("no_fallbacks")
    summary = evaluate(run, slo)
    report = render(run, summary)
    assert report == run / "report.html"
    html = report.read_text()
    # verdict table first, then the charts
    assert html.index("<h2>Verdicts</h2>") < html.index("data:image/png;base64,")
    assert html.count("data:image/png;base64,") == 6
    assert {p.name for p in (run / "charts").iterdir()} == {
        f"{n}.png" for n in ("latency", "throughput", "replicas", "cache", "budget", "shedding")
    }
    # self-contained: nothing fetched, no JavaScript
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html) and "<script" not in html
    assert "chaos-zero-critical-5xx" in html and "s-fail" in html and "fallbacks OFF" in html
    assert "Controller events" in html and "steady state after: met; 1 rollback(s)" in html
    d = json.loads((run / "summary.json").read_text())
    assert d["outcome"] == "fail" and len(d["verdicts"]) == len(summary.verdicts)


def test_junit_one_case_per_verdict(run_copy: Callable[[str], Path], slo: SloFile) -> None:
    run = run_copy("lost_write")
    (run / "metrics" / "replicas_desired.json").unlink()  # flapping -> no data -> skipped
    summary = evaluate(run, slo)
    render(run, summary)
    suite = ET.parse(run / "junit.xml").getroot().find("testsuite")
    assert suite is not None
    cases = suite.findall("testcase")
    assert len(cases) == len(summary.verdicts) == int(suite.get("tests", "0"))
    failures = [c for c in cases if c.find("failure") is not None]
    assert [c.get("name") for c in failures] == ["acknowledged-writes-lost [run]"]
    failure = failures[0].find("failure")
    assert failure is not None and failure.get("message") == "measured 1 vs target == 0 (run)"
    assert suite.get("skipped") == str(summary.counts["no-data"]) != "0"


def test_invalid_run_is_an_error_in_junit(run_copy: Callable[[str], Path], slo: SloFile) -> None:
    run = run_copy("starved_generator")
    render(run, evaluate(run, slo))
    suite = ET.parse(run / "junit.xml").getroot().find("testsuite")
    assert suite is not None and suite.get("errors") == "1"
    assert "Run invalid" in (run / "report.html").read_text()


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium not installed (scripts/setup)")
def test_report_renders_in_headless_chromium(run_copy: Callable[[str], Path], slo: SloFile, tmp_path: Path) -> None:
    run = run_copy("default")
    report = render(run, evaluate(run, slo))
    shot = tmp_path / "report.png"
    argv = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0",
            f"--screenshot={shot}", "--window-size=1280,2400", report.as_uri()]  # fmt: skip
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        _, err = proc.communicate(timeout=90)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # chromium's helpers, only our own process group
    assert proc.returncode == 0, err[-2000:]
    console = [line for line in err.splitlines() if ":CONSOLE" in line]
    assert console == [], console
    pixels = imread(shot)
    assert pixels.shape[:2] == (2400, 1280)
    assert float(np.std(pixels[..., :3])) > 0.05  # not blank
    # the outcome badge (green) is drawn near the top
    top = pixels[:120, :, :3]
    assert np.any((top[..., 1] > 0.4) & (top[..., 0] < 0.3) & (top[..., 2] < 0.3))
    keep = os.environ.get("TENFOLD_KEEP_SCREENSHOT")
    if keep:
        shutil.copy(shot, keep)


def test_charts_drawn_in_a_forked_child_are_the_same(runs: Callable[[str], Path]) -> None:
    from reports.charts import make_charts
    from reports.runfolder import RunFolder

    run = RunFolder(runs("default"))
    serial = make_charts(run, parallel=False)
    forked = make_charts(run, parallel=True)
    assert [c.name for c in forked] == [c.name for c in serial] == ["latency", "throughput", "replicas", "cache",
                                                                     "budget", "shedding"]  # fmt: skip
    assert [c.png for c in forked] == [c.png for c in serial]
    assert [c.legend for c in forked] == [c.legend for c in serial]


def test_a_failing_child_falls_back_to_drawing_here(
    runs: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    import reports.charts as charts
    from reports.runfolder import RunFolder

    parent, draw = os.getpid(), charts._replicas

    def only_here(*args: object) -> object:
        if os.getpid() != parent:
            raise RuntimeError("the child breaks")
        return draw(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(charts, "_replicas", only_here)
    got = charts.make_charts(RunFolder(runs("default")), parallel=True)
    assert [c.name for c in got] == ["latency", "throughput", "replicas", "cache", "budget", "shedding"]


def test_the_child_is_reaped_after_its_charts_arrive() -> None:
    import time

    import psutil

    from reports.chart_fork import Forked

    ok, failing = Forked([lambda: None]), Forked([lambda: 1 / 0])  # type: ignore[list-item]
    assert ok.result() == [None] and failing.result() is None  # a child that failed wrote no whole pickle
    deadline = time.monotonic() + 10
    while any(psutil.pid_exists(f.pid) for f in (ok, failing)) and time.monotonic() < deadline:
        time.sleep(0.01)  # reaped by a thread while the charts are used
    assert not any(psutil.pid_exists(f.pid) for f in (ok, failing))


def test_the_shed_order_chart_appears_only_when_something_was_shed(run_copy: Callable[[str], Path]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from reports.charts import make_charts
    from reports.runfolder import RunFolder

    run = run_copy("default")
    assert "shedding" in [c.name for c in make_charts(RunFolder(run), parallel=False)]
    table = pq.read_table(run / "requests.parquet")
    status = table.column("status").to_numpy().copy()
    status[status == 429] = 200
    table = table.set_column(table.column_names.index("status"), "status", pa.array(status))
    if "shed" in table.column_names:
        table = table.set_column(table.column_names.index("shed"), "shed", pa.array(status < 0))
    pq.write_table(table, run / "requests.parquet")
    assert "shedding" not in [c.name for c in make_charts(RunFolder(run), parallel=False)]
