"""What the controller runs and knows, shared by its pieces: the wiring (:mod:`tenfold.stack.wiring`) fills it, the
supervision loop (:mod:`tenfold.stack.supervision`) and the control API's faults (:mod:`tenfold.stack.faults`)
change it, the readout (:mod:`tenfold.stack.readout`) describes it. Every change worth telling is an event, kept
here (the last 500) and appended to ``events.jsonl``.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tenfold.stack.autoscaler import Autoscaler
from tenfold.stack.cgroups import CgroupRoot
from tenfold.stack.component import Component
from tenfold.stack.haproxy import RuntimeApi
from tenfold.stack.hogs import Hogs
from tenfold.stack.links import Link
from tenfold.stack.manifests import Overlay, ServiceSpec
from tenfold.stack.ports import Ports
from tenfold.stack.replicas import Deployment

__all__ = ["EVENTS", "StackParts"]

EVENTS = "events.jsonl"
"""The event log's file in the state directory."""


@dataclass(eq=False)
class StackParts:
    """The stack's configuration (first fields), its processes once wired, and what the controller has learnt."""

    home: Path
    ports: Ports
    overlay: Overlay
    specs: list[ServiceSpec]
    links: list[Link]
    cgroups: CgroupRoot
    hogs: Hogs
    autoscaling: bool
    rate_limit: int
    seed: bool
    seed_key: str = ""
    phase: str = "starting"
    error: str = ""
    started: float = field(default_factory=time.time)
    components: dict[str, Component] = field(default_factory=dict)
    deployments: dict[str, Deployment] = field(default_factory=dict)
    autoscalers: dict[str, Autoscaler] = field(default_factory=dict)
    desired_by_hpa: dict[str, int] = field(default_factory=dict)
    cache_primary: str | None = None  # the address Sentinel names
    events: list[dict[str, Any]] = field(default_factory=list)
    runtime: RuntimeApi | None = None  # the gateway's runtime API, once the gateway is wired

    def event(self, kind: str, service: str = "", frm: Any = None, to: Any = None, reason: str = "") -> None:
        row = {"ts": time.time(), "kind": kind, "service": service, "from": frm, "to": to, "reason": reason}
        self.events.append(row)
        del self.events[:-500]
        with (self.home / EVENTS).open("a") as f:
            f.write(json.dumps(row) + "\n")

    def via_link(self, name: str, port: int) -> int:
        """The port services use for a dependency: its link proxy's when there is one."""
        return next((spec.listen for spec in self.links if spec.name == name), port)
