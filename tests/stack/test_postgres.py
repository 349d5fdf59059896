"""The stack's PostgreSQL runs as the postgres user: a state dir it cannot reach is refused with the way out."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from tenfold.errors import StackError
from tenfold.stack.postgres import _check_reachable


def test_a_state_dir_behind_a_closed_directory_is_refused_naming_it_and_the_fix() -> None:
    closed = Path(tempfile.mkdtemp(prefix="tenfold-closed-"))  # mkdtemp: mode 0700, owned by root
    try:
        (closed / "home").mkdir()
        with pytest.raises(StackError, match=f"through {closed} \\(mode 700\\).*chmod o\\+x {closed}"):
            _check_reachable(closed / "home")
        closed.chmod(0o711)
        _check_reachable(closed / "home")
    finally:
        (closed / "home").rmdir()
        closed.rmdir()
