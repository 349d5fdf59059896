"""Test servers remove their temp dirs, and the session guard catches a dir nobody removed."""

from __future__ import annotations

import pytest
import servers
from servers import left_behind, postgres, redis, tmpdir


def test_servers_remove_their_dirs_once_stopped() -> None:
    r = redis()
    pg, _ = postgres()
    dirs = [*r.dirs, *pg.dirs]
    assert len(dirs) == 2 and all(d.is_dir() and d.name.startswith(("tenfold-redis-", "tenfold-pg-")) for d in dirs)
    r.stop()
    pg.stop()
    assert not [d for d in dirs if d.exists()]  # the PostgreSQL one is owned by postgres: removed as root


def test_a_dir_left_behind_is_reported_and_removed(monkeypatch: pytest.MonkeyPatch) -> None:
    """On a list of its own: the worker's list also holds the dirs of servers still in use (the session's stores,
    a PostgreSQL data dir among them), and removing those mid-session took that PostgreSQL down for every later test
    on the worker (users never became ready: "connection refused")."""
    in_use = [d for d in servers.CREATED if d.exists()]
    monkeypatch.setattr(servers, "CREATED", [])
    kept = tmpdir("leak-check")
    assert left_behind() == [kept]
    assert not kept.exists()
    assert left_behind() == []
    assert all(d.exists() for d in in_use)
