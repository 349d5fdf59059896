"""The autoscaler's Pods metrics from a real Prometheus: requests per second per replica and the service's p95.

A tiny exporter plays the replicas: counters that grow at a known rate per replica (catalog-0 5 req/s,
catalog-1 15 req/s) and a histogram whose catalog observations all fall in (0.1 s, 0.2 s]. A third series of
another service (users, 100 req/s, all in (1 s, 5 s]) must not leak into catalog's numbers. Prometheus scrapes
it every second; the real query code (tenfold.stack.metrics) asks, and the real HPA decides from the answers.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from servers import free_port, prometheus

from tenfold.stack.autoscaler import Autoscaler, HpaSpec, MetricSample, MetricTarget
from tenfold.stack.manifests import ServiceSpec
from tenfold.stack.metrics import P95_METRIC, RPS_METRIC, MetricsSource
from tenfold.stack.procs import Proc
from tenfold.stack.replicas import Deployment, Replica

RATES = {("catalog", "catalog-0"): 5.0, ("catalog", "catalog-1"): 15.0, ("users", "users-0"): 100.0}
BUCKETS = {"catalog": (0.2, ("0.1", "0.2", "1", "5")), "users": (5.0, ("0.1", "0.2", "1", "5"))}  # (slowest, le)
_WINDOW_S = 10  # tenfold.stack.metrics' rate window: a rate over fewer seconds of data reads low


def exposition(elapsed: float) -> str:
    """The exporter's page ``elapsed`` seconds after it started: every counter is rate x elapsed."""
    lines = ["# TYPE http_requests_total counter", "# TYPE http_request_duration_seconds histogram"]
    for (svc, rid), rate in RATES.items():
        count = rate * elapsed
        lines.append(f'http_requests_total{{service="{svc}",replica="{rid}"}} {count}')
        slowest, les = BUCKETS[svc]
        for le in les:
            in_bucket = count if float(le) >= slowest else 0.0
            lines.append(
                f'http_request_duration_seconds_bucket{{service="{svc}",replica="{rid}",le="{le}"}} {in_bucket}'
            )
        lines.append(f'http_request_duration_seconds_bucket{{service="{svc}",replica="{rid}",le="+Inf"}} {count}')
        lines.append(f'http_request_duration_seconds_count{{service="{svc}",replica="{rid}"}} {count}')
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def prom() -> Iterator[str]:
    started = time.monotonic()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = exposition(time.monotonic() - started).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    exporter = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=exporter.serve_forever, daemon=True)
    thread.start()
    server = prometheus([f"127.0.0.1:{exporter.server_address[1]}"])
    try:
        yield server.url
    finally:
        server.stop()
        exporter.shutdown()
        exporter.server_close()


def catalog(home: Path, states: dict[str, str]) -> Deployment:
    """The catalog Deployment with replicas in the given states (not started: the exporter answers for them)."""
    spec = ServiceSpec("catalog", len(states), 0.25, 0.25, "/readyz", 10.0, {}, None, "test")
    d = Deployment(spec, list(range(len(states))), home, None, {})  # type: ignore[arg-type]  # no cgroups here
    for slot, (rid, state) in enumerate(states.items()):
        proc = Proc(rid, ["true"], log=home / f"{rid}.log")
        d.replicas.append(Replica(rid, "catalog", slot, slot, proc, None, state=state))
    return d


def samples(url: str, d: Deployment, wanted: set[str]) -> list[MetricSample]:
    """What the controller's autoscaling loop gets for ``d`` (tenfold.stack.metrics, unchanged)."""

    async def ask() -> list[MetricSample]:
        source = MetricsSource(url)
        try:
            return await source.samples(d, 1.0, wanted)
        finally:
            await source.close()

    return asyncio.run(ask())


def settled(url: str, d: Deployment) -> dict[str, tuple[Any, ...]]:
    """Samples once Prometheus holds a full rate window of scrapes (before that, rates read low)."""
    deadline = time.monotonic() + _WINDOW_S + 15
    while True:
        got = {s.name: s.pods for s in samples(url, d, {RPS_METRIC, P95_METRIC})}
        rps = [p.value for p in got.get(RPS_METRIC, ()) if p.value is not None]
        if len(rps) == 2 and abs(rps[0] - 5.0) < 0.25 and abs(rps[1] - 15.0) < 0.75:
            return got
        assert time.monotonic() < deadline, f"rates never settled within 5% of 5 and 15 req/s: {got}"
        time.sleep(0.5)


def test_rate_per_replica_and_p95_of_the_service(prom: str, tmp_path: Path) -> None:
    d = catalog(tmp_path, {"catalog-0": "ready", "catalog-1": "ready", "catalog-2": "starting"})
    got = settled(prom, d)
    rps = got[RPS_METRIC]
    assert [p.ready for p in rps] == [True, True, False]
    assert rps[0].value == pytest.approx(5.0, rel=0.05) and rps[1].value == pytest.approx(15.0, rel=0.05)
    assert rps[2].value is None  # no series for a replica Prometheus does not scrape yet: no sample, not 0
    # All catalog observations in (0.1, 0.2]: histogram_quantile interpolates 0.1 + 0.95 x 0.1. The users
    # series (all in (1, 5]) would pull it above 1 s if the service filter were lost.
    p95 = got[P95_METRIC]
    assert len(p95) == 3 and all(p.value == pytest.approx(0.195, abs=0.005) for p in p95)
    # Only what the HPA asks for is queried.
    assert [s.name for s in samples(prom, d, {RPS_METRIC})] == [RPS_METRIC]


@pytest.mark.parametrize(
    ("case", "metric", "target", "expected"),
    [
        # The unready, unscraped third replica counts as idle going up: ceil(3 x mean(5, 15, 0) / 4.5) = ceil(4.44)
        ("rps over target scales out", RPS_METRIC, 4.5, 5),
        ("rps under target scales in", RPS_METRIC, 40.0, 1),
        ("rps inside tolerance: no change", RPS_METRIC, 10.0, 3),
        # The service's p95 is every replica's value; the unready one counts as idle going up: ceil(3 x 0.13 / 0.09).
        ("p95 0.195 s vs 0.09 s scales out", P95_METRIC, 0.09, 5),
        ("p95 under target scales in", P95_METRIC, 1.0, 1),
    ],
)
def test_the_hpa_follows_the_prometheus_metrics(prom: str, tmp_path: Path, case: str, metric: str, target: float,
                                                 expected: int) -> None:  # fmt: skip
    d = catalog(tmp_path, {"catalog-0": "ready", "catalog-1": "ready", "catalog-2": "starting"})
    settled(prom, d)
    got = samples(prom, d, {metric})
    decision = Autoscaler(HpaSpec(1, 10, (MetricTarget(metric, target),))).step(0.0, 3, got)
    assert decision.proposals == {metric: expected} and decision.desired == expected, (case, got, decision)
