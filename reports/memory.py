"""Memory growth per process from ``memory.jsonl`` (the soak profile's RSS samples), pure numpy.

Growth compares a process's RSS at the end of a window with its RSS just after a warm-up: the median of
the first samples after the warm-up against the median of the last samples, so one noisy sample (a GC
cycle, a burst of buffers) moves neither. Caches and pools fill during the warm-up; what still grows after
it is what a long run would run out of.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from reports.arrays import F64

__all__ = ["Growth", "MemorySeries", "growth", "read_memory"]

_MIN_SAMPLES = 6  # after the warm-up: fewer and the two medians would share samples


@dataclass(frozen=True)
class MemorySeries:
    """One process's RSS samples; a restarted replica is another process (another pid)."""

    name: str
    kind: str
    service: str | None
    pid: int
    ts: F64
    rss: F64  # bytes


@dataclass(frozen=True)
class Growth:
    ratio: float  # end / after-warm-up - 1
    start_bytes: float
    end_bytes: float
    samples: int  # each median's sample count
    warm_from: float  # epoch s

    def text(self) -> str:
        mb = 1024 * 1024
        return (f"{self.start_bytes / mb:.1f} MiB after warm-up → {self.end_bytes / mb:.1f} MiB at end "
                f"(medians of {self.samples} samples)")  # fmt: skip


def read_memory(path: Path) -> list[MemorySeries]:
    """The series of ``memory.jsonl``, named uniquely (``catalog-0``, or ``catalog-0 (pid 123)`` after a restart)."""
    if not path.is_file():
        return []
    rows: dict[tuple[str, int], list[tuple[float, float]]] = {}
    meta: dict[tuple[str, int], tuple[str, str | None]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        r = json.loads(line)
        key = (str(r["process"]), int(r["pid"]))
        rows.setdefault(key, []).append((float(r["t"]), float(r["rss_bytes"])))
        meta[key] = (str(r.get("kind", "")), r.get("service"))
    names: dict[str, int] = {}
    for name, _ in rows:
        names[name] = names.get(name, 0) + 1
    out = []
    for (name, pid), samples in sorted(rows.items(), key=lambda kv: (kv[0][0], kv[1][0][0])):
        arr = np.array(sorted(samples), dtype=np.float64)
        shown = name if names[name] == 1 else f"{name} (pid {pid})"
        kind, service = meta[(name, pid)]
        out.append(MemorySeries(shown, kind, service, pid, arr[:, 0], arr[:, 1]))
    return out


def growth(ts: F64, rss: F64, start: float, end: float, warmup: float = 0.1) -> Growth | None:
    """Growth over ``[start, end]`` after ``warmup`` (a fraction of the window) from the process's first sample.

    None when too few samples remain after the warm-up to judge (a process that lived only briefly).
    """
    inside = (ts >= start) & (ts <= end)
    t, v = ts[inside], rss[inside]
    if t.size == 0:
        return None
    warm_from = float(t[0]) + warmup * (end - start)
    after = v[t >= warm_from]
    if after.size < _MIN_SAMPLES:
        return None
    k = max(3, math.ceil(after.size * 0.1))
    k = min(k, after.size // 2)
    first, last = float(np.median(after[:k])), float(np.median(after[-k:]))
    if first <= 0:
        return None
    return Growth(last / first - 1.0, first, last, k, warm_from)
