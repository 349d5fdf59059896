"""Local calibration: per-service CPU and HPA bounds that fit this machine, on top of ``infra/k8s/services``.

The manifests keep values meant for a real cluster (EKS); a 2-core box running the whole stack and the
load generator needs smaller replicas for a 10x spike to need the HPA at all. Those numbers live in
``infra/local/calibration.yaml``, not in the manifests. The local runtime (and the run manifest's HPA bounds)
read manifests + calibration; whatever the calibration does not name comes from the manifest unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from tenfold.errors import ConfigError
from tenfold.stack.cgroups import parse_cpu
from tenfold.stack.manifests import ServiceSpec, optional_number
from tenfold.stack.state import REPO_ROOT
from tenfold.userfile import load_yaml

__all__ = ["DEFAULT_CALIBRATION", "ServiceCalibration", "calibrate", "load_calibration"]

DEFAULT_CALIBRATION = REPO_ROOT / "infra" / "local" / "calibration.yaml"

_FIELDS = {"cpuRequest", "cpuLimit", "maxReplicas", "gatewayConnections", "gatewayQueueSeconds"}


@dataclass(frozen=True)
class ServiceCalibration:
    """``None`` keeps the manifest's value."""

    cpu_request: float | None = None
    cpu_limit: float | None = None
    max_replicas: int | None = None
    gateway_connections: int | None = None
    gateway_queue_s: float | None = None


def load_calibration(path: Path = DEFAULT_CALIBRATION) -> dict[str, ServiceCalibration]:
    """Service name → its local values; an absent file calibrates nothing."""
    if not path.exists():
        return {}
    doc = load_yaml(path, "calibration")
    if doc.data is not None and not isinstance(doc.data, dict):
        raise doc.error((), "the calibration is a mapping with 'services:' (see infra/local/calibration.yaml)")
    out: dict[str, ServiceCalibration] = {}
    services = (doc.data or {}).get("services") or {}
    if not isinstance(services, dict):
        raise doc.error(("services",), "services must map service names to their fields")
    for name, fields in services.items():
        loc = ("services", name)
        fields = fields or {}
        if not isinstance(fields, dict):
            raise doc.error(loc, f"give fields {sorted(_FIELDS)} under the service")
        for key in sorted(set(fields) - _FIELDS):
            raise doc.error((*loc, key), f"unknown field {key!r}: use {', '.join(sorted(_FIELDS))}", key=True)

        out[str(name)] = ServiceCalibration(
            cpu_request=optional_number(doc, (*loc, "cpuRequest"), parse_cpu),
            cpu_limit=optional_number(doc, (*loc, "cpuLimit"), parse_cpu),
            max_replicas=optional_number(doc, (*loc, "maxReplicas"), int),
            gateway_connections=optional_number(doc, (*loc, "gatewayConnections"), int),
            gateway_queue_s=optional_number(doc, (*loc, "gatewayQueueSeconds"), _positive_seconds),
        )
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
                gateway_connections=spec.gateway_connections
                if cal.gateway_connections is None
                else cal.gateway_connections,
                gateway_queue_s=spec.gateway_queue_s if cal.gateway_queue_s is None else cal.gateway_queue_s,
            )
        )
    return out


def _positive_seconds(value: Any) -> float:
    """Seconds in (0, 60]: a queue timeout of 0 would shed everything that waits, and past a minute clients are gone."""
    seconds = float(value)
    if not 0 < seconds <= 60:
        raise ValueError(value)
    return seconds
