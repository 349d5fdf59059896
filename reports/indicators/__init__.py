"""The indicators: one function per indicator, (run folder, objective, window) → a measurement with its evidence,
and the registry that lists them (name, unit, rules, docs).

Families: ``requests`` (request rows), ``scaling`` (replica and CPU series), ``processes`` (writes, memory,
crashes). Nothing here decides pass or fail (evaluate does) and nothing reads a live system.
"""

from __future__ import annotations

from reports.indicators.indicator import Indicator, Measurement, Unit, no_data
from reports.indicators.registry import REGISTRY, measure, measure_each
from reports.indicators.requests import rolling_error_ratio

__all__ = [
    "REGISTRY",
    "Indicator",
    "Measurement",
    "Unit",
    "measure",
    "measure_each",
    "no_data",
    "rolling_error_ratio",
]
