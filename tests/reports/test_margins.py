"""How far each verdict is from its target, and which passes are near the line."""

from __future__ import annotations

import math

import pytest

from reports.evaluate import Verdict
from reports.margins import margin, margin_text


@pytest.mark.parametrize(
    ("measured", "op", "target", "unit", "expected", "text"),
    [
        (0.260, "<=", 0.250, "s", -0.04, "4% over"),
        (0.2125, "<=", 0.250, "s", 0.15, "15% under"),
        (0.250, "<=", 0.250, "s", 0.0, "0% under"),  # on the line: a pass, with no room left
        (0.995, ">=", 0.99, "ratio", 0.5, "50% above"),  # half the 1% error budget left
        (0.985, ">=", 0.99, "ratio", -0.5, "50% below"),
        (0.0, "<=", 0.01, "ratio", 1.0, "100% under"),
        (12.0, ">=", 10.0, "count", 0.2, "20% above"),
        (math.inf, "<=", 30.0, "s", -math.inf, "never"),
        (0.0, "==", 0.0, "count", None, ""),  # a count that must be 0: no distance to speak of
        (1.0, "==", 1.0, "bool", None, ""),
        (None, "<=", 0.25, "s", None, ""),
    ],
)
def test_the_margin_is_relative_to_what_the_target_allows(
    measured: float | None, op: str, target: float, unit: str, expected: float | None, text: str
) -> None:
    got = margin(measured, op, target, unit)
    assert got == (pytest.approx(expected) if expected is not None and math.isfinite(expected) else expected)
    assert margin_text(got, op) == text


def _verdict(status: str, m: float | None) -> Verdict:
    return Verdict(objective="o", description="", indicator="latency", window="peak", start=0.0, end=1.0,
                   measured=0.2, measured_text="200 ms", target="<= 250ms", unit="s", status=status,  # type: ignore[arg-type]
                   evidence="", margin=m)  # fmt: skip


@pytest.mark.parametrize(
    ("status", "m", "near"),
    [("pass", 0.09, True), ("pass", 0.10, False), ("pass", 0.0, True), ("fail", -0.04, False),
     ("pass", None, False), ("no-data", None, False)],
)  # fmt: skip
def test_a_pass_less_than_10_percent_inside_is_near_the_line(status: str, m: float | None, near: bool) -> None:
    v = _verdict(status, m)
    assert v.near_line is near and v.to_dict()["near_line"] is near
