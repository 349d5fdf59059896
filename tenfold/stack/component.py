"""A stack component (PostgreSQL, a Redis node, an emulator, HAProxy, ...): processes the controller supervises.

A component the user (or chaos) stopped stays stopped; one that died on its own (or was killed) is restarted
with backoff, like a Deployment would; ``hold`` lets a component delay that restart (a killed Redis primary
must stay down until Sentinel has promoted the replica, or it would come back empty as the primary).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from tenfold.stack.procs import Proc

__all__ = ["Component", "http_ok", "tcp_ok"]

ReadyCheck = Callable[[], Awaitable[bool]]


async def tcp_ok(port: int, host: str = "127.0.0.1", timeout_s: float = 0.5) -> bool:
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout_s)
    except (OSError, TimeoutError):
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


async def http_ok(port: int, path: str, host: str = "127.0.0.1", timeout_s: float = 1.0) -> bool:
    """A bare HTTP/1.0 GET: no client library, so probing hundreds of times a minute stays cheap."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout_s)
    except (OSError, TimeoutError):
        return False
    try:
        writer.write(f"GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n".encode())
        line = await asyncio.wait_for(reader.readline(), timeout_s)
        parts = line.split()
        return len(parts) >= 2 and parts[1].startswith(b"2")
    except (OSError, TimeoutError):
        return False
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


@dataclass
class Component:
    name: str
    procs: list[Proc]
    ready_check: ReadyCheck
    stop_signal: int = signal.SIGTERM
    wanted: bool = True
    ready: bool = False
    restarts: int = 0
    hold: Callable[[], bool] | None = None
    before_start: Callable[[], None] | None = None
    max_hold_s: float = 15.0
    _backoff_s: float = 0.0
    _next_start: float = 0.0
    _dead_since: float | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.procs if p.pid is not None and p.alive()]

    @property
    def state(self) -> str:
        if not self.wanted:
            return "stopped"
        if all(p.alive() for p in self.procs):
            return "running" if self.ready else "starting"
        return "dead"

    def start(self) -> None:
        self.wanted = True
        if self.before_start is not None:
            self.before_start()
        for p in self.procs:
            if not p.alive():
                p.start()
        self.ready = False

    def stop(self, sig: int | None = None, timeout_s: float = 5.0) -> None:
        self.wanted = False
        self.ready = False
        for p in self.procs:
            p.stop(timeout_s, sig or self.stop_signal)

    def kill(self) -> None:
        """SIGKILL, staying wanted: supervision brings it back (after ``hold`` allows)."""
        for p in self.procs:
            p.signal(signal.SIGKILL)
        self._next_start = time.monotonic()

    async def probe(self) -> bool:
        alive = all(p.alive() for p in self.procs)
        self.ready = alive and await self.ready_check()
        return self.ready

    def supervise(self, now: float) -> bool:
        """Restart dead processes of a wanted component; True when something was restarted."""
        if not self.wanted or all(p.alive() for p in self.procs):
            if self.wanted and self.ready:
                self._backoff_s = 0.0
            return False
        self.ready = False
        if self._dead_since is None:
            self._dead_since = now
        if self.hold is not None and now - self._dead_since < self.max_hold_s and self.hold():
            return False
        if now < self._next_start:
            return False
        if self.before_start is not None:
            self.before_start()
        for p in self.procs:
            if not p.alive():
                p.start()
        self.restarts += 1
        self._dead_since = None
        self._backoff_s = min(10.0, max(0.2, self._backoff_s * 2))
        self._next_start = now + self._backoff_s
        return True
