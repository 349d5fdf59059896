"""Salted password hashes (PBKDF2-HMAC-SHA256): only the hash is stored, with its cost and salt.

Stored as ``pbkdf2_sha256$<iterations>$<salt>$<hash>`` (base64), so each row says how to check it and the
cost can rise without a migration. The seeded demo users (user N's password is ``pw-N``, public by design)
use :data:`DEMO_ITERATIONS`: their passwords are published, so a high cost would protect nothing and only
make seeding 100k users slow; a real account would use :data:`ITERATIONS`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

__all__ = ["DEMO_ITERATIONS", "ITERATIONS", "demo_password", "hash_password", "verify_password"]

ITERATIONS = 600_000  # OWASP's 2023 figure for PBKDF2-HMAC-SHA256
DEMO_ITERATIONS = 10
_SCHEME = "pbkdf2_sha256"
_MAX_ITERATIONS = 10_000_000
# Checked against when the user does not exist, so an unknown id costs the same as a wrong password.
_DUMMY = f"{_SCHEME}${DEMO_ITERATIONS}$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="


def demo_password(user_id: int) -> str:
    """The published password of seeded user ``user_id``."""
    return f"pw-{user_id}"


def hash_password(password: str, iterations: int = ITERATIONS) -> str:
    salt = os.urandom(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    return f"{_SCHEME}${iterations}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str | None) -> bool:
    """True when ``password`` matches ``stored``; False for a wrong password, no hash or a hash it cannot read."""
    scheme, _, rest = (stored or _DUMMY).partition("$")
    iterations, _, rest = rest.partition("$")
    salt, _, digest = rest.partition("$")
    if scheme != _SCHEME or not iterations.isdigit() or not 0 < int(iterations) <= _MAX_ITERATIONS:
        return False
    try:
        expected = base64.b64decode(digest, validate=True)
        computed = hashlib.pbkdf2_hmac(
            "sha256", password.encode(), base64.b64decode(salt, validate=True), int(iterations)
        )
    except ValueError:
        return False
    return hmac.compare_digest(computed, expected) and stored is not None


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()
