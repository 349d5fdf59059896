"""What the controller says about a service's replicas (the local twin of a Deployment's status)."""

from chaoslib.types import Configuration, Secrets

from tenfold.chaos._controller import controller

__all__ = ["all_replicas_ready", "ready_replicas", "replicas_at_least"]


def ready_replicas(service: str, configuration: Configuration = None, secrets: Secrets = None) -> int:
    """How many replicas of `service` are ready (passing readiness) right now."""
    return int(controller(configuration).service(service).get("ready", 0))


def replicas_at_least(
    service: str, count: int = 1, configuration: Configuration = None, secrets: Secrets = None
) -> bool:
    """True when `service` has at least `count` ready replicas."""
    return ready_replicas(service, configuration) >= count


def all_replicas_ready(service: str, configuration: Configuration = None, secrets: Secrets = None) -> bool:
    """True when every replica `service` wants (its desired count) is ready, and there is at least one."""
    info = controller(configuration).service(service)
    want = int(info.get("desired", info.get("replicas", 1)) or 1)
    return int(info.get("ready", 0)) >= want >= 1
