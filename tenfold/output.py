"""Output that fits where it goes: tables for a terminal, one unwrapped line per row for a log.

CI logs are where tenfold's output is read most, and rich wraps everything at 80 columns when stdout is not a
terminal (``chaos: ⏎cache-lost-30s``, an evidence column one word per line). So: on a terminal, rich tables; when
stdout is not a terminal, plain lines, tab-free and never wrapped, one per row. ``NO_COLOR`` turns colour off
(rich honours it), ``COLUMNS`` sets a terminal's width; ``--json`` prints machine-readable output instead.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from rich.console import Console
from rich.table import Table

__all__ = ["err", "out", "rows", "terminal"]

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
