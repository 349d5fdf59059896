"""Local calibration: per-service CPU and HPA bounds that fit this machine, on top of ``infra/k8s/services``.

The manifests keep values meant for a real cluster (EKS); a 2-core box running the whole stack and the
load generator needs smaller replicas for a 10x spike to need the HPA at all. Those numbers live in
``infra/local/calibration.yaml``, not in the manifests. The local runtime (and the run manifest's HPA bounds)
read manifests + calibration; whatever the calibration does not name comes from the manifest unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import yaml

from tenfold.errors import ConfigError
from tenfold.stack.cgroups import parse_cpu
from tenfold.stack.manifests import ServiceSpec
from tenfold.stack.state import REPO_ROOT

__all__ = ["DEFAULT_CALIBRATION", "ServiceCalibration", "calibrate", "load_calibration"]

DEFAULT_CALIBRATION = REPO_ROOT / "infra" / "local" / "calibration.yaml"

_FIELDS = {"cpuRequest", "cpuLimit", "maxReplicas"}


@dataclass(frozen=True)
class ServiceCalibration:
    """``None`` keeps the manifest's value."""

    cpu_request: float | None = None
    cpu_limit: float | None = None
    max_replicas: int | None = None


def load_calibration(path: Path = DEFAULT_CALIBRATION) -> dict[str, ServiceCalibration]:
    """Service name → its local values; an absent file calibrates nothing."""
    if not path.exists():
        return {}
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"not valid YAML: {exc}", path=str(path)) from exc
    out: dict[str, ServiceCalibration] = {}
    for name, fields in (raw.get("services") or {}).items():
        fields = fields or {}
        unknown = set(fields) - _FIELDS
        if unknown:
            raise ConfigError(f"services.{name}: unknown field(s) {sorted(unknown)}: use {sorted(_FIELDS)}",
                              path=str(path))  # fmt: skip
        try:
            out[str(name)] = ServiceCalibration(
                cpu_request=parse_cpu(fields["cpuRequest"]) if "cpuRequest" in fields else None,
                cpu_limit=parse_cpu(fields["cpuLimit"]) if "cpuLimit" in fields else None,
                max_replicas=int(fields["maxReplicas"]) if "maxReplicas" in fields else None,
            )
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"services.{name}: {exc}", path=str(path)) from exc
    return out


def calibrate(
    services: list[ServiceSpec], calibration: dict[str, ServiceCalibration], source: Path = DEFAULT_CALIBRATION
) -> list[ServiceSpec]:
    """The services with their local values; a calibration naming a service without a manifest is an error."""
    missing = set(calibration) - {s.name for s in services}
    if missing:
        raise ConfigError(f"calibrates {sorted(missing)}, which have no manifest", path=str(source))
    out = []
    for spec in services:
        cal = calibration.get(spec.name)
        if cal is None:
            out.append(spec)
            continue
        hpa = spec.hpa
        if hpa is not None and cal.max_replicas is not None:
            hpa = replace(hpa, max_replicas=cal.max_replicas)
        out.append(
            replace(
                spec,
                cpu_request=spec.cpu_request if cal.cpu_request is None else cal.cpu_request,
                cpu_limit=spec.cpu_limit if cal.cpu_limit is None else cal.cpu_limit,
                hpa=hpa,
            )
        )
    return out
