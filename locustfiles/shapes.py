"""Load shapes: the phases and rates live in scenarios.yaml; the shape only keeps the clocks running."""

from __future__ import annotations

from tenfold.load.locust_plugin import OpenModelShape

__all__ = ["SpikeShape"]


class SpikeShape(OpenModelShape):
    """baseline → ramp to 10x within seconds → peak hold → cooldown (see locustfiles/scenarios.yaml)."""
