"""A CPU hog beside a service, run by the controller in that service's CPU group so it competes for its quota."""

from typing import Any

from chaoslib.exceptions import ActivityFailed
from chaoslib.types import Configuration, Secrets

from tenfold.chaos._controller import controller

__all__ = ["start_cpu_hog", "stop_cpu_hogs"]


def start_cpu_hog(
    beside: str,
    cores: float = 1.0,
    duration_s: float = 60.0,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> str:
    """Burn `cores` CPUs for `duration_s` seconds beside service `beside` (it stops by itself after that).

    The autoscaler should see the CPU and the service keep its latency; returns the hog's id."""
    if not 0 < cores <= 4:
        raise ActivityFailed(f"cores must be in (0, 4], got {cores}")
    if not 0 < duration_s <= 600:
        raise ActivityFailed(f"duration_s must be in (0, 600] so a forgotten hog dies on its own, got {duration_s}")
    ctl = controller(configuration)
    ctl.service(beside)
    answer: dict[str, Any] = ctl.request(
        "POST", "/cpu-hogs", {"beside": beside, "cores": cores, "duration_s": duration_s}
    )
    return str(answer.get("id", ""))


def stop_cpu_hogs(configuration: Configuration = None, secrets: Secrets = None) -> int:
    """Stop every CPU hog (a rollback; harmless when none runs); returns how many were stopped."""
    answer = controller(configuration).request("DELETE", "/cpu-hogs") or {}
    return int(answer.get("stopped", 0))
