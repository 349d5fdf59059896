"""The write ledger's part file of one generator process, and the merge of every process's part.

Rows are JSON lines ``{"kind", "key", "outcome", "sent", "ack", "worker"}`` in epoch seconds of the generator's
clock (``sent``: the start of the request that wrote it, ``ack``: when its outcome was known). The public API a
locustfile uses is :mod:`tenfold.ledger`.
"""

from __future__ import annotations

from pathlib import Path
from typing import IO, Any

import orjson

from tenfold.ledger import Entry

__all__ = ["Ledger", "merge_ledgers", "read_ledger"]


class Ledger:
    """Append-only JSON-lines file of one process; ``count`` counts acknowledged writes, ``unknown`` the rest."""

    def __init__(self, path: str | Path, worker: int = 0) -> None:
        self.path = Path(path)
        self.worker = worker
        self._f: IO[bytes] = self.path.open("ab", buffering=1 << 16)
        self.count = 0
        self.unknown = 0

    def write(self, kind: str, key: str, outcome: str, sent: float, ack: float) -> None:
        row = {"kind": kind, "key": key, "outcome": outcome, "sent": round(sent, 6), "ack": round(ack, 6),
               "worker": self.worker}  # fmt: skip
        self._f.write(orjson.dumps(row) + b"\n")
        if outcome == "acknowledged":
            self.count += 1
        else:
            self.unknown += 1

    def close(self) -> None:
        self._f.close()


def _rows(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


def merge_ledgers(parts: list[Path], out: Path) -> int:
    """Concatenate per-process ledgers into ``out`` ordered by ack time; returns the acknowledged writes' count."""
    rows = [r for p in parts for r in _rows(p)]
    rows.sort(key=lambda r: float(r["ack"]))
    with out.open("wb") as f:
        for r in rows:
            f.write(orjson.dumps(r) + b"\n")
    return sum(r.get("outcome") == "acknowledged" for r in rows)


def read_ledger(path: Path) -> list[Entry]:
    """The merged ledger as entries (empty when the run wrote none)."""
    if not path.is_file():
        return []
    return [Entry(str(r["kind"]), str(r["key"]), r["outcome"], float(r["sent"]), float(r["ack"]),
                  int(r.get("worker", 0))) for r in _rows(path)]  # fmt: skip
