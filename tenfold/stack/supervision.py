"""The controller's loops: readiness gating at start, then until told to stop, a fast tick (a Deployment's
reconcile: dead replicas restarted, ready ones put in the gateway's rotation and in Prometheus' targets), a slower
one (components restarted, who is the cache primary, CPU hogs expired, ``state.json``) and the HPA's sync period
(the autoscalers' decisions, acted on when autoscaling is on).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import traceback

from tenfold.errors import StackError
from tenfold.stack import prometheus, redis
from tenfold.stack.metrics import MetricsSource
from tenfold.stack.parts import StackParts
from tenfold.stack.ports import HOST
from tenfold.stack.readout import write_status

__all__ = ["Supervisor", "wait_ready"]


async def wait_ready(parts: StackParts, names: list[str], timeout_s: float) -> None:
    """Until every named component answers its readiness check; one that exits, or a timeout, ends the start."""
    deadline = time.monotonic() + timeout_s
    pending = list(names)
    while pending:
        results = await asyncio.gather(*(parts.components[n].probe() for n in pending))
        dead = [n for n in pending if any(not p.alive() for p in parts.components[n].procs)]
        if dead:
            c = parts.components[dead[0]]
            raise StackError(f"{dead[0]} exited during start; its log ({c.procs[0].log}) ends:\n{c.procs[0].tail()}")
        pending = [n for n, ok in zip(pending, results, strict=True) if not ok]
        if pending and time.monotonic() > deadline:
            raise StackError(f"not ready after {timeout_s:g} s: {', '.join(pending)} (logs in {parts.home / 'logs'})")
        if pending:
            await asyncio.sleep(0.05)
        write_status(parts)


class Supervisor:
    """Keeps the stack as wanted; ``run`` until ``stop`` is set. ``metrics`` exists while it runs."""

    def __init__(self, parts: StackParts) -> None:
        self.parts = parts
        self.stop = asyncio.Event()
        self.metrics: MetricsSource | None = None
        self._gateway_restarts = 0

    async def tick(self) -> None:
        """Reconcile every Deployment, probe its replicas, then the gateway's rotation and Prometheus' targets."""
        now = time.monotonic()
        for d in self.parts.deployments.values():
            for kind, r in d.reconcile(now):
                self.parts.event(kind, d.name, r.id, r.pid, f"restarts={r.restarts}")
        await asyncio.gather(*(d.probe() for d in self.parts.deployments.values()))
        await self.sync_gateway()
        self.write_targets()

    async def sync_gateway(self) -> None:
        """Ready replicas in the gateway's rotation, the others out (HAProxy's runtime API: no reload)."""
        runtime = self.parts.runtime
        gw = self.parts.components.get("gateway")
        if runtime is None or gw is None or gw.state != "running":
            return
        if gw.restarts != self._gateway_restarts:
            self._gateway_restarts = gw.restarts
            runtime.forget()
        try:
            for d in self.parts.deployments.values():
                in_rotation = {r.slot for r in d.replicas if r.state == "ready"}
                for slot in range(len(d.ports)):
                    await runtime.set_slot(d.name, slot, slot in in_rotation)
        except (OSError, TimeoutError):
            runtime.forget()

    def write_targets(self) -> None:
        """Prometheus' file_sd targets: the ready replicas, the controller, HAProxy's exporter."""
        parts = self.parts
        groups = [
            {"targets": [f"{HOST}:{r.port}"], "labels": {"service": d.name, "replica": r.id}}
            for d in parts.deployments.values()
            for r in d.replicas
            if r.state == "ready"
        ]
        prometheus.write_targets(parts.home, "services", groups)
        prometheus.write_targets(parts.home, "controller", [{"targets": [f"{HOST}:{parts.ports.control}"]}])
        prometheus.write_targets(parts.home, "haproxy", [{"targets": [f"{HOST}:{parts.ports.haproxy_stats}"]}])

    async def supervise(self) -> None:
        """Who Sentinel calls primary; dead components restarted; their readiness; expired CPU hogs stopped."""
        parts = self.parts
        now = time.monotonic()
        parts.cache_primary = await redis.sentinel_primary(parts.ports.sentinels) or parts.cache_primary
        for name in ("redis-0", "redis-1"):
            if name in parts.components and parts.cache_primary:
                parts.components[name].extra["current_primary"] = parts.cache_primary
        for c in parts.components.values():
            if c.supervise(now):
                parts.event("component_restarted", c.name, reason=f"restarts={c.restarts}")
        await asyncio.gather(*(c.probe() for c in parts.components.values() if c.wanted))
        parts.hogs.expire()

    async def autoscale(self) -> None:
        """One HPA sync: each autoscaler's decision, kept for the status and acted on when autoscaling is on."""
        assert self.metrics is not None
        parts = self.parts
        now = time.monotonic()
        for name, scaler in parts.autoscalers.items():
            d = parts.deployments[name]
            wanted = {m.name for m in scaler.spec.metrics}
            samples = await self.metrics.samples(d, parts.overlay.sync_period_s, wanted)
            current = d.desired
            decision = scaler.step(now, current, samples)
            parts.desired_by_hpa[name] = decision.desired
            if parts.autoscaling and decision.desired != current:
                d.desired = decision.desired
                parts.event("scale", name, current, decision.desired, decision.reason)

    async def run(self) -> None:
        parts = self.parts
        self.metrics = MetricsSource(f"http://{HOST}:{parts.ports.prometheus}", parts.overlay.cpu_basis)
        last_slow = last_scale = last_cpu = 0.0
        while not self.stop.is_set():
            now = time.monotonic()
            try:
                await self.tick()
                if now - last_cpu >= 1.0:
                    last_cpu = now
                    self.metrics.sample_cpu(list(parts.deployments.values()))
                if now - last_slow >= 0.5:
                    last_slow = now
                    await self.supervise()
                    write_status(parts)
                if now - last_scale >= parts.overlay.sync_period_s:
                    last_scale = now
                    await self.autoscale()
            except Exception as exc:  # one bad tick must not take the whole stack down
                traceback.print_exc()
                parts.event("controller_error", reason=f"{type(exc).__name__}: {exc}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop.wait(), 0.25)
        await self.metrics.close()
