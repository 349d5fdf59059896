"""Priority classes at the gateway, by default and in seconds: the real HAProxy config (rendered by
tenfold.stack.haproxy from infra/local/haproxy.cfg.j2) in front of one replica slot that takes one request at a
time (maxconn 1). The replica is a tiny asyncio server that holds every request until the test opens a gate, so
the queue is built on purpose: critical requests that arrive after 51 queued best-effort ones are served first, and
best-effort requests that arrive while more than ``shed_queue`` (50) wait are shed with 503 + Retry-After. Each
backend's queue timeout is its own: a request waits that long for a free replica, then the gateway sheds it.
"""

from __future__ import annotations

import asyncio
import csv
import io
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from servers import free_port, tmpdir

from tenfold.stack.component import http_ok
from tenfold.stack.haproxy import DEFAULT_QUEUE_TIMEOUT_S, Backend, RuntimeApi, haproxy

QUEUED = 52  # best-effort requests sent first: one in the replica, 51 waiting (> shed_queue 50: the most that fit)
CRITICAL = 5


class SlowReplica:
    """Answers each request only once ``gate`` is open, one after another; records the order it served."""

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.received: list[str] = []
        self.served: list[str] = []
        self.server: asyncio.Server | None = None
        self.port = free_port()

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):  # HAProxy's TCP check: connect, close
            writer.close()
            return
        headers = dict(
            line.split(": ", 1) for line in head.decode().split("\r\n")[1:] if ": " in line
        )  # fmt: skip
        name = {k.lower(): v for k, v in headers.items()}.get("x-request-name", "?")
        self.received.append(name)
        await self.gate.wait()
        await asyncio.sleep(0.005)
        self.served.append(name)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
        await writer.drain()
        writer.close()

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()


@pytest.fixture
def home() -> Iterator[Path]:
    import shutil

    d = tmpdir("gateway-priority")
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


async def queued(api: RuntimeApi) -> int:
    """``qcur`` of the catalog backend (its queue and its servers' queues), from ``show stat``."""
    rows = csv.DictReader(io.StringIO((await api.command("show stat")).lstrip("# ")))
    return sum(int(r["qcur"] or 0) for r in rows if r["pxname"] == "be_catalog")


async def until(check: Any, what: str, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not await check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


async def flood(home: Path) -> dict[str, Any]:
    replica = SlowReplica()
    await replica.start()
    gw_port, stats_port = free_port(), free_port()
    backend = Backend("catalog", ("/api/titles",), "/readyz", [replica.port], max_connections=1)
    gateway = haproxy(home, gateway_port=gw_port, stats_port=stats_port, backends=[backend], rate_limit=1_000_000)
    gateway.start()
    api = RuntimeApi(Path(gateway.extra["socket"]))
    url = f"http://127.0.0.1:{gw_port}/api/titles/1"
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=0)
    try:
        await until(lambda: http_ok(stats_port, "/metrics"), "the gateway")
        await api.set_slot("catalog", 0, True)
        async with httpx.AsyncClient(limits=limits, timeout=15) as client:

            async def get(priority: str, name: str) -> tuple[httpx.Response, float]:
                start = time.monotonic()
                resp = await client.get(url, headers={"X-Priority": priority, "X-Request-Name": name})
                return resp, time.monotonic() - start

            best = [asyncio.create_task(get("best-effort", f"be-{i}")) for i in range(QUEUED)]

            async def all_waiting() -> bool:
                return len(replica.received) == 1 and await queued(api) == QUEUED - 1

            await until(all_waiting, f"1 best-effort request in the replica and {QUEUED - 1} queued")
            shed = [await get("best-effort", f"shed-{i}") for i in range(3)]  # queue 51 > 50: shed at once
            critical = [asyncio.create_task(get("critical", f"crit-{i}")) for i in range(CRITICAL)]

            async def critical_waiting() -> bool:
                return await queued(api) == QUEUED - 1 + CRITICAL

            await until(critical_waiting, "the critical requests in the queue")
            replica.gate.set()
            return {
                "best": await asyncio.gather(*best),
                "critical": await asyncio.gather(*critical),
                "shed": shed,
                "served": replica.served,
                "first": replica.received[0],  # whichever best-effort request HAProxy passed on first
            }
    finally:
        gateway.stop(timeout_s=2)
        await replica.stop()


