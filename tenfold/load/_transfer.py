"""A worker's parts travel to the master over Locust's own messaging: no disk is shared between them.

At the end of the schedule (or on a signal) the master asks every worker to finish (``tenfold_finish``). Each
worker writes its parts into a private temporary folder, sends each file in chunks (``tenfold_part``) and then its
health (``tenfold_done``, which lists every file's size); the master appends each chunk to its own
``<run-dir>/parts/`` as it arrives, so it holds one chunk at a time, never a worker's whole record. Each chunk is
acknowledged (``tenfold_part_ack``) and a worker keeps at most ``WINDOW`` unacknowledged, so nothing piles up in the
sockets either. A worker that stops sending heartbeats, or sends nothing for ``SILENCE_S``, is *lost*: it is named
in load.json and the run is invalid.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "ACK",
    "CHUNK_BYTES",
    "DONE",
    "FINISH",
    "PART",
    "SILENCE_S",
    "WINDOW",
    "Acks",
    "LostWorker",
    "PartsReceiver",
    "clear",
    "send_parts",
]

log = logging.getLogger("tenfold.load")

FINISH = "tenfold_finish"
PART = "tenfold_part"
ACK = "tenfold_part_ack"
DONE = "tenfold_done"
WINDOW = 8
"""Chunks a worker may have sent and the master not yet written: 8 MiB in flight per worker at most."""
CHUNK_BYTES = 1 << 20
"""1 MiB per message: the master writes each chunk as it comes, so its memory is one chunk per worker, not a run."""
SILENCE_S = 30.0
"""A live worker that sends nothing for this long while the master waits for its parts is given up on."""
_SEND_RETRY_S = 30.0
_PART_NAME = re.compile(r"(requests-\d+\.parquet|ledger-\d+\.jsonl)")


@dataclass(frozen=True)
class LostWorker:
    """A worker whose parts never (completely) reached the master."""

    index: int
    client_id: str
    why: str

    def describe(self) -> str:
        return f"worker {self.index} ({self.client_id}) {self.why}"


class Acks:
    """The worker's side of the flow control: how many chunks the master has written (its ``tenfold_part_ack``).

    A worker keeps at most ``WINDOW`` chunks unacknowledged, so neither side buffers more than that per worker
    however fast the worker reads its files and however slow the master's disk."""

    def __init__(self) -> None:
        import gevent.event

        self.acked = 0
        self._moved = gevent.event.Event()

    def on_ack(self, environment: Any = None, msg: Any = None, **_: Any) -> None:
        self.acked = max(self.acked, int(msg.data["seq"]))
        self._moved.set()

    def wait_below(self, seq: int, window: int, timeout_s: float) -> None:
        """Return once fewer than ``window`` of the first ``seq`` chunks are unacknowledged; TimeoutError after
        ``timeout_s`` without an ack."""
        deadline = time.monotonic() + timeout_s
        while seq - self.acked >= window:
            self._moved.clear()
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"the master acknowledged {self.acked} of {seq} chunks and then nothing for "
                                   f"{timeout_s:g} s")  # fmt: skip
            self._moved.wait(min(left, 1.0))


def send_parts(
    send: Callable[[str, dict[str, Any]], None], parts: Path, worker: int, client_id: str, acks: Acks | None = None,
    retry_on: tuple[type[Exception], ...] = (),
) -> int:  # fmt: skip
    """Send every part file in ``parts`` in chunks, then the health file as the "done" marker; returns the bytes
    sent. ``send`` is the worker runner's ``send_message``; with ``acks``, at most ``WINDOW`` chunks are in flight; a
    send that raises one of ``retry_on`` (Locust's RPCError: its queue is full) is retried for 30 s."""
    sizes: dict[str, int] = {}
    sent = seq = 0
    for path in sorted(parts.iterdir()):
        if not _PART_NAME.fullmatch(path.name):
            continue
        sizes[path.name] = path.stat().st_size
        with path.open("rb") as f:
            first = True
            while True:
                data = f.read(CHUNK_BYTES)
                if not data and not first:
                    break
                if acks is not None:
                    acks.wait_below(seq, WINDOW, SILENCE_S)
                seq += 1
                _send(send, PART, {"worker": worker, "client": client_id, "name": path.name, "first": first,
                                   "data": data, "seq": seq}, retry_on)  # fmt: skip
                sent += len(data)
                first = False
                if not data:
                    break
    health = json.loads((parts / f"health-{worker}.json").read_text())
    _send(send, DONE, {"worker": worker, "client": client_id, "sizes": sizes, "health": health}, retry_on)
    return sent


def _send(
    send: Callable[[str, dict[str, Any]], None], kind: str, data: dict[str, Any], retry_on: tuple[type[Exception], ...]
) -> None:
    import gevent

    deadline = time.monotonic() + _SEND_RETRY_S
    while True:
        try:
            send(kind, data)
            gevent.sleep(0)  # let the socket drain between chunks
            return
        except retry_on:
            if time.monotonic() >= deadline:
                raise
            gevent.sleep(0.2)


@dataclass
class PartsReceiver:
    """The master's side: chunks appended into ``parts``; a worker is done once its health arrived and every file
    has the size the worker announced."""

    parts: Path
    ack: Callable[[str, int], None] | None = None
    """Tell a worker (by its client id) how many of its chunks are written: its flow control."""
    done: set[int] = field(default_factory=set)
    last_heard: float = field(default_factory=time.monotonic)
    _broken: dict[int, str] = field(default_factory=dict)

    def on_part(self, environment: Any = None, msg: Any = None, **_: Any) -> None:
        data = msg.data
        name, worker = str(data["name"]), int(data["worker"])
        self.last_heard = time.monotonic()
        if not _PART_NAME.fullmatch(name) or not name.split("-", 1)[1].startswith(f"{worker}."):
            self._broken[worker] = f"sent a part named {name!r}"
            return
        self.parts.mkdir(parents=True, exist_ok=True)
        with (self.parts / f".{name}.incoming").open("wb" if data["first"] else "ab") as f:
            f.write(data["data"])
        if self.ack is not None and "seq" in data:
            self.ack(str(data["client"]), int(data["seq"]))

    def on_done(self, environment: Any = None, msg: Any = None, **_: Any) -> None:
        data = msg.data
        worker = int(data["worker"])
        self.last_heard = time.monotonic()
        for name, size in dict(data["sizes"]).items():
            incoming = self.parts / f".{name}.incoming"
            got = incoming.stat().st_size if incoming.is_file() else -1
            if got != int(size):
                self._broken[worker] = f"sent {max(got, 0)} of the {size} bytes of {name}"
                return
            incoming.replace(self.parts / name)
        health = dict(data["health"]) | {"client_id": str(data["client"])}
        self.parts.mkdir(parents=True, exist_ok=True)
        tmp = self.parts / f".health-{worker}.tmp"
        tmp.write_text(json.dumps(health))
        tmp.rename(self.parts / f"health-{worker}.json")
        self.done.add(worker)
        log.info("tenfold: worker %d (%s) sent its records", worker, data["client"])

    def broken(self, worker: int) -> str | None:
        return self._broken.get(worker)


def clear(parts: Path) -> None:
    """Remove a worker's private parts folder once its parts are sent."""
    shutil.rmtree(parts, ignore_errors=True)
