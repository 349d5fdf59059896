"""A link proxy's fault API: a tiny HTTP/1.1 JSON server on its control port (one request a connection, no
framework: the proxy process stays small). Routes, as :mod:`tenfold.stack.linkproxy` lists them: ``GET /healthz``,
``GET|PUT|DELETE /faults``, ``POST /connections/reset``; a bad request is a 400 with ``{"error": ...}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any, Protocol

from tenfold.stack.link_faults import Faults

__all__ = ["FaultSwitch", "serve_control"]


class FaultSwitch(Protocol):
    """What the API turns: the proxy's faults, its open connections, its snapshot."""

    def set_faults(self, changes: dict[str, Any]) -> Faults: ...

    def clear_faults(self) -> Faults: ...

    def reset_connections(self) -> int: ...

    def snapshot(self) -> dict[str, Any]: ...


async def serve_control(proxy: FaultSwitch, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Answer one request on a control connection, then close it."""
    try:
        status, body = await _handle(proxy, reader)
    except (ValueError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
        status, body = 400, {"error": str(exc)}
    payload = json.dumps(body).encode()
    reason = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed"}.get(status, "")
    head = (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n"
    )
    with contextlib.suppress(ConnectionError, OSError):
        writer.write(head.encode() + payload)
        await writer.drain()
        writer.close()


async def _handle(proxy: FaultSwitch, reader: asyncio.StreamReader) -> tuple[int, dict[str, Any]]:
    request_line = (await asyncio.wait_for(reader.readline(), 5.0)).decode("latin-1").split()
    if len(request_line) < 2:
        raise ValueError("malformed HTTP request line")
    method, path = request_line[0].upper(), request_line[1].split("?")[0]
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    raw = await reader.readexactly(length) if length else b""
    if path == "/healthz":
        return 200, {"ok": True}
    if path == "/faults":
        if method == "GET":
            return 200, proxy.snapshot()
        if method == "DELETE":
            proxy.clear_faults()
            return 200, proxy.snapshot()
        if method in ("PUT", "PATCH", "POST"):
            try:
                changes = json.loads(raw or b"{}")
            except json.JSONDecodeError as exc:
                raise ValueError(f"body is not JSON: {exc}") from exc
            if not isinstance(changes, dict):
                raise ValueError('body must be a JSON object such as {"latency_ms": 200}')
            proxy.set_faults(changes)
            return 200, proxy.snapshot()
        return 405, {"error": f"{method} /faults: use GET, PUT or DELETE"}
    if path == "/connections/reset" and method == "POST":
        return 200, {"reset": proxy.reset_connections()}
    return 404, {"error": f"no route {method} {path}; routes: /healthz, /faults, /connections/reset"}
