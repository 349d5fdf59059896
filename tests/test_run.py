"""``tenfold run`` end to end on a real local stack: a run that passes and leaves a complete run folder, and a
generator starved by a cgroup quota that makes the run invalid (exit 2), not failed. They share a stack
(``tenfold run`` uses the stack running at ``--home``). The control runs: tests/test_run_controls.py and
tests/test_autoscaling_pair.py; a SIGKILLed harness: tests/test_run_sigkill.py."""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from outputs import check_outputs
from run_files import files, run_tiny, start_tiny
from servers import CPU_CGROUP, cpu_capped_group, free_port_base, tmpdir

from tenfold.cli import main as cli
from tenfold.stack import lifecycle

pytestmark = pytest.mark.e2e
__all__ = ["files"]


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
        code, run_dir = run_tiny(files, home=shared_home)
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
        check_outputs(run_dir)  # summary.json and junit.xml hold to their schemas; the report shows no None
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
        proc = start_tiny(files, "none", runs, shared_home)
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
