"""Liveness and readiness.

``/readyz`` is 503 until every *required* dependency has answered once, and while draining. After start a dependency
outage is *reported* in the body but does not flip readiness: every replica shares the dependency, so
failing readiness would empty the load balancer's pool and turn a degraded answer into a gateway 503.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from .periodic import Periodic

__all__ = ["Readiness"]

Check = Callable[[], Awaitable[object]]

_log = logging.getLogger("tenfold.health")


class Readiness:
    def __init__(
        self,
        checks: dict[str, Check],
        optional: dict[str, Check],
        interval: float = 1.0,
        timeout: float = 1.0,
    ) -> None:
        self.required = set(checks)
        self.checks = {**checks, **optional}
        self.interval = interval
        self.timeout = timeout
        self.status: dict[str, str] = {name: "unknown" for name in self.checks}
        self.started = not checks
        self.draining = False
        self._periodic = Periodic(self.refresh, lambda: self.interval if self.started else 0.1)

    @property
    def ready(self) -> bool:
        return self.started and not self.draining

    async def refresh(self) -> None:
        results = await asyncio.gather(*(self._run(name, fn) for name, fn in self.checks.items()))
        self.status = dict(results)
        if not self.started and all(self.status[name] == "ok" for name in self.required):
            self.started = True
            _log.info("ready: all dependencies answered")

    async def _run(self, name: str, fn: Check) -> tuple[str, str]:
        try:
            async with asyncio.timeout(self.timeout):
                await fn()
            return name, "ok"
        except Exception as exc:
            return name, f"error: {type(exc).__name__}: {exc}"[:200]

    def start(self) -> None:
        self._periodic.start()

    async def stop(self) -> None:
        await self._periodic.stop()
