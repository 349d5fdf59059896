"""Issue 9: every service's OpenAPI fuzzed through the gateway of a real stack with schemathesis.

Each service's ``/openapi.json`` (read from one of its replicas: the gateway routes only ``/api/...``) is merged
into one document whose base URL is the gateway, so every case crosses HAProxy like a client's request. The
schemathesis CLI runs its coverage (boundary values, missing and wrong-typed fields, undeclared methods),
fuzzing (positive and negative cases) and stateful phases with every check on, logged in as user 1. A second
pass narrows every ``user_id`` (path and body) to 1, so the user-scoped routes get past the 403 and their bodies
are fuzzed in depth (any other id is then negative data, which the 403 rejects).
The verdict: **0** 5xx and **0** failed checks (undeclared status, content type or header, a body that breaks
its schema, valid input refused, invalid input accepted).

The gateway's rate limit is set out of reach (``rate_limit`` of the stack fixture); 429 is declared on every
route anyway, since a client can always meet it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from credentials import login
from servers import free_port, wait_for
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from reference_services.common.openapi import build_openapi
from reference_services.common.routing import ApiRoute
from reference_services.users.models import User
from tenfold.stack.client import ControlClient
from tenfold.stack.haproxy import ROUTES

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
MAX_EXAMPLES = 40  # per operation and phase
SEED = 9
USER = 1  # the fuzzer's own account (seeded password pw-1)


@dataclass
class Fuzzed:
    """What one schemathesis run did, read from its NDJSON report."""

    seconds: float
    statuses: Counter[int] = field(default_factory=Counter)
    ok_by_operation: Counter[str] = field(default_factory=Counter)  # 2xx answers per operation
    failures: list[str] = field(default_factory=list)
    output: str = ""

    @property
    def cases(self) -> int:
        return sum(self.statuses.values())


def fuzz(spec: dict[str, Any], base_url: str, work: Path, *, headers: dict[str, str]) -> Fuzzed:
    """One deterministic schemathesis run of ``spec`` against ``base_url`` with every check on."""
    work.mkdir(parents=True, exist_ok=True)
    (work / "openapi.json").write_text(json.dumps(spec))
    report = work / "events.ndjson"
    argv = [str(SCHEMATHESIS), "run", str(work / "openapi.json")]
    argv += ["--url", base_url, "--checks", "all", "--max-examples", str(MAX_EXAMPLES), "--seed", str(SEED)]
    argv += ["--generation-deterministic", "--continue-on-failure", "--workers", "1", "--no-color"]
    argv += ["--request-timeout", "10", "--report", "ndjson", "--report-ndjson-path", str(report)]
    for name, value in headers.items():
        argv += ["--header", f"{name}: {value}"]
    started = time.perf_counter()
    run = subprocess.run(argv, capture_output=True, text=True, timeout=300, cwd=work)
    assert report.exists(), f"schemathesis wrote no report (exit {run.returncode}):\n{run.stdout}\n{run.stderr}"
    result = read_report(report, time.perf_counter() - started)
    result.output = run.stdout[-12_000:] + run.stderr[-2_000:]
    if run.returncode != 0 and not result.failures:
        result.failures.append(f"schemathesis exited {run.returncode} without a failed check")
    return result


def read_report(path: Path, seconds: float) -> Fuzzed:
    result = Fuzzed(seconds)
    for line in path.read_text().splitlines():
        event = json.loads(line)
        finished = event.get("ScenarioFinished")
        if finished is None:
            continue
        recorder = finished["recorder"]
        for case_id, interaction in recorder.get("interactions", {}).items():
            response = interaction.get("response")
            if response is None:
                continue
            status = int(response["status_code"])
            result.statuses[status] += 1
            if 200 <= status < 300:
                result.ok_by_operation[recorder["label"]] += 1
            for check in recorder.get("checks", {}).get(case_id, []):
                if check["status"] == "failure":
                    failure = check["failure_info"]["failure"]
                    request = interaction["request"]
                    result.failures.append(
                        f"{failure['code']} {failure['title']}: {request['method']} {request['uri']} -> {status}"
                    )
    return result


def service_spec(control: str, service: str) -> dict[str, Any]:
    """The OpenAPI document one ready replica of ``service`` serves."""
    port = next(r.port for r in ControlClient(control).replicas(service) if r.state == "ready")
    doc: dict[str, Any] = httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=5).raise_for_status().json()
    return doc


def merge(specs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """One document for the gateway: the services' paths and components side by side (none may clash)."""
    paths: dict[str, Any] = {}
    components: dict[str, dict[str, Any]] = {}
    for service, spec in specs.items():
        for path, ops in spec["paths"].items():
            assert path not in paths, f"{service} serves {path} too"
            paths[path] = ops
        for kind, entries in spec.get("components", {}).items():
            for name, entry in entries.items():
                assert components.setdefault(kind, {}).setdefault(name, entry) == entry, f"{service}: {kind}.{name}"
    return {"openapi": "3.1.0", "info": {"title": "tenfold gateway", "version": "1.0.0"}, "paths": paths,
            "components": components}  # fmt: skip


