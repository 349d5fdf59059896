"""Write-ledger: every write the system acknowledged, so a later step can look for it in PostgreSQL/S3.

A lost acknowledged write is the worst failure a spike can cause; only the client knows what was
acknowledged, so the generator records it the moment the acknowledgement arrives.

Kinds: ``my-list`` (an add answered 2xx), ``my-list-delete`` (a removal answered 2xx), ``event`` (202).
``my-list-unknown`` rows are adds whose outcome the client never learnt (no answer, or a 5xx: a timeout after
COMMIT may have applied them); they are not acknowledged writes, but reconciling a removal needs them: such an
add may commit after the removal and rightly bring the row back. Every row carries ``sent`` (request start)
and ``ack`` (answer), epoch seconds of the generator's clock: a write answered before another was sent
committed before it.
"""

from __future__ import annotations

from pathlib import Path
from typing import IO

import orjson

__all__ = ["ACKNOWLEDGED", "Ledger", "merge_ledgers"]

ACKNOWLEDGED = frozenset({"my-list", "my-list-delete", "event"})
"""Kinds of rows that are acknowledged writes (the rest only help reconcile them)."""


class Ledger:
    """Append-only JSON-lines file of acknowledged writes (one per process, merged afterwards).

    ``count`` counts acknowledged writes only."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._f: IO[bytes] = self.path.open("ab", buffering=1 << 16)
        self.count = 0

    def my_list(self, user_id: int, title_id: int, idempotency_key: str, status: int, sent: float, ack: float) -> None:
        row = {"kind": "my-list", "user_id": user_id, "title_id": title_id, "key": f"{user_id}:{title_id}",
               "idempotency_key": idempotency_key, "status": status, "sent": sent, "ack": ack}  # fmt: skip
        self._write(row)

    def my_list_unknown(
        self, user_id: int, title_id: int, idempotency_key: str, status: int, sent: float, ended: float
    ) -> None:
        """An add that may or may not have applied (status 0: no answer, or a 5xx); not counted."""
        row = {"kind": "my-list-unknown", "user_id": user_id, "title_id": title_id, "key": f"{user_id}:{title_id}",
               "idempotency_key": idempotency_key, "status": status, "sent": sent, "ack": ended}  # fmt: skip
        self._write(row, acknowledged=False)

    def my_list_delete(self, user_id: int, title_id: int, status: int, sent: float, ack: float) -> None:
        row = {"kind": "my-list-delete", "user_id": user_id, "title_id": title_id, "key": f"{user_id}:{title_id}",
               "status": status, "sent": sent, "ack": ack}  # fmt: skip
        self._write(row)

    def event(
        self, event_id: str, user_id: int, title_id: int, obj: str | None, status: int, sent: float, ack: float
    ) -> None:
        row = {"kind": "event", "event_id": event_id, "user_id": user_id, "title_id": title_id, "key": event_id,
               "object": obj, "status": status, "sent": sent, "ack": ack}  # fmt: skip
        self._write(row)

    def _write(self, row: dict[str, object], acknowledged: bool = True) -> None:
        self._f.write(orjson.dumps(row) + b"\n")
        self.count += acknowledged

    def close(self) -> None:
        self._f.close()


def merge_ledgers(parts: list[Path], out: Path) -> int:
    """Concatenate per-process ledgers into ``out`` ordered by ack time; returns the acknowledged writes' count."""
    rows = []
    for p in parts:
        for line in p.read_bytes().splitlines():
            if line.strip():
                rows.append(orjson.loads(line))
    rows.sort(key=lambda r: float(r["ack"]))
    with out.open("wb") as f:
        for r in rows:
            f.write(orjson.dumps(r) + b"\n")
    return sum(r.get("kind") in ACKNOWLEDGED for r in rows)
