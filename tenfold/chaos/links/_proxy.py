"""HTTP calls to one link proxy's control API (see tenfold.stack.linkproxy for the routes)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
from chaoslib.exceptions import ActivityFailed

from tenfold.chaos._controller import Configuration, link_control_urls

__all__ = ["call"]


def call(link: str, method: str, path: str, configuration: Configuration, body: Mapping[str, Any] | None = None) -> Any:
    """Make the same call on every proxy of ``link``; the first proxy's answer stands for the link."""
    answers = [_call_one(link, url, method, path, body) for url in link_control_urls(link, configuration)]
    return answers[0]


def _call_one(link: str, url: str, method: str, path: str, body: Mapping[str, Any] | None) -> Any:
    try:
        response = httpx.request(method, f"{url}{path}", json=body, timeout=5.0)
    except httpx.TransportError as exc:
        raise ActivityFailed(
            f"the fault proxy of link {link!r} does not answer at {url}: is the stack running (`tenfold up`)?"
        ) from exc
    if response.status_code >= 400:
        raise ActivityFailed(f"the fault proxy of link {link!r} refused {method} {path}: {response.text[:300]}")
    return response.json()
