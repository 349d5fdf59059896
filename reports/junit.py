"""JUnit XML of the verdicts, so CI systems show one test case per objective x window.

Failures carry "measured X vs target Y"; "no data" is a skipped test (not a pass, not a failure);
an invalid run adds one errored case that names why, so CI never reports it green.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from reports.evaluate import Summary

__all__ = ["junit_xml", "write_junit"]


def junit_xml(summary: Summary) -> str:
    counts = summary.counts
    invalid = summary.outcome == "invalid"
    suite = ET.Element(
        "testsuite",
        name=f"tenfold SLO {summary.slo_name}",
        tests=str(len(summary.verdicts) + invalid),
        failures=str(counts["fail"]),
        errors=str(int(invalid)),
        skipped=str(counts["no-data"]),
    )
    if invalid:
        case = ET.SubElement(suite, "testcase", classname="tenfold.validity", name="run is valid")
        ET.SubElement(case, "error", message="; ".join(summary.invalid_reasons), type="invalid")
    for v in summary.verdicts:
        window = f"{v.window}, partial" if v.partial else v.window
        case = ET.SubElement(
            suite, "testcase", classname=f"tenfold.slo.{v.indicator}", name=f"{v.objective} [{window}]"
        )
        if v.status == "fail":
            failure = ET.SubElement(case, "failure", message=v.message, type="slo")
            failure.text = v.evidence
        elif v.status == "no-data":
            ET.SubElement(case, "skipped", message=f"no data: {v.evidence}")
        out = ET.SubElement(case, "system-out")
        how_far = f" ({v.margin_text}{', near the line' if v.near_line else ''})" if v.margin_text else ""
        out.text = f"{v.message}{how_far}\nevidence: {v.evidence}"
    suites = ET.Element("testsuites")
    suites.append(suite)
    ET.indent(suites)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


def write_junit(summary: Summary, path: Path) -> Path:
    path.write_text(junit_xml(summary), encoding="utf-8")
    return path
