"""users: profiles and My List on PostgreSQL. Writes are acknowledged only once committed."""

from __future__ import annotations

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response

from ..common.app import Service, create_app
from ..common.auth import TOKEN_TYPE, unauthorized
from ..common.body import read_model
from ..common.metrics import Metrics
from ..common.problems import ProblemError, unavailable
from ..common.resilience import DependencyError
from ..common.routing import HEADER_VALUE, MAX_ID, ApiRoute
from ..common.settings import Settings
from .models import AccessToken, MyList, MyListAdd, MyListChange, TokenRequest, User
from .passwords import verify_password
from .store import UserNotFound, UserStore

__all__ = ["build"]


def build(settings: Settings) -> Starlette:
    metrics = Metrics("users")
    service = Service("users", settings, metrics)
    store = UserStore(
        settings.postgres_dsn,
        settings.postgres_pool_size,
        settings.postgres_timeout,
        service.dependency("postgres", timeout=settings.postgres_timeout, retries=2, pool=settings.postgres_pool_size),
    )

    tokens = service.tokens

    async def issue_token(request: Request) -> Response:
        body = await read_model(request, TokenRequest)
        try:
            stored = await store.password_hash(body.user_id)
        except DependencyError as exc:
            raise _pg_down(exc) from None
        # Unknown user and wrong password get the same answer (and the same hashing cost): no user enumeration.
        if not verify_password(body.password, stored):
            raise unauthorized("wrong user id or password", missing=True)
        doc = {"access_token": tokens.issue(body.user_id), "token_type": TOKEN_TYPE, "expires_in": tokens.ttl_seconds}
        return Response(orjson.dumps(doc), media_type="application/json", headers={"Cache-Control": "no-store"})

    def user_id_of(request: Request) -> int:
        user_id: int = request.path_params["user_id"]
        if not 0 < user_id <= MAX_ID:
            raise _no_user(user_id)
        return user_id

    async def get_user(request: Request) -> Response:
        user_id = user_id_of(request)
        try:
            row = await store.get_user(user_id)
        except DependencyError as exc:
            raise _pg_down(exc) from None
        if row is None:
            raise _no_user(user_id)
        return _json(row)

    async def get_my_list(request: Request) -> Response:
        user_id = user_id_of(request)
        try:
            items = await store.my_list(user_id)
        except DependencyError as exc:
            raise _pg_down(exc) from None
        if items is None:
            raise _no_user(user_id)
        titles = [{"title_id": t, "added_at": at.isoformat()} for t, at in items]
        return _json({"user_id": user_id, "titles": titles})

    dropped = 0  # the test hook's count (Settings.test_drop_writes)

    async def add_to_my_list(request: Request) -> Response:
        nonlocal dropped
        user_id = user_id_of(request)
        body = await read_model(request, MyListAdd)
        key = request.headers.get("idempotency-key")
        if key is not None and not HEADER_VALUE.fullmatch(key):
            raise ProblemError(400, "Bad Idempotency-Key", "Idempotency-Key must be 1 to 200 visible ASCII characters")
        if dropped < settings.test_drop_writes:  # TEST HOOK: acknowledged, never stored
            dropped += 1
            return _json({"user_id": user_id, "title_id": body.title_id, "changed": True}, 201)
        try:
            status = await store.add(user_id, body.title_id, None if key is None else f"{user_id}:{key}")
        except UserNotFound:
            raise _no_user(user_id) from None
        except DependencyError as exc:
            raise _pg_down(exc) from None
        return _json({"user_id": user_id, "title_id": body.title_id, "changed": status == 201}, status)

    async def remove_from_my_list(request: Request) -> Response:
        user_id = user_id_of(request)
        title_id: int = request.path_params["title_id"]
        if not 0 < title_id <= MAX_ID:
            raise ProblemError(404, "No such title", f"title {title_id} does not exist", kind="not-found")
        try:
            removed = await store.remove(user_id, title_id)
        except DependencyError as exc:
            raise _pg_down(exc) from None
        if removed is None:
            raise _no_user(user_id)
        return _json({"user_id": user_id, "title_id": title_id, "changed": removed})

    service.routes = [
        ApiRoute(
            "/api/auth/token",
            "POST",
            issue_token,
            "Log in: a bearer token (JWT, 1 h) for the user's own routes",
            AccessToken,
            request_model=TokenRequest,
            errors=(401, 413, 415, 422),
        ),
        ApiRoute("/api/users/{user_id:int}", "GET", get_user, "A user's profile", User, errors=(404,), auth=True),
        ApiRoute(
            "/api/users/{user_id:int}/my-list", "GET", get_my_list, "A user's My List", MyList, errors=(404,), auth=True
        ),
        ApiRoute(
            "/api/users/{user_id:int}/my-list",
            "POST",
            add_to_my_list,
            "Add a title to My List (201 added, 200 already there)",
            MyListChange,
            request_model=MyListAdd,
            status=201,
            also=(200,),
            errors=(404, 413, 415, 422),
            headers={"Idempotency-Key": "makes a retried POST apply once"},
            auth=True,
        ),
        ApiRoute(
            "/api/users/{user_id:int}/my-list/{title_id:int}",
            "DELETE",
            remove_from_my_list,
            "Remove a title from My List",
            MyListChange,
            errors=(404,),
            auth=True,
        ),
    ]
    service.checks = {"postgres": store.ping}
    service.on_startup = [store.open]
    service.on_shutdown = [store.close]
    return create_app(service)


def _json(doc: object, status: int = 200) -> Response:
    return Response(orjson.dumps(doc), status_code=status, media_type="application/json")


def _no_user(user_id: int) -> ProblemError:
    return ProblemError(404, "No such user", f"user {user_id} does not exist", kind="not-found")


def _pg_down(exc: DependencyError) -> ProblemError:
    if exc.reason == "bulkhead-full":
        what = "the user database is busy: every connection stayed in use"
    else:
        what = f"the user database did not answer ({exc.reason})"
    return unavailable("postgres", f"{what}; retry later (writes: with the same Idempotency-Key)")
