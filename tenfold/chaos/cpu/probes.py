"""The CPU hogs the controller is running."""

from typing import Any

from chaoslib.types import Configuration, Secrets

from tenfold.chaos._controller import controller

__all__ = ["cpu_hog_count", "cpu_hogs"]


def cpu_hogs(configuration: Configuration = None, secrets: Secrets = None) -> list[dict[str, Any]]:
    """The running CPU hogs: id, beside, cores, seconds left."""
    answer = controller(configuration).request("GET", "/cpu-hogs") or {}
    return list(answer.get("hogs", []))


def cpu_hog_count(configuration: Configuration = None, secrets: Secrets = None) -> int:
    """How many CPU hogs are running (0 in a steady state)."""
    return len(cpu_hogs(configuration))
