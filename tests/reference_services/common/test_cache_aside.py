"""CacheAside against a real Redis: single-flight holds even when a miss was read before the leader stored."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
import redis.asyncio as aioredis
from servers import Server, redis

from reference_services.common.app import Service
from reference_services.common.cache import CacheAside
from reference_services.common.metrics import Metrics
from reference_services.common.settings import Settings


@pytest.fixture(scope="module")
def redis_server() -> Iterator[Server]:
    server = redis()
    yield server
    server.stop()


class SlowGetRedis(aioredis.Redis):
    """Real Redis; the GETs of callers named in ``slow`` come back late, as on a loaded machine."""

    slow: set[str]

    async def get(self, name: Any) -> Any:
        value = await super().get(name)
        if asyncio.current_task() is not None and asyncio.current_task().get_name() in self.slow:  # type: ignore[union-attr]
            await asyncio.sleep(0.2)
        return value


def cache_aside(url: str) -> tuple[CacheAside, SlowGetRedis]:
    settings = Settings(near_cache_seconds=0)
    service = Service("test", settings, Metrics("test"))
    client = SlowGetRedis.from_url(url)
    client.slow = set()
    cache = CacheAside(
        client=client, dependency=service.dependency("redis", timeout=1.0), metrics=service.metrics,
        settings=settings, prefix="t:",
    )  # fmt: skip
    return cache, client


def test_a_miss_read_before_the_leader_stored_does_not_load_again(redis_server: Server) -> None:
    loads = 0

    async def load() -> bytes:
        nonlocal loads
        loads += 1
        await asyncio.sleep(0.05)
        return b"value"

    async def scenario() -> list[bytes | None]:
        cache, client = cache_aside(f"redis://127.0.0.1:{redis_server.port}/0")
        client.slow.add("late")
        leader = asyncio.create_task(cache.get("k", load), name="leader")
        await asyncio.sleep(0.01)  # the leader is loading; the late reader's GET goes out now and misses...
        late = asyncio.create_task(cache.get("k", load), name="late")
        # ...but its answer arrives 0.2 s later, after the leader stored the value and left single-flight
        results = [await leader, await late]
        await client.aclose()
        return results

    assert asyncio.run(scenario()) == [b"value", b"value"]
    assert loads == 1


def test_a_later_miss_loads_again(redis_server: Server) -> None:
    """The memo of settled loads only covers reads that raced a load, not later expiries."""
    loads = 0

    async def load() -> bytes:
        nonlocal loads
        loads += 1
        return b"v"

    async def scenario() -> None:
        cache, client = cache_aside(f"redis://127.0.0.1:{redis_server.port}/0")
        assert await cache.get("k2", load) == b"v"
        await client.delete("t:k2")  # expired, evicted or flushed
        assert await cache.get("k2", load) == b"v"
        await client.aclose()

    asyncio.run(scenario())
    assert loads == 2
