"""Every error tenfold raises on purpose, rooted in one class.

The CLI maps these to exit codes in exactly one place (``tenfold.cli``)::

    TenfoldError                 exit 70 unless a subclass says otherwise
    ├── UsageError               64  a flag or argument the user gave is wrong
    ├── ConfigError              65  a file the user gave (SLO, experiment, manifest) is invalid
    ├── MissingDependencyError   69  a system binary or package is missing (run `make setup`)
    ├── StackError               70  the local stack could not start, is not running, or is running already
    │   └── PortInUseError       70  a port the stack needs is taken
    ├── PrometheusError          70  a PromQL query failed: Prometheus unreachable, the query rejected (tenfold.promql)
    └── RunInvalidError           2  the evidence cannot be trusted (generator saturated, rollback failed, ...)

Every message says what went wrong and what to do about it.
"""

from __future__ import annotations

from typing import Literal

__all__ = [
    "ConfigError",
    "MissingDependencyError",
    "PortInUseError",
    "PrometheusError",
    "RunInvalidError",
    "StackError",
    "TenfoldError",
    "UsageError",
]


class TenfoldError(Exception):
    """Root of tenfold's errors; ``exit_code`` is what the CLI exits with."""

    exit_code: int = 70


class UsageError(TenfoldError):
    exit_code = 64


class ConfigError(TenfoldError):
    """A user-written file is invalid; the message names the file, the line and the fix."""

    exit_code = 65

    def __init__(
        self, message: str, *, path: str | None = None, line: int | None = None, column: int | None = None
    ) -> None:
        where = ""
        if path is not None:
            where = path + "".join(f":{n}" for n in (line, column if line is not None else None) if n is not None)
            where += ": "
        super().__init__(f"{where}{message}")
        self.path = path
        self.line = line
        self.column = column


class MissingDependencyError(TenfoldError):
    exit_code = 69


class StackError(TenfoldError):
    exit_code = 70


class PortInUseError(StackError):
    pass


class PrometheusError(TenfoldError):
    """A PromQL query failed; the message names the Prometheus and the query (``tenfold.promql`` raises it).

    ``kind`` says how: ``unreachable`` (no answer in time; ``reason`` says why), ``rejected`` (Prometheus answered
    with an error: ``reason`` is its text), ``unexpected`` (an answer that is not what was asked for, e.g. a range
    vector where one number per series was wanted)."""

    def __init__(
        self, url: str, query: str, reason: str, *, kind: Literal["unreachable", "rejected", "unexpected"]
    ) -> None:
        what = {"unreachable": "does not answer", "rejected": "rejected"}.get(kind, "answered")
        super().__init__(f"Prometheus at {url} {what} {query!r}: {reason}")
        self.url = url
        self.query = query
        self.reason = reason
        self.kind = kind


class RunInvalidError(TenfoldError):
    exit_code = 2
