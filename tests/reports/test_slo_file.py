"""The SLO file: the default loads, and every kind of mistake names its line and the fix."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from reports.slo import INDICATORS, Target, load_slo, parse_slo
from tenfold.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]

GOOD = """\
objectives:
  - name: peak-p99
    indicator: latency
    percentile: 99
    window: peak
    target: "<= 500ms"
  - name: durability
    indicator: writes_lost
    window: run
    target: "== 0"
"""


def _error(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        parse_slo(text, "my-slo.yaml")
    return info.value


def test_default_slo_files_cover_every_indicator() -> None:
    slo, soak = load_slo(ROOT / "slo.yaml"), load_slo(ROOT / "slo-soak.yaml")
    assert {o.indicator for o in (*slo.objectives, *soak.objectives)} == set(INDICATORS)
    assert (slo.name, soak.name) == ("spike-default", "soak")


def test_good_file_parses_targets_into_base_units() -> None:
    slo = parse_slo(GOOD)
    p99 = slo.objectives[0]
    assert (p99.target.op, p99.target.value, p99.target.unit) == ("<=", 0.5, "s")
    assert slo.objectives[1].target.met(0) and not slo.objectives[1].target.met(1)


@pytest.mark.parametrize(
    ("text", "op", "value", "unit"),
    [
        ("< 2s", "<", 2.0, "s"),
        (">= 99.5%", ">=", 0.995, "ratio"),
        ("≤ 3", "<=", 3.0, "count"),
        ("true", "==", 1.0, "bool"),
    ],
)
def test_target_syntax(text: str, op: str, value: float, unit: str) -> None:
    t = Target.model_validate(text)
    assert (t.op, t.unit) == (op, unit) and math.isclose(t.value, value)


def test_unknown_indicator_names_line_and_choices() -> None:
    err = _error(GOOD.replace("indicator: writes_lost", "indicator: writes_lsot"))
    assert err.line == 8 and err.path == "my-slo.yaml"
    assert "my-slo.yaml:8:" in str(err) and "writes_lsot" in str(err) and "writes_lost" in str(err)


def test_bad_window_names_line_and_choices() -> None:
    err = _error(GOOD.replace("window: peak", "window: peek"))
    assert err.line == 5
    assert "peek" in str(err) and "chaos:<experiment>" in str(err)


def test_bad_target_syntax_names_line_and_example() -> None:
    err = _error(GOOD.replace('"<= 500ms"', '"under half a second"'))
    assert err.line == 6
    assert "under half a second" in str(err) and "<= 500ms" in str(err)


def test_unknown_key_is_a_typo_not_ignored() -> None:
    err = _error(GOOD.replace("    percentile: 99\n", "    percentil: 99\n"))
    assert err.line == 4 and "percentil" in str(err)


def test_missing_percentile_names_the_objective() -> None:
    err = _error(GOOD.replace("    percentile: 99\n", ""))
    assert err.line == 2 and "percentile" in str(err)


def test_wrong_unit_for_indicator() -> None:
    err = _error(GOOD.replace('"<= 500ms"', '">= 99%"'))
    assert err.line == 2 and "duration" in str(err)


def test_duplicate_names_and_yaml_syntax() -> None:
    assert "twice" in str(_error(GOOD.replace("name: durability", "name: peak-p99")))
    err = _error(GOOD + "  - name: [unclosed\n")
    assert err.line is not None and err.line >= 11 and "YAML" in str(err)


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_slo(tmp_path / "nope.yaml")
    assert ConfigError.exit_code == 65
