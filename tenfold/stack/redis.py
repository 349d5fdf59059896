"""The cache: two redis-server nodes (primary + replica) and three Sentinels that fail over between them.

Services connect through Sentinel, so a failover is transparent to them. Node components are named
``redis-0``/``redis-1``; which one is primary is Sentinel's call and changes at run time.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from tenfold.stack.component import Component
from tenfold.stack.procs import Proc
from tenfold.stack.templates import render

__all__ = ["MASTER", "node", "ping", "sentinel", "sentinel_primary"]

MASTER = "tenfold"
_HOST = "127.0.0.1"


async def _command(port: int, *args: str, timeout_s: float = 0.5) -> list[bytes] | None:
    """One RESP command over a fresh connection; the reply's lines (enough for PING and get-master-addr)."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(_HOST, port), timeout_s)
    except (OSError, TimeoutError):
        return None
    try:
        payload = f"*{len(args)}\r\n" + "".join(f"${len(a)}\r\n{a}\r\n" for a in args)
        writer.write(payload.encode())
        first = await asyncio.wait_for(reader.readline(), timeout_s)
        lines = [first.strip()]
        if first.startswith(b"*"):
            for _ in range(int(first[1:]) * 2 if int(first[1:]) > 0 else 0):
                lines.append((await asyncio.wait_for(reader.readline(), timeout_s)).strip())
        return lines
    except (OSError, TimeoutError, ValueError):
        return None
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def ping(port: int) -> bool:
    reply = await _command(port, "PING")
    return reply is not None and bool(reply) and reply[0] == b"+PONG"


async def sentinel_primary(sentinel_ports: tuple[int, ...]) -> str | None:
    """``host:port`` the Sentinels name as primary (first one that answers)."""
    for port in sentinel_ports:
        reply = await _command(port, "SENTINEL", "get-master-addr-by-name", MASTER)
        if reply and reply[0] == b"*2" and len(reply) >= 5:
            return f"{reply[2].decode()}:{reply[4].decode()}"
    return None


def node(home: Path, index: int, port: int, primary_port: int | None, announce_port: int | None = None) -> Component:
    """A cache node; started as replica of ``primary_port`` when given (first start only: Sentinel rules after).

    ``announce_port``: the port of this node's link proxy; the node announces it, so Sentinel and every
    client reach the node through the proxy (link faults then hit the cache traffic too).
    """
    d = home / "redis" / f"node{index}"
    d.mkdir(parents=True, exist_ok=True)
    conf = d / "redis.conf"

    def write_conf(primary: int | None) -> None:
        render("redis.conf.j2", conf, host=_HOST, port=port, dir=str(d), primary_port=primary,
               announce_port=announce_port)  # fmt: skip

    write_conf(primary_port)
    proc = Proc(f"redis-{index}", ["redis-server", str(conf)], log=home / "logs" / f"redis-{index}.log")

    async def ready() -> bool:
        return await ping(port)

    address = f"{_HOST}:{announce_port or port}"
    component = Component(f"redis-{index}", [proc], ready, extra={"address": address, "port": str(port)})

    def rejoin() -> None:
        """Come back as a replica of whoever Sentinel made primary, not as a second, empty primary
        (Sentinel would only demote it ≈8 s later)."""
        primary = component.extra.get("current_primary", "")
        if not primary:
            return  # first start: the initial configuration stands
        _, _, other = primary.rpartition(":")
        write_conf(int(other) if other.isdigit() and primary != address else None)

    component.before_start = rejoin
    return component


def sentinel(home: Path, index: int, port: int, primary_port: int) -> Component:
    d = home / "redis" / f"sentinel{index}"
    d.mkdir(parents=True, exist_ok=True)
    conf = d / "sentinel.conf"
    if not conf.exists():
        render("sentinel.conf.j2", conf, host=_HOST, port=port, dir=str(d), master=MASTER, primary_port=primary_port)
    proc = Proc(f"sentinel-{index}", ["redis-sentinel", str(conf)], log=home / "logs" / f"sentinel-{index}.log")

    async def ready() -> bool:
        return await ping(port)

    return Component(f"sentinel-{index}", [proc], ready)
