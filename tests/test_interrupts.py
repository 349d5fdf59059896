"""An interrupted run keeps its evidence: SIGTERM, SIGINT or SIGHUP to ``tenfold run`` (the process alone, or its
whole group) while an experiment is in progress stops the load, keeps every answered request, rolls the experiment
back, writes the report within seconds, exits 2 and leaves no process behind. Windows the run never reached have
no data; the ones it was stopped inside are judged over what happened and marked partial.

A ``--target`` run against a local server (no stack), with a plain Chaos Toolkit experiment whose method sleeps
(it is "in progress" for 30 s) and whose rollback writes a file.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pyarrow.parquet as pq
import pytest
from load._server import Server
from load.conftest import locustfile

pytestmark = pytest.mark.e2e

SCENARIO = """
spike:
  health: {lag_p99_ms: 1000}
  profiles:
    long:
      baseline_rate: 30
      peak_multiplier: 2
      phases: {baseline: 3, ramp: 1, peak: 40, cooldown: 20}
"""

SLO = """
objectives:
  - {name: baseline-p99, indicator: latency, percentile: 99, window: baseline, target: "<= 5s"}
  - {name: peak-errors, indicator: error_ratio, window: peak, target: "<= 1%"}
  - {name: cooldown-p99, indicator: latency, percentile: 99, window: cooldown, target: "<= 5s"}
  - {name: run-errors, indicator: error_ratio, window: run, target: "<= 1%"}
  - {name: chaos-errors, indicator: error_ratio, window: "chaos:slow-fault", target: "<= 1%"}
  - {name: late-chaos-errors, indicator: error_ratio, window: "chaos:late-fault", target: "<= 1%"}
