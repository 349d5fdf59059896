"""The stack's status as a type: what ``GET /status`` answers, ``state.json`` holds and ``tenfold status --json``
prints (docs/control-api.md shows it whole). The controller builds it (:mod:`tenfold.stack.readout`); the client,
``tenfold up``/``status`` and a run read it back from JSON.

Plain ``TypedDict``s, so the JSON is exactly the dict. ``StackStatus`` is not total: every key is there in what a
controller wrote, but a run against ``--target`` has no local stack and carries the empty status ``{}``.
This module imports nothing of the stack, so the client stays light.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypedDict, cast

__all__ = ["RedisStatus", "ServiceStatus", "StackStatus", "as_status"]


class ServiceStatus(TypedDict):
    """One service's replicas (a Deployment's status and its HPA's bounds)."""

    replicas: int  # live: not dead
    ready: int
    desired: int
    hpa_desired: int | None  # what the HPA algorithm asked for, also when autoscaling is off
    states: dict[str, int]  # replicas by state: starting | ready | frozen | dead | terminating
    cpu_limit: float | None
    min: int | None
    max: int | None
    route: str
    routes: list[str]


class RedisStatus(TypedDict):
    sentinels: list[str]  # HOST:PORT
    master: str  # the name Sentinel knows the primary by


class StackStatus(TypedDict, total=False):
    """The local stack: its phase, where each part listens, and how its services and components are doing."""

    phase: str  # starting | ready | failed | stopping | stopped
    error: str
    pid: int  # the controller's
    port_base: int
    home: str
    control: str  # URLs
    gateway: str
    prometheus: str
    haproxy_stats: str
    postgres: str  # a DSN
    redis: RedisStatus
    dynamodb: str
    s3: str
    autoscaling: bool
    cgroups: bool  # CPU limits applied; else why not in cgroups_reason
    seed_users: int | None  # None: the seeder's default
    cgroups_reason: str
    services: dict[str, ServiceStatus]
    components: dict[str, dict[str, Any]]  # state, pids, restarts and what each kind adds (url, dsn, address, ...)
    links: dict[str, dict[str, Any]]  # control, listen, upstream; a fan-out link: control and members
    pids: list[int]  # every process of the stack, the controller's first
    events: str  # the path of events.jsonl


def as_status(doc: Mapping[str, Any]) -> StackStatus:
    """A status read back as JSON (the control API's answer, ``state.json``): what the controller wrote as one."""
    return cast(StackStatus, doc)
