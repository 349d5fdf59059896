"""Write-ledger: every write the system acknowledged, so a later step can look for it in PostgreSQL/S3.

A lost acknowledged write is the worst failure a spike can cause; only the client knows what was
acknowledged, so the generator records it the moment the acknowledgement arrives.
"""

from __future__ import annotations

from pathlib import Path
from typing import IO

import orjson

__all__ = ["Ledger", "merge_ledgers"]


class Ledger:
    """Append-only JSON-lines file of acknowledged writes (one per process, merged afterwards)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._f: IO[bytes] = self.path.open("ab", buffering=1 << 16)
        self.count = 0

    def my_list(self, user_id: int, title_id: int, idempotency_key: str, status: int, ack: float) -> None:
        row = {"kind": "my-list", "user_id": user_id, "title_id": title_id, "key": f"{user_id}:{title_id}",
               "idempotency_key": idempotency_key, "status": status, "ack": ack}  # fmt: skip
        self._write(row)

    def event(self, event_id: str, user_id: int, title_id: int, obj: str | None, status: int, ack: float) -> None:
        row = {"kind": "event", "event_id": event_id, "user_id": user_id, "title_id": title_id, "key": event_id,
               "object": obj, "status": status, "ack": ack}  # fmt: skip
        self._write(row)

    def _write(self, row: dict[str, object]) -> None:
        self._f.write(orjson.dumps(row) + b"\n")
        self.count += 1

    def close(self) -> None:
        self._f.close()


def merge_ledgers(parts: list[Path], out: Path) -> int:
    """Concatenate per-process ledgers into ``out`` ordered by ack time; returns the row count."""
    rows = []
    for p in parts:
        for line in p.read_bytes().splitlines():
            if line.strip():
                rows.append(orjson.loads(line))
    rows.sort(key=lambda r: float(r["ack"]))
    with out.open("wb") as f:
        for r in rows:
            f.write(orjson.dumps(r) + b"\n")
    return len(rows)
