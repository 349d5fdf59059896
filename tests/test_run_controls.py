"""The control runs that must fail: ``--disable fallbacks`` with a write acknowledged but never stored fails the
degradation and durability objectives. The autoscaling control (off fails, on passes) is in test_autoscaling_pair.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from run_files import OVERLAY, files, run_tiny

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
    for attempt in (1, 2):
        code, run_dir = run_tiny(files, frozenset({"fallbacks"}), overlay=path)
        summary = json.loads((run_dir / "summary.json").read_text())
        if summary["outcome"] != "invalid" or attempt == 2:
            break
        # Not evidence either way: e.g. the cache loss never injected because its steady state did not hold on a
        # starved machine (CI: 3 of 30 recommendations 503 before the fault, fallbacks being off). Once more.
        print(f"the control run was invalid ({'; '.join(summary['invalid_reasons'])}); retrying once")
    assert summary["outcome"] != "invalid", summary["invalid_reasons"]
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
