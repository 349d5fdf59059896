"""Seed data is deterministic and Zipf-shaped."""

from __future__ import annotations

import random
from collections import Counter

from reference_services import seed


def test_same_ids_give_the_same_documents() -> None:
    assert seed.title_doc(42) == seed.title_doc(42)
    assert seed.recommendations_doc(7) == seed.recommendations_doc(7)
    assert seed.recommendations_doc(7) != seed.recommendations_doc(8)
    assert seed.user_row(3) == seed.user_row(3)


def test_title_popularity_is_zipf() -> None:
    rng = random.Random(1)
    counts = Counter(seed.zipf_title_id(rng) for _ in range(50_000))
    assert all(1 <= t <= seed.TITLES for t in counts)
    # Zipf with exponent 1: rank 1 is drawn about twice as often as rank 2 and ten times as often as rank 10.
    assert 1.6 < counts[1] / counts[2] < 2.5
    assert 7 < counts[1] / counts[10] < 14


def test_recommendation_rows_have_no_duplicates() -> None:
    for user in (1, 500, 99_999):
        for row in seed.recommendations_doc(user)["rows"]:
            ids = [t["id"] for t in row["titles"]]
            assert len(ids) == len(set(ids)) == 10
