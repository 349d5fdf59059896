"""Zipf title popularity, for running the locustfiles where ``reference_services`` is not importable.

Same algorithm and constants as ``reference_services.seed`` (the source of truth), so ids match.
"""

from __future__ import annotations

import bisect
import itertools
import random

__all__ = ["TITLES", "USERS", "zipf_title_id"]

TITLES = 10_000
USERS = 100_000
_CUM = list(itertools.accumulate(1.0 / i for i in range(1, TITLES + 1)))


def zipf_title_id(rng: random.Random) -> int:
    return bisect.bisect_left(_CUM, rng.random() * _CUM[-1]) + 1
