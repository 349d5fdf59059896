"""Autoscaling evidence from *your* Prometheus: ``tenfold run --target URL --prometheus URL --watch deployment/web``.

A real Prometheus scrapes a small exporter that serves kube-state-metrics- and cAdvisor-shaped series for a
deployment ``web`` whose HPA reacts to the load the run sends (desired replicas follow the request rate; pods
become Ready 2 s later, or never: "Pending"). tenfold's default queries (reports/collect.py: KUBE_QUERIES,
KUBE_HPA_QUERIES) turn them into the scaling verdicts: scaling out in time passes, pods stuck Pending fail.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from load._server import Server
from load.conftest import locustfile, scenario_file
from servers import Server as Process
from servers import prometheus

from tenfold.run import RunOptions, execute

pytestmark = pytest.mark.e2e

NS = "shop"
RS = "7d9c5b6f4"  # the ReplicaSet's hash in each pod's name
PER_POD_RPS = 15.0
CPU_REQUEST = 0.1

SLO = """
apiVersion: tenfold/v1
kind: SLO
metadata: {name: kube}
metrics: {namespace: shop}
objectives:
  - name: scale-out-after-spike
    indicator: scale_out_reaction
    trigger: spike
    window: ramp
    target: "<= 20s"
  - name: max-replicas
    indicator: max_replicas
    window: run
    target: "<= hpa_max"
  - name: scale-in-after-cooldown
    indicator: scale_in
    window: cooldown
    target: true
"""


@dataclass
class FakeCluster:
    """One deployment, ``web``, its HPA (1..5 replicas, CPU target 60%) scaling on the target's request rate, and a
    ``batch`` deployment with an HPA that nothing watches. ``pending``: new pods never become Ready."""

    target: Server
    pending: bool = False
    desired: int = 1
    ready: int = 1
    cpu_seconds: dict[str, float] = field(default_factory=dict)
    _ready_at: list[tuple[float, int]] = field(default_factory=list)
    _seen: list[tuple[float, int]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def tick(self) -> None:
        now = time.time()
        self._seen.append((now, self.target.count))
        self._seen = [(t, n) for t, n in self._seen if t >= now - 2.0]
        (t0, n0), (t1, n1) = self._seen[0], self._seen[-1]
        rate = (n1 - n0) / (t1 - t0) if t1 > t0 else 0.0
        desired = max(1, min(5, math.ceil(rate / PER_POD_RPS)))
        if desired != self.desired:
            self.desired = desired
            self._ready_at.append((now + 2.0, desired))
        if self._ready_at and self._ready_at[0][0] <= now:
            _, n = self._ready_at.pop(0)
            self.ready = n if not self.pending or n < self.ready else self.ready
        for i in range(self.ready):  # CPU: each ready pod serves its share of the rate
            pod = f"web-{RS}-p{i}"
            self.cpu_seconds[pod] = self.cpu_seconds.get(pod, 0.0) + 0.25 * rate / self.ready * 0.004

    def run(self) -> None:
        while not self._stop.wait(0.25):
            self.tick()

    def metrics(self) -> str:
        hpa = f'namespace="{NS}",horizontalpodautoscaler="web-hpa"'
        lines = [
            f'kube_deployment_spec_replicas{{namespace="{NS}",deployment="web"}} {self.desired}',
            f'kube_deployment_status_replicas_ready{{namespace="{NS}",deployment="web"}} {self.ready}',
            f'kube_deployment_spec_replicas{{namespace="{NS}",deployment="batch"}} 3',
            f'kube_deployment_status_replicas_ready{{namespace="{NS}",deployment="batch"}} 3',
            f'kube_horizontalpodautoscaler_info{{{hpa},scaletargetref_kind="Deployment",scaletargetref_name="web"}} 1',
            f"kube_horizontalpodautoscaler_status_desired_replicas{{{hpa}}} {self.desired}",
            f"kube_horizontalpodautoscaler_spec_min_replicas{{{hpa}}} 1",
            f"kube_horizontalpodautoscaler_spec_max_replicas{{{hpa}}} 5",
            f'kube_horizontalpodautoscaler_spec_target_metric{{{hpa},metric_name="cpu",metric_target_type="utilization"}}'
            " 60",
            f'kube_horizontalpodautoscaler_info{{namespace="{NS}",horizontalpodautoscaler="batch",'
            'scaletargetref_kind="Deployment",scaletargetref_name="batch"} 1',
        ]
        for pod, cpu in self.cpu_seconds.items():
            lines.append(f'container_cpu_usage_seconds_total{{namespace="{NS}",pod="{pod}",container="web"}} {cpu}')
            lines.append(f'kube_pod_container_resource_requests{{namespace="{NS}",pod="{pod}",container="web",'
                         f'resource="cpu",unit="core"}} {CPU_REQUEST}')  # fmt: skip
        return "\n".join(lines) + "\n"


@pytest.fixture
def cluster() -> Iterator[tuple[FakeCluster, str, str]]:
    """The target, the fake cluster's exporter, and a real Prometheus scraping it every second."""
    target = Server().start()
    fake = FakeCluster(target)
    ticker = threading.Thread(target=fake.run, daemon=True)
    ticker.start()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = fake.metrics().encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    exporter = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=exporter.serve_forever, daemon=True).start()
    prom: Process = prometheus([f"127.0.0.1:{exporter.server_address[1]}"])
    try:
        yield fake, target.url, prom.url
    finally:
        prom.stop()
        exporter.shutdown()
        fake._stop.set()
        target.stop()


