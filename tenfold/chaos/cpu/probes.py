"""The CPU hogs the controller is running."""

from typing import Any

from chaoslib.types import Configuration, Secrets

from tenfold.chaos._controller import controller

__all__ = ["cpu_hogs"]


def cpu_hogs(configuration: Configuration = None, secrets: Secrets = None) -> list[dict[str, Any]]:
    """The running CPU hogs: id, beside, cores, seconds left."""
    answer = controller(configuration).request("GET", "/cpu-hogs") or {}
    return list(answer.get("hogs", []))
