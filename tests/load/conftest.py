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


def scenario_file(tmp_path: Path, journeys: dict[str, float], *, rps: float, phases: dict[str, float],
                  peak: float = 1.0, arrivals: str = "uniform", max_in_flight: int = 256,
                  **extra: object) -> Path:  # fmt: skip
    """A one-scenario file named ``t`` with profile ``default``.

    Start-lag tolerance is relaxed (other test suites share the 2 cores); the saturation test passes
    ``health`` explicitly.
    """
    extra.setdefault("health", {"lag_p99_ms": 1000})
    doc = {"t": {"journeys": journeys, **extra, "profiles": {"default": {
        "baseline_rps": rps, "peak_multiplier": peak, "arrivals": arrivals, "max_in_flight": max_in_flight,
        "phases": {"baseline": 0, "ramp": 0, "peak": 0, "cooldown": 0} | phases}}}}  # fmt: skip
    p = tmp_path / "scenarios.yaml"
    p.write_text(yaml.safe_dump(doc))
    return p
