"""Redis cache-aside: TTL with jitter, negative caching of 404s, single-flight on misses, a tiny near cache.

The near cache (a second or so, bounded) is what EVCache and Caffeine-in-front-of-Redis do for hot keys:
the hottest titles of a Zipf distribution would otherwise all hit one Redis key.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Awaitable, Callable

import redis.asyncio as aioredis
from redis.asyncio.sentinel import Sentinel

from .metrics import Metrics
from .resilience import Dependency, DependencyError, TokenBucket
from .settings import Settings

__all__ = ["NEGATIVE", "CacheAside", "redis_client"]

NEGATIVE = b"\x00404"  # stored for ids the store does not have
SETTLED_ENTRIES = 1024  # recent loads remembered to close the single-flight race (see CacheAside._settled)


def redis_client(settings: Settings) -> aioredis.Redis:
    """Through Sentinel when configured, so a failover is a reconnect, not an outage."""
    timeout = settings.redis_timeout * 4
    sentinels = settings.sentinel_addresses()
    if sentinels:
        sentinel = Sentinel(  # type: ignore[no-untyped-call]
            sentinels, sentinel_kwargs={"socket_timeout": 0.25, "socket_connect_timeout": 0.25}
        )
        client: aioredis.Redis = sentinel.master_for(
            settings.redis_master, max_connections=64, socket_timeout=timeout, socket_connect_timeout=0.25
        )
        return client
    direct: aioredis.Redis = aioredis.Redis.from_url(
        settings.redis_url, max_connections=64, socket_timeout=timeout, socket_connect_timeout=0.25
    )
    return direct


class CacheAside:
    def __init__(
        self,
        *,
        client: aioredis.Redis,
        dependency: Dependency,
        metrics: Metrics,
        settings: Settings,
        prefix: str,
        origin_guard: TokenBucket | None = None,
    ) -> None:
        self.client = client
        self.dependency = dependency
        self.metrics = metrics
        self.prefix = prefix
        self.ttl = settings.cache_ttl_seconds
        self.jitter = settings.cache_ttl_jitter
        self.negative_ttl = settings.negative_ttl_seconds
        self.near_seconds = settings.near_cache_seconds
        self.near_max = settings.near_cache_entries
        self.origin_guard = origin_guard
        self._near: dict[str, tuple[float, bytes]] = {}
        self._inflight: dict[str, asyncio.Future[bytes]] = {}
        # Loads that finished lately: a miss read from Redis before such a load stored its value is stale,
        # and must not start a second load (the single-flight race between the GET and the store).
        self._settled: dict[str, tuple[float, bytes]] = {}

    async def get(self, key: str, load: Callable[[], Awaitable[bytes | None]]) -> bytes | None:
        """The cached bytes for ``key``; ``None`` when the store has no such item.

        Raises :class:`DependencyError` when the store had to be asked and failed, or when the cache is down
        and the origin guard refused to let this miss through to the store.
        """
        near = self._near.get(key)
        if near is not None and near[0] > time.monotonic():
            return None if near[1] == NEGATIVE else near[1]
        cache_ok = True
        asked = time.monotonic()
        try:
            cached = await self.dependency.call(lambda: self.client.get(self.prefix + key))
        except DependencyError:
            self.metrics.cache_result("error")
            cached, cache_ok = None, False
        if cached is not None:
            self.metrics.cache_result("hit")
            self._remember(key, cached)
            return None if cached == NEGATIVE else cached
        if cache_ok:
            self.metrics.cache_result("miss")
        elif self.origin_guard is not None and key not in self._inflight and not self.origin_guard.try_take():
            # The cache tier is gone: every request would fall through to the store at once. Past the
            # guard's rate, refuse here so the caller degrades instead of the store falling over too.
            raise DependencyError("cache", "origin-protected")
        value = await self._single_flight(key, load, cache_ok, asked)
        return None if value == NEGATIVE else value

    async def _single_flight(
        self, key: str, load: Callable[[], Awaitable[bytes | None]], cache_ok: bool, asked: float
    ) -> bytes:
        pending = self._inflight.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        settled = self._settled.get(key)
        if settled is not None and settled[0] >= asked:
            return settled[1]  # a load finished after our cache read went out: that miss is already stale
        fut: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._inflight[key] = fut
        try:
            loaded = await load()
            value = NEGATIVE if loaded is None else loaded
            if cache_ok:
                await self._store(key, value)
            self._remember(key, value)
            self._settle(key, value)
            fut.set_result(value)
            return value
        except BaseException as exc:
            fut.set_exception(exc)
            fut.exception()  # mark retrieved: waiters re-raise it, nobody else needs to
            raise
        finally:
            del self._inflight[key]

    async def _store(self, key: str, value: bytes) -> None:
        ttl = self.negative_ttl if value == NEGATIVE else self.ttl * (1 + random.uniform(-self.jitter, self.jitter))
        # On failure the answer is still right; the next request will try to cache it again.
        with contextlib.suppress(DependencyError):
            await self.dependency.call(lambda: self.client.set(self.prefix + key, value, px=int(ttl * 1000)))

    def _settle(self, key: str, value: bytes) -> None:
        self._settled.pop(key, None)
        if len(self._settled) >= SETTLED_ENTRIES:
            self._settled.pop(next(iter(self._settled)))
        self._settled[key] = (time.monotonic(), value)

    def _remember(self, key: str, value: bytes) -> None:
        if self.near_seconds <= 0:
            return
        if len(self._near) >= self.near_max:
            self._near.pop(next(iter(self._near)))
        self._near[key] = (time.monotonic() + self.near_seconds, value)

    def forget_near(self) -> None:
        self._near.clear()
