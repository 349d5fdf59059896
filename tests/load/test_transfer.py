"""A worker's parts reach the master's folder byte for byte, in acknowledged chunks with at most WINDOW in flight;
a short or misnamed part marks that worker broken instead of being merged (no Locust here: a queue is the socket)."""

from __future__ import annotations

import json
import os
from collections import deque
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import gevent
import pytest

from tenfold.load._transfer import CHUNK_BYTES, DONE, PART, WINDOW, Acks, PartsReceiver, send_parts


def _worker_parts(tmp_path: Path, worker: int, size: int) -> Path:
    parts = tmp_path / f"worker{worker}"
    parts.mkdir()
    (parts / f"requests-{worker}.parquet").write_bytes(os.urandom(size))
    (parts / f"ledger-{worker}.jsonl").write_bytes(b"")
    (parts / f"health-{worker}.json").write_text(json.dumps({"worker": worker, "lag_p99_ms": 1.0}))
    return parts


class Link:
    """The messaging between one worker and the master: messages queue until the master's greenlet reads them."""

    def __init__(self, receiver: PartsReceiver, acks: Acks) -> None:
        self.queue: deque[tuple[str, dict[str, Any]]] = deque()
        self.receiver, self.acks = receiver, acks
        self.most_unacked = 0
        receiver.ack = lambda client, seq: acks.on_ack(msg=SimpleNamespace(data={"seq": seq}))

    def send(self, kind: str, data: dict[str, Any]) -> None:
        self.queue.append((kind, data))
        if kind == PART:
            self.most_unacked = max(self.most_unacked, int(data["seq"]) - self.acks.acked)

    def master(self, slow_s: float) -> None:
        while True:
            while not self.queue:
                gevent.sleep(0.001)
            kind, data = self.queue.popleft()
            gevent.sleep(slow_s)  # a master slower than the worker: the window must hold the worker back
            msg = SimpleNamespace(data=data, node_id=data["client"])
            (self.receiver.on_part if kind == PART else self.receiver.on_done)(msg=msg)
            if kind == DONE:
                return


def test_a_worker_record_arrives_whole_with_a_bounded_window(tmp_path: Path) -> None:
    parts = _worker_parts(tmp_path, 3, 20 * CHUNK_BYTES + 12345)
    receiver = PartsReceiver(tmp_path / "master" / "parts")
    acks = Acks()
    link = Link(receiver, acks)
    master = gevent.spawn(link.master, 0.002)
    sent = send_parts(link.send, parts, 3, "host_w3", acks)
    master.join(timeout=30)
    assert receiver.done == {3} and receiver.broken(3) is None
    assert sent == 20 * CHUNK_BYTES + 12345
    got = receiver.parts / "requests-3.parquet"
    assert got.read_bytes() == (parts / "requests-3.parquet").read_bytes()
    assert 1 <= link.most_unacked <= WINDOW  # never more than the window in flight, though the master was slower
    health = json.loads((receiver.parts / "health-3.json").read_text())
    assert health["client_id"] == "host_w3" and health["worker"] == 3
    assert sorted(p.name for p in receiver.parts.iterdir()) == ["health-3.json", "ledger-3.jsonl", "requests-3.parquet"]


def test_a_short_part_marks_the_worker_broken_and_is_not_merged(tmp_path: Path) -> None:
    receiver = PartsReceiver(tmp_path / "parts")
    receiver.on_part(msg=SimpleNamespace(data={"worker": 1, "client": "c", "name": "requests-1.parquet",
                                               "first": True, "data": b"abc", "seq": 1}))  # fmt: skip
    receiver.on_done(msg=SimpleNamespace(data={"worker": 1, "client": "c", "sizes": {"requests-1.parquet": 10},
                                               "health": {"worker": 1}}))  # fmt: skip
    assert receiver.done == set() and receiver.broken(1) == "sent 3 of the 10 bytes of requests-1.parquet"
    assert not (tmp_path / "parts" / "requests-1.parquet").exists()
    assert not (tmp_path / "parts" / "health-1.json").exists()


@pytest.mark.parametrize("name", ["../../etc/passwd", "requests-2.parquet", "health-1.json"])
def test_a_part_named_outside_its_own_files_is_refused(tmp_path: Path, name: str) -> None:
    receiver = PartsReceiver(tmp_path / "parts")
    receiver.on_part(msg=SimpleNamespace(data={"worker": 1, "client": "c", "name": name, "first": True,
                                               "data": b"x", "seq": 1}))  # fmt: skip
    assert receiver.broken(1) == f"sent a part named {name!r}"
    assert not (tmp_path / "parts").exists() or list((tmp_path / "parts").iterdir()) == []


def test_a_master_that_stops_acknowledging_stops_the_worker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("tenfold.load._transfer.SILENCE_S", 0.3)
    parts = _worker_parts(tmp_path, 0, 3 * WINDOW * CHUNK_BYTES)
    sent: list[int] = []
    with pytest.raises(TimeoutError, match=f"acknowledged 0 of {WINDOW} chunks"):
        send_parts(lambda kind, data: sent.append(int(data.get("seq", 0))), parts, 0, "c", Acks())
    assert max(sent) == WINDOW  # it sent its window, then waited
