"""events: playback events batched to S3. ``202`` only once the object holding the event is stored."""

from __future__ import annotations

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response

from ..common.app import Service, create_app
from ..common.auth import forbidden
from ..common.aws import AwsHttp
from ..common.body import read_model
from ..common.metrics import Metrics
from ..common.problems import ProblemError, unavailable
from ..common.resilience import DependencyError
from ..common.routing import ApiRoute
from ..common.settings import Settings
from .models import Accepted, PlaybackEvent
from .store import BufferFull, EventBatcher

__all__ = ["build"]


def build(settings: Settings) -> Starlette:
    metrics = Metrics("events")
    service = Service("events", settings, metrics)
    s3_dep = service.dependency("s3", timeout=settings.s3_timeout)
    s3 = AwsHttp(settings.s3_endpoint, service="s3", region=settings.aws_region)

    async def put(key: str, body: bytes) -> None:
        # Same key and body on every attempt: retrying a PutObject cannot duplicate an event.
        await s3_dep.call(lambda: s3.s3("PUT", settings.s3_bucket, key, body))

    batcher = EventBatcher(
        put,
        replica=settings.replica,
        flush_seconds=settings.events_flush_seconds,
        batch_max=settings.events_batch_max,
        buffer_max=settings.events_buffer_max,
        concurrency=settings.events_flush_concurrency,
    )

    async def post_event(request: Request) -> Response:
        event = await read_model(request, PlaybackEvent)
        if event.user_id != request.state.caller:
            raise forbidden(request.state.caller, event.user_id)
        try:
            key = await batcher.submit(orjson.dumps(event.model_dump()))
        except BufferFull as exc:
            raise ProblemError(
                503, "Overloaded", f"event not accepted: {exc}", kind="overloaded", retry_after=1
            ) from None
        except DependencyError as exc:
            raise unavailable("s3", f"event {event.event_id} was not stored ({exc.reason}); send it again") from None
        return Response(orjson.dumps({"event_id": event.event_id, "object": key}), 202, media_type="application/json")

    async def ping_s3() -> None:
        await s3.s3("HEAD", settings.s3_bucket)

    async def start() -> None:
        batcher.start()

    service.routes = [
        ApiRoute(
            "/api/events",
            "POST",
            post_event,
            "Record a playback event (202 once stored in S3)",
            Accepted,
            request_model=PlaybackEvent,
            status=202,
            errors=(413, 415, 422),
            auth=True,
        )
    ]
    service.checks = {"s3": ping_s3}
    service.on_startup = [start]
    service.on_closing = [batcher.closing]
    service.on_shutdown = [s3.close, batcher.stop]
    return create_app(service)
