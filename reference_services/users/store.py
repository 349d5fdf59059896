"""PostgreSQL access for users and My List; a write returns only after its transaction committed."""

from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg

from ..common.resilience import Dependency, DomainOutcome

__all__ = ["SCHEMA", "UserStore"]

SCHEMA = """
SELECT pg_advisory_xact_lock(727001);
CREATE TABLE IF NOT EXISTS users (
    id bigint PRIMARY KEY,
    name text NOT NULL,
    email text NOT NULL,
    plan text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
-- Added with auth: a database seeded before has the users but no hashes (the seeder fills them in).
ALTER TABLE users ADD COLUMN IF NOT EXISTS password_hash text;
CREATE TABLE IF NOT EXISTS my_list (
    user_id bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    title_id bigint NOT NULL,
    added_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, title_id)
);
CREATE TABLE IF NOT EXISTS idempotency_keys (
    key text PRIMARY KEY,
    user_id bigint NOT NULL,
    status int NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
"""


class UserNotFound(DomainOutcome):
    pass


class UserStore:
    def __init__(self, dsn: str, pool_size: int, timeout: float, dependency: Dependency) -> None:
        self.dsn = dsn
        self.pool_size = pool_size
        self.timeout = timeout
        self.dep = dependency
        self._pool: asyncpg.Pool | None = None
        self._schema_ready = False

    async def open(self) -> None:
        # min_size=0: the service starts (and reports not-ready) even while PostgreSQL is down.
        self._pool = await asyncpg.create_pool(
            self.dsn, min_size=0, max_size=self.pool_size, command_timeout=self.timeout, timeout=self.timeout
        )

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()

    @property
    def pool(self) -> asyncpg.Pool:
        assert self._pool is not None, "UserStore.open() was not awaited"
        return self._pool

    async def ensure_schema(self) -> None:
        if not self._schema_ready:
            async with self.pool.acquire() as conn, conn.transaction():
                await conn.execute(SCHEMA)
            self._schema_ready = True

    async def ping(self) -> None:
        await self.ensure_schema()
        await self.pool.fetchval("SELECT 1")

    async def get_user(self, user_id: int) -> dict[str, Any] | None:
        row = await self.dep.call(
            lambda: self.pool.fetchrow("SELECT id, name, email, plan FROM users WHERE id = $1", user_id)
        )
        return None if row is None else dict(row)

    async def password_hash(self, user_id: int) -> str | None:
        """The stored hash (None: no such user, or seeded before passwords existed)."""
        found: str | None = await self.dep.call(
            lambda: self.pool.fetchval("SELECT password_hash FROM users WHERE id = $1", user_id)
        )
        return found

    async def my_list(self, user_id: int) -> list[tuple[int, dt.datetime]] | None:
        async def read() -> list[tuple[int, dt.datetime]] | None:
            async with self.pool.acquire() as conn:
                if await conn.fetchval("SELECT 1 FROM users WHERE id = $1", user_id) is None:
                    return None
                rows = await conn.fetch(
                    "SELECT title_id, added_at FROM my_list WHERE user_id = $1 ORDER BY added_at, title_id",
                    user_id,
                )
                return [(r["title_id"], r["added_at"]) for r in rows]

        return await self.dep.call(read)

    async def add(self, user_id: int, title_id: int, idempotency_key: str | None) -> int:
        """Adds a title; returns 201 (added) or 200 (already there, or a replayed idempotent request)."""

        async def write() -> int:
            async with self.pool.acquire() as conn, conn.transaction():
                if idempotency_key is not None:
                    fresh = await conn.fetchval(
                        "INSERT INTO idempotency_keys (key, user_id, status) VALUES ($1, $2, 0) "
                        "ON CONFLICT DO NOTHING RETURNING 1",
                        idempotency_key,
                        user_id,
                    )
                    if fresh is None:
                        return 200
                if await conn.fetchval("SELECT 1 FROM users WHERE id = $1", user_id) is None:
                    raise UserNotFound(user_id)
                added = await conn.fetchval(
                    "INSERT INTO my_list (user_id, title_id) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING 1",
                    user_id,
                    title_id,
                )
                status = 201 if added else 200
                if idempotency_key is not None:
                    await conn.execute(
                        "UPDATE idempotency_keys SET status = $1 WHERE key = $2", status, idempotency_key
                    )
                return status

        # Without a key a write is never retried: a timeout after COMMIT was sent could apply it twice. With one a
        # retry is safe (a committed first attempt left its key: the retry answers 200 and changes nothing), so a
        # keyed write is retried like a read: a stall of about the timeout (1 s) no longer costs a critical 503.
        return await self.dep.call(write, idempotent=idempotency_key is not None)

    async def remove(self, user_id: int, title_id: int) -> bool | None:
        """True when removed, False when it was not there, None when the user does not exist."""

        async def write() -> bool | None:
            async with self.pool.acquire() as conn, conn.transaction():
                if await conn.fetchval("SELECT 1 FROM users WHERE id = $1", user_id) is None:
                    return None
                removed = await conn.fetchval(
                    "DELETE FROM my_list WHERE user_id = $1 AND title_id = $2 RETURNING 1", user_id, title_id
                )
                return removed is not None

        return await self.dep.call(write, idempotent=True)
