"""catalog: title metadata from DynamoDB behind Redis cache-aside."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response

from ..common.app import Service, create_app
from ..common.cache import CacheAside, redis_client
from ..common.dynamodb import DynamoTable
from ..common.metrics import Metrics
from ..common.problems import ProblemError, unavailable
from ..common.resilience import DependencyError
from ..common.routing import ApiRoute
from ..common.settings import Settings
from .models import Title

__all__ = ["build"]

_MAX_ID = 2**31 - 1


def build(settings: Settings) -> Starlette:
    metrics = Metrics("catalog")
    service = Service("catalog", settings, metrics)
    table = DynamoTable(settings, "titles", "id")
    store = service.dependency("dynamodb", timeout=settings.store_timeout)
    redis = redis_client(settings)
    cache = CacheAside(
        client=redis,
        dependency=service.dependency("redis", timeout=settings.redis_timeout, retries=1),
        metrics=metrics,
        settings=settings,
        prefix="title:",
    )

    async def get_title(request: Request) -> Response:
        title_id: int = request.path_params["title_id"]
        if not 0 < title_id <= _MAX_ID:
            raise _no_title(title_id)
        try:
            doc = await cache.get(str(title_id), lambda: store.call(lambda: table.get_doc(title_id)))
        except DependencyError as exc:
            raise unavailable(
                "dynamodb", f"title {title_id} is not cached and the store failed ({exc.reason})"
            ) from None
        if doc is None:
            raise _no_title(title_id)
        return Response(doc, media_type="application/json")

    async def ping_redis() -> None:
        await redis.ping()

    service.routes = [
        ApiRoute("/api/titles/{title_id:int}", "GET", get_title, "A title's metadata", Title, errors=(404,))
    ]
    service.checks = {"dynamodb": table.ping}
    service.optional_checks = {"redis": ping_redis}
    service.on_startup = [table.open]
    service.on_shutdown = [table.close, redis.aclose]
    return create_app(service)


def _no_title(title_id: int) -> ProblemError:
    return ProblemError(404, "No such title", f"title {title_id} does not exist", kind="not-found")
