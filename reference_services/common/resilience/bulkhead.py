"""Max concurrent calls per dependency, so one slow dependency cannot take every worker with it."""

from __future__ import annotations

import asyncio

__all__ = ["Bulkhead", "BulkheadFull"]


class BulkheadFull(Exception):
    pass


class Bulkhead:
    def __init__(self, limit: int, max_wait: float = 0.05) -> None:
        self.limit = limit
        self.max_wait = max_wait
        self._sem = asyncio.Semaphore(limit)

    @property
    def in_use(self) -> int:
        return self.limit - self._sem._value

    async def __aenter__(self) -> None:
        if self._sem.locked():
            try:
                await asyncio.wait_for(self._sem.acquire(), self.max_wait)
            except TimeoutError:
                raise BulkheadFull(f"more than {self.limit} calls in flight") from None
            return
        await self._sem.acquire()

    async def __aexit__(self, *exc: object) -> None:
        self._sem.release()
