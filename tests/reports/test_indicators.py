"""Indicator arithmetic on small hand-made inputs."""

from __future__ import annotations

import numpy as np

from reports.indicators import rolling_error_ratio


def test_rolling_error_ratio_windows() -> None:
    times = np.array([0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5])
    errors = np.array([False, True, True, False, False, False, False])
    t, ratio, total = rolling_error_ratio(times, errors, 0.0, 7.0, width=2.0)
    assert list(t) == [1, 2, 3, 4, 5, 6, 7]
    assert list(total) == [1, 2, 2, 2, 2, 2, 2]
    assert list(ratio) == [0.0, 0.5, 1.0, 0.5, 0.0, 0.0, 0.0]


def test_percentile_matches_numpy() -> None:
    from reports.indicators import _percentile

    rng = np.random.default_rng(7)
    for n in (1, 2, 3, 10, 1001):
        x = rng.lognormal(size=n)
        for q in (50, 95, 99, 99.9):
            assert np.isclose(_percentile(x, q), np.percentile(x, q)), (n, q)
