"""How far a verdict is from its target: so a user sees flakiness coming before it fails.

The margin is relative to what the target allows: for ``<= 250ms`` it is (250 - measured) / 250; for a ratio held
from below near 1 (``availability >= 99%``) it is relative to the error budget, (measured - 0.99) / (1 - 0.99), since
99.5% of 99% would otherwise always look "near". Positive: inside the target; negative: outside. None where a
distance means nothing (yes/no targets, ``== 0`` counts, no data). A pass less than ``NEAR_LINE`` inside is *near
the line*.
"""

from __future__ import annotations

import math

__all__ = ["NEAR_LINE", "margin", "margin_text"]

NEAR_LINE = 0.10


def margin(measured: float | None, op: str, target: float | None, unit: str) -> float | None:
    """The relative distance of ``measured`` inside (+) or outside (-) ``op target``."""
    if measured is None or target is None or unit == "bool" or op == "==" or math.isinf(target):
        return None
    if op in ("<=", "<"):
        if target <= 0:
            return None
        if math.isinf(measured):
            return -math.inf
        return (target - measured) / target
    if unit == "ratio" and 0 < target < 1:  # held from below near 1: relative to the budget 1 - target
        return (measured - target) / (1 - target)
    if target <= 0:
        return None
    return (measured - target) / target


def margin_text(m: float | None, op: str) -> str:
    """``"9% under"``, ``"4% over"`` (targets held from above), ``"50% above"``, ``"12% below"`` (from below)."""
    if m is None:
        return ""
    if math.isinf(m):
        return "never" if m < 0 else ""
    size = f"{abs(m):.0%}" if abs(m) >= 0.01 or m == 0 else "<1%"
    if op in ("<=", "<"):
        return f"{size} {'under' if m >= 0 else 'over'}"
    return f"{size} {'above' if m >= 0 else 'below'}"
