"""Resilience primitives in isolation: the state machines and budgets, driven by real coroutines."""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client import CollectorRegistry, Gauge, Histogram

from reference_services.common.resilience import (
    AsyncBreaker,
    Bulkhead,
    Dependency,
    DependencyError,
    RetryBudget,
    RetryPolicy,
    Shedder,
)


def _gauge() -> Gauge:
    return Gauge("g", "g", registry=CollectorRegistry())


def _dep(**kw: object) -> Dependency:
    hist = Histogram("h", "h", registry=CollectorRegistry())
    defaults: dict[str, object] = {"timeout": 0.05, "bulkhead": Bulkhead(4), "breaker": None, "retry": None}
    return Dependency("thing", duration=hist, **{**defaults, **kw})  # type: ignore[arg-type]


async def test_breaker_opens_then_half_opens_then_closes() -> None:
    gauge = _gauge()
    breaker = AsyncBreaker("b", gauge, fail_max=2, reset_timeout=0.2)
    calls = 0

    async def failing() -> None:
        nonlocal calls
        calls += 1
        raise ConnectionError("down")

    async def ok() -> str:
        return "ok"

    dep = _dep(breaker=breaker)
    for _ in range(2):
        with pytest.raises(DependencyError):
            await dep.call(failing)
    assert breaker.state == "open" and gauge._value.get() == 2
    with pytest.raises(DependencyError) as exc:
        await dep.call(failing)
    assert exc.value.reason == "breaker-open" and calls == 2  # failed fast, never called
    await asyncio.sleep(0.25)
    seen: list[str] = []

    async def probe() -> str:
        seen.append(breaker.state)  # the trial call runs while half-open
        return "ok"

    assert await dep.call(probe) == "ok"
    assert seen == ["half-open"]
    assert breaker.state == "closed" and gauge._value.get() == 0
    assert await dep.call(ok) == "ok"


async def test_timeout_is_a_dependency_error() -> None:
    async def slow() -> None:
        await asyncio.sleep(1)

    with pytest.raises(DependencyError) as exc:
        await _dep().call(slow)
    assert exc.value.reason == "timeout"


async def test_idempotent_calls_are_retried_writes_are_not() -> None:
    attempts = 0

    async def flaky() -> str:
        nonlocal attempts
        attempts += 1
        if attempts < 3:
            raise ConnectionError("blip")
        return "ok"

    dep = _dep(retry=RetryPolicy(attempts=3, base_delay=0.001))
    assert await dep.call(flaky) == "ok" and attempts == 3
    attempts = 0
    with pytest.raises(DependencyError):
        await dep.call(flaky, idempotent=False)
    assert attempts == 1


def test_retry_budget_caps_retries_to_a_share_of_traffic() -> None:
    budget = RetryBudget(ratio=0.1, min_per_second=0.0, max_tokens=1.0)
    assert budget.try_spend()  # starts with one token
    assert not budget.try_spend()
    for _ in range(10):
        budget.record_attempt()
    assert budget.try_spend() and not budget.try_spend()  # 10 requests earned exactly one retry


def test_backoff_is_full_jitter_and_capped() -> None:
    policy = RetryPolicy(base_delay=0.01, max_delay=0.05)
    delays = [policy.backoff(10) for _ in range(200)]
    assert all(0 <= d <= 0.05 for d in delays)
    assert min(delays) < 0.01 and max(delays) > 0.04  # spread over the whole range


async def test_bulkhead_rejects_beyond_its_limit() -> None:
    bulkhead = Bulkhead(2, max_wait=0.01)
    release = asyncio.Event()

    async def hold() -> None:
        async with bulkhead:
            await release.wait()

    tasks = [asyncio.create_task(hold()) for _ in range(2)]
    await asyncio.sleep(0.01)
    with pytest.raises(Exception, match="2 calls in flight"):
        async with bulkhead:
            pass
    release.set()
    await asyncio.gather(*tasks)
    async with bulkhead:
        assert bulkhead.in_use == 1


def test_shedder_refuses_best_effort_first_and_critical_last() -> None:
    shedder = Shedder(10)
    admitted = [shedder.admit("critical") for _ in range(5)]
    assert all(admitted)
    assert not shedder.admit("best-effort")  # 5 in flight = best-effort's 50%
    assert shedder.admit("degraded")  # up to 80%
    for _ in range(2):
        shedder.admit("degraded")
    assert not shedder.admit("degraded")
    assert shedder.admit("critical") and shedder.admit("critical")
    assert not shedder.admit("critical")  # 10 = the limit
    shedder.release()
    assert shedder.admit("critical")


async def test_a_domain_outcome_passes_through_without_retry_or_breaker_failure() -> None:
    from reference_services.common.resilience import DomainOutcome

    class NoSuchUser(DomainOutcome):
        pass

    breaker = AsyncBreaker("b", _gauge(), fail_max=1, reset_timeout=60, exclude=[DomainOutcome])
    calls = 0

    async def missing() -> None:
        nonlocal calls
        calls += 1
        raise NoSuchUser()

    dep = _dep(breaker=breaker, retry=RetryPolicy(attempts=3, base_delay=0.001))
    for _ in range(3):
        with pytest.raises(NoSuchUser):
            await dep.call(missing)
    assert calls == 3 and breaker.state == "closed"  # one call each, and fail_max=1 never tripped
