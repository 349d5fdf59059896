"""catalog: title metadata from DynamoDB behind Redis cache-aside; stale copies when the store fails.

A title that is neither in the cache nor readable from the store (store down, breaker open) is answered
from the replica's stale copies (see ``common/stale.py``) as a 200 with ``X-Degraded`` and
``"degraded": true``; only a title with no copy gets 503 + ``Retry-After``, and a critical one (``X-Priority``)
only after one more try at the store past an open breaker.
``TENFOLD_DISABLE_FALLBACKS=1`` answers 503 instead, so the harness can prove it notices the difference.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response

from ..common.app import Service, create_app
from ..common.cached_table import CachedTable
from ..common.metrics import Metrics
from ..common.problems import ProblemError, unavailable
from ..common.resilience import PRIORITY, DependencyError
from ..common.routing import MAX_ID, ApiRoute
from ..common.settings import Settings
from ..common.stale import StaleCopies, flagged
from .models import Title

__all__ = ["build"]


def build(settings: Settings) -> Starlette:
    metrics = Metrics("catalog")
    service = Service("catalog", settings, metrics)
    titles = CachedTable(service, "titles", "id", prefix="title:", shape=flagged)
    stale = StaleCopies(
        titles.scan,
        entries=0 if settings.disable_fallbacks else settings.stale_copies_entries,
        every=settings.stale_copies_seconds,
        first_delay=settings.stale_copies_delay_seconds,
    )

    async def get_title(request: Request) -> Response:
        title_id: int = request.path_params["title_id"]
        if not 0 < title_id <= MAX_ID:
            raise _no_title(title_id)
        try:
            doc = await titles.get(title_id)
        except DependencyError as exc:
            if not (exc.reason == "breaker-open" and PRIORITY.get() == "critical" and stale.get(title_id) is None):
                return degrade(title_id, f"store-{exc.reason}")
            # A critical title with no copy to fall back on: one try at the store past the open breaker, rather
            # than a certain 503 (under overload a replica's breaker opens on its own slowness while the store
            # still answers; replicas new in a scale-out have no copies for their first seconds).
            try:
                doc = await titles.load(title_id, past_open_breaker=True)
            except DependencyError as again:
                return degrade(title_id, f"store-{again.reason}")
        if doc is None:
            raise _no_title(title_id)
        stale.keep(title_id, doc)
        return Response(doc, media_type="application/json")

    def degrade(title_id: int, reason: str) -> Response:
        copy = stale.get(title_id)
        if copy is None:
            raise unavailable("dynamodb", f"title {title_id} is not cached, has no stale copy and the store failed "
                                          f"({reason})")  # fmt: skip
        metrics.fallback(f"stale-{reason}")
        return Response(flagged(copy, degraded=True), media_type="application/json",
                        headers={"X-Degraded": f"stale-{reason}"})  # fmt: skip

    service.routes = [
        ApiRoute(
            "/api/titles/{title_id:int}",
            "GET",
            get_title,
            "A title's metadata (degraded: a stale copy)",
            Title,
            errors=(404,),
        )
    ]
    service.checks = {"dynamodb": titles.table.ping}
    service.optional_checks = {"redis": titles.ping_redis}
    if stale.entries and settings.stale_copies_seconds > 0:
        service.on_startup = [stale.start]
    service.on_shutdown = [titles.close, stale.stop]
    return create_app(service)


def _no_title(title_id: int) -> ProblemError:
    return ProblemError(404, "No such title", f"title {title_id} does not exist", kind="not-found")
