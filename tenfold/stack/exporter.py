"""The controller's own ``/metrics`` (docs/prometheus.md, "Metrics"): a prometheus_client collector that reads the
controller's state at each scrape, on a registry of its own (not the process-wide default one)."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from tenfold.stack.controller import Controller

__all__ = ["CONTENT_TYPE", "ControllerCollector", "registry_for"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
"""The text format ``prometheus_client.generate_latest`` writes."""
_STATES = ("ready", "starting", "frozen", "dead", "terminating")


class ControllerCollector(Collector):
    def __init__(self, ctl: Controller) -> None:
        self.ctl = ctl

    def collect(self) -> Iterator[Metric]:
        parts, metrics = self.ctl.parts, self.ctl.supervisor.metrics
        replicas = GaugeMetricFamily("tenfold_replicas", "Replicas of a service by state.", labels=["service", "state"])
        for name, d in parts.deployments.items():
            counts = dict.fromkeys(_STATES, 0)
            for r in d.replicas:
                counts[r.state] = counts.get(r.state, 0) + 1
            for state, n in counts.items():
                replicas.add_metric([name, state], n)
        yield replicas
        desired = GaugeMetricFamily("tenfold_desired_replicas", "Replicas the controller wants.", labels=["service"])
        for name, d in parts.deployments.items():
            desired.add_metric([name], d.desired)
        yield desired
        hpa = GaugeMetricFamily(
            "tenfold_hpa_desired_replicas",
            "What the HPA algorithm asked for (also when autoscaling is off).",
            labels=["service"],
        )
        for name, n in parts.desired_by_hpa.items():
            hpa.add_metric([name], n)
        yield hpa
        cpu = CounterMetricFamily(
            "tenfold_replica_cpu_seconds_total", "CPU time used by a replica's cgroup.", labels=["service", "replica"]
        )
        utilization = GaugeMetricFamily(
            "tenfold_cpu_utilization_ratio",
            "Mean CPU of ready replicas as a fraction of the CPU limit (5 s).",
            labels=["service"],
        )
        for name, d in parts.deployments.items():
            for r in d.replicas:
                seconds = r.cpu_seconds()
                if seconds is not None:
                    cpu.add_metric([name, r.id], round(seconds, 6))
            if metrics is not None:
                util = [u for u in metrics.cpu_utilization(d, 5.0).values() if u is not None]
                if util:
                    utilization.add_metric([name], round(sum(util) / len(util), 4))
        yield cpu
        yield utilization
        yield GaugeMetricFamily(
            "tenfold_autoscaling_enabled",
            "1 when the controller's autoscaler acts on its decisions, else 0.",
            value=int(parts.autoscaling),
        )


def registry_for(ctl: Controller) -> CollectorRegistry:
    """A registry of its own holding ``ctl``'s collector: ``generate_latest(registry)`` is the page."""
    registry = CollectorRegistry()
    registry.register(ControllerCollector(ctl))
    return registry
