"""The reference data the stack starts with: the DynamoDB store restored from the machine's cache
(:mod:`tenfold.stack.snapshot`), the seeder (``python -m reference_services.seed``, a process: the harness never
imports the reference system) run once the stores answer, and the seeded store saved back on a clean stop.
"""

from __future__ import annotations

import asyncio
import sys

from tenfold.errors import StackError
from tenfold.stack import postgres, snapshot
from tenfold.stack.parts import StackParts
from tenfold.stack.ports import HOST
from tenfold.stack.procs import Proc

__all__ = ["restore", "save", "seed"]


def restore(parts: StackParts) -> None:
    """Key the seed by its code and sizes; with seeding on, fill an empty store from the cache."""
    parts.seed_key = snapshot.seed_key(parts.overlay.seed_users, parts.overlay.seed_titles)
    (parts.home / "dynamodb").mkdir(parents=True, exist_ok=True)
    if parts.seed and snapshot.restore(parts.home / "dynamodb", parts.seed_key):
        parts.event("dynamodb_restored", reason=f"seeded store from the cache ({parts.seed_key})")


async def seed(parts: StackParts, env: dict[str, str]) -> None:
    """Run the seeder against the stores directly (not through the links); a failure ends the start."""
    p = parts.ports
    argv = [
        sys.executable, "-m", "reference_services.seed",
        "--postgres-dsn", postgres.dsn(p.postgres),
        "--dynamodb-endpoint", f"http://{HOST}:{p.dynamodb}",
        "--s3-endpoint", f"http://{HOST}:{p.s3}",
    ]  # fmt: skip
    if parts.overlay.seed_users:
        argv += ["--users", str(parts.overlay.seed_users)]
    if parts.overlay.seed_titles:
        argv += ["--titles", str(parts.overlay.seed_titles)]
    seed_proc = Proc("seed", argv, env=env, log=parts.home / "logs" / "seed.log")
    seed_proc.start()
    assert seed_proc.popen is not None
    while seed_proc.popen.poll() is None:  # noqa: ASYNC110 (a Popen has no awaitable exit)
        await asyncio.sleep(0.1)
    if seed_proc.popen.returncode != 0:
        raise StackError(f"seeding failed (exit {seed_proc.popen.returncode}); log ends:\n{seed_proc.tail()}")
    snapshot.mark_seeded(parts.home / "dynamodb", parts.seed_key)


def save(parts: StackParts) -> None:
    """After a clean stop (no error): the seeded store to the cache, for the next cold start."""
    if parts.seed and parts.phase == "stopping" and not parts.error:
        snapshot.save(parts.home / "dynamodb", parts.seed_key)
