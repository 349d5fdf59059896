"""The run folder's machine-readable outputs against their schemas: docs/summary.schema.json and the common JUnit
schema (tests/junit.xsd). For any test that has a run folder at hand (tests/reports/test_output_schemas.py, and the
real runs of tests/thirdparty)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import xmlschema

__all__ = ["JUNIT", "SUMMARY_SCHEMA", "check_outputs"]

ROOT = Path(__file__).resolve().parents[1]
SUMMARY_SCHEMA: dict[str, Any] = json.loads((ROOT / "docs" / "summary.schema.json").read_text())
JUNIT = xmlschema.XMLSchema(str(ROOT / "tests" / "junit.xsd"))


def check_outputs(run_dir: Path) -> dict[str, Any]:
    """Validate a run folder's summary.json and junit.xml (raises on the first violation); returns the summary."""
    summary: dict[str, Any] = json.loads((run_dir / "summary.json").read_text())
    jsonschema.validate(summary, SUMMARY_SCHEMA)
    JUNIT.validate(str(run_dir / "junit.xml"))
    return summary
