"""One row per request into preallocated numpy chunks, written as a dictionary-encoded Parquet file.

Recording must cost less than the request it records: no per-request dict or object, a few array stores.
Chunks are fixed-size so 1M samples take ~30 MB and growing never copies what is already recorded.
Routes (Locust request names) and methods are labels learnt as they come; past ``ROUTE_CAP`` distinct route
names the rest are recorded as ``other`` and counted, so a locustfile that names every URL apart cannot grow the
record without bound.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as _pq_typed

from tenfold.layout import PRIORITIES

pq: Any = _pq_typed  # pyarrow.parquet is only partly annotated

__all__ = ["OTHER_ROUTE", "PRIORITIES", "ROUTE_CAP", "Labels", "Lags", "Recorder", "percentile", "priority_of"]

_PRIORITY_INDEX = {p: i for i, p in enumerate(PRIORITIES)}
UNCLASSIFIED = _PRIORITY_INDEX["unclassified"]
ROUTE_CAP = 200
OTHER_ROUTE = "other"
_METHOD_CAP = 32
_CHUNK = 65_536
DICTIONARY_COLUMNS = ["route", "method", "priority"]
"""Only these are dictionary-encoded in Parquet: trying it on float columns costs ~30 MB per writer."""


def priority_of(value: object) -> int:
    """The priority code of an ``X-Priority`` header value (unclassified when absent or unknown)."""
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    if not isinstance(value, str):
        return UNCLASSIFIED
    return _PRIORITY_INDEX.get(value.strip().lower(), UNCLASSIFIED)


class Labels:
    """String labels as small codes, learnt in order of first use, at most ``cap`` of them plus ``other``."""

    def __init__(self, cap: int, other: str = OTHER_ROUTE) -> None:
        self.names: list[str] = []
        self._index: dict[str, int] = {}
        self._cap = cap
        self._other = other
        self.overflow_requests = 0
        self.overflow_names: set[str] = set()

    def code(self, name: str) -> int:
        c = self._index.get(name)
        if c is not None:
            return c
        if len(self.names) < self._cap:
            c = self._index[name] = len(self.names)
            self.names.append(name)
            return c
        if len(self.overflow_names) < 10_000:
            self.overflow_names.add(name)
        self.overflow_requests += 1
        return self.code_other()

    def code_other(self) -> int:
        c = self._index.get(self._other)
        if c is None:  # the one label past the cap
            c = self._index[self._other] = len(self.names)
            self.names.append(self._other)
        return c


class _Chunk:
    __slots__ = ("actual", "degraded", "failed", "intended", "latency", "method", "priority", "route", "shed",
                 "status")  # fmt: skip

    def __init__(self) -> None:
        self.intended = np.empty(_CHUNK, np.float64)
        self.actual = np.empty(_CHUNK, np.float64)
        self.latency = np.empty(_CHUNK, np.float32)
        self.route = np.empty(_CHUNK, np.uint8)
        self.method = np.empty(_CHUNK, np.uint8)
        self.priority = np.empty(_CHUNK, np.uint8)
        self.status = np.empty(_CHUNK, np.int16)
        self.degraded = np.empty(_CHUNK, np.bool_)
        self.shed = np.empty(_CHUNK, np.bool_)
        self.failed = np.empty(_CHUNK, np.bool_)


class Lags:
    """The arrival clock's own lateness per arrival (seconds) and when it was due, in chunks: it judges the
    generator (and says when it was late), and is never written row by row."""

    def __init__(self) -> None:
        self._lag = [np.empty(_CHUNK, np.float32)]
        self._at = [np.empty(_CHUNK, np.float64)]
        self._i = 0
        self.n = 0

    def add(self, lag: float, at: float) -> None:
        if self._i == _CHUNK:
            self._lag.append(np.empty(_CHUNK, np.float32))
            self._at.append(np.empty(_CHUNK, np.float64))
            self._i = 0
        self._lag[-1][self._i] = lag
        self._at[-1][self._i] = at
        self._i += 1
        self.n += 1

    def _all(self) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
        lag = np.concatenate([*self._lag[:-1], self._lag[-1][: self._i]])
        at = np.concatenate([*self._at[:-1], self._at[-1][: self._i]])
        return lag, at

    def p99_ms(self) -> float:
        return percentile(self._all()[0], 99) * 1000.0

    def worst_seconds(self, n: int = 5) -> list[list[float]]:
        """The ``n`` seconds with the latest starts: ``[[epoch second, max lag ms, p99 lag ms, arrivals], ...]``."""
        lag, at = self._all()
        if lag.size == 0:
            return []
        sec = np.floor(at).astype(np.int64)
        order = np.argsort(sec, kind="stable")
        sec, lag = sec[order], lag[order]
        bounds = np.flatnonzero(np.diff(sec)) + 1
        out = []
        for s_, part in zip(sec[np.r_[0, bounds]], np.split(lag, bounds), strict=True):
            out.append([float(s_), round(float(part.max()) * 1000, 1), round(percentile(part, 99) * 1000, 1),
                        float(part.size)])  # fmt: skip
        return sorted(out, key=lambda r: -r[1])[:n]


class Recorder:
    """Columnar sample store of one generator process."""

    def __init__(self, worker: int = 0, routes: Sequence[str] = ()) -> None:
        self.worker = worker
        self.routes = Labels(ROUTE_CAP)
        self.methods = Labels(_METHOD_CAP, other="OTHER")
        for r in routes:
            self.routes.code(r)
        self._chunks: list[_Chunk] = [_Chunk()]
        self._i = 0
        self.n = 0

    def add(
        self, intended: float, actual: float, latency: float, route: str, method: str, priority: int, status: int,
        degraded: bool, shed: bool, failed: bool,
    ) -> None:  # fmt: skip
        i = self._i
        if i == _CHUNK:
            self._chunks.append(_Chunk())
            i = 0
        c = self._chunks[-1]
        c.intended[i] = intended
        c.actual[i] = actual
        c.latency[i] = latency
        c.route[i] = self.routes.code(route)
        c.method[i] = self.methods.code(method)
        c.priority[i] = priority
        c.status[i] = status
        c.degraded[i] = degraded
        c.shed[i] = shed
        c.failed[i] = failed
        self._i = i + 1
        self.n += 1

    def column(self, name: str) -> npt.NDArray[Any]:
        parts = [getattr(c, name) for c in self._chunks[:-1]]
        parts.append(getattr(self._chunks[-1], name)[: self._i])
        return np.concatenate(parts)

    def table(self) -> pa.Table:
        """All rows as one Arrow table (tests, small runs); ``write`` streams chunk by chunk instead."""
        return pa.concat_tables([self._chunk_table(c, n) for c, n in self._filled()])

    def _filled(self) -> list[tuple[_Chunk, int]]:
        return [(c, _CHUNK) for c in self._chunks[:-1]] + [(self._chunks[-1], self._i)]

    def _chunk_table(self, c: _Chunk, n: int) -> pa.Table:
        intended, actual, latency = c.intended[:n], c.actual[:n], c.latency[:n]
        latency_co = ((actual - intended) + latency).astype(np.float32)

        def dict_col(codes: npt.NDArray[Any], labels: Sequence[str]) -> pa.DictionaryArray:
            return pa.DictionaryArray.from_arrays(pa.array(codes[:n], pa.uint8()), pa.array(list(labels), pa.string()))

        return pa.table({
            "intended_start": intended, "actual_start": actual, "latency_s": latency, "latency_co_s": latency_co,
            "route": dict_col(c.route, self.routes.names), "method": dict_col(c.method, self.methods.names),
            "priority": dict_col(c.priority, PRIORITIES), "status": pa.array(c.status[:n], pa.int16()),
            "degraded": c.degraded[:n], "shed": c.shed[:n], "failed": c.failed[:n],
            "worker": pa.array(np.full(n, self.worker, np.uint8), pa.uint8()),
        })  # fmt: skip

    def write(self, path: str | Path) -> None:
        """One Parquet row group per chunk, so writing never holds a second copy of the whole record."""
        writer = None
        for c, n in self._filled():
            t = self._chunk_table(c, n)
            if writer is None:
                writer = pq.ParquetWriter(str(path), t.schema, compression="zstd", use_dictionary=DICTIONARY_COLUMNS)
            writer.write_table(t)
        if writer is not None:
            writer.close()


def percentile(values: npt.NDArray[Any], q: float) -> float:
    """The q-th percentile, 0.0 for no samples (a run with no requests is judged elsewhere)."""
    if values.size == 0:
        return 0.0
    return float(np.percentile(values, q))
