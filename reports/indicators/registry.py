"""The indicator registry: one table of every indicator, from which the SLO file takes its indicators' names, units
and rules, evaluate its units, and docs/reports.md its indicators table.

Each row sits beside its function in the family's module (``requests``, ``scaling``, ``processes``); a new indicator
is a function and its ``Indicator(...)`` row in one of them (docs/reports.md, "Adding an indicator").
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from reports.indicators.indicator import Indicator, Measurement, no_data
from reports.indicators.processes import TABLE as PROCESSES
from reports.indicators.requests import TABLE as REQUESTS
from reports.indicators.scaling import TABLE as SCALING

if TYPE_CHECKING:  # type-only: the SLO file derives its indicators from this table
    from reports.runfolder import RunFolder
    from reports.slo import Objective
    from reports.windows import Window

__all__ = ["REGISTRY", "docs_table", "exclusive_keys", "measure", "measure_each", "names", "register", "row"]

REGISTRY: dict[str, Indicator] = {}
"""Every indicator by name, in the order of the docs' table."""


def register(indicator: Indicator) -> Indicator:
    """Add a row (a name may appear once); the SLO file accepts it from then on."""
    if indicator.name in REGISTRY:
        raise ValueError(f"indicator {indicator.name!r} is registered twice")
    REGISTRY[indicator.name] = indicator
    return indicator


for _row in (*REQUESTS, *SCALING, *PROCESSES):
    register(_row)


def names() -> tuple[str, ...]:
    return tuple(REGISTRY)


def row(name: str) -> Indicator:
    """The row of a registered indicator (the SLO file has already refused unknown names)."""
    return REGISTRY[name]


def exclusive_keys() -> dict[str, str]:
    """Objective keys that belong to one indicator → that indicator (``percentile`` → ``latency``)."""
    return {key: r.name for r in REGISTRY.values() for key in r.keys}


def measure_each(run: RunFolder, o: Objective, w: Window) -> list[tuple[str, Measurement]]:
    """``[(subject, measurement)]``: one with subject ``""`` for most indicators, one per process for some."""
    r = row(o.indicator)
    if r.per_process is None:
        return [("", measure(run, o, w))]
    if not w.known and r.needs_window:
        return [("", no_data(f"the run has no window {w.name!r}"))]
    return r.per_process(run, o, w)


def measure(run: RunFolder, o: Objective, w: Window) -> Measurement:
    """The one measurement of an indicator that gives one (not per process)."""
    r = row(o.indicator)
    if not w.known and r.needs_window:
        return no_data(f"the run has no window {w.name!r}")
    if r.function is None:
        raise ValueError(f"indicator {o.indicator!r} gives one measurement per process: use measure_each")
    return r.function(run, o, w)


def docs_table() -> str:
    """docs/reports.md's indicators table (tests/reports/test_registry.py keeps the page equal to it)."""
    lines = ["| indicator | unit | measured | parameters | evidence used |", "|---|---|---|---|---|"]
    for r in REGISTRY.values():
        lines.append(f"| `{r.name}` | {r.unit} | {r.measured} | {r.parameters} | {r.evidence} |")
    return "\n".join(lines) + "\n"
