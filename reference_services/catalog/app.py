"""catalog: title metadata from DynamoDB behind Redis cache-aside."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response

from ..common.app import Service, create_app
from ..common.cached_table import CachedTable
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
    titles = CachedTable(service, "titles", "id", prefix="title:")

    async def get_title(request: Request) -> Response:
        title_id: int = request.path_params["title_id"]
        if not 0 < title_id <= _MAX_ID:
            raise _no_title(title_id)
        try:
            doc = await titles.get(title_id)
        except DependencyError as exc:
            raise unavailable(
                "dynamodb", f"title {title_id} is not cached and the store failed ({exc.reason})"
            ) from None
        if doc is None:
            raise _no_title(title_id)
        return Response(doc, media_type="application/json")

    service.routes = [
        ApiRoute("/api/titles/{title_id:int}", "GET", get_title, "A title's metadata", Title, errors=(404,))
    ]
    service.checks = {"dynamodb": titles.table.ping}
    service.optional_checks = {"redis": titles.ping_redis}
    service.on_shutdown = [titles.close]
    return create_app(service)


def _no_title(title_id: int) -> ProblemError:
    return ProblemError(404, "No such title", f"title {title_id} does not exist", kind="not-found")
