"""The one place the extension talks to the local controller (and to link proxies, Prometheus, the gateway).

Every activity goes through here, never through process names, so the faults are exactly the ones the
controller knows how to undo, and switching to another transport (the controller's own Python client) is a
change to this module alone.

Where things are, first match wins:

- controller: configuration ``tenfold_control_url``, env ``TENFOLD_CONTROL_URL``, else ``http://127.0.0.1:7000``
- gateway / Prometheus: configuration ``tenfold_gateway_url`` / ``tenfold_prometheus_url``, else the
  controller's status (``gateway`` / ``prometheus``)
- a link's fault proxy: configuration ``tenfold_links`` (``{"cache": "http://127.0.0.1:C"}``), else the
  controller's status (``links``)

Controller endpoints assumed until ``docs/control-api.md`` lands (all JSON)::

    GET  /status                                 {"gateway", "prometheus", "services": {NAME: {"replicas", "ready"}},
                                                  "components": {NAME: {"state"}}, "links": {NAME: {"control"}}}
    POST /services/{name}/kill      {"count", "signal"} → {"replicas": [ids]}
    POST /services/{name}/freeze    {"count"}           → {"replicas": [ids]}
    POST /services/{name}/thaw      {}                  → {"replicas": [ids]}
    POST /components/{name}/{stop|start|kill|restart} {"mode"?} → {"component", "state", ...}
         components: cache (primary + replica together), cache-primary (whichever node Sentinel calls primary
         now; killing it makes Sentinel fail over), postgres, dynamodb
    POST /cpu-hogs                  {"beside", "cores", "duration_s"} → {"id"}
    DELETE /cpu-hogs/{id} · DELETE /cpu-hogs · GET /cpu-hogs
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx
from chaoslib.exceptions import ActivityFailed

__all__ = [
    "DEFAULT_CONTROL_URL",
    "Controller",
    "controller",
    "gateway_url",
    "link_control_url",
    "prometheus_url",
    "wait_until",
]

DEFAULT_CONTROL_URL = "http://127.0.0.1:7000"
_TIMEOUT = httpx.Timeout(10.0, connect=2.0)

Configuration = Mapping[str, Any] | None


def _config(configuration: Configuration, key: str) -> Any:
    return (configuration or {}).get(key)


class Controller:
    """A thin HTTP client for the controller's loopback control API; errors become ActivityFailed."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")

    def request(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> Any:
        url = f"{self.base_url}{path}"
        try:
            response = httpx.request(method, url, json=body, timeout=_TIMEOUT)
        except httpx.TransportError as exc:
            raise ActivityFailed(
                f"the local stack is not running: nothing answers at {self.base_url} ({exc.__class__.__name__}). "
                "Start it with `tenfold up`, or point `tenfold_control_url` in the experiment's configuration "
                "(or TENFOLD_CONTROL_URL) at the controller."
            ) from exc
        if response.status_code >= 400:
            try:
                detail = response.json()
                detail = detail.get("detail") or detail.get("error") or detail
            except ValueError:
                detail = response.text[:300]
            raise ActivityFailed(f"the controller refused {method} {path}: {response.status_code} {detail}")
        return response.json() if response.content else None

    def status(self) -> dict[str, Any]:
        status = self.request("GET", "/status")
        if not isinstance(status, dict):
            raise ActivityFailed(f"the controller at {self.base_url} returned a malformed status: {status!r}")
        return status

    # -------------------------------------------------------------------------------- names, checked

    def service(self, name: str) -> dict[str, Any]:
        """The service's status; an unknown name fails with the list of valid ones."""
        services: dict[str, Any] = self.status().get("services") or {}
        if name not in services:
            raise ActivityFailed(f"unknown service {name!r}; valid services: {', '.join(sorted(services)) or 'none'}")
        return dict(services[name])

    def component(self, name: str) -> dict[str, Any]:
        components: dict[str, Any] = self.status().get("components") or {}
        if name not in components:
            raise ActivityFailed(
                f"unknown component {name!r}; valid components: {', '.join(sorted(components)) or 'none'}"
            )
        return dict(components[name])

    # --------------------------------------------------------------------------------------- actions

    def replicas_action(self, service: str, verb: str, body: Mapping[str, Any]) -> list[str]:
        self.service(service)
        result = self.request("POST", f"/services/{service}/{verb}", body) or {}
        return [str(r) for r in result.get("replicas", [])]

    def component_action(self, component: str, verb: str, body: Mapping[str, Any] | None = None) -> dict[str, Any]:
        self.component(component)
        result = self.request("POST", f"/components/{component}/{verb}", body or {})
        return dict(result or {})


def controller(configuration: Configuration = None) -> Controller:
    url = _config(configuration, "tenfold_control_url") or os.environ.get("TENFOLD_CONTROL_URL") or DEFAULT_CONTROL_URL
    return Controller(str(url))


def gateway_url(configuration: Configuration = None) -> str:
    return str(_config(configuration, "tenfold_gateway_url") or _from_status(configuration, "gateway")).rstrip("/")


def prometheus_url(configuration: Configuration = None) -> str:
    return str(_config(configuration, "tenfold_prometheus_url") or _from_status(configuration, "prometheus")).rstrip(
        "/"
    )


def link_control_url(link: str, configuration: Configuration = None) -> str:
    """The control URL of ``link``'s fault proxy; an unknown link fails with the valid names."""
    links: Mapping[str, Any] | None = _config(configuration, "tenfold_links")
    if not links:
        links = {
            name: (info.get("control") if isinstance(info, dict) else info)
            for name, info in (controller(configuration).status().get("links") or {}).items()
        }
    if link not in links:
        raise ActivityFailed(f"unknown link {link!r}; valid links: {', '.join(sorted(links)) or 'none'}")
    return str(links[link]).rstrip("/")


def _from_status(configuration: Configuration, key: str) -> str:
    value = controller(configuration).status().get(key)
    if not value:
        raise ActivityFailed(f"the controller's status has no {key!r} URL; set tenfold_{key}_url in the configuration")
    return str(value)


def wait_until(check: Callable[[], bool], timeout_s: float, what: str, interval_s: float = 0.25) -> float:
    """Poll ``check`` until true; return the seconds it took, or fail saying what never happened."""
    start = time.monotonic()
    while True:
        try:
            if check():
                return time.monotonic() - start
        except ActivityFailed:
            pass
        if time.monotonic() - start >= timeout_s:
            raise ActivityFailed(f"{what} did not happen within {timeout_s:g} s")
        time.sleep(interval_s)
