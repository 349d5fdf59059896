"""Gather the evidence of a run into its folder while the system is still up; afterwards the folder suffices.

Prometheus range queries → ``metrics/<name>.json``, the controller's events → ``controller_events.jsonl``.
(The write ledger is read back by the locustfile's verifiers: ``tenfold.load.verify`` → ``durability.json``.)

Two sets of series feed the scaling indicators, under the same names:

- ``LOCAL_QUERIES``: the local stack's controller (``tenfold_*``), one series per ``service``;
- ``KUBE_QUERIES``: a cluster's kube-state-metrics and cAdvisor (``--prometheus URL``), one series per watched
  deployment, relabelled ``service`` (docs/prometheus.md). ``$deployments`` is a regex alternation of the
  watched deployments' names, ``$namespace`` a namespace matcher (any namespace unless the SLO file names one).

The SLO file's ``metrics.queries`` replace any of these or add series of its own (the reference system's cache,
fallback and breaker series come from its slo.yaml that way).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from tenfold.layout import CONTROLLER_EVENTS
from tenfold.promql import Prometheus, PrometheusError

__all__ = [
    "KUBE_HPA_QUERIES",
    "KUBE_QUERIES",
    "LOCAL_QUERIES",
    "collect_kube_hpa",
    "collect_metrics",
    "fill",
    "hpa_deployments",
    "write_controller_events",
]

# name -> PromQL. Rates over 5 s: the local scrape interval is 1 s.
LOCAL_QUERIES: dict[str, str] = {
    "replicas_ready": 'sum by (service) (tenfold_replicas{state="ready"})',
    "replicas_desired": "max by (service) (tenfold_desired_replicas)",
    "hpa_desired_replicas": "max by (service) (tenfold_hpa_desired_replicas)",
    "cpu_utilization": "max by (service) (tenfold_cpu_utilization_ratio)",
}

_DEPLOYMENT = 'deployment=~"$deployments"$namespace'
_POD = 'pod=~"($deployments)-[a-z0-9]+-[a-z0-9]+"$namespace'
KUBE_QUERIES: dict[str, str] = {
    "replicas_ready": "sum by (service) (label_replace(kube_deployment_status_replicas_ready{"
    + _DEPLOYMENT
    + '}, "service", "$1", "deployment", "(.*)"))',
    "replicas_desired": "max by (service) (label_replace(kube_deployment_spec_replicas{"
    + _DEPLOYMENT
    + '}, "service", "$1", "deployment", "(.*)"))',
    # what the HPA asks for, joined to the deployment it scales
    "hpa_desired_replicas": "max by (service) (label_replace(kube_horizontalpodautoscaler_status_desired_replicas"
    " * on (namespace, horizontalpodautoscaler) group_left (scaletargetref_name) "
    'kube_horizontalpodautoscaler_info{scaletargetref_kind="Deployment", scaletargetref_name=~"$deployments"'
    '$namespace}, "service", "$1", "scaletargetref_name", "(.*)"))',
    # CPU of each pod over its CPU request (what the HPA's utilization target is relative to), worst pod per
    # deployment; pods are <deployment>-<replicaset hash>-<pod hash>
    "cpu_utilization": "max by (service) (label_replace("
    'sum by (namespace, pod) (rate(container_cpu_usage_seconds_total{container!="", container!="POD", '
    + _POD
    + "}[1m]))"
    ' / sum by (namespace, pod) (kube_pod_container_resource_requests{resource="cpu", ' + _POD + "}),"
    ' "service", "$1", "pod", "(.*)-[a-z0-9]+-[a-z0-9]+"))',
}


def fill(query: str, deployments: Iterable[str], namespace: str | None) -> str:
    """The template with ``$deployments`` and ``$namespace`` filled in (``$1`` of label_replace is left alone)."""
    names = sorted(set(deployments))
    alternation = "|".join(re.escape(n) for n in names) if names else ".+"
    ns = f', namespace="{namespace}"' if namespace else ""
    return query.replace("$deployments", alternation).replace("$namespace", ns)


def collect_metrics(
    prometheus_url: str, run_dir: Path, start: float, end: float, queries: dict[str, str], step: float = 1.0, *,
    timeout_s: float = 30.0, rate_window: str | None = None,
) -> dict[str, int]:  # fmt: skip
    """Runs every query over [start, end]; returns the number of series each produced.

    A query that fails is written with its error instead of data, so the report says why a chart is empty.
    ``rate_window`` replaces the queries' 5 s rate windows: a cluster's Prometheus scrapes every 15-30 s.
    """
    out = run_dir / "metrics"
    out.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    with Prometheus(prometheus_url, timeout_s=timeout_s) as prom:
        for name, template in queries.items():
            query = template.replace("[5s]", f"[{rate_window}]") if rate_window else template
            doc: dict[str, Any] = {"query": query, "start": start, "end": end, "step": step}
            try:
                series = prom.range(query, start, end, step)
                doc["data"] = {"resultType": "matrix", "result": series}  # query_range's "data"
                counts[name] = len(series)
            except PrometheusError as exc:
                doc["error"] = f"{type(exc).__name__}: {exc}"
                counts[name] = 0
            (out / f"{name}.json").write_text(json.dumps(doc))
    return counts


def hpa_deployments(prometheus_url: str, namespace: str | None, *, timeout_s: float = 10.0) -> list[str]:
    """The deployments some HPA scales (kube_horizontalpodautoscaler_info): what is watched when nothing is named.

    Raises ``PrometheusError`` when the query fails."""
    query = fill('kube_horizontalpodautoscaler_info{scaletargetref_kind="Deployment"$namespace}', [], namespace)
    with Prometheus(prometheus_url, timeout_s=timeout_s) as prom:
        found = prom.instant(query)
    return sorted({str(s.labels.get("scaletargetref_name")) for s in found} - {"None"})


def _hpa_spec(metric: str) -> str:
    """An HPA's ``metric`` per watched deployment: joined through kube_horizontalpodautoscaler_info's target."""
    return (
        f"max by (service) (label_replace({metric} * on (namespace, horizontalpodautoscaler) group_left "
        '(scaletargetref_name) kube_horizontalpodautoscaler_info{scaletargetref_kind="Deployment", '
        'scaletargetref_name=~"$deployments"$namespace}, "service", "$1", "scaletargetref_name", "(.*)"))'
    )


KUBE_HPA_QUERIES: dict[str, str] = {
    "hpa_min_replicas": _hpa_spec("kube_horizontalpodautoscaler_spec_min_replicas"),
    "hpa_max_replicas": _hpa_spec("kube_horizontalpodautoscaler_spec_max_replicas"),
    "hpa_target_cpu_utilization": _hpa_spec(
        'kube_horizontalpodautoscaler_spec_target_metric{metric_name="cpu", metric_target_type="utilization"}'
    ),
}
"""Instant queries at the end of the run: each watched deployment's HPA bounds and CPU target (the manifest's
``hpa``, which ``max_replicas``' ``hpa_max`` and the CPU trigger of ``scale_out_reaction`` read)."""
_HPA_KEYS = {
    "hpa_min_replicas": "min",
    "hpa_max_replicas": "max",
    "hpa_target_cpu_utilization": "target_cpu_utilization",
}


def collect_kube_hpa(
    prometheus_url: str, queries: dict[str, str], at: float, *, timeout_s: float = 10.0
) -> dict[str, dict[str, float]]:
    """The HPA bounds and CPU target per service at ``at`` from ``queries`` (KUBE_HPA_QUERIES' names, filled)."""
    out: dict[str, dict[str, float]] = {}
    with Prometheus(prometheus_url, timeout_s=timeout_s) as prom:
        for name, query in queries.items():
            try:
                found = prom.instant(query, at=at)
            except PrometheusError:
                continue
            for s in found:
                out.setdefault(str(s.labels.get("service")), {})[_HPA_KEYS[name]] = s.value
    return out


def write_controller_events(events: Iterable[dict[str, Any]], run_dir: Path, start: float, end: float) -> int:
    """The controller's events (restarts, scaling, readiness) that happened during the run."""
    kept = [e for e in events if start <= float(e.get("ts", 0)) <= end]
    (run_dir / CONTROLLER_EVENTS).write_text("".join(json.dumps(e) + "\n" for e in kept))
    return len(kept)
