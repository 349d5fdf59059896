"""The read path catalog and recommendations share: a DynamoDB table of documents behind Redis cache-aside."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from .app import Service
from .cache import CacheAside, redis_client
from .dynamodb import DynamoTable
from .resilience import TokenBucket

__all__ = ["SCAN_PAGE", "SCAN_PAUSE", "SCAN_TIMEOUT", "CachedTable"]

SCAN_PAGE = 100  # items per Scan request of a background scan (≈0.5 ms of CPU to read and shape here)
SCAN_PAUSE = 0.2  # seconds between pages: 10k titles take ≈20 s at ≈5% of a 50m quota
SCAN_TIMEOUT = 120.0  # seconds for a whole background scan


class CachedTable:
    """Cache first, then the store through its own breaker; ``shape`` turns a store document into the answer.

    Raises ``DependencyError`` only when the store had to be asked and failed; the caller decides what that
    means (a 503 for a title, popular rows for recommendations).
    """

    def __init__(
        self,
        service: Service,
        table: str,
        key: str,
        prefix: str,
        shape: Callable[[bytes], bytes] = bytes,
        origin_guard: TokenBucket | None = None,
    ) -> None:
        settings = service.settings
        self.table = DynamoTable(settings, table, key)
        self.store = service.dependency("dynamodb", timeout=settings.store_timeout)
        self.redis = redis_client(settings)
        self.cache = CacheAside(
            client=self.redis,
            dependency=service.dependency("redis", timeout=settings.redis_timeout, retries=1),
            metrics=service.metrics,
            settings=settings,
            prefix=prefix,
            origin_guard=origin_guard,
        )
        self._shape = shape

    async def get(self, key: int) -> bytes | None:
        return await self.cache.get(str(key), lambda: self.load(key))

    async def load(self, key: int, past_open_breaker: bool = False) -> bytes | None:
        """Straight from the store, bypassing the cache (and an open breaker too, if asked: ``Dependency.call``)."""
        doc = await self.store.call(lambda: self.table.get_doc(key), past_open_breaker=past_open_breaker)
        return None if doc is None else self._shape(doc)

    async def scan(self, limit: int) -> dict[int, bytes]:
        """Up to ``limit`` shaped documents straight from the store, outside the request path's policy.

        Small pages with a pause between: a replica capped at a few percent of a core (one just started by a
        scale-out, or answering a cold cache) would otherwise give the scan most of its quota while requests wait
        (pages of 500 items 0.1 s apart: the quick spike's baseline p99 was 432 and 699 ms in two runs, 210 ms without
        the scan).
        """
        docs: dict[int, bytes] = {}
        async with asyncio.timeout(SCAN_TIMEOUT):
            async for page in self.table.scan_pages(limit, SCAN_PAGE):
                docs.update((key, self._shape(doc)) for key, doc in page)
                await asyncio.sleep(SCAN_PAUSE)
        return docs

    async def ping_redis(self) -> None:
        await self.redis.ping()

    async def close(self) -> None:
        await self.table.close()
        await self.redis.aclose()
