"""The one place the extension talks to the local controller (and to link proxies, Prometheus, the gateway).

Every activity goes through here, never through process names, so the faults are exactly the ones the
controller knows how to undo, and a change of the controller's API is a change to this module alone.

Where things are, first match wins:

- controller: configuration ``tenfold_control_url``, env ``TENFOLD_CONTROL_URL``, else ``http://127.0.0.1:7000``
- gateway / Prometheus: configuration ``tenfold_gateway_url`` / ``tenfold_prometheus_url``, else the
  controller's status (``gateway`` / ``prometheus``)
- a link's fault proxy: configuration ``tenfold_links`` (``{"cache": "http://127.0.0.1:C"}``), else the
  controller's status (``links``)

The controller's routes are documented in docs/control-api.md; this module calls them through
``tenfold.stack.client.ControlClient`` and turns its ``StackError`` into ``ActivityFailed``.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from chaoslib.exceptions import ActivityFailed

from tenfold.errors import StackError
from tenfold.stack.client import ControlClient
from tenfold.stack.status import StackStatus

__all__ = [
    "DEFAULT_CONTROL_URL",
    "Controller",
    "controller",
    "gateway_url",
    "link_control_urls",
    "prometheus_url",
    "wait_until",
]

DEFAULT_CONTROL_URL = "http://127.0.0.1:7000"

Configuration = Mapping[str, Any] | None


def _config(configuration: Configuration, key: str) -> Any:
    return (configuration or {}).get(key)


class Controller:
    """The controller's own client, with names checked against its status and errors as ActivityFailed."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.client = ControlClient(self.base_url)

    def request(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> Any:
        """Routes the client has no method for (e.g. ``GET /cpu-hogs``)."""
        with _as_activity_failed():
            return self.client._call(method, path, dict(body) if body is not None else None)

    def status(self) -> StackStatus:
        with _as_activity_failed():
            return self.client.status()

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
        with _as_activity_failed():
            if verb == "kill":
                return self.client.kill(service, int(body.get("count", 1)), str(body.get("signal", "SIGKILL")))
            if verb == "freeze":
                return self.client.freeze(service, int(body.get("count", 1)))
            if verb == "thaw":
                return self.client.thaw(service)
        raise ActivityFailed(f"unknown replica verb {verb!r}; valid: kill, freeze, thaw")

    def component_action(self, component: str, verb: str, body: Mapping[str, Any] | None = None) -> dict[str, Any]:
        self.component(component)
        mode = (body or {}).get("mode")
        with _as_activity_failed():
            return self.client.component(component, verb, str(mode) if mode else None)

    def start_cpu_hog(self, beside: str, cores: float, duration_s: float) -> str:
        self.service(beside)
        with _as_activity_failed():
            return self.client.start_cpu_hog(beside, cores, duration_s)

    def stop_cpu_hogs(self) -> int:
        with _as_activity_failed():
            return self.client.stop_cpu_hogs()


@contextlib.contextmanager
def _as_activity_failed() -> Iterator[None]:
    """The client says what went wrong; Chaos Toolkit needs it as ActivityFailed to record a failed activity."""
    try:
        yield
    except StackError as exc:
        text = str(exc)
        if text.startswith("no controller answers"):
            text = f"the local stack is not running: {text} Start it with `tenfold up`, or set tenfold_control_url."
        raise ActivityFailed(text) from exc


def controller(configuration: Configuration = None) -> Controller:
    url = _config(configuration, "tenfold_control_url") or os.environ.get("TENFOLD_CONTROL_URL") or DEFAULT_CONTROL_URL
    return Controller(str(url))


def gateway_url(configuration: Configuration = None) -> str:
    return str(_config(configuration, "tenfold_gateway_url") or _from_status(configuration, "gateway")).rstrip("/")


def prometheus_url(configuration: Configuration = None) -> str:
    return str(_config(configuration, "tenfold_prometheus_url") or _from_status(configuration, "prometheus")).rstrip(
        "/"
    )


def link_control_urls(link: str, configuration: Configuration = None) -> list[str]:
    """The control URL(s) of ``link``'s fault proxies; an unknown link fails with the valid names.

    A link may be several proxies (e.g. one per cache node): its ``control`` is then a list, and a fault on the
    link is set on every one of them."""
    links: Mapping[str, Any] | None = _config(configuration, "tenfold_links")
    if not links:
        links = {
            name: (info.get("control") if isinstance(info, dict) else info)
            for name, info in (controller(configuration).status().get("links") or {}).items()
        }
    if link not in links:
        raise ActivityFailed(f"unknown link {link!r}; valid links: {', '.join(sorted(links)) or 'none'}")
    urls = links[link] if isinstance(links[link], list | tuple) else [links[link]]
    return [str(url).rstrip("/") for url in urls]


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
