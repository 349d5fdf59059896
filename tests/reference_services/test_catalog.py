"""catalog against real Redis and a real DynamoDB emulator: cache-aside, negative caching, single-flight."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from servers import Server, service


def metric(url: str, name: str, **labels: str) -> float:
    """Sum of a metric's samples whose labels include ``labels``, read from /metrics."""
    total = 0.0
    for line in httpx.get(url + "/metrics").text.splitlines():
        if not line.startswith(name + "{"):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}")[0]))
        if all(found.get(k) == v for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


@pytest.fixture(scope="module")
def catalog(stores: dict[str, str]) -> Iterator[Server]:
    s = service("catalog", {**stores, "TENFOLD_NEAR_CACHE_SECONDS": "0"})
    yield s
    s.stop()


def _redis_cli(stores: dict[str, str], *args: str) -> str:
    port = stores["TENFOLD_REDIS_URL"].rsplit(":", 1)[1].split("/")[0]
    return subprocess.run(["redis-cli", "-p", port, *args], capture_output=True, text=True, check=True).stdout.strip()


def test_title_is_read_through_the_cache(catalog: Server, stores: dict[str, str]) -> None:
    _redis_cli(stores, "DEL", "title:3")  # the session's stores are shared: another file may have read title 3 first
    misses = metric(catalog.url, "cache_requests_total", result="miss")
    hits = metric(catalog.url, "cache_requests_total", result="hit")
    first = httpx.get(f"{catalog.url}/api/titles/3")
    second = httpx.get(f"{catalog.url}/api/titles/3")
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json() and first.json()["id"] == 3
    assert metric(catalog.url, "cache_requests_total", result="miss") == misses + 1
    assert metric(catalog.url, "cache_requests_total", result="hit") == hits + 1
    ttl = int(_redis_cli(stores, "TTL", "title:3"))
    assert 250 <= ttl <= 330  # 300 s ± 10% jitter


def test_unknown_title_is_404_and_negatively_cached(catalog: Server, stores: dict[str, str]) -> None:
    r = httpx.get(f"{catalog.url}/api/titles/299999")
    assert r.status_code == 404 and r.json()["title"] == "No such title"
    assert 0 < int(_redis_cli(stores, "TTL", "title:299999")) <= 30


def test_concurrent_misses_read_the_store_once(catalog: Server) -> None:
    store_calls = metric(catalog.url, "dependency_request_duration_seconds_count", dependency="dynamodb")
    with ThreadPoolExecutor(16) as pool:
        codes = list(pool.map(lambda _: httpx.get(f"{catalog.url}/api/titles/250").status_code, range(16)))
    assert codes == [200] * 16
    assert metric(catalog.url, "dependency_request_duration_seconds_count", dependency="dynamodb") == store_calls + 1


def test_metrics_expose_the_names_design_promises(catalog: Server) -> None:
    httpx.get(f"{catalog.url}/api/titles/1", headers={"X-Priority": "best-effort"})
    text = httpx.get(f"{catalog.url}/metrics").text
    for name in ("http_requests_total", "http_request_duration_seconds_bucket", "cache_requests_total",
                 "circuit_breaker_state", "dependency_request_duration_seconds_bucket"):  # fmt: skip
        assert name + "{" in text, name
    assert 'route="/api/titles/{title_id}"' in text  # the template, never the raw path
    assert 'priority="best-effort"' in text


def test_openapi_describes_the_route(catalog: Server) -> None:
    spec = httpx.get(f"{catalog.url}/openapi.json").json()
    op = spec["paths"]["/api/titles/{title_id}"]["get"]
    assert op["responses"]["200"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Title"}
    assert "404" in op["responses"]
