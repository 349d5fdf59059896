"""Following the load while it runs: when the arrival clock started, and a tick of where it stands (phase, request
rate, ready replicas from Prometheus when there is one, faults in progress)."""

from __future__ import annotations

import contextlib
import subprocess
import time
from pathlib import Path

from tenfold.inject.injector import Injector
from tenfold.inject.schedule import PHASES
from tenfold.interrupts import Interrupts
from tenfold.layout import LOAD_PLAN
from tenfold.output import Tick
from tenfold.run_manifest import read_json

__all__ = ["LiveStatus", "load_started"]


class LiveStatus:
    """Where the load stands: phase, request rate, ready replicas (from Prometheus, best effort), faults."""

    def __init__(self, prometheus: str | None, phase_starts: dict[str, float], t0: float, total: float) -> None:
        self.prometheus = prometheus
        self.phase_starts = phase_starts
        self.t0 = t0
        self.total = total

    def tick(self, injector: Injector) -> Tick:
        elapsed = time.time() - self.t0
        phase = next((p for p in reversed(PHASES) if elapsed >= self.phase_starts[p]), "baseline")
        rate: float | None = None
        replicas: dict[str, int] = {}
        if self.prometheus:
            with contextlib.suppress(Exception):
                found = self._q("sum(rate(http_requests_total[5s]))")
                rate = found[0][1] if found else 0.0
                ready = self._q('sum by (service) (tenfold_replicas{state="ready"})')
                replicas = {m.get("service", "?"): round(v) for m, v in ready}
        active = [r.name for r in injector.records if r.start and not r.end]
        return Tick(elapsed=elapsed, total=self.total, phase=phase, rate=rate, replicas=replicas, faults=active)

    def _q(self, query: str) -> list[tuple[dict[str, str], float]]:
        from tenfold.promql import Prometheus

        assert self.prometheus is not None
        with Prometheus(self.prometheus, timeout_s=2) as prom:
            return [(s.labels, s.value) for s in prom.instant(query)]


def load_started(
    run_dir: Path, locust: subprocess.Popen[bytes], t_launch: float, sig: Interrupts, wait_s: float
) -> float:
    """When the arrival clock started: ``load-plan.json`` says, as soon as Locust has started the test."""
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline and locust.poll() is None and not sig.stop.is_set():
        plan = read_json(run_dir / LOAD_PLAN)
        if plan and isinstance(plan.get("started"), int | float):
            return float(plan["started"])
        sig.sleep(0.1)
    return t_launch + 1.5  # Locust's usual start-up; the manifest uses the phases load.json records
