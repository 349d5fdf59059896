"""Stop/start/kill a stack component through the controller, and wait for its state: shared by the areas."""

from __future__ import annotations

from typing import Any

from tenfold.chaos._controller import Configuration, controller, wait_until

__all__ = ["component_state", "set_component", "wait_component"]


def set_component(component: str, verb: str, configuration: Configuration, **body: Any) -> dict[str, Any]:
    return controller(configuration).component_action(component, verb, body)


def component_state(component: str, configuration: Configuration) -> dict[str, Any]:
    return controller(configuration).component(component)


def wait_component(component: str, state: str, timeout_s: float, configuration: Configuration) -> float:
    return wait_until(
        lambda: component_state(component, configuration).get("state") == state,
        timeout_s,
        f"{component} becoming {state}",
    )
