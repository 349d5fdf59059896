"""What scripts/setup leaves behind that the suite's speed depends on: bytecode for every venv's packages.

uv installs none, and with ``PYTHONDONTWRITEBYTECODE`` set (as on these machines) no process writes any: without it,
each of the suite's ~500 Python processes compiled its imports from source (`make test`: 770 s of pytest instead of
618 s in a fresh clone, docs/calibration.md)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from servers import ROOT

VENVS = (".venv", ".venv-checkov", ".venv-thirdparty")


@pytest.mark.parametrize("venv", VENVS)
def test_setup_compiled_nearly_every_module_of_the_venv(venv: str) -> None:
    """At least 95% of the venv's modules have their bytecode (a few files that packages ship are not Python 3.11:
    templates, test data). A run of the suite imports far fewer than that, so this fails when setup skipped the step
    even where processes may write bytecode."""
    site = next((ROOT / venv / "lib").glob("python3*/site-packages"), None)
    assert site is not None, f"no {venv}: scripts/setup makes it"
    sources = list(site.rglob("*.py"))
    compiled = sum(Path(importlib.util.cache_from_source(str(s))).is_file() for s in sources)
    assert sources and compiled / len(sources) >= 0.95, f"{venv}: {compiled} of {len(sources)} modules compiled"
