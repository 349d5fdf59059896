"""What feeds the autoscaler: CPU of each replica from cgroup ``cpuacct`` (as a fraction of its limit or request)
and Pods metrics from Prometheus (requests per second per replica, p95 latency), as Prometheus Adapter would.
"""

from __future__ import annotations

import asyncio
import time

from tenfold.promql import Prometheus, PrometheusError, Sample
from tenfold.stack.autoscaler import MetricSample, PodSample
from tenfold.stack.replicas import Deployment

__all__ = ["P95_METRIC", "RPS_METRIC", "MetricsSource"]

RPS_METRIC = "http_requests_per_second"
P95_METRIC = "http_request_duration_seconds_p95"
_WINDOW_S = 10.0


class MetricsSource:
    def __init__(self, prometheus_url: str, cpu_basis: str = "limit") -> None:
        self.prometheus_url = prometheus_url
        self.cpu_basis = cpu_basis
        self._prometheus = Prometheus(prometheus_url, timeout_s=2.0)

    async def close(self) -> None:
        self._prometheus.close()

    def sample_cpu(self, deployments: list[Deployment]) -> None:
        """Called every second: remember (time, cpu seconds) per replica for utilization over a window."""
        now = time.monotonic()
        for d in deployments:
            for r in d.replicas:
                value = r.cpu_seconds()
                if value is None:
                    continue
                r.cpu.append((now, value))
                while r.cpu and r.cpu[0][0] < now - 60:
                    r.cpu.pop(0)

    def cpu_utilization(self, d: Deployment, window_s: float) -> dict[str, float | None]:
        """Per replica: CPU used over the last ``window_s`` as a fraction of the limit (or request)."""
        basis = d.spec.cpu_limit if self.cpu_basis == "limit" else d.spec.cpu_request
        out: dict[str, float | None] = {}
        now = time.monotonic()
        for r in d.replicas:
            # Like Kubernetes' CPU initialization period: start-up CPU (unlimited, before ready) is not load.
            since = max(now - window_s - 0.5, r.limited_at) if r.limited else now
            pts = [p for p in r.cpu if p[0] >= since]
            if len(pts) < 2 or not basis or pts[-1][0] - pts[0][0] < 0.5:
                out[r.id] = None
                continue
            out[r.id] = (pts[-1][1] - pts[0][1]) / (pts[-1][0] - pts[0][0]) / basis
        return out

    async def _query(self, promql: str) -> list[Sample] | None:
        """The answer, or None when the query failed (the autoscaler then has no sample, as for a missing pod)."""
        try:  # the client blocks: in a thread, so the controller's loop goes on meanwhile
            return await asyncio.to_thread(self._prometheus.instant, promql)
        except PrometheusError:
            return None

    async def samples(self, d: Deployment, window_s: float, wanted: set[str]) -> list[MetricSample]:
        out: list[MetricSample] = []
        replicas = [r for r in d.replicas if r.state != "terminating"]
        if "cpu" in wanted:
            util = self.cpu_utilization(d, window_s)
            out.append(MetricSample("cpu", tuple(PodSample(r.state == "ready", util.get(r.id)) for r in replicas)))
        if RPS_METRIC in wanted:
            rows = await self._query(
                f'sum by (replica) (rate(http_requests_total{{service="{d.name}"}}[{int(_WINDOW_S)}s]))'
            )
            if rows is not None:
                by_replica = {str(row.labels.get("replica")): row.value for row in rows}
                out.append(
                    MetricSample(
                        RPS_METRIC, tuple(PodSample(r.state == "ready", by_replica.get(r.id)) for r in replicas)
                    )
                )
        if P95_METRIC in wanted:
            rows = await self._query(
                "histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket"
                f'{{service="{d.name}"}}[{int(_WINDOW_S)}s])))'
            )
            if rows:
                p95 = rows[0].value
                if p95 == p95:  # not NaN
                    out.append(MetricSample(P95_METRIC, tuple(PodSample(r.state == "ready", p95) for r in replicas)))
        return out
