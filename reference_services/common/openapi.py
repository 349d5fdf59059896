"""OpenAPI 3.1 from the routes' pydantic models: what schemathesis fuzzes and clients read."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel

from .resilience.shedding import PRIORITIES
from .routing import HEADER_VALUE, MAX_ID, ApiRoute

__all__ = ["build_openapi"]

_PROBLEM = {
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
    },
}
_REASONS = {400: "Bad request", 401: "Missing, invalid or expired bearer token", 403: "Another user's data",
            404: "Not found", 413: "Body too large", 415: "Unsupported media type",
            422: "Invalid body", 429: "Too many requests", 503: "Unavailable or overloaded"}  # fmt: skip


_SCHEME = "bearer"
_SECURITY = {
    _SCHEME: {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "POST /api/auth/token with user_id and password; send the access_token as Bearer.",
    }
}


def build_openapi(title: str, routes: list[ApiRoute]) -> dict[str, Any]:
    schemas: dict[str, Any] = {"Problem": _PROBLEM}
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        op: dict[str, Any] = {
            "summary": route.summary,
            "operationId": f"{route.method.lower()}_{re.sub(r'[^a-z0-9]+', '_', route.template.lower()).strip('_')}",
            "parameters": _parameters(route),
            "responses": {str(code): _success(route, schemas) for code in sorted({route.status, *route.also})},
        }
        if route.request_model is not None:
            op["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": _ref(route.request_model, schemas)}},
            }
        if route.auth:
            op["security"] = [{_SCHEME: []}]
        # 429 and 503 on every route: the gateway's per-client rate limit and its shedding answer for any path.
        for code in sorted({400, 429, 503, *route.errors, *((401, 403) if route.auth else ())}):
            op["responses"][str(code)] = {
                "description": _REASONS.get(code, "Error"),
                "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
            }
            if code == 401:
                op["responses"]["401"]["headers"] = {"WWW-Authenticate": {"schema": {"type": "string"}}}
        paths.setdefault(route.template, {})[route.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": "1.0.0"},
        "paths": paths,
        "components": {"schemas": schemas, **({"securitySchemes": _SECURITY} if any(r.auth for r in routes) else {})},
    }


def _parameters(route: ApiRoute) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = []
    for name, conv in re.findall(r"{(\w+)(?::(\w+))?}", route.path):
        schema: dict[str, Any] = (
            {"type": "integer", "minimum": 1, "maximum": MAX_ID} if conv == "int" else {"type": "string"}
        )
        params.append({"name": name, "in": "path", "required": True, "schema": schema})
    params.append(
        {
            "name": "X-Priority",
            "in": "header",
            "required": False,
            "schema": {"type": "string", "enum": list(PRIORITIES)},
        }
    )
    for name, description in route.headers.items():
        params.append(
            {
                "name": name,
                "in": "header",
                "required": False,
                "description": description,
                "schema": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": f"^{HEADER_VALUE.pattern}$"},
            }
        )
    return params


def _success(route: ApiRoute, schemas: dict[str, Any]) -> dict[str, Any]:
    if route.response_model is None:
        return {"description": "Done"}
    return {
        "description": route.summary,
        "content": {"application/json": {"schema": _ref(route.response_model, schemas)}},
    }


def _ref(model: type[BaseModel], schemas: dict[str, Any]) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, sub in schema.pop("$defs", {}).items():
        schemas[name] = sub
    schemas[model.__name__] = schema
    return {"$ref": f"#/components/schemas/{model.__name__}"}
