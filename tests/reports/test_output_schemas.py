"""summary.json and junit.xml hold to their published schemas: docs/summary.schema.json (with a schema_version)
and the common JUnit schema (tests/junit.xsd), checked by real validators for passing, failing, invalid and
interrupted runs. (Real run folders: tests/thirdparty/test_httpbin.py validates its own too.)"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import jsonschema
import pytest
import xmlschema
from outputs import JUNIT, SUMMARY_SCHEMA, check_outputs, placeholders, visible_text

from reports.evaluate import SUMMARY_SCHEMA_VERSION, evaluate
from reports.render import render
from reports.slo import SloFile


@pytest.mark.parametrize("name", ["default", "no_fallbacks", "starved_generator", "never_recovers"])
def test_every_kind_of_run_writes_valid_outputs(
    runs: Callable[[str], Path], slo: SloFile, tmp_path: Path, name: str
) -> None:
    run = tmp_path / name
    shutil.copytree(runs(name), run)
    render(run, evaluate(run, slo))
    summary = check_outputs(run)
    assert summary["schema_version"] == SUMMARY_SCHEMA_VERSION == 1


def test_an_interrupted_run_with_partial_windows_writes_valid_outputs(runs: Callable[[str], Path], slo: SloFile,
                                                                      tmp_path: Path) -> None:  # fmt: skip
    run = tmp_path / "cut"
    shutil.copytree(runs("default"), run)
    manifest = json.loads((run / "manifest.json").read_text())
    peak = next(p for p in manifest["phases"] if p["name"] == "peak")
    cut = (peak["start"] + peak["end"]) / 2
    manifest["phases"] = [{**p, "end": min(p["end"], cut), **({"partial": True} if p is peak else {})}
                          for p in manifest["phases"] if p["start"] < cut]  # fmt: skip
    manifest["interrupted_at"], manifest["ended"] = cut, cut
    manifest["validity"] = {"valid": False, "reasons": ["interrupted by SIGTERM"]}
    (run / "manifest.json").write_text(json.dumps(manifest))
    render(run, evaluate(run, slo))
    summary = check_outputs(run)
    partial = {v["window"] for v in summary["verdicts"] if v["partial"]}
    assert {"peak", "run"} <= partial and "interrupted by SIGTERM" in (run / "junit.xml").read_text()


def test_the_validators_catch_what_they_are_for(runs: Callable[[str], Path], slo: SloFile, tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(runs("default"), run)
    render(run, evaluate(run, slo))
    summary = json.loads((run / "summary.json").read_text())
    del summary["schema_version"]
    with pytest.raises(jsonschema.ValidationError, match="schema_version"):
        jsonschema.validate(summary, SUMMARY_SCHEMA)
    xml = (run / "junit.xml").read_text()
    for broken in (xml.replace(' timestamp="', ' stamp="'), xml.replace(' hostname="', ' host="'),
                   xml.replace("<system-out>", "<system-log>").replace("</system-out>", "</system-log>")):  # fmt: skip
        with pytest.raises(xmlschema.XMLSchemaValidationError):
            JUNIT.validate(broken)
    report = (run / "report.html").read_text()
    assert placeholders(visible_text(report)) == []
    # a figure gone missing shows as Python's None: caught, with its context; the same word in a script is not text
    broken = report.replace("</body>", "<p>target <b>None</b> rps</p><script>let x = null;</script></body>")
    (found,) = placeholders(visible_text(broken))
    assert found.endswith("target None rps")
    assert placeholders(visible_text('<td title="p99 nan s">-</td>')) == ["p99 nan s -"]
