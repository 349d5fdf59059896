"""Reading a JSON request body defensively: size, content type, syntax and shape each get their own 4xx."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

import orjson
from pydantic import BaseModel, BeforeValidator, ValidationError
from starlette.requests import Request

from .problems import ProblemError

__all__ = ["DRAIN_MAX_BYTES", "MAX_BODY_BYTES", "JsonInt", "read_model"]

MAX_BODY_BYTES = 64 * 1024
DRAIN_MAX_BYTES = 1024 * 1024

M = TypeVar("M", bound=BaseModel)


def _integral(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


JsonInt = Annotated[int, BeforeValidator(_integral)]
"""An integer field of a strict model, as JSON Schema's ``integer`` means it: ``5`` and ``5.0`` alike (JSON has one
number type; a client may well send ``5.0``); ``5.5``, ``"5"`` and ``true`` are still refused."""


async def read_model(request: Request, model: type[M]) -> M:
    ctype = request.headers.get("content-type", "")
    if ctype.split(";")[0].strip().lower() != "application/json":
        raise ProblemError(
            415, "Unsupported media type", f"send the body as application/json, not {ctype or 'nothing'!r}"
        )
    declared = request.headers.get("content-length")
    declared_size = int(declared) if declared is not None and declared.isdigit() else 0
    if declared_size > DRAIN_MAX_BYTES:
        raise _too_large()
    # A body over the limit is still read (and dropped) up to DRAIN_MAX_BYTES before the 413: answering while the
    # client is still sending closes a socket with unread data, the kernel resets the connection, and the client
    # loses the 413 with it ("server disconnected without sending a response", seen through the gateway).
    too_large = declared_size > MAX_BODY_BYTES
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > DRAIN_MAX_BYTES:
            break
        if not too_large and size <= MAX_BODY_BYTES:
            chunks.append(chunk)
    if too_large or size > MAX_BODY_BYTES:
        raise _too_large()
    try:
        data = orjson.loads(b"".join(chunks))
    except orjson.JSONDecodeError as exc:
        raise ProblemError(400, "Malformed JSON", f"the body is not valid JSON: {exc}", kind="malformed-json") from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = [
            {"loc": ".".join(str(p) for p in e["loc"]) or "(body)", "msg": e["msg"]}
            for e in exc.errors(include_url=False)
        ]
        raise ProblemError(
            422,
            "Invalid body",
            "the body does not match the schema",
            kind="invalid-body",
            extra={"errors": errors},
        ) from None


def _too_large() -> ProblemError:
    return ProblemError(413, "Body too large", f"bodies are limited to {MAX_BODY_BYTES} bytes", kind="too-large")
