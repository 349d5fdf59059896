"""Every request a locustfile sends, as one recorded row: Locust's ``request`` event plus what tenfold knows.

Locust fires ``events.request`` when a request ends, with its name, start time and duration. What it does not
know tenfold adds from the arrival the request belongs to (found by the greenlet that runs it): the arrival's
intended start for the task's first request (latency corrected for coordinated omission), and the request's
priority (its ``X-Priority`` header, read where the request is made: each user instance's ``client.request``
is wrapped). The wrapper also keeps the requests in flight, so the ones still unanswered when the record closes
are written as timeouts instead of vanishing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import gevent

from ._recorder import UNCLASSIFIED, Recorder, priority_of

__all__ = ["Arrival", "Capture"]

_SHED_CODES = (429, 503)


@dataclass
class Arrival:
    """What the generator knows of the arrival a greenlet is running."""

    intended: float
    """Epoch seconds the arrival was due: the task's first request is timed from here."""
    first: bool = True
    setup: bool = False
    """True while the user instance's ``on_start`` runs (its requests are timed from their own start)."""
    setup_failures: int = 0
    last_sent: float | None = None


@dataclass
class _Pending:
    name: str
    method: str
    priority: int
    start: float  # epoch
    intended: float


@dataclass
class Capture:
    """Turns Locust's request events into recorder rows. One per generator process."""

    recorder: Recorder
    arrivals: dict[Any, Arrival] = field(default_factory=dict)
    """By greenlet: the arrival each sender greenlet is running now."""
    closed: bool = False
    _pending: dict[Any, list[_Pending]] = field(default_factory=dict)

    def current(self) -> Arrival | None:
        return self.arrivals.get(gevent.getcurrent())

    def wrap_client(self, client: Any) -> None:
        """Wrap ``client.request`` of a user instance (HttpSession or FastHttpSession: every verb goes through it)."""
        inner: Callable[..., Any] = client.request
        if getattr(inner, "_tenfold", False):
            return
        defaults = getattr(client, "headers", None)
        pending = self._pending

        def request(method: str, url: str, *args: Any, **kwargs: Any) -> Any:
            headers = kwargs.get("headers")
            value = _header(headers, "x-priority") if headers else None
            if value is None and isinstance(defaults, Mapping):
                value = _header(defaults, "x-priority")
            me = gevent.getcurrent()
            arrival = self.arrivals.get(me)
            start = time.time()
            intended = start
            if arrival is not None and arrival.first and not arrival.setup:
                intended = min(arrival.intended, start)
                arrival.first = False
            name = kwargs.get("name") or str(url)
            entry = _Pending(str(name), method.upper(), priority_of(value) if value is not None else UNCLASSIFIED,
                             start, intended)  # fmt: skip
            pending.setdefault(me, []).append(entry)
            try:
                return inner(method, url, *args, **kwargs)
            except BaseException:
                self._drop(me, entry)
                raise

        request._tenfold = True  # type: ignore[attr-defined]
        client.request = request

    def _drop(self, g: Any, entry: _Pending) -> None:
        mine = self._pending.get(g)
        if mine and entry in mine:
            mine.remove(entry)
            if not mine:
                del self._pending[g]

    def _take(self, g: Any, name: str) -> _Pending | None:
        """The request this event is about: the oldest in flight in this greenlet with that name."""
        mine = self._pending.get(g)
        if not mine:
            return None
        for i, p in enumerate(mine):
            if p.name == name:
                del mine[i]
                break
        else:
            p = mine.pop(0)
        if not mine:
            del self._pending[g]
        return p

    def on_request(
        self, request_type: str, name: str, response_time: float, response_length: int, response: Any = None,
        context: Any = None, exception: Any = None, start_time: float | None = None, url: str | None = None,
        **_: Any,
    ) -> None:  # fmt: skip
        """Locust's ``events.request`` listener."""
        if self.closed:
            return
        g = gevent.getcurrent()
        p = self._take(g, name)
        latency = float(response_time or 0.0) / 1000.0
        actual = float(start_time) if start_time is not None else (p.start if p else time.time() - latency)
        arrival = self.arrivals.get(g)
        if p is not None:
            priority, intended = p.priority, min(p.intended, actual)
        else:
            priority, intended = UNCLASSIFIED, actual
        if arrival is not None:
            arrival.last_sent = actual
            if arrival.setup:
                arrival.setup_failures += exception is not None
            elif arrival.first and p is None:  # sent without the wrapper (a custom client firing the event)
                arrival.first = False
                intended = min(arrival.intended, actual)
        status = getattr(response, "status_code", None)
        if not isinstance(status, int):
            status = 0 if exception is not None else 200
        headers = getattr(response, "headers", None)
        degraded = bool(headers and _header(headers, "x-degraded"))
        shed = status in _SHED_CODES and bool(headers and _header(headers, "retry-after"))
        self.recorder.add(intended, actual, latency, str(name), str(request_type).upper(), priority, status, degraded,
                          shed, exception is not None)  # fmt: skip

    def close(self) -> int:
        """Stop recording; the requests still in flight become timeouts (status 0) lasting until now."""
        now = time.time()
        n = 0
        for entries in self._pending.values():
            for p in entries:
                self.recorder.add(p.intended, p.start, now - p.start, p.name, p.method, p.priority, 0, False, False,
                                  True)  # fmt: skip
                n += 1
        self._pending.clear()
        self.closed = True
        return n


def _header(headers: Any, name: str) -> Any:
    """A header value by case-insensitive name from a dict, requests' CaseInsensitiveDict or geventhttpclient's."""
    try:
        value = headers.get(name)
    except Exception:
        value = None
    if value is not None:
        return value
    if isinstance(headers, Mapping):
        for k, v in headers.items():
            if isinstance(k, str) and k.lower() == name:
                return v
    return None
