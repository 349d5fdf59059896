"""The app factory: every service is routes + dependencies + readiness checks on the same skeleton."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Match, Route

from .auth import Tokens, forbidden
from .health import Check, Readiness
from .metrics import Metrics
from .middleware import EdgeMiddleware
from .openapi import build_openapi
from .problems import ProblemError, problem
from .resilience import AsyncBreaker, Bulkhead, BulkheadFull, Dependency, DomainOutcome, RetryPolicy, Shedder
from .routing import ApiRoute, Endpoint
from .settings import SettingMissing, Settings

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
    # Run when the replica stops taking requests (SIGTERM's drain is over), before its in-flight requests are
    # awaited: push out now whatever they wait for, so they are answered inside the shutdown budget.
    on_closing: list[Hook] = field(default_factory=list)
    _tokens: Tokens | None = field(default=None, init=False, repr=False)

    @property
    def tokens(self) -> Tokens:
        """The bearer-token keeper; a service with protected routes cannot start without a key."""
        if self._tokens is None:
            secret = self.settings.jwt_secret
            if secret is None:
                raise SettingMissing("TENFOLD_JWT_SECRET", f"{self.name} checks bearer tokens; give it the stack's key")
            self._tokens = Tokens(secret.get_secret_value(), self.settings.jwt_ttl_seconds)
        return self._tokens

    def dependency(
        self,
        name: str,
        *,
        timeout: float,
        retries: int = 3,
        breaker: bool = True,
        pool: int | None = None,
    ) -> Dependency:
        """The policy for one dependency. ``pool``: the client's connection pool size, for a client that makes a
        caller wait for a free connection (asyncpg). The bulkhead is then the pool: a caller waits for a
        connection in the bulkhead, up to ``timeout``, where a busy pool is saturation (503 + Retry-After), not a
        failure of the dependency; waiting inside the client would spend the call's timeout and count towards
        opening the breaker, and a breaker opened by our own queue refuses every request for its reset time."""
        s = self.settings
        return Dependency(
            name,
            timeout=timeout,
            bulkhead=Bulkhead(pool, max_wait=timeout) if pool is not None else Bulkhead(s.bulkhead_limit),
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

    endpoints = [_guarded(r.endpoint, service.tokens) if r.auth else r.endpoint for r in service.routes]
    s = service.settings
    if s.test_delay_seconds and s.test_delay_path_prefix:  # TEST HOOK (Settings.test_delay_*): one route slowed
        endpoints = [_delayed(e, s.test_delay_seconds) if r.path.startswith(s.test_delay_path_prefix) else e
                     for r, e in zip(service.routes, endpoints, strict=True)]  # fmt: skip
    routes = [Route(r.path, e, methods=[r.method]) for r, e in zip(service.routes, endpoints, strict=True)]
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
    templates: dict[object, str] = {e: r.template for r, e in zip(service.routes, endpoints, strict=True)}
    app.add_middleware(
        EdgeMiddleware,
        metrics=service.metrics,
        shedder=Shedder(service.settings.max_in_flight),
        router=app.router,
        templates=templates,
    )
    return app


def _delayed(endpoint: Endpoint, seconds: float) -> Endpoint:
    async def delayed(request: Request) -> Response:
        await asyncio.sleep(seconds)
        return await endpoint(request)

    return delayed


def _guarded(endpoint: Endpoint, tokens: Tokens) -> Endpoint:
    """Token first (401), then ownership (403): a ``user_id`` in the path must be the caller's own."""

    async def guarded(request: Request) -> Response:
        caller = tokens.caller(request)
        owner = request.path_params.get("user_id")
        if owner is not None and owner != caller:
            raise forbidden(caller, owner)
        request.state.caller = caller
        return await endpoint(request)

    return guarded


async def _problem_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ProblemError)
    return exc.response()


async def _http_exception_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return problem(404, "Not found", f"no route for {request.url.path}", kind="no-route")
    if exc.status_code == 405:
        allow = _allowed_methods(request)
        detail = f"{request.method} is not allowed on {request.url.path}; allowed: {allow}"
        return problem(405, "Method not allowed", detail, headers={"Allow": allow})
    return problem(exc.status_code, "HTTP error", str(exc.detail))


def _allowed_methods(request: Request) -> str:
    """``Allow`` of a 405 (RFC 9110): every method of every route on this path, not only the first route's."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        if isinstance(route, Route) and route.methods and route.matches(request.scope)[0] is not Match.NONE:
            methods |= route.methods
    return ", ".join(sorted(methods))


async def _crash_handler(request: Request, exc: Exception) -> Response:
    _log.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem(500, "Internal error", "the service failed; this is a bug, see the service log", kind="internal")
