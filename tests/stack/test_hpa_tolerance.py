"""The seed's rule "CPU > 70% scales out, < 30% scales in" as an HPA: target 70% with a tolerance per direction
(``behavior.scaleUp.tolerance`` / ``behavior.scaleDown.tolerance``, Kubernetes 1.33+, feature gate
HPAConfigurableTolerance): scale up when ``ratio > 1 + up``, down when ``ratio < 1 - down``. scaleDown 0.5715
puts the scale-in edge at 70% x 0.4285 = 29.995%; scaleUp 0 scales out as soon as 70% is passed. Without the
fields both directions keep the cluster's 0.1, which scales in below 63% and out only above 77%.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tenfold.errors import ConfigError
from tenfold.stack.autoscaler import Autoscaler, HpaSpec, MetricSample, PodSample, proposal_for_metric
from tenfold.stack.manifests import load_service

MANIFEST = """\
kind: Deployment
metadata: {{name: s}}
spec:
  replicas: 4
  template: {{spec: {{containers: [{{name: s, resources: {{limits: {{cpu: 250m}}}}}}]}}}}
---
kind: HorizontalPodAutoscaler
spec:
  minReplicas: 1
  maxReplicas: 10
  metrics:
    - {{type: Resource, resource: {{name: cpu, target: {{type: Utilization, averageUtilization: 70}}}}}}
  behavior:
    scaleUp:
      stabilizationWindowSeconds: 0
{up}
    scaleDown:
      stabilizationWindowSeconds: 0
{down}
"""
SEED_RULE = {"up": "      tolerance: 0", "down": "      tolerance: 0.5715"}
DEFAULT = {"up": "", "down": ""}


def hpa(tmp_path: Path, up: str, down: str) -> HpaSpec:
    path = tmp_path / "s.yaml"
    path.write_text(MANIFEST.format(up=up, down=down))
    spec = load_service(path).hpa
    assert spec is not None
    return spec


def decide(spec: HpaSpec, cpu: float, replicas: int = 4) -> int:
    sample = MetricSample("cpu", tuple(PodSample(True, cpu) for _ in range(replicas)))
    return Autoscaler(spec).step(0.0, replicas, [sample]).desired


@pytest.mark.parametrize(
    ("case", "manifest", "cpu", "expected"),
    [
        ("seed rule: 29% scales in", SEED_RULE, 0.29, 2),  # ceil(4 x 29/70)
        ("seed rule: 30% is not below 30%", SEED_RULE, 0.30, 4),
        ("seed rule: 35% holds", SEED_RULE, 0.35, 4),
        ("seed rule: 50% holds", SEED_RULE, 0.50, 4),
        ("seed rule: 70% holds", SEED_RULE, 0.70, 4),
        ("seed rule: 71% scales out", SEED_RULE, 0.71, 5),  # ceil(4 x 71/70)
        ("seed rule: 75% scales out", SEED_RULE, 0.75, 5),
        ("seed rule: 95% scales out", SEED_RULE, 0.95, 6),
        ("default 0.1: 50% scales in", DEFAULT, 0.50, 3),  # ceil(4 x 50/70)
        ("default 0.1: 63% holds", DEFAULT, 0.63, 4),
        ("default 0.1: 75% holds", DEFAULT, 0.75, 4),
        ("default 0.1: 80% scales out", DEFAULT, 0.80, 5),
    ],
)
def test_tolerance_per_direction_from_the_manifest(
    tmp_path: Path, case: str, manifest: dict[str, str], cpu: float, expected: int
) -> None:
    assert decide(hpa(tmp_path, **manifest), cpu) == expected, case


def test_the_manifest_fields_are_read_as_kubernetes_quantities(tmp_path: Path) -> None:
    spec = hpa(tmp_path, "      tolerance: 50m", '      tolerance: "0.5715"')
    assert (spec.scale_up.tolerance, spec.scale_down.tolerance) == (0.05, 0.5715)
    assert spec.tolerances() == (0.05, 0.5715)
    default = hpa(tmp_path, "", "")
    assert (default.scale_up.tolerance, default.scale_down.tolerance) == (None, None)
    assert default.tolerances() == (0.1, 0.1)
    one_sided = hpa(tmp_path, "", "      tolerance: 0.2")
    assert one_sided.tolerances() == (0.1, 0.2)  # the other direction keeps the default


@pytest.mark.parametrize("value", ["-0.1", "lots", "true"])
def test_a_bad_tolerance_is_an_error_at_its_line(tmp_path: Path, value: str) -> None:
    where = r"s\.yaml:19:\d+: spec\.behavior\.scaleDown\.tolerance"
    with pytest.raises(ConfigError, match=where + ": .* is not a valid number"):
        hpa(tmp_path, "", f"      tolerance: {value}")


@pytest.mark.parametrize(
    ("case", "pods", "up", "down", "expected"),
    [
        ("inside the down tolerance", (0.35, 0.35, 0.35, 0.35), 0.0, 0.5715, 4),
        ("outside the down tolerance", (0.2, 0.2, 0.2, 0.2), 0.0, 0.5715, 2),
        ("up tolerance 0: any excess scales", (0.72, 0.72, 0.72, 0.72), 0.0, 0.5715, 5),
        ("up tolerance 0.1 holds the same excess", (0.72, 0.72, 0.72, 0.72), 0.1, 0.5715, 4),
        # a pod without a sample counts as on target going down; the result is judged by the down tolerance too
        ("missing pod going down, still inside", (0.2, 0.2, 0.2, None), 0.0, 0.5715, 4),
    ],
)
def test_proposal_for_metric_with_two_tolerances(
    case: str, pods: tuple[float | None, ...], up: float, down: float, expected: int
) -> None:
    samples = tuple(PodSample(True, v) for v in pods)
    assert proposal_for_metric(4, samples, 0.7, up, down) == expected, case
