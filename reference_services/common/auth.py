"""Bearer tokens (HS256 JWT): the users service issues them, every protected route checks them.

A token says who the caller is (``sub``); a route acting on a user's data answers 403 unless that user
is the caller. Verification sits on the hot path of every protected request, so a verified token is
remembered until it expires (a bounded dict: a hit is a lookup, a miss one HMAC).
"""

from __future__ import annotations

import time

import jwt
from starlette.requests import Request

from .problems import ProblemError

__all__ = ["ISSUER", "TOKEN_TYPE", "Tokens", "forbidden", "unauthorized"]

ISSUER = "tenfold"
TOKEN_TYPE = "bearer"
_ALGORITHM = "HS256"
_CACHE_ENTRIES = 4096
_LEEWAY_S = 5  # clock skew between replicas


class Tokens:
    """Issues and verifies one stack's tokens; holds the key, never shows it (repr, logs, errors)."""

    def __init__(self, secret: str, ttl_seconds: int = 3600) -> None:
        self._key = secret
        self.ttl_seconds = ttl_seconds
        self._verified: dict[str, tuple[int, float]] = {}

    def __repr__(self) -> str:
        return f"Tokens(ttl_seconds={self.ttl_seconds})"

    def issue(self, user_id: int) -> str:
        now = int(time.time())
        claims = {"sub": str(user_id), "iat": now, "exp": now + self.ttl_seconds, "iss": ISSUER}
        return jwt.encode(claims, self._key, algorithm=_ALGORITHM)

    def verify(self, token: str) -> int:
        """The user id a valid token was issued to; 401 for anything else (expired, forged, malformed)."""
        now = time.time()
        hit = self._verified.get(token)
        if hit is not None and now < hit[1]:
            return hit[0]
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=[_ALGORITHM],
                issuer=ISSUER,
                leeway=_LEEWAY_S,
                options={"require": ["sub", "iat", "exp", "iss"]},
            )
        except jwt.ExpiredSignatureError:
            raise unauthorized("the token has expired; log in again (POST /api/auth/token)") from None
        except jwt.InvalidTokenError:
            raise unauthorized("the token is not valid: malformed, wrongly signed or not issued here") from None
        sub = claims["sub"]
        if not (isinstance(sub, str) and sub.isdigit() and 0 < int(sub) < 2**31):
            raise unauthorized("the token's subject is not a user id")
        if len(self._verified) >= _CACHE_ENTRIES:
            self._verified.clear()
        self._verified[token] = (int(sub), float(claims["exp"]) + _LEEWAY_S)
        return int(sub)

    def caller(self, request: Request) -> int:
        """The user id of the request's ``Authorization: Bearer <token>``; 401 when missing or invalid."""
        header = request.headers.get("authorization")
        if header is None:
            raise unauthorized("this route needs Authorization: Bearer <token> (POST /api/auth/token)", missing=True)
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != TOKEN_TYPE or not token:
            raise unauthorized("the Authorization header must be 'Bearer <token>'")
        return self.verify(token)


def unauthorized(detail: str, *, missing: bool = False) -> ProblemError:
    """401 with ``WWW-Authenticate: Bearer`` (RFC 6750: ``error="invalid_token"`` when one was sent)."""
    challenge = f'Bearer realm="{ISSUER}"' + ("" if missing else ', error="invalid_token"')
    return ProblemError(401, "Unauthorized", detail, kind="unauthorized", headers={"WWW-Authenticate": challenge})


def forbidden(caller: int, user_id: int) -> ProblemError:
    return ProblemError(403, "Forbidden", f"user {caller} may not act on user {user_id}'s data", kind="forbidden")
