"""users against a real PostgreSQL: reads, My List writes, idempotency, bad input, and the database dying."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import asyncpg
import httpx
import pytest
from credentials import bearer
from servers import Server, postgres, service


@pytest.fixture(scope="module")
def users(stores: dict[str, str]) -> Iterator[Server]:
    s = service("users", stores)
    yield s
    s.stop()


def test_get_user_and_unknown_user(users: Server) -> None:
    r = httpx.get(f"{users.url}/api/users/7", headers=bearer(7))
    assert r.status_code == 200
    assert r.json()["id"] == 7 and r.json()["email"] == "user7@example.test"
    assert "password_hash" not in r.text
    for user, bad in ((999999, "/api/users/999999"), (7, "/api/users/abc")):
        r = httpx.get(users.url + bad, headers=bearer(user))
        assert r.status_code == 404, bad
        assert r.headers["content-type"] == "application/problem+json"
        assert {"type", "title", "detail"} <= r.json().keys()


def test_my_list_add_is_acknowledged_after_commit_and_listed(users: Server) -> None:
    url = f"{users.url}/api/users/11/my-list"
    auth = bearer(11)
    r = httpx.post(url, json={"title_id": 42}, headers={"X-Priority": "critical", **auth})
    assert r.status_code == 201 and r.json()["changed"] is True
    again = httpx.post(url, json={"title_id": 42}, headers=auth)
    assert again.status_code == 200 and again.json()["changed"] is False
    assert [t["title_id"] for t in httpx.get(url, headers=auth).json()["titles"]] == [42]
    gone = httpx.delete(f"{url}/42", headers=auth)
    assert gone.status_code == 200 and gone.json()["changed"] is True
    assert httpx.get(url, headers=auth).json()["titles"] == []
    assert httpx.delete(f"{url}/42", headers=auth).json()["changed"] is False


def test_writes_for_an_unknown_user_are_404_not_a_database_failure(users: Server) -> None:
    for _ in range(8):  # more than the breaker's fail_max: a missing user must never open it
        r = httpx.post(
            f"{users.url}/api/users/999999/my-list",
            json={"title_id": 1},
            headers={"Idempotency-Key": "x", **bearer(999999)},
        )
        assert r.status_code == 404, r.text
    assert httpx.delete(f"{users.url}/api/users/999999/my-list/1", headers=bearer(999999)).status_code == 404
    assert httpx.get(f"{users.url}/api/users/7", headers=bearer(7)).status_code == 200


def test_idempotency_key_applies_a_retried_post_once(users: Server) -> None:
    url = f"{users.url}/api/users/12/my-list"
    key = str(uuid.uuid4())
    auth = bearer(12)
    first = httpx.post(url, json={"title_id": 5}, headers={"Idempotency-Key": key, **auth})
    httpx.delete(f"{url}/5", headers=auth)
    replay = httpx.post(url, json={"title_id": 5}, headers={"Idempotency-Key": key, **auth})
    assert first.status_code == 201
    assert replay.status_code == 200
    # The replay did not apply again: the delete in between stands.
    assert httpx.get(url, headers=auth).json()["titles"] == []


async def _add_while_the_user_is_locked(url: str, dsn: str, user: int, key: str | None) -> httpx.Response:
    """A POST to My List while another transaction holds the user's row for 1.4 s: the add's foreign-key check
    waits, so its first attempt times out (the service's 1.0 s) and only a second attempt can get through."""
    locker = await asyncpg.connect(dsn)
    try:
        headers = {**bearer(user), **({"Idempotency-Key": key} if key else {})}
        async with httpx.AsyncClient(timeout=10) as client:
            async with locker.transaction():
                await locker.execute("SELECT 1 FROM users WHERE id = $1 FOR UPDATE", user)
                add = asyncio.ensure_future(client.post(f"{url}/api/users/{user}/my-list", json={"title_id": 9},
                                                        headers=headers))  # fmt: skip
                await asyncio.sleep(1.4)
            return await add
    finally:
        await locker.close()


@pytest.mark.parametrize(("user", "keyed"), [(431, True), (432, False)], ids=["with-a-key", "without"])
def test_a_keyed_add_outlives_a_stall_of_about_the_timeout_and_a_keyless_one_is_not_retried(
    users: Server, stores: dict[str, str], user: int, keyed: bool
) -> None:
    """With an Idempotency-Key a retry cannot apply the add twice, so users retries it and a 1.4 s stall is a 201
    (before, a 503 + Retry-After: a critical shed); without one it stays a 503, and nothing was stored."""
    key = str(uuid.uuid4()) if keyed else None
    httpx.delete(f"{users.url}/api/users/{user}/my-list/9", headers=bearer(user))  # the session's stores are shared
    r = asyncio.run(_add_while_the_user_is_locked(users.url, stores["TENFOLD_POSTGRES_DSN"], user, key))
    listed = [t["title_id"] for t in httpx.get(f"{users.url}/api/users/{user}/my-list", headers=bearer(user)).json()
              ["titles"]]  # fmt: skip
    if keyed:
        assert r.status_code == 201, r.text
        assert listed.count(9) == 1
        httpx.delete(f"{users.url}/api/users/{user}/my-list/9", headers=bearer(user))
    else:
        assert r.status_code == 503 and "did not answer (timeout)" in r.json()["detail"], r.text
        assert 9 not in listed


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
    r = httpx.post(f"{users.url}/api/users/13/my-list", content=body, headers={**headers, **bearer(13)})
    assert r.status_code == status
    problem = r.json()
    assert problem["status"] == status and problem["detail"]
    assert "Traceback" not in r.text


def test_bad_priority_is_a_400(users: Server) -> None:
    r = httpx.get(f"{users.url}/api/users/1", headers={"X-Priority": "urgent", **bearer(1)})
    assert r.status_code == 400
    assert "critical" in r.json()["detail"]


def test_postgres_gone_gives_503_with_a_clear_body(stores: dict[str, str]) -> None:
    pg, dsn = postgres()
    svc = service("users", {**stores, "TENFOLD_POSTGRES_DSN": dsn, "TENFOLD_POSTGRES_TIMEOUT": "0.5"})
    try:
        auth = bearer(1)
        assert httpx.get(f"{svc.url}/api/users/1/my-list", headers=auth).status_code == 404  # empty: no user 1
        pg.kill()
        for method, path in [("GET", "/api/users/1/my-list"), ("POST", "/api/users/1/my-list")]:
            r = httpx.request(method, svc.url + path, json={"title_id": 1}, headers=auth, timeout=10)
            assert r.status_code == 503, r.text
            assert r.json()["dependency"] == "postgres"
            assert "Retry-After" in r.headers
        login = httpx.post(f"{svc.url}/api/auth/token", json={"user_id": 1, "password": "pw-1"}, timeout=10)
        assert login.status_code == 503 and login.json()["dependency"] == "postgres"
        assert httpx.get(f"{svc.url}/healthz").status_code == 200  # alive, just degraded
    finally:
        svc.stop()
        pg.stop()


def test_the_drop_writes_test_hook_acknowledges_without_storing(stores: dict[str, str]) -> None:
    """TENFOLD_TEST_DROP_WRITES=1: the first add is a 201 that never reached PostgreSQL; the next ones are stored."""
    svc = service("users", {**stores, "TENFOLD_TEST_DROP_WRITES": "1"})
    try:
        url, auth = f"{svc.url}/api/users/21/my-list", bearer(21)
        dropped = httpx.post(url, json={"title_id": 5}, headers={"Idempotency-Key": str(uuid.uuid4()), **auth})
        assert dropped.status_code == 201 and dropped.json()["changed"] is True
        assert httpx.get(url, headers=auth).json()["titles"] == []
        kept = httpx.post(url, json={"title_id": 6}, headers={"Idempotency-Key": str(uuid.uuid4()), **auth})
        assert kept.status_code == 201
        assert [t["title_id"] for t in httpx.get(url, headers=auth).json()["titles"]] == [6]
        httpx.delete(f"{url}/6", headers=auth)
    finally:
        svc.stop()
