"""A small typed client for the controller's control API (docs/control-api.md); errors are StackError."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import httpx

from tenfold.errors import StackError
from tenfold.stack.status import StackStatus, as_status

__all__ = ["ControlClient", "ReplicaInfo"]


@dataclass(frozen=True)
class ReplicaInfo:
    id: str
    service: str
    slot: int
    port: int
    pid: int | None
    state: str  # starting | ready | frozen | dead | terminating
    restarts: int


class ControlClient:
    def __init__(self, base_url: str | None = None, timeout_s: float = 10.0) -> None:
        self.base_url = (base_url or os.environ.get("TENFOLD_CONTROL_URL") or "http://127.0.0.1:7000").rstrip("/")
        self._timeout = httpx.Timeout(timeout_s, connect=5.0)  # a busy controller accepts late

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        try:
            resp = httpx.request(method, self.base_url + path, json=body, timeout=self._timeout)
        except httpx.TransportError as exc:
            raise StackError(
                f"no controller answers at {self.base_url} ({exc.__class__.__name__}); `tenfold up`?"
            ) from exc
        if resp.status_code >= 400:
            try:
                detail = resp.json().get("detail")
            except ValueError:
                detail = resp.text[:200]
            raise StackError(f"controller refused {method} {path}: {resp.status_code} {detail}")
        return resp.json()

    def status(self) -> StackStatus:
        return as_status(dict(self._call("GET", "/status")))

    def replicas(self, service: str | None = None) -> list[ReplicaInfo]:
        suffix = f"?service={service}" if service else ""
        return [ReplicaInfo(**r) for r in self._call("GET", f"/replicas{suffix}")["replicas"]]

    def kill(self, service: str, count: int = 1, signal: str = "SIGKILL", replica: str | None = None) -> list[str]:
        body: dict[str, Any] = {"count": count, "signal": signal}
        if replica:
            body["replica"] = replica
        return list(self._call("POST", f"/services/{service}/kill", body)["replicas"])

    def freeze(self, service: str, count: int = 1, replica: str | None = None) -> list[str]:
        body: dict[str, Any] = {"count": count}
        if replica:
            body["replica"] = replica
        return list(self._call("POST", f"/services/{service}/freeze", body)["replicas"])

    def thaw(self, service: str) -> list[str]:
        return list(self._call("POST", f"/services/{service}/thaw", {})["replicas"])

    def scale(self, service: str, replicas: int) -> int:
        return int(self._call("POST", f"/services/{service}/scale", {"replicas": replicas})["desired"])

    def component(self, name: str, verb: str, mode: str | None = None) -> dict[str, Any]:
        """``verb``: stop | start | kill | restart; components: see ``status()["components"]``."""
        return dict(self._call("POST", f"/components/{name}/{verb}", {"mode": mode} if mode else {}))

    def autoscaling(self, enabled: bool | None = None) -> bool:
        if enabled is None:
            return bool(self._call("GET", "/autoscaling")["enabled"])
        return bool(self._call("POST", "/autoscaling", {"enabled": enabled})["enabled"])

    def events(self, limit: int = 100) -> list[dict[str, Any]]:
        return list(self._call("GET", f"/events?limit={limit}")["events"])

    def start_cpu_hog(self, beside: str, cores: float = 1.0, duration_s: float = 30.0) -> str:
        return str(self._call("POST", "/cpu-hogs", {"beside": beside, "cores": cores, "duration_s": duration_s})["id"])

    def stop_cpu_hogs(self) -> int:
        return int(self._call("DELETE", "/cpu-hogs")["stopped"])
