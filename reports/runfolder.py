"""Typed readers of a run folder (``runs/<id>/``): the only evidence evaluate and render see.

Every reader tolerates missing files by returning ``None`` or an empty value: missing evidence must
turn into a "no data" verdict, not a crash. The layout is described in docs/reports.md.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq

__all__ = [
    "Experiment",
    "Manifest",
    "Phase",
    "Requests",
    "RunFolder",
    "Series",
]

F64 = npt.NDArray[np.float64]
I32 = npt.NDArray[np.int32]
PRIORITIES = ("critical", "degraded", "best-effort")
_COLUMNS = ["intended_start", "actual_start", "latency_s", "latency_co_s", "route", "method", "priority", "status",
            "degraded"]  # fmt: skip


@dataclass(frozen=True)
class Phase:
    name: str
    start: float
    end: float


@dataclass(frozen=True)
class Experiment:
    name: str
    start: float | None
    end: float | None
    injected_at: float | None
    recovered_at: float | None
    status: str
    rollback_ok: bool | None


@dataclass(frozen=True)
class Manifest:
    id: str
    started: float
    ended: float
    phases: list[Phase]
    experiments: list[Experiment]
    controls: dict[str, bool]
    hpa: dict[str, dict[str, float]]
    valid: bool
    reasons: list[str]
    raw: dict[str, Any] = field(repr=False)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Manifest:
        validity = d.get("validity") or {}
        return cls(
            id=str(d.get("id", "")),
            started=float(d.get("started", 0.0)),
            ended=float(d.get("ended", 0.0)),
            phases=[Phase(str(p["name"]), float(p["start"]), float(p["end"])) for p in d.get("phases", [])],
            experiments=[
                Experiment(
                    name=str(e["name"]),
                    start=_opt(e.get("start")),
                    end=_opt(e.get("end")),
                    injected_at=_opt(e.get("injected_at")),
                    recovered_at=_opt(e.get("recovered_at")),
                    status=str(e.get("status", "")),
                    rollback_ok=e.get("rollback_ok"),
                )
                for e in d.get("experiments", [])
            ],
            controls={str(k): bool(v) for k, v in (d.get("controls") or {}).items()},
            hpa={str(s): {str(k): float(v) for k, v in h.items()} for s, h in (d.get("hpa") or {}).items()},
            valid=bool(validity.get("valid", True)),
            reasons=[str(r) for r in validity.get("reasons", [])],
            raw=d,
        )


def _opt(v: Any) -> float | None:
    return None if v is None else float(v)


@dataclass(frozen=True)
class Series:
    """One Prometheus range-query series: its labels and (timestamps, values) as arrays."""

    labels: dict[str, str]
    ts: F64
    values: F64


def _codes(col: pa.ChunkedArray) -> tuple[I32, list[str]]:
    """Dictionary codes + labels of a string column, so filters compare small ints instead of strings."""
    if not pa.types.is_dictionary(col.type):
        col = col.dictionary_encode()
    arr = col.unify_dictionaries().combine_chunks() if col.num_chunks != 1 else col.chunk(0)
    assert isinstance(arr, pa.DictionaryArray)
    codes = arr.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int32, copy=False)
    return codes, [str(x) for x in arr.dictionary.to_pylist()]


def _f64(table: pa.Table, name: str) -> F64:
    return np.asarray(table.column(name).to_numpy(), dtype=np.float64)


class Requests:
    """The request rows as numpy columns (one row per request)."""

    def __init__(self, table: pa.Table) -> None:
        self.n = table.num_rows
        self.intended = _f64(table, "intended_start")
        self.actual = _f64(table, "actual_start")
        self.latency = _f64(table, "latency_s")
        self.latency_co = _f64(table, "latency_co_s")
        self.status = np.asarray(table.column("status").to_numpy(), dtype=np.int16)
        self.degraded = np.asarray(table.column("degraded").to_numpy(zero_copy_only=False), dtype=bool)
        self.route, self.routes = _codes(table.column("route"))
        self.method, self.methods = _codes(table.column("method"))
        self.priority, self.priorities = _codes(table.column("priority"))
        names = table.column_names
        # A generator that knows the answer carried Retry-After writes ``shed``; without it only 429 is a shed.
        self.shed = (
            np.asarray(table.column("shed").to_numpy(zero_copy_only=False), dtype=bool) | (self.status == 429)
            if "shed" in names
            else self.status == 429
        )
        self.error = ((self.status >= 500) | (self.status == 0)) & ~self.shed

    def code_of(self, kind: str, label: str) -> int:
        """The dictionary code of ``label`` in column ``kind`` (-2 if absent: matches nothing)."""
        labels = {"route": self.routes, "method": self.methods, "priority": self.priorities}[kind]
        return labels.index(label) if label in labels else -2

    def mask(
        self, start: float, end: float, *, route: str | None = None, method: str | None = None,
        priority: str | None = None,
    ) -> npt.NDArray[np.bool_]:  # fmt: skip
        """Rows whose intended start falls in [start, end) and that match the filters."""
        m = (self.intended >= start) & (self.intended < end)
        if route is not None:
            m &= self.route == self.code_of("route", route)
        if method is not None:
            m &= self.method == self.code_of("method", method.upper())
        if priority is not None:
            m &= self.priority == self.code_of("priority", priority)
        return m


class RunFolder:
    """Lazy, cached readers over one run folder."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def _json(self, rel: str) -> Any:
        p = self.path / rel
        if not p.is_file():
            return None
        with p.open("rb") as f:
            return json.load(f)

    @cached_property
    def manifest(self) -> Manifest | None:
        d = self._json("manifest.json")
        return Manifest.from_dict(d) if isinstance(d, dict) else None

    @cached_property
    def load(self) -> dict[str, Any] | None:
        d = self._json("load.json")
        return d if isinstance(d, dict) else None

    @cached_property
    def durability(self) -> dict[str, Any] | None:
        d = self._json("durability.json")
        return d if isinstance(d, dict) else None

    @cached_property
    def requests(self) -> Requests | None:
        p = self.path / "requests.parquet"
        if not p.is_file():
            return None
        table = pq.read_table(p, columns=[*_COLUMNS, *self._optional_columns(p)])  # type: ignore[no-untyped-call]
        return Requests(table)

    @staticmethod
    def _optional_columns(p: Path) -> list[str]:
        return [c for c in ("shed",) if c in pq.read_schema(p).names]  # type: ignore[no-untyped-call]

    def metric(self, name: str) -> list[Series] | None:
        """Series of ``metrics/<name>.json`` (None when the file is missing)."""
        if name not in self._metrics:
            d = self._json(f"metrics/{name}.json")
            if not isinstance(d, dict):
                self._metrics[name] = None
            else:
                out = []
                for r in (d.get("data") or {}).get("result", []):
                    vals = r.get("values") or []
                    ts = np.array([float(v[0]) for v in vals], dtype=np.float64)
                    ys = np.array([float(v[1]) for v in vals], dtype=np.float64)
                    out.append(Series({str(k): str(v) for k, v in r.get("metric", {}).items()}, ts, ys))
                self._metrics[name] = out
        return self._metrics[name]

    def metric_query(self, name: str) -> str:
        d = self._json(f"metrics/{name}.json")
        return str(d.get("query", name)) if isinstance(d, dict) else name

    @cached_property
    def _metrics(self) -> dict[str, list[Series] | None]:
        return {}

    @cached_property
    def events(self) -> list[dict[str, Any]]:
        p = self.path / "controller_events.jsonl"
        if not p.is_file():
            return []
        return [json.loads(line) for line in p.read_text(encoding="utf-8").splitlines() if line.strip()]

    @cached_property
    def journals(self) -> dict[str, dict[str, Any]]:
        d = self.path / "chaos"
        out: dict[str, dict[str, Any]] = {}
        if d.is_dir():
            for p in sorted(d.glob("*.journal.json")):
                with p.open("rb") as f:
                    out[p.name.removesuffix(".journal.json")] = json.load(f)
        return out
