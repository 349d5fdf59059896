"""A route plus what OpenAPI needs to describe it, so the spec cannot drift from the handlers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response

__all__ = ["ApiRoute", "Endpoint"]

Endpoint = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True)
class ApiRoute:
    path: str  # Starlette syntax, e.g. "/api/titles/{title_id:int}"
    method: str
    endpoint: Endpoint
    summary: str
    response_model: type[BaseModel] | None = None
    request_model: type[BaseModel] | None = None
    status: int = 200
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
