"""Reconcile the write ledger with the stores: every acknowledged write must be there afterwards.

This is the one part of collection that reads live stores (PostgreSQL and S3), so it runs while the stack is
still up and writes ``durability.json``; evaluation later reads only that file.

- My List adds are proved by their ``Idempotency-Key`` row, committed in the same transaction as the
  add (the journey removes titles again later, so the my_list row itself may rightly be gone).
- Events are proved by their ``event_id`` inside the S3 object the ``202`` named.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

__all__ = ["reconcile", "write_durability"]


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
        "acknowledged": {"my-list": len(mylist), "event": len(events)},
        "missing": missing,
        "duplicates": duplicates,
        "unchecked": unchecked,
        "checked_at": time.time(),
    }


def write_durability(run_dir: Path, **stores: Any) -> dict[str, Any]:
    result = asyncio.run(reconcile(run_dir / "ledger.jsonl", **stores))
    (run_dir / "durability.json").write_text(json.dumps(result, indent=2))
    return result
