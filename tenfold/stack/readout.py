"""The controller's readout of its stack: the parts as a :class:`~tenfold.stack.status.StackStatus` (``GET /status``
and ``state.json``), the links by the names chaos uses, and every pid the stack has.
"""

from __future__ import annotations

import os
from typing import Any

from tenfold.stack import postgres, redis
from tenfold.stack.haproxy import ROUTES
from tenfold.stack.parts import EVENTS, StackParts
from tenfold.stack.ports import HOST
from tenfold.stack.state import write_state
from tenfold.stack.status import ServiceStatus, StackStatus

__all__ = ["link_members", "link_status", "pids", "stack_status", "write_status"]


def pids(parts: StackParts) -> list[int]:
    """The controller's own first, then every component's, replica's and CPU hog's."""
    out = [os.getpid()]
    for c in parts.components.values():
        out += c.pids
    for d in parts.deployments.values():
        out += [r.pid for r in d.replicas if r.pid is not None]
    out += parts.hogs.pids()
    return out


def _services(parts: StackParts) -> dict[str, ServiceStatus]:
    services: dict[str, ServiceStatus] = {}
    for name, d in parts.deployments.items():
        states: dict[str, int] = {}
        for r in d.replicas:
            states[r.state] = states.get(r.state, 0) + 1
        services[name] = {
            "replicas": len(d.live()),
            "ready": d.ready_count(),
            "desired": d.desired,
            "hpa_desired": parts.desired_by_hpa.get(name),
            "states": states,
            "cpu_limit": d.spec.cpu_limit,
            "min": d.spec.hpa.min_replicas if d.spec.hpa else None,
            "max": d.spec.hpa.max_replicas if d.spec.hpa else None,
            "route": ROUTES.get(name, ("",))[0],
            "routes": list(ROUTES.get(name, ())),
        }
    return services


def _components(parts: StackParts) -> dict[str, dict[str, Any]]:
    """Each component, then the cache as one (``cache``, ``cache-primary``) and by role (whichever node Sentinel
    calls primary / replica right now)."""
    components: dict[str, dict[str, Any]] = {
        n: {"state": c.state, "pids": c.pids, "restarts": c.restarts, **c.extra} for n, c in parts.components.items()
    }
    cache_nodes = [parts.components[n] for n in ("redis-0", "redis-1") if n in parts.components]
    if cache_nodes:
        any_wanted = any(c.wanted for c in cache_nodes)
        primary_up = any(c.ready and c.extra.get("address") == parts.cache_primary for c in cache_nodes)
        components["cache"] = {
            "state": "running" if primary_up else ("stopped" if not any_wanted else "down"),
            "primary": parts.cache_primary,
            "nodes": [c.extra["address"] for c in cache_nodes],
        }
        components["cache-primary"] = {"state": components["cache"]["state"], "address": parts.cache_primary}
        # Role aliases: whichever node Sentinel calls primary / replica right now.
        for role, is_primary in (("redis-primary", True), ("redis-replica", False)):
            node = next((c for c in cache_nodes if (c.extra["address"] == parts.cache_primary) == is_primary), None)
            if node is not None:
                components[role] = {"state": node.state, "node": node.name, "address": node.extra["address"]}
    return components


def stack_status(parts: StackParts) -> StackStatus:
    p = parts.ports
    return {
        "phase": parts.phase,
        "error": parts.error,
        "pid": os.getpid(),
        "port_base": p.base,
        "home": str(parts.home),
        "control": f"http://{HOST}:{p.control}",
        "gateway": f"http://{HOST}:{p.gateway}",
        "prometheus": f"http://{HOST}:{p.prometheus}",
        "haproxy_stats": f"http://{HOST}:{p.haproxy_stats}/stats",
        "postgres": postgres.dsn(p.postgres),
        "redis": {"sentinels": [f"{HOST}:{s}" for s in p.sentinels], "master": redis.MASTER},
        "dynamodb": f"http://{HOST}:{p.dynamodb}",
        "s3": f"http://{HOST}:{p.s3}",
        "autoscaling": parts.autoscaling,
        "cgroups": parts.cgroups.available,
        "seed_users": parts.overlay.seed_users,  # None: the seeder's default; load picks users it seeded
        "cgroups_reason": parts.cgroups.reason,
        "services": _services(parts),
        "components": _components(parts),
        "links": link_status(parts),
        "pids": pids(parts),
        "events": str(parts.home / EVENTS),
    }


def link_status(parts: StackParts) -> dict[str, dict[str, Any]]:
    """Links by the name chaos uses; the two cache-node proxies form one link, ``cache``, whose control URL
    is the controller's fan-out (``/links/cache``), so one fault reaches whichever node is primary."""
    out: dict[str, dict[str, Any]] = {}
    for spec in parts.links:
        if spec.name.startswith("cache-"):
            continue
        out[spec.name] = {
            "control": f"http://{HOST}:{spec.control}",
            "listen": f"{HOST}:{spec.listen}",
            "upstream": f"{HOST}:{spec.upstream}",
        }
    members = link_members(parts, "cache")
    if members:
        out["cache"] = {"control": f"http://{HOST}:{parts.ports.control}/links/cache", "members": members}
    return out


def link_members(parts: StackParts, name: str) -> list[str]:
    """Control URLs of the proxies behind a (fan-out) link name."""
    return [f"http://{HOST}:{s.control}" for s in parts.links if s.name.startswith(f"{name}-")]


def write_status(parts: StackParts) -> None:
    """``state.json``: how ``tenfold status``/``down`` find the controller, and every pid after a crash."""
    write_state(parts.home, stack_status(parts))
