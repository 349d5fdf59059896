"""The Kubernetes HorizontalPodAutoscaler algorithm (autoscaling/v2), as a pure function of its inputs.

No I/O and no clock: the caller passes ``now`` and the metric samples, so the rules can be tested one by one
against the HPA documentation and the local controller scales exactly as a cluster would. Followed here:

- per metric ``desired = ceil(ready * metric / target)``; no change while
  ``1 - scaleDown tolerance <= metric/target <= 1 + scaleUp tolerance``: each direction's ``behavior`` may set its
  own ``tolerance`` (Kubernetes 1.33+, feature gate HPAConfigurableTolerance); unset, both are the cluster's 0.1
- pods that are not ready, and pods without a sample, are set aside; when the ratio says "up", they count as 0
  utilization, when it says "down" pods without a sample count as the target (100%); if that flips the
  direction or lands inside the tolerance, no change
- several metrics: the largest proposal wins
- stabilization: the recommendation becomes the max of the recommendations inside the scale-down window and
  the min of those inside the scale-up window (so a dip must last the whole window to scale in)
- policies (``Pods`` / ``Percent`` per ``periodSeconds``), ``selectPolicy`` Max / Min / Disabled, measured from
  the replica count at the start of each period (scale events inside the period are remembered)
- ``minReplicas`` / ``maxReplicas`` bound the result

Defaults are Kubernetes': scale-up window 0 s, policies 100 % or 4 pods per 15 s (Max); scale-down window
300 s, policy 100 % per 15 s.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "DEFAULT_SCALE_DOWN",
    "DEFAULT_SCALE_UP",
    "TOLERANCE",
    "Autoscaler",
    "Decision",
    "HpaSpec",
    "MetricSample",
    "MetricTarget",
    "PodSample",
    "Policy",
    "ScalingRules",
    "proposal_for_metric",
]

TOLERANCE = 0.1

PolicyType = Literal["Pods", "Percent"]
SelectPolicy = Literal["Max", "Min", "Disabled"]


@dataclass(frozen=True)
class Policy:
    type: PolicyType
    value: int
    period_seconds: int


@dataclass(frozen=True)
class ScalingRules:
    stabilization_window_seconds: int
    policies: tuple[Policy, ...]
    select_policy: SelectPolicy = "Max"
    tolerance: float | None = None  # ``behavior.scaleUp/scaleDown.tolerance``; None: the HPA's (cluster) default


DEFAULT_SCALE_UP = ScalingRules(0, (Policy("Percent", 100, 15), Policy("Pods", 4, 15)), "Max")
DEFAULT_SCALE_DOWN = ScalingRules(300, (Policy("Percent", 100, 15),), "Max")


@dataclass(frozen=True)
class MetricTarget:
    """One entry of ``spec.metrics``: ``name`` is ``cpu`` (utilization, a fraction: 0.7) or a Pods metric."""

    name: str
    target: float


@dataclass(frozen=True)
class HpaSpec:
    min_replicas: int
    max_replicas: int
    metrics: tuple[MetricTarget, ...]
    scale_up: ScalingRules = DEFAULT_SCALE_UP
    scale_down: ScalingRules = DEFAULT_SCALE_DOWN
    tolerance: float = TOLERANCE  # the cluster-wide default (kube-controller-manager's), per direction unless set

    def tolerances(self) -> tuple[float, float]:
        """(scale-up, scale-down) tolerance: each direction's own, else the default."""
        up, down = self.scale_up.tolerance, self.scale_down.tolerance
        return (self.tolerance if up is None else up, self.tolerance if down is None else down)


@dataclass(frozen=True)
class PodSample:
    """One pod's value of one metric; ``value`` None means the pod reported no sample."""

    ready: bool
    value: float | None


@dataclass(frozen=True)
class MetricSample:
    name: str
    pods: tuple[PodSample, ...]


@dataclass(frozen=True)
class Decision:
    current: int
    desired: int
    recommendation: int
    proposals: dict[str, int]
    reason: str


def _within(ratio: float, up: float, down: float) -> bool:
    return 1.0 - down <= ratio <= 1.0 + up


def proposal_for_metric(
    current: int,
    pods: tuple[PodSample, ...],
    target: float,
    tolerance: float = TOLERANCE,
    down_tolerance: float | None = None,
) -> int:
    """The replica count one metric asks for (Kubernetes' ``calcPlainMetricReplicas``).

    ``tolerance`` holds going up, and going down too unless ``down_tolerance`` is given.
    """
    up_tol, down_tol = tolerance, tolerance if down_tolerance is None else down_tolerance
    ready = [p.value for p in pods if p.ready and p.value is not None]
    missing = sum(1 for p in pods if p.ready and p.value is None)
    unready = sum(1 for p in pods if not p.ready)
    if not ready or target <= 0:
        return current
    ratio = (sum(ready) / len(ready)) / target
    up_with_unready = unready > 0 and ratio > 1.0
    if not up_with_unready and not missing:
        if _within(ratio, up_tol, down_tol):
            return current
        return math.ceil(ratio * len(ready))
    # Set-aside pods: missing ones count as on target going down and idle going up; unready ones as idle
    # going up (and are ignored going down).
    values = list(ready)
    values += [target if ratio < 1.0 else 0.0] * missing
    if up_with_unready:
        values += [0.0] * unready
    new_ratio = (sum(values) / len(values)) / target
    if _within(new_ratio, up_tol, down_tol) or (ratio < 1.0 < new_ratio) or (ratio > 1.0 > new_ratio):
        return current
    new = math.ceil(new_ratio * len(values))
    if (new_ratio < 1.0 and new > current) or (new_ratio > 1.0 and new < current):
        return current
    return new


