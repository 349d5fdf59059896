"""catalog's stale copies, driven by really stopping DynamoDB (and Redis) mid-test.

With the store gone, a title not in the cache is answered from the replica's stale copies, a 200 marked
degraded; with fallbacks disabled the very same outage is a 503. A critical title with no copy gets one more try
at the store past an open breaker.
"""

from __future__ import annotations

import os
import signal
import time

import httpx
import pytest
from servers import Server, service, wait_for
from test_catalog import metric
from test_recommendations import own_stores

__all__ = ["own_stores"]  # the fixture, re-exported so pytest finds it here

SCAN_AT_START = {"TENFOLD_STALE_COPIES_DELAY_SECONDS": "0"}


def _get(svc: Server, title: int, priority: str = "degraded") -> httpx.Response:
    return httpx.get(f"{svc.url}/api/titles/{title}", headers={"X-Priority": priority}, timeout=10)


def _scanned() -> None:
    """Let the first scan finish: it starts with the replica and takes milliseconds for 50 titles."""
    time.sleep(1.0)


@pytest.mark.parametrize("fallbacks", [True, False], ids=["fallbacks", "fallbacks-disabled"])
def test_store_gone_serves_stale_titles_degraded(own_stores: tuple[dict[str, str], Server, Server],
                                                 fallbacks: bool) -> None:  # fmt: skip
    env, r, dyn = own_stores
    svc = service("catalog", {**env, **SCAN_AT_START, "TENFOLD_DISABLE_FALLBACKS": "0" if fallbacks else "1"})
    try:
        fresh = _get(svc, 3)
        assert fresh.status_code == 200 and "X-Degraded" not in fresh.headers
        assert fresh.json()["degraded"] is False and fresh.json()["id"] == 3
        _scanned()
        dyn.kill()
        assert _get(svc, 3).json() == fresh.json()  # still in Redis: a normal answer
        never_asked = _get(svc, 17)  # not cached, the store is down
        if not fallbacks:
            assert never_asked.status_code == 503 and "Retry-After" in never_asked.headers
            assert never_asked.json()["dependency"] == "dynamodb"
            assert metric(svc.url, "fallback_responses_total") == 0
            return
        assert never_asked.status_code == 200
        assert never_asked.headers["X-Degraded"].startswith("stale-store-")
        body = never_asked.json()
        assert body["degraded"] is True and body["id"] == 17 and body["name"].endswith(" 17")
        r.kill()  # now the cache is gone too: title 3 comes from the copy as well
        again = _get(svc, 3)
        assert again.status_code == 200 and again.json() == {**fresh.json(), "degraded": True}
        assert _get(svc, 9_999).status_code == 503  # no such title was ever seen: nothing stale to serve
        assert metric(svc.url, "fallback_responses_total") >= 2
    finally:
        svc.stop()


def test_without_a_scan_a_replica_keeps_what_it_served(own_stores: tuple[dict[str, str], Server, Server]) -> None:
    env, r, dyn = own_stores
    svc = service("catalog", {**env, "TENFOLD_STALE_COPIES_SECONDS": "0"})
    try:
        assert _get(svc, 5).json()["degraded"] is False
        r.kill()
        dyn.kill()
        served = _get(svc, 5)
        assert served.status_code == 200 and served.json()["degraded"] is True
        assert _get(svc, 6).status_code == 503  # never served, never scanned
    finally:
        svc.stop()


def test_the_store_back_means_fresh_answers_again(own_stores: tuple[dict[str, str], Server, Server]) -> None:
    env, _, dyn = own_stores
    svc = service("catalog", {**env, **SCAN_AT_START})
    try:
        _scanned()
        assert dyn.proc is not None
        os.kill(dyn.proc.pid, signal.SIGSTOP)  # the store hangs: timeouts, then the breaker opens
        assert all(_get(svc, t).json()["degraded"] is True for t in range(20, 26))
        os.kill(dyn.proc.pid, signal.SIGCONT)
        wait_for(lambda: _get(svc, 30).json()["degraded"] is False, 5, "breaker to close")
    finally:
        if dyn.proc is not None and dyn.alive():
            os.kill(dyn.proc.pid, signal.SIGCONT)
        svc.stop()


def test_a_critical_title_with_no_copy_is_read_past_an_open_breaker(
    own_stores: tuple[dict[str, str], Server, Server],
) -> None:
    env, _, dyn = own_stores
    # No scan: copies only of what it served. The breaker stays open 5 s: long enough for the three requests below.
    svc = service("catalog", {**env, "TENFOLD_STALE_COPIES_SECONDS": "0", "TENFOLD_BREAKER_RESET_SECONDS": "5"})
    try:
        assert dyn.proc is not None
        os.kill(dyn.proc.pid, signal.SIGSTOP)  # the store hangs: timeouts, then the breaker opens
        try:
            wait_for(lambda: "breaker-open" in _get(svc, 40).text, 10, "the breaker to open")
        finally:
            os.kill(dyn.proc.pid, signal.SIGCONT)  # the store answers again; the breaker stays open (its reset: 5 s)
        refused, critical = _get(svc, 41, "best-effort"), _get(svc, 42, "critical")
        assert refused.status_code == 503 and "breaker-open" in refused.json()["detail"], refused.text
        assert critical.status_code == 200, critical.text
        assert critical.json()["id"] == 42 and critical.json()["degraded"] is False
        assert "breaker-open" in _get(svc, 43).text  # the critical try neither closed the breaker nor counted
    finally:
        if dyn.proc is not None and dyn.alive():
            os.kill(dyn.proc.pid, signal.SIGCONT)
        svc.stop()
