"""The indicator registry: one row per indicator gives the SLO file its names, units and rules, evaluate its units
and docs/reports.md its table; a new indicator is a function and a row (the docs' example is added here)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from reports.evaluate import evaluate
from reports.indicators import Indicator, Measurement, registry
from reports.indicators.requests import _FILTERS, _filters, _rows, latency
from reports.runfolder import RunFolder
from reports.slo import Objective, parse_slo
from reports.windows import Window, resolve
from tenfold.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "reports.md"
BEGIN = "<!-- indicators-table: generated from reports/indicators/registry.py by tests/reports/test_registry.py -->\n"
END = "<!-- /indicators-table -->"


def shed_ratio(run: RunFolder, o: Objective, w: Window) -> Measurement:
    """docs/reports.md's example, as written there."""
    got = _rows(run, o, w)
    if isinstance(got, Measurement):
        return got
    req, m, n = got
    shed = m.count_true(req.shed)
    return Measurement(shed / n, f"{shed} shed of {n} requests{_filters(o)}")


SHED_RATIO = Indicator("shed_ratio", "ratio", "shed rows ÷ all rows", _FILTERS, "requests.parquet", function=shed_ratio)


@pytest.fixture
def with_shed_ratio() -> Iterator[None]:
    """The registry with the docs' example added; as it was (order included) afterwards."""
    saved = dict(registry.REGISTRY)
    registry.register(SHED_RATIO)
    try:
        yield
    finally:
        registry.REGISTRY.clear()
        registry.REGISTRY.update(saved)


def _slo(objective: str) -> str:
    return f"objectives:\n  - name: x\n{objective}"


def test_the_docs_table_is_the_registry() -> None:
    """TENFOLD_UPDATE_README=1 rewrites docs/reports.md's table from the registry."""
    text = DOCS.read_text()
    assert BEGIN in text and END in text, "docs/reports.md needs the indicators-table markers"
    head, rest = text.split(BEGIN)
    table, tail = rest.split(END)
    if os.environ.get("TENFOLD_UPDATE_README") == "1":
        DOCS.write_text(head + BEGIN + registry.docs_table() + END + tail)
        return
    assert table == registry.docs_table()
    for name in registry.names():
        assert f"| `{name}` |" in table


def test_an_unregistered_name_is_refused_with_the_list() -> None:
    with pytest.raises(ConfigError) as e:
        parse_slo(_slo("    indicator: shed_ratio\n    window: peak\n    target: '<= 1%'\n"), "slo.yaml")
    assert "slo.yaml:3:16: objectives[0].indicator: unknown indicator 'shed_ratio': use one of latency," in str(e.value)


def test_a_registered_indicator_is_accepted_judged_by_its_unit_and_documented(
    with_shed_ratio: None, runs: Callable[[str], Path]
) -> None:
    slo = parse_slo(_slo("    indicator: shed_ratio\n    window: peak\n    priority: critical\n    target: '<= 1%'\n"))
    summary = evaluate(runs("default"), slo)
    (v,) = summary.verdicts
    assert v.indicator == "shed_ratio" and v.status == "pass" and v.measured is not None and v.measured <= 0.01
    assert v.unit == "ratio" and v.measured_text.endswith("%") and "shed of" in v.evidence
    strict = parse_slo(_slo("    indicator: shed_ratio\n    window: peak\n    priority: best-effort\n    target: 0\n"))
    (b,) = evaluate(runs("default"), strict).verdicts
    assert b.status == "fail" and b.measured is not None and b.measured > 0  # the default run sheds best-effort
    with pytest.raises(ConfigError, match=r"slo\.yaml:2:5: objectives\[0\]: indicator .shed_ratio. is a ratio"):
        parse_slo(_slo("    indicator: shed_ratio\n    window: peak\n    target: '<= 500ms'\n"), "slo.yaml")
    assert "| `shed_ratio` | ratio | shed rows ÷ all rows |" in registry.docs_table()


def test_a_row_decides_the_rules_of_its_objectives(with_shed_ratio: None) -> None:
    row = Indicator("p_slow", "s", "m", "p", "e", function=latency, needs={"percentile": "percentile: 90"},
                    keys=("percentile",), symbolic=("hpa_max",), chaos_only=True)  # fmt: skip
    del registry.REGISTRY["latency"]  # percentile may belong to one indicator only
    registry.register(row)
    with pytest.raises(ConfigError, match=r"indicator 'p_slow' needs 'percentile' \(e.g. percentile: 90\)"):
        parse_slo(_slo("    indicator: p_slow\n    window: 'chaos:*'\n    target: '<= 1s'\n"))
    with pytest.raises(ConfigError, match=r"'percentile' only applies to indicator 'p_slow', not 'shed_ratio'"):
        parse_slo(_slo("    indicator: shed_ratio\n    window: peak\n    percentile: 90\n    target: '<= 1%'\n"))
    with pytest.raises(ConfigError, match=r"indicator 'p_slow' needs a chaos window"):
        parse_slo(_slo("    indicator: p_slow\n    window: peak\n    percentile: 90\n    target: '<= 1s'\n"))
    with pytest.raises(ConfigError, match=r"'hpa_max' is only a target for indicator 'max_replicas' or 'p_slow'"):
        parse_slo(_slo("    indicator: flapping\n    window: peak\n    target: '<= hpa_max'\n"))
    ok = parse_slo(_slo("    indicator: p_slow\n    window: 'chaos:*'\n    percentile: 90\n    target: '<= hpa_max'\n"))
    assert ok.objectives[0].indicator == "p_slow"


def test_a_name_registers_once_and_a_row_measures_one_way() -> None:
    with pytest.raises(ValueError, match="'latency' is registered twice"):
        registry.register(Indicator("latency", "s", "m", "p", "e", function=latency))
    with pytest.raises(ValueError, match="set exactly one of function and per_process"):
        Indicator("none", "count", "m", "p", "e")
    with pytest.raises(ValueError, match="set exactly one of function and per_process"):
        Indicator("both", "count", "m", "p", "e", function=latency, per_process=lambda r, o, w: [])


def test_measure_refuses_an_indicator_measured_per_process(runs: Callable[[str], Path]) -> None:
    slo = parse_slo(_slo("    indicator: memory_growth\n    window: run\n    target: '<= 10%'\n"))
    run = RunFolder(runs("default"))
    (w,) = resolve("run", run.manifest)
    with pytest.raises(ValueError, match="one measurement per process: use measure_each"):
        registry.measure(run, slo.objectives[0], w)
