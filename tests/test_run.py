"""``tenfold run`` end to end on a real local stack, and the control run that must fail.

A tiny profile (16 s of load, 20 → 100 rps) with a short whole-cache loss at peak. With fallbacks the
degradation objective passes; with ``--disable fallbacks`` the very same run fails it, and in that run a write
acknowledged but never stored (users' test hook) fails durability too; a generator starved by a cgroup quota
makes the run invalid (exit 2), not failed. The passing run and the starved one share a stack (``tenfold run``
uses the stack running at ``--home``); the others start their own (small seed, fast autoscaling overlay), as
they need another stack or watch the stack they started stop.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from servers import CPU_CGROUP, cpu_capped_group, free_port_base, reference_scenarios, tmpdir

from tenfold.cli import main as cli
from tenfold.run import REPO, RunOptions, execute
from tenfold.stack import lifecycle

pytestmark = pytest.mark.e2e

SLO = """
apiVersion: tenfold/v1
kind: SLO
metadata: {name: e2e}
objectives:
  - name: cache-loss-fallbacks
    indicator: fallback_ratio
    window: "chaos:cache-lost-short"
    target: "> 0"
  - name: acknowledged-writes-lost
    indicator: writes_lost
    window: run
    target: "== 0"
  - name: baseline-latency-p99
    indicator: latency
    percentile: 99
    measure: co
    window: baseline
    target: "<= 2s"
"""

OVERLAY = """
hpa: {syncPeriodSeconds: 1, scaleUpStabilizationWindowSeconds: 0, scaleDownStabilizationWindowSeconds: 4,
      policyPeriodSeconds: 4, cpuBasis: limit}
