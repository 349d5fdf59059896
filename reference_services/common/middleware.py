"""The edge of every service, as raw ASGI (the hot path): priority, load shedding, metrics."""

from __future__ import annotations

import time

from starlette.routing import Match, Router
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .metrics import Metrics
from .problems import problem
from .resilience.shedding import DEFAULT_PRIORITY, PRIORITIES, PRIORITY, Shedder

__all__ = ["EdgeMiddleware"]

_UNMETERED = frozenset({"/metrics", "/healthz", "/readyz", "/openapi.json"})
_PRIORITY_BYTES = {p.encode(): p for p in PRIORITIES}


class EdgeMiddleware:
    """Probes bypass shedding (they must answer under overload) and are not metered (they are not traffic)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        metrics: Metrics,
        shedder: Shedder,
        router: Router,
        templates: dict[object, str],
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.shedder = shedder
        self.router = router
        self.templates = templates

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in _UNMETERED:
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        priority = DEFAULT_PRIORITY
        for name, value in scope["headers"]:
            if name == b"x-priority":
                found = _PRIORITY_BYTES.get(value.strip().lower())
                if found is None:
                    await self._reject(scope, receive, send, 400, "best-effort", start)
                    return
                priority = found
                break
        if not self.shedder.admit(priority):
            await self._reject(scope, receive, send, 503, priority, start)
            return
        PRIORITY.set(priority)
        status = 500
        degraded = False

        async def send_wrapper(message: Message) -> None:
            nonlocal status, degraded
            if message["type"] == "http.response.start":
                status = message["status"]
                degraded = any(k == b"x-degraded" for k, _ in message.get("headers", ()))
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            self.shedder.release()
            route = self.templates.get(scope.get("endpoint"), "unmatched")
            self.metrics.observe_request(
                route, scope["method"], status, priority, degraded, time.perf_counter() - start
            )

    async def _reject(self, scope: Scope, receive: Receive, send: Send, code: int, priority: str, start: float) -> None:
        if code == 400:
            response = problem(
                400, "Bad priority", f"X-Priority must be one of {', '.join(PRIORITIES)}", kind="bad-priority"
            )
        else:
            response = problem(
                503,
                "Overloaded",
                f"shedding {priority} work: {self.shedder.in_flight} requests in flight",
                kind="overloaded",
                retry_after=1,
            )
        await response(scope, receive, send)
        self.metrics.observe_request(
            self._template(scope), scope["method"], code, priority, False, time.perf_counter() - start
        )

    def _template(self, scope: Scope) -> str:
        for route in self.router.routes:
            match, child = route.matches(scope)
            if match is not Match.NONE:
                return self.templates.get(child.get("endpoint"), "unmatched")
        return "unmatched"