@dataclass
class _Event:
    at: float
    change: int


@dataclass
class Autoscaler:
    """One HPA: remembers its recommendations and scale events, decides on each ``step``."""

    spec: HpaSpec
    _recommendations: deque[tuple[float, int]] = field(default_factory=deque)
    _up_events: list[_Event] = field(default_factory=list)
    _down_events: list[_Event] = field(default_factory=list)

    def step(self, now: float, current: int, samples: list[MetricSample]) -> Decision:
        """The replica count to run now; records the decision as a scale event when it changes the count."""
        spec = self.spec
        targets = {m.name: m.target for m in spec.metrics}
        up_tol, down_tol = spec.tolerances()
        proposals: dict[str, int] = {}
        for sample in samples:
            if sample.name in targets:
                target = targets[sample.name]
                proposals[sample.name] = proposal_for_metric(current, sample.pods, target, up_tol, down_tol)
        if current == 0:
            raw, reason = current, "scaling is disabled at 0 replicas"
        elif not proposals:
            raw, reason = current, "no metrics"
        else:
            name = max(proposals, key=lambda n: proposals[n])
            raw, reason = proposals[name], f"metric {name}"
        raw = min(max(raw, spec.min_replicas), spec.max_replicas) if current else 0
        recommendation = self._stabilize(now, current, raw)
        desired = self._limit_rate(now, current, recommendation)
        if desired != current:
            events = self._up_events if desired > current else self._down_events
            events.append(_Event(now, abs(desired - current)))
        if desired != recommendation:
            reason += f"; limited by policy to {desired}"
        elif recommendation != raw:
            reason += f"; stabilized from {raw}"
        return Decision(current, desired, recommendation, proposals, reason)

    def record_external(self, now: float, before: int, after: int) -> None:
        """A change made outside the HPA (manual scale) counts against the rate policies too."""
        if after > before:
            self._up_events.append(_Event(now, after - before))
        elif after < before:
            self._down_events.append(_Event(now, before - after))

    def _stabilize(self, now: float, current: int, raw: int) -> int:
        up_cut = now - self.spec.scale_up.stabilization_window_seconds
        down_cut = now - self.spec.scale_down.stabilization_window_seconds
        up_rec = down_rec = raw
        for at, rec in self._recommendations:
            if at > up_cut:
                up_rec = min(up_rec, rec)
            if at > down_cut:
                down_rec = max(down_rec, rec)
        self._recommendations.append((now, raw))
        horizon = now - max(self.spec.scale_up.stabilization_window_seconds,
                            self.spec.scale_down.stabilization_window_seconds)  # fmt: skip
        while self._recommendations and self._recommendations[0][0] <= horizon:
            self._recommendations.popleft()
        recommendation = max(current, up_rec)
        return min(recommendation, down_rec)

    def _limit_rate(self, now: float, current: int, desired: int) -> int:
        spec = self.spec
        if desired > current:
            limit = _up_limit(now, current, self._up_events, self._down_events, spec.scale_up)
            return min(desired, max(limit, current), spec.max_replicas)
        if desired < current:
            limit = _down_limit(now, current, self._up_events, self._down_events, spec.scale_down)
            return max(desired, min(limit, current), spec.min_replicas)
        return desired


def _changed_within(now: float, period: int, events: list[_Event]) -> int:
    return sum(e.change for e in events if e.at > now - period)


def _up_limit(now: float, current: int, up: list[_Event], down: list[_Event], rules: ScalingRules) -> int:
    if rules.select_policy == "Disabled" or not rules.policies:
        return current
    pick = max if rules.select_policy == "Max" else min
    limits = []
    for p in rules.policies:
        start = current - _changed_within(now, p.period_seconds, up) + _changed_within(now, p.period_seconds, down)
        if p.type == "Pods":
            limits.append(start + p.value)
        else:
            limits.append(math.ceil(start * (1 + p.value / 100)))
    return pick(limits)


def _down_limit(now: float, current: int, up: list[_Event], down: list[_Event], rules: ScalingRules) -> int:
    if rules.select_policy == "Disabled" or not rules.policies:
        return current
    # The largest change down is the smallest count: "Max" policy picks the minimum limit.
    pick = min if rules.select_policy == "Max" else max
    limits = []
    for p in rules.policies:
        start = current + _changed_within(now, p.period_seconds, down) - _changed_within(now, p.period_seconds, up)
        if p.type == "Pods":
            limits.append(start - p.value)
        else:
            limits.append(int(start * (1 - p.value / 100)))
    return pick(limits)
