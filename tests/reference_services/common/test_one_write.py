"""uvicorn's real httptools protocol with OneWriteTransport: a whole response leaves in one write."""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from reference_services.common.one_write import OneWriteHttpToolsProtocol


class SocketLikeTransport(asyncio.Transport):
    """Stands in for the socket: every write() it receives would be one send() on the wire."""

    def __init__(self) -> None:
        super().__init__()
        self.sends: list[bytes] = []
        self.closed = False

    def write(self, data: Any) -> None:
        self.sends.append(bytes(data))

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 50000)}.get(name, default)

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


async def title(request: Request) -> JSONResponse:
    return JSONResponse({"id": 3, "name": "x" * 150})


def sends_for_one_request(protocol_class: type[HttpToolsProtocol]) -> list[bytes]:
    async def run() -> list[bytes]:
        config = Config(Starlette(routes=[Route("/t", title)]), lifespan="off", access_log=False, log_config=None)
        config.load()
        protocol = protocol_class(config, ServerState(), app_state={})
        transport = SocketLikeTransport()
        protocol.connection_made(transport)
        protocol.data_received(b"GET /t HTTP/1.1\r\nHost: x\r\n\r\n")
        for _ in range(20):
            await asyncio.sleep(0)
        protocol.connection_lost(None)
        return transport.sends

    return asyncio.run(run())


def test_uvicorn_alone_splits_head_and_body() -> None:
    """The hazard this module exists for: two sends, a crash between them leaves a head without a body."""
    sends = sends_for_one_request(HttpToolsProtocol)
    assert len(sends) == 2 and sends[0].startswith(b"HTTP/1.1 200") and sends[1].startswith(b'{"id":3')


def test_one_write_sends_the_whole_response_at_once() -> None:
    sends = sends_for_one_request(OneWriteHttpToolsProtocol)
    assert len(sends) == 1
    head, body = sends[0].split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 200")
    assert f"content-length: {len(body)}".encode() in head.lower() and body.endswith(b'"}')
