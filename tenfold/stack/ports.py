"""Every port the local stack listens on, derived from one base so a second stack (or a busy port) moves as one.

base+0 control API · +1 gateway · +2 HAProxy stats/exporter · +3 Prometheus · +4 PostgreSQL
+5/+6 Redis nodes · +7..+9 Sentinels · +10 DynamoDB emulator · +11 S3 emulator
+20..+39 link proxies (listen/control pairs) · +100.. replicas, 20 slots per service
"""

from __future__ import annotations

import errno
import os
import socket
from dataclasses import dataclass

from tenfold.errors import PortInUseError, UsageError

__all__ = ["DEFAULT_BASE", "HOST", "SLOTS_PER_SERVICE", "Ports", "check_free", "port_base"]

HOST = "127.0.0.1"
DEFAULT_BASE = 7000
SLOTS_PER_SERVICE = 20
_BASE_ENV = "TENFOLD_PORT_BASE"


def port_base(explicit: int | None = None) -> int:
    """The base port: the flag, else ``TENFOLD_PORT_BASE``, else 7000."""
    raw = explicit if explicit is not None else os.environ.get(_BASE_ENV, DEFAULT_BASE)
    try:
        base = int(raw)
    except ValueError as exc:
        raise UsageError(f"{_BASE_ENV}={raw!r} is not a port number") from exc
    if not 1024 <= base <= 65535 - 300:
        raise UsageError(f"the port base must be between 1024 and 65235, got {base}")
    return base


@dataclass(frozen=True)
class Ports:
    base: int

    @property
    def control(self) -> int:
        return self.base

    @property
    def gateway(self) -> int:
        return self.base + 1

    @property
    def haproxy_stats(self) -> int:
        return self.base + 2

    @property
    def prometheus(self) -> int:
        return self.base + 3

    @property
    def postgres(self) -> int:
        return self.base + 4

    @property
    def redis(self) -> tuple[int, int]:
        return (self.base + 5, self.base + 6)

    @property
    def sentinels(self) -> tuple[int, int, int]:
        return (self.base + 7, self.base + 8, self.base + 9)

    @property
    def dynamodb(self) -> int:
        return self.base + 10

    @property
    def s3(self) -> int:
        return self.base + 11

    def link(self, index: int) -> tuple[int, int]:
        """(listen, control) of the ``index``-th link proxy."""
        return (self.base + 20 + 2 * index, self.base + 21 + 2 * index)

    def replica(self, service_index: int, slot: int) -> int:
        return self.base + 100 + service_index * SLOTS_PER_SERVICE + slot

    def fixed(self) -> dict[str, int]:
        """The listeners every stack has, by what they are (for the port-in-use message)."""
        out = {
            "control API": self.control,
            "gateway": self.gateway,
            "HAProxy stats": self.haproxy_stats,
            "Prometheus": self.prometheus,
            "PostgreSQL": self.postgres,
            "DynamoDB emulator": self.dynamodb,
            "S3 emulator": self.s3,
        }
        out.update({f"Redis {i}": p for i, p in enumerate(self.redis)})
        out.update({f"Sentinel {i}": p for i, p in enumerate(self.sentinels)})
        for i in range(4):
            listen, control = self.link(i)
            out |= {f"link proxy {i}": listen, f"link proxy {i} control": control}
        return out

    def replicas(self, services: int = 4, slots: int = 8) -> dict[str, int]:
        return {f"replica {s} of service #{i}": self.replica(i, s) for i in range(services) for s in range(slots)}


def check_free(ports: dict[str, int]) -> None:
    """Fail naming the first taken port and how to move the whole stack."""
    for what, port in ports.items():
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            # As the servers do: a port with only TIME_WAIT leftovers of a previous stack is free.
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind((HOST, port))
            except OSError as exc:
                if exc.errno != errno.EADDRINUSE:
                    raise
                raise PortInUseError(
                    f"port {port} ({what}) on {HOST} is in use. Stop what holds it, or move the whole stack with "
                    f"`tenfold up --port-base N` (or {_BASE_ENV}=N; the stack uses N..N+300)."
                ) from exc
