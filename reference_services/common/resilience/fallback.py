"""A fallback answer kept in memory and refreshed in the background, so it exists when the store does not."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

__all__ = ["Fallback"]

_log = logging.getLogger("tenfold.fallback")


class Fallback:
    """Holds the last good value; starts from a built-in one so a cold replica can degrade too."""

    def __init__(self, initial: bytes, refresh: Callable[[], Awaitable[bytes | None]], every: float = 60.0) -> None:
        self.value = initial
        self._refresh = refresh
        self._every = every
        self._task: asyncio.Task[None] | None = None

    async def refresh_once(self) -> None:
        try:
            fresh = await self._refresh()
        except Exception as exc:
            _log.info("fallback refresh failed, keeping the previous value: %s", exc)
            return
        if fresh is not None:
            self.value = fresh

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _loop(self) -> None:
        while True:
            await self.refresh_once()
            await asyncio.sleep(self._every)
