"""Bearer tokens in tests: one test key, tokens minted with it, and logging in the way a client does."""

from __future__ import annotations

import time
from typing import Any

import httpx
import jwt

__all__ = ["ENV", "SECRET", "bearer", "login", "token"]

SECRET = "tenfold-tests-only-key-0123456789abcdef"
ENV = {"TENFOLD_JWT_SECRET": SECRET}
"""Give this to every service a test starts (the ``stores`` fixture already carries it)."""


def token(user_id: int, *, secret: str = SECRET, ttl: int = 3600, **claims: Any) -> str:
    """A token as users would issue it; override claims (``exp``, ``iss``, ``sub``) to forge a bad one."""
    now = int(time.time())
    doc = {"sub": str(user_id), "iat": now, "exp": now + ttl, "iss": "tenfold", **claims}
    return jwt.encode(doc, secret, algorithm="HS256")


def bearer(user_id: int, **kwargs: Any) -> dict[str, str]:
    """``Authorization`` header for ``user_id`` (minted here: no login round trip)."""
    return {"Authorization": f"Bearer {token(user_id, **kwargs)}"}


def login(base_url: str, user_id: int, password: str | None = None) -> dict[str, str]:
    """Log in like a client (POST /api/auth/token with the seeded ``pw-N``); the ``Authorization`` header."""
    r = httpx.post(f"{base_url}/api/auth/token", json={"user_id": user_id, "password": password or f"pw-{user_id}"})
    r.raise_for_status()
    return {"Authorization": f"Bearer {r.json()['access_token']}"}