"""


def _experiment(marker: Path, sleep_s: int) -> dict[str, object]:
    return {
        "version": "1.0.0",
        "title": "a fault that takes its time",
        "description": "method: a long sleep (in progress when the signal comes); rollback: writes a marker",
        "method": [{"type": "action", "name": "hold", "provider": {"type": "process", "path": "sleep",
                                                                   "arguments": str(sleep_s)}}],
        "rollbacks": [{"type": "action", "name": "undo", "provider": {
            "type": "process", "path": "sh", "arguments": ["-c", f"echo rolled-back >> {marker}"]}}],
    }  # fmt: skip


@pytest.fixture
def target() -> Iterator[Server]:
    srv = Server().start()
    yield srv
    srv.stop()


def _start(target: Server, tmp_path: Path, slow: dict[str, object] | None = None) -> subprocess.Popen[bytes]:
    (tmp_path / "scenario.yaml").write_text(SCENARIO)
    (tmp_path / "slo.yaml").write_text(SLO)
    (tmp_path / "slow-fault.json").write_text(json.dumps(slow or _experiment(tmp_path / "rolled-back", 30)))
    (tmp_path / "late-fault.json").write_text(json.dumps(_experiment(tmp_path / "late-rolled-back", 1)))
    argv = [str(Path(sys.executable).parent / "tenfold"), "run", "--target", target.url, "--locustfile",
            str(locustfile(tmp_path)), "--scenario-file", str(tmp_path / "scenario.yaml"), "--profile", "long",
            "--slo", str(tmp_path / "slo.yaml"), "--runs-dir", str(tmp_path / "runs"), "--experiments",
            f"{tmp_path / 'slow-fault.json'}@peak+1s", f"{tmp_path / 'late-fault.json'}@cooldown+5s"]  # fmt: skip
    log = (tmp_path / "run.log").open("wb")
    return subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def _wait_for_the_fault(proc: subprocess.Popen[bytes], tmp_path: Path) -> None:
    log = tmp_path / "runs" / "latest" / "chaos" / "slow-fault.log"
    deadline = time.monotonic() + 60
    while not (log.exists() and "Playing your experiment's method" in log.read_text()):
        assert proc.poll() is None and time.monotonic() < deadline, (tmp_path / "run.log").read_text()[-3000:]
        time.sleep(0.2)
    time.sleep(1.0)


def _left_behind(tmp_path: Path) -> list[str]:
    return [" ".join(p.info["cmdline"] or [])[:150] for p in psutil.process_iter(["cmdline"])
            if str(tmp_path) in " ".join(p.info["cmdline"] or [])]  # fmt: skip


@pytest.mark.parametrize("to", ["process", "group"])
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP], ids=lambda s: s.name)
def test_a_signal_mid_fault_keeps_the_evidence_rolls_back_and_reports(
    target: Server, tmp_path: Path, sig: signal.Signals, to: str
) -> None:
    proc = _start(target, tmp_path)
    try:
        _wait_for_the_fault(proc, tmp_path)
        sent = time.monotonic()
        answered_before = target.count
        (os.kill if to == "process" else os.killpg)(proc.pid, sig)
        run_dir = tmp_path / "runs" / "latest"
        while not (run_dir / "report.html").exists():
            assert proc.poll() is None or (run_dir / "report.html").exists(), "exited without a report"
            assert time.monotonic() - sent < 10, "no report within 10 s of the signal"
            time.sleep(0.1)
        report_s = time.monotonic() - sent
        proc.wait(60)
        exit_s = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    out = (tmp_path / "run.log").read_text()
    print(f"{sig.name} to the {to}: report after {report_s:.1f} s, exit after {exit_s:.1f} s")
    assert proc.returncode == 2, out[-3000:]
    assert exit_s < 25, f"exited {exit_s:.1f} s after the signal (report after {report_s:.1f} s)"
    assert _left_behind(tmp_path) == []

    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["outcome"] == "invalid" and f"interrupted by {sig.name}" in summary["invalid_reasons"]
    assert any("not injected, the run stopped first: late-fault" in r for r in summary["invalid_reasons"])

    # every request the server answered is a row; nothing the generator sent before the signal is lost
    t = pq.read_table(run_dir / "requests.parquet")
    answered = int((t.column("status").to_numpy() > 0).sum())
    assert answered == target.count >= answered_before > 100

    # the fault in progress rolled back (its journal says so, and the rollback's file is there)
    journal = json.loads((run_dir / "chaos" / "slow-fault.journal.json").read_text())
    assert journal["status"] == "interrupted" and [r["status"] for r in journal["rollbacks"]] == ["succeeded"]
    assert (tmp_path / "rolled-back").read_text() == "rolled-back\n"
    assert not (tmp_path / "late-rolled-back").exists()

    verdicts = {v["objective"]: v for v in summary["verdicts"]}
    assert verdicts["cooldown-p99"]["status"] == "no-data"  # never reached
    assert verdicts["late-chaos-errors"]["status"] == "no-data"  # never injected
    # Completed before the signal: judged whole. Its verdict is the machine's (p99 over 5 s once, on a starved one).
    baseline = verdicts["baseline-p99"]
    assert baseline["status"] in ("pass", "fail") and baseline["measured"] is not None and not baseline["partial"]
    for cut in ("peak-errors", "run-errors", "chaos-errors"):  # stopped inside: judged, and marked
        assert verdicts[cut]["status"] == "pass" and verdicts[cut]["partial"], verdicts[cut]
    assert "partial" in (run_dir / "junit.xml").read_text() and "partial" in (run_dir / "report.html").read_text()


def test_a_second_signal_cuts_the_rollback_wait_short_and_still_reports(target: Server, tmp_path: Path) -> None:
    """An experiment whose rollback hangs: the first SIGTERM waits for it, the second stops waiting; the run is
    still written (and says the rollback was cut), nothing is left behind."""
    exp = _experiment(tmp_path / "rolled-back", 30)
    exp["rollbacks"] = [{"type": "action", "name": "stuck", "provider": {"type": "process", "path": "sleep",
                                                                          "arguments": "120"}}]  # fmt: skip
    proc = _start(target, tmp_path, exp)
    try:
        _wait_for_the_fault(proc, tmp_path)
        os.kill(proc.pid, signal.SIGTERM)
        run_dir = tmp_path / "runs" / "latest"
        deadline = time.monotonic() + 15
        while not (run_dir / "report.html").exists():
            assert time.monotonic() < deadline
            time.sleep(0.1)
        sent = time.monotonic()
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(30)
        assert time.monotonic() - sent < 15
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 2
    manifest = json.loads((run_dir / "manifest.json").read_text())
    (exp_doc,) = [e for e in manifest["experiments"] if e["name"] == "slow-fault"]
    assert any("a second signal cut its rollback short" in p for p in exp_doc["problems"]), exp_doc
    assert _left_behind(tmp_path) == []
