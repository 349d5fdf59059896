"""The Dockerfile builds what the manifests run, checked offline (no Docker engine): a pinned slim base, a non-root
user, port 8080, the manifests' ``python -m reference_services NAME`` as its entrypoint, and by default only the
``services`` extra, installed from uv.lock (the harness's Locust, Chaos Toolkit, moto, SciPy and Matplotlib stay out
of the services' image; the load generator's image is the same file built with ``--build-arg EXTRA=harness``)."""

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
LOAD_IMAGE = "tenfold/load-generator"
# What a replica must never carry: the harness's load, chaos, AWS-emulator and analysis packages.
HARNESS_ONLY = ("locust", "chaostoolkit", "chaostoolkit-lib", "moto", "scipy", "matplotlib")
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
    return found + install_problems(ins)


def install_problems(ins: list[tuple[str, str]]) -> list[str]:
    """The default build installs the ``services`` extra's pins from uv.lock and nothing that pip resolves itself."""
    found: list[str] = []
    args = {name: value for k, a in ins if k == "ARG" for name, _, value in [a.partition("=")]}
    run = " ".join(a for k, a in ins if k == "RUN")
    export = re.search(r"\buv export ([^&;|]*)", run)
    if export is None:
        return ["the image must install from uv.lock (`uv export ... --locked`), not resolve anew"]
    flags = export.group(1).split()
    if "--locked" not in flags and "--frozen" not in flags:
        found.append("`uv export` must be --locked: a uv.lock that no longer matches pyproject.toml fails the build")
    extras = [flags[i + 1].strip("\"'") for i, f in enumerate(flags[:-1]) if f == "--extra"]
    extras = [args.get(e.strip("${}"), "") if e.startswith("$") else e for e in extras]
    if extras != ["services"]:
        found.append(f"the default build must install the services extra only, not {extras}")
    for pip in re.findall(r"\bpip install ([^&;|]*)", run):
        words = pip.split()
        if any(w.strip("\"'").startswith((".", "/app")) for w in words) and "--no-deps" not in words:
            found.append(f"`pip install {pip.strip()}` resolves dependencies outside uv.lock: add --no-deps")
        if "-r" in words and "--require-hashes" not in words:
            found.append(f"`pip install {pip.strip()}` must check the lock's hashes (--require-hashes)")
    return found


def lock_closure(lock: dict[str, Any], extra: str) -> set[str]:
    """Every package uv.lock installs for ``tenfold[extra]`` (on any platform: markers are not evaluated)."""
    packages: dict[str, list[dict[str, Any]]] = {}
    for package in lock["package"]:
        packages.setdefault(package["name"], []).append(package)
    seen: set[str] = set()
    todo: list[tuple[str, tuple[str, ...]]] = [("tenfold", (extra,))]
    visited: set[tuple[str, tuple[str, ...]]] = set()
    while todo:
        name, extras = todo.pop()
        if (name, extras) in visited:
            continue
        visited.add((name, extras))
        if name != "tenfold":
            seen.add(name)
        for package in packages[name]:
            deps = [] if name == "tenfold" else list(package.get("dependencies", []))
            for e in extras:
                deps += package.get("optional-dependencies", {}).get(e, [])
            todo += [(d["name"], tuple(d.get("extra", ()))) for d in deps]
    return seen


def _containers(under: str) -> list[dict[str, Any]]:
    """The containers of the Deployments (the services) and Jobs (the Locust master and workers) under ``under``."""
    return [c for path, doc in k8s_docs() if path.is_relative_to(K8S / under) and doc["kind"] in ("Deployment", "Job")
            for c in doc["spec"]["template"]["spec"]["containers"]]  # fmt: skip


def _locustfile(command: list[str]) -> str:
    """The locustfile a Locust container runs: ``locust -f FILE ...`` or ``tenfold worker ... --locustfile FILE``."""
    flag = "-f" if command[0] == "locust" else "--locustfile"
    return command[command.index(flag) + 1]


def test_the_dockerfile_builds_what_the_manifests_run() -> None:
    services = _containers("services")
    assert sorted(c["name"] for c in services) == sorted(SERVICES)
    commands = [c["command"] for c in services]
    assert commands and all(c[3:] == [n] for c, n in zip(commands, (c["name"] for c in services), strict=True))
    assert problems(DOCKERFILE.read_text(), commands) == []


def test_the_image_tags_are_the_ones_the_manifests_use() -> None:
    """The services run the default build; the Locust master and workers the same Dockerfile with the harness."""
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert {c["image"] for c in _containers("services")} == {f"{IMAGE}:{version}"}
    assert {c["image"] for c in _containers("locust")} == {f"{LOAD_IMAGE}:{version}"}
    builds = (
        f"docker build -t {IMAGE}:{version} .",
        f"docker build --build-arg EXTRA=harness -t {LOAD_IMAGE}:{version} .",
    )
    for text in (DOCKERFILE.read_text(), (ROOT / "docs" / "deploy-aws.md").read_text()):
        assert all(b in text for b in builds), builds


def test_the_image_has_what_the_locust_manifests_run() -> None:
    """The Locust master and workers use an image from the same Dockerfile: their locustfile must be copied in, not
    ignored."""
    sources = [a.split()[:-1] for k, a in instructions(DOCKERFILE.read_text()) if k == "COPY"]
    copied = {s.rstrip("/") for srcs in sources for s in srcs}
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines() if line.strip()}
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    containers = _containers("locust")
    assert sorted(c["command"][0] for c in containers) == ["locust", "tenfold"]  # the master, the workers
    for container in containers:
        command = container["command"]
        assert command[0] == "locust" or command[0] in scripts, command  # `tenfold` is the package's own script
        locustfile = _locustfile(command)
        assert (ROOT / locustfile).is_file() and locustfile.split("/")[0] in copied, locustfile
    files = {"pyproject.toml", "uv.lock", "README.md"}
    assert files <= copied and all((ROOT / f).is_file() and f not in ignored for f in files)
    for source in copied - files:
        assert (ROOT / source).is_dir() and source not in ignored, source
    assert {"tests", "runs", ".venv", ".git"} <= ignored


def test_the_services_extra_locks_none_of_the_harness() -> None:
    """What the default build installs (uv.lock's closure of ``tenfold[services]``) has no harness-only package;
    the harness's closure has them all and the services' too (the harness starts the reference stack)."""
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    services, harness = lock_closure(lock, "services"), lock_closure(lock, "harness")
    assert {"uvicorn", "starlette", "asyncpg", "redis", "aiobotocore", "prometheus-client"} <= services
    assert sorted(services & set(HARNESS_ONLY)) == []
    assert set(HARNESS_ONLY) <= harness and services <= harness


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
        (("ARG EXTRA=services", "ARG EXTRA=harness"), "the services extra only"),
        (('--extra "$EXTRA"', '--extra "$EXTRA" --extra harness'), "the services extra only"),
        (("uv export --quiet --locked", "uv export --quiet"), "must be --locked"),
        (("pip install --no-deps .", "pip install ."), "outside uv.lock"),
        (("pip install --require-hashes -r", "pip install -r"), "--require-hashes"),
        (("uv export", "uv pip compile"), "must install from uv.lock"),
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
