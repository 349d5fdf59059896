"""Stale copies: the last good answer per key, kept past every TTL, for when the store cannot answer.

A cache-aside miss during a store outage has nothing to serve; a stale copy is the graceful answer (marked
degraded), as Netflix's Hollow keeps a whole catalog snapshot in every instance. The copies come from a
bounded scan of the table, repeated every few minutes, and from every good answer in between; they live in
the replica's memory, so losing the cache tier does not lose them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from .resilience import Fallback

__all__ = ["StaleCopies", "flagged"]

_FRESH = b',"degraded":false}'
_STALE = b',"degraded":true}'


def flagged(doc: bytes, degraded: bool = False) -> bytes:
    """A JSON object document with the ``degraded`` flag; documents already flagged fresh are re-flagged."""
    if doc.endswith(_FRESH):
        doc = doc[: -len(_FRESH)] + b"}"
    return doc[:-1] + (_STALE if degraded else _FRESH)


class StaleCopies:
    """Up to ``entries`` documents by key; ``scan(entries)`` refills them every ``every`` seconds.

    The scan bypasses the request path's store policy (breaker, short timeout) on purpose: a slow scan must
    neither fail requests nor open their breaker, and a failed scan keeps the copies it had.
    """

    def __init__(
        self,
        scan: Callable[[int], Awaitable[dict[int, bytes]]],
        *,
        entries: int,
        every: float,
        first_delay: float,
    ) -> None:
        self.entries = entries
        self._copies: Fallback[dict[int, bytes]] = Fallback({}, lambda: scan(entries), every, first_delay)

    def get(self, key: int) -> bytes | None:
        return self._copies.value.get(key)

    def keep(self, key: int, doc: bytes) -> None:
        """Remember a good answer (cheap enough for every request: one dict lookup and store)."""
        copies = self._copies.value
        if key in copies or len(copies) < self.entries:
            copies[key] = doc

    def __len__(self) -> int:
        return len(self._copies.value)

    async def start(self) -> None:
        await self._copies.start()

    async def stop(self) -> None:
        await self._copies.stop()
