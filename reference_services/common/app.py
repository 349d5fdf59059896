"""The app factory: every service is routes + dependencies + readiness checks on the same skeleton."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from .health import Check, Readiness
from .metrics import Metrics
from .middleware import EdgeMiddleware
from .openapi import build_openapi
from .problems import ProblemError, problem
from .resilience import AsyncBreaker, Bulkhead, BulkheadFull, Dependency, DomainOutcome, RetryPolicy, Shedder
from .routing import ApiRoute
from .settings import Settings

__all__ = ["Service", "create_app"]

Hook = Callable[[], Awaitable[None]]
_log = logging.getLogger("tenfold.app")


@dataclass
class Service:
    """What a service module hands the factory."""

    name: str
    settings: Settings
    metrics: Metrics
    routes: list[ApiRoute] = field(default_factory=list)
    checks: dict[str, Check] = field(default_factory=dict)  # must answer once before the replica is ready
    optional_checks: dict[str, Check] = field(default_factory=dict)  # reported in /readyz only
    on_startup: list[Hook] = field(default_factory=list)
    on_shutdown: list[Hook] = field(default_factory=list)

    def dependency(self, name: str, *, timeout: float, retries: int = 3, breaker: bool = True) -> Dependency:
        s = self.settings
        return Dependency(
            name,
            timeout=timeout,
            bulkhead=Bulkhead(s.bulkhead_limit),
            breaker=AsyncBreaker(
                f"{self.name}:{name}",
                self.metrics.breaker_state.labels(self.name, name),
                fail_max=s.breaker_fail_max,
                reset_timeout=s.breaker_reset_seconds,
                exclude=[BulkheadFull, DomainOutcome],
            )
            if breaker
            else None,
            retry=RetryPolicy(attempts=retries) if retries > 1 else None,
            duration=self.metrics.dependency_duration.labels(self.name, name),
        )


def create_app(service: Service) -> Starlette:
    readiness = Readiness(service.checks, service.optional_checks)
    openapi = orjson.dumps(build_openapi(f"tenfold {service.name}", service.routes))

    async def healthz(request: Request) -> Response:
        return Response(b'{"alive":true}', media_type="application/json")

    async def readyz(request: Request) -> Response:
        body = {"ready": readiness.ready, "draining": readiness.draining, "dependencies": readiness.status}
        return Response(orjson.dumps(body), status_code=200 if readiness.ready else 503, media_type="application/json")

    async def metrics(request: Request) -> Response:
        return PlainTextResponse(service.metrics.render(), media_type="text/plain; version=0.0.4")

    async def openapi_json(request: Request) -> Response:
        return Response(openapi, media_type="application/json")

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        for hook in service.on_startup:
            await hook()
        readiness.start()
        _log.info("listening on %s:%s", service.settings.host, service.settings.port)
        try:
            yield
        finally:
            await readiness.stop()
            for hook in reversed(service.on_shutdown):
                with contextlib.suppress(Exception):
                    await hook()

    routes = [Route(r.path, r.endpoint, methods=[r.method]) for r in service.routes]
    routes += [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        Route("/openapi.json", openapi_json, methods=["GET"]),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={
            ProblemError: _problem_handler,
            HTTPException: _http_exception_handler,
            Exception: _crash_handler,
        },
    )
    app.state.readiness = readiness
    app.state.service = service
    templates: dict[object, str] = {r.endpoint: r.template for r in service.routes}
    app.add_middleware(
        EdgeMiddleware,
        metrics=service.metrics,
        shedder=Shedder(service.settings.max_in_flight),
        router=app.router,
        templates=templates,
    )
    return app


async def _problem_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ProblemError)
    return exc.response()


async def _http_exception_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return problem(404, "Not found", f"no route for {request.url.path}", kind="no-route")
    if exc.status_code == 405:
        return problem(405, "Method not allowed", f"{request.method} is not allowed on {request.url.path}")
    return problem(exc.status_code, "HTTP error", str(exc.detail))


async def _crash_handler(request: Request, exc: Exception) -> Response:
    _log.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem(500, "Internal error", "the service failed; this is a bug, see the service log", kind="internal")
