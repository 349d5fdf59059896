"""The stack's token key: one per state dir, mode 600, kept across restarts, never short."""

from __future__ import annotations

from pathlib import Path

from tenfold.stack.keys import jwt_secret


def test_one_private_key_per_state_dir(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    key = jwt_secret(a)
    assert len(key) >= 32
    assert (a / "jwt-secret").stat().st_mode & 0o777 == 0o600
    assert jwt_secret(a) == key  # a restart keeps it (tokens stay valid)
    assert jwt_secret(b) != key  # another stack has another key


def test_a_loose_or_short_key_file_is_fixed(tmp_path: Path) -> None:
    path = tmp_path / "jwt-secret"
    path.write_text("x" * 40 + "\n")
    path.chmod(0o644)
    assert jwt_secret(tmp_path) == "x" * 40
    assert path.stat().st_mode & 0o777 == 0o600
    path.write_text("short\n")
    replaced = jwt_secret(tmp_path)
    assert replaced != "short" and len(replaced) >= 32
    assert path.stat().st_mode & 0o777 == 0o600
