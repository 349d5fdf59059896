"""Reconciling acknowledged writes with the real stores: all found, then one dropped on purpose and caught."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import asyncpg
import httpx
from credentials import bearer
from servers import service

from reports.durability import reconcile, write_durability


def _acknowledge_some_writes(stores: dict[str, str], ledger: Path) -> list[dict[str, object]]:
    users = service("users", stores)
    events = service("events", stores)
    entries: list[dict[str, object]] = []
    try:
        for title in (101, 102):
            key = uuid.uuid4().hex
            r = httpx.post(f"{users.url}/api/users/21/my-list", json={"title_id": title},
                           headers={"Idempotency-Key": key, **bearer(21)})  # fmt: skip
            assert r.status_code in (200, 201)
            entries.append({"kind": "my-list", "user_id": 21, "title_id": title, "key": f"21:{title}",
                            "idempotency_key": key, "status": r.status_code, "ack": time.time()})  # fmt: skip
        for _ in range(3):
            ev = {"event_id": uuid.uuid4().hex, "user_id": 21, "title_id": 7, "type": "heartbeat",
                  "position_s": 1.0, "ts": time.time()}  # fmt: skip
            r = httpx.post(f"{events.url}/api/events", json=ev, headers=bearer(21))
            assert r.status_code == 202
            entries.append({"kind": "event", "event_id": ev["event_id"], "key": ev["event_id"],
                            "object": r.json()["object"], "status": 202, "ack": time.time()})  # fmt: skip
    finally:
        users.stop()
        events.stop()
    ledger.write_text("".join(json.dumps(e) + "\n" for e in entries))
    return entries


def test_every_acknowledged_write_is_found(stores: dict[str, str], tmp_path: Path) -> None:
    _acknowledge_some_writes(stores, tmp_path / "ledger.jsonl")
    result = write_durability(
        tmp_path, postgres_dsn=stores["TENFOLD_POSTGRES_DSN"], s3_endpoint=stores["TENFOLD_S3_ENDPOINT"]
    )
    assert result["acknowledged"] == {"my-list": 2, "event": 3}
    assert result["missing"] == [] and result["unchecked"] == []
    assert json.loads((tmp_path / "durability.json").read_text())["missing"] == []


async def test_a_write_dropped_on_purpose_is_reported_missing(stores: dict[str, str], tmp_path: Path) -> None:
    entries = _acknowledge_some_writes(stores, tmp_path / "ledger.jsonl")
    dropped = next(e for e in entries if e["kind"] == "my-list")
    conn = await asyncpg.connect(stores["TENFOLD_POSTGRES_DSN"])
    await conn.execute("DELETE FROM idempotency_keys WHERE key = $1", f"21:{dropped['idempotency_key']}")
    await conn.close()
    # An acknowledged event whose object never got it: point its ledger entry at another object.
    lines = [json.loads(x) for x in (tmp_path / "ledger.jsonl").read_text().splitlines()]
    lines[-1]["object"] = "events/never-written.jsonl"
    (tmp_path / "ledger.jsonl").write_text("".join(json.dumps(e) + "\n" for e in lines))
    dsn, s3 = stores["TENFOLD_POSTGRES_DSN"], stores["TENFOLD_S3_ENDPOINT"]
    result = await reconcile(tmp_path / "ledger.jsonl", postgres_dsn=dsn, s3_endpoint=s3)
    assert sorted(m["kind"] for m in result["missing"]) == ["event", "my-list"]
    assert {m["key"] for m in result["missing"]} == {dropped["key"], lines[-1]["event_id"]}


async def test_without_store_access_writes_are_unchecked_not_passed(tmp_path: Path) -> None:
    (tmp_path / "ledger.jsonl").write_text(json.dumps({"kind": "event", "event_id": "e", "object": "o"}) + "\n")
    result = await reconcile(tmp_path / "ledger.jsonl", postgres_dsn=None, s3_endpoint=None)
    assert result["unchecked"] == ["event"] and result["missing"] == []
