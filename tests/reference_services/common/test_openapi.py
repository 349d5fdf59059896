"""The OpenAPI every service serves says what it answers (the bugs the gateway fuzz test found, pinned here)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from credentials import bearer
from pydantic import ValidationError
from starlette.testclient import TestClient

from reference_services.common.routing import HEADER_VALUE, MAX_ID
from reference_services.common.settings import Settings
from reference_services.events.models import PlaybackEvent
from reference_services.users.app import build
from reference_services.users.models import MyListAdd


@pytest.fixture(scope="module")
def users() -> TestClient:
    """The users app without its lifespan: routing, OpenAPI and error answers need no database."""
    return TestClient(build(Settings(service="users", jwt_secret="k" * 40)))


@pytest.fixture(scope="module")
def spec(users: TestClient) -> dict[str, Any]:
    doc: dict[str, Any] = users.get("/openapi.json").json()
    return doc


def test_every_operation_declares_the_gateway_answers(spec: dict[str, Any]) -> None:
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            assert {"400", "429", "503"} <= op["responses"].keys(), f"{method} {path}"
            if "security" in op:
                assert {"401", "403"} <= op["responses"].keys(), f"{method} {path}"


def test_both_success_statuses_of_my_list_add_are_declared(spec: dict[str, Any]) -> None:
    responses = spec["paths"]["/api/users/{user_id}/my-list"]["post"]["responses"]
    assert responses["200"] == responses["201"]
    assert responses["201"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/MyListChange"}


def test_path_ids_and_documented_headers_are_bounded_as_the_handlers_check(spec: dict[str, Any]) -> None:
    params = spec["paths"]["/api/users/{user_id}/my-list"]["post"]["parameters"]
    by_name = {p["name"]: p["schema"] for p in params}
    assert by_name["user_id"] == {"type": "integer", "minimum": 1, "maximum": MAX_ID}
    pattern = by_name["Idempotency-Key"]["pattern"]
    for good in ["k", "retry-1", "a b", "~" * 200]:
        assert re.search(pattern, good) and HEADER_VALUE.fullmatch(good), good
    for bad in ["", " k", "k ", "\tk", "caf\u00e9", "k" * 201]:
        assert not re.search(pattern, bad) and not HEADER_VALUE.fullmatch(bad), bad


def test_a_405_lists_every_method_of_the_path(users: TestClient) -> None:
    r = users.put("/api/users/1/my-list")
    assert r.status_code == 405
    assert r.headers["allow"] == "GET, HEAD, POST"
    assert r.headers["content-type"] == "application/problem+json"
    assert users.request("TRACE", "/api/users/1").headers["allow"] == "GET, HEAD"


def test_an_id_beyond_the_range_is_a_404_not_a_500(users: TestClient) -> None:
    """DELETE echoed the title id into orjson, which cannot write integers past 64 bits: a 500."""
    for title in ("0", str(MAX_ID + 1), "511751684644955674902528"):
        r = users.delete(f"/api/users/1/my-list/{title}", headers=bearer(1, secret="k" * 40))
        assert r.status_code == 404, (title, r.text)


@pytest.mark.parametrize("value", [5, 5.0])
def test_an_integral_number_is_an_integer(value: float) -> None:
    """JSON has one number type: 5.0 is the integer JSON Schema's ``integer`` accepts."""
    assert MyListAdd.model_validate({"title_id": value}).title_id == 5
    event = {"event_id": "e", "user_id": value, "title_id": value, "type": "stop", "position_s": 1, "ts": 1e9}
    assert PlaybackEvent.model_validate(event).user_id == 5


@pytest.mark.parametrize("value", [5.5, "5", True, None, float("inf"), 1e300, 0.0])
def test_anything_else_is_still_refused(value: Any) -> None:
    with pytest.raises(ValidationError):
        MyListAdd.model_validate({"title_id": value})
