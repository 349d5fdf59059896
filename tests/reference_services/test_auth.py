"""Bearer tokens on the real services: log in, 401 without a valid token, 403 on another user's data."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import jwt
import pytest
from credentials import SECRET, bearer, login, token
from servers import ROOT, Server, postgres, service, tmpdir

from reference_services.common.auth import Tokens
from reference_services.common.problems import ProblemError
from reference_services.users.passwords import verify_password


@pytest.fixture(scope="module")
def users(stores: dict[str, str]) -> Iterator[Server]:
    d = tmpdir("users-auth")
    s = service("users", stores, log=d / "users.log")
    yield s
    s.stop()
    shutil.rmtree(d)  # after the tests: one of them reads the log of the stopped service


@pytest.fixture(scope="module")
def recommendations(stores: dict[str, str]) -> Iterator[Server]:
    s = service("recommendations", stores)
    yield s
    s.stop()


@pytest.fixture(scope="module")
def events(stores: dict[str, str]) -> Iterator[Server]:
    s = service("events", stores)
    yield s
    s.stop()


def _is_401(r: httpx.Response) -> None:
    assert r.status_code == 401, r.text
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["status"] == 401 and r.json()["detail"]


def _is_403(r: httpx.Response) -> None:
    assert r.status_code == 403, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["status"] == 403


def test_login_gives_a_signed_token_for_the_user(users: Server) -> None:
    r = httpx.post(f"{users.url}/api/auth/token", json={"user_id": 9, "password": "pw-9"})
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["token_type"] == "bearer" and doc["expires_in"] == 3600
    assert r.headers["cache-control"] == "no-store"
    claims = jwt.decode(doc["access_token"], SECRET, algorithms=["HS256"], issuer="tenfold")
    assert claims["sub"] == "9" and claims["exp"] - claims["iat"] == 3600
    assert httpx.get(f"{users.url}/api/users/9", headers=login(users.url, 9)).status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {"user_id": 9, "password": "pw-8"},
        {"user_id": 9, "password": "PW-9"},
        {"user_id": 999999, "password": "pw-999999"},
    ],
)
def test_login_with_wrong_credentials_is_401(users: Server, body: dict[str, object]) -> None:
    _is_401(httpx.post(f"{users.url}/api/auth/token", json=body))


@pytest.mark.parametrize(
    "body", [{"user_id": 9}, {"user_id": "9", "password": "pw-9"}, {"user_id": 0, "password": "x"}]
)
def test_login_with_a_bad_body_is_422(users: Server, body: dict[str, object]) -> None:
    assert httpx.post(f"{users.url}/api/auth/token", json=body).status_code == 422


def _bad_tokens() -> list[tuple[str, dict[str, str]]]:
    now = int(time.time())
    return [
        ("missing", {}),
        ("not a bearer", {"Authorization": f"Basic {token(3)}"}),
        ("no token", {"Authorization": "Bearer"}),
        ("malformed", {"Authorization": "Bearer not.a.jwt"}),
        ("other key", bearer(3, secret="some-other-stack-key-0123456789abcdef")),
        ("expired", bearer(3, iat=now - 7200, exp=now - 3600)),
        ("other issuer", bearer(3, iss="elsewhere")),
        ("not a user id", bearer(3, sub="admin")),
        ("alg none", {"Authorization": "Bearer " + jwt.encode({"sub": "3", "iss": "tenfold", "iat": now,
                                                               "exp": now + 60}, None, algorithm="none")}),
    ]  # fmt: skip


_USER_ROUTES = [("GET", "/api/users/3"), ("GET", "/api/users/3/my-list"), ("POST", "/api/users/3/my-list"),
                ("DELETE", "/api/users/3/my-list/1")]  # fmt: skip


@pytest.mark.parametrize(("method", "path"), _USER_ROUTES)
def test_user_routes_without_a_valid_token_are_401(users: Server, method: str, path: str) -> None:
    for what, headers in _bad_tokens():
        r = httpx.request(method, users.url + path, json={"title_id": 1}, headers=headers)
        assert r.status_code == 401, what
        _is_401(r)


def test_another_users_list_can_be_neither_read_nor_changed(users: Server) -> None:
    victim = f"{users.url}/api/users/31/my-list"
    own = login(users.url, 31)
    assert httpx.post(victim, json={"title_id": 7}, headers=own).status_code == 201
    thief = login(users.url, 32)
    _is_403(httpx.get(f"{users.url}/api/users/31", headers=thief))
    _is_403(httpx.get(victim, headers=thief))
    _is_403(httpx.post(victim, json={"title_id": 8}, headers={**thief, "Idempotency-Key": str(uuid.uuid4())}))
    _is_403(httpx.delete(f"{victim}/7", headers=thief))
    _is_403(httpx.get(f"{users.url}/api/users/0", headers=thief))
    _is_403(httpx.get(f"{users.url}/api/users/99999999999999999999999", headers=thief))
    # nothing the thief sent was applied
    assert [t["title_id"] for t in httpx.get(victim, headers=own).json()["titles"]] == [7]


def test_recommendations_are_the_callers_own(recommendations: Server) -> None:
    url = f"{recommendations.url}/api/recommendations/4"
    assert httpx.get(url, headers=bearer(4)).status_code == 200
    _is_403(httpx.get(url, headers=bearer(5)))
    for what, headers in _bad_tokens():
        assert httpx.get(url, headers=headers).status_code == 401, what


def test_events_only_for_the_callers_own_user(events: Server) -> None:
    def event(user: int) -> dict[str, object]:
        return {"event_id": uuid.uuid4().hex, "user_id": user, "title_id": 1, "type": "start", "position_s": 0.0,
                "ts": time.time()}  # fmt: skip

    assert httpx.post(f"{events.url}/api/events", json=event(6), headers=bearer(6), timeout=10).status_code == 202
    _is_403(httpx.post(f"{events.url}/api/events", json=event(6), headers=bearer(7)))
    _is_401(httpx.post(f"{events.url}/api/events", json=event(6)))


def test_openapi_declares_the_bearer_scheme_and_401_403(users: Server, stores: dict[str, str]) -> None:
    spec = httpx.get(f"{users.url}/openapi.json").json()
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    login_op = spec["paths"]["/api/auth/token"]["post"]
    assert "security" not in login_op and "401" in login_op["responses"]
    for path, ops in spec["paths"].items():
        if path.startswith("/api/users"):
            for op in ops.values():
                assert op["security"] == [{"bearer": []}], path
                assert {"401", "403"} <= op["responses"].keys(), path
    catalog = service("catalog", stores)
    try:
        public = httpx.get(f"{catalog.url}/openapi.json").json()
        assert "securitySchemes" not in public["components"]
        assert "security" not in public["paths"]["/api/titles/{title_id}"]["get"]
        assert httpx.get(f"{catalog.url}/api/titles/1").status_code == 200  # titles stay public
    finally:
        catalog.stop()


@pytest.mark.parametrize(
    ("secret", "says"), [(None, "is not set"), ("tiny-key-31-characters-long-xyz", "at least 32 characters")]
)
def test_a_protected_service_refuses_to_start_without_a_proper_key(
    stores: dict[str, str], secret: str | None, says: str
) -> None:
    env = {k: v for k, v in stores.items() if k != "TENFOLD_JWT_SECRET"} | {"PATH": "/usr/bin:/bin"}
    if secret is not None:
        env["TENFOLD_JWT_SECRET"] = secret
    r = subprocess.run([sys.executable, "-m", "reference_services", "events"], env=env, cwd=ROOT, capture_output=True,
                       text=True, timeout=30)  # fmt: skip
    assert r.returncode == 78
    assert "TENFOLD_JWT_SECRET" in r.stderr and says in r.stderr
    assert secret is None or secret not in r.stderr


def test_a_verified_token_is_remembered_only_until_it_expires() -> None:
    tokens = Tokens(SECRET)
    now = int(time.time())
    almost = token(8, iat=now - 60, exp=now - 3)  # expired, but inside the 5 s clock-skew leeway
    assert tokens.verify(almost) == 8
    assert tokens.verify(almost) == 8  # from the cache
    time.sleep(2.2)
    with pytest.raises(ProblemError) as exc:
        tokens.verify(almost)
    assert exc.value.status == 401
    assert SECRET not in repr(tokens)


def test_the_key_never_reaches_the_log(users: Server) -> None:
    # what a service logs about: logins good and bad, forged tokens, refused writes
    login(users.url, 40)
    httpx.post(f"{users.url}/api/auth/token", json={"user_id": 40, "password": "wrong"})
    httpx.get(f"{users.url}/api/users/40", headers=bearer(40, secret="x" * 40))
    httpx.post(
        f"{users.url}/api/users/40/my-list", content=b"{", headers={**bearer(40), "content-type": "application/json"}
    )
    users.stop()  # shutdown logs too
    assert users.log is not None
    text = Path(users.log).read_text()
    assert "listening on" in text  # the log is really there
    assert SECRET not in text
    assert "pw-40" not in text and "wrong" not in text


async def test_a_database_seeded_before_passwords_gets_them() -> None:
    """A stack home kept from before auth has every user and no hash: seeding must not call that 'done'."""
    import asyncpg

    from reference_services.seed import seed_postgres, user_row

    pg, dsn = postgres()
    try:
        conn = await asyncpg.connect(dsn)
        await conn.execute("CREATE TABLE users (id bigint PRIMARY KEY, name text NOT NULL, email text NOT NULL, "
                           "plan text NOT NULL, created_at timestamptz NOT NULL DEFAULT now())")  # fmt: skip
        await conn.copy_records_to_table("users", records=[user_row(u) for u in (1, 2, 3)],
                                         columns=["id", "name", "email", "plan"])  # fmt: skip
        assert await seed_postgres(dsn, 3) is True
        stored = await conn.fetchval("SELECT password_hash FROM users WHERE id = 2")
        assert verify_password("pw-2", stored)
        assert await seed_postgres(dsn, 3) is False  # now it is done
        await conn.close()
    finally:
        pg.stop()
