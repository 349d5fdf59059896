"""Scenario files: the spike's phases and rates are data, not code.

A scenario names its locustfile (relative to the scenario file) and its profiles; a profile fixes the baseline
arrival rate, the peak multiplier and how long each phase lasts. Rates are **arrivals per second** summed over
every generator process: each arrival runs one task of the locustfile (a task that sends three requests
triples the request rate). Which task, and how often, is the locustfile's business (``@task`` weights).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tenfold.errors import UsageError
from tenfold.layout import PHASES
from tenfold.userfile import load_yaml

__all__ = ["PHASES", "HealthLimits", "Phase", "Profile", "Scenario", "Schedule", "load_scenario", "locustfile_of"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Durations(_Model):
    """Seconds of each phase; a phase left out lasts 0 s (a soak is all baseline)."""

    baseline: float = Field(default=0, ge=0)
    ramp: float = Field(default=0, ge=0)
    peak: float = Field(default=0, ge=0)
    cooldown: float = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _some(self) -> Durations:
        if self.baseline + self.ramp + self.peak + self.cooldown <= 0:
            raise ValueError("the phases last 0 s in all: give at least one a length, e.g. baseline: 60")
        return self


class Profile(_Model):
    baseline_rate: float = Field(gt=0)
    """Arrivals (task runs) per second in the baseline, summed over every generator process."""
    peak_multiplier: float = Field(default=10.0, ge=1)
    phases: Durations
    arrivals: Literal["poisson", "uniform"] = "poisson"
    max_in_flight: int = Field(default=512, ge=1, le=12_000)
    """Arrivals in flight per generator process (= its pool of user instances); beyond it arrivals wait for a
    free user, and the wait counts in their latency (coordinated omission shows). One process with a core to itself
    held 10,000 - 12,600 in flight at start lag p99 ≤ 20 ms (``python -m bench generator``: 2,000 - 2,500
    arrivals/s of 5 s answers); each holds a connection, so the open-file limit (``ulimit -n``) must be above it."""
    timeout_s: float = Field(default=10.0, gt=0)


class HealthLimits(_Model):
    cpu_threshold: float = Field(default=0.9, gt=0, le=1)
    cpu_seconds: float = Field(default=5.0, gt=0)
    lag_p99_ms: float = Field(default=50.0, gt=0)


class Scenario(_Model):
    description: str = ""
    locustfile: str | None = None
    """The locustfile, relative to the scenario file (``--locustfile`` overrides it)."""
    profiles: dict[str, Profile]
    health: HealthLimits = HealthLimits()


class Phase(_Model):
    name: str
    start: float
    """Seconds from the start of the run."""
    end: float
    rate_start: float
    rate_end: float
    partial: bool = False
    """Cut short by ``run_time`` (Locust's ``-t``): the schedule ends inside it."""


class Schedule:
    """Target request rate as a piecewise-linear function of time since the run started."""

    def __init__(self, profile: Profile, run_time: float | None = None) -> None:
        r0 = profile.baseline_rate
        r1 = r0 * profile.peak_multiplier
        d = profile.phases
        spans = [("baseline", d.baseline, r0, r0), ("ramp", d.ramp, r0, r1), ("peak", d.peak, r1, r1),
                 ("cooldown", d.cooldown, r0, r0)]  # fmt: skip
        self.phases: list[Phase] = []
        t = 0.0
        for name, length, a, b in spans:
            if length > 0:
                self.phases.append(Phase(name=name, start=t, end=t + length, rate_start=a, rate_end=b))
                t += length
        self.planned_duration = t
        if run_time is not None and run_time < t:  # Locust's -t: the schedule ends there, mid-phase
            kept = [p for p in self.phases if p.start < run_time]
            self.phases = [p if p.end <= run_time else p.model_copy(update={"end": run_time, "partial": True})
                           for p in kept]  # fmt: skip
            t = run_time
        self.duration = t
        self.baseline_rate = r0
        self.peak_rate = r1

    def rate_at(self, t: float) -> float:
        for p in self.phases:
            if t < p.end:
                frac = (t - p.start) / (p.end - p.start)
                return p.rate_start + (p.rate_end - p.rate_start) * frac
        return 0.0

    def expected_arrivals(self) -> float:
        return sum((p.end - p.start) * (p.rate_start + p.rate_end) / 2 for p in self.phases)


def load_scenario(path: str | Path, name: str) -> Scenario:
    """The named scenario from a YAML file; a bad file raises ConfigError naming the line and what to fix."""
    doc = load_yaml(path, "scenario")
    if not isinstance(doc.data, dict):
        raise doc.error((), "the top level must map scenario names to scenarios (see docs/scenarios.md)")
    if name not in doc.data:
        raise UsageError(f"{path}: no scenario named {name!r}; --scenario takes one of: {', '.join(doc.data)}")
    try:
        return Scenario.model_validate(doc.data[name])
    except ValidationError as e:
        raise doc.invalid(e, prefix=(name,)) from None


def locustfile_of(scenario: Scenario, scenario_file: str | Path) -> Path | None:
    """The scenario's ``locustfile:``, resolved against the scenario file's folder (None when it names none)."""
    if scenario.locustfile is None:
        return None
    path = Path(scenario.locustfile)
    return path if path.is_absolute() else Path(scenario_file).resolve().parent / path
