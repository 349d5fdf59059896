"""HAProxy as gateway + load balancer, and its runtime API (enable/disable replica slots without reloads).

Each service's backend has one server slot per replica port (``r<slot>``), all starting in maintenance; the
controller puts a slot into ``ready`` when that replica passes its readiness probe and back to ``maint`` when
it is not ready, frozen or gone.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from pathlib import Path

from tenfold.stack.component import Component, http_ok
from tenfold.stack.procs import Proc
from tenfold.stack.templates import render

__all__ = ["DEFAULT_MAX_CONNECTIONS", "DEFAULT_QUEUE_TIMEOUT_S", "ROUTES", "Backend", "RuntimeApi", "haproxy"]

DEFAULT_MAX_CONNECTIONS = 128  # per replica; 32 capped an events replica at ~150 req/s with the CPU idle
DEFAULT_QUEUE_TIMEOUT_S = 3.0  # how long a request may wait in a backend's queue for a free replica, then 503

# Path prefixes each service owns at the gateway (the Ingress and the Terraform ALB rules list the same).
ROUTES: dict[str, tuple[str, ...]] = {
    "users": ("/api/users", "/api/auth"),
    "catalog": ("/api/titles",),
    "recommendations": ("/api/recommendations",),
    "events": ("/api/events",),
}


@dataclass(frozen=True)
class Backend:
    name: str
    routes: tuple[str, ...]
    readiness_path: str
    ports: list[int]
    # Per replica; beyond it requests wait in the gateway's queue, where priority classes apply (critical is
    # dequeued first, best-effort shed first). Events hold each request ~200 ms for group commit, so they need
    # many; a replica with a small CPU share should get few, or its queue forms inside it, in arrival order.
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    # Past it the gateway answers 503 + Retry-After itself. Long enough for a burst to drain, short enough that a
    # backlog after an overload is purged rather than served into the cooldown.
    queue_timeout_s: float = DEFAULT_QUEUE_TIMEOUT_S


def haproxy(
    home: Path,
    *,
    gateway_port: int,
    stats_port: int,
    backends: list[Backend],
    rate_limit: int,
) -> Component:
    d = home / "haproxy"
    socket = d / "admin.sock"
    conf = render(
        "haproxy.cfg.j2",
        d / "haproxy.cfg",
        host="127.0.0.1",
        socket=str(socket),
        stats_port=stats_port,
        gateway_port=gateway_port,
        maxconn=3000,
        rate_limit=rate_limit,
        shed_queue=50,
        services=backends,
    )
    proc = Proc("gateway", ["haproxy", "-db", "-f", str(conf)], log=home / "logs" / "haproxy.log")

    async def ready() -> bool:
        return await http_ok(stats_port, "/metrics")

    return Component("gateway", [proc], ready, extra={"url": f"http://127.0.0.1:{gateway_port}", "socket": str(socket)})


class RuntimeApi:
    """``set server be/rN state ready|maint`` over the admin socket; remembers what it set to skip repeats."""

    def __init__(self, socket: Path) -> None:
        self.socket = socket
        self._known: dict[tuple[str, int], bool] = {}

    def forget(self) -> None:
        """After an HAProxy restart every slot is back in maintenance."""
        self._known.clear()

    async def command(self, line: str) -> str:
        reader, writer = await asyncio.wait_for(asyncio.open_unix_connection(str(self.socket)), 1.0)
        try:
            writer.write(line.encode() + b"\n")
            await writer.drain()
            return (await asyncio.wait_for(reader.read(), 2.0)).decode(errors="replace")
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    async def set_slot(self, service: str, slot: int, enabled: bool) -> None:
        if self._known.get((service, slot)) == enabled:
            return
        state = "ready" if enabled else "maint"
        await self.command(f"set server be_{service}/r{slot} state {state}")
        self._known[(service, slot)] = enabled
