"""A tiny keep-alive HTTP/1.1 server speaking the gateway's API shapes, run in a thread of the test.

Fast enough for a few thousand rps, and it can stall once for a second — the coordinated-omission
test needs a server whose slowness blocks a closed-model client — or hold every answer (the open-model test).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import dataclass, field


@dataclass
class Server:
    stall_at: int | None = None
    """Stall for ``stall_s`` when this many requests have been answered (once)."""
    stall_s: float = 1.0
    stall_every_s: float = 0.0
    """Hold every answer this long (a server that is slow all the time, not once)."""
    port: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    """The most requests the server held at once (received, not yet answered)."""
    count: int = 0
    stalled_at: float | None = None
    posts: list[dict[str, object]] = field(default_factory=list)
    unprioritised: int = 0
    refuse_logins: bool = False
    """Answer every login 503 + Retry-After (the users service overloaded)."""
    fail_adds: bool = False
    """Answer every My List add 500 (the outcome unknown to the client: it may have applied)."""
    logins: list[int] = field(default_factory=list)
    """User ids that logged in (POST /api/auth/token), in order."""
    unauthenticated: int = 0
    """Requests to a viewer's own data without that viewer's token (answered 401)."""
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Server:
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            self._loop = loop
            srv = loop.run_until_complete(asyncio.start_server(self._conn, "127.0.0.1", 0, backlog=1024))
            self.port = srv.sockets[0].getsockname()[1]
            ready.set()
            loop.run_forever()
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            srv.close()
            loop.run_until_complete(srv.wait_closed())
            loop.close()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        ready.wait(5)
        return self

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(5)

    async def _conn(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                headers = {k.lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:] if ln)}
                n = int(headers.get("content-length", "0"))
                body = await reader.readexactly(n) if n else b""
                self.count += 1
                self.in_flight += 1
                self.max_in_flight = max(self.max_in_flight, self.in_flight)
                if self.stall_every_s:
                    await asyncio.sleep(self.stall_every_s)
                if headers.get("x-priority") not in ("critical", "degraded", "best-effort"):
                    self.unprioritised += 1
                if self.stall_at is not None and self.count == self.stall_at:
                    self.stalled_at = time.time()
                    await asyncio.sleep(self.stall_s)
                status, extra, payload = self._answer(method, path, body, headers.get("authorization", ""))
                out = (f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
                       f"{extra}\r\n").encode() + payload  # fmt: skip
                self.in_flight -= 1
                writer.write(out)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    def _answer(self, method: str, path: str, body: bytes, auth: str) -> tuple[int, str, bytes]:
        if path == "/api/auth/token" and method == "POST":
            if self.refuse_logins:
                return 503, "Retry-After: 1\r\n", b"{}"
            doc = json.loads(body)
            if doc["password"] != f"pw-{doc['user_id']}":
                return 401, "WWW-Authenticate: Bearer\r\n", b"{}"
            self.logins.append(doc["user_id"])
            token = json.dumps({"access_token": f"token-{doc['user_id']}", "token_type": "bearer", "expires_in": 3600})
            return 200, "", token.encode()
        owner = _owner(path, body)
        if owner is not None and auth != f"Bearer token-{owner}":
            self.unauthenticated += 1
            return 401, "WWW-Authenticate: Bearer\r\n", b"{}"
        if path.startswith("/api/recommendations/"):
            user = int(path.rsplit("/", 1)[1])
            degraded = user % 2 == 0
            extra = "X-Degraded: fallback\r\n" if degraded else ""
            return 200, extra, json.dumps({"user_id": user, "rows": [], "degraded": degraded}).encode()
        if path == "/api/events" and method == "POST":
            doc = json.loads(body)
            self.posts.append(doc)
            return (
                202,
                "",
                json.dumps({"event_id": doc["event_id"], "object": f"events/{doc['event_id']}.json"}).encode(),
            )
        if path.endswith("/my-list") and method == "POST":
            if self.fail_adds:
                return 500, "", b"{}"
            self.posts.append(json.loads(body))
            return 201, "", b"{}"
        if method == "DELETE":
            return 204, "", b""
        if path.startswith("/shed"):
            return 429, "Retry-After: 1\r\n", b"{}"
        if path.startswith("/missing"):
            return 404, "", b'{"title": "Not Found"}'
        if path.startswith("/fail"):
            return 500, "", b"{}"
        return 200, "", b'{"ok": true}'


def _owner(path: str, body: bytes) -> int | None:
    """The user whose data a request touches (the fake's stand-in for the services' 403 rule)."""
    parts = path.split("/")
    if path.startswith(("/api/recommendations/", "/api/users/")):
        return int(parts[3])
    if path == "/api/events":
        return int(json.loads(body)["user_id"])
    return None
