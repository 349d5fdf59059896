"""Array types shared by the run-folder readers (a module of its own so the readers import it, not each other), and
the order statistics the latency indicators take from them."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

__all__ = ["F64", "order_statistics"]

F64 = npt.NDArray[np.float64]
"""A column of float64 values (epoch seconds, latencies, rates)."""

_CUT_ABOVE = 100_000  # values; below this one partition of all of them is cheaper than the cut
_SAMPLE = 4096  # values the cut is chosen from


def order_statistics(values: F64, lo: int, hi: int) -> tuple[float, float]:
    """The ``lo``-th and ``hi``-th smallest of ``values`` (0-based, ``lo <= hi``): ``np.partition(values, (lo, hi))``'s.

    A large array is first cut at a value a strided sample puts a little below rank ``lo``; when no more than ``lo``
    values lie under the cut (checked, else the whole array is partitioned), only the values from the cut up are:
    the same two values, exactly, and a p99 of 1M values costs a comparison pass instead of a full partition (NaN,
    which partitions last, stays in the part above the cut).
    """
    n = values.size
    if n > _CUT_ABOVE and lo > 0:
        sample = values[:: n // _SAMPLE]
        p = lo / n
        k = math.floor(sample.size * p - 4 * math.sqrt(sample.size * p * (1 - p))) - 1  # ~4 sd below rank lo
        if k >= 0:
            cut = np.partition(sample, k)[k]
            under = values < cut
            below = int(np.count_nonzero(under))
            if below <= lo:
                values = values[~under]
                lo, hi = lo - below, hi - below
    part = np.partition(values, (lo, hi))
    return float(part[lo]), float(part[hi])
