"""Helpers and fixtures for the chaos tests: real servers on free loopback ports in temp dirs, stopped by pid.

Imported by name (no conftest.py here, so it cannot clash with another directory's conftest module)."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(check: Callable[[], object], what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"timed out waiting for {what}")


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@pytest.fixture(scope="module")
def redis_and_proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, int, str]]:
    """A redis-server and a link proxy in front of it: (redis port, proxy port, proxy control URL)."""
    tmp = tmp_path_factory.mktemp("redis")
    redis_port, proxy_port, control_port = free_port(), free_port(), free_port()
    server = subprocess.Popen(
        ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "", "--dir", str(tmp)],
        stdout=subprocess.DEVNULL,
    )
    proxy = subprocess.Popen(
        [
            *(sys.executable, "-m", "tenfold.stack.linkproxy", "--listen", str(proxy_port)),
            *("--upstream", str(redis_port), "--control", str(control_port)),
        ],
        stdout=subprocess.DEVNULL,
        cwd=ROOT,
    )
    try:
        wait_for(lambda: port_open(redis_port) and port_open(control_port), "redis-server and linkproxy")
        yield redis_port, proxy_port, f"http://127.0.0.1:{control_port}"
    finally:
        stop(proxy)
        stop(server)