env: {TENFOLD_DRAIN_SECONDS: "0.2", TENFOLD_CACHE_DOWN_STORE_RPS: "1"}
"""


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("run-files")
    scenarios = yaml.safe_load((REPO / "locustfiles" / "scenarios.yaml").read_text())
    # For the autoscaling control run: the default spike's rates (40 -> 400 req/s) in 45 s. At the quick spike's
    # 80 req/s catalog's CPU is already over the HPA target in the baseline, so what it asks for can grow before
    # the ramp (window start) and not after it: scale-out-after-spike then has no data instead of failing.
    short_spike = {**scenarios["spike"]["profiles"]["default"],
                   "phases": {"baseline": 10, "ramp": 10, "peak": 20, "cooldown": 5}}  # fmt: skip
    reference_scenarios(d / "scenarios.yaml", {
        "tiny": {"baseline_rate": 6, "peak_multiplier": 5, "arrivals": "poisson",
                 "phases": {"baseline": 3, "ramp": 1, "peak": 10, "cooldown": 2}},
        "short-spike": short_spike})  # fmt: skip
    exp = json.loads((REPO / "experiments" / "local" / "cache-lost-30s.json").read_text())
    for activity in exp["method"]:
        if activity.get("pauses", {}).get("after", 0) > 4:
            activity["pauses"]["after"] = 4  # an 8 s loss instead of 30 s
    for ext in exp["extensions"]:
        if ext.get("name") == "tenfold":
            ext["schedule"] = {"phase": "peak", "offset_s": 1}
    (d / "cache-lost-short.json").write_text(json.dumps(exp))
    (d / "slo.yaml").write_text(SLO)
    (d / "overlay.yaml").write_text(OVERLAY)
    return {"scenarios": d / "scenarios.yaml", "experiment": d / "cache-lost-short.json", "slo": d / "slo.yaml",
            "overlay": d / "overlay.yaml", "runs": d / "runs"}  # fmt: skip


def _start_run(
    files: dict[str, Path], experiments: str, runs: Path, home: Path, *, stdout: int = subprocess.PIPE
) -> subprocess.Popen[bytes]:
    """``tenfold run`` of the tiny profile as a CLI process in a session of its own (for signals from outside)."""
    argv = [str(Path(sys.executable).parent / "tenfold"), "run", "--scenario-file", str(files["scenarios"]),
            "--profile", "tiny", "--experiments", experiments, "--slo", str(files["slo"]), "--runs-dir", str(runs),
            "--home", str(home)]  # fmt: skip
    env = {**os.environ, "TENFOLD_PORT_BASE": str(free_port_base())}
    return subprocess.Popen(argv, env=env, start_new_session=True, stdout=stdout, stderr=subprocess.STDOUT)


def _run(
    files: dict[str, Path], disable: frozenset[str] = frozenset(), *, overlay: Path | None = None,
    home: Path | None = None,
) -> tuple[int, Path]:  # fmt: skip
    """``tenfold run`` of the tiny profile with the short cache loss, on the stack at ``home`` or on its own."""
    own = home is None
    home = tmpdir("run") if home is None else home  # PostgreSQL runs as postgres: not under pytest's 0700 dir
    opts = RunOptions(
        profile="tiny", scenario_file=files["scenarios"], slo=files["slo"], disable=disable, runs_dir=files["runs"],
        experiments=[str(files["experiment"])], home=str(home),
        stack_options={"base": free_port_base(), "seed_users": 300, "seed_titles": 200,
                       "overlay": overlay or files["overlay"]},
    )  # fmt: skip
    try:
        summary, run_dir = execute(opts, print)
    finally:
        if own:
            shutil.rmtree(home, ignore_errors=True)
    return summary.exit_code, run_dir


@pytest.fixture(scope="class")
def shared_home(files: dict[str, Path]) -> Iterator[Path]:
    """A stack like the one ``_run`` starts (fallbacks on) for the class below, stopped after its last test."""
    home = tmpdir("run")
    try:
        lifecycle.up(home, free_port_base(), seed_users=300, seed_titles=200, overlay=files["overlay"])
        yield home
    finally:
        lifecycle.down(home)
        shutil.rmtree(home, ignore_errors=True)


class TestOnASharedStack:
    """Runs that can share a stack use one (``tenfold run`` uses the stack running at its ``--home``)."""

    def test_a_run_with_fallbacks_passes_and_leaves_a_complete_run_folder(
        self, files: dict[str, Path], shared_home: Path
    ) -> None:
        code, run_dir = _run(files, home=shared_home)
        summary = json.loads((run_dir / "summary.json").read_text())
        by_name = {v["objective"]: v for v in summary["verdicts"]}
        assert by_name["cache-loss-fallbacks"]["status"] == "pass", by_name["cache-loss-fallbacks"]
        assert by_name["acknowledged-writes-lost"]["status"] == "pass"
        assert code == 0, summary
        expected = [
            "manifest.json",
            "requests.parquet",
            "load.json",
            "ledger.jsonl",
            "durability.json",
            "slo.yaml",
            "metrics/replicas_ready.json",
            "chaos/cache-lost-short.journal.json",
            "report.html",
            "junit.xml",
        ]
        for name in expected:
            assert (run_dir / name).is_file(), name
        manifest = json.loads((run_dir / "manifest.json").read_text())
        exp = manifest["experiments"][0]
        assert exp["name"] == "cache-lost-short" and exp["rollback_ok"] is True and exp["injected_at"]
        assert manifest["validity"]["valid"] is True
        # The run folder alone re-renders to the same outcome, offline.
        assert cli(["report", str(run_dir)]) == 0

    @pytest.mark.skipif(not os.access(CPU_CGROUP, os.W_OK), reason="needs a writable cgroup v1 cpu controller")
    def test_a_starved_generator_makes_the_run_invalid_not_failed(
        self, files: dict[str, Path], shared_home: Path, tmp_path: Path
    ) -> None:
        """``tenfold run`` with its Locust moved into a cgroup capped at 3% of a core once the load started: exit 2.

        The tiny profile's peak (100 req/s) needs up to 9% of a core here, so 10% is not starving it (that run is
        valid, rightly); 3% is.
        """
        import psutil

        runs = tmp_path / "runs"
        proc = _start_run(files, "none", runs, shared_home)
        try:
            with cpu_capped_group("run", 0.03) as group:
                deadline = time.monotonic() + 150
                while not (runs / "latest" / "load-plan.json").exists():  # the arrival clock has started
                    assert proc.poll() is None and time.monotonic() < deadline, (
                        proc.stdout.read() if proc.stdout else ""
                    )
                    time.sleep(0.2)
                locust = [p for p in psutil.Process(proc.pid).children() if "locust" in " ".join(p.cmdline())]
                assert len(locust) == 1
                (group / "cgroup.procs").write_text(str(locust[0].pid))
                out, _ = proc.communicate(timeout=240)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
        assert proc.returncode == 2, out.decode()[-2000:]
        summary = json.loads((runs / "latest" / "summary.json").read_text())
        assert summary["outcome"] == "invalid" and summary["exit_code"] == 2
        assert any(r.startswith("load generator:") for r in summary["invalid_reasons"]), summary["invalid_reasons"]
        load = json.loads((runs / "latest" / "load.json").read_text())
        assert load["valid"] is False and load["generator"]["processes"][0]["allowed_cores"] == pytest.approx(0.03)


def test_without_fallbacks_and_with_a_dropped_write_the_same_run_fails_both_objectives(
    files: dict[str, Path],
) -> None:
    """Two control runs in one: ``--disable fallbacks`` fails the degradation objective, and users' test hook
    (it acknowledges each replica's first My List add without storing it) fails durability. A failed run, exit 1:
    not 0, and not 2 (a lost write makes the run fail, not invalid; invalid would outrank failed)."""
    overlay = yaml.safe_load(OVERLAY)
    overlay["env"]["TENFOLD_TEST_DROP_WRITES"] = "1"
    path = files["overlay"].with_name("overlay-drop-writes.yaml")
    path.write_text(yaml.safe_dump(overlay))
    code, run_dir = _run(files, frozenset({"fallbacks"}), overlay=path)
    summary = json.loads((run_dir / "summary.json").read_text())
    by_name = {v["objective"]: v for v in summary["verdicts"]}
    fallbacks = by_name["cache-loss-fallbacks"]
    assert fallbacks["status"] == "fail" and fallbacks["measured"] == 0, fallbacks
    assert json.loads((run_dir / "manifest.json").read_text())["controls"]["fallbacks"] is False
    lost = by_name["acknowledged-writes-lost"]
    durability = json.loads((run_dir / "durability.json").read_text())
    assert durability["acknowledged"]["my-list"] >= len(durability["missing"]) >= 1, durability
    assert {m["kind"] for m in durability["missing"]} == {"my-list"}
    assert lost["status"] == "fail" and lost["measured"] == len(durability["missing"])
    assert (code, summary["outcome"]) == (1, "fail"), summary["invalid_reasons"]


def test_sigkill_of_the_harness_mid_run_leaves_no_process_and_still_rolls_back(
    files: dict[str, Path], tmp_path: Path
) -> None:
    """No chance to clean up: Locust and Chaos Toolkit get their one SIGINT from the kernel (parent-death signal),
    the experiment's rollback runs, and the stack the run started stops itself (its owner is gone)."""
    import psutil

    from tenfold.stack.controller import OWNER_GRACE_S
    from tenfold.stack.state import read_state

    runs = tmp_path / "runs"
    home = tmpdir("run")
    proc = _start_run(files, str(files["experiment"]), runs, home, stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 150
        log = runs / "latest" / "chaos" / "cache-lost-short.log"
        while not (log.exists() and "Playing your experiment's method" in log.read_text()):  # the fault is going in
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.2)
        time.sleep(1)
        children = psutil.Process(proc.pid).children(recursive=True)
        names = " ".join(" ".join(c.cmdline()) for c in children)
        assert "locust" in names and "chaos" in names and "tenfold.stack.controller" in names, names
        stack_pids = set((read_state(home) or {}).get("pids", []))
        everything = {c.pid for c in children} | stack_pids
        os.kill(proc.pid, signal.SIGKILL)  # the harness alone: its children are in sessions of their own
        proc.wait(10)
        gone_by = time.monotonic() + OWNER_GRACE_S + 45
        while alive := [p for p in everything if psutil.pid_exists(p) and psutil.Process(p).status() != "zombie"]:
            assert time.monotonic() < gone_by, [" ".join(psutil.Process(p).cmdline())[:120] for p in alive]
            time.sleep(0.5)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        shutil.rmtree(home, ignore_errors=True)
    journal = json.loads((runs / "latest" / "chaos" / "cache-lost-short.journal.json").read_text())
    assert journal["status"] == "interrupted", journal["status"]
    rollbacks = journal["rollbacks"]
    assert rollbacks and all(r.get("status") == "succeeded" for r in rollbacks), json.dumps(rollbacks)[:2000]


def test_without_autoscaling_a_spike_fails_peak_title_latency(files: dict[str, Path], tmp_path: Path) -> None:
    """The control run for autoscaling: a 45 s spike at the default profile's rates with replicas held at their
    initial count, on a default stack with the default SLO file."""
    home = tmpdir("run")
    opts = RunOptions(profile="short-spike", scenario_file=files["scenarios"], slo=REPO / "slo.yaml", experiments=[],
                      runs_dir=tmp_path / "runs", home=str(home), disable=frozenset({"autoscaling"}),
                      stack_options={"base": free_port_base()})  # fmt: skip
    try:
        summary, _ = execute(opts, print)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    by_name = {v.objective: v for v in summary.verdicts}
    assert by_name["peak-title-latency-p99"].status == "fail", by_name["peak-title-latency-p99"]
    assert by_name["scale-out-after-spike"].status == "fail"
    assert summary.exit_code == 1, summary.invalid_reasons  # failed, not invalid: the generator kept up
