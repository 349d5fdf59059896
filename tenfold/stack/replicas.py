"""A Deployment's replicas as child processes: one slot (port + HAProxy server) each, own cgroup, restarted
with backoff when they die (``restartPolicy: Always``), taken out of rotation while not ready or frozen.

CPU limits are applied once a replica is first ready: the import-heavy start would take ≈4x longer at 250m,
and Kubernetes' own answer (CPU startup boost) lifts the limit during start the same way.
"""

from __future__ import annotations

import asyncio
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

from tenfold.stack.cgroups import CgroupRoot, Group
from tenfold.stack.component import http_ok
from tenfold.stack.manifests import ServiceSpec
from tenfold.stack.procs import Proc

__all__ = ["Deployment", "Replica"]


@dataclass
class Replica:
    id: str
    service: str
    slot: int
    port: int
    proc: Proc
    group: Group | None
    state: str = "starting"  # starting | ready | frozen | dead | terminating
    restarts: int = 0
    backoff: int = 0  # doublings of the restart delay; reset after 30 s of running (CrashLoopBackOff-like)
    limited: bool = False
    next_start: float = 0.0
    terminate_at: float = 0.0
    probed_at: float = 0.0
    probe_failures: int = 0  # consecutive failed readiness probes while ready
    limited_at: float = 0.0  # when it became ready and got its CPU limit: CPU before that is start-up cost
    cpu: list[tuple[float, float]] = field(default_factory=list)

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc.alive() else None

    def cpu_seconds(self) -> float | None:
        if self.group is not None:
            return self.group.cpu_seconds()
        return None

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "service": self.service,
            "slot": self.slot,
            "port": self.port,
            "pid": self.pid,
            "state": self.state,
            "restarts": self.restarts,
        }


class Deployment:
    def __init__(
        self,
        spec: ServiceSpec,
        ports: list[int],
        home: Path,
        cgroups: CgroupRoot,
        env: dict[str, str],
    ) -> None:
        self.spec = spec
        self.ports = ports
        self.home = home
        self.cgroups = cgroups
        self.env = env
        self.desired = min(spec.replicas, len(ports))
        self.replicas: list[Replica] = []
        self._serial = 0

    @property
    def name(self) -> str:
        return self.spec.name

    def live(self) -> list[Replica]:
        return [r for r in self.replicas if r.state != "terminating"]

    def ready_count(self) -> int:
        return sum(1 for r in self.replicas if r.state == "ready")

    def _new(self) -> Replica | None:
        used = {r.slot for r in self.replicas}
        free = [s for s in range(len(self.ports)) if s not in used]
        if not free:
            return None
        slot = free[0]
        rid = f"{self.name}-{self._serial}"
        self._serial += 1
        group = self.cgroups.group(rid)
        if group is not None:
            group.set_cpu_limit(None)
        env = dict(self.env) | {"TENFOLD_PORT": str(self.ports[slot]), "TENFOLD_REPLICA": rid}
        proc = Proc(
            rid,
            self.spec.argv(),
            env=env,
            log=self.home / "logs" / f"{rid}.log",
            group=group,
        )
        replica = Replica(rid, self.name, slot, self.ports[slot], proc, group)
        proc.start()
        self.replicas.append(replica)
        return replica

    def reconcile(self, now: float) -> list[tuple[str, Replica]]:
        """Bring the process set toward ``desired``; returns (event kind, replica) for the event log."""
        events: list[tuple[str, Replica]] = []
        for r in list(self.replicas):
            if r.state == "terminating":
                if not r.proc.alive():
                    self._remove(r)
                elif now >= r.terminate_at:
                    r.proc.signal(signal.SIGKILL)
                continue
            if r.state != "dead" and not r.proc.alive():
                r.state = "dead"
                r.limited = False
                r.next_start = now + min(10.0, 0.25 * 2 ** min(r.backoff, 6))
                r.backoff += 1
                events.append(("replica_died", r))
            if r.state == "dead" and now >= r.next_start:
                if r.group is not None:
                    r.group.freeze(False)
                    r.group.set_cpu_limit(None)
                r.proc.start()
                r.restarts += 1
                r.state = "starting"
                events.append(("replica_restarted", r))
        live = self.live()
        if len(live) < self.desired:
            for _ in range(self.desired - len(live)):
                r2 = self._new()
                if r2 is not None:
                    events.append(("replica_started", r2))
        elif len(live) > self.desired:
            # Kubernetes removes not-ready pods first, then the newest.
            order = sorted(live, key=lambda r: (r.state == "ready", -int(r.id.rsplit("-", 1)[1])))
            for r in order[: len(live) - self.desired]:
                self.terminate(r, now)
                events.append(("replica_stopped", r))
        return events

    def terminate(self, r: Replica, now: float) -> None:
        if r.group is not None:
            r.group.freeze(False)
        r.state = "terminating"
        r.terminate_at = now + self.spec.termination_grace_s  # terminationGracePeriodSeconds
        r.proc.signal(signal.SIGTERM)

    def _remove(self, r: Replica) -> None:
        self.replicas.remove(r)
        if r.group is not None:
            r.group.remove()

    async def probe(self) -> None:
        """Readiness of every running, unfrozen replica (the readinessProbe)."""

        now = time.monotonic()

        async def one(r: Replica) -> None:
            if r.state in ("dead", "terminating", "frozen"):
                return
            # A starting replica is probed every tick (into rotation fast); a ready one every periodSeconds.
            if r.state == "ready" and now - r.probed_at < self.spec.readiness_period_s:
                return
            r.probed_at = now
            if r.backoff and now - r.proc.started_at > 30.0:
                r.backoff = 0
            ok = await http_ok(r.port, self.spec.readiness_path, timeout_s=self.spec.readiness_timeout_s)
            if ok and not r.limited and r.group is not None:
                r.group.set_cpu_limit(self.spec.cpu_limit)
                r.limited = True
                r.limited_at = time.monotonic()
            r.probe_failures = 0 if ok else r.probe_failures + 1
            # As Kubernetes: a ready replica leaves rotation after failureThreshold failures in a row, not one
            # slow answer (a busy replica answers /readyz late; taking it out would overload the others).
            settled = ok or r.state == "starting" or r.probe_failures >= self.spec.readiness_failure_threshold
            if r.state in ("starting", "ready") and r.proc.alive() and settled:
                r.state = "ready" if ok else "starting"

        await asyncio.gather(*(one(r) for r in list(self.replicas)))

    def freeze(self, r: Replica) -> bool:
        if r.group is None or r.state in ("dead", "terminating"):
            return False
        if r.group.freeze(True):
            r.state = "frozen"
            return True
        return False

    def thaw(self, r: Replica) -> bool:
        if r.group is None or r.state != "frozen":
            return False
        r.group.freeze(False)
        r.state = "starting"
        return True

    def stop_all(self) -> None:
        now = time.monotonic()
        for r in self.replicas:
            if r.proc.alive():
                self.terminate(r, now)
        deadline = now + 3.0
        while time.monotonic() < deadline and any(r.proc.alive() for r in self.replicas):
            time.sleep(0.05)
        for r in list(self.replicas):
            r.proc.stop(0.5, signal.SIGKILL)
            self._remove(r)
