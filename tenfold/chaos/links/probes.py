"""What a link's fault proxy reports: its faults and its traffic counters."""

from typing import Any

from chaoslib.types import Configuration, Secrets

from tenfold.chaos.links._proxy import call

__all__ = ["link_faults", "link_is_clean", "link_stats"]


def link_faults(link: str, configuration: Configuration = None, secrets: Secrets = None) -> dict[str, Any]:
    """The faults currently set on `link` (latency_ms, jitter_ms, bandwidth_bytes_per_s, reset, blackhole)."""
    return dict(call(link, "GET", "/faults", configuration)["faults"])


def link_stats(link: str, configuration: Configuration = None, secrets: Secrets = None) -> dict[str, Any]:
    """Traffic counters of `link`: connections open/total/reset, bytes each way, bytes dropped."""
    return dict(call(link, "GET", "/faults", configuration)["stats"])


def link_is_clean(link: str, configuration: Configuration = None, secrets: Secrets = None) -> bool:
    """True when `link` has no fault set."""
    faults = link_faults(link, configuration)
    return not any(faults.values())
