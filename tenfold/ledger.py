"""Your writes, read back: the write ledger a locustfile fills and the verifiers that check it afterwards.

A lost acknowledged write is the worst thing a spike can do, and only the client knows what the service
acknowledged. In a locustfile::

    from tenfold import ledger

    class Shopper(FastHttpUser):
        @task
        def order(self):
            key = str(uuid.uuid4())
            with self.client.put(f"/orders/{key}", json={...}, catch_response=True) as r:
                if r.status_code in (200, 201):
                    ledger.acknowledged("order", key)   # the service said the write is done
                elif r.status_code == 0 or r.status_code >= 500:
                    ledger.unknown("order", key)        # timeout, 5xx, no answer: it may or may not be there

    @ledger.verifier("order")
    def order_is_there(client: httpx.Client, key: str) -> bool:
        return client.get(f"/orders/{key}").status_code == 200

After the load (and the experiments' rollbacks), tenfold calls each kind's verifier once for every acknowledged
key, with an ``httpx.Client`` whose ``base_url`` is the target, and writes ``durability.json``; the
``writes_lost`` indicator (objective ``acknowledged-writes-lost``) counts the keys whose verifier said False.
A verifier may return None ("cannot tell", e.g. the row was rightly removed later): such keys are reported as
unverified, never as lost. Unknown outcomes are reported apart and never counted as lost.
:func:`history` gives a verifier the whole ledger (Jepsen-style checkers need it to judge removals).

Outside a tenfold generator (a plain ``locust -f``), recording does nothing. See docs/ledger.md.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol, TypeVar

__all__ = ["Entry", "Verifier", "acknowledged", "history", "unknown", "verifier", "verifiers"]

Outcome = Literal["acknowledged", "unknown"]


@dataclass(frozen=True)
class Entry:
    """One ledger row: ``sent`` is when the request that wrote it started, ``ack`` when the outcome was known."""

    kind: str
    key: str
    outcome: Outcome
    sent: float
    ack: float
    worker: int = 0


class Verifier(Protocol):
    def __call__(self, client: Any, key: str, /) -> bool | None: ...


V = TypeVar("V", bound=Callable[..., Any])

_verifiers: dict[str, Callable[[Any, str], bool | None]] = {}
_sink: Callable[[str, str, Outcome], None] | None = None
_history: list[Entry] = []


def acknowledged(kind: str, key: object) -> None:
    """The service acknowledged writing ``key`` (of ``kind``): it must be there after the run."""
    kind = _kind(kind)
    if _sink is not None:
        _sink(kind, str(key), "acknowledged")


def unknown(kind: str, key: object) -> None:
    """A write of ``key`` whose outcome the client never learnt (timeout, 5xx, no answer): reported, never lost."""
    kind = _kind(kind)
    if _sink is not None:
        _sink(kind, str(key), "unknown")


def verifier(kind: str) -> Callable[[V], V]:
    """Register ``f(client, key) -> bool | None`` as the read-back check of every acknowledged ``kind`` write."""

    def register(f: V) -> V:
        _verifiers[_kind(kind)] = f
        return f

    return register


def verifiers() -> dict[str, Callable[[Any, str], bool | None]]:
    """The registered verifiers by kind (what importing the locustfile registered)."""
    return dict(_verifiers)


def history() -> list[Entry]:
    """Every ledger entry of the run in acknowledgement order (filled while verifiers run; empty before)."""
    return list(_history)


def _kind(kind: str) -> str:
    if not isinstance(kind, str) or not kind:
        raise ValueError(f"a ledger kind is a non-empty string, not {kind!r}")
    return kind


def _install_sink(sink: Callable[[str, str, Outcome], None] | None) -> None:
    """The generator process routes recording to its ledger part file (tenfold.load)."""
    global _sink
    _sink = sink


def _set_history(entries: list[Entry]) -> None:
    _history[:] = entries
