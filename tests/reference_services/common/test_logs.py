"""JSON logs: every line a service writes is one JSON object; a request that crashes is logged without its token."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from credentials import bearer
from servers import service, tmpdir
from starlette.requests import Request
from starlette.responses import Response
from starlette.testclient import TestClient

from reference_services.common.app import Service, create_app
from reference_services.common.logs import configure_logging
from reference_services.common.metrics import Metrics
from reference_services.common.routing import ApiRoute
from reference_services.common.settings import Settings

FIELDS = {"ts", "level", "service", "replica", "logger", "msg"}


def _records(text: str) -> list[dict[str, Any]]:
    lines = text.splitlines()
    assert lines, "nothing was logged"
    docs = [orjson.loads(line) for line in lines]  # raises on any line that is not JSON
    assert all(isinstance(d, dict) and d.keys() >= FIELDS for d in docs), [d for d in docs if FIELDS - d.keys()]
    return docs


@pytest.fixture
def root_logging() -> Iterator[None]:
    """configure_logging replaces the root handlers: give pytest's back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_every_line_a_service_logs_is_a_json_object(stores: dict[str, str]) -> None:
    d = tmpdir("logs")
    try:
        svc = service("users", {**stores, "TENFOLD_REPLICA": "3"}, log=d / "users.log")
        try:
            httpx.get(f"{svc.url}/api/users/1", headers=bearer(1))
            httpx.get(f"{svc.url}/api/users/1", headers=bearer(1, secret="x" * 40))  # a forged token
            httpx.get(f"{svc.url}/no/such/route")
        finally:
            svc.stop()  # shutdown logs too
        docs = _records(Path(d / "users.log").read_text())
    finally:
        shutil.rmtree(d)
    assert {(x["service"], x["replica"]) for x in docs} == {("users", "3")}
    assert any(x["level"] == "info" and x["msg"].startswith("listening on") for x in docs)
    assert all(x["level"] in ("debug", "info", "warning", "error", "critical") for x in docs)


def test_a_crashing_request_is_logged_as_json_without_its_bearer_token(
    capsys: pytest.CaptureFixture[str], root_logging: None
) -> None:
    async def boom(request: Request) -> Response:
        raise RuntimeError(f"no such thing as user {request.path_params['user_id']}")

    settings = Settings(service="users", jwt_secret="k" * 40)
    svc = Service("users", settings, Metrics("users"))
    svc.routes = [ApiRoute("/api/users/{user_id:int}", "GET", boom, "crash", auth=True)]
    configure_logging("users", "0")
    headers = bearer(7, secret="k" * 40)
    r = TestClient(create_app(svc), raise_server_exceptions=False).get("/api/users/7", headers=headers)
    assert r.status_code == 500 and r.json()["title"] == "Internal error"
    text = capsys.readouterr().err
    crash = [x for x in _records(text) if x["level"] == "error"]
    assert len(crash) == 1, text
    assert crash[0]["msg"] == "unhandled error on GET /api/users/7"
    assert "RuntimeError: no such thing as user 7" in crash[0]["exc"]  # the traceback is there, in the object
    token = headers["Authorization"].removeprefix("Bearer ")
    assert token not in text and token.split(".")[2] not in text  # not the token, not even its signature


def test_a_multi_line_message_stays_one_json_line(capsys: pytest.CaptureFixture[str], root_logging: None) -> None:
    configure_logging("events", "1")
    logging.getLogger("tenfold.test").warning('a "quoted"\nmulti-line message: é')
    (doc,) = _records(capsys.readouterr().err)
    assert doc["msg"] == 'a "quoted"\nmulti-line message: é' and doc["level"] == "warning"
    assert (doc["service"], doc["replica"], doc["logger"]) == ("events", "1", "tenfold.test")
