"""The link proxy between a client and a real redis-server: each fault bites, and off restores a clean link."""

from __future__ import annotations

import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

pytestmark = pytest.mark.timeout(60)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(check: object, what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():  # type: ignore[operator]
                return
        except Exception:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"timed out waiting for {what}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@dataclass
class Link:
    redis_port: int
    proxy_port: int
    control: str

    def client(self, timeout: float = 2.0) -> redis.Redis:
        # no retries: a test must see the fault itself, not redis-py papering over it
        return redis.Redis(
            port=self.proxy_port,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 0),
        )

    def put(self, **faults: object) -> dict[str, object]:
        r = httpx.put(f"{self.control}/faults", json=faults, timeout=5)
        r.raise_for_status()
        return r.json()  # type: ignore[no-any-return]

    def get(self) -> dict[str, object]:
        return httpx.get(f"{self.control}/faults", timeout=5).json()  # type: ignore[no-any-return]

    def off(self) -> None:
        httpx.delete(f"{self.control}/faults", timeout=5).raise_for_status()


@pytest.fixture(scope="module")
def link() -> Iterator[Link]:
    tmp = tempfile.mkdtemp(prefix="tenfold-linkproxy-")
    redis_port, proxy_port, control_port = _free_port(), _free_port(), _free_port()
    server = subprocess.Popen(
        ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "", "--dir", tmp],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    proxy = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tenfold.stack.linkproxy",
            "--listen",
            f"127.0.0.1:{proxy_port}",
            "--upstream",
            f"127.0.0.1:{redis_port}",
            "--control",
            f"127.0.0.1:{control_port}",
        ],
        stdout=subprocess.DEVNULL,
        cwd=Path(__file__).resolve().parents[2],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    try:
        control = f"http://127.0.0.1:{control_port}"
        _wait(lambda: redis.Redis(port=redis_port).ping(), "redis-server")
        _wait(lambda: httpx.get(f"{control}/healthz", timeout=1).status_code == 200, "linkproxy control API")
        yield Link(redis_port, proxy_port, control)
    finally:
        _stop(proxy)
        _stop(server)
        for f in Path(tmp).iterdir():
            f.unlink()
        os.rmdir(tmp)


@pytest.fixture(autouse=True)
def _clean(link: Link) -> Iterator[None]:
    link.off()
    yield
    link.off()


def _median_ping_ms(client: redis.Redis, n: int = 15) -> float:
    client.ping()  # connect outside the measurement
    samples = []
    for _ in range(n):
        t0 = time.perf_counter()
        client.ping()
        samples.append((time.perf_counter() - t0) * 1000)
    return statistics.median(samples)


def test_clean_link_forwards_commands(link: Link) -> None:
    c = link.client()
    c.set("k", b"x" * 200_000)  # bigger than one chunk, so framing across reads is exercised
    assert c.get("k") == b"x" * 200_000
    stats = link.get()["stats"]
    assert isinstance(stats, dict) and stats["bytes_downstream"] >= 200_000


def test_latency_is_really_added_and_off_removes_it(link: Link) -> None:
    base = _median_ping_ms(link.client())
    link.put(latency_ms=100, jitter_ms=10)
    slow = _median_ping_ms(link.client(), n=8)
    # one PING crosses the proxy twice (request up, reply down), each delayed 90..110 ms
    assert 180 <= slow - base <= 300, (base, slow)
    link.off()
    assert _median_ping_ms(link.client()) < base + 20


def test_jitter_never_reorders_bytes(link: Link) -> None:
    link.put(latency_ms=20, jitter_ms=15)
    with socket.create_connection(("127.0.0.1", link.proxy_port), timeout=5) as raw:
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for i in range(40):  # separate chunks, each with its own jitter, many in flight at once
            raw.sendall(f"ECHO {i}\r\n".encode())
            time.sleep(0.002)
        expected = b"".join(f"${len(str(i))}\r\n{i}\r\n".encode() for i in range(40))
        got = b""
        while len(got) < len(expected):
            chunk = raw.recv(65536)
            assert chunk, "connection closed early"
            got += chunk
    assert got == expected  # redis saw (and answered) the commands in the order they were sent


