"""checkov (offline, --skip-download) passes on infra/terraform and infra/k8s with only documented skips.

checkov lives in its own venv (.venv-checkov, made by scripts/setup) because it pins boto3, packaging and
networkx below this project's ranges. It is run twice per session (module fixture), side by side (each keeps
one core busy): once with the config (must exit 0) and once without skips, to prove every skip suppresses a real
finding and nothing else fails.
Without --download-external-modules checkov sees the root module's resources and module *inputs*, not the
registry modules' internals; tests/infra/test_terraform.py asserts those inputs.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from _infra import ROOT

CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"
CONFIG = Path(__file__).with_name("checkov.yaml")
# The section starts in docs/deploy-aws.md; the lead may merge it into README.md: either place counts.
DOCS = [ROOT / "docs" / "deploy-aws.md", ROOT / "README.md"]
TARGETS = ["-d", "infra/terraform", "-d", "infra/k8s"]


@dataclass(frozen=True)
class _Run:
    returncode: int
    reports: list[dict[str, Any]]


def _parse(stdout: str) -> list[dict[str, Any]]:
    """checkov prints one JSON value per framework run (object or list); read them all."""
    decoder, pos, out = json.JSONDecoder(), 0, []
    while pos < len(stdout):
        if stdout[pos].isspace():
            pos += 1
            continue
        value, pos = decoder.raw_decode(stdout, pos)
        out += value if isinstance(value, list) else [value]
    return out


def _checkov(*args: str) -> subprocess.Popen[str]:
    """checkov started in the background with JSON output; :func:`_result` waits for it."""
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"}
    argv = [str(CHECKOV), *args, *TARGETS, "-o", "json"]
    return subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)


def _result(proc: subprocess.Popen[str]) -> _Run:
    try:
        stdout, _ = proc.communicate(timeout=180)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise
    return _Run(proc.returncode, _parse(stdout))


@pytest.fixture(scope="module")
def runs() -> tuple[_Run, _Run]:
    if not CHECKOV.exists():
        if os.environ.get("CI"):
            pytest.fail("checkov missing: scripts/setup should have created .venv-checkov")
        pytest.skip("checkov not installed; run scripts/setup")
    configured = _checkov("--config-file", str(CONFIG))
    unskipped = _checkov("--skip-download", "--compact", "--quiet", "--framework", "terraform", "kubernetes")
    try:
        return _result(configured), _result(unskipped)
    finally:
        for proc in (configured, unskipped):
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def _skips() -> set[str]:
    return set(yaml.safe_load(CONFIG.read_text())["skip-check"])


def _failed(run: _Run) -> set[str]:
    return {f["check_id"] for r in run.reports for f in r["results"]["failed_checks"]}


def test_checkov_passes_with_the_configured_skips(runs: tuple[_Run, _Run]) -> None:
    configured, _ = runs
    frameworks = {r["check_type"] for r in configured.reports}
    assert {"terraform", "kubernetes"} <= frameworks
    assert all(r["summary"]["parsing_errors"] == 0 for r in configured.reports)
    assert sum(r["summary"]["passed"] for r in configured.reports) > 100
    assert _failed(configured) == set()
    assert configured.returncode == 0


def test_every_skip_is_needed_and_nothing_else_fails(runs: tuple[_Run, _Run]) -> None:
    _, unskipped = runs
    assert unskipped.returncode != 0
    assert _failed(unskipped) == _skips()


def test_every_skip_is_documented_with_a_reason() -> None:
    text = "\n".join(p.read_text() for p in DOCS if p.exists())
    documented = set(re.findall(r"^\| `(CKV[0-9A-Z_]+)` \| .{10,}\|$", text, re.M))
    assert documented == _skips()
