"""The read path catalog and recommendations share: a DynamoDB table of documents behind Redis cache-aside."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from .app import Service
from .cache import CacheAside, redis_client
from .dynamodb import DynamoTable
from .resilience import TokenBucket

__all__ = ["SCAN_TIMEOUT", "CachedTable"]

SCAN_TIMEOUT = 30.0  # seconds for a whole background scan (pages of 1,000 items)


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

    async def load(self, key: int) -> bytes | None:
        """Straight from the store, bypassing the cache."""
        doc = await self.store.call(lambda: self.table.get_doc(key))
        return None if doc is None else self._shape(doc)

    async def scan(self, limit: int) -> dict[int, bytes]:
        """Up to ``limit`` shaped documents straight from the store, outside the request path's policy."""
        async with asyncio.timeout(SCAN_TIMEOUT):
            docs = await self.table.scan_docs(limit)
        return {key: self._shape(doc) for key, doc in docs.items()}

    async def ping_redis(self) -> None:
        await self.redis.ping()

    async def close(self) -> None:
        await self.table.close()
        await self.redis.aclose()
