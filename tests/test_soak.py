"""--soak: durations, the soak profile written as data into the run folder, the sampler's process list."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tenfold.errors import ConfigError, UsageError
from tenfold.load import load_scenario
from tenfold.memory import sample_interval
from tenfold.run import REPO
from tenfold.soak import parse_duration, soak_lengths, write_soak_scenario

SCENARIOS = REPO / "locustfiles" / "scenarios.yaml"


@pytest.mark.parametrize(("text", "seconds"), [("30m", 1800), ("90s", 90), ("1h30m", 5400), ("45", 45), ("1.5m", 90)])
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "ten minutes", "30x", "m", "5s"])
def test_bad_durations_are_usage_errors(text: str) -> None:
    with pytest.raises(UsageError, match="--soak"):
        parse_duration(text)


def test_soak_scenario_is_the_baseline_for_the_whole_duration(tmp_path: Path) -> None:
    dest = write_soak_scenario(SCENARIOS, "spike", 40, tmp_path / "scenario.yaml")
    profile = load_scenario(dest, "spike").profiles["soak"]
    assert profile.phases.model_dump() == soak_lengths(40) and profile.peak_multiplier == 1
    assert set(yaml.safe_load(dest.read_text())) == {"spike"}


def test_scenario_without_soak_profile_names_the_file(tmp_path: Path) -> None:
    src = tmp_path / "mine.yaml"
    src.write_text("spike:\n  profiles: {default: {baseline_rate: 1, phases: {}}}\n")
    with pytest.raises(ConfigError, match=r"mine\.yaml: scenario 'spike' has no 'soak' profile"):
        write_soak_scenario(src, "spike", 60, tmp_path / "out.yaml")


def test_sample_interval() -> None:
    assert sample_interval(40) == 1.0 and sample_interval(1800) == 5.0
