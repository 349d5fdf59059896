"""A streaming client's sessions, as the open model plays them.

Each journey is what one viewer does in one visit: the requests it sends and when, relative to the
visit's start. The app sends them on its own timer (heartbeats every few seconds whatever the last
answer was), which is exactly why the open model fits: a slow answer does not delay the next request.
Title ids follow the seed data's Zipf popularity so cache hit ratios look like production.
Requests on a viewer's own data carry its bearer token: each viewer logs in once (POST /api/auth/token,
demo password ``pw-N``, recorded as its own route) and reuses the token; titles are public. A journey's
viewer comes from the scenario's active set (``viewers``: size, Zipf by rank), as a service's audience
returns: most journeys are by viewers already logged in, as a client app's are.
"""

from __future__ import annotations

import os
import random
import time
import uuid

from tenfold.load import zipf_rank
from tenfold.load.locust_plugin import Call, OpenModelUser, Scenario, call

try:
    from reference_services.seed import USERS, zipf_title_id
except ImportError:  # the locustfiles also run from a checkout without the reference services
    from tenfold.load import USERS, zipf_title_id

__all__ = ["StreamingViewers"]

RECS = "/api/recommendations/{user_id}"
TITLE = "/api/titles/{id}"
MY_LIST = "/api/users/{id}/my-list"
MY_LIST_ITEM = "/api/users/{id}/my-list/{title_id}"
EVENTS = "/api/events"


# The stack's seeded users (tenfold run passes a smaller seed's count): each logs in with its demo password.
_VIEWERS = int(os.environ.get("TENFOLD_LOAD_USERS") or USERS)


def _user(rng: random.Random, scenario: Scenario) -> int:
    """A viewer of the active set (user ids 1..active, the seeded users at most), Zipf by id."""
    viewers = scenario.viewers
    return zipf_rank(rng, min(viewers.active, _VIEWERS), viewers.zipf_s)


def home(rng: random.Random, scenario: Scenario) -> list[Call]:
    """Open the app: the recommendation rows, then the artwork/metadata of the first few tiles."""
    user = _user(rng, scenario)
    calls = [call(0.0, "GET", RECS, f"/api/recommendations/{user}", "degraded", user=user)]
    for i in range(3):
        t = zipf_title_id(rng)
        calls.append(call(0.05 + 0.01 * i, "GET", TITLE, f"/api/titles/{t}", "best-effort"))
    return calls


def open_title(rng: random.Random, scenario: Scenario) -> list[Call]:
    """Open a title's detail page."""
    t = zipf_title_id(rng)
    return [call(0.0, "GET", TITLE, f"/api/titles/{t}", "degraded")]


def _event(user: int, title: int, kind: str, position: float, offset: float, priority: str) -> Call:
    event_id = str(uuid.uuid4())
    body = {"event_id": event_id, "user_id": user, "title_id": title, "type": kind, "position_s": position,
            "ts": round(time.time() + offset, 3)}  # fmt: skip
    return call(offset, "POST", EVENTS, EVENTS, priority, body=body, ack=("event", event_id, user, title), user=user)


def playback(rng: random.Random, scenario: Scenario) -> list[Call]:
    """Press play (critical), send heartbeats while watching (degraded), stop."""
    user, title = _user(rng, scenario), zipf_title_id(rng)
    every, beats = scenario.playback.heartbeat_interval_s, scenario.playback.heartbeats
    calls = [
        call(0.0, "GET", TITLE, f"/api/titles/{title}", "critical"),
        _event(user, title, "start", 0.0, 0.0, "critical"),
    ]
    calls += [_event(user, title, "heartbeat", every * i, every * i, "degraded") for i in range(1, beats + 1)]
    calls.append(_event(user, title, "stop", every * (beats + 0.5), every * (beats + 0.5), "degraded"))
    return calls


def my_list(rng: random.Random, scenario: Scenario) -> list[Call]:
    """Add a title to My List, look at the list, and sometimes take the title off again."""
    user, title = _user(rng, scenario), zipf_title_id(rng)
    key = str(uuid.uuid4())
    calls = [
        call(0.0, "POST", MY_LIST, f"/api/users/{user}/my-list", "critical", body={"title_id": title},
             headers={"Idempotency-Key": key}, ack=("my-list", user, title, key), user=user),
        call(0.5, "GET", MY_LIST, f"/api/users/{user}/my-list", "critical", user=user),
    ]  # fmt: skip
    if rng.random() < 0.3:
        calls.append(call(3.0, "DELETE", MY_LIST_ITEM, f"/api/users/{user}/my-list/{title}", "critical",
                          ack=("my-list-delete", user, title), user=user))  # fmt: skip
    return calls


def browse(rng: random.Random, scenario: Scenario) -> list[Call]:
    """Scroll a row: the client prefetches titles the viewer may never open (best-effort)."""
    return [call(0.2 * i, "GET", TITLE, f"/api/titles/{zipf_title_id(rng)}", "best-effort") for i in range(4)]


def static(rng: random.Random, scenario: Scenario) -> list[Call]:
    """One GET of a static path: calibrates the generator itself (bench, tests), not a viewer."""
    return [call(0.0, "GET", "/", scenario.static_path, "best-effort")]


class StreamingViewers(OpenModelUser):
    """Every viewer of this generator process; the scenario file weighs the journeys."""

    journeys = {
        "home": home,
        "open_title": open_title,
        "playback": playback,
        "my_list": my_list,
        "browse": browse,
        "static": static,
    }
