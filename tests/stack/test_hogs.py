"""CPU hogs' bookkeeping: a stop that races the supervision loop's expiry still stops and counts the hog."""

from __future__ import annotations

from pathlib import Path

import pytest

from tenfold.stack.cgroups import CgroupRoot
from tenfold.stack.hogs import Hogs


def test_a_hog_the_supervision_loop_forgets_while_it_is_stopped_still_counts_as_stopped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The API stops hogs in a thread while the supervision loop expires dead ones: both forgot the same hog, and the
    second ``del`` was a KeyError, a 500 for ``DELETE /cpu-hogs`` (seen under `make test`)."""
    hogs = Hogs(CgroupRoot("tenfold-test", mount=tmp_path / "no-cgroups"), tmp_path)
    hog = hogs.start("catalog", 0.1, 30)
    kill, loop_ran = hog.proc.stop, []

    def kill_then_the_loop_runs(timeout_s: float = 5.0, sig: int = 15) -> None:
        kill(timeout_s, sig)
        if not loop_ran:  # the supervision loop, once, between the kill and the bookkeeping
            loop_ran.append(True)
            hogs.expire()

    monkeypatch.setattr(hog.proc, "stop", kill_then_the_loop_runs)
    assert hogs.stop() == [hog.id]
    assert hogs.running == {} and not hog.proc.alive()
