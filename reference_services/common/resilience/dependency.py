"""One dependency's policy in one place: timeout, bulkhead, circuit breaker, retries, metrics."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from prometheus_client import Histogram

from .breaker import AsyncBreaker, BreakerOpen
from .bulkhead import Bulkhead, BulkheadFull
from .retry import RetryPolicy

__all__ = ["Dependency", "DependencyError", "DomainOutcome"]

T = TypeVar("T")


class DomainOutcome(Exception):
    """Raised inside a dependency call for an answer that is not a failure (e.g. "no such user").

    It passes through the policy untouched: no retry, no breaker failure, no DependencyError.
    """


class DependencyError(Exception):
    """A call to a dependency failed after the policy's retries; ``reason`` is short and label-safe."""

    def __init__(self, dependency: str, reason: str, cause: BaseException | None = None) -> None:
        super().__init__(f"{dependency}: {reason}" + (f" ({cause!r})" if cause else ""))
        self.dependency = dependency
        self.reason = reason


class Dependency:
    """Wraps every call to one dependency.

    Order matters: the breaker fails fast without touching the bulkhead; the bulkhead bounds concurrency
    before the timeout starts; only idempotent calls are retried, and only while the budget allows.
    """

    def __init__(
        self,
        name: str,
        *,
        timeout: float,
        bulkhead: Bulkhead,
        breaker: AsyncBreaker | None,
        retry: RetryPolicy | None,
        duration: Histogram,
    ) -> None:
        self.name = name
        self.timeout = timeout
        self.bulkhead = bulkhead
        self.breaker = breaker
        self.retry = retry
        self._duration = duration

    async def call(
        self, fn: Callable[[], Awaitable[T]], *, idempotent: bool = True, past_open_breaker: bool = False
    ) -> T:
        """``past_open_breaker``: one attempt even while the breaker is open (it neither counts towards the breaker
        nor closes it), for a caller with nothing else to answer and a request worth the wait: without it, an
        open breaker turns a likely success into a certain failure."""
        if past_open_breaker and self.breaker is not None and self.breaker.state == "open":
            return await self._once(fn, breaker=False)
        policy = self.retry if idempotent else None
        if policy is not None:
            policy.budget.record_attempt()
        attempt = 0
        while True:
            try:
                return await self._once(fn)
            except DependencyError as exc:
                if exc.reason in ("breaker-open", "bulkhead-full") or policy is None:
                    raise
                if attempt + 1 >= policy.attempts or not policy.budget.try_spend():
                    raise
                await asyncio.sleep(policy.backoff(attempt))
                attempt += 1

    async def _once(self, fn: Callable[[], Awaitable[T]], breaker: bool = True) -> T:
        async def guarded() -> T:
            start = time.perf_counter()
            try:
                async with self.bulkhead:
                    async with asyncio.timeout(self.timeout):
                        return await fn()
            finally:
                self._duration.observe(time.perf_counter() - start)

        try:
            if self.breaker is None or not breaker:
                return await guarded()
            return await self.breaker.call(guarded)
        except BreakerOpen as exc:
            # pybreaker raises this both when already open and on the call that trips it.
            reason = "breaker-open" if self.breaker and self.breaker.state == "open" else "error"
            cause = exc.__context__ if isinstance(exc.__context__, BaseException) else None
            raise DependencyError(self.name, reason, cause) from exc
        except BulkheadFull as exc:
            raise DependencyError(self.name, "bulkhead-full", exc) from exc
        except TimeoutError as exc:
            raise DependencyError(self.name, "timeout", exc) from exc
        except (OSError, ConnectionError) as exc:
            raise DependencyError(self.name, "connection", exc) from exc
        except (DependencyError, DomainOutcome):
            raise
        except Exception as exc:
            raise DependencyError(self.name, "error", exc) from exc
