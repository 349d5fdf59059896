"""A TCP fault proxy for one dependency link (service → Redis / PostgreSQL / DynamoDB emulator).

There is no ``tc netem`` here (no root network namespace to shape), so link faults are made in user space:
the local runtime puts one proxy in front of each dependency and points the services at the proxy. Faults
are toggled at run time over a tiny loopback HTTP JSON API, so chaos experiments can add and remove them
without restarting anything::

    GET    /healthz            200 {"ok": true}
    GET    /faults             the current faults and link statistics
    PUT    /faults             merge the given fields into the current faults, e.g. {"latency_ms": 200, "jitter_ms": 20}
    DELETE /faults             all faults off (a clean link again)
    POST   /connections/reset  reset (RST) every open connection once, without a lasting fault

Fault fields (all optional in a PUT; unknown fields are a 400 naming the valid ones):

- ``latency_ms`` / ``jitter_ms``: every chunk, in each direction, is delivered ``latency ± jitter`` ms after it
  was read. Delivery times never go backwards, so order is kept and throughput is not capped (like netem).
- ``bandwidth_bytes_per_s``: one token bucket per direction shared by all connections of the link; ``0`` = off.
- ``reset``: while true, every open connection is reset on the spot and every new one is reset at accept.
- ``blackhole``: while true, bytes are accepted and dropped, never forwarded, so callers hang until their own
  timeout. Connections that lost bytes are reset when the blackhole is lifted (their protocol state is gone),
  which makes clients reconnect instead of waiting forever.

The faults are :mod:`tenfold.stack.link_faults`, the fault API :mod:`tenfold.stack.link_api`; here is the data
path that applies them, and the process.

Run one: ``python -m tenfold.stack.linkproxy --listen 127.0.0.1:P --upstream 127.0.0.1:Q --control 127.0.0.1:C``.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import functools
import random
import signal
import socket
import struct
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, cast

from tenfold.stack.link_api import serve_control
from tenfold.stack.link_faults import Faults, LinkStats

__all__ = ["Faults", "LinkProxy", "LinkStats", "main", "parse_hostport"]

_MAX_QUEUED_CHUNKS = 256


class _Bucket:
    """Paces one direction to a byte rate; shared by every connection of the link, like a real pipe."""

    def __init__(self) -> None:
        self._next_free = 0.0

    async def take(self, nbytes: int, rate: int) -> None:
        now = time.monotonic()
        start = max(now, self._next_free)
        self._next_free = start + nbytes / rate
        delay = self._next_free - now
        if delay > 0:
            await asyncio.sleep(delay)


class _Side(asyncio.Protocol):
    """One TCP endpoint of a proxied connection. What it receives goes to its peer's transport.

    Callbacks, not streams: on a clean link a chunk is forwarded inside ``data_received`` with no task switch,
    which is most of the proxy's cost. Only delayed or paced chunks go through a queue and a sender task.
    Backpressure: when the peer's send buffer fills, this side stops reading (and vice versa)."""

    def __init__(self, proxy: LinkProxy, conn: _Conn, direction: str) -> None:
        self.proxy = proxy
        self.conn = conn
        self.direction = direction  # direction of the bytes this side *receives*: "up" (from client) or "down"
        self.transport: asyncio.Transport | None = None
        self.peer: _Side | None = None
        self.queue: collections.deque[tuple[float, bytes]] = collections.deque()
        self.last_due = 0.0
        self.sender: asyncio.Task[None] | None = None
        self.eof = False
        self.writable = asyncio.Event()
        self.writable.set()

    # transport callbacks
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports do not subclass asyncio's
        sock = self.transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.direction == "up":
            self.proxy._accepted(self)

    def data_received(self, data: bytes) -> None:
        self.proxy._forward(self, data)

    def eof_received(self) -> bool:
        self.eof = True
        if not self.queue:
            self._send_eof()
        return True  # keep our sending half open: the peer may still answer

    def connection_lost(self, exc: Exception | None) -> None:
        self.proxy._drop(self.conn, reset=exc is not None)

    def pause_writing(self) -> None:
        self.writable.clear()
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.pause_reading()

    def resume_writing(self) -> None:
        self.writable.set()
        if self.peer is not None and self.peer.transport is not None and not self.peer.queue_full():
            self.peer.transport.resume_reading()

    # helpers
    def queue_full(self) -> bool:
        return len(self.queue) >= _MAX_QUEUED_CHUNKS

    def _send_eof(self) -> None:
        peer = self.peer.transport if self.peer is not None else None
        if peer is not None and not peer.is_closing() and peer.can_write_eof():
            with contextlib.suppress(OSError, RuntimeError):
                peer.write_eof()
        if self.peer is not None and self.peer.eof:
            self.proxy._drop(self.conn, reset=False)  # both halves done


