"""A coroutine run again and again in the background for the life of the service."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

__all__ = ["Periodic"]


class Periodic:
    """Runs ``step`` then sleeps ``interval()`` seconds (a callable, so the pace can change), until stopped."""

    def __init__(self, step: Callable[[], Awaitable[object]], interval: Callable[[], float]) -> None:
        self._step = step
        self._interval = interval
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _loop(self) -> None:
        while True:
            await self._step()
            await asyncio.sleep(self._interval())
