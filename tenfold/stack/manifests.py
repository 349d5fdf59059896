"""Read the services' Deployment and HPA from ``infra/k8s/services/*.yaml`` (the one source of truth), plus the
local overlay ``infra/local/autoscaling.yaml`` (shorter sync period and windows so a short run shows scale-in).

Read: replicas, the container's ``command`` (``python`` becomes this interpreter) and literal ``env``, CPU
requests/limits, the readiness probe, ``terminationGracePeriodSeconds`` and the HPA. Not read: the liveness
probe (a replica whose process dies is restarted at once) and the ``preStop`` sleep (locally HAProxy stops
sending when ``/readyz`` turns 503 during the service's own ``TENFOLD_DRAIN_SECONDS``).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

from tenfold.errors import ConfigError
from tenfold.stack.autoscaler import DEFAULT_SCALE_DOWN, DEFAULT_SCALE_UP, HpaSpec, MetricTarget, Policy, ScalingRules
from tenfold.stack.cgroups import parse_cpu
from tenfold.stack.state import REPO_ROOT
from tenfold.userfile import Loc, Located, load_yaml, load_yaml_all

__all__ = [
    "DEFAULT_MANIFESTS",
    "DEFAULT_OVERLAY",
    "Overlay",
    "ServiceSpec",
    "load_overlay",
    "load_service",
    "load_services",
    "optional_number",
    "parse_rules",
]

DEFAULT_MANIFESTS = REPO_ROOT / "infra" / "k8s" / "services"
DEFAULT_OVERLAY = REPO_ROOT / "infra" / "local" / "autoscaling.yaml"
_N = TypeVar("_N", int, float)


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
    readiness_timeout_s: float = 1.0  # Kubernetes' defaults
    readiness_failure_threshold: int = 3
    gateway_connections: int | None = None  # local only (infra/local/calibration.yaml): gateway maxconn per replica
    gateway_queue_s: float | None = None  # local only (infra/local/calibration.yaml): the gateway's queue timeout
    command: tuple[str, ...] = ()  # the container's command; () = python -m reference_services NAME
    termination_grace_s: float = 30.0  # terminationGracePeriodSeconds: SIGTERM, then SIGKILL this much later

    def argv(self) -> list[str]:
        """The replica's command line here: the manifest's ``command`` with ``python`` as this interpreter."""
        command = list(self.command) or ["python", "-m", "reference_services", self.name]
        return [sys.executable, *command[1:]]


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


_REQUIRED: Any = object()


def _at(doc: Located, loc: Loc, default: Any = _REQUIRED) -> Any:
    """The value at ``loc``; a missing required key or a wrong container is an error at its line."""
    value: Any = doc.data
    for i, part in enumerate(loc):
        if isinstance(part, int):
            ok = isinstance(value, list) and -len(value) <= part < len(value)
            if not ok:
                if isinstance(value, list) and default is not _REQUIRED:
                    return default
                raise doc.error(loc[:i], f"needs a list with an item {part}")
        elif not isinstance(value, dict):
            raise doc.error(loc[:i], f"must be a mapping (with '{part}:')")
        elif part not in value or value[part] is None:
            if default is not _REQUIRED:
                return default
            raise doc.error(loc[:i], f"missing '{part}:' (see infra/k8s/services/ for a complete manifest)")
        value = value[part]
    return value


def _number(doc: Located, loc: Loc, convert: Callable[[Any], _N], default: Any = _REQUIRED) -> _N:
    value = _at(doc, loc, default)
    try:
        if isinstance(value, bool):
            raise TypeError
        return convert(value)
    except (TypeError, ValueError):
        raise doc.error(
            loc, f"{value!r} is not a valid {'CPU quantity' if convert is parse_cpu else 'number'}"
        ) from None


def _choice(doc: Located, loc: Loc, choices: tuple[str, ...], default: Any = _REQUIRED) -> Any:
    value = _at(doc, loc, default)
    if value not in choices:
        raise doc.error(loc, f"{value!r} is not one of {', '.join(choices)}")
    return value


def parse_rules(doc: Located, loc: Loc, default: ScalingRules) -> ScalingRules:
    """An HPA ``behavior.scaleUp``/``scaleDown`` at ``loc`` over the Kubernetes default (``tolerance`` as in 1.33+)."""
    if not _at(doc, loc, None):
        return default
    policies = tuple(
        Policy(_choice(doc, (*loc, "policies", i, "type"), ("Pods", "Percent")),
               _number(doc, (*loc, "policies", i, "value"), int),
               _number(doc, (*loc, "policies", i, "periodSeconds"), int))
        for i in range(len(_at(doc, (*loc, "policies"), [])))
    ) or default.policies  # fmt: skip
    return ScalingRules(
        _number(doc, (*loc, "stabilizationWindowSeconds"), int, default.stabilization_window_seconds),
        policies,
        _choice(doc, (*loc, "selectPolicy"), ("Max", "Min", "Disabled"), default.select_policy),
        optional_number(doc, (*loc, "tolerance"), _tolerance),
    )


def _tolerance(value: Any) -> float:
    """``behavior.*.tolerance``: a Kubernetes quantity (``0.05``, ``"50m"``), not negative."""
    quantity = parse_cpu(value)
    if quantity < 0 or quantity != quantity:
        raise ValueError(value)
    return quantity


def _hpa(doc: Located) -> HpaSpec:
    metrics = []
    for i, m in enumerate(_at(doc, ("spec", "metrics"), [])):
        loc: Loc = ("spec", "metrics", i)
        if not isinstance(m, dict):
            raise doc.error(loc, "each metric must be a mapping with 'type:'")
        if m.get("type") == "Resource" and _at(doc, (*loc, "resource", "name")) == "cpu":
            utilization = _number(doc, (*loc, "resource", "target", "averageUtilization"), float)
            metrics.append(MetricTarget("cpu", utilization / 100.0))
        elif m.get("type") == "Pods":
            name = str(_at(doc, (*loc, "pods", "metric", "name")))
            metrics.append(MetricTarget(name, _number(doc, (*loc, "pods", "target", "averageValue"), float)))
    return HpaSpec(
        min_replicas=_number(doc, ("spec", "minReplicas"), int, 1),
        max_replicas=_number(doc, ("spec", "maxReplicas"), int),
        metrics=tuple(metrics),
        scale_up=parse_rules(doc, ("spec", "behavior", "scaleUp"), DEFAULT_SCALE_UP),
        scale_down=parse_rules(doc, ("spec", "behavior", "scaleDown"), DEFAULT_SCALE_DOWN),
    )


def load_service(path: Path) -> ServiceSpec:
    """One manifest file's Deployment (and HPA); errors name the file, the line and the fix."""
    docs = [d for d in load_yaml_all(path, "manifest") if isinstance(d.data, dict)]
    deployment = next((d for d in docs if d.data.get("kind") == "Deployment"), None)
    if deployment is None:
        raise ConfigError("no Deployment in this manifest (kind: Deployment)", path=str(path), line=1)
    hpa_doc = next((d for d in docs if d.data.get("kind") == "HorizontalPodAutoscaler"), None)
    d = deployment
    container: Loc = ("spec", "template", "spec", "containers", 0)
    env = {}
    for i, e in enumerate(_at(d, (*container, "env"), [])):
        if isinstance(e, dict) and "value" in e:
            env[str(_at(d, (*container, "env", i, "name")))] = str(e["value"])
    command = _at(d, (*container, "command"), [])
    if not isinstance(command, list) or not all(isinstance(c, str) for c in command):
        raise d.error((*container, "command"), "command must be a list of strings")
    if command and command[0] not in ("python", "python3"):
        raise d.error((*container, "command"), f"the local runtime runs Python modules: the command must start with "
                      f"'python' (like python -m reference_services NAME), not {command[0]!r}")  # fmt: skip
    limit = _at(d, (*container, "resources", "limits", "cpu"), None)
    request = _at(d, (*container, "resources", "requests", "cpu"), None)
    return ServiceSpec(
        name=str(_at(d, ("metadata", "name"))),
        replicas=_number(d, ("spec", "replicas"), int, 1),
        cpu_limit=_number(d, (*container, "resources", "limits", "cpu"), parse_cpu) if limit is not None else None,
        cpu_request=_number(d, (*container, "resources", "requests", "cpu"), parse_cpu)
        if request is not None
        else None,
        readiness_path=str(_at(d, (*container, "readinessProbe", "httpGet", "path"), "/readyz")),
        readiness_period_s=_number(d, (*container, "readinessProbe", "periodSeconds"), float, 10),
        env=env,
        hpa=_hpa(hpa_doc) if hpa_doc else None,
        source=str(path),
        readiness_timeout_s=_number(d, (*container, "readinessProbe", "timeoutSeconds"), float, 1),
        readiness_failure_threshold=_number(d, (*container, "readinessProbe", "failureThreshold"), int, 3),
        command=tuple(command),
        termination_grace_s=_grace(d),
    )


