"""Probes that send a bounded burst of real requests through the gateway and summarise the answers.

Used in steady-state hypotheses with a numeric tolerance, e.g. `"tolerance": [0.99, 1.0]`.
A path on a user's own data (`/api/users/{n}...`, `/api/recommendations/{n}`) is sent as user n: the probe
logs in like a client (POST /api/auth/token with the seeded demo password `pw-n`) and reuses the token."""

import time
from urllib.parse import urlsplit

import httpx
from chaoslib.exceptions import ActivityFailed
from chaoslib.types import Configuration, Secrets

from tenfold.chaos._controller import gateway_url

__all__ = ["degraded_ratio", "gateway_is_healthy", "success_ratio"]

_MAX_REQUESTS = 1000
_LOOPBACK = ("127.0.0.1", "localhost", "::1")
_OWN_DATA = ("/api/users/{n}", "/api/recommendations/{n}")
_TOKENS: dict[tuple[str, int], tuple[str, float]] = {}  # (gateway, user) -> (Authorization, valid until)


def _base(configuration: Configuration) -> str:
    base = gateway_url(configuration)
    if urlsplit(base).hostname not in _LOOPBACK and not (configuration or {}).get("tenfold_allow_remote"):
        raise ActivityFailed(f"refusing to send load to {base}: not loopback; set tenfold_allow_remote to allow it")
    return base


def _answers(
    path: str, requests: int, first: int, priority: str, timeout_s: float, configuration: Configuration
) -> list[int | str]:
    """Status codes (negative when degraded) or an error name of `requests` GETs; `{n}` runs from `first`."""
    if not 1 <= requests <= _MAX_REQUESTS:
        raise ActivityFailed(f"requests must be in 1..{_MAX_REQUESTS}, got {requests}")
    base = _base(configuration)
    out: list[int | str] = []
    as_user = path.startswith(_OWN_DATA)
    with httpx.Client(base_url=base, timeout=timeout_s, headers={"X-Priority": priority}) as client:
        for n in range(first, first + requests):
            try:
                auth = _log_in(client, base, n) if as_user else {}
                if isinstance(auth, int):
                    out.append(auth)  # could not log in: the request fails the way the login did
                    continue
                r = client.get(path.replace("{n}", str(n)), headers=auth)
                out.append(-r.status_code if r.headers.get("x-degraded") else r.status_code)
            except httpx.HTTPError as exc:
                out.append(type(exc).__name__)
    return out


def _log_in(client: httpx.Client, base: str, user: int) -> dict[str, str] | int:
    """``Authorization`` for ``user`` (kept until a minute before it expires), or the failed login's status."""
    found = _TOKENS.get((base, user))
    if found is not None and time.monotonic() < found[1]:
        return {"Authorization": found[0]}
    r = client.post("/api/auth/token", json={"user_id": user, "password": f"pw-{user}"})
    if r.status_code != 200:
        return r.status_code
    doc = r.json()
    header = f"Bearer {doc['access_token']}"
    _TOKENS[(base, user)] = (header, time.monotonic() + float(doc["expires_in"]) - 60)
    return {"Authorization": header}


def gateway_is_healthy(
    path: str = "/api/titles/1", timeout_s: float = 2.0, configuration: Configuration = None, secrets: Secrets = None
) -> bool:
    """True when one GET of `path` through the gateway answers 2xx within `timeout_s`."""
    try:
        return httpx.get(f"{_base(configuration)}{path}", timeout=timeout_s).is_success
    except httpx.HTTPError:
        return False


def success_ratio(
    path: str = "/api/titles/{n}",
    requests: int = 50,
    first: int = 1,
    priority: str = "critical",
    timeout_s: float = 2.0,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> float:
    """Fraction of `requests` sequential GETs of `path` answered 2xx (degraded answers count: they are 200s).

    `{n}` in `path` runs from `first` upward, so the burst is not one cached key; pick a `first` no earlier
    probe used to see the store behind a cold cache."""
    answers = _answers(path, requests, first, priority, timeout_s, configuration)
    return sum(1 for a in answers if isinstance(a, int) and 200 <= abs(a) < 300) / len(answers)


def degraded_ratio(
    path: str = "/api/recommendations/{n}",
    requests: int = 50,
    first: int = 1,
    priority: str = "critical",
    timeout_s: float = 2.0,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> float:
    """Fraction of `requests` GETs of `path` answered with `X-Degraded` (a fallback rather than the real thing)."""
    answers = _answers(path, requests, first, priority, timeout_s, configuration)
    return sum(1 for a in answers if isinstance(a, int) and a < 0) / len(answers)
