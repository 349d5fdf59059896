"""recommendations: each fallback path driven by really stopping the dependency mid-test."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import boto3
import httpx
import pytest
from credentials import bearer
from servers import Server, dynalite, redis, service, wait_for
from test_catalog import metric

from reference_services.seed import POPULAR_KEY

FAST = {"TENFOLD_NEAR_CACHE_SECONDS": "0", "TENFOLD_STORE_TIMEOUT": "0.3", "TENFOLD_BREAKER_FAIL_MAX": "3",
        "TENFOLD_BREAKER_RESET_SECONDS": "1"}  # fmt: skip


@pytest.fixture
def own_stores(stores: dict[str, str]) -> Iterator[tuple[dict[str, str], Server, Server]]:
    """A Redis and a seeded DynamoDB emulator of this test's own, so it may break them."""
    r, dyn = redis(), dynalite()
    subprocess.run(
        [sys.executable, "-m", "reference_services.seed", "--dynamodb-endpoint", dyn.url, "--titles", "50",
         "--users", "60"], check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    env = {**stores, **FAST, "TENFOLD_REDIS_URL": f"redis://127.0.0.1:{r.port}/0", "TENFOLD_DYNAMODB_ENDPOINT": dyn.url}
    yield env, r, dyn
    r.stop()
    dyn.stop()


def _get(svc: Server, user: int) -> httpx.Response:
    return httpx.get(f"{svc.url}/api/recommendations/{user}", headers=bearer(user), timeout=10)


def test_personal_rows_when_healthy(stores: dict[str, str]) -> None:
    svc = service("recommendations", stores)
    try:
        r = _get(svc, 9)
        assert r.status_code == 200 and "X-Degraded" not in r.headers
        body = r.json()
        assert body["degraded"] is False and body["user_id"] == 9
        assert len(body["rows"]) == 4 and len(body["rows"][0]["titles"]) == 10
        assert _get(svc, 9).json() == body  # second time from the cache, same answer
        assert _get(svc, 10_000_000).status_code == 404
    finally:
        svc.stop()


def test_redis_gone_reads_the_store_not_degraded(own_stores: tuple[dict[str, str], Server, Server]) -> None:
    env, r, _ = own_stores
    svc = service("recommendations", env)
    try:
        assert _get(svc, 1).status_code == 200
        r.kill()
        resp = _get(svc, 2)
        assert resp.status_code == 200 and resp.json()["degraded"] is False
        assert metric(svc.url, "cache_requests_total", result="error") >= 1
    finally:
        svc.stop()


def test_store_gone_serves_popular_rows_degraded(own_stores: tuple[dict[str, str], Server, Server]) -> None:
    env, r, dyn = own_stores
    svc = service("recommendations", env)
    try:
        assert _get(svc, 3).json()["degraded"] is False
        r.kill()
        dyn.kill()
        resp = _get(svc, 4)
        assert resp.status_code == 200
        assert resp.headers["X-Degraded"].startswith("store-")
        body = resp.json()
        assert body["degraded"] is True and body["rows"][0]["name"] == "Popular on tenfold"
        assert metric(svc.url, "fallback_responses_total") >= 1
    finally:
        svc.stop()


def test_the_fallback_rows_follow_the_store_after_a_refresh(own_stores: tuple[dict[str, str], Server, Server]) -> None:
    env, r, dyn = own_stores
    svc = service("recommendations", {**env, "TENFOLD_FALLBACK_REFRESH_SECONDS": "0.5"})
    try:
        rows = [{"name": "Popular this week", "titles": [{"id": 7}, {"id": 3}]}]
        item = {"user_id": {"N": str(POPULAR_KEY)}, "doc": {"S": json.dumps({"user_id": POPULAR_KEY, "rows": rows})}}
        boto3.client("dynamodb", endpoint_url=dyn.url, region_name="us-east-1", aws_access_key_id="x",
                     aws_secret_access_key="x").put_item(TableName="tenfold-recommendations", Item=item)  # fmt: skip
        time.sleep(1.5)  # a few refreshes of 0.5 s ± 10%
        r.kill()
        dyn.kill()
        resp = _get(svc, 5)
        assert resp.status_code == 200 and resp.json()["degraded"] is True
        assert resp.json()["rows"] == rows  # what the store held at the last refresh, not the rows at start
    finally:
        svc.stop()


def test_with_fallbacks_disabled_the_same_outage_is_an_error(own_stores: tuple[dict[str, str], Server, Server]) -> None:
    env, r, dyn = own_stores
    svc = service("recommendations", {**env, "TENFOLD_DISABLE_FALLBACKS": "1"})
    try:
        assert _get(svc, 3).status_code == 200
        r.kill()
        dyn.kill()
        resp = _get(svc, 4)
        assert resp.status_code == 503
        assert resp.json()["dependency"] == "dynamodb"
        assert metric(svc.url, "fallback_responses_total") == 0
    finally:
        svc.stop()


def test_breaker_opens_fails_fast_and_closes_after_the_reset(own_stores: tuple[dict[str, str], Server, Server]) -> None:
    env, r, dyn = own_stores
    svc = service("recommendations", env)
    state = lambda: metric(svc.url, "circuit_breaker_state", dependency="dynamodb")  # noqa: E731
    try:
        r.kill()  # every request now needs the store
        assert dyn.proc is not None
        os.kill(dyn.proc.pid, signal.SIGSTOP)  # the store hangs: calls time out (0.3 s)
        for user in range(1, 4):
            assert _get(svc, user).json()["degraded"] is True
        assert state() == 2  # open after 3 failures
        start = time.perf_counter()
        resp = _get(svc, 5)
        assert resp.headers["X-Degraded"] == "store-breaker-open"
        assert time.perf_counter() - start < 0.2  # open breaker: no waiting for the timeout
        os.kill(dyn.proc.pid, signal.SIGCONT)
        time.sleep(1.1)  # reset timeout: the next call is the half-open trial
        wait_for(lambda: _get(svc, 6).json()["degraded"] is False, 5, "breaker to close")
        assert state() == 0
    finally:
        if dyn.proc is not None and dyn.alive():
            os.kill(dyn.proc.pid, signal.SIGCONT)
        svc.stop()


def test_cache_lost_does_not_stampede_the_store(own_stores: tuple[dict[str, str], Server, Server]) -> None:
    """With Redis gone, at most CACHE_DOWN_STORE_RPS misses per second reach the store; the rest degrade."""
    env, r, _ = own_stores
    svc = service("recommendations", {**env, "TENFOLD_CACHE_DOWN_STORE_RPS": "3"})
    try:
        r.kill()
        store_calls = metric(svc.url, "dependency_request_duration_seconds_count", dependency="dynamodb")
        answers = [_get(svc, user) for user in range(10, 40)]
        assert all(a.status_code == 200 for a in answers)
        degraded = [a for a in answers if a.json()["degraded"]]
        assert {a.headers["X-Degraded"] for a in degraded} == {"store-origin-protected"}
        reached = metric(svc.url, "dependency_request_duration_seconds_count", dependency="dynamodb") - store_calls
        assert 3 <= reached <= 10 and len(degraded) == 30 - reached
    finally:
        svc.stop()