def own(spec: dict[str, Any], user_id: int) -> dict[str, Any]:
    """``spec`` cut to the operations that name a user, each ``user_id`` (path or body) narrowed to ``user_id``."""
    doc: dict[str, Any] = json.loads(json.dumps(spec))
    narrowed = {"type": "integer", "const": user_id}
    for schema in doc["components"]["schemas"].values():
        if "user_id" in schema.get("properties", {}):
            schema["properties"]["user_id"] = narrowed
    for path, ops in list(doc["paths"].items()):
        for op in ops.values():
            for param in op["parameters"]:
                if param["name"] == "user_id":
                    param["schema"] = narrowed
        if "{user_id}" not in path and "user_id" not in json.dumps(_request_schemas(doc, ops)):
            del doc["paths"][path]
    return doc


def _request_schemas(doc: dict[str, Any], ops: dict[str, Any]) -> list[Any]:
    refs = [c["schema"]["$ref"] for op in ops.values() for c in op.get("requestBody", {}).get("content", {}).values()]
    return [doc["components"]["schemas"][ref.rsplit("/", 1)[1]] for ref in refs]


@pytest.mark.e2e
def test_every_service_openapi_through_the_gateway(stack: dict[str, Any], tmp_path: Path) -> None:
    spec = merge({service: service_spec(stack["control"], service) for service in ROUTES})
    operations = {f"{method.upper()} {path}" for path, ops in spec["paths"].items() for method in ops}
    headers = login(stack["gateway"], USER)
    runs = [
        fuzz(spec, stack["gateway"], tmp_path / "all", headers=headers),
        fuzz(own(spec, USER), stack["gateway"], tmp_path / "own", headers=headers),
    ]
    cases = sum(r.cases for r in runs)
    statuses = sum((r.statuses for r in runs), Counter[int]())
    ok = sum((r.ok_by_operation for r in runs), Counter[str]())
    print(f"\nfuzzed {len(operations)} operations: {cases} cases in {sum(r.seconds for r in runs):.1f} s; {statuses}")
    failures = [f for r in runs for f in r.failures]
    assert not failures, "\n".join(sorted(set(failures))[:40]) + "\n" + runs[0].output + runs[1].output
    assert not [s for s in statuses if s >= 500]
    assert sorted(operations - set(ok)) == [], "operations that never answered 2xx: the fuzzer never got past 4xx"


# -- explicit negative data through the gateway: the bodies schemathesis does not build -------------------------

BODIES = {
    "/api/events": {"event_id": "e-1", "user_id": USER, "title_id": 1, "type": "start", "position_s": 0, "ts": 1e9},
    f"/api/users/{USER}/my-list": {"title_id": 1},
}
JSON = {"content-type": "application/json"}


