"""``tenfold up`` says so when cgroups are not writable: the stack runs without CPU limits and the user is told
why (the reason is CgroupRoot's own, as the controller reports it in its status), and says nothing when they are."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tenfold import cli
from tenfold.stack import lifecycle
from tenfold.stack.cgroups import CgroupRoot


def up(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str], state: dict[str, Any]
) -> str:
    """``tenfold up`` with the stack's start replaced by one that returns ``state`` (no processes here)."""

    def started(*args: object, **kwargs: object) -> dict[str, Any]:
        return state

    monkeypatch.setattr(lifecycle, "up", started)
    assert cli.main(["up", "--home", str(tmp_path), "--port-base", "23000"]) == 0
    return capsys.readouterr().err


def test_unwritable_cgroups_warn_with_the_reason(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = CgroupRoot("tenfold-test", mount=Path("/proc/self"))  # not a cgroup hierarchy: not writable
    err = " ".join(
        up(monkeypatch, tmp_path, capsys, {"cgroups": root.available, "cgroups_reason": root.reason}).split()
    )
    assert "warning:" in err and "not writable" in err and "replicas run without CPU limits" in err


def test_writable_cgroups_no_warning(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    err = up(monkeypatch, tmp_path, capsys, {"cgroups": True, "cgroups_reason": ""})
    assert "ready" in err and "warning" not in err
