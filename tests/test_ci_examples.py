"""examples/ci/ (docs/ci.md): the GitHub Actions workflow and the GitLab pipeline are valid for their platforms
(check-jsonschema's vendored schemas, offline), keep the run's report, summary and JUnit file whatever the outcome,
and call only make targets the Makefile has."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
GITHUB = ROOT / "examples" / "ci" / "github-actions.yml"
GITLAB = ROOT / "examples" / "ci" / ".gitlab-ci.yml"
KEPT = ("report.html", "summary.json", "junit.xml")
"""What a CI run must keep, pass or fail (docs/ci.md)."""


def _load(path: Path) -> dict[str, Any]:
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(doc, dict), f"{path}: not a YAML mapping"
    return doc


@pytest.mark.parametrize(
    ("path", "schema"),
    [(GITHUB, "vendor.github-workflows"), (GITLAB, "vendor.gitlab-ci")],
    ids=["github-actions", "gitlab-ci"],
)
def test_the_example_is_valid_for_its_platform(path: Path, schema: str) -> None:
    if importlib.util.find_spec("check_jsonschema") is None:
        pytest.fail(
            f"check-jsonschema is not installed in {sys.executable}: run `make setup` (it is a dev dependency)",
            pytrace=False,
        )
    r = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, str(path)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert r.returncode == 0, f"{path.relative_to(ROOT)} against {schema}:\n{r.stdout}{r.stderr}"


def _github_jobs() -> dict[str, Any]:
    jobs = _load(GITHUB)["jobs"]
    assert isinstance(jobs, dict) and jobs
    return jobs


def _steps_using(job: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [s for s in job.get("steps", []) if str(s.get("uses", "")).split("@")[0] == action]


def _always(step: dict[str, Any]) -> bool:
    return str(step.get("if", "")).replace("${{", "").replace("}}", "").strip() == "always()"


@pytest.mark.parametrize("name", list(_github_jobs()))
def test_every_github_job_keeps_report_summary_and_junit_whatever_the_outcome(name: str) -> None:
    job = _github_jobs()[name]
    uploads = _steps_using(job, "actions/upload-artifact")
    assert uploads, f"job {name}: no actions/upload-artifact step"
    for step in uploads:
        assert _always(step), f"job {name}: the upload must say `if: always()` (a failed run's report is the point)"
        path = str(step.get("with", {}).get("path", ""))
        missing = [f for f in KEPT if f not in path]
        assert not missing, f"job {name}: the upload's path does not keep {missing}"
    junit = _steps_using(job, "mikepenz/action-junit-report")
    assert junit, f"job {name}: the verdicts are not published (mikepenz/action-junit-report)"
    for step in junit:
        assert _always(step), f"job {name}: JUnit publishing must say `if: always()`"
        assert "junit.xml" in str(step.get("with", {}).get("report_paths", ""))


def _gitlab_jobs() -> dict[str, dict[str, Any]]:
    """Each job that runs (not hidden, not a keyword) with what it `extends` merged in, as GitLab merges it."""
    doc = _load(GITLAB)
    keywords = {"stages", "variables", "default", "include", "workflow", "image", "services", "cache", "before_script",
                "after_script"}  # fmt: skip

    def resolved(name: str) -> dict[str, Any]:
        job = dict(doc[name])
        parents = job.pop("extends", [])
        merged: dict[str, Any] = {}
        for parent in [parents] if isinstance(parents, str) else parents:
            merged = _merge(merged, resolved(parent))
        return _merge(merged, job)

    runnable = [n for n, v in doc.items() if n not in keywords and not n.startswith(".") and isinstance(v, dict)]
    return {n: resolved(n) for n in runnable}


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


@pytest.mark.parametrize("name", list(_gitlab_jobs()))
def test_every_gitlab_job_keeps_report_summary_and_junit_whatever_the_outcome(name: str) -> None:
    artifacts = _gitlab_jobs()[name].get("artifacts") or {}
    assert artifacts.get("when") == "always", f"job {name}: artifacts need `when: always`"
    paths = " ".join(artifacts.get("paths") or [])
    missing = [f for f in KEPT if f not in paths]
    assert not missing, f"job {name}: artifacts:paths does not keep {missing}"
    junit = (artifacts.get("reports") or {}).get("junit")
    assert junit and "junit.xml" in str(junit), f"job {name}: no artifacts:reports:junit"


def _makefile_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    return {m.group(1) for m in re.finditer(r"^([A-Za-z0-9_.-]+)\s*:(?!=)", text, re.MULTILINE)}


def _commands() -> Iterator[tuple[str, str]]:
    for name, job in _github_jobs().items():
        for step in job.get("steps", []):
            if "run" in step:
                yield f"{GITHUB.name}:{name}", str(step["run"])
    for name, job in _gitlab_jobs().items():
        for key in ("before_script", "script", "after_script"):
            lines = job.get(key) or []
            for line in [lines] if isinstance(lines, str) else lines:
                yield f"{GITLAB.name}:{name}", str(line)


def _make_targets(command: str) -> list[str]:
    """The targets of every `make ...` in command position of a shell command (options and VAR=value skipped)."""
    targets = []
    start = r"(?:^|[;&|(]|\bthen|\bdo|\belse)[ \t]*"
    for m in re.finditer(start + r"make(?!\S)((?:[ \t]+[^\s;&|)]+)*)", command, re.MULTILINE):
        targets += [w for w in m.group(1).split() if not w.startswith("-") and "=" not in w]
    return targets


def test_every_make_target_the_examples_call_exists() -> None:
    have = _makefile_targets()
    called = [(where, t) for where, cmd in _commands() for t in _make_targets(cmd)]
    assert {t for _, t in called} >= {"setup", "demo-quick"}, called  # what docs/ci.md says the jobs run
    unknown = [(where, t) for where, t in called if t not in have]
    assert not unknown, f"make targets not in the Makefile: {unknown} (it has {sorted(have)})"


def test_make_targets_are_read_from_shell_commands() -> None:
    assert _make_targets("make setup") == ["setup"]
    assert _make_targets("apt-get install -y make git\n  make -j2 demo-quick V=1 && echo ok") == ["demo-quick"]
    assert _make_targets("if [ -d x ]; then make bench; fi") == ["bench"]
    assert _make_targets("cd x; make lint test") == ["lint", "test"]
    assert _make_targets(".venv/bin/tenfold run --quick") == []
