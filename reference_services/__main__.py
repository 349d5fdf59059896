"""Run one replica: ``python -m reference_services SERVICE`` (settings from ``TENFOLD_*`` variables).

SIGTERM: /readyz turns 503 for ``TENFOLD_DRAIN_SECONDS`` so the load balancer stops sending, then the
service's ``on_closing`` hooks run (events: flush the buffer now), the listener closes and in-flight requests
get ``TENFOLD_SHUTDOWN_TIMEOUT`` seconds to finish. Exit 0.
"""

from __future__ import annotations

import contextlib
import importlib
import socket
import sys
import time
from types import FrameType

import uvicorn
from pydantic import ValidationError

from . import SERVICES
from .common.logs import configure_logging
from .common.one_write import OneWriteHttpToolsProtocol
from .common.settings import SECRET_SETTINGS, SettingMissing, Settings

EX_CONFIG = 78


class _DrainingServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, drain_seconds: float) -> None:
        super().__init__(config)
        self._drain_seconds = drain_seconds
        self._drain_until: float | None = None

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self._drain_until is None:
            self._drain_until = time.monotonic() + self._drain_seconds
            self.config.app.state.readiness.draining = True  # type: ignore[union-attr]
        else:
            self.should_exit = True  # a second signal: stop draining, shut down now

    async def on_tick(self, counter: int) -> bool:
        if self._drain_until is not None and time.monotonic() >= self._drain_until:
            self.should_exit = True
        return await super().on_tick(counter)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for hook in self.config.app.state.service.on_closing:  # type: ignore[union-attr]
            with contextlib.suppress(Exception):
                await hook()
        await super().shutdown(sockets)


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in SERVICES:
        print(f"usage: python -m reference_services {{{'|'.join(SERVICES)}}}", file=sys.stderr)
        return 64
    name = argv[0]
    try:
        settings = Settings(service=name)
    except ValidationError as exc:
        for err in exc.errors(include_url=False):
            var = "TENFOLD_" + "_".join(str(p) for p in err["loc"]).upper()
            shown = isinstance(err.get("input"), str | int | float) and err["loc"][0] not in SECRET_SETTINGS
            given = f"={err['input']!r}" if shown else ""  # a secret's value is never echoed
            print(f"{name}: bad setting {var}{given}: {err['msg']} (see docs/services.md)", file=sys.stderr)
        return EX_CONFIG
    configure_logging(name, settings.replica)
    try:
        app = importlib.import_module(f"reference_services.{name}.app").build(settings)
    except SettingMissing as exc:
        print(f"{name}: {exc}", file=sys.stderr)
        return EX_CONFIG
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http=OneWriteHttpToolsProtocol,  # a killed replica sends a whole response or none (see one_write)
        access_log=False,
        log_config=None,
        timeout_graceful_shutdown=int(settings.shutdown_timeout),
        lifespan="on",
    )
    _DrainingServer(config, settings.drain_seconds).run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
