"""Fault proxies (``tenfold.stack.linkproxy``) in front of dependencies: the seam for link faults.

A link is a proxy process the controller supervises like any component; services are pointed at the proxy's
listen port instead of the dependency, and ``status()["links"]`` names each link's control URL for
``tenfold.chaos.links``. Links: ``postgres`` (users → PostgreSQL), ``dynamodb`` (catalog, recommendations →
the DynamoDB emulator) and ``cache``: one proxy per Redis node (``cache-0``/``cache-1``), each node announcing
its proxy's port so Sentinel hands out proxy addresses; the controller fans one fault call out to both.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from tenfold.stack.component import Component, http_ok, tcp_ok
from tenfold.stack.procs import Proc

__all__ = ["Link", "link"]


@dataclass(frozen=True)
class Link:
    name: str
    listen: int
    upstream: int
    control: int


def link(home: Path, spec: Link) -> Component:
    argv = [
        sys.executable, "-m", "tenfold.stack.linkproxy",
        "--listen", f"127.0.0.1:{spec.listen}",
        "--upstream", f"127.0.0.1:{spec.upstream}",
        "--control", f"127.0.0.1:{spec.control}",
    ]  # fmt: skip
    proc = Proc(f"link-{spec.name}", argv, log=home / "logs" / f"link-{spec.name}.log")

    async def ready() -> bool:
        return await tcp_ok(spec.listen) and await http_ok(spec.control, "/healthz")

    return Component(
        f"link-{spec.name}",
        [proc],
        ready,
        extra={"control": f"http://127.0.0.1:{spec.control}", "listen": f"127.0.0.1:{spec.listen}"},
    )
