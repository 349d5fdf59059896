"""PostgreSQL 15 in the state dir, as user ``postgres`` (it refuses root), still a child of the controller."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import asyncpg

from tenfold.errors import StackError
from tenfold.stack.component import Component
from tenfold.stack.procs import Proc

__all__ = ["PG_BIN", "dsn", "ensure_database", "postgres"]

PG_BIN = Path("/usr/lib/postgresql/15/bin")


def dsn(port: int, database: str = "tenfold") -> str:
    return f"postgresql://tenfold@127.0.0.1:{port}/{database}"


def _initdb(data: Path, log: Path) -> None:
    if (data / "PG_VERSION").exists():
        return
    data.parent.mkdir(parents=True, exist_ok=True)
    # The postgres user must be able to reach its directory inside the state dir (mkdtemp makes it 0700).
    home = data.parent.parent
    home.chmod(home.stat().st_mode | 0o011)
    _check_reachable(home.resolve().parent)
    shutil.chown(data.parent, "postgres", "postgres")
    result = subprocess.run(
        ["runuser", "-u", "postgres", "--", str(PG_BIN / "initdb"), "--auth=trust", "--no-sync", "-U", "tenfold",
         "-E", "UTF8", "-D", str(data)],
        capture_output=True, text=True,
    )  # fmt: skip
    log.write_text(result.stdout + result.stderr)
    if result.returncode != 0:
        raise StackError(f"initdb failed (exit {result.returncode}); see {log}")


def _check_reachable(directory: Path) -> None:
    """PostgreSQL runs as ``postgres``: every directory above the state dir must let others through (x)."""
    uid = _postgres_uid()
    closed = [d for d in (directory, *directory.parents) if (st := d.stat()).st_uid != uid and not st.st_mode & 0o001]
    if closed:
        raise StackError(
            f"PostgreSQL runs as the postgres user, which cannot reach the state dir through {closed[-1]} "
            f"(mode {closed[-1].stat().st_mode & 0o777:o}): pick a --home whose parents others may traverse, "
            f"or run: chmod o+x {' '.join(map(str, reversed(closed)))}"
        )


def _postgres_uid() -> int:
    import pwd

    return pwd.getpwnam("postgres").pw_uid


def postgres(home: Path, port: int) -> Component:
    base = home / "postgres"
    data = base / "data"
    _initdb(data, home / "logs" / "initdb.log")
    argv = [
        "setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--pdeathsig", "SIGKILL",
        str(PG_BIN / "postgres"), "-D", str(data), "-p", str(port), "-k", str(base),
        "-c", "listen_addresses=127.0.0.1", "-c", "synchronous_commit=on", "-c", "max_connections=300",
        "-c", "shared_buffers=64MB", "-c", "logging_collector=off",
        # What a stalled request needs explained, in logs/postgres.log: statements over 250 ms, waits for a lock
        # longer than deadlock_timeout, and each checkpoint's write and sync times.
        "-c", "log_min_duration_statement=250", "-c", "log_lock_waits=on", "-c", "deadlock_timeout=200ms",
        "-c", "log_checkpoints=on",
    ]  # fmt: skip
    proc = Proc("postgres", argv, log=home / "logs" / "postgres.log")

    async def ready() -> bool:
        try:
            conn = await asyncpg.connect(dsn(port, "postgres"), timeout=1.0)
        except (OSError, asyncpg.PostgresError, TimeoutError):
            return False
        await conn.close()
        return True

    return Component("postgres", [proc], ready, extra={"dsn": dsn(port)})


async def ensure_database(port: int) -> None:
    conn = await asyncpg.connect(dsn(port, "postgres"), timeout=5.0)
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = 'tenfold'"):
            await conn.execute("CREATE DATABASE tenfold")
    finally:
        await conn.close()
