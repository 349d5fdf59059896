"""The run folder's outputs: summary.json and junit.xml against their schemas (docs/summary.schema.json, the common
JUnit schema in tests/junit.xsd), and report.html's visible text free of Python's and JavaScript's placeholders
(``None``, ``nan``, ``undefined``). For any test that has a run folder at hand (tests/reports/test_output_schemas.py,
the reference runs of tests/test_run.py, the real runs of tests/thirdparty)."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import jsonschema
import xmlschema

__all__ = ["JUNIT", "SUMMARY_SCHEMA", "check_outputs", "placeholders", "visible_text"]

ROOT = Path(__file__).resolve().parents[1]
SUMMARY_SCHEMA: dict[str, Any] = json.loads((ROOT / "docs" / "summary.schema.json").read_text())
JUNIT = xmlschema.XMLSchema(str(ROOT / "tests" / "junit.xsd"))


def check_outputs(run_dir: Path) -> dict[str, Any]:
    """Validate a run folder's summary.json and junit.xml (raises on the first violation); returns the summary."""
    summary: dict[str, Any] = json.loads((run_dir / "summary.json").read_text())
    jsonschema.validate(summary, SUMMARY_SCHEMA)
    JUNIT.validate(str(run_dir / "junit.xml"))
    shown = placeholders(visible_text((run_dir / "report.html").read_text()))
    assert not shown, f"{run_dir / 'report.html'} shows placeholders where figures belong: {shown}"
    return summary


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "template"):
            self._hidden += 1
        self.parts.extend(v for k, v in attrs if k in ("title", "alt") and v)  # shown on hover / instead of images

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "template") and self._hidden:
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def visible_text(html: str) -> str:
    """What a reader sees of a page (and its tooltips), scripts and styles left out."""
    parser = _Text()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


_PLACEHOLDER = re.compile(r"\b(None|nan|NaN|undefined|null)\b")


def placeholders(text: str) -> list[str]:
    """Each placeholder with the words around it (``achieved None rps``), for the failure message."""
    return [text[max(0, m.start() - 40) : m.end() + 20].strip() for m in _PLACEHOLDER.finditer(text)]
