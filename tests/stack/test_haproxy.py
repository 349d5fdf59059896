"""The gateway on its own: routes, 404 for unknown paths, per-client rate limit → 429 with Retry-After, and
replica slots that serve only while the runtime API has them enabled. A static file server plays the replica."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tenfold.stack.component import http_ok
from tenfold.stack.haproxy import Backend, RuntimeApi, haproxy


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[dict[str, Any]]:
    www = tmp_path / "www"
    (www / "api" / "titles").mkdir(parents=True)
    (www / "readyz").write_text("ok")
    (www / "api" / "titles" / "1").write_text('{"id": 1}')
    replica_port = _port()
    access_log = (tmp_path / "replica.log").open("wb")  # http.server logs each request it answers to stderr
    replica = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(replica_port), "--bind", "127.0.0.1", "--directory", str(www)],
        stdout=subprocess.DEVNULL,
        stderr=access_log,
    )
    gw_port, stats_port = _port(), _port()
    component = haproxy(
        tmp_path,
        gateway_port=gw_port,
        stats_port=stats_port,
        backends=[Backend("catalog", ("/api/titles",), "/readyz", [replica_port, _port()])],
        rate_limit=20,
    )
    component.start()
    try:
        deadline = time.monotonic() + 10
        while not asyncio.run(http_ok(stats_port, "/metrics")):
            assert time.monotonic() < deadline, component.procs[0].tail()
            time.sleep(0.05)
        yield {"url": f"http://127.0.0.1:{gw_port}", "api": RuntimeApi(Path(component.extra["socket"])),
               "replica_log": tmp_path / "replica.log"}  # fmt: skip
    finally:
        component.stop(timeout_s=2)
        replica.kill()
        replica.wait()
        access_log.close()


def test_slots_serve_only_when_enabled_and_routes_and_rate_limit(gateway: dict[str, Any]) -> None:
    url, api = gateway["url"], gateway["api"]
    none_ready = httpx.get(f"{url}/api/titles/1")  # every slot starts in maintenance
    assert none_ready.status_code == 503 and none_ready.headers["retry-after"] == "1"  # the gateway's own 503
    assert none_ready.json()["status"] == 503
    asyncio.run(api.set_slot("catalog", 0, True))
    assert httpx.get(f"{url}/api/titles/1").json() == {"id": 1}
    missing = httpx.get(f"{url}/nowhere")
    assert missing.status_code == 404 and missing.json()["status"] == 404
    time.sleep(1.1)  # a fresh second for the rate limit
    with httpx.Client() as client:  # keep-alive: the burst takes well under the 1 s window
        start = time.monotonic()
        codes = [client.get(f"{url}/api/titles/1") for _ in range(40)]
        took = time.monotonic() - start
    limited = [r for r in codes if r.status_code == 429]
    if took > 0.8:
        pytest.skip(f"the machine is too busy to burst 40 requests inside 1 s ({took:.2f} s)")
    assert limited and limited[0].headers["retry-after"] == "1"
    assert 12 <= sum(r.status_code == 200 for r in codes) <= 30  # ≈ the limit (20) gets through, not 0, not all
    # The gateway answered the rest itself: the replica never saw more than what got through.
    reached = gateway["replica_log"].read_text().count('"GET /api/titles/1 ')
    assert reached == sum(r.status_code == 200 for r in codes) + 1, reached  # + the request before the burst
    asyncio.run(api.set_slot("catalog", 0, False))
    time.sleep(1.1)
    assert httpx.get(f"{url}/api/titles/1").status_code == 503


def _op_state(api: RuntimeApi, slot: int) -> int:
    """HAProxy's operational state of a slot (``show servers state``: 0 stopped, 1 starting, 2 running)."""
    lines = asyncio.run(api.command("show servers state be_catalog")).splitlines()
    return next(int(f[5]) for f in (line.split() for line in lines) if len(f) > 5 and f[3] == f"r{slot}")


def test_a_slot_put_in_rotation_warms_up_before_its_full_share(gateway: dict[str, Any]) -> None:
    # slowstart: a replica the autoscaler just added is cold (a 50m replica's first requests took ~1 s), so it gets
    # a share growing over 3 s instead of every new request leastconn would send the emptiest server at once.
    api = gateway["api"]
    asyncio.run(api.set_slot("catalog", 0, True))
    states = [_op_state(api, 0)]
    deadline = time.monotonic() + 6
    while states[-1] != 2:
        assert time.monotonic() < deadline, f"the slot never reached its full weight: {states}"
        time.sleep(0.1)
        states.append(_op_state(api, 0))
    assert 1 in states, states  # starting: in rotation at a reduced weight before running at its full one
