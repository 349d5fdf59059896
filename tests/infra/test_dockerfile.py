"""The Dockerfile builds what the manifests run, checked offline (no Docker engine): a pinned slim base, a non-root
user, port 8080, and the manifests' ``python -m reference_services NAME`` as its entrypoint."""

from __future__ import annotations

import json
import re
import tomllib
from typing import Any

import pytest
from _infra import K8S, ROOT, k8s_docs

from reference_services import SERVICES

DOCKERFILE = ROOT / "Dockerfile"
IMAGE = "tenfold/reference-services"
PINNED_BASE = re.compile(r"^python:3\.11\.\d+-slim(-[a-z]+)?(@sha256:[0-9a-f]{64})?$")


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order; continuation lines joined, comments dropped."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, args = (pending + line).partition(" ")
        out.append((keyword.upper(), args.strip()))
        pending = ""
    return out


def problems(text: str, commands: list[list[str]]) -> list[str]:
    """What is wrong with a Dockerfile for containers started with ``commands`` (empty: nothing)."""
    ins = instructions(text)
    found: list[str] = []

    def last(keyword: str) -> str | None:
        return next((a for k, a in reversed(ins) if k == keyword), None)

    froms = [a for k, a in ins if k == "FROM"]
    if len(froms) != 1 or not PINNED_BASE.match(froms[0]):
        found.append(f"base image must be one python:3.11.PATCH-slim, pinned: {froms}")
    user = last("USER")
    if user is None or user.split(":")[0] in ("root", "0"):
        found.append(f"the image must run as a non-root USER, not {user!r}")
    if "8080" not in (last("EXPOSE") or "").split():
        found.append("EXPOSE 8080 (the manifests' containerPort) is missing")
    try:
        entry = json.loads(last("ENTRYPOINT") or "null") or []
        cmd = json.loads(last("CMD") or "null") or []
    except json.JSONDecodeError as exc:
        return [*found, f"ENTRYPOINT and CMD must be JSON arrays (exec form): {exc}"]
    if [*entry, *cmd][:3] != ["python", "-m", "reference_services"] or [*entry, *cmd][3:] not in [
        [s] for s in SERVICES
    ]:
        found.append(f"ENTRYPOINT + CMD {entry + cmd} is not `python -m reference_services NAME`")
    for command in commands:  # a manifest's `command` replaces the ENTRYPOINT: it must be ENTRYPOINT + NAME
        if command[: len(entry)] != entry or len(command) != len(entry) + len(cmd):
            found.append(f"the manifests' command {command} is not the ENTRYPOINT {entry} + a service name")
    return found


def _containers(under: str) -> list[dict[str, Any]]:
    return [c for path, doc in k8s_docs() if path.is_relative_to(K8S / under) and doc["kind"] == "Deployment"
            for c in doc["spec"]["template"]["spec"]["containers"]]  # fmt: skip


def test_the_dockerfile_builds_what_the_manifests_run() -> None:
    services = _containers("services")
    assert sorted(c["name"] for c in services) == sorted(SERVICES)
    commands = [c["command"] for c in services]
    assert commands and all(c[3:] == [n] for c, n in zip(commands, (c["name"] for c in services), strict=True))
    assert problems(DOCKERFILE.read_text(), commands) == []


def test_the_image_tag_is_the_one_the_manifests_use() -> None:
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    images = {c["image"] for c in _containers("services") + _containers("locust")}
    assert images == {f"{IMAGE}:{version}"}
    assert f"docker build -t {IMAGE}:{version} ." in DOCKERFILE.read_text()
    assert f"docker build -t {IMAGE}:{version} ." in (ROOT / "docs" / "deploy-aws.md").read_text()


def test_the_image_has_what_the_locust_manifests_run() -> None:
    """The Locust master and workers use the same image: their locustfile must be copied in, not ignored."""
    copied = {a.split()[0] for k, a in instructions(DOCKERFILE.read_text()) if k == "COPY"}
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines() if line.strip()}
    for container in _containers("locust"):
        locustfile = container["command"][container["command"].index("-f") + 1]
        assert (ROOT / locustfile).is_file() and locustfile.split("/")[0] in copied, locustfile
    for source in copied - {"pyproject.toml", "README.md"}:
        assert (ROOT / source).is_dir() and source not in ignored, source
    assert {"tests", "runs", ".venv", ".git"} <= ignored


GOOD = DOCKERFILE.read_text() if DOCKERFILE.is_file() else ""


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("FROM python:3.11.11-slim-bookworm", "FROM python:3.11-slim"), "base image"),
        (("FROM python:3.11.11-slim-bookworm", "FROM python:latest"), "base image"),
        (("USER 10001:10001", "USER root"), "non-root USER"),
        (("USER 10001:10001", ""), "non-root USER"),
        (("EXPOSE 8080", "EXPOSE 80"), "EXPOSE 8080"),
        (('CMD ["catalog"]', 'CMD ["search"]'), "is not `python -m reference_services NAME`"),
        (
            ('ENTRYPOINT ["python", "-m", "reference_services"]', 'ENTRYPOINT ["python", "-m", "uvicorn"]'),
            "is not `python -m reference_services NAME`",
        ),
        (('CMD ["catalog"]', "CMD catalog"), "JSON arrays"),
    ],
)
def test_a_wrong_dockerfile_is_caught(change: tuple[str, str], expected: str) -> None:
    old, new = change
    assert old in GOOD
    found = problems(GOOD.replace(old, new), [["python", "-m", "reference_services", "users"]])
    assert any(expected in p for p in found), found


def test_a_manifest_command_that_is_not_the_entrypoint_is_caught() -> None:
    for command in (["python3", "-m", "reference_services", "users"], ["python", "-m", "reference_services"]):
        assert any("is not the ENTRYPOINT" in p for p in problems(GOOD, [command])), command