def _run(tmp_path: Path, target: str, prom: str, slo: str = SLO) -> dict[str, dict[str, object]]:
    (tmp_path / "slo.yaml").write_text(slo)
    opts = RunOptions(
        scenario_file=scenario_file(tmp_path, rate=10, peak=5, phases={"baseline": 5, "ramp": 2, "peak": 13,
                                                                        "cooldown": 10}),
        scenario="t", locustfile=locustfile(tmp_path), slo=tmp_path / "slo.yaml", target=target, prometheus=prom,
        watch=("deployment/web",), runs_dir=tmp_path / "runs", home=str(tmp_path / "no-stack"),
    )  # fmt: skip
    summary, run_dir = execute(opts, print)
    assert summary.outcome != "invalid", summary.invalid_reasons
    (tmp_path / "run_dir").write_text(str(run_dir))
    return {v.objective: v.to_dict() for v in summary.verdicts}


def test_an_hpa_that_scales_out_in_time_passes_from_kube_state_metrics(
    cluster: tuple[FakeCluster, str, str], tmp_path: Path
) -> None:
    _, target, prom = cluster
    verdicts = _run(tmp_path, target, prom)
    run_dir = Path((tmp_path / "run_dir").read_text())
    for name in ("scale-out-after-spike", "max-replicas", "scale-in-after-cooldown"):
        assert verdicts[name]["status"] == "pass", verdicts[name]
    assert "web:" in str(verdicts["scale-out-after-spike"]["evidence"])
    assert verdicts["max-replicas"]["target"] == "<= hpa_max = 5"  # the bound came from the HPA's spec series
    ready = json.loads((run_dir / "metrics" / "replicas_ready.json").read_text())
    assert {r["metric"]["service"] for r in ready["data"]["result"]} == {"web"}  # --watch: batch is not judged
    assert "kube_deployment_status_replicas_ready" in ready["query"] and 'namespace="shop"' in ready["query"]
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["hpa"]["web"] == {"min": 1.0, "max": 5.0, "target_cpu_utilization": 60.0}
    assert max(float(v) for _, v in ready["data"]["result"][0]["values"]) >= 3  # it really scaled out
    cpu = json.loads((run_dir / "metrics" / "cpu_utilization.json").read_text())  # cAdvisor over the CPU requests
    assert {r["metric"]["service"] for r in cpu["data"]["result"]} == {"web"}, cpu.get("error")


def test_pods_stuck_pending_fail_the_scale_out_objectives(
    cluster: tuple[FakeCluster, str, str], tmp_path: Path
) -> None:
    fake, target, prom = cluster
    fake.pending = True
    # the SLO file can replace a default query: here the CPU series, with its own (the same, renamed) expression
    slo = SLO.replace("metrics: {namespace: shop}", "metrics:\n  namespace: shop\n  queries:\n    ready_web_pods: "
                      "'sum(kube_deployment_status_replicas_ready{deployment=\"web\"})'")  # fmt: skip
    verdicts = _run(tmp_path, target, prom, slo)
    run_dir = Path((tmp_path / "run_dir").read_text())
    assert verdicts["scale-out-after-spike"]["status"] == "fail", verdicts["scale-out-after-spike"]
    assert "never grew" in str(verdicts["scale-out-after-spike"]["evidence"])
    assert verdicts["max-replicas"]["status"] == "pass"
    extra = json.loads((run_dir / "metrics" / "ready_web_pods.json").read_text())
    assert extra["data"]["result"], "a query of the SLO file's own lands in the run folder"
