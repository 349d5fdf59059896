"""A CPU hog beside a service, run by the controller in that service's CPU group so it competes for its quota."""

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
    return controller(configuration).start_cpu_hog(beside, cores, duration_s)


def stop_cpu_hogs(configuration: Configuration = None, secrets: Secrets = None) -> int:
    """Stop every CPU hog (a rollback; harmless when none runs); returns how many were stopped."""
    return controller(configuration).stop_cpu_hogs()
