"""The local controller: parent of every process of the stack, Deployment + HPA + readiness gating.

Run by ``tenfold up`` as ``python -m tenfold.stack.controller_process --home DIR --port-base N`` in its own
session (:mod:`tenfold.stack.controller_process`: options, signals, the control API); it writes ``state.json``
(phase, pids, endpoints). SIGTERM/SIGINT stop everything; a SIGKILL of the controller takes the children with it
(PR_SET_PDEATHSIG).

The controller is the composition of its pieces: the parts it runs and knows (:mod:`tenfold.stack.parts`), their
wiring (:mod:`tenfold.stack.wiring`), the seed data (:mod:`tenfold.stack.seeding`), the supervision loop
(:mod:`tenfold.stack.supervision`) and the readout (:mod:`tenfold.stack.readout`); the control API's faults are in
:mod:`tenfold.stack.faults`. What is here is the order of a start and of a stop.
"""

from __future__ import annotations

import asyncio
import signal
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from tenfold.errors import StackError
from tenfold.stack import postgres, redis, seeding, wiring
from tenfold.stack.calibration import calibrate, load_calibration
from tenfold.stack.cgroups import CgroupRoot
from tenfold.stack.hogs import Hogs
from tenfold.stack.manifests import DEFAULT_MANIFESTS, DEFAULT_OVERLAY, load_overlay, load_services
from tenfold.stack.parts import StackParts
from tenfold.stack.ports import Ports
from tenfold.stack.readout import stack_status, write_status
from tenfold.stack.status import StackStatus
from tenfold.stack.supervision import Supervisor, wait_ready

__all__ = ["OWNER_GRACE_S", "Controller"]

OWNER_GRACE_S = 10.0  # after the owning run died: time for its experiments' rollbacks


class Controller:
    def __init__(
        self,
        home: Path,
        ports: Ports,
        *,
        autoscaling: bool = True,
        manifests: Path = DEFAULT_MANIFESTS,
        overlay: Path = DEFAULT_OVERLAY,
        rate_limit: int = 5000,
        seed: bool = True,
        seed_users: int | None = None,
        seed_titles: int | None = None,
        links: bool = True,
    ) -> None:
        settings = load_overlay(overlay)
        if seed_users is not None:
            settings = replace(settings, seed_users=seed_users)
        if seed_titles is not None:
            settings = replace(settings, seed_titles=seed_titles)
        specs = calibrate(load_services(manifests, settings), load_calibration())
        cgroups = CgroupRoot(f"tenfold-{ports.base}")
        self.parts = StackParts(
            home=home,
            ports=ports,
            overlay=settings,
            specs=specs,
            links=wiring.default_links(ports) if links else [],
            cgroups=cgroups,
            hogs=Hogs(cgroups, home / "logs"),
            autoscaling=autoscaling,
            rate_limit=rate_limit,
            seed=seed,
        )
        self.supervisor = Supervisor(self.parts)

    def event(self, kind: str, service: str = "", frm: Any = None, to: Any = None, reason: str = "") -> None:
        self.parts.event(kind, service, frm, to, reason)

    async def start(self) -> None:
        """Dependencies, then (once they answer) the gateway and the seeder, then replicas until all are ready."""
        parts = self.parts
        t0 = time.monotonic()
        wiring.build_infra(parts)
        wiring.build_services(parts)
        if not parts.cgroups.available:
            parts.event("cgroups_unavailable", reason=parts.cgroups.reason)
        for c in parts.components.values():
            if c.name != "gateway":
                c.start()
        self.write_state()
        await wait_ready(parts, [n for n in parts.components if n != "gateway"], 30.0)
        await postgres.ensure_database(parts.ports.postgres)
        parts.components["gateway"].start()
        seeding_task = asyncio.create_task(seeding.seed(parts, wiring.service_env(parts))) if parts.seed else None
        for d in parts.deployments.values():
            d.reconcile(time.monotonic())
        self.supervisor.write_targets()
        await wait_ready(parts, ["gateway"], 10.0)
        if seeding_task is not None:
            await seeding_task
        deadline = time.monotonic() + 45
        while any(d.ready_count() < d.desired for d in parts.deployments.values()):
            await self.supervisor.tick()
            if time.monotonic() > deadline:
                waiting = {d.name: f"{d.ready_count()}/{d.desired}" for d in parts.deployments.values()}
                raise StackError(f"replicas not ready after 45 s: {waiting} (logs in {parts.home / 'logs'})")
            await asyncio.sleep(0.1)
        parts.cache_primary = await redis.sentinel_primary(parts.ports.sentinels)
        parts.phase = "ready"
        parts.event("stack_ready", reason=f"{time.monotonic() - t0:.1f}s")
        self.write_state()

    async def run(self) -> None:
        """The supervision loop, until :meth:`request_stop`."""
        await self.supervisor.run()

    def request_stop(self) -> None:
        self.supervisor.stop.set()

    def shutdown(self) -> None:
        """Stop everything: replicas (drain), gateway, then the dependencies; remove the cgroups."""
        parts = self.parts
        parts.phase = "stopping"
        self.write_state()
        parts.hogs.stop()
        now = time.monotonic()
        for d in parts.deployments.values():  # all replicas drain at once, not one service after another
            for r in d.replicas:
                if r.proc.alive():
                    d.terminate(r, now)
        while time.monotonic() < now + 3.0 and any(
            r.proc.alive() for d in parts.deployments.values() for r in d.replicas
        ):
            time.sleep(0.05)
        for d in parts.deployments.values():
            d.stop_all()
        gateway = parts.components.get("gateway")
        if gateway is not None:
            gateway.stop(timeout_s=3.0)
        if "postgres" in parts.components:
            parts.components["postgres"].stop_signal = signal.SIGINT  # fast shutdown: no waiting for clients
        rest = [c for c in parts.components.values() if c.wanted or any(p.alive() for p in c.procs)]
        threads = [threading.Thread(target=c.stop, kwargs={"timeout_s": 5.0}) for c in rest]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        parts.cgroups.cleanup()
        seeding.save(parts)
        parts.phase = "stopped"
        self.write_state()

    def fail(self, reason: str) -> None:
        """The start failed: say so in the phase, the events and ``state.json``."""
        self.parts.error = reason
        self.parts.phase = "failed"
        self.parts.event("stack_failed", reason=reason)
        self.write_state()

    def status(self) -> StackStatus:
        return stack_status(self.parts)

    def write_state(self) -> None:
        write_status(self.parts)
