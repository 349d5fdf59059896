"""A route plus what OpenAPI needs to describe it, so the spec cannot drift from the handlers."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response

__all__ = ["HEADER_VALUE", "MAX_ID", "ApiRoute", "Endpoint"]

Endpoint = Callable[[Request], Awaitable[Response]]

MAX_ID = 2**31 - 1
"""Ids in paths and bodies are 1..MAX_ID (PostgreSQL ``integer``): a larger one names nothing, so 404 or 422."""

HEADER_VALUE = re.compile(r"[!-~](?:[ -~]{0,198}[!-~])?")
"""What a documented request header (``ApiRoute.headers``) may hold: 1 to 200 visible ASCII characters, spaces
only inside (HTTP strips outer ones). The OpenAPI states the same pattern; handlers check it with ``fullmatch``."""


@dataclass(frozen=True)
class ApiRoute:
    path: str  # Starlette syntax, e.g. "/api/titles/{title_id:int}"
    method: str
    endpoint: Endpoint
    summary: str
    response_model: type[BaseModel] | None = None
    request_model: type[BaseModel] | None = None
    status: int = 200
    also: tuple[int, ...] = ()  # other success statuses with the same body (POST My List: 200 when already there)
    errors: tuple[int, ...] = ()
    headers: dict[str, str] = field(default_factory=dict)  # request headers worth documenting
    auth: bool = False  # needs a bearer token; a ``user_id`` path parameter must be the caller's (else 403)

    @property
    def template(self) -> str:
        """The path without converters: the low-cardinality ``route`` label and the OpenAPI path."""
        out = []
        for part in self.path.split("/"):
            if part.startswith("{") and ":" in part:
                part = part.split(":")[0] + "}"
            out.append(part)
        return "/".join(out)
