"""RFC 9457 problem details: every error a client sees is JSON with type, title, status and detail."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

__all__ = ["ProblemError", "problem"]

_TYPE_BASE = "https://tenfold.dev/problems/"


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    kind: str | None = None,
    retry_after: float | None = None,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body: dict[str, Any] = {
        "type": _TYPE_BASE + (kind or str(status)),
        "title": title,
        "status": status,
        "detail": detail,
    }
    if extra:
        body.update(extra)
    headers = dict(headers or {})
    if retry_after is not None:
        headers["Retry-After"] = str(max(1, round(retry_after)))
    return Response(orjson.dumps(body), status_code=status, media_type="application/problem+json", headers=headers)


class ProblemError(Exception):
    """Raise anywhere in a handler; the app factory turns it into a problem response."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        *,
        kind: str | None = None,
        retry_after: float | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.title = title
        self.detail = detail
        self.kind = kind
        self.retry_after = retry_after
        self.extra = extra
        self.headers = headers

    def response(self) -> Response:
        return problem(
            self.status,
            self.title,
            self.detail,
            kind=self.kind,
            retry_after=self.retry_after,
            extra=self.extra,
            headers=self.headers,
        )


def unavailable(dependency: str, detail: str) -> ProblemError:
    """The one shape of 'a dependency is down': 503 with Retry-After, naming what is down."""
    return ProblemError(
        503,
        f"{dependency} unavailable",
        detail,
        kind="dependency-unavailable",
        retry_after=1,
        extra={"dependency": dependency},
    )


__all__ += ["unavailable"]
