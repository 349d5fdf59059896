"""Cache faults: lose the primary (Sentinel promotes the replica) or lose the whole cache for a while."""

from typing import Any

from chaoslib.types import Configuration, Secrets

from tenfold.chaos._components import component_state, set_component, wait_component
from tenfold.chaos._controller import wait_until

__all__ = ["kill_cache_primary", "start_cache", "stop_cache", "wait_for_cache_failover"]

# Chaos Toolkit cannot pass one activity's output to the next, so the primary we killed is remembered here
# (one `chaos run` is one process) for `wait_for_cache_failover` to compare against.
_last_killed: dict[str, str] = {}


def kill_cache_primary(configuration: Configuration = None, secrets: Secrets = None) -> dict[str, Any]:
    """SIGKILL the Redis node Sentinel currently calls primary; Sentinel then promotes the replica.

    The local twin of ElastiCache's test-failover. The controller brings the old primary back as a replica.
    Returns the controller's answer (which node was killed)."""
    before = str(component_state("cache", configuration).get("primary") or "")
    answer = set_component("cache-primary", "kill", configuration)
    _last_killed["primary"] = str(answer.get("killed") or before)
    return answer


def wait_for_cache_failover(
    old_primary: str = "", timeout_s: float = 30.0, configuration: Configuration = None, secrets: Secrets = None
) -> float:
    """Wait until Sentinel names a primary other than `old_primary` (default: the one `kill_cache_primary` killed).

    Returns the seconds it took: the failover time the SLO's recovery window depends on."""
    old_primary = old_primary or _last_killed.get("primary", "")

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
