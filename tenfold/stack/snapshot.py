"""A seeded DynamoDB emulator directory, kept once per machine so a fresh state dir starts without re-seeding.

Seeding 110k items into dynalite's on-disk store is ≈22 s here, most of a cold ``tenfold up``. The data is
deterministic (same seed arguments, same seed code → same items), so after the first seed the controller
copies the stopped store to ``$TENFOLD_CACHE`` (default ``~/.cache/tenfold``) under a key of the seed code
and sizes, and later cold starts copy it back (≈0.1 s) before the seeder confirms it in ≈2 s.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
from pathlib import Path

from tenfold.stack.state import REPO_ROOT

__all__ = ["cached", "mark_seeded", "restore", "save", "seed_key"]

_MARKER = ".tenfold-seed-key"


def seed_key(users: int | None, titles: int | None) -> str:
    code = (REPO_ROOT / "reference_services" / "seed.py").read_bytes()
    return hashlib.sha256(code + f"|{users}|{titles}".encode()).hexdigest()[:16]


def _cache(key: str) -> Path:
    root = Path(os.environ.get("TENFOLD_CACHE") or Path.home() / ".cache" / "tenfold")
    return root / f"dynamodb-{key}"


def cached(key: str) -> bool:
    return (_cache(key) / _MARKER).exists()


def restore(data: Path, key: str) -> bool:
    """Fill an empty store from the cache; True when it did."""
    source = _cache(key)
    if any(data.iterdir()) if data.exists() else False:
        return False
    if not (source / _MARKER).exists():
        return False
    shutil.rmtree(data, ignore_errors=True)
    shutil.copytree(source, data)
    return True


def mark_seeded(data: Path, key: str) -> None:
    (data / _MARKER).write_text(key)


def save(data: Path, key: str) -> None:
    """Copy a stopped, seeded store to the cache once (never overwrites; a failure only costs the speed-up)."""
    target = _cache(key)
    if (target / _MARKER).exists() or not (data / _MARKER).exists():
        return
    if (data / _MARKER).read_text() != key:
        return
    tmp = target.with_name(target.name + f".tmp{os.getpid()}")
    with contextlib.suppress(OSError):
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(data, tmp)
        tmp.replace(target)
