"""reports/arrays.py: order statistics as np.partition has them, also when a large array is cut first."""

from __future__ import annotations

import math

import numpy as np
import pytest

from reports.arrays import order_statistics


def _partition(x: np.ndarray, lo: int, hi: int) -> tuple[float, float]:
    part = np.partition(x, (lo, hi))
    return float(part[lo]), float(part[hi])


def _same(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return all(u == v or (math.isnan(u) and math.isnan(v)) for u, v in zip(a, b, strict=True))


@pytest.mark.parametrize("kind", ["lognormal", "ties", "sorted", "reversed", "nan", "inf"])
@pytest.mark.parametrize("n", [1, 2, 1001, 100_001, 300_007])
def test_order_statistics_are_partitions(kind: str, n: int) -> None:
    rng = np.random.default_rng(n)
    x = {
        "lognormal": lambda: rng.lognormal(size=n),
        "ties": lambda: rng.integers(0, 5, n).astype(np.float64),
        "sorted": lambda: np.sort(rng.random(n)),
        "reversed": lambda: np.sort(rng.random(n))[::-1].copy(),
        "nan": lambda: np.where(rng.random(n) < 0.05, np.nan, rng.random(n)),
        "inf": lambda: np.where(rng.random(n) < 0.02, np.inf, np.where(rng.random(n) < 0.02, -np.inf, rng.random(n))),
    }[kind]()
    before = x.copy()
    for q in (0, 1, 50, 95, 99, 99.9, 100):
        pos = (n - 1) * q / 100.0
        lo = math.floor(pos)
        hi = min(lo + 1, n - 1)
        assert _same(order_statistics(x, lo, hi), _partition(x, lo, hi)), (kind, n, q)
    assert np.array_equal(x, before, equal_nan=True)  # the input is left as it was


def test_a_sample_that_misses_falls_back_to_the_whole_array() -> None:
    # every 4096th value is the largest: the strided sample sees only those, so its cut is too high for rank lo
    n = 409_600
    x = np.random.default_rng(1).random(n)
    x[:: n // 4096] = 2.0
    lo = int(0.9 * (n - 1))
    assert order_statistics(x, lo, lo + 1) == _partition(x, lo, lo + 1)
