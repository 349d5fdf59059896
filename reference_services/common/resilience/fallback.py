"""A fallback answer kept in memory and refreshed in the background, so it exists when the store does not."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from ..periodic import Periodic

__all__ = ["Fallback"]

_log = logging.getLogger("tenfold.fallback")


class Fallback:
    """Holds the last good value; starts from a built-in one so a cold replica can degrade too."""

    def __init__(self, initial: bytes, refresh: Callable[[], Awaitable[bytes | None]], every: float = 60.0) -> None:
        self.value = initial
        self._refresh = refresh
        self._periodic = Periodic(self.refresh_once, lambda: every)

    async def refresh_once(self) -> None:
        try:
            fresh = await self._refresh()
        except Exception as exc:
            _log.info("fallback refresh failed, keeping the previous value: %s", exc)
            return
        if fresh is not None:
            self.value = fresh

    async def start(self) -> None:
        self._periodic.start()

    async def stop(self) -> None:
        await self._periodic.stop()
