"""The HPA algorithm, rule by rule, from the Kubernetes documentation ("Horizontal Pod Autoscaling",
"Algorithm details" and "Configurable scaling behavior")."""

from __future__ import annotations

import pytest

from tenfold.stack.autoscaler import (
    DEFAULT_SCALE_DOWN,
    DEFAULT_SCALE_UP,
    Autoscaler,
    HpaSpec,
    MetricSample,
    MetricTarget,
    PodSample,
    Policy,
    ScalingRules,
    proposal_for_metric,
)


def pods(*values: float | None, unready: int = 0) -> tuple[PodSample, ...]:
    return tuple(PodSample(True, v) for v in values) + tuple(PodSample(False, None) for _ in range(unready))


@pytest.mark.parametrize(
    ("case", "current", "samples", "target", "expected"),
    [
        # desiredReplicas = ceil[currentReplicas * (currentMetricValue / desiredMetricValue)]
        ("doc: 200m vs 100m doubles", 2, pods(2.0, 2.0), 1.0, 4),
        ("doc: 50m vs 100m halves", 4, pods(0.5, 0.5, 0.5, 0.5), 1.0, 2),
        ("tolerance: 7% over target is no change", 4, pods(0.75, 0.75, 0.75, 0.75), 0.7, 4),
        ("tolerance: exactly 10% under is no change", 4, pods(0.63, 0.63, 0.63, 0.63), 0.7, 4),
        ("just outside tolerance scales", 4, pods(0.9, 0.9, 0.9, 0.9), 0.7, 6),
        ("seed rule: sustained 30% of a 70% target scales in", 4, pods(0.3, 0.3, 0.3, 0.3), 0.7, 2),
        ("seed rule: above 70% scales out", 2, pods(0.95, 0.95), 0.7, 3),
        # not-ready pods: assumed 0% on the way up ...
        ("unready pods count as idle going up", 4, pods(1.0, 1.0, 1.0, unready=1), 0.5, 6),
        # ... and are ignored going down
        ("unready pods are ignored going down", 4, pods(0.2, 0.2, unready=2), 0.7, 1),
        # pods without metrics: 100% of target going down, 0% going up
        ("missing metrics count as target going down", 4, pods(0.35, 0.35, 0.35, None), 0.7, 3),
        ("missing metrics count as idle going up", 4, pods(1.05, 1.05, 1.05, None), 0.7, 5),
        ("missing metrics that flip the direction: no change", 4, pods(0.8, None, None, None), 0.7, 4),
        ("no ready pod with a metric: no change", 3, pods(None, unready=2), 0.7, 3),
    ],
)
def test_proposal_for_metric(
    case: str, current: int, samples: tuple[PodSample, ...], target: float, expected: int
) -> None:
    assert proposal_for_metric(current, samples, target) == expected, case


def spec(
    *,
    lo: int = 1,
    hi: int = 20,
    up: ScalingRules = DEFAULT_SCALE_UP,
    down: ScalingRules = DEFAULT_SCALE_DOWN,
    metrics: tuple[MetricTarget, ...] = (MetricTarget("cpu", 0.5),),
) -> HpaSpec:
    return HpaSpec(lo, hi, metrics, up, down)


def cpu(current: int, value: float) -> list[MetricSample]:
    return [MetricSample("cpu", pods(*([value] * current)))]


def rules(window: int, *policies: Policy, select: str = "Max") -> ScalingRules:
    return ScalingRules(window, policies, select)  # type: ignore[arg-type]


def test_bounds_min_and_max() -> None:
    hpa = Autoscaler(spec(lo=2, hi=6))
    assert hpa.step(0, 4, cpu(4, 5.0)).desired == 6
    hpa = Autoscaler(spec(lo=2, hi=6, down=rules(0, Policy("Percent", 100, 15))))
    assert hpa.step(0, 4, cpu(4, 0.01)).desired == 2


