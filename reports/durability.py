"""Reconcile the write ledger with the stores: every acknowledged write must be there afterwards.

This is the one part of collection that reads live stores (PostgreSQL and S3), so it runs while the stack is
still up and writes ``durability.json``; evaluation later reads only that file.

- My List adds are proved by their ``Idempotency-Key`` row, committed in the same transaction as the
  add (the journey removes titles again later, so the my_list row itself may rightly be gone).
- My List removals (``my-list-delete``) are proved by the row's absence, when nothing may have put it back: no
  add of the same row may have committed after the removal, i.e. every add of it in the ledger was answered 2xx
  before the removal was sent, and none ended without an answer or with a 5xx (``my-list-unknown``: a timeout
  after COMMIT may apply it late). A removal that fails this test is counted ``unverified``, never passed or
  failed: re-added later, or racing an add, the row may rightly be there. Only the latest removal of a row counts.
  Assumes the generator is the only writer of My List during the run and that its processes share one clock.
- Events are proved by their ``event_id`` inside the S3 object the ``202`` named.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

__all__ = ["reconcile", "removals_to_check", "write_durability"]


def _ledger(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


async def _committed_keys(dsn: str, keys: list[str]) -> set[str]:
    import asyncpg

    conn = await asyncpg.connect(dsn, timeout=10)
    try:
        rows = await conn.fetch("SELECT key FROM idempotency_keys WHERE key = ANY($1::text[])", keys)
        return {r["key"] for r in rows}
    finally:
        await conn.close()


async def _rows_present(dsn: str, rows: list[tuple[int, int]]) -> set[tuple[int, int]]:
    """The (user_id, title_id) pairs of ``rows`` that are on someone's My List."""
    import asyncpg

    conn = await asyncpg.connect(dsn, timeout=10)
    try:
        found = await conn.fetch(
            "SELECT user_id, title_id FROM my_list WHERE (user_id, title_id) IN "
            "(SELECT * FROM unnest($1::bigint[], $2::bigint[]))",
            [u for u, _ in rows],
            [t for _, t in rows],
        )
        return {(r["user_id"], r["title_id"]) for r in found}
    finally:
        await conn.close()


def removals_to_check(entries: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    """The latest acknowledged removal of each row whose absence it proves, and how many rows it cannot judge."""
    by_row: dict[str, list[dict[str, Any]]] = {}
    for e in entries:
        if e.get("kind") in ("my-list", "my-list-delete", "my-list-unknown"):
            by_row.setdefault(str(e["key"]), []).append(e)
    check: list[dict[str, Any]] = []
    unverified = 0
    for writes in by_row.values():
        removals = [e for e in writes if e["kind"] == "my-list-delete"]
        if not removals:
            continue
        last = max(removals, key=lambda e: float(e["ack"]))
        late = any(e["kind"] == "my-list-unknown" or (e["kind"] == "my-list" and float(e["ack"]) >= float(last["sent"]))
                   for e in writes)  # fmt: skip
        if late:
            unverified += 1
        else:
            check.append(last)
    return check, unverified


async def _stored_events(endpoint: str, bucket: str, objects: set[str]) -> tuple[dict[str, set[str]], Counter[str]]:
    """event ids found in each named object, and how often each id appears across them (duplicates)."""
    from reference_services.common.aws import AwsError, AwsHttp

    s3 = AwsHttp(endpoint, service="s3", region="us-east-1", pool=8)
    found: dict[str, set[str]] = {}
    seen: Counter[str] = Counter()
    sem = asyncio.Semaphore(8)

    async def read(key: str) -> None:
        async with sem:
            try:
                _, body = await s3.s3("GET", bucket, key)
            except AwsError:
                found[key] = set()
                return
        ids = [json.loads(line)["event_id"] for line in body.splitlines() if line.strip()]
        found[key] = set(ids)
        seen.update(ids)

    try:
        await asyncio.gather(*(read(k) for k in objects))
    finally:
        await s3.close()
    return found, seen


async def reconcile(
    ledger_path: Path, *, postgres_dsn: str | None, s3_endpoint: str | None, bucket: str = "tenfold-events"
) -> dict[str, Any]:
    entries = _ledger(ledger_path)
    mylist = [e for e in entries if e.get("kind") == "my-list"]
    events = [e for e in entries if e.get("kind") == "event"]
    missing: list[dict[str, Any]] = []
    unchecked: list[str] = []
    removals = [e for e in entries if e.get("kind") == "my-list-delete"]
    to_check, unverified = removals_to_check(entries)
    if to_check:
        if postgres_dsn:
            present = await _rows_present(postgres_dsn, [(int(e["user_id"]), int(e["title_id"])) for e in to_check])
            missing += [{"kind": "my-list-delete", "key": e["key"], "ack": e.get("ack")}
                        for e in to_check if (int(e["user_id"]), int(e["title_id"])) in present]  # fmt: skip
        else:
            unchecked.append("my-list-delete")
    if mylist:
        if postgres_dsn:
            keys = [f"{e['user_id']}:{e['idempotency_key']}" for e in mylist]
            committed = await _committed_keys(postgres_dsn, keys)
            missing += [{"kind": "my-list", "key": e["key"], "ack": e.get("ack")}
                        for e, k in zip(mylist, keys, strict=True) if k not in committed]  # fmt: skip
        else:
            unchecked.append("my-list")
    duplicates = 0
    if events:
        if s3_endpoint:
            found, seen = await _stored_events(s3_endpoint, bucket, {e["object"] for e in events})
            missing += [{"kind": "event", "key": e["event_id"], "object": e["object"], "ack": e.get("ack")}
                        for e in events if e["event_id"] not in found.get(e["object"], set())]  # fmt: skip
            duplicates = sum(n - 1 for n in seen.values() if n > 1)
        else:
            unchecked.append("event")
    return {
        "acknowledged": {"my-list": len(mylist), "my-list-delete": len(removals), "event": len(events)},
        "missing": missing,
        "unverified": {"my-list-delete": unverified},
        "duplicates": duplicates,
        "unchecked": unchecked,
        "checked_at": time.time(),
    }


def write_durability(run_dir: Path, **stores: Any) -> dict[str, Any]:
    result = asyncio.run(reconcile(run_dir / "ledger.jsonl", **stores))
    (run_dir / "durability.json").write_text(json.dumps(result, indent=2))
    return result