def test_critical_is_dequeued_first_and_best_effort_is_shed_when_the_queue_is_long(home: Path) -> None:
    got = asyncio.run(flood(home))
    shed = [resp for resp, _ in got["shed"]]
    assert [r.status_code for r in shed] == [503] * 3
    assert all(r.headers["retry-after"] == "1" and "shed" in r.json()["detail"] for r in shed), shed[0].text
    assert max(took for _, took in got["shed"]) < 1.0  # answered by the gateway, not after a wait in the queue
    assert [r.status_code for r, _ in got["critical"]] == [200] * CRITICAL
    assert [r.status_code for r, _ in got["best"]] == [200] * QUEUED  # queued before the cut: all served
    served = got["served"]
    assert "shed-0" not in served and len(served) == QUEUED + CRITICAL  # shed requests never reached the replica
    # The one best-effort request already in the replica finishes; then every critical one, though it came last.
    assert served[0] == got["first"] and served[0].startswith("be-"), served
    assert sorted(served[1 : 1 + CRITICAL]) == [f"crit-{i}" for i in range(CRITICAL)], served
    slowest_critical = max(took for _, took in got["critical"])
    assert slowest_critical < sorted(took for _, took in got["best"])[QUEUED // 2], "critical waited like the rest"


async def wait_past_the_default_queue(home: Path, hold_s: float) -> dict[str, tuple[int, float]]:
    """Two backends, each one replica slot busy with a first request for ``hold_s``; a second critical request to
    each waits in the gateway's queue: catalog's at the default timeout, users' at 5 s. Status and seconds of each
    second request."""
    replicas = {"catalog": SlowReplica(), "users": SlowReplica()}
    for replica in replicas.values():
        await replica.start()
    gw_port, stats_port = free_port(), free_port()
    backends = [Backend("catalog", ("/api/titles",), "/readyz", [replicas["catalog"].port], max_connections=1),
                Backend("users", ("/api/users",), "/readyz", [replicas["users"].port], max_connections=1,
                        queue_timeout_s=5.0)]  # fmt: skip
    gateway = haproxy(home, gateway_port=gw_port, stats_port=stats_port, backends=backends, rate_limit=1_000_000)
    gateway.start()
    api = RuntimeApi(Path(gateway.extra["socket"]))
    paths = {"catalog": "/api/titles/1", "users": "/api/users/1"}
    try:
        await until(lambda: http_ok(stats_port, "/metrics"), "the gateway")
        for name in replicas:
            await api.set_slot(name, 0, True)
        async with httpx.AsyncClient(timeout=15) as client:

            async def get(name: str, request: str) -> tuple[int, float]:
                start = time.monotonic()
                resp = await client.get(f"http://127.0.0.1:{gw_port}{paths[name]}",
                                        headers={"X-Priority": "critical", "X-Request-Name": request})  # fmt: skip
                return resp.status_code, time.monotonic() - start

            first = [asyncio.create_task(get(name, "first")) for name in replicas]

            async def both_busy() -> bool:
                return all(r.received == ["first"] for r in replicas.values())

            await until(both_busy, "a first request in each replica")
            second = {name: asyncio.create_task(get(name, "second")) for name in replicas}
            await asyncio.sleep(hold_s)
            for replica in replicas.values():
                replica.gate.set()
            await asyncio.gather(*first)
            return {name: await task for name, task in second.items()}
    finally:
        gateway.stop(timeout_s=2)
        for replica in replicas.values():
            await replica.stop()


def test_a_backend_with_a_longer_queue_timeout_serves_what_the_default_sheds(home: Path) -> None:
    hold_s = DEFAULT_QUEUE_TIMEOUT_S + 1.0  # past the default timeout, within users' 5 s
    got = asyncio.run(wait_past_the_default_queue(home, hold_s))
    status, took = got["catalog"]
    assert status == 503 and DEFAULT_QUEUE_TIMEOUT_S - 0.2 < took < hold_s, got  # shed by the gateway at its timeout
    status, took = got["users"]
    assert status == 200 and took >= hold_s - 0.2, got  # waited for the replica and was served
