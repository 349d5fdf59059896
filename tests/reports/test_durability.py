"""Reconciling acknowledged writes with the real stores: all found, then one dropped on purpose and caught."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import asyncpg
import httpx
import pytest
from credentials import bearer
from servers import service

from reports.durability import reconcile, removals_to_check, write_durability


def _acknowledge_some_writes(stores: dict[str, str], ledger: Path) -> list[dict[str, object]]:
    users = service("users", stores)
    events = service("events", stores)
    entries: list[dict[str, object]] = []
    try:
        for title in (101, 102, 103):
            key = uuid.uuid4().hex
            sent = time.time()
            r = httpx.post(f"{users.url}/api/users/21/my-list", json={"title_id": title},
                           headers={"Idempotency-Key": key, **bearer(21)})  # fmt: skip
            assert r.status_code in (200, 201)
            entries.append({"kind": "my-list", "user_id": 21, "title_id": title, "key": f"21:{title}",
                            "idempotency_key": key, "status": r.status_code, "sent": sent,
                            "ack": time.time()})  # fmt: skip
        sent = time.time()
        r = httpx.delete(f"{users.url}/api/users/21/my-list/103", headers=bearer(21))
        assert r.status_code == 200
        entries.append({"kind": "my-list-delete", "user_id": 21, "title_id": 103, "key": "21:103", "status": 200,
                        "sent": sent, "ack": time.time()})  # fmt: skip
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
    assert result["acknowledged"] == {"my-list": 3, "my-list-delete": 1, "event": 3}
    assert result["missing"] == [] and result["unchecked"] == [] and result["unverified"] == {"my-list-delete": 0}
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


async def test_a_removal_undone_behind_the_services_back_is_reported(stores: dict[str, str], tmp_path: Path) -> None:
    _acknowledge_some_writes(stores, tmp_path / "ledger.jsonl")
    conn = await asyncpg.connect(stores["TENFOLD_POSTGRES_DSN"])
    await conn.execute("INSERT INTO my_list (user_id, title_id) VALUES (21, 103)")  # the acknowledged DELETE, lost
    await conn.close()
    dsn, s3 = stores["TENFOLD_POSTGRES_DSN"], stores["TENFOLD_S3_ENDPOINT"]
    try:
        result = await reconcile(tmp_path / "ledger.jsonl", postgres_dsn=dsn, s3_endpoint=s3)
    finally:
        conn = await asyncpg.connect(dsn)
        await conn.execute("DELETE FROM my_list WHERE user_id = 21 AND title_id = 103")
        await conn.close()
    assert [(m["kind"], m["key"]) for m in result["missing"]] == [("my-list-delete", "21:103")]


def _write(kind: str, sent: float, ack: float, **extra: object) -> dict[str, object]:
    return {"kind": kind, "user_id": 5, "title_id": 9, "key": "5:9", "sent": sent, "ack": ack, **extra}


@pytest.mark.parametrize(
    ("writes", "checked"),
    [
        ([_write("my-list", 1.0, 1.2), _write("my-list-delete", 2.0, 2.1)], True),  # added, then removed
        ([_write("my-list-delete", 2.0, 2.1), _write("my-list", 3.0, 3.2)], False),  # re-added later: may be there
        ([_write("my-list", 1.9, 2.05), _write("my-list-delete", 2.0, 2.1)], False),  # the add raced the removal
        ([_write("my-list-unknown", 0.5, 1.0), _write("my-list-delete", 2.0, 2.1)], False),  # may apply late
        ([_write("my-list-delete", 1.0, 1.1), _write("my-list", 1.5, 1.6), _write("my-list-delete", 2.0, 2.1)], True),
    ],
)
def test_a_removal_is_judged_only_when_no_add_can_have_come_after_it(
    writes: list[dict[str, object]], checked: bool
) -> None:
    check, unverified = removals_to_check(writes)
    assert (len(check), unverified) == ((1, 0) if checked else (0, 1))
    if checked:
        assert check[0]["ack"] == max(float(str(w["ack"])) for w in writes if w["kind"] == "my-list-delete")
