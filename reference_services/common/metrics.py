"""The metrics docs/prometheus.md#metrics lists, exactly: Prometheus conventions, base units, low-cardinality
labels. Counters are named with their exported ``_total`` (prometheus_client strips and re-adds it)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

__all__ = ["Metrics"]

_LATENCY_BUCKETS = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip


class Metrics:
    """One registry per process; children are cached so the hot path does one dict lookup."""

    def __init__(self, service: str) -> None:
        self.service = service
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "http_requests_total",
            "HTTP requests answered, by route template and outcome.",
            ["service", "route", "method", "code", "priority", "degraded"],
            registry=r,
        )
        self.duration = Histogram(
            "http_request_duration_seconds",
            "Time to answer an HTTP request, in the service.",
            ["service", "route"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.cache = Counter(
            "cache_requests_total", "Cache lookups by result (hit|miss|error).", ["service", "result"], registry=r
        )
        self.fallbacks = Counter(
            "fallback_responses_total",
            "Degraded answers served instead of errors.",
            ["service", "reason"],
            registry=r,
        )
        self.breaker_state = Gauge(
            "circuit_breaker_state",
            "Circuit breaker state: 0 closed, 1 half-open, 2 open.",
            ["service", "dependency"],
            registry=r,
        )
        self.dependency_duration = Histogram(
            "dependency_request_duration_seconds",
            "Time spent in calls to a dependency, including failures.",
            ["service", "dependency"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self._request_children: dict[tuple[str, str, int, str, bool], Counter] = {}
        self._duration_children: dict[str, Histogram] = {}

    def observe_request(
        self, route: str, method: str, code: int, priority: str, degraded: bool, seconds: float
    ) -> None:
        key = (route, method, code, priority, degraded)
        child = self._request_children.get(key)
        if child is None:
            child = self.requests.labels(self.service, route, method, str(code), priority, str(degraded).lower())
            self._request_children[key] = child
        child.inc()
        hist = self._duration_children.get(route)
        if hist is None:
            hist = self.duration.labels(self.service, route)
            self._duration_children[route] = hist
        hist.observe(seconds)

    def cache_result(self, result: str) -> None:
        self.cache.labels(self.service, result).inc()

    def fallback(self, reason: str) -> None:
        self.fallbacks.labels(self.service, reason).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
