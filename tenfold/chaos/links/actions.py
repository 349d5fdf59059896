"""Faults on a dependency link, made by the link's fault proxy: latency, resets, blackhole, bandwidth."""

from typing import Any

from chaoslib.exceptions import ActivityFailed
from chaoslib.types import Configuration, Secrets

from tenfold.chaos._controller import controller
from tenfold.chaos.links._proxy import call

__all__ = [
    "add_latency",
    "blackhole_link",
    "clear_all_link_faults",
    "clear_link_faults",
    "limit_bandwidth",
    "reset_connections",
]


def add_latency(
    link: str,
    latency_ms: float = 200.0,
    jitter_ms: float = 0.0,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> dict[str, Any]:
    """Delay every chunk on `link` by `latency_ms` ± `jitter_ms`, each way (a request/response pays it twice).

    Timeouts, retries and breakers on that dependency must keep the service inside its latency SLO."""
    if latency_ms <= 0 or jitter_ms < 0 or jitter_ms > latency_ms:
        raise ActivityFailed(f"need latency_ms > 0 and 0 <= jitter_ms <= latency_ms, got {latency_ms}/{jitter_ms}")
    return dict(call(link, "PUT", "/faults", configuration, {"latency_ms": latency_ms, "jitter_ms": jitter_ms}))


def reset_connections(
    link: str, persistent: bool = False, configuration: Configuration = None, secrets: Secrets = None
) -> dict[str, Any]:
    """Reset (TCP RST) every open connection on `link`; with `persistent`, keep resetting new ones too.

    Clients must reconnect and retry idempotent calls. Undo a persistent reset with `clear_link_faults`."""
    answer = dict(call(link, "PUT", "/faults", configuration, {"reset": True}))
    if not persistent:
        # on then off rather than POST /connections/reset: only /faults goes through the controller's fan-out
        # for links made of several proxies (the cache), and this is the same one-shot reset
        answer = dict(call(link, "PUT", "/faults", configuration, {"reset": False}))
    return answer


def blackhole_link(link: str, configuration: Configuration = None, secrets: Secrets = None) -> dict[str, Any]:
    """Swallow everything on `link`: connects succeed, nothing ever comes back, so only timeouts save callers."""
    return dict(call(link, "PUT", "/faults", configuration, {"blackhole": True}))


def limit_bandwidth(
    link: str, bytes_per_s: int = 100_000, configuration: Configuration = None, secrets: Secrets = None
) -> dict[str, Any]:
    """Cap `link` to `bytes_per_s` in each direction, shared by all its connections."""
    if bytes_per_s <= 0:
        raise ActivityFailed(f"bytes_per_s must be positive, got {bytes_per_s}")
    return dict(call(link, "PUT", "/faults", configuration, {"bandwidth_bytes_per_s": bytes_per_s}))


def clear_link_faults(link: str, configuration: Configuration = None, secrets: Secrets = None) -> dict[str, Any]:
    """Remove every fault from `link` (a rollback; harmless on a clean link)."""
    return dict(call(link, "DELETE", "/faults", configuration))


def clear_all_link_faults(configuration: Configuration = None, secrets: Secrets = None) -> list[str]:
    """Remove every fault from every link the stack has; returns the links cleared (a catch-all rollback)."""
    links = (configuration or {}).get("tenfold_links") or controller(configuration).status().get("links") or {}
    for link in sorted(links):
        clear_link_faults(link, configuration)
    return sorted(links)
