"""Bearer tokens of the simulated viewers: each logs in once (POST /api/auth/token) and reuses its token.

Like a client app, a viewer keeps its token until shortly before it expires, and logs in again when a
protected route rejects it (401: e.g. the stack restarted with a new key). The seeded demo credentials
are user N / ``pw-N``. Kept per generator process; nothing here talks to the network.
"""

from __future__ import annotations

import time
from typing import Any

import orjson

__all__ = ["LOGIN_PATH", "Logins"]

LOGIN_PATH = "/api/auth/token"
_MARGIN_S = 60.0  # log in again this long before the token would expire
_MAX_VIEWERS = 200_000  # bound on remembered tokens (about 300 bytes each)


class Logins:
    def __init__(self) -> None:
        self._tokens: dict[int, tuple[str, float]] = {}

    def header(self, user: int) -> str | None:
        """``Bearer <token>`` for a viewer that has a live token, else None (it must log in first)."""
        found = self._tokens.get(user)
        if found is None or time.monotonic() >= found[1]:
            return None
        return found[0]

    @staticmethod
    def body(user: int) -> bytes:
        return orjson.dumps({"user_id": user, "password": f"pw-{user}"})

    def answer(self, user: int, status: int, content: bytes | None) -> str | None:
        """Keep the token of a login's answer; the ``Authorization`` value, or None when the login failed."""
        try:
            doc: Any = orjson.loads(content or b"") if status == 200 else None
            token, ttl = str(doc["access_token"]), float(doc["expires_in"])
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            return None
        if len(self._tokens) >= _MAX_VIEWERS:
            self._tokens.clear()
        header = f"Bearer {token}"
        self._tokens[user] = (header, time.monotonic() + max(0.0, ttl - _MARGIN_S))
        return header

    def rejected(self, user: int) -> None:
        """A protected route answered 401: forget the token so the viewer's next request logs in again."""
        self._tokens.pop(user, None)
