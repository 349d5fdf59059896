"""The plugin's process-wide state (one per Locust process): the generator, the master's workers, the signals seen."""

from __future__ import annotations

from typing import Any

import gevent.event

from ._generator import Generator
from ._transfer import Acks, LostWorker, PartsReceiver

__all__ = ["Coordinator", "state"]


class Coordinator:
    """Process-wide state: the generator (if this process sends load) and what the master must know."""

    def __init__(self) -> None:
        self.generator: Generator | None = None
        self.finished: gevent.event.Event | None = None
        """Set once this process's parts are written (and, on a worker, sent): the first finish sets it."""
        self.workers = 1
        self.t0 = 0.0
        self.master_t0: float | None = None
        self.quitting = False
        self.signalled = False
        self.run_time: float | None = None
        """Locust's ``-t``: where the scenario's schedule is cut (None: the whole schedule)."""
        self.plan: dict[str, Any] | None = None
        """What a worker got from the master: the scenario, profile and cut (its own options may name files it
        lacks)."""
        self.receiver: PartsReceiver | None = None
        self.acks: Acks | None = None
        """A worker's count of its chunks the master wrote."""
        self.collected = False
        self.expected: dict[int, str] = {}
        """The master's workers at the start: index -> Locust client id."""
        self.went_missing: dict[int, tuple[float, str]] = {}
        """index -> (when, "went missing" or "quit"): a worker that stopped before it sent its records."""
        self.lost: list[LostWorker] = []


state = Coordinator()
