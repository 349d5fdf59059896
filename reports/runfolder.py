"""Typed readers of a run folder (``runs/<id>/``): the only evidence evaluate and render see.

Every reader tolerates missing files by returning ``None`` or an empty value: missing evidence must
turn into a "no data" verdict, not a crash. The layout is described in docs/reports.md.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq

from reports.arrays import F64
from tenfold.layout import CONTROLLER_EVENTS, DURABILITY, LOAD, MANIFEST, MEMORY, PRIORITIES, REQUESTS

if TYPE_CHECKING:
    from reports.memory import MemorySeries

__all__ = [
    "F64",
    "PRIORITIES",
    "Experiment",
    "Manifest",
    "Phase",
    "Requests",
    "RunFolder",
    "Selection",
    "Series",
    "clear_cache",
]

I16 = npt.NDArray[np.int16]
_COLUMNS = ["intended_start", "actual_start", "latency_s", "latency_co_s", "status", "degraded", "route", "method",
            "priority"]  # fmt: skip
"""In the order ``Requests`` asks for them (then ``shed`` and ``failed``), which ``_Ahead`` reads them in."""


@dataclass(frozen=True)
class Phase:
    name: str
    start: float
    end: float
    partial: bool = False
    """The run was stopped inside this phase: it ends at the cut."""


@dataclass(frozen=True)
class Experiment:
    name: str
    start: float | None
    end: float | None
    injected_at: float | None
    recovered_at: float | None
    status: str
    rollback_ok: bool | None
    interrupted: bool = False
    """Stopped by a signal while it ran: its window is cut short."""
    problems: tuple[str, ...] = ()
    """What went wrong with it (no journal, rollback activities that failed, ...)."""


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
    interrupted_at: float | None = None

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Manifest:
        validity = d.get("validity") or {}
        return cls(
            id=str(d.get("id", "")),
            started=float(d.get("started", 0.0)),
            ended=float(d.get("ended", 0.0)),
            phases=[
                Phase(str(p["name"]), float(p["start"]), float(p["end"]), bool(p.get("partial", False)))
                for p in d.get("phases", [])
            ],
            experiments=[
                Experiment(
                    name=str(e["name"]),
                    start=_opt(e.get("start")),
                    end=_opt(e.get("end")),
                    injected_at=_opt(e.get("injected_at")),
                    recovered_at=_opt(e.get("recovered_at")),
                    status=str(e.get("status", "")),
                    rollback_ok=e.get("rollback_ok"),
                    interrupted=bool(e.get("interrupted", False)),
                    problems=tuple(str(p) for p in e.get("problems") or ()),
                )
                for e in d.get("experiments", [])
            ],
            controls={str(k): bool(v) for k, v in (d.get("controls") or {}).items()},
            hpa={str(s): {str(k): float(v) for k, v in h.items()} for s, h in (d.get("hpa") or {}).items()},
            valid=bool(validity.get("valid", True)),
            reasons=[str(r) for r in validity.get("reasons", [])],
            raw=d,
            interrupted_at=_opt(d.get("interrupted_at")),
        )


def _opt(v: Any) -> float | None:
    return None if v is None else float(v)


@dataclass(frozen=True)
class Series:
    """One Prometheus range-query series: its labels and (timestamps, values) as arrays."""

    labels: dict[str, str]
    ts: F64
    values: F64


def _codes(col: pa.ChunkedArray) -> tuple[I16, list[str]]:
    """Dictionary codes + labels of a string column, so filters compare small ints instead of strings."""
    if not pa.types.is_dictionary(col.type):
        col = col.dictionary_encode()
    arr = col.unify_dictionaries().combine_chunks() if col.num_chunks != 1 else col.chunk(0)
    assert isinstance(arr, pa.DictionaryArray)
    indices = arr.indices.fill_null(-1) if arr.indices.null_count else arr.indices
    codes = indices.to_numpy(zero_copy_only=False).astype(np.int16, copy=False)  # route names are capped at 200
    return codes, [str(x) for x in arr.dictionary.to_pylist()]


def _f64(col: pa.ChunkedArray) -> F64:
    return np.asarray(col.to_numpy(), dtype=np.float64)


def _bool(col: pa.ChunkedArray) -> npt.NDArray[np.bool_]:
    return np.asarray(col.to_numpy(zero_copy_only=False), dtype=bool)


Columns = Callable[[str], pa.ChunkedArray]
"""One column of the request rows by name: read when asked, so only one column's Arrow copy is alive at a time."""