def test_reset_resets_existing_and_new_connections(link: Link) -> None:
    old = socket.create_connection(("127.0.0.1", link.proxy_port), timeout=2)
    old.sendall(b"PING\r\n")
    assert old.recv(100) == b"+PONG\r\n"
    link.put(reset=True)
    with pytest.raises(ConnectionResetError):  # the old connection was reset under it...
        old.recv(100)
    old.close()
    with pytest.raises(redis.ConnectionError):
        link.client().ping()
    # ...and a new one is reset at accept (so fast that even connect() may see it)
    with pytest.raises(ConnectionResetError), socket.create_connection(("127.0.0.1", link.proxy_port), 2) as raw:
        raw.sendall(b"PING\r\n")
        time.sleep(0.1)
        raw.sendall(b"PING\r\n")
        if not raw.recv(100):
            raise AssertionError("closed politely instead of reset")
    stats = link.get()["stats"]
    assert isinstance(stats, dict) and stats["connections_reset"] >= 2
    link.off()
    assert link.client().ping() is True


def test_one_shot_reset_drops_open_connections_only(link: Link) -> None:
    raw = socket.create_connection(("127.0.0.1", link.proxy_port), timeout=2)
    raw.sendall(b"PING\r\n")
    assert raw.recv(100) == b"+PONG\r\n"
    assert httpx.post(f"{link.control}/connections/reset", timeout=5).json()["reset"] >= 1
    with pytest.raises(ConnectionResetError):
        raw.recv(100)
    raw.close()
    assert link.client().ping() is True  # no lasting fault


def test_blackhole_times_out_and_off_restores(link: Link) -> None:
    raw = socket.create_connection(("127.0.0.1", link.proxy_port), timeout=0.5)
    raw.sendall(b"PING\r\n")
    assert raw.recv(100) == b"+PONG\r\n"
    link.put(blackhole=True)
    raw.sendall(b"PING\r\n")
    with pytest.raises(TimeoutError):
        raw.recv(100)  # an existing connection: the request vanishes
    t0 = time.monotonic()
    with pytest.raises(redis.TimeoutError):
        link.client(timeout=0.5).ping()  # a new connection: connect succeeds, the reply never comes
    assert time.monotonic() - t0 >= 0.45
    link.off()
    assert link.client().ping() is True
    # the black-holed connection lost bytes, so lifting the blackhole resets it rather than leaving it desynced
    raw.settimeout(2)
    with pytest.raises(ConnectionResetError):
        raw.recv(100)
    raw.close()


def test_bandwidth_limit_paces_transfers(link: Link) -> None:
    c = link.client(timeout=10)
    c.set("big", b"y" * 400_000)
    link.put(bandwidth_bytes_per_s=1_000_000)
    t0 = time.monotonic()
    assert len(c.get("big") or b"") == 400_000
    elapsed = time.monotonic() - t0
    assert 0.3 <= elapsed <= 2.0, elapsed  # 400 kB at 1 MB/s ≈ 0.4 s; unlimited it is a few ms
    link.off()
    t0 = time.monotonic()
    c.get("big")
    assert time.monotonic() - t0 < 0.2


def test_bad_fault_requests_are_rejected_with_the_valid_names(link: Link) -> None:
    r = httpx.put(f"{link.control}/faults", json={"latency": 200}, timeout=5)
    assert r.status_code == 400 and "latency_ms" in r.json()["error"]
    r = httpx.put(f"{link.control}/faults", json={"latency_ms": -1}, timeout=5)
    assert r.status_code == 400
    r = httpx.put(f"{link.control}/faults", json={"latency_ms": 10, "jitter_ms": 50}, timeout=5)
    assert r.status_code == 400
    assert httpx.get(f"{link.control}/nope", timeout=5).status_code == 404
    assert link.get()["faults"] == {
        "latency_ms": 0.0,
        "jitter_ms": 0.0,
        "bandwidth_bytes_per_s": 0,
        "reset": False,
        "blackhole": False,
    }


def test_cli_refuses_a_non_loopback_listener() -> None:
    from tenfold.stack.linkproxy import main

    with pytest.raises(SystemExit):
        main(["--listen", "10.0.0.1:1", "--upstream", "1", "--control", "2"])


async def test_upstream_down_resets_the_caller() -> None:
    import asyncio

    from tenfold.stack.linkproxy import LinkProxy

    proxy = LinkProxy(("127.0.0.1", 0), ("127.0.0.1", _free_port()), None)
    await proxy.start()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.listen_port)
        writer.write(b"PING\r\n")
        with pytest.raises(ConnectionResetError):
            if not await asyncio.wait_for(reader.read(100), 2):
                raise AssertionError("closed politely instead of reset")
        writer.close()
        assert proxy.stats.connections_reset == 1
    finally:
        await proxy.stop()
