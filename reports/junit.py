"""JUnit XML of the verdicts, so CI systems show one test case per objective x window.

Strict to the common (Apache Ant) JUnit schema, which the stricter consumers validate against
(tests/junit.xsd): a ``testsuite`` with ``name``, ``timestamp`` (UTC, no zone), ``hostname``, ``tests``,
``failures``, ``errors``, ``skipped`` and ``time``, its ``properties`` (the run), one ``testcase`` per verdict
(``name``, ``classname``, ``time``), and ``system-out`` with one line per verdict. Failures carry "measured X vs
target Y" (and how far over); "no data" is a skipped case (not a pass, not a failure); an invalid run adds one
errored case that names why, so CI never reports it green.
"""

from __future__ import annotations

import platform
import time
import xml.etree.ElementTree as ET
from pathlib import Path

from reports.evaluate import Summary, Verdict

__all__ = ["junit_xml", "write_junit"]


def _line(v: Verdict) -> str:
    how_far = f" ({v.margin_text}{', near the line' if v.near_line else ''})" if v.margin_text else ""
    window = f"{v.window}, partial" if v.partial else v.window
    return f"{v.status.upper():7} {v.objective} [{window}]: {v.measured_text} vs {v.target}{how_far} - {v.evidence}"


def junit_xml(summary: Summary) -> str:
    counts = summary.counts
    invalid = summary.outcome == "invalid"
    started = summary.started if summary.started is not None else summary.generated
    duration = (summary.ended - summary.started) if summary.started is not None and summary.ended is not None else 0.0
    suite = ET.Element(
        "testsuite",
        name=f"tenfold SLO {summary.slo_name}",
        package="tenfold",
        id="0",
        tests=str(len(summary.verdicts) + invalid),
        failures=str(counts["fail"]),
        errors=str(int(invalid)),
        skipped=str(counts["no-data"]),
        time=f"{max(0.0, duration):.3f}",
        timestamp=time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(started)),
        hostname=platform.node() or "localhost",
    )
    props = ET.SubElement(suite, "properties")
    for name, value in (("run_id", summary.run_id), ("run_dir", summary.run_dir), ("outcome", summary.outcome),
                        *((f"control.{k}", str(v).lower()) for k, v in summary.controls.items())):  # fmt: skip
        ET.SubElement(props, "property", name=name, value=value)
    if invalid:
        case = ET.SubElement(suite, "testcase", classname="tenfold.validity", name="run is valid", time="0")
        ET.SubElement(case, "error", message="; ".join(summary.invalid_reasons), type="invalid")
    for v in summary.verdicts:
        window = f"{v.window}, partial" if v.partial else v.window
        name = f"{v.objective} [{window}]"
        case = ET.SubElement(suite, "testcase", classname=f"tenfold.slo.{v.indicator}", name=name, time="0")
        if v.status == "fail":
            how_far = f" ({v.margin_text})" if v.margin_text else ""
            failure = ET.SubElement(case, "failure", message=v.message + how_far, type="slo")
            failure.text = v.evidence
        elif v.status == "no-data":
            ET.SubElement(case, "skipped", message=f"no data: {v.evidence}")
    out = ET.SubElement(suite, "system-out")
    out.text = "\n".join(_line(v) for v in summary.verdicts) + "\n"
    ET.SubElement(suite, "system-err").text = "\n".join(f"invalid: {r}" for r in summary.invalid_reasons)
    suites = ET.Element("testsuites")
    suites.append(suite)
    ET.indent(suites)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


def write_junit(summary: Summary, path: Path) -> Path:
    path.write_text(junit_xml(summary), encoding="utf-8")
    return path
