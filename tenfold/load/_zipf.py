"""Zipf title popularity, for running the locustfiles where ``reference_services`` is not importable.

Same algorithm and constants as ``reference_services.seed`` (the source of truth), so ids match.
:func:`zipf_rank` draws from any population (the load's active viewers).
"""

from __future__ import annotations

import bisect
import functools
import itertools
import random

__all__ = ["TITLES", "USERS", "zipf_rank", "zipf_title_id"]

TITLES = 10_000
USERS = 100_000


def zipf_title_id(rng: random.Random) -> int:
    return zipf_rank(rng, TITLES)


@functools.lru_cache(maxsize=8)
def _cumulative(n: int, s: float) -> list[float]:
    return list(itertools.accumulate(1.0 / i**s for i in range(1, n + 1)))


def zipf_rank(rng: random.Random, n: int, s: float = 1.0) -> int:
    """A rank in 1..n, rank k with weight 1/k^s (s=0: uniform)."""
    if s == 0:
        return rng.randint(1, n)
    cum = _cumulative(n, s)
    return min(n, bisect.bisect_left(cum, rng.random() * cum[-1]) + 1)