@pytest.mark.parametrize(("select", "expected"), [("Max", 6), ("Min", 4)])
def test_default_scale_up_policies_pick_by_select_policy(select: str, expected: int) -> None:
    # defaults: 100% or 4 pods per 15 s; from 2: Percent allows 4, Pods allows 6
    up = rules(0, Policy("Percent", 100, 15), Policy("Pods", 4, 15), select=select)
    assert Autoscaler(spec(up=up)).step(0, 2, cpu(2, 5.0)).desired == expected


def test_scale_up_events_inside_the_period_count_against_the_policy() -> None:
    hpa = Autoscaler(spec())
    assert hpa.step(0, 2, cpu(2, 5.0)).desired == 6
    # 5 s later the period still starts at 2 replicas: 100% → 4, +4 pods → 6, so no further growth
    assert hpa.step(5, 6, cpu(6, 5.0)).desired == 6
    # after the 15 s period the base is 6: 100% → 12, +4 → 10, Max → 12
    assert hpa.step(16, 6, cpu(6, 5.0)).desired == 12


def test_scale_down_stabilization_window_keeps_the_highest_recent_recommendation() -> None:
    hpa = Autoscaler(spec(down=rules(300, Policy("Percent", 100, 15))))
    assert hpa.step(0, 10, cpu(10, 0.5)).desired == 10
    assert hpa.step(10, 10, cpu(10, 0.1)).desired == 10  # a dip inside the window: stays
    assert hpa.step(200, 10, cpu(10, 0.1)).desired == 10  # t=0's recommendation of 10 is still inside
    assert hpa.step(301, 10, cpu(10, 0.1)).desired == 2  # window passed: scale to the recommendation


def test_scale_up_stabilization_window_keeps_the_lowest_recent_recommendation() -> None:
    hpa = Autoscaler(spec(up=rules(60, Policy("Percent", 1000, 15))))
    assert hpa.step(0, 2, cpu(2, 0.5)).desired == 2
    assert hpa.step(10, 2, cpu(2, 2.0)).desired == 2  # the t=0 recommendation (2) holds the line
    assert hpa.step(61, 2, cpu(2, 2.0)).desired == 8


def test_percent_scale_down_policy_is_measured_from_the_period_start() -> None:
    hpa = Autoscaler(spec(down=rules(0, Policy("Percent", 50, 60))))
    assert hpa.step(0, 8, cpu(8, 0.05)).desired == 4
    assert hpa.step(30, 4, cpu(4, 0.05)).desired == 4  # period started at 8: 50% of 8 already removed
    assert hpa.step(61, 4, cpu(4, 0.05)).desired == 2


def test_pods_scale_down_policy_and_min_select_policy() -> None:
    down = rules(0, Policy("Pods", 1, 60), Policy("Percent", 50, 60), select="Min")
    assert Autoscaler(spec(down=down)).step(0, 6, cpu(6, 0.05)).desired == 5  # Min: the smaller change wins


def test_disabled_select_policy_never_scales_that_way() -> None:
    hpa = Autoscaler(spec(down=rules(0, Policy("Percent", 100, 15), select="Disabled")))
    assert hpa.step(0, 6, cpu(6, 0.01)).desired == 6
    assert hpa.step(1, 6, cpu(6, 5.0)).desired > 6


def test_several_metrics_take_the_largest_proposal() -> None:
    s = spec(metrics=(MetricTarget("cpu", 0.7), MetricTarget("http_requests_per_second", 100.0)))
    samples = [MetricSample("cpu", pods(0.7, 0.7)), MetricSample("http_requests_per_second", pods(250.0, 250.0))]
    decision = Autoscaler(s).step(0, 2, samples)
    assert decision.proposals == {"cpu": 2, "http_requests_per_second": 5}
    # 5 asked; the default policies allow +100% (4) or +4 pods (6), selectPolicy Max → 6, so 5 stands
    assert decision.desired == 5


def test_no_metrics_means_no_change() -> None:
    assert Autoscaler(spec()).step(0, 3, []).desired == 3


def test_manual_scale_counts_against_the_rate_policy() -> None:
    hpa = Autoscaler(spec(up=rules(0, Policy("Pods", 2, 60))))
    hpa.record_external(0, 2, 4)
    assert hpa.step(10, 4, cpu(4, 5.0)).desired == 4  # the period already added 2
