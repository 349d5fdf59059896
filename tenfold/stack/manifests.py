"""Read the services' Deployment and HPA from ``infra/k8s/services/*.yaml`` (the one source of truth), plus the
local overlay ``infra/local/autoscaling.yaml`` (shorter sync period and windows so a short run shows scale-in).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from tenfold.autoscaler import DEFAULT_SCALE_DOWN, DEFAULT_SCALE_UP, HpaSpec, MetricTarget, Policy, ScalingRules
from tenfold.errors import ConfigError
from tenfold.stack.cgroups import parse_cpu
from tenfold.stack.state import REPO_ROOT

__all__ = [
    "DEFAULT_MANIFESTS",
    "DEFAULT_OVERLAY",
    "Overlay",
    "ServiceSpec",
    "load_overlay",
    "load_services",
    "parse_rules",
]

DEFAULT_MANIFESTS = REPO_ROOT / "infra" / "k8s" / "services"
DEFAULT_OVERLAY = REPO_ROOT / "infra" / "local" / "autoscaling.yaml"


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    replicas: int
    cpu_limit: float | None
    cpu_request: float | None
    readiness_path: str
    readiness_period_s: float
    env: dict[str, str]
    hpa: HpaSpec | None
    source: str


@dataclass(frozen=True)
class Overlay:
    """Local-profile knobs; ``None`` keeps the manifest's value."""

    sync_period_s: float = 15.0
    scale_up_window_s: int | None = None
    scale_down_window_s: int | None = None
    policy_period_s: int | None = None
    cpu_basis: str = "limit"
    seed_users: int | None = None
    seed_titles: int | None = None
    env: dict[str, str] = field(default_factory=dict)


def parse_rules(raw: dict[str, Any] | None, default: ScalingRules) -> ScalingRules:
    if not raw:
        return default
    policies = (
        tuple(Policy(p["type"], int(p["value"]), int(p["periodSeconds"])) for p in raw.get("policies") or [])
        or default.policies
    )
    return ScalingRules(
        int(raw.get("stabilizationWindowSeconds", default.stabilization_window_seconds)),
        policies,
        raw.get("selectPolicy", default.select_policy),
    )


def _hpa(doc: dict[str, Any]) -> HpaSpec:
    spec = doc["spec"]
    metrics = []
    for m in spec.get("metrics") or []:
        if m.get("type") == "Resource" and m["resource"]["name"] == "cpu":
            metrics.append(MetricTarget("cpu", float(m["resource"]["target"]["averageUtilization"]) / 100.0))
        elif m.get("type") == "Pods":
            target = m["pods"]["target"]
            metrics.append(MetricTarget(m["pods"]["metric"]["name"], float(target["averageValue"])))
    behavior = spec.get("behavior") or {}
    return HpaSpec(
        min_replicas=int(spec.get("minReplicas", 1)),
        max_replicas=int(spec["maxReplicas"]),
        metrics=tuple(metrics),
        scale_up=parse_rules(behavior.get("scaleUp"), DEFAULT_SCALE_UP),
        scale_down=parse_rules(behavior.get("scaleDown"), DEFAULT_SCALE_DOWN),
    )


def _service(path: Path) -> ServiceSpec:
    try:
        docs = [d for d in yaml.safe_load_all(path.read_text()) if isinstance(d, dict)]
    except yaml.YAMLError as exc:
        raise ConfigError(f"not valid YAML: {exc}", path=str(path)) from exc
    deployment = next((d for d in docs if d.get("kind") == "Deployment"), None)
    if deployment is None:
        raise ConfigError("no Deployment in this manifest", path=str(path))
    hpa_doc = next((d for d in docs if d.get("kind") == "HorizontalPodAutoscaler"), None)
    try:
        name = deployment["metadata"]["name"]
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        resources = container.get("resources") or {}
        limit = (resources.get("limits") or {}).get("cpu")
        request = (resources.get("requests") or {}).get("cpu")
        readiness = container.get("readinessProbe") or {}
        probe = readiness.get("httpGet") or {}
        env = {e["name"]: str(e["value"]) for e in container.get("env") or [] if "value" in e}
        return ServiceSpec(
            name=name,
            replicas=int(deployment["spec"].get("replicas", 1)),
            cpu_limit=parse_cpu(limit) if limit is not None else None,
            cpu_request=parse_cpu(request) if request is not None else None,
            readiness_path=str(probe.get("path", "/readyz")),
            readiness_period_s=float(readiness.get("periodSeconds", 10)),
            env=env,
            hpa=_hpa(hpa_doc) if hpa_doc else None,
            source=str(path),
        )
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise ConfigError(f"Deployment/HPA is missing or has a bad field: {exc!r}", path=str(path)) from exc


def load_overlay(path: Path = DEFAULT_OVERLAY) -> Overlay:
    if not path.exists():
        return Overlay()
    raw = yaml.safe_load(path.read_text()) or {}
    hpa = raw.get("hpa") or {}
    seed = raw.get("seed") or {}
    return Overlay(
        sync_period_s=float(hpa.get("syncPeriodSeconds", 15)),
        scale_up_window_s=hpa.get("scaleUpStabilizationWindowSeconds"),
        scale_down_window_s=hpa.get("scaleDownStabilizationWindowSeconds"),
        policy_period_s=hpa.get("policyPeriodSeconds"),
        cpu_basis=str(hpa.get("cpuBasis", "limit")),
        seed_users=seed.get("users"),
        seed_titles=seed.get("titles"),
        env={str(k): str(v) for k, v in (raw.get("env") or {}).items()},
    )


def _apply(hpa: HpaSpec, overlay: Overlay) -> HpaSpec:
    def rules(r: ScalingRules, window: int | None) -> ScalingRules:
        policies = r.policies
        if overlay.policy_period_s is not None:
            policies = tuple(replace(p, period_seconds=int(overlay.policy_period_s)) for p in policies)
        return replace(r, stabilization_window_seconds=r.stabilization_window_seconds if window is None else window,
                       policies=policies)  # fmt: skip

    return replace(
        hpa,
        scale_up=rules(hpa.scale_up, overlay.scale_up_window_s),
        scale_down=rules(hpa.scale_down, overlay.scale_down_window_s),
    )


def load_services(directory: Path = DEFAULT_MANIFESTS, overlay: Overlay | None = None) -> list[ServiceSpec]:
    """Every service manifest in ``directory``, sorted by name, with the overlay applied to its HPA."""
    paths = sorted(directory.glob("*.yaml"))
    if not paths:
        raise ConfigError("no service manifests (*.yaml) found", path=str(directory))
    services = [_service(p) for p in paths]
    if overlay is not None:
        services = [replace(s, hpa=_apply(s.hpa, overlay)) if s.hpa else s for s in services]
    return sorted(services, key=lambda s: s.name)
