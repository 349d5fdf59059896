"""Output that fits where it goes: tables for a terminal, one unwrapped line per row for a log.

CI logs are where tenfold's output is read most, and rich wraps everything at 80 columns when stdout is not a
terminal (``chaos: ⏎cache-lost-30s``, an evidence column one word per line). So: on a terminal, rich tables; when
stdout is not a terminal, plain lines, tab-free and never wrapped, one per row. ``NO_COLOR`` turns colour off
(rich honours it), ``COLUMNS`` sets a terminal's width; ``--json`` prints machine-readable output instead.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn
from rich.table import Table

__all__ = ["LoadProgress", "Tick", "err", "out", "rows", "terminal"]

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)  # a line stays one line in a log


def terminal() -> bool:
    """Whether stdout is a terminal a person reads (not a file, a pipe or a CI log)."""
    return sys.stdout.isatty() and os.environ.get("TERM") != "dumb"


def rows(title: str, head: Sequence[str], body: Sequence[Sequence[str]], right: Sequence[str] = ()) -> None:
    """A table on a terminal; otherwise the title and one line per row, columns separated by two spaces and padded
    to the widest value of the column but the last (so a long evidence never wraps), markup stripped."""
    if terminal():
        table = Table(title=title, title_justify="left")
        for col in head:
            table.add_column(col, justify="right" if col in right else "left", overflow="fold")
        for r in body:
            table.add_row(*r)
        out.print(table)
        return
    plain = [[Console().render_str(c).plain for c in r] for r in [list(head), *[list(b) for b in body]]]
    widths = [max(len(r[i]) for r in plain) for i in range(len(head) - 1)]
    out.print(title, highlight=False, markup=False)
    for r in plain:
        line = "  ".join([*(c.ljust(w) for c, w in zip(r, widths, strict=False)), r[-1]]).rstrip()
        out.print(line, highlight=False, markup=False, soft_wrap=True)


@dataclass(frozen=True)
class Tick:
    """Where a run's load stands: what the progress display shows."""

    elapsed: float
    total: float
    phase: str
    rate: float | None = None
    """Requests per second the system answers (None: no Prometheus to ask)."""
    replicas: Mapping[str, int] = field(default_factory=dict)
    """Ready replicas per service."""
    faults: Sequence[str] = ()
    """The experiments in progress."""

    def details(self) -> str:
        parts = [] if self.rate is None else [f"{self.rate:7.0f} req/s"]
        if self.replicas:
            parts.append(" ".join(f"{name[:4]}={n}" for name, n in sorted(self.replicas.items())))
        if self.faults:
            parts.append("chaos: " + ", ".join(self.faults))
        return "  ".join(parts)

    def line(self) -> str:
        """One unwrapped line, for a log."""
        head = f"+{self.elapsed:5.0f}s of {self.total:g}s {self.phase:<8}"
        return f"{head}  {self.details()}".rstrip()


class LoadProgress:
    """The load's progress. On a terminal (stderr is one): a live bar at the bottom (phase, elapsed of total, request
    rate, replicas, the fault in progress) redrawn every second while log lines scroll above it. Otherwise: one plain
    line every ``every`` seconds through ``say``, as a CI log wants it."""

    def __init__(self, say: Callable[[str], None], *, live: bool | None = None, every: float = 5.0,
                 console: Console | None = None) -> None:  # fmt: skip
        self.say = say
        self.console = console or err
        self.live = (self.console.is_terminal and os.environ.get("TERM") != "dumb") if live is None else live
        self.interval = 1.0 if self.live else every
        """How often the run should hand a tick in (it asks Prometheus for each)."""
        self._bar: Progress | None = None
        self._task: TaskID | None = None

    def update(self, tick: Tick) -> None:
        if not self.live:
            self.say(tick.line())
            return
        if self._bar is None:
            self._bar = Progress(
                TextColumn("[bold]{task.fields[phase]:<8}"), BarColumn(bar_width=30),
                TextColumn("{task.completed:>4.0f}/{task.total:g} s"), TextColumn("{task.fields[details]}"),
                console=self.console, transient=False, refresh_per_second=4,
            )  # fmt: skip
            self._task = self._bar.add_task("load", total=tick.total, phase=tick.phase, details="")
            self._bar.start()
        assert self._task is not None
        self._bar.update(self._task, completed=min(tick.elapsed, tick.total), total=tick.total, phase=tick.phase,
                         details=tick.details())  # fmt: skip

    def close(self) -> None:
        """Leave the last state of the bar on the screen and give the terminal back to plain lines."""
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
