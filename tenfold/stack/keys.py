"""The stack's token key: random per state dir, in a file only its owner can read, given to replicas by env.

Every replica of every service checks tokens with it and users signs them with it, so one key per stack;
a new state dir gets a new key (tokens from another stack are refused). It is never written anywhere else:
not to state.json, the status, a run folder or a log.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

__all__ = ["ENV_VAR", "jwt_secret"]

ENV_VAR = "TENFOLD_JWT_SECRET"
_FILE = "jwt-secret"
_MIN_CHARS = 32


def jwt_secret(home: Path) -> str:
    """The key of the stack in ``home``, made on first use (mode 600; a file with looser modes is tightened)."""
    path = home / _FILE
    if path.exists():
        os.chmod(path, 0o600)
        key = path.read_text().strip()
        if len(key) >= _MIN_CHARS:
            return key
        path.unlink()  # truncated or hand-edited: a short key would be guessable
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(key + "\n")
    return key
