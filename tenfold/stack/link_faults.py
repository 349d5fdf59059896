"""What is wrong with a link right now (:class:`Faults`: latency, jitter, bandwidth, reset, blackhole; the fields a
``PUT /faults`` may set, checked so that a typo in an experiment fails loudly) and what the link has carried
(:class:`LinkStats`). The proxy that applies them is :mod:`tenfold.stack.linkproxy`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

__all__ = ["Faults", "LinkStats"]


@dataclass
class Faults:
    """What is wrong with the link right now; all zero/false is a clean link."""

    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    bandwidth_bytes_per_s: int = 0
    reset: bool = False
    blackhole: bool = False

    def clean(self) -> bool:
        return self == Faults()

    def delayed(self) -> bool:
        return self.latency_ms > 0 or self.jitter_ms > 0 or self.bandwidth_bytes_per_s > 0

    def merged(self, changes: dict[str, Any]) -> Faults:
        """A copy with ``changes`` applied, validated so a typo in an experiment fails loudly, not silently."""
        valid = {f.name: f.type for f in fields(self)}
        unknown = sorted(set(changes) - set(valid))
        if unknown:
            raise ValueError(f"unknown fault field(s) {unknown}; valid fields are {sorted(valid)}")
        values = asdict(self)
        for name, raw in changes.items():
            if valid[name] == "bool":
                if not isinstance(raw, bool):
                    raise ValueError(f"{name} must be true or false, got {raw!r}")
                values[name] = raw
            else:
                if isinstance(raw, bool) or not isinstance(raw, int | float) or raw < 0:
                    raise ValueError(f"{name} must be a number >= 0, got {raw!r}")
                values[name] = int(raw) if valid[name] == "int" else float(raw)
        if values["jitter_ms"] > values["latency_ms"] and values["latency_ms"] > 0:
            raise ValueError("jitter_ms must not exceed latency_ms (delivery times would need to be negative)")
        return Faults(**values)


@dataclass
class LinkStats:
    """Counters that let a test or an experiment see the fault actually bite."""

    connections_total: int = 0
    connections_open: int = 0
    connections_reset: int = 0
    bytes_upstream: int = 0
    bytes_downstream: int = 0
    bytes_dropped: int = 0
