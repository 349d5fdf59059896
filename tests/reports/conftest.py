"""Synthetic run folders shared by the report tests: built once per session, each breaking one thing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from synthetic import Knobs, make_run

from reports.slo import SloFile, load_slo

ROOT = Path(__file__).resolve().parents[2]
ROWS = 20_000

# name -> knobs; "default" must pass every objective of the default slo.yaml
RUNS: dict[str, Knobs] = {
    "default": Knobs(rows=ROWS),
    "no_autoscaling": Knobs(rows=ROWS, autoscaling=False),
    "no_fallbacks": Knobs(rows=ROWS, fallbacks=False),
    "lost_write": Knobs(rows=ROWS, lost_writes=1),
    "starved_generator": Knobs(rows=ROWS, generator_valid=False),
    "shed_critical_first": Knobs(rows=ROWS, shed_critical_first=True),
    "flapping": Knobs(rows=ROWS, flapping=True),
    "no_scale_in": Knobs(rows=ROWS, scale_in=False),
    "never_recovers": Knobs(rows=ROWS, never_recover=True),
    "over_hpa_max": Knobs(rows=ROWS, exceed_max=True),
    "crash": Knobs(rows=ROWS, crash=True),
    "same_as_default": Knobs(rows=ROWS, seed=2),
    "twice_slower": Knobs(rows=ROWS, seed=3, latency_factor=2.0),
}


@pytest.fixture(scope="session")
def slo() -> SloFile:
    return load_slo(ROOT / "slo.yaml")


@pytest.fixture(scope="session")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    base = tmp_path_factory.mktemp("runs")
    made: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name not in made:
            made[name] = make_run(base / name, RUNS[name])
        return made[name]

    return get


@pytest.fixture
def run_copy(runs: Callable[[str], Path], tmp_path: Path) -> Callable[[str], Path]:
    """A private copy of a session run, for tests that delete or edit evidence."""
    import shutil

    def get(name: str) -> Path:
        dst = tmp_path / name
        shutil.copytree(runs(name), dst)
        return dst

    return get
