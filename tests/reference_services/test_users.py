"""users against a real PostgreSQL: reads, My List writes, idempotency, bad input, and the database dying."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest
from servers import Server, postgres, service


@pytest.fixture(scope="module")
def users(stores: dict[str, str]) -> Iterator[Server]:
    s = service("users", stores)
    yield s
    s.stop()


def test_get_user_and_unknown_user(users: Server) -> None:
    r = httpx.get(f"{users.url}/api/users/7")
    assert r.status_code == 200
    assert r.json()["id"] == 7 and r.json()["email"] == "user7@example.test"
    for bad in ("/api/users/999999", "/api/users/99999999999999999999999", "/api/users/abc", "/api/users/0"):
        r = httpx.get(users.url + bad)
        assert r.status_code == 404, bad
        assert r.headers["content-type"] == "application/problem+json"
        assert {"type", "title", "detail"} <= r.json().keys()


def test_my_list_add_is_acknowledged_after_commit_and_listed(users: Server) -> None:
    url = f"{users.url}/api/users/11/my-list"
    r = httpx.post(url, json={"title_id": 42}, headers={"X-Priority": "critical"})
    assert r.status_code == 201 and r.json()["changed"] is True
    again = httpx.post(url, json={"title_id": 42})
    assert again.status_code == 200 and again.json()["changed"] is False
    assert [t["title_id"] for t in httpx.get(url).json()["titles"]] == [42]
    gone = httpx.delete(f"{url}/42")
    assert gone.status_code == 200 and gone.json()["changed"] is True
    assert httpx.get(url).json()["titles"] == []
    assert httpx.delete(f"{url}/42").json()["changed"] is False


def test_writes_for_an_unknown_user_are_404_not_a_database_failure(users: Server) -> None:
    for _ in range(8):  # more than the breaker's fail_max: a missing user must never open it
        r = httpx.post(f"{users.url}/api/users/999999/my-list", json={"title_id": 1}, headers={"Idempotency-Key": "x"})
        assert r.status_code == 404, r.text
    assert httpx.delete(f"{users.url}/api/users/999999/my-list/1").status_code == 404
    assert httpx.get(f"{users.url}/api/users/7").status_code == 200


def test_idempotency_key_applies_a_retried_post_once(users: Server) -> None:
    url = f"{users.url}/api/users/12/my-list"
    key = str(uuid.uuid4())
    first = httpx.post(url, json={"title_id": 5}, headers={"Idempotency-Key": key})
    httpx.delete(f"{url}/5")
    replay = httpx.post(url, json={"title_id": 5}, headers={"Idempotency-Key": key})
    assert first.status_code == 201
    assert replay.status_code == 200
    # The replay did not apply again: the delete in between stands.
    assert httpx.get(url).json()["titles"] == []


@pytest.mark.parametrize(
    ("body", "headers", "status"),
    [
        (b"{not json", {"content-type": "application/json"}, 400),
        (b'{"title_id": "5"}', {"content-type": "application/json"}, 422),
        (b'{"title_id": -1}', {"content-type": "application/json"}, 422),
        (b'{"title_id": 5, "extra": 1}', {"content-type": "application/json"}, 422),
        (b"[]", {"content-type": "application/json"}, 422),
        (b'{"title_id": 5}', {"content-type": "text/plain"}, 415),
        (b'{"title_id": 5, "x": "' + b"a" * 70_000 + b'"}', {"content-type": "application/json"}, 413),
    ],
)
def test_bad_input_gets_a_problem_not_a_5xx(users: Server, body: bytes, headers: dict[str, str], status: int) -> None:
    r = httpx.post(f"{users.url}/api/users/13/my-list", content=body, headers=headers)
    assert r.status_code == status
    problem = r.json()
    assert problem["status"] == status and problem["detail"]
    assert "Traceback" not in r.text


def test_bad_priority_is_a_400(users: Server) -> None:
    r = httpx.get(f"{users.url}/api/users/1", headers={"X-Priority": "urgent"})
    assert r.status_code == 400
    assert "critical" in r.json()["detail"]


def test_postgres_gone_gives_503_with_a_clear_body(stores: dict[str, str]) -> None:
    pg, dsn = postgres()
    svc = service("users", {**stores, "TENFOLD_POSTGRES_DSN": dsn, "TENFOLD_POSTGRES_TIMEOUT": "0.5"})
    try:
        assert httpx.get(f"{svc.url}/api/users/1/my-list").status_code == 404  # empty database: no user 1
        pg.kill()
        for method, path in [("GET", "/api/users/1/my-list"), ("POST", "/api/users/1/my-list")]:
            r = httpx.request(method, svc.url + path, json={"title_id": 1}, timeout=10)
            assert r.status_code == 503, r.text
            assert r.json()["dependency"] == "postgres"
            assert "Retry-After" in r.headers
        assert httpx.get(f"{svc.url}/healthz").status_code == 200  # alive, just degraded
    finally:
        svc.stop()
        pg.stop()
