"""Faults on a service's replicas, made by the local controller (which restarts the dead ones, like a Deployment)."""

from chaoslib.exceptions import ActivityFailed
from chaoslib.types import Configuration, Secrets

from tenfold.chaos._controller import controller, wait_until

__all__ = ["freeze_replicas", "kill_replicas", "thaw_replicas", "wait_for_replicas"]

_SIGNALS = ("SIGKILL", "SIGTERM")


def kill_replicas(
    service: str,
    count: int = 1,
    signal: str = "SIGKILL",
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> list[str]:
    """Kill `count` running replicas of `service` (SIGKILL: a crash; SIGTERM: a graceful drain).

    The controller restarts them as a Deployment would, so the experiment sees the gap and the recovery.
    Returns the ids of the killed replicas."""
    if signal not in _SIGNALS:
        raise ActivityFailed(f"signal must be one of {', '.join(_SIGNALS)}, got {signal!r}")
    if count < 1:
        raise ActivityFailed(f"count must be at least 1, got {count}")
    ctl = controller(configuration)
    running = int(ctl.service(service).get("replicas", 0))
    if count > running:
        raise ActivityFailed(f"cannot kill {count} replicas of {service!r}: only {running} are running")
    return ctl.replicas_action(service, "kill", {"count": count, "signal": signal})


def freeze_replicas(
    service: str, count: int = 1, configuration: Configuration = None, secrets: Secrets = None
) -> list[str]:
    """Freeze `count` replicas of `service` (cgroup freezer): alive, holding connections, answering nothing.

    A hung process is harsher than a dead one: health checks and clients must time out. Thaw them in the
    rollbacks with `thaw_replicas`. Returns the ids of the frozen replicas."""
    if count < 1:
        raise ActivityFailed(f"count must be at least 1, got {count}")
    return controller(configuration).replicas_action(service, "freeze", {"count": count})


def thaw_replicas(service: str, configuration: Configuration = None, secrets: Secrets = None) -> list[str]:
    """Thaw every frozen replica of `service`; safe to call when none is frozen (a rollback)."""
    return controller(configuration).replicas_action(service, "thaw", {})


def wait_for_replicas(
    service: str,
    ready: int = 0,
    timeout_s: float = 60.0,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> float:
    """Wait until `service` has `ready` ready replicas (0: as many as it wants); returns the seconds it took.

    Use it in rollbacks so the next experiment starts from a whole stack."""
    ctl = controller(configuration)

    def whole() -> bool:
        info = ctl.service(service)
        want = ready or int(info.get("desired", info.get("replicas", 1)) or 1)
        return int(info.get("ready", 0)) >= want

    return wait_until(whole, timeout_s, f"{service} getting its replicas ready")
