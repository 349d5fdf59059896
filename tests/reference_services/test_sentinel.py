"""Services reach Redis through Sentinel, so a primary failover is a reconnect, not an outage."""

from __future__ import annotations

import subprocess

import httpx
from credentials import bearer
from servers import Server, free_port, redis, service, tmpdir, wait_for
from test_catalog import metric


def _sentinel(primary_port: int) -> Server:
    port = free_port()
    d = tmpdir("sentinel")
    conf = d / "sentinel.conf"
    conf.write_text(
        f"port {port}\nbind 127.0.0.1\ndir {d}\n"
        f"sentinel monitor tenfold 127.0.0.1 {primary_port} 1\n"
        "sentinel down-after-milliseconds tenfold 400\nsentinel failover-timeout tenfold 2000\n"
    )
    return Server("sentinel", ["redis-sentinel", str(conf)], port, dirs=[d]).start().wait_port()


def _cli(port: int, *args: str) -> str:
    return subprocess.run(["redis-cli", "-p", str(port), *args], capture_output=True, text=True).stdout.strip()


def test_failover_is_followed_and_cache_hits_resume(stores: dict[str, str]) -> None:
    primary = redis()
    replica = redis()
    _cli(replica.port, "REPLICAOF", "127.0.0.1", str(primary.port))
    sentinel = _sentinel(primary.port)
    env = {**stores, "TENFOLD_REDIS_SENTINELS": f"127.0.0.1:{sentinel.port}",
           "TENFOLD_NEAR_CACHE_SECONDS": "0"}  # fmt: skip
    svc = service("recommendations", env)
    try:
        wait_for(lambda: "replica" in _cli(sentinel.port, "SENTINEL", "REPLICAS", "tenfold"), what="sentinel")
        assert httpx.get(f"{svc.url}/api/recommendations/3", headers=bearer(3)).status_code == 200
        assert _cli(primary.port, "EXISTS", "recs:3") == "1"
        primary.kill()
        wait_for(
            lambda: _cli(sentinel.port, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", "tenfold").endswith(str(replica.port)),
            15,
            "sentinel to promote the replica",
        )
        # Throughout and after the failover the service answers; once promoted, the cache works again.
        for user in (4, 5, 6):
            r = httpx.get(f"{svc.url}/api/recommendations/{user}", headers=bearer(user))
            assert r.status_code == 200 and r.json()["degraded"] is False
        hits = metric(svc.url, "cache_requests_total", result="hit")
        get6 = lambda: httpx.get(f"{svc.url}/api/recommendations/6", headers=bearer(6)).status_code == 200  # noqa: E731
        wait_for(lambda: get6() and metric(svc.url, "cache_requests_total", result="hit") > hits, 10, "cache hits")
        assert _cli(replica.port, "EXISTS", "recs:6") == "1"
    finally:
        svc.stop()
        for s in (sentinel, primary, replica):
            s.stop()
