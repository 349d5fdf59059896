"""SIGTERM, SIGINT and SIGHUP to ``tenfold run`` take one path: stop the load, keep the evidence, report.

What stops a run in real life is rarely a Ctrl-C in a terminal: ``timeout``, ``kill``, ``docker stop``, a pod's
termination and most CI cancellations send SIGTERM (to the process alone, or to its group), a closed terminal
SIGHUP. The handlers never raise: they note the first signal (``first``, ``at``) and set ``hurry`` for any later
one, and the run polls them between bounded steps. A CI runner that sends SIGKILL some seconds after SIGTERM
still gets a report, because one is written as soon as the load has stopped (docs/interrupts.md).
"""

from __future__ import annotations

import signal
import threading
import time
from types import FrameType, TracebackType
from typing import Any

__all__ = ["SIGNALS", "Interrupts"]

SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


class Interrupts:
    """A context in which SIGTERM, SIGINT and SIGHUP are noted instead of killing the process (main thread only)."""

    def __init__(self) -> None:
        self.first: str | None = None
        self.at: float | None = None
        self.hurry = threading.Event()
        """Set by a second signal: what is left is shortened (waits end), what exists is still written."""
        self.stop = threading.Event()
        """Set by the first signal."""
        self._previous: dict[int, Any] = {}

    def _note(self, signum: int, frame: FrameType | None) -> None:
        if self.first is None:
            self.first, self.at = signal.Signals(signum).name, time.time()
            self.stop.set()
        else:
            self.hurry.set()

    @property
    def reason(self) -> str | None:
        return None if self.first is None else f"interrupted by {self.first}"

    def sleep(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; True when a signal came (the first, or a later one once stopping)."""
        event = self.hurry if self.stop.is_set() else self.stop
        return event.wait(seconds)

    def __enter__(self) -> Interrupts:
        if threading.current_thread() is threading.main_thread():
            for sig in SIGNALS:
                self._previous[sig] = signal.signal(sig, self._note)
        return self

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