@pytest.fixture(scope="module")
def auth(stack: dict[str, Any]) -> dict[str, str]:
    return login(stack["gateway"], USER)


def _wrong(**fields: Any) -> Any:
    """A good body of the path with ``fields`` replaced: wrong types and values next to valid siblings."""
    return lambda path: json.dumps({**BODIES[path], **fields}).encode()


def _streamed(path: str) -> Iterator[bytes]:
    """70 kB without a Content-Length, 20 ms between chunks: the size limit must hold while the body streams in, and
    the 413 must reach a client that is still sending (the replica reads the rest first)."""
    yield json.dumps(BODIES[path])[:-1].encode() + b', "pad": "'
    for _ in range(9):
        time.sleep(0.02)
        yield b"a" * 8192
    time.sleep(0.02)
    yield b'"}'


@pytest.mark.e2e
@pytest.mark.parametrize("path", sorted(BODIES))
@pytest.mark.parametrize(
    ("content", "headers", "status"),
    [
        (b"", JSON, 400),
        (b"{not json", JSON, 400),
        (b"\xff\xfe", JSON, 400),
        (b"[]", JSON, 422),
        (b"null", JSON, 422),
        (_wrong(title_id="1"), JSON, 422),
        (_wrong(title_id=1.5), JSON, 422),
        (_wrong(title_id=True), JSON, 422),
        (_wrong(title_id=None), JSON, 422),
        (_wrong(title_id=2**31), JSON, 422),
        (_wrong(title_id=10**23), JSON, 422),
        (_wrong(extra=1), JSON, 422),
        (b"title_id=1", {"content-type": "application/x-www-form-urlencoded"}, 415),
        (_wrong(), {"content-type": "text/plain"}, 415),
        (_wrong(), {}, 415),
        (_wrong(pad="a" * 70_000), JSON, 413),
        (_streamed, JSON, 413),
    ],
    ids=lambda v: None if callable(v) else str(v)[:24],
)
def test_bad_bodies_get_a_problem_through_the_gateway(
    stack: dict[str, Any], auth: dict[str, str], path: str, content: Any, headers: dict[str, str], status: int
) -> None:
    body = content(path) if callable(content) else content
    r = httpx.post(f"{stack['gateway']}{path}", content=body, headers={**headers, **auth}, timeout=10)
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["status"] == status and "Traceback" not in r.text


@pytest.mark.e2e
def test_good_bodies_are_accepted_through_the_gateway(stack: dict[str, Any], auth: dict[str, str]) -> None:
    for path, body in BODIES.items():
        r = httpx.post(f"{stack['gateway']}{path}", json=body, headers=auth, timeout=10)
        assert r.status_code in (200, 201, 202), r.text


# -- the fuzz check fails on a service that breaks its own OpenAPI -----------------------------------------------


def _broken_app() -> tuple[Starlette, dict[str, Any]]:
    """GET /api/users/{id}: a 500 for id 1, a body that breaks the User schema for the others."""

    async def get_user(request: Request) -> Response:
        if request.path_params["user_id"] == 1:
            return JSONResponse({"detail": "boom"}, status_code=500)
        return JSONResponse({"id": "not-an-int", "name": 7})

    route = ApiRoute("/api/users/{user_id:int}", "GET", get_user, "A user's profile", User, errors=(404,))
    app = Starlette(routes=[Route(route.path, get_user, methods=["GET"])])
    return app, build_openapi("broken", [route])


def test_the_fuzz_check_fails_on_a_broken_service(tmp_path: Path) -> None:
    app, spec = _broken_app()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_for(lambda: server.started, 10, "the broken service")
        url = f"http://127.0.0.1:{server.config.port}"
        result = fuzz(spec, url, tmp_path, headers={})
    finally:
        server.should_exit = True
        thread.join(10)
    codes = {f.split()[0] for f in result.failures}
    assert {"ST101", "ST108"} <= codes, result.failures
    assert result.statuses[500] >= 1
