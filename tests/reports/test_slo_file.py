"""The SLO file: the default loads, and every kind of mistake names its line and the fix."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest

from reports.indicators.registry import names
from reports.slo import _TARGET_HELP, Target, load_slo, parse_slo
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
    assert {o.indicator for o in (*slo.objectives, *soak.objectives)} == set(names())
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


@pytest.mark.parametrize(
    ("text", "measured", "met"),
    [("<= 0.5", 0.5, True), ("<= 0.5", 0.6, False), ("< 0.5", 0.5, False), ("< 0.5", 0.4, True),
     (">= 0.5", 0.5, True), (">= 0.5", 0.4, False), ("> 0.5", 0.5, False), ("> 0.5", 0.6, True),
     ("== 0", 1e-13, True), ("== 0", 1e-11, False)],
)  # fmt: skip
def test_a_target_is_met_on_its_line_only_where_its_comparison_allows(text: str, measured: float, met: bool) -> None:
    assert Target.model_validate(text).met(measured) is met


def test_a_symbolic_target_is_met_against_its_resolved_value() -> None:
    t = Target.model_validate("<= hpa_max")
    assert t.met(8, limit=8) and not t.met(9, limit=8) and t.met(1e9)


@pytest.mark.parametrize(
    ("raw", "op", "value", "unit", "text"),
    [(3, "<=", 3.0, "count", "<= 3"), (" > 2s ", ">", 2.0, "s", "> 2s"), ("500ms", "<=", 0.5, "s", "500ms"),
     ("≥ 99%", ">=", 0.99, "ratio", "≥ 99%"), (True, "==", 1.0, "bool", "true"), ("TRUE", "==", 1.0, "bool", "true"),
     ("<= hpa_max", "<=", math.inf, "count", "<= hpa_max"), ("== 1e-3", "==", 0.001, "count", "== 1e-3")],
)  # fmt: skip
def test_target_forms(raw: object, op: str, value: float, unit: str, text: str) -> None:
    t = Target.model_validate(raw)
    assert (t.op, t.value, t.unit, t.text) == (op, pytest.approx(value), unit, text)
    assert t.symbolic == ("hpa_max" if "hpa_max" in text else None)


@pytest.mark.parametrize(
    ("raw", "message"),
    [(False, "cannot read target 'false'"), ([1], "target must be a string, got list"),
     ("about 3", "cannot read target 'about 3'")],
)  # fmt: skip
def test_bad_targets_say_what_would_do(raw: object, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message) + '.*write a comparison and a number, e.g. "<= 500ms"'):
        Target.model_validate(raw)


def _objective_error(**fields: object) -> str:
    o = {"name": "o", "window": "run", **fields}
    return str(_error(f"objectives:\n  - {json.dumps(o)}\n"))


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"indicator": "latency", "target": "<= 1s"}, "indicator 'latency' needs 'percentile' (e.g. percentile: 99)"),
        ({"indicator": "error_ratio", "target": "<= 1%", "percentile": 99},
         "'percentile' only applies to indicator 'latency', not 'error_ratio'"),
        ({"indicator": "scale_in", "target": "<= 1"}, "indicator 'scale_in' is yes/no: write target: true"),
        ({"indicator": "flapping", "target": "true"}, "indicator 'flapping' is measured, not yes/no: " + _TARGET_HELP),
        ({"indicator": "recovery_time", "window": "chaos:x", "target": ">= 99%"},
         "indicator 'recovery_time' is a duration: write e.g. '<= 500ms' or '<= 30s'"),
        ({"indicator": "availability", "target": ">= 2"},
         "indicator 'availability' is a ratio: write e.g. '>= 99.5%' or '<= 0.01'"),
        ({"indicator": "error_ratio", "target": "<= 1s"},
         "indicator 'error_ratio' is a ratio: write e.g. '>= 99.5%' or '<= 0.01'"),
        ({"indicator": "flapping", "target": "<= hpa_max"}, "'hpa_max' is only a target for indicator 'max_replicas'"),
        ({"indicator": "flapping", "target": "<= 2", "processes": ["a"]},
         "'processes' only applies to indicator 'memory_growth', not 'flapping'"),
        ({"indicator": "recovery_time", "target": "<= 30s"},
         "indicator 'recovery_time' needs a chaos window: chaos:<experiment> or chaos:*"),
        ({"indicator": "flapping", "target": "<= 2", "window": "chaos"},
         "unknown window 'chaos': use one of baseline, ramp, peak, cooldown, run, chaos:<experiment>, chaos:*"),
    ],
)  # fmt: skip
def test_each_field_must_fit_the_indicator(fields: dict[str, object], message: str) -> None:
    assert _objective_error(**fields).endswith(f": {message}")


@pytest.mark.parametrize(
    "fields",
    [{"indicator": "latency", "percentile": 99, "target": "<= 1s"},
     {"indicator": "latency", "percentile": 99, "target": "<= 3"},
     {"indicator": "error_ratio", "target": "<= 1"}, {"indicator": "max_replicas", "target": "<= hpa_max"},
     {"indicator": "memory_growth", "target": "<= 10%", "warmup": 0.2, "exclude": ["s3"]},
     {"indicator": "recovery_time", "target": "<= 30s", "window": "chaos:*"}],
)  # fmt: skip
def test_fields_that_fit(fields: dict[str, object]) -> None:
    assert parse_slo(f"objectives:\n  - {json.dumps({'name': 'o', 'window': 'run', **fields})}\n").objectives[0]


def test_metrics_watch_and_query_names() -> None:
    ok = parse_slo(GOOD + "metrics: {watch: [deployment/catalog-1.x], queries: {my_rate: 'rate(x[1m])'}}\n")
    assert ok.metrics.watch == ("deployment/catalog-1.x",) and ok.metrics.queries == {"my_rate": "rate(x[1m])"}
    assert "watch entries look like deployment/NAME (a Kubernetes name), not 'catalog'" in str(
        _error(GOOD + "metrics: {watch: [deployment/a, catalog]}\n")
    )
    assert "query names are lower_snake_case file names, not 'My-Rate'" in str(
        _error(GOOD + "metrics: {queries: {ok: x, My-Rate: y}}\n")
    )


def test_mistakes_name_the_fix_in_our_words() -> None:
    err = str(_error(GOOD.replace("indicator: writes_lost", "indicator: writes_lsot")))
    assert f"unknown indicator 'writes_lsot': use one of {', '.join(names())}" in err
    err = str(_error(GOOD.replace("    percentile: 99\n", "    percentil: 99\n")))
    assert "unknown key 'percentil' (check the spelling; see docs/reports.md for the keys)" in err
    err = str(_error(GOOD.replace("    window: peak\n", "    window: peak\n    measure: wall\n")))
    assert "measure" in err and "'co' or 'locust'" in err and "unknown indicator" not in err


def test_an_empty_or_flat_file_and_where_the_text_came_from(tmp_path: Path) -> None:
    assert str(_error("")) == "my-slo.yaml:1: the file is empty; it needs an 'objectives:' list"
    assert str(_error("- a\n")) == "my-slo.yaml:1: the top level must be a mapping with an 'objectives:' list"
    with pytest.raises(ConfigError, match=r"^<slo>:1: the file is empty"):
        parse_slo("")
    with pytest.raises(ConfigError) as info:
        load_slo(tmp_path / "nope.yaml")
    assert (
        str(info.value) == f"{tmp_path / 'nope.yaml'}: cannot read the SLO file: there is no such file; check the path"
    )
