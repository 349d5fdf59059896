"""pybreaker, wrapped for asyncio, with its state exported as ``circuit_breaker_state``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pybreaker
from prometheus_client import Gauge

__all__ = ["AsyncBreaker", "BreakerOpen"]

T = TypeVar("T")

BreakerOpen = pybreaker.CircuitBreakerError

_STATE_VALUE = {pybreaker.STATE_CLOSED: 0, pybreaker.STATE_HALF_OPEN: 1, pybreaker.STATE_OPEN: 2}


class _GaugeListener(pybreaker.CircuitBreakerListener):
    def __init__(self, gauge: Gauge) -> None:
        self._gauge = gauge

    def state_change(self, cb: Any, old_state: Any, new_state: Any) -> None:
        self._gauge.set(_STATE_VALUE.get(new_state.name, 0))


class AsyncBreaker:
    """Open after ``fail_max`` consecutive failures; after ``reset_timeout`` s let one call through (half-open).

    pybreaker's ``calling()`` context manager drives its state machine around the awaited call, so the
    breaker sees the real outcome of the coroutine, not of creating it.
    """

    def __init__(
        self,
        name: str,
        gauge: Gauge,
        *,
        fail_max: int,
        reset_timeout: float,
        exclude: list[type[BaseException]] | None = None,
    ) -> None:
        self._gauge = gauge
        self._cb = pybreaker.CircuitBreaker(
            fail_max=fail_max,
            reset_timeout=reset_timeout,
            name=name,
            exclude=exclude or [],
            listeners=[_GaugeListener(gauge)],
        )
        gauge.set(0)

    @property
    def state(self) -> str:
        name: str = self._cb.current_state
        return name

    async def call(self, fn: Callable[[], Awaitable[T]]) -> T:
        with self._cb.calling():
            return await fn()
