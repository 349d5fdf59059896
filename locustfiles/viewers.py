"""The reference system's workload as a plain Locust file: a streaming app's viewers.

tenfold drives it as it drives any locustfile (``tenfold run --locustfile locustfiles/viewers.py``; the scenario in
``scenarios.yaml`` names it): each arrival is one visit, a task below picked by its weight, run on a signed-in
viewer from the pool. A viewer logs in once (``on_start``: ``POST /api/auth/token``, demo password ``pw-N``) and
keeps its token, as a client app does; titles are public. Title ids follow the seed data's Zipf popularity so
cache hit ratios look like production; viewers come from an active set, Zipf by id (a few watch a lot).
A playback sends its heartbeats on the app's own timer, whatever the last answer was.

Writes go into tenfold's ledger when acknowledged and are read back after the run by the verifiers below, which
look in the stores themselves (``TENFOLD_POSTGRES_DSN``, ``TENFOLD_S3_ENDPOINT``: ``tenfold run`` sets them when
it runs the local stack; elsewhere the writes are reported unchecked).
"""

from __future__ import annotations

import os
import random
import time
import uuid

import gevent
import orjson
from locust import FastHttpUser, task

from tenfold import ledger

try:
    from verifiers import register_verifiers  # a sibling module when Locust imports this file by path
except ImportError:  # imported as locustfiles.viewers
    from locustfiles.verifiers import register_verifiers
from reference_services.seed import USERS, zipf_title_id, zipf_user_id

__all__ = ["Viewer"]

RECS = "/api/recommendations/{user_id}"
TITLE = "/api/titles/{id}"
MY_LIST = "/api/users/{id}/my-list"
MY_LIST_ITEM = "/api/users/{id}/my-list/{title_id}"
EVENTS = "/api/events"
LOGIN = "/api/auth/token"

ACTIVE_VIEWERS = int(os.environ.get("TENFOLD_ACTIVE_VIEWERS", "5000"))
"""Journeys are by viewers of this active set (Zipf by id), at most the seeded users (``TENFOLD_SEED_USERS``)."""
SEEDED = int(os.environ.get("TENFOLD_SEED_USERS") or USERS)
HEARTBEAT_S = float(os.environ.get("TENFOLD_HEARTBEAT_S", "2.0"))
HEARTBEATS = 3
_TOKEN_MARGIN_S = 60.0

_rng = random.Random(0x7E4F01D + os.getpid())
_PRIO = {p: {"X-Priority": p} for p in ("critical", "degraded", "best-effort")}


def _sleep_until(t: float) -> None:
    gevent.sleep(max(0.0, t - time.monotonic()))


