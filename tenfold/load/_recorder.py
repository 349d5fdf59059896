"""One row per request into preallocated numpy chunks, written as a dictionary-encoded Parquet file.

Recording must cost less than the request it records: no per-request dict or object, six array stores.
Chunks are fixed-size so 1M samples take ~30 MB and growing never copies what is already recorded.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as _pq_typed

pq: Any = _pq_typed  # pyarrow.parquet is only partly annotated

__all__ = ["METHODS", "PRIORITIES", "Recorder", "percentile"]

METHODS = ("GET", "POST", "DELETE", "PUT")
PRIORITIES = ("critical", "degraded", "best-effort")
_CHUNK = 65_536
DICTIONARY_COLUMNS = ["route", "method", "priority"]
"""Only these are dictionary-encoded in Parquet: trying it on float columns costs ~30 MB per writer."""


class _Chunk:
    __slots__ = ("actual", "degraded", "intended", "lag", "latency", "method", "priority", "route", "shed", "status")

    def __init__(self) -> None:
        self.intended = np.empty(_CHUNK, np.float64)
        self.actual = np.empty(_CHUNK, np.float64)
        self.latency = np.empty(_CHUNK, np.float32)
        self.lag = np.empty(_CHUNK, np.float32)
        self.route = np.empty(_CHUNK, np.uint8)
        self.method = np.empty(_CHUNK, np.uint8)
        self.priority = np.empty(_CHUNK, np.uint8)
        self.status = np.empty(_CHUNK, np.int16)
        self.degraded = np.empty(_CHUNK, np.bool_)
        self.shed = np.empty(_CHUNK, np.bool_)


class Recorder:
    """Columnar sample store of one generator process.

    ``lag`` is the scheduler's own lateness (actual start minus the moment the request could have
    started); it judges the generator, so it stays in memory and is not written.
    """

    def __init__(self, routes: Sequence[str], worker: int = 0) -> None:
        self.routes = list(routes)
        self.worker = worker
        self._chunks: list[_Chunk] = [_Chunk()]
        self._i = 0
        self.n = 0

    def add(
        self, intended: float, actual: float, latency: float, lag: float, route: int, method: int, priority: int,
        status: int, degraded: bool, shed: bool,
    ) -> None:  # fmt: skip
        i = self._i
        if i == _CHUNK:
            self._chunks.append(_Chunk())
            i = 0
        c = self._chunks[-1]
        c.intended[i] = intended
        c.actual[i] = actual
        c.latency[i] = latency
        c.lag[i] = lag
        c.route[i] = route
        c.method[i] = method
        c.priority[i] = priority
        c.status[i] = status
        c.degraded[i] = degraded
        c.shed[i] = shed
        self._i = i + 1
        self.n += 1

    def column(self, name: str) -> npt.NDArray[Any]:
        parts = [getattr(c, name) for c in self._chunks[:-1]]
        parts.append(getattr(self._chunks[-1], name)[: self._i])
        return np.concatenate(parts)

    def lag_p99_ms(self) -> float:
        return percentile(self.column("lag"), 99) * 1000.0

    def table(self) -> pa.Table:
        """All rows as one Arrow table (tests, small runs); ``write`` streams chunk by chunk instead."""
        return pa.concat_tables([self._chunk_table(c, n) for c, n in self._filled()])

    def _filled(self) -> list[tuple[_Chunk, int]]:
        return [(c, _CHUNK) for c in self._chunks[:-1]] + [(self._chunks[-1], self._i)]

    def _chunk_table(self, c: _Chunk, n: int) -> pa.Table:
        intended, actual, latency = c.intended[:n], c.actual[:n], c.latency[:n]
        latency_co = ((actual - intended) + latency).astype(np.float32)

        def dict_col(codes: npt.NDArray[Any], labels: Sequence[str]) -> pa.DictionaryArray:
            return pa.DictionaryArray.from_arrays(pa.array(codes[:n], pa.uint8()), pa.array(list(labels)))

        return pa.table({
            "intended_start": intended, "actual_start": actual, "latency_s": latency, "latency_co_s": latency_co,
            "route": dict_col(c.route, self.routes), "method": dict_col(c.method, METHODS),
            "priority": dict_col(c.priority, PRIORITIES), "status": pa.array(c.status[:n], pa.int16()),
            "degraded": c.degraded[:n], "shed": c.shed[:n],
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