@dataclass(eq=False)
class _Conn:
    client: _Side | None = None
    upstream: _Side | None = None
    tainted: bool = False  # lost bytes to a blackhole: must be reset when the blackhole lifts
    swallow: bool = False  # accepted during a blackhole: no upstream, ever
    connecting: asyncio.Task[None] | None = None


def _rst(side: _Side | None) -> None:
    """Close with SO_LINGER 0 so the peer sees a TCP RST (ECONNRESET), not a polite FIN."""
    if side is None or side.transport is None:
        return
    sock = side.transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    side.transport.abort()


class LinkProxy:
    """One link: ``listen`` → ``upstream`` with switchable faults, plus its control endpoint."""

    def __init__(self, listen: tuple[str, int], upstream: tuple[str, int], control: tuple[str, int] | None) -> None:
        self.listen = listen
        self.upstream = upstream
        self.control = control
        self.faults = Faults()
        self.stats = LinkStats()
        self._conns: set[_Conn] = set()
        self._buckets = {"up": _Bucket(), "down": _Bucket()}
        self._servers: list[asyncio.Server] = []
        self._rng = random.Random()

    # ----------------------------------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._servers.append(await loop.create_server(lambda: _Side(self, _Conn(), "up"), *self.listen))
        if self.control is not None:
            self._servers.append(await asyncio.start_server(functools.partial(serve_control, self), *self.control))

    @property
    def listen_port(self) -> int:
        return int(self._servers[0].sockets[0].getsockname()[1])

    @property
    def control_port(self) -> int | None:
        return int(self._servers[1].sockets[0].getsockname()[1]) if len(self._servers) > 1 else None

    async def stop(self) -> None:
        for server in self._servers:
            server.close()
        for conn in list(self._conns):
            self._drop(conn, reset=False)
        for server in self._servers:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 2.0)

    # ---------------------------------------------------------------------------------------- fault API

    def set_faults(self, changes: dict[str, Any]) -> Faults:
        """Apply a partial update; the side effects of a transition happen here, once."""
        new = self.faults.merged(changes)
        lifting_blackhole = self.faults.blackhole and not new.blackhole
        self.faults = new
        if new.reset:
            self.reset_connections()
        elif lifting_blackhole:
            for conn in [c for c in self._conns if c.tainted]:
                self._drop(conn, reset=True)
        return new

    def clear_faults(self) -> Faults:
        return self.set_faults(asdict(Faults()))

    def reset_connections(self) -> int:
        conns = list(self._conns)
        for conn in conns:
            self._drop(conn, reset=True)
        return len(conns)

    def snapshot(self) -> dict[str, Any]:
        return {
            "listen": f"{self.listen[0]}:{self.listen_port}",
            "upstream": f"{self.upstream[0]}:{self.upstream[1]}",
            "faults": asdict(self.faults),
            "stats": asdict(self.stats),
        }

    # -------------------------------------------------------------------------------------- data path

    def _accepted(self, client: _Side) -> None:
        conn = client.conn
        conn.client = client
        self._conns.add(conn)
        self.stats.connections_total += 1
        self.stats.connections_open += 1
        if self.faults.reset:
            self._drop(conn, reset=True)
        elif self.faults.blackhole:
            conn.tainted = conn.swallow = True  # accept and swallow: no upstream, so everything read is dropped
        else:
            # bytes that arrive before the upstream connection exists wait in the side's queue (see _forward)
            conn.connecting = asyncio.get_running_loop().create_task(self._connect(conn))

    async def _connect(self, conn: _Conn) -> None:
        loop = asyncio.get_running_loop()
        try:
            _, upstream = await loop.create_connection(lambda: _Side(self, conn, "down"), *self.upstream)
        except OSError:
            self._drop(conn, reset=True)  # upstream down: the caller sees a reset, as a refused connect would
            return
        if conn not in self._conns or conn.client is None or conn.client.transport is None:
            _rst(upstream)  # the caller went away (or was reset) while we were connecting
            return
        conn.upstream = upstream
        upstream.peer, conn.client.peer = conn.client, upstream
        client = conn.client
        if client.queue and (client.sender is None or client.sender.done()):
            client.sender = loop.create_task(self._send(client))
        elif client.eof:
            client._send_eof()  # the caller half-closed before the upstream connection existed

    def _forward(self, side: _Side, data: bytes) -> None:
        """Drop, forward now, or queue for later: the one decision per chunk."""
        faults = self.faults
        peer = side.peer
        if faults.blackhole or side.conn.swallow:
            side.conn.tainted = True
            self.stats.bytes_dropped += len(data)
            return
        if peer is not None and peer.transport is not None and not side.queue and not faults.delayed():
            peer.transport.write(data)  # fast path: a clean link costs one write
            self._count(side.direction, len(data))
            return
        delay = faults.latency_ms / 1000.0
        if faults.jitter_ms:
            delay += self._rng.uniform(-faults.jitter_ms, faults.jitter_ms) / 1000.0
        side.last_due = max(side.last_due, time.monotonic() + max(0.0, delay))
        side.queue.append((side.last_due, data))
        if side.queue_full() and side.transport is not None:
            side.transport.pause_reading()
        if peer is not None and (side.sender is None or side.sender.done()):
            side.sender = asyncio.get_running_loop().create_task(self._send(side))

    async def _send(self, side: _Side) -> None:
        """Deliver a side's queued chunks at their due times, paced by the bandwidth bucket, in order."""
        peer = side.peer
        assert peer is not None and peer.transport is not None
        while side.queue:
            due, data = side.queue[0]
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            rate = self.faults.bandwidth_bytes_per_s
            if rate > 0:
                await self._buckets[side.direction].take(len(data), rate)
            await peer.writable.wait()
            side.queue.popleft()
            if peer.transport.is_closing():
                return
            peer.transport.write(data)
            self._count(side.direction, len(data))
            if len(side.queue) < _MAX_QUEUED_CHUNKS // 2 and peer.writable.is_set() and side.transport is not None:
                side.transport.resume_reading()
        if side.eof:
            side._send_eof()

    def _count(self, direction: str, nbytes: int) -> None:
        if direction == "up":
            self.stats.bytes_upstream += nbytes
        else:
            self.stats.bytes_downstream += nbytes

    def _drop(self, conn: _Conn, *, reset: bool) -> None:
        if conn not in self._conns:
            return
        self._conns.discard(conn)
        self.stats.connections_open -= 1
        if reset:
            self.stats.connections_reset += 1
        if conn.connecting is not None and conn.connecting is not asyncio.current_task():
            conn.connecting.cancel()
        for side in (conn.client, conn.upstream):
            if side is None:
                continue
            if side.sender is not None and side.sender is not asyncio.current_task():
                side.sender.cancel()
            if reset:
                _rst(side)
            elif side.transport is not None:
                side.transport.close()