def _grace(d: Located) -> float:
    """``terminationGracePeriodSeconds`` (Kubernetes' default 30), a number of seconds ≥ 0."""
    loc: Loc = ("spec", "template", "spec", "terminationGracePeriodSeconds")
    grace = _number(d, loc, float, 30)
    if grace < 0:
        raise d.error(loc, f"terminationGracePeriodSeconds must be ≥ 0, not {grace:g}")
    return grace


def load_overlay(path: Path = DEFAULT_OVERLAY) -> Overlay:
    if not path.exists():
        return Overlay()
    doc = load_yaml(path, "overlay")
    if doc.data is None:
        return Overlay()
    if not isinstance(doc.data, dict):
        raise doc.error(
            (), "the overlay is a mapping with 'hpa:', 'seed:' and 'env:' (see infra/local/autoscaling.yaml)"
        )

    def optional_int(loc: Loc) -> int | None:
        return optional_number(doc, loc, int)

    env = _at(doc, ("env",), {})
    if not isinstance(env, dict):
        raise doc.error(("env",), "env must map variable names to values")
    basis = str(_at(doc, ("hpa", "cpuBasis"), "limit"))
    if basis not in ("limit", "request"):
        raise doc.error(("hpa", "cpuBasis"), f"cpuBasis {basis!r} must be 'limit' or 'request'")
    return Overlay(
        sync_period_s=_number(doc, ("hpa", "syncPeriodSeconds"), float, 15),
        scale_up_window_s=optional_int(("hpa", "scaleUpStabilizationWindowSeconds")),
        scale_down_window_s=optional_int(("hpa", "scaleDownStabilizationWindowSeconds")),
        policy_period_s=optional_int(("hpa", "policyPeriodSeconds")),
        cpu_basis=basis,
        seed_users=optional_int(("seed", "users")),
        seed_titles=optional_int(("seed", "titles")),
        env={str(k): str(v) for k, v in env.items()},
    )


def optional_number(doc: Located, loc: Loc, convert: Callable[[Any], _N]) -> _N | None:
    """The number at ``loc`` of a user file, None when absent; a value ``convert`` refuses is an error at its line."""
    return None if _at(doc, loc, None) is None else _number(doc, loc, convert)


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
    services = [load_service(p) for p in paths]
    if overlay is not None:
        services = [replace(s, hpa=_apply(s.hpa, overlay)) if s.hpa else s for s in services]
    return sorted(services, key=lambda s: s.name)
