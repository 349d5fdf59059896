"""recommendations: precomputed rows per user (DynamoDB) behind Redis; popular rows when both fail.

Redis trouble → read the store (through its breaker); store trouble or open breaker → the popular rows,
as a 200 with ``X-Degraded`` and ``"degraded": true``. ``TENFOLD_DISABLE_FALLBACKS=1`` answers 503 instead,
so the harness can prove it notices the difference.
"""

from __future__ import annotations

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response

from ..common.app import Service, create_app
from ..common.cache import CacheAside, redis_client
from ..common.dynamodb import DynamoTable
from ..common.metrics import Metrics
from ..common.problems import ProblemError, unavailable
from ..common.resilience import DependencyError, Fallback
from ..common.routing import ApiRoute
from ..common.settings import Settings
from ..seed import POPULAR_KEY, popular_doc
from .models import Recommendations

__all__ = ["build"]

_MAX_ID = 2**31 - 1


def _answer(doc: bytes) -> bytes:
    """Store documents lack the ``degraded`` flag; add it once, before caching, not per request."""
    return doc[:-1] + b',"degraded":false}'


def build(settings: Settings) -> Starlette:
    metrics = Metrics("recommendations")
    service = Service("recommendations", settings, metrics)
    table = DynamoTable(settings, "recommendations", "user_id")
    store = service.dependency("dynamodb", timeout=settings.store_timeout)
    redis = redis_client(settings)
    cache = CacheAside(
        client=redis,
        dependency=service.dependency("redis", timeout=settings.redis_timeout, retries=1),
        metrics=metrics,
        settings=settings,
        prefix="recs:",
    )

    async def load_rows(user_id: int) -> bytes | None:
        doc = await store.call(lambda: table.get_doc(user_id))
        return None if doc is None else _answer(doc)

    async def load_popular() -> bytes | None:
        return await store.call(lambda: table.get_doc(POPULAR_KEY))

    popular = Fallback(orjson.dumps(popular_doc()), load_popular)

    async def get_recommendations(request: Request) -> Response:
        user_id: int = request.path_params["user_id"]
        if not 0 < user_id <= _MAX_ID:
            raise _no_user(user_id)
        try:
            doc = await cache.get(str(user_id), lambda: load_rows(user_id))
        except DependencyError as exc:
            return degrade(user_id, f"store-{exc.reason}")
        if doc is None:
            raise _no_user(user_id)
        return Response(doc, media_type="application/json")

    def degrade(user_id: int, reason: str) -> Response:
        if settings.disable_fallbacks:
            raise unavailable("dynamodb", f"recommendations for user {user_id} could not be read ({reason})")
        metrics.fallback(reason)
        rows = orjson.loads(popular.value)["rows"]
        body = orjson.dumps({"user_id": user_id, "rows": rows, "degraded": True})
        return Response(body, media_type="application/json", headers={"X-Degraded": reason})

    async def ping_redis() -> None:
        await redis.ping()

    async def start() -> None:
        await table.open()
        popular.start()

    service.routes = [
        ApiRoute(
            "/api/recommendations/{user_id:int}",
            "GET",
            get_recommendations,
            "Rows of titles for a user (degraded: popular rows)",
            Recommendations,
            errors=(404,),
        )
    ]
    # No required dependency: with both Redis and DynamoDB down this replica still answers (degraded).
    service.optional_checks = {"dynamodb": table.ping, "redis": ping_redis}
    service.on_startup = [start]
    service.on_shutdown = [popular.stop, table.close, redis.aclose]
    return create_app(service)


def _no_user(user_id: int) -> ProblemError:
    return ProblemError(404, "No such user", f"user {user_id} has no recommendations", kind="not-found")
