"""Cache faults: lose the primary (Sentinel promotes the replica) or lose the whole cache for a while."""

from typing import Any

from chaoslib.types import Configuration, Secrets

from tenfold.chaos._components import component_state, set_component, wait_component
from tenfold.chaos._controller import wait_until

__all__ = ["kill_cache_primary", "start_cache", "stop_cache", "wait_for_cache_failover"]


def kill_cache_primary(configuration: Configuration = None, secrets: Secrets = None) -> dict[str, Any]:
    """SIGKILL the Redis node Sentinel currently calls primary; Sentinel then promotes the replica.

    The local twin of ElastiCache's test-failover. The controller brings the old primary back as a replica.
    Returns the controller's answer (which node was killed)."""
    return set_component("cache-primary", "kill", configuration)


def wait_for_cache_failover(
    old_primary: str = "", timeout_s: float = 30.0, configuration: Configuration = None, secrets: Secrets = None
) -> float:
    """Wait until Sentinel names a primary other than `old_primary` (or any primary, when empty).

    Returns the seconds it took: the failover time the SLO's recovery window depends on."""

    def promoted() -> bool:
        primary = str(component_state("cache", configuration).get("primary") or "")
        return bool(primary) and primary != old_primary

    return wait_until(promoted, timeout_s, "a Sentinel failover to a new cache primary")


def stop_cache(configuration: Configuration = None, secrets: Secrets = None) -> dict[str, Any]:
    """Stop every cache node (primary and replica): the whole cache is gone until `start_cache`.

    Services must fall back to their stores (cache-aside) and say so with X-Degraded, not fail."""
    return set_component("cache", "stop", configuration)


def start_cache(
    timeout_s: float = 30.0, configuration: Configuration = None, secrets: Secrets = None
) -> dict[str, Any]:
    """Start the cache again and wait until it is running (a rollback; harmless when it already runs)."""
    answer = set_component("cache", "start", configuration)
    wait_component("cache", "running", timeout_s, configuration)
    return answer
