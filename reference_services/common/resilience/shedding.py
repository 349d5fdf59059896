"""Priority-aware load shedding on ``X-Priority`` (Netflix's tiers): best-effort goes first, critical last."""

from __future__ import annotations

from contextvars import ContextVar

__all__ = ["DEFAULT_PRIORITY", "PRIORITIES", "PRIORITY", "Shedder"]

PRIORITIES = ("critical", "degraded", "best-effort")
DEFAULT_PRIORITY = "degraded"
PRIORITY: ContextVar[str] = ContextVar("priority", default=DEFAULT_PRIORITY)
"""The priority of the request being served (set by the edge middleware), for the code that decides what to do
when a dependency fails: critical work may be worth a try that the rest is refused."""

# Share of max_in_flight at which each tier starts being refused.
_THRESHOLDS = {"best-effort": 0.5, "degraded": 0.8, "critical": 1.0}


class Shedder:
    """Counts requests in flight; admits a request only while its tier's threshold is not reached."""

    def __init__(self, max_in_flight: int) -> None:
        self.max_in_flight = max_in_flight
        self.in_flight = 0
        self._limits = {p: max(1, int(max_in_flight * share)) for p, share in _THRESHOLDS.items()}

    def admit(self, priority: str) -> bool:
        if self.in_flight >= self._limits[priority]:
            return False
        self.in_flight += 1
        return True

    def release(self) -> None:
        self.in_flight -= 1
