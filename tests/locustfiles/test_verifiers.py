"""The reference system's write verifiers (locustfiles/verifiers.py) against the real stores, through the same
``tenfold.load.verify`` any locustfile's verifiers go through: all found, then one of each kind lost and caught."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from credentials import bearer
from servers import service

from locustfiles.verifiers import register_verifiers
from tenfold import ledger
from tenfold.load.verify import verify_run

NOWHERE = "http://127.0.0.1:9"  # these verifiers look in the stores, not at the target


@pytest.fixture(autouse=True)
def _no_verifiers_of_other_tests() -> Iterator[None]:
    ledger._verifiers.clear()
    yield
    ledger._verifiers.clear()


def _entry(kind: str, key: str, sent: float, ack: float, outcome: str = "acknowledged") -> dict[str, object]:
    return {"kind": kind, "key": key, "outcome": outcome, "sent": sent, "ack": ack, "worker": 0}


def _acknowledge_some_writes(stores: dict[str, str], path: Path) -> list[dict[str, object]]:
    """Real writes through the users and events services, put in the ledger as viewers.py puts them."""
    users = service("users", stores)
    events = service("events", stores)
    entries: list[dict[str, object]] = []
    try:
        for title in (101, 102, 103):
            idem = uuid.uuid4().hex
            sent = time.time()
            r = httpx.post(f"{users.url}/api/users/37/my-list", json={"title_id": title},
                           headers={"Idempotency-Key": idem, **bearer(37)})  # fmt: skip
            assert r.status_code in (200, 201)
            entries.append(_entry("my-list", f"37:{title}:{idem}", sent, time.time()))
        sent = time.time()
        r = httpx.delete(f"{users.url}/api/users/37/my-list/103", headers=bearer(37))
        assert r.status_code == 200
        entries.append(_entry("my-list-delete", "37:103", sent, time.time()))
        for _ in range(3):
            ev = {"event_id": uuid.uuid4().hex, "user_id": 37, "title_id": 7, "type": "heartbeat",
                  "position_s": 1.0, "ts": time.time()}  # fmt: skip
            sent = time.time()
            r = httpx.post(f"{events.url}/api/events", json=ev, headers=bearer(37))
            assert r.status_code == 202
            entries.append(_entry("event", f"{r.json()['object']}#{ev['event_id']}", sent, time.time()))
    finally:
        users.stop()
        events.stop()
    _write(path, entries)
    return entries


def _write(path: Path, entries: list[dict[str, object]]) -> None:
    path.write_text("".join(json.dumps(e) + "\n" for e in entries))


def test_every_acknowledged_write_is_found(stores: dict[str, str], tmp_path: Path) -> None:
    _acknowledge_some_writes(stores, tmp_path / "ledger.jsonl")
    register_verifiers(stores["TENFOLD_POSTGRES_DSN"], stores["TENFOLD_S3_ENDPOINT"])
    result = verify_run(tmp_path, NOWHERE)
    assert result["acknowledged"] == {"my-list": 3, "my-list-delete": 1, "event": 3}
    assert result["checked"] == result["acknowledged"]
    assert result["missing"] == [] and result["unchecked"] == [] and result["unverified"] == {}
    assert result["errors"] == {}
    assert json.loads((tmp_path / "durability.json").read_text())["missing"] == []


async def test_a_write_dropped_on_purpose_is_reported_missing(stores: dict[str, str], tmp_path: Path) -> None:
    entries = _acknowledge_some_writes(stores, tmp_path / "ledger.jsonl")
    dropped = str(next(e for e in entries if e["kind"] == "my-list")["key"])
    conn = await asyncpg.connect(stores["TENFOLD_POSTGRES_DSN"])
    await conn.execute("DELETE FROM idempotency_keys WHERE key = $1", f"37:{dropped.split(':')[2]}")
    await conn.close()
    # An acknowledged event whose object never got it: point its ledger entry at another object.
    event = entries[-1]
    event["key"] = "events/never-written.jsonl#" + str(event["key"]).rpartition("#")[2]
    _write(tmp_path / "ledger.jsonl", entries)
    register_verifiers(stores["TENFOLD_POSTGRES_DSN"], stores["TENFOLD_S3_ENDPOINT"])
    result = verify_run(tmp_path, NOWHERE)
    assert sorted(m["kind"] for m in result["missing"]) == ["event", "my-list"]
    assert {m["key"] for m in result["missing"]} == {dropped, event["key"]}
    assert result["lost"] == {"my-list": 1, "event": 1}


def test_without_store_access_writes_are_unchecked_not_passed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TENFOLD_POSTGRES_DSN", raising=False)
    monkeypatch.delenv("TENFOLD_S3_ENDPOINT", raising=False)
    _write(tmp_path / "ledger.jsonl", [_entry("event", "o#e", 1.0, 1.1)])
    assert register_verifiers() is None
    result = verify_run(tmp_path, NOWHERE)
    assert result["unchecked"] == ["event"] and result["missing"] == []


async def test_a_removal_undone_behind_the_services_back_is_reported(stores: dict[str, str], tmp_path: Path) -> None:
    _acknowledge_some_writes(stores, tmp_path / "ledger.jsonl")
    dsn = stores["TENFOLD_POSTGRES_DSN"]
    conn = await asyncpg.connect(dsn)
    await conn.execute("INSERT INTO my_list (user_id, title_id) VALUES (37, 103)")  # the acknowledged DELETE, lost
    await conn.close()
    register_verifiers(dsn, stores["TENFOLD_S3_ENDPOINT"])
    try:
        result = verify_run(tmp_path, NOWHERE)
    finally:
        conn = await asyncpg.connect(dsn)
        await conn.execute("DELETE FROM my_list WHERE user_id = 37 AND title_id = 103")
        await conn.close()
    assert [(m["kind"], m["key"]) for m in result["missing"]] == [("my-list-delete", "37:103")]


@pytest.mark.parametrize(
    ("writes", "judged"),
    [
        ([_entry("my-list", "5:9:a", 1.0, 1.2), _entry("my-list-delete", "5:9", 2.0, 2.1)], True),  # added, removed
        ([_entry("my-list-delete", "5:9", 2.0, 2.1), _entry("my-list", "5:9:b", 3.0, 3.2)], False),  # re-added later
        ([_entry("my-list", "5:9:c", 1.9, 2.05), _entry("my-list-delete", "5:9", 2.0, 2.1)], False),  # add raced it
        ([_entry("my-list", "5:9:d", 0.5, 1.0, "unknown"), _entry("my-list-delete", "5:9", 2.0, 2.1)], False),
        ([_entry("my-list-delete", "5:9", 1.0, 1.1), _entry("my-list", "5:9:e", 1.5, 1.6),
          _entry("my-list-delete", "5:9", 2.0, 2.1)], True),  # only the latest removal counts
    ],
)  # fmt: skip
def test_a_removal_is_judged_only_when_no_add_can_have_come_after_it(
    stores: dict[str, str], tmp_path: Path, writes: list[dict[str, object]], judged: bool
) -> None:
    _write(tmp_path / "ledger.jsonl", writes)
    ledger._verifiers.clear()
    register_verifiers(stores["TENFOLD_POSTGRES_DSN"], None)
    ledger._verifiers.pop("my-list")  # only the removal's verdict matters here (the adds never happened)
    result = verify_run(tmp_path, NOWHERE)
    assert result["unverified"] == ({} if judged else {"my-list-delete": 1})
    assert result["missing"] == []  # row 5:9 is on nobody's list: a removal judged holds
    assert result["unchecked"] == (["my-list"] if any(
        w["kind"] == "my-list" and w["outcome"] == "acknowledged" for w in writes) else [])  # fmt: skip