def parse_hostport(value: str) -> tuple[str, int]:
    """``host:port`` → tuple; a bare port means loopback, since every tenfold listener is loopback only."""
    host, sep, port = value.rpartition(":")
    if not sep:
        host, port = "127.0.0.1", value
    try:
        return host or "127.0.0.1", int(port)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {value!r}") from None


async def _serve(args: argparse.Namespace) -> None:
    proxy = LinkProxy(args.listen, args.upstream, args.control)
    await proxy.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(
        f"linkproxy {proxy.listen[0]}:{proxy.listen_port} -> {args.upstream[0]}:{args.upstream[1]}"
        f" control {args.control[0]}:{proxy.control_port}",
        flush=True,
    )
    await stop.wait()
    await proxy.stop()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tenfold.stack.linkproxy", description=__doc__.splitlines()[0])
    parser.add_argument("--listen", type=parse_hostport, required=True, help="HOST:PORT callers connect to")
    parser.add_argument("--upstream", type=parse_hostport, required=True, help="HOST:PORT of the real dependency")
    parser.add_argument("--control", type=parse_hostport, required=True, help="HOST:PORT of the fault API")
    args = parser.parse_args(argv)
    for name in ("listen", "control"):
        host = getattr(args, name)[0]
        if host not in ("127.0.0.1", "localhost", "::1"):
            parser.error(f"--{name} must be a loopback address (got {host}); tenfold binds loopback only")
    loop_factory: Callable[[], asyncio.AbstractEventLoop]
    try:
        import uvloop

        loop_factory = uvloop.new_event_loop
    except ImportError:  # pragma: no cover - uvloop comes with uvicorn[standard]
        loop_factory = asyncio.new_event_loop
    try:
        with asyncio.Runner(loop_factory=loop_factory) as runner:
            runner.run(_serve(args))
    except OSError as exc:
        print(f"linkproxy: {exc}", file=sys.stderr)
        return 70
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
