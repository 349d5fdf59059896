"""What the controller (asking Sentinel) says about the cache."""

from chaoslib.types import Configuration, Secrets

from tenfold.chaos._components import component_state

__all__ = ["cache_is_running", "cache_primary"]


def cache_primary(configuration: Configuration = None, secrets: Secrets = None) -> str:
    """The address (host:port) Sentinel currently names as the cache primary."""
    return str(component_state("cache", configuration).get("primary") or "")


def cache_is_running(configuration: Configuration = None, secrets: Secrets = None) -> bool:
    """True when the cache has a primary that answers."""
    return component_state("cache", configuration).get("state") == "running"
