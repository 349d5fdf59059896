"""What an indicator is: one row of the registry (name, unit, function, docs, the rules its objectives follow)
and the measurement its function returns.

A measurement with ``value=None`` means the evidence is missing; evaluate turns it into "no data".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:  # type-only: the SLO file derives its indicators from the registry
    from reports.runfolder import RunFolder
    from reports.slo import Objective
    from reports.windows import Window

__all__ = ["Indicator", "Measure", "MeasureEach", "Measurement", "Unit", "no_data"]

Unit = Literal["s", "ratio", "count", "bool"]


@dataclass(frozen=True)
class Measurement:
    value: float | None
    evidence: str
    limit: float | None = None  # a symbolic target (hpa_max) resolved for this run


def no_data(why: str) -> Measurement:
    return Measurement(None, why)


Measure = Callable[["RunFolder", "Objective", "Window"], Measurement]
MeasureEach = Callable[["RunFolder", "Objective", "Window"], list[tuple[str, Measurement]]]


@dataclass(frozen=True)
class Indicator:
    """One indicator: everything the SLO file, evaluate and the docs know about it.

    ``unit`` decides which targets fit (``s``: a duration; ``ratio``: a share, at most 100%; ``count``; ``bool``:
    ``target: true``) and how values print. Exactly one of ``function`` (one measurement) and ``per_process`` (one
    per process, each its own verdict ``objective[process]``) is set. ``needs``: keys an objective must set, with an
    example; ``keys``: keys only this indicator takes; ``symbolic``: symbolic targets it accepts (``hpa_max``);
    ``chaos_only``: its window must be ``chaos:...``; ``needs_window``: no data when the run lacks the window (else it
    is measured over the whole run). ``measured``, ``parameters`` and ``evidence`` are its row in docs/reports.md.
    """

    name: str
    unit: Unit
    measured: str
    parameters: str
    evidence: str
    function: Measure | None = None
    per_process: MeasureEach | None = None
    needs: Mapping[str, str] = field(default_factory=dict)
    keys: tuple[str, ...] = ()
    symbolic: tuple[str, ...] = ()
    chaos_only: bool = False
    needs_window: bool = True

    def __post_init__(self) -> None:
        if (self.function is None) == (self.per_process is None):
            raise ValueError(f"indicator {self.name!r}: set exactly one of function and per_process")
