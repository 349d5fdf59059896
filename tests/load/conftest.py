from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from ._server import Server


@pytest.fixture
def server() -> Iterator[Server]:
    s = Server().start()
    yield s
    s.stop()


STATIC = """
from locust import FastHttpUser, task

class Static(FastHttpUser):
    @task
    def hit(self):
        self.client.get("/", headers={"X-Priority": "best-effort"})
"""
"""The calibration workload: one GET of a static path per arrival."""


def scenario_file(tmp_path: Path, *, rate: float, phases: dict[str, float], peak: float = 1.0,
                  arrivals: str = "uniform", max_in_flight: int = 256, **extra: object) -> Path:  # fmt: skip
    """A one-scenario file named ``t`` with profile ``default``.

    Start-lag tolerance is relaxed (other test suites share the 2 cores); the saturation test passes
    ``health`` explicitly.
    """
    extra.setdefault("health", {"lag_p99_ms": 1000})
    doc = {"t": {**extra, "profiles": {"default": {
        "baseline_rate": rate, "peak_multiplier": peak, "arrivals": arrivals, "max_in_flight": max_in_flight,
        "phases": {"baseline": 0, "ramp": 0, "peak": 0, "cooldown": 0} | phases}}}}  # fmt: skip
    p = tmp_path / "scenarios.yaml"
    p.write_text(yaml.safe_dump(doc))
    return p


def locustfile(tmp_path: Path, source: str = STATIC, name: str = "lf.py") -> Path:
    p = tmp_path / name
    p.write_text(source)
    return p
