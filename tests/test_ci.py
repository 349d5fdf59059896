""".ci/run: a suite that runs no test fails CI, with a message, although make turns pytest's exit 5 into 2."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from servers import ROOT

FAKE_MAKE = """#!/usr/bin/env bash
# `make setup` is done; `make test` is only pytest here (as in the Makefile: any failure becomes make's 2)
[ "$1" = setup ] && exit 0
{run} || exit 2
"""


def _ci(tmp_path: Path, run: str, select: str = "") -> subprocess.CompletedProcess[str]:
    make = tmp_path / "make"
    make.write_text(FAKE_MAKE.format(run=run))
    make.chmod(0o755)
    env = {**os.environ, "MAKE": str(make), "PYTEST_ADDOPTS": select}
    return subprocess.run([str(ROOT / ".ci" / "run")], env=env, capture_output=True, text=True, timeout=120)


PYTEST = ".venv/bin/pytest -q -p no:cacheprovider tests/load/test_units.py"


@pytest.mark.parametrize(
    ("select", "rc", "says"),
    [
        ("-k test_schedule_is_piecewise_linear", 0, None),
        ("-k no_test_has_this_name", 1, "ci: no test ran"),  # pytest exit 5, make's 2
    ],
)
def test_ci_fails_when_no_test_ran(tmp_path: Path, select: str, rc: int, says: str | None) -> None:
    r = _ci(tmp_path, PYTEST, select)
    assert r.returncode == rc, r.stdout[-2000:] + r.stderr[-2000:]
    if says:
        assert says in r.stdout


def test_ci_fails_when_make_test_never_ran_pytest(tmp_path: Path) -> None:
    r = _ci(tmp_path, "true")
    assert r.returncode == 1 and "without running pytest" in r.stdout


def test_a_failing_suite_keeps_its_exit_code(tmp_path: Path) -> None:
    r = _ci(tmp_path, "false")
    assert r.returncode == 2 and "ci:" not in r.stdout
