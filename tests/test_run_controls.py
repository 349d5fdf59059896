"""The control runs that must fail: ``--disable fallbacks`` with a write acknowledged but never stored fails the
degradation and durability objectives; ``--disable autoscaling`` fails latency and scale-out, while the very same
profile with autoscaling on passes them (the pair)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from run_files import OVERLAY, files, run_tiny
from servers import free_port_base, machine_to_itself, tmpdir

from tenfold.run import REPO, RunOptions, execute
from tenfold.stack import lifecycle

pytestmark = pytest.mark.e2e
__all__ = ["files"]


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
    code, run_dir = run_tiny(files, frozenset({"fallbacks"}), overlay=path)
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


@pytest.mark.exclusive  # latency at real load: alone on the machine (servers.machine_to_itself)
def test_the_autoscaling_pair_off_fails_and_on_passes_the_same_objectives(
    files: dict[str, Path], tmp_path: Path
) -> None:
    """The same profile (a 45 s spike, 40 -> 520 req/s, ``run_files.files``) on one default stack with the
    default SLO file: with replicas held at their initial count (``--disable autoscaling``) it fails peak title
    latency and the scale-out after the spike; with autoscaling on it passes them. Off first: the on run must not
    start already scaled out."""
    home = tmpdir("run")
    verdicts: dict[str, dict[str, str]] = {}
    try:
        with machine_to_itself():
            lifecycle.up(home, free_port_base())
            for mode, disable in (("off", frozenset({"autoscaling"})), ("on", frozenset[str]())):
                opts = RunOptions(profile="short-spike", scenario_file=files["scenarios"], slo=REPO / "slo.yaml",
                                  experiments=[], runs_dir=tmp_path / mode, home=str(home),
                                  disable=disable)  # fmt: skip
                summary, run_dir = execute(opts, print)
                doc = json.loads((run_dir / "summary.json").read_text())
                assert doc["controls"]["autoscaling"] is (mode == "on")
                assert not summary.invalid_reasons, (mode, summary.invalid_reasons)  # the generator kept up
                verdicts[mode] = {v.objective: f"{v.status} {v.measured_text} ({v.evidence})"
                                  for v in summary.verdicts}  # fmt: skip
    finally:
        lifecycle.down(home)
        shutil.rmtree(home, ignore_errors=True)
    for name in ("peak-title-latency-p99", "scale-out-after-spike"):
        assert verdicts["off"][name].startswith("fail"), verdicts["off"][name]
        assert verdicts["on"][name].startswith("pass"), verdicts["on"][name]
