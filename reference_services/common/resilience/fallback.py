"""A fallback answer kept in memory and refreshed in the background, so it exists when the store does not."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from ..periodic import Periodic

__all__ = ["Fallback"]

_log = logging.getLogger("tenfold.fallback")

T = TypeVar("T")


class Fallback(Generic[T]):
    """Holds the last good value; starts from a built-in one so a cold replica can degrade too.

    Refreshes run every ``every`` seconds ± 10% (replicas drift out of step instead of asking the store
    together); the first one waits up to ``first_delay`` seconds, so replicas started together (a scale-out)
    spread their first reads too.
    """

    def __init__(
        self, initial: T, refresh: Callable[[], Awaitable[T | None]], every: float = 60.0, first_delay: float = 0.0
    ) -> None:
        self.value = initial
        self._refresh = refresh
        self._first_delay = first_delay
        self._periodic = Periodic(self._step, lambda: every * random.uniform(0.9, 1.1))

    async def refresh_once(self) -> None:
        try:
            fresh = await self._refresh()
        except Exception as exc:
            _log.info("fallback refresh failed, keeping the previous value: %s", exc)
            return
        if fresh is not None:
            self.value = fresh

    async def _step(self) -> None:
        if self._first_delay > 0:
            await asyncio.sleep(random.uniform(0, self._first_delay))
            self._first_delay = 0.0
        await self.refresh_once()

    async def start(self) -> None:
        self._periodic.start()

    async def stop(self) -> None:
        await self._periodic.stop()