@dataclass(frozen=True)
class Selection:
    """Rows of a time window (a slice of the time-sorted rows) narrowed by filters (a mask within the slice)."""

    span: slice
    keep: npt.NDArray[np.bool_] | None = None

    def take(self, column: npt.NDArray[Any]) -> npt.NDArray[Any]:
        part = column[self.span]
        return part if self.keep is None else part[self.keep]

    def mask(self, column: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
        """Over the window's slice: true where a selected row has a boolean column true (the selection not
        materialised; index the slice of another column, ``column[span]``, with it)."""
        part = column[self.span]
        return part if self.keep is None else part & self.keep

    def count_true(self, column: npt.NDArray[np.bool_]) -> int:
        """Selected rows where a boolean column is true (without materialising the selection)."""
        return int(np.count_nonzero(self.mask(column)))

    def count(self) -> int:
        if self.keep is None:
            return int(self.span.stop - self.span.start)
        return int(np.count_nonzero(self.keep))


class Requests:
    """The request rows as numpy columns (one row per request), sorted by intended start.

    Sorting once lets every window be a slice found by binary search instead of a full-length mask.
    """

    def __init__(self, table: pa.Table | Columns, names: list[str] | None = None) -> None:
        """From a table, or from a reader of one column at a time (``names``: the columns there are)."""
        if isinstance(table, pa.Table):
            names, column = table.column_names, table.column
        else:
            assert names is not None
            column = table
        self.intended = _f64(column("intended_start"))
        self.n = len(self.intended)
        self.actual = _f64(column("actual_start"))
        self.latency = _f64(column("latency_s"))
        self.latency_co = _f64(column("latency_co_s"))
        self.status = np.asarray(column("status").to_numpy(), dtype=np.int16)
        self.degraded = _bool(column("degraded"))
        self.route, self.routes = _codes(column("route"))
        self.method, self.methods = _codes(column("method"))
        self.priority, self.priorities = _codes(column("priority"))
        # A generator that knows the answer carried Retry-After writes ``shed``; without it only 429 is a shed.
        self.shed = _bool(column("shed")) | (self.status == 429) if "shed" in names else self.status == 429
        error = (self.status >= 500) | (self.status == 0)
        if "failed" in names:  # a success code the locustfile marked failed (catch_response + failure()) is an error
            failed = _bool(column("failed"))
            error |= failed & (self.status >= 200) & (self.status < 400)
        self.error = error & ~self.shed
        if self.n > 1 and not bool(np.all(self.intended[1:] >= self.intended[:-1])):
            order = np.argsort(self.intended, kind="stable")
            for name in ("intended", "actual", "latency", "latency_co", "status", "degraded", "route", "method",
                         "priority", "shed", "error"):  # fmt: skip
                setattr(self, name, getattr(self, name)[order])

    def code_of(self, kind: str, label: str) -> int:
        """The dictionary code of ``label`` in column ``kind`` (-2 if absent: matches nothing)."""
        labels = {"route": self.routes, "method": self.methods, "priority": self.priorities}[kind]
        return labels.index(label) if label in labels else -2

    def select(
        self, start: float, end: float, *, route: str | None = None, method: str | None = None,
        priority: str | None = None,
    ) -> Selection:  # fmt: skip
        """Rows whose intended start falls in [start, end) and that match the filters."""
        lo, hi = np.searchsorted(self.intended, [start, end], side="left")
        span = slice(int(lo), int(hi))
        keep: npt.NDArray[np.bool_] | None = None
        for column, code in (
            (self.route, None if route is None else self.code_of("route", route)),
            (self.method, None if method is None else self.code_of("method", method.upper())),
            (self.priority, None if priority is None else self.code_of("priority", priority)),
        ):
            if code is not None:
                eq = column[span] == code
                keep = eq if keep is None else keep & eq
        return Selection(span, keep)

    def mask(
        self, start: float, end: float, *, route: str | None = None, method: str | None = None,
        priority: str | None = None,
    ) -> npt.NDArray[np.bool_]:  # fmt: skip
        """The same rows as ``select`` as a full-length boolean mask."""
        sel = self.select(start, end, route=route, method=method, priority=priority)
        m = np.zeros(self.n, dtype=bool)
        m[sel.span] = True if sel.keep is None else sel.keep
        return m


_LAST_REQUESTS: dict[tuple[str, int, int], Requests] = {}  # (path, mtime_ns, size) of the last file read


def clear_cache() -> None:
    """Forget the cached request rows (benchmarks time a cold evaluate + render)."""
    _LAST_REQUESTS.clear()


class _Ahead:
    """Columns of a parquet file two at a time, in the order they will be asked for: the two decode on two threads
    (1M rows on an idle 2-core machine: 32 ms, one column at a time 52 ms, the whole table 31 ms), and only the next
    column's Arrow copy waits beside the one being converted. A column asked out of order is read alone."""

    def __init__(self, f: pq.ParquetFile, order: list[str]) -> None:
        self.f, self.order = f, order
        self.ahead: dict[str, pa.ChunkedArray] = {}

    def __call__(self, name: str) -> pa.ChunkedArray:
        if name in self.ahead:
            return self.ahead.pop(name)
        self.ahead.clear()
        i = self.order.index(name) + 1 if name in self.order else len(self.order)
        table = self.f.read(columns=[name, *self.order[i : i + 1]])  # type: ignore[no-untyped-call]
        if table.num_columns > 1:
            self.ahead[table.column_names[1]] = table.column(1)
        return table.column(0)


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
        d = self._json(MANIFEST)
        return Manifest.from_dict(d) if isinstance(d, dict) else None

    @cached_property
    def load(self) -> dict[str, Any] | None:
        d = self._json(LOAD)
        return d if isinstance(d, dict) else None

    @cached_property
    def durability(self) -> dict[str, Any] | None:
        d = self._json(DURABILITY)
        return d if isinstance(d, dict) else None

    @cached_property
    def requests(self) -> Requests | None:
        """The request rows; the last file read is kept, so evaluate then render read it once."""
        p = self.path / REQUESTS
        if not p.is_file():
            return None
        st = p.stat()
        key = (str(p.resolve()), st.st_mtime_ns, st.st_size)
        if key not in _LAST_REQUESTS:
            _LAST_REQUESTS.clear()
            _LAST_REQUESTS[key] = self._read_requests(p)
        return _LAST_REQUESTS[key]

    def _read_requests(self, p: Path) -> Requests:
        """Two columns at a time, not the whole table: a 10M-row file's Arrow table would sit beside its numpy
        columns."""
        names = [*_COLUMNS, *self._optional_columns(p)]
        return Requests(_Ahead(pq.ParquetFile(p), names), names)  # type: ignore[no-untyped-call]

    @staticmethod
    def _optional_columns(p: Path) -> list[str]:
        return [c for c in ("shed", "failed") if c in pq.read_schema(p).names]  # type: ignore[no-untyped-call]

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
        p = self.path / CONTROLLER_EVENTS
        if not p.is_file():
            return []
        return [json.loads(line) for line in p.read_text(encoding="utf-8").splitlines() if line.strip()]

    @cached_property
    def memory(self) -> list[MemorySeries]:
        """RSS per process from ``memory.jsonl`` (soak runs); empty when the run did not sample memory."""
        from reports.memory import read_memory

        return read_memory(self.path / MEMORY)

    @cached_property
    def journals(self) -> dict[str, dict[str, Any]]:
        d = self.path / "chaos"
        out: dict[str, dict[str, Any]] = {}
        if d.is_dir():
            for p in sorted(d.glob("*.journal.json")):
                with p.open("rb") as f:
                    out[p.name.removesuffix(".journal.json")] = json.load(f)
        return out
