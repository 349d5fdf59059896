"""recommendations: precomputed rows per user (DynamoDB) behind Redis; popular rows when both fail.

Redis trouble → read the store (through its breaker), up to ``TENFOLD_CACHE_DOWN_STORE_RPS`` (5) reads per second
per replica so a lost cache tier does not stampede the store; store trouble, open breaker or that budget spent →
the popular rows, as a 200 with ``X-Degraded`` and ``"degraded": true``.
``TENFOLD_DISABLE_FALLBACKS=1`` answers 503 instead, so the harness can prove it notices the difference.
"""

from __future__ import annotations

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response

from ..common.app import Service, create_app
from ..common.cached_table import CachedTable
from ..common.metrics import Metrics
from ..common.problems import ProblemError, unavailable
from ..common.resilience import DependencyError, Fallback, TokenBucket
from ..common.routing import MAX_ID, ApiRoute
from ..common.settings import Settings
from ..common.stale import flagged
from ..seed import POPULAR_KEY, popular_doc
from .models import Recommendations

__all__ = ["build"]


def build(settings: Settings) -> Starlette:
    metrics = Metrics("recommendations")
    service = Service("recommendations", settings, metrics)
    guard = TokenBucket(settings.cache_down_store_rps) if settings.cache_down_store_rps > 0 else None
    rows = CachedTable(service, "recommendations", "user_id", prefix="recs:", shape=flagged, origin_guard=guard)
    popular = Fallback(
        orjson.dumps(popular_doc()), lambda: rows.load(POPULAR_KEY), every=settings.fallback_refresh_seconds
    )

    async def get_recommendations(request: Request) -> Response:
        user_id: int = request.path_params["user_id"]
        if not 0 < user_id <= MAX_ID:
            raise _no_user(user_id)
        try:
            doc = await rows.get(user_id)
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

    service.routes = [
        ApiRoute(
            "/api/recommendations/{user_id:int}",
            "GET",
            get_recommendations,
            "Rows of titles for a user (degraded: popular rows)",
            Recommendations,
            errors=(404,),
            auth=True,
        )
    ]
    # No required dependency: with both Redis and DynamoDB down this replica still answers (degraded).
    service.optional_checks = {"dynamodb": rows.table.ping, "redis": rows.ping_redis}
    service.on_startup = [popular.start]
    service.on_shutdown = [rows.close, popular.stop]
    return create_app(service)


def _no_user(user_id: int) -> ProblemError:
    return ProblemError(404, "No such user", f"user {user_id} has no recommendations", kind="not-found")