class Viewer(FastHttpUser):
    """One signed-in app. Each task is one visit: open home, open a title, watch, edit My List, browse."""

    network_timeout = 10.0
    connection_timeout = 10.0

    def on_start(self) -> None:
        self.viewer = zipf_user_id(_rng, min(ACTIVE_VIEWERS, SEEDED))
        self.token: str | None = None
        self.token_until = 0.0
        self._log_in()

    def _log_in(self) -> bool:
        body = {"user_id": self.viewer, "password": f"pw-{self.viewer}"}
        with self.client.post(LOGIN, json=body, headers=_PRIO["critical"], name=LOGIN, catch_response=True) as r:
            try:
                doc = orjson.loads(r.content or b"") if r.status_code == 200 else None
                token, ttl = str(doc["access_token"]), float(doc["expires_in"])  # type: ignore[index]
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
                if r.status_code == 200:
                    r.failure("a 200 without a token")
                self.token = None
                return False
        self.token = f"Bearer {token}"
        self.token_until = time.monotonic() + max(0.0, ttl - _TOKEN_MARGIN_S)
        return True

    def _auth(self, priority: str) -> dict[str, str] | None:
        """Headers for the viewer's own data; logs in again when the token is gone or about to expire."""
        if (self.token is None or time.monotonic() >= self.token_until) and not self._log_in():
            return None
        assert self.token is not None
        return {"X-Priority": priority, "Authorization": self.token}

    def _own(self, method: str, path: str, name: str, priority: str, **kwargs: object) -> int | None:
        """A request on the viewer's own data: its status (a 401 forgets the token), None when not logged in."""
        headers = self._auth(priority)
        if headers is None:
            return None
        extra = kwargs.pop("headers", None)
        if isinstance(extra, dict):
            headers.update(extra)
        r = self.client.request(method, path, name=name, headers=headers, **kwargs)
        if r.status_code == 401:
            self.token = None
        self._last = r
        return int(r.status_code or 0)

    @task(30)
    def home(self) -> None:
        """Open the app: the recommendation rows, then the artwork/metadata of the first few tiles."""
        self._own("GET", f"/api/recommendations/{self.viewer}", RECS, "degraded")
        for _ in range(3):
            self.client.get(f"/api/titles/{zipf_title_id(_rng)}", name=TITLE, headers=_PRIO["best-effort"])

    @task(20)
    def open_title(self) -> None:
        """Open a title's detail page."""
        self.client.get(f"/api/titles/{zipf_title_id(_rng)}", name=TITLE, headers=_PRIO["degraded"])

    @task(15)
    def playback(self) -> None:
        """Press play (critical), send heartbeats while watching (degraded) on the app's timer, stop."""
        title = zipf_title_id(_rng)
        self.client.get(f"/api/titles/{title}", name=TITLE, headers=_PRIO["critical"])
        t0 = time.monotonic()
        self._event(title, "start", 0.0, "critical")
        for i in range(1, HEARTBEATS + 1):
            _sleep_until(t0 + HEARTBEAT_S * i)
            self._event(title, "heartbeat", HEARTBEAT_S * i, "degraded")
        _sleep_until(t0 + HEARTBEAT_S * (HEARTBEATS + 0.5))
        self._event(title, "stop", HEARTBEAT_S * (HEARTBEATS + 0.5), "degraded")

    def _event(self, title: int, kind: str, position: float, priority: str) -> None:
        event_id = str(uuid.uuid4())
        body = {"event_id": event_id, "user_id": self.viewer, "title_id": title, "type": kind,
                "position_s": position, "ts": round(time.time(), 3)}  # fmt: skip
        status = self._own("POST", EVENTS, EVENTS, priority, json=body)
        if status == 202:
            try:
                obj = orjson.loads(self._last.content or b"").get("object")
            except (orjson.JSONDecodeError, AttributeError):
                obj = None
            ledger.acknowledged("event", f"{obj}#{event_id}")
        elif status is not None and (status == 0 or status >= 500):
            ledger.unknown("event", event_id)

    @task(5)
    def my_list(self) -> None:
        """Add a title to My List, look at the list, and sometimes take the title off again."""
        title = zipf_title_id(_rng)
        user = self.viewer
        idem = str(uuid.uuid4())
        t0 = time.monotonic()
        status = self._own("POST", f"/api/users/{user}/my-list", MY_LIST, "critical", json={"title_id": title},
                           headers={"Idempotency-Key": idem})  # fmt: skip
        if status is not None and 200 <= status < 300:
            ledger.acknowledged("my-list", f"{user}:{title}:{idem}")
        elif status is not None and (status == 0 or status >= 500):
            ledger.unknown("my-list", f"{user}:{title}:{idem}")  # a timeout after COMMIT may still apply it
        _sleep_until(t0 + 0.5)
        self._own("GET", f"/api/users/{user}/my-list", MY_LIST, "critical")
        if _rng.random() < 0.3:
            _sleep_until(t0 + 3.0)
            status = self._own("DELETE", f"/api/users/{user}/my-list/{title}", MY_LIST_ITEM, "critical")
            if status is not None and 200 <= status < 300:
                ledger.acknowledged("my-list-delete", f"{user}:{title}")

    @task(30)
    def browse(self) -> None:
        """Scroll a row: the client prefetches titles the viewer may never open (best-effort)."""
        t0 = time.monotonic()
        for i in range(4):
            _sleep_until(t0 + 0.2 * i)
            self.client.get(f"/api/titles/{zipf_title_id(_rng)}", name=TITLE, headers=_PRIO["best-effort"])


register_verifiers()
