"""What the control API does to a service's replicas (chaos, control runs, tests): pick some, kill them with a
signal, scale the Deployment from outside the autoscaler, run a CPU hog beside it. Each is an event; freezing and
the components' stop/start/kill are the replicas' and components' own (:mod:`tenfold.stack.api` calls them).
"""

from __future__ import annotations

import signal
import time

from tenfold.stack.parts import StackParts
from tenfold.stack.replicas import Deployment, Replica

__all__ = ["find_replica", "kill_replica", "pick", "scale", "start_hog"]


def find_replica(parts: StackParts, rid: str) -> tuple[Deployment, Replica]:
    for d in parts.deployments.values():
        for r in d.replicas:
            if r.id == rid:
                return d, r
    raise KeyError(rid)


def pick(parts: StackParts, service: str, count: int, states: tuple[str, ...] = ("ready", "starting")) -> list[Replica]:
    """Up to ``count`` replicas in ``states``, the ready ones first, by id."""
    d = parts.deployments[service]
    candidates = [r for r in d.replicas if r.state in states]
    candidates.sort(key=lambda r: (r.state != "ready", r.id))
    return candidates[:count]


def kill_replica(parts: StackParts, r: Replica, sig: int) -> None:
    """SIGTERM asks the replica to stop; any other signal thaws a frozen replica first, so that the signal lands."""
    d = parts.deployments[r.service]
    if sig == signal.SIGTERM:
        r.proc.signal(signal.SIGTERM)
    else:
        if r.group is not None:
            r.group.freeze(False)
        r.proc.signal(sig)
    parts.event("replica_killed", d.name, r.id, signal.Signals(sig).name, "control API")


def scale(parts: StackParts, service: str, replicas: int, reason: str = "control API") -> int:
    """The new desired count (bounded by the service's slots); the autoscaler hears of it as an outside change."""
    d = parts.deployments[service]
    target = max(0, min(replicas, len(d.ports)))
    if target != d.desired:
        parts.event("scale", service, d.desired, target, reason)
        scaler = parts.autoscalers.get(service)
        if scaler is not None:
            scaler.record_external(time.monotonic(), d.desired, target)
        d.desired = target
    return target


def start_hog(parts: StackParts, beside: str, cores: float, duration_s: float) -> str:
    """A CPU hog in ``beside``'s CPU group; its id."""
    d = parts.deployments[beside]
    hog = parts.hogs.start(beside, cores, duration_s)
    parts.event("cpu_hog_started", d.name, None, cores, f"{hog.id} for {duration_s:g}s")
    return hog.id
