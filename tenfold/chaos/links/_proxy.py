"""HTTP calls to one link proxy's control API (see tenfold.stack.linkproxy for the routes)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
from chaoslib.exceptions import ActivityFailed

from tenfold.chaos._controller import Configuration, link_control_url

__all__ = ["call"]


def call(link: str, method: str, path: str, configuration: Configuration, body: Mapping[str, Any] | None = None) -> Any:
    url = link_control_url(link, configuration)
    try:
        response = httpx.request(method, f"{url}{path}", json=body, timeout=5.0)
    except httpx.TransportError as exc:
        raise ActivityFailed(
            f"the fault proxy of link {link!r} does not answer at {url}: is the stack running (`tenfold up`)?"
        ) from exc
    if response.status_code >= 400:
        raise ActivityFailed(f"the fault proxy of link {link!r} refused {method} {path}: {response.text[:300]}")
    return response.json()
