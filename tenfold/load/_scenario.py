"""Scenario files (``locustfiles/scenarios.yaml``): the spike's phases and rates are data, not code.

A scenario names journey weights and profiles; a profile fixes the baseline rate, the peak multiplier and
how long each phase lasts. Rates are requests per second summed over every generator process.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tenfold.errors import UsageError
from tenfold.userfile import load_yaml

__all__ = ["PHASES", "HealthLimits", "Phase", "Profile", "Scenario", "Schedule", "Viewers", "load_scenario"]

PHASES = ("baseline", "ramp", "peak", "cooldown")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Durations(_Model):
    baseline: float = Field(ge=0)
    ramp: float = Field(ge=0)
    peak: float = Field(ge=0)
    cooldown: float = Field(ge=0)


class Profile(_Model):
    baseline_rps: float = Field(gt=0)
    peak_multiplier: float = Field(default=10.0, ge=1)
    phases: Durations
    arrivals: Literal["poisson", "uniform"] = "poisson"
    max_in_flight: int = Field(default=512, ge=1, le=4000)
    """Requests in flight per generator process; beyond it arrivals wait (coordinated omission shows)."""
    timeout_s: float = Field(default=10.0, gt=0)


class HealthLimits(_Model):
    cpu_threshold: float = Field(default=0.9, gt=0, le=1)
    cpu_seconds: float = Field(default=5.0, gt=0)
    lag_p99_ms: float = Field(default=50.0, gt=0)


class Playback(_Model):
    heartbeat_interval_s: float = Field(default=2.0, gt=0)
    heartbeats: int = Field(default=3, ge=0)


class Viewers(_Model):
    """Who watches during a run: ``active`` viewers (capped at the seeded users), picked Zipf by rank.

    A client logs in once and then sends many requests, so a journey's viewer is drawn from this set and
    reuses its held token; most journeys go to the few viewers who watch a lot (``zipf_s`` 0: uniform).
    """

    active: int = Field(default=5000, ge=1)
    zipf_s: float = Field(default=1.0, ge=0, le=3)


class Scenario(_Model):
    description: str = ""
    journeys: dict[str, float]
    profiles: dict[str, Profile]
    playback: Playback = Playback()
    viewers: Viewers = Viewers()
    health: HealthLimits = HealthLimits()
    static_path: str = "/"


class Phase(_Model):
    name: str
    start: float
    """Seconds from the start of the run."""
    end: float
    rate_start: float
    rate_end: float


class Schedule:
    """Target request rate as a piecewise-linear function of time since the run started."""

    def __init__(self, profile: Profile) -> None:
        r0 = profile.baseline_rps
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
        self.duration = t
        self.baseline_rps = r0
        self.peak_rps = r1

    def rate_at(self, t: float) -> float:
        for p in self.phases:
            if t < p.end:
                frac = (t - p.start) / (p.end - p.start)
                return p.rate_start + (p.rate_end - p.rate_start) * frac
        return 0.0

    def expected_requests(self) -> float:
        return sum((p.end - p.start) * (p.rate_start + p.rate_end) / 2 for p in self.phases)


def load_scenario(path: str | Path, name: str) -> Scenario:
    """The named scenario from a YAML file; a bad file raises ConfigError naming the line and what to fix."""
    doc = load_yaml(path, "scenario")
    if not isinstance(doc.data, dict):
        raise doc.error((), "the top level must map scenario names to scenarios (see locustfiles/scenarios.yaml)")
    if name not in doc.data:
        raise UsageError(f"{path}: no scenario named {name!r}; --scenario takes one of: {', '.join(doc.data)}")
    try:
        return Scenario.model_validate(doc.data[name])
    except ValidationError as e:
        raise doc.invalid(e, prefix=(name,)) from None
