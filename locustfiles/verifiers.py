"""Read-back checks of the viewers' writes (``tenfold.ledger`` verifiers), looking in the reference stores.

- ``my-list`` (key ``user:title:idempotency-key``): an add is proved by its Idempotency-Key row, committed in the
  same transaction as the add (the journey removes titles again later, so the my_list row itself may rightly be
  gone).
- ``my-list-delete`` (key ``user:title``): a removal is proved by the row's absence when nothing may have put it
  back: no add of the same row was answered 2xx at or after the removal was sent, and none ended without an
  answer (``unknown``: a timeout after COMMIT may apply it late). Otherwise it is unverified (None), never lost.
  Only the latest removal of a row counts. Assumes the generator is the only writer of My List during the run.
- ``event`` (key ``object#event_id``): the event id is inside the S3 object the ``202`` named.

The stores come from ``TENFOLD_POSTGRES_DSN`` and ``TENFOLD_S3_ENDPOINT`` (set by ``tenfold run`` with the local
stack); without them no verifier is registered and the writes are reported unchecked, not passed.
"""

from __future__ import annotations

import os
import threading
import urllib.parse
from collections.abc import Iterable
from typing import Any

from tenfold import ledger

__all__ = ["Stores", "register_verifiers"]

BUCKET = os.environ.get("TENFOLD_S3_BUCKET", "tenfold-events")


def _row(key: str) -> str:
    """``user:title`` of a my-list or my-list-delete key."""
    return ":".join(key.split(":")[:2])


class Stores:
    """The reference stores, read in batches: one query for every key of a kind, one GET per S3 object."""

    def __init__(self, postgres_dsn: str | None, s3_endpoint: str | None) -> None:
        self.postgres_dsn = postgres_dsn
        self.s3_endpoint = s3_endpoint
        self._lock = threading.Lock()
        self._committed: set[str] | None = None
        self._present: set[str] | None = None
        self._objects: dict[str, set[str] | None] = {}
        self._s3: Any = None
        self._writes: dict[str, list[ledger.Entry]] | None = None

    def writes_of_row(self, row: str) -> list[ledger.Entry]:
        """Every my-list and my-list-delete entry of the ledger on ``user:title`` (indexed once)."""
        with self._lock:
            if self._writes is None:
                self._writes = {}
                for e in ledger.history():
                    if e.kind in ("my-list", "my-list-delete"):
                        self._writes.setdefault(_row(e.key), []).append(e)
            return self._writes.get(row, [])

    def _pg(self) -> Any:
        import pg8000.native

        u = urllib.parse.urlsplit(self.postgres_dsn or "")
        return pg8000.native.Connection(
            user=urllib.parse.unquote(u.username or "postgres"),
            password=u.password and urllib.parse.unquote(u.password),
            host=u.hostname or "127.0.0.1", port=u.port or 5432, database=(u.path or "/postgres").lstrip("/"),
            timeout=10,
        )  # fmt: skip

    def committed(self, idempotency_keys: Iterable[str]) -> set[str]:
        """The stored ``user:idempotency-key`` rows among ``idempotency_keys`` (queried once, then remembered)."""
        with self._lock:
            if self._committed is None:
                conn = self._pg()
                try:
                    rows = conn.run("SELECT key FROM idempotency_keys WHERE key = ANY(:k)", k=list(idempotency_keys))
                finally:
                    conn.close()
                self._committed = {str(r[0]) for r in rows}
            return self._committed

    def present(self, rows: Iterable[str]) -> set[str]:
        """The ``user:title`` rows among ``rows`` that are on someone's My List now."""
        with self._lock:
            if self._present is None:
                pairs = [tuple(int(x) for x in r.split(":")) for r in rows]
                conn = self._pg()
                try:
                    found = conn.run(
                        "SELECT user_id, title_id FROM my_list WHERE (user_id, title_id) IN "
                        "(SELECT * FROM unnest(CAST(:u AS bigint[]), CAST(:t AS bigint[])))",
                        u=[p[0] for p in pairs], t=[p[1] for p in pairs],
                    )  # fmt: skip
                finally:
                    conn.close()
                self._present = {f"{u}:{t}" for u, t in found}
            return self._present

    def events_in(self, obj: str) -> set[str] | None:
        """Event ids stored in the S3 object ``obj`` (None when there is no such object)."""
        with self._lock:
            if obj in self._objects:
                return self._objects[obj]
            if self._s3 is None:
                import boto3

                self._s3 = boto3.client("s3", endpoint_url=self.s3_endpoint, region_name="us-east-1",
                                        aws_access_key_id="test", aws_secret_access_key="test")  # fmt: skip
            try:
                body = self._s3.get_object(Bucket=BUCKET, Key=obj)["Body"].read()
            except self._s3.exceptions.NoSuchKey:
                self._objects[obj] = None
                return None
            import orjson

            ids = {str(orjson.loads(line)["event_id"]) for line in body.splitlines() if line.strip()}
            self._objects[obj] = ids
            return ids


def register_verifiers(postgres_dsn: str | None = None, s3_endpoint: str | None = None) -> Stores | None:
    """Register the three verifiers when the stores are reachable (from the arguments or the environment)."""
    dsn = postgres_dsn or os.environ.get("TENFOLD_POSTGRES_DSN")
    s3 = s3_endpoint or os.environ.get("TENFOLD_S3_ENDPOINT")
    if not dsn and not s3:
        return None
    stores = Stores(dsn, s3)

    if dsn:

        def _idempotency_row(key: str) -> str:
            user, _, idem = key.split(":", 2)
            return f"{user}:{idem}"

        @ledger.verifier("my-list")
        def add_committed(client: Any, key: str) -> bool:
            adds = (_idempotency_row(e.key) for e in ledger.history() if e.kind == "my-list")
            return _idempotency_row(key) in stores.committed(adds)

        @ledger.verifier("my-list-delete")
        def removal_holds(client: Any, key: str) -> bool | None:
            writes = stores.writes_of_row(key)
            last = max((e for e in writes if e.kind == "my-list-delete"), key=lambda e: e.ack)
            if any(e.kind == "my-list" and (e.outcome == "unknown" or e.ack >= last.sent) for e in writes):
                return None  # re-added later, or racing an add: the row may rightly be there
            rows = (e.key for e in ledger.history() if e.kind == "my-list-delete")
            return key not in stores.present(rows)

    if s3:

        @ledger.verifier("event")
        def event_stored(client: Any, key: str) -> bool:
            obj, _, event_id = key.rpartition("#")
            found = stores.events_in(obj)
            return found is not None and event_id in found

    return stores
