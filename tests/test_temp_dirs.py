"""Test servers remove their temp dirs, and the session guard catches a dir nobody removed."""

from __future__ import annotations

from servers import left_behind, postgres, redis, tmpdir


def test_servers_remove_their_dirs_once_stopped() -> None:
    r = redis()
    pg, _ = postgres()
    dirs = [*r.dirs, *pg.dirs]
    assert len(dirs) == 2 and all(d.is_dir() and d.name.startswith(("tenfold-redis-", "tenfold-pg-")) for d in dirs)
    r.stop()
    pg.stop()
    assert not [d for d in dirs if d.exists()]  # the PostgreSQL one is owned by postgres: removed as root


def test_a_dir_left_behind_is_reported_and_removed() -> None:
    kept = tmpdir("leak-check")
    assert kept in left_behind()
    assert not kept.exists()
    assert kept not in left_behind()
