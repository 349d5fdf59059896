"""The autoscaling pair: ``--disable autoscaling`` fails peak title latency and the scale-out after the spike, while
the very same profile with autoscaling on passes them, on one stack (off first: its traffic warms the stack; on a
fresh stack the on run's title p99 was 278 ms where the warm one's was 110 to 246 ms). Alone in its file: its on run
takes the machine to itself, and the suite runs such files last (tests/conftest.py)."""

from __future__ import annotations

import fcntl
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from run_files import files
from servers import free_port_base, machine, machine_to_itself, tmpdir

from reports.runfolder import RunFolder
from tenfold.run import REPO, RunOptions, execute
from tenfold.stack import lifecycle

pytestmark = pytest.mark.e2e
__all__ = ["files"]


@pytest.mark.exclusive  # latency at real load: alone on the machine (servers.machine_to_itself)
def test_the_autoscaling_pair_off_fails_and_on_passes_the_same_objectives(
    files: dict[str, Path], tmp_path: Path
) -> None:
    """The same profile (a 39 s spike, 40 -> 520 req/s, ``run_files.files``) on one default stack with the
    default SLO file: with replicas held at their initial count (``--disable autoscaling``) it fails peak title
    latency and the scale-out after the spike; with autoscaling on it passes them. Off first: the on run must not
    start already scaled out."""
    home = tmpdir("run")
    verdicts: dict[str, dict[str, str]] = {}
    slowest = ""
    try:
        with machine(fcntl.LOCK_SH):  # a stack's start is no measurement
            lifecycle.up(home, free_port_base())
        for mode, disable in (("off", frozenset({"autoscaling"})), ("on", frozenset[str]())):
            opts = RunOptions(profile="short-spike", scenario_file=files["scenarios"], slo=REPO / "slo.yaml",
                              experiments=[], runs_dir=tmp_path / mode, home=str(home), disable=disable)  # fmt: skip
            # Off may share the machine (load beside it only slows the two held replicas further); on has it whole.
            with machine_to_itself() if mode == "on" else machine(fcntl.LOCK_SH):
                summary, run_dir = execute(opts, print)
            doc = json.loads((run_dir / "summary.json").read_text())
            assert doc["controls"]["autoscaling"] is (mode == "on")
            assert not summary.invalid_reasons, (mode, summary.invalid_reasons)  # the generator kept up
            verdicts[mode] = {v.objective: f"{v.status} {v.measured_text} ({v.evidence})"
                              for v in summary.verdicts}  # fmt: skip
            if mode == "on":  # only the on run's latency can fail the test with too little to go on
                slowest = _slowest_seconds(run_dir)
    finally:
        lifecycle.down(home)
        shutil.rmtree(home, ignore_errors=True)
    for name in ("peak-title-latency-p99", "scale-out-after-spike"):
        print(f"{name}: off {verdicts['off'][name]}; on {verdicts['on'][name]}")
    for name in ("peak-title-latency-p99", "scale-out-after-spike"):
        assert verdicts["off"][name].startswith("fail"), verdicts["off"][name]
        assert verdicts["on"][name].startswith("pass"), f"{verdicts['on'][name]}; {slowest}"


def _slowest_seconds(run_dir: Path, worst: int = 3) -> str:
    """The peak's slowest seconds for titles (p99 of the requests meant to start in each), for a failure to say
    whether the latency was spread over the peak or came in a few seconds (when replicas joined, say)."""
    rq = RunFolder(run_dir).requests
    plan = json.loads((run_dir / "load-plan.json").read_text())
    start, end = next((p["start"], p["end"]) for p in plan["phases"] if p["name"] == "peak")
    if rq is None or not (picked := rq.mask(start, end, route="/api/titles/{id}")).any():
        return "no title requests in the peak"
    second = (rq.intended[picked] - plan["started"]).astype(int)
    latency = rq.latency_co[picked]
    p99 = {int(s): float(np.percentile(latency[second == s], 99)) for s in np.unique(second)}
    slow = sorted(p99.items(), key=lambda kv: -kv[1])[:worst]
    return "slowest seconds of the peak (s after the start: title p99): " + ", ".join(
        f"{s}: {v * 1000:.0f} ms" for s, v in slow
    )
