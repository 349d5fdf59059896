"""Reading back acknowledged writes with any locustfile's verifiers (tenfold.load.verify), against a real server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tenfold import ledger
from tenfold.load.verify import verify_run

from ._server import Server


@pytest.fixture(autouse=True)
def _no_verifiers_of_other_tests() -> Iterator[None]:
    ledger._verifiers.clear()
    yield
    ledger._verifiers.clear()


def _ledger(run: Path, *entries: tuple[str, str, str]) -> None:
    rows = [{"kind": k, "key": key, "outcome": outcome, "sent": float(i), "ack": float(i) + 0.5, "worker": 0}
            for i, (k, key, outcome) in enumerate(entries)]  # fmt: skip
    (run / "ledger.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_each_acknowledged_key_is_checked_once_against_the_target(server: Server, tmp_path: Path) -> None:
    seen: list[tuple[str, str]] = []

    @ledger.verifier("item")
    def present(client: httpx.Client, key: str) -> bool | None:
        seen.append((str(client.base_url), key))
        if key == "maybe":
            return None  # cannot tell: unverified, never lost
        return client.get(f"/{'missing' if key.startswith('gone') else 'ok'}/{key}").status_code == 200

    ack = "acknowledged"
    _ledger(tmp_path, ("item", "a", ack), ("item", "gone-1", ack), ("item", "a", ack), ("item", "maybe", ack),
            ("item", "gone-2", "unknown"), ("note", "n", ack))  # fmt: skip
    d = verify_run(tmp_path, server.url, say=lambda _: None)
    assert sorted(k for _, k in seen) == ["a", "gone-1", "maybe"]  # once per key; the unknown one never
    assert {b.rstrip("/") for b, _ in seen} == {server.url}
    assert d["acknowledged"] == {"item": 4, "note": 1} and d["unknown"] == {"item": 1}
    assert d["checked"] == {"item": 3} and d["lost"] == {"item": 1}
    assert [m["key"] for m in d["missing"]] == ["gone-1"] and d["unverified"] == {"item": 1}
    assert d["unchecked"] == ["note"] and d["verifiers"] == ["item"]
    assert json.loads((tmp_path / "durability.json").read_text()) == d


def test_a_verifier_that_raises_is_retried_then_counted_unreadable_not_lost(tmp_path: Path) -> None:
    calls: dict[str, int] = {}

    @ledger.verifier("item")
    def flaky(client: Any, key: str) -> bool:
        calls[key] = calls.get(key, 0) + 1
        if key == "down" or calls[key] < 2:
            raise ConnectionError("refused")
        return True

    _ledger(tmp_path, ("item", "ok", "acknowledged"), ("item", "down", "acknowledged"))
    d = verify_run(tmp_path, "http://127.0.0.1:9", say=lambda _: None)
    assert calls == {"ok": 2, "down": 3}
    assert d["errors"] == {"item": 1} and d["lost"] == {} and d["error_examples"] == ["ConnectionError: refused"]


def test_the_history_is_there_for_a_verifier_that_needs_it(tmp_path: Path) -> None:
    @ledger.verifier("removal")
    def judged(client: Any, key: str) -> bool | None:
        later = [e for e in ledger.history() if e.kind == "add" and e.key == key]
        return None if later else True

    _ledger(tmp_path, ("removal", "x", "acknowledged"), ("add", "x", "acknowledged"), ("removal", "y", "acknowledged"))
    d = verify_run(tmp_path, "http://127.0.0.1:9", say=lambda _: None)
    assert d["unverified"] == {"removal": 1} and d["lost"] == {}


def test_outside_a_generator_recording_does_nothing() -> None:
    ledger.acknowledged("item", "k")  # a plain `locust -f` without tenfold: no sink, no error
    ledger.unknown("item", 3)
    with pytest.raises(ValueError, match="a ledger kind is a non-empty string"):
        ledger.acknowledged("", "k")
