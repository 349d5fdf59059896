"""The local controller: parent of every process of the stack, Deployment + HPA + readiness gating.

Run by ``tenfold up`` as ``python -m tenfold.stack.controller_process --home DIR --port-base N`` in its own
session (:mod:`tenfold.stack.controller_process`: options, signals, the control API); it writes ``state.json``
(phase, pids, endpoints). SIGTERM/SIGINT stop everything; a SIGKILL of the controller takes the children with it
(PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import sys
import threading
import time
import traceback
from dataclasses import replace
from pathlib import Path
from typing import Any

from tenfold.errors import StackError
from tenfold.stack import emulators, keys, postgres, prometheus, redis, snapshot
from tenfold.stack.autoscaler import Autoscaler
from tenfold.stack.calibration import calibrate, load_calibration
from tenfold.stack.cgroups import CgroupRoot
from tenfold.stack.component import Component
from tenfold.stack.haproxy import DEFAULT_MAX_CONNECTIONS, ROUTES, Backend, RuntimeApi, haproxy
from tenfold.stack.hogs import Hogs
from tenfold.stack.links import Link, link
from tenfold.stack.manifests import DEFAULT_MANIFESTS, DEFAULT_OVERLAY, load_overlay, load_services
from tenfold.stack.metrics import MetricsSource
from tenfold.stack.ports import HOST, SLOTS_PER_SERVICE, Ports
from tenfold.stack.procs import Proc
from tenfold.stack.replicas import Deployment, Replica
from tenfold.stack.state import write_state

__all__ = ["OWNER_GRACE_S", "Controller"]

_EVENTS = "events.jsonl"
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
        self.home = home
        self.ports = ports
        self.autoscaling = autoscaling
        self.overlay = load_overlay(overlay)
        if seed_users is not None:
            self.overlay = replace(self.overlay, seed_users=seed_users)
        if seed_titles is not None:
            self.overlay = replace(self.overlay, seed_titles=seed_titles)
        self.specs = calibrate(load_services(manifests, self.overlay), load_calibration())
        self.rate_limit = rate_limit
        self.seed = seed
        self.seed_key = ""
        p = ports
        self.links = (
            [
                Link("postgres", p.link(0)[0], p.postgres, p.link(0)[1]),
                Link("dynamodb", p.link(1)[0], p.dynamodb, p.link(1)[1]),
                Link("cache-0", p.link(2)[0], p.redis[0], p.link(2)[1]),
                Link("cache-1", p.link(3)[0], p.redis[1], p.link(3)[1]),
            ]
            if links
            else []
        )
        self.phase = "starting"
        self.error = ""
        self.started = time.time()
        self.cgroups = CgroupRoot(f"tenfold-{ports.base}")
        self.components: dict[str, Component] = {}
        self.deployments: dict[str, Deployment] = {}
        self.autoscalers: dict[str, Autoscaler] = {}
        self.desired_by_hpa: dict[str, int] = {}
        self.cache_primary: str | None = None
        self.events: list[dict[str, Any]] = []
        self.hogs = Hogs(self.cgroups, self.home / "logs")
        self._stop = asyncio.Event()
        self._runtime: RuntimeApi | None = None
        self._metrics: MetricsSource | None = None
        self._gateway_restarts = 0

    # ------------------------------------------------------------------------------------------ events

    def event(self, kind: str, service: str = "", frm: Any = None, to: Any = None, reason: str = "") -> None:
        row = {"ts": time.time(), "kind": kind, "service": service, "from": frm, "to": to, "reason": reason}
        self.events.append(row)
        del self.events[:-500]
        with (self.home / _EVENTS).open("a") as f:
            f.write(json.dumps(row) + "\n")

    # ----------------------------------------------------------------------------------------- startup

    def _build_infra(self) -> None:
        p, h = self.ports, self.home
        shutil.rmtree(h / "redis", ignore_errors=True)
        self.seed_key = snapshot.seed_key(self.overlay.seed_users, self.overlay.seed_titles)
        (h / "dynamodb").mkdir(parents=True, exist_ok=True)
        if self.seed and snapshot.restore(h / "dynamodb", self.seed_key):
            self.event("dynamodb_restored", reason=f"seeded store from the cache ({self.seed_key})")
        # With links, each cache node announces its proxy's port: Sentinel, replication and services all
        # reach the nodes through the proxies.
        announce = [self._via_link("cache-0", p.redis[0]), self._via_link("cache-1", p.redis[1])]
        announced = [a if a != r else None for a, r in zip(announce, p.redis, strict=True)]
        comps = [
            postgres.postgres(h, p.postgres),
            redis.node(h, 0, p.redis[0], None, announced[0]),
            redis.node(h, 1, p.redis[1], announce[0], announced[1]),
            *(redis.sentinel(h, i, port, announce[0]) for i, port in enumerate(p.sentinels)),
            emulators.dynamodb(h, p.dynamodb),
            emulators.s3(h, p.s3),
            prometheus.prometheus(h, p.prometheus),
            *(link(h, spec) for spec in self.links),
        ]
        for c in comps:
            self.components[c.name] = c
        for node in ("redis-0", "redis-1"):
            address = self.components[node].extra["address"]
            self.components[node].hold = lambda a=address: self._holds_primary(a)
            # Sentinel usually promotes in ~2.5 s, but a split vote retries only after 2 x failover-timeout
            # (6 s); coming back early would make an empty primary.
            self.components[node].max_hold_s = 30.0

    def _holds_primary(self, address: str) -> bool:
        """A killed primary stays down until Sentinel has promoted someone else (at most ``max_hold_s``, 30 s)."""
        return self.cache_primary == address

    def _via_link(self, name: str, port: int) -> int:
        """The port services use for a dependency: its link proxy's when there is one."""
        return next((spec.listen for spec in self.links if spec.name == name), port)

    def _service_env(self) -> dict[str, str]:
        p = self.ports
        env = dict(os.environ)
        env.update(
            {
                "TENFOLD_HOST": HOST,
                "TENFOLD_POSTGRES_DSN": postgres.dsn(self._via_link("postgres", p.postgres)),
                "TENFOLD_REDIS_SENTINELS": ",".join(f"{HOST}:{s}" for s in p.sentinels),
                "TENFOLD_REDIS_MASTER": redis.MASTER,
                "TENFOLD_REDIS_URL": f"redis://{HOST}:{p.redis[0]}/0",
                "TENFOLD_DYNAMODB_ENDPOINT": f"http://{HOST}:{self._via_link('dynamodb', p.dynamodb)}",
                "TENFOLD_S3_ENDPOINT": f"http://{HOST}:{p.s3}",
                "TENFOLD_S3_BUCKET": "tenfold-events",
                "AWS_ACCESS_KEY_ID": "tenfold",
                "AWS_SECRET_ACCESS_KEY": "tenfold",
                "AWS_DEFAULT_REGION": "us-east-1",
                keys.ENV_VAR: keys.jwt_secret(self.home),
            }
        )
        return env

    def _build_services(self) -> None:
        base_env = self._service_env()
        backends = []
        for index, spec in enumerate(self.specs):
            slots = min(SLOTS_PER_SERVICE, max(spec.replicas, spec.hpa.max_replicas if spec.hpa else 0) + 2)
            ports = [self.ports.replica(index, s) for s in range(slots)]
            env = base_env | {k: v for k, v in spec.env.items() if k not in ("TENFOLD_HOST", "TENFOLD_PORT")}
            env |= self.overlay.env
            self.deployments[spec.name] = Deployment(spec, ports, self.home, self.cgroups, env)
            if spec.hpa is not None:
                self.autoscalers[spec.name] = Autoscaler(spec.hpa)
            backends.append(
                Backend(
                    spec.name,
                    ROUTES.get(spec.name, (f"/api/{spec.name}",)),
                    spec.readiness_path,
                    ports,
                    spec.gateway_connections or DEFAULT_MAX_CONNECTIONS,
                )
            )
        gw = haproxy(
            self.home,
            gateway_port=self.ports.gateway,
            stats_port=self.ports.haproxy_stats,
            backends=backends,
            rate_limit=self.rate_limit,
        )
        self.components[gw.name] = gw
        self._runtime = RuntimeApi(Path(gw.extra["socket"]))

    async def _wait_ready(self, names: list[str], timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        pending = list(names)
        while pending:
            results = await asyncio.gather(*(self.components[n].probe() for n in pending))
            dead = [n for n in pending if any(not p.alive() for p in self.components[n].procs)]
            if dead:
                c = self.components[dead[0]]
                raise StackError(
                    f"{dead[0]} exited during start; its log ({c.procs[0].log}) ends:\n{c.procs[0].tail()}"
                )
            pending = [n for n, ok in zip(pending, results, strict=True) if not ok]
            if pending and time.monotonic() > deadline:
                raise StackError(
                    f"not ready after {timeout_s:g} s: {', '.join(pending)} (logs in {self.home / 'logs'})"
                )
            if pending:
                await asyncio.sleep(0.05)
            self.write_state()

    async def _seed(self) -> None:
        p = self.ports
        argv = [
            sys.executable, "-m", "reference_services.seed",
            "--postgres-dsn", postgres.dsn(p.postgres),
            "--dynamodb-endpoint", f"http://{HOST}:{p.dynamodb}",
            "--s3-endpoint", f"http://{HOST}:{p.s3}",
        ]  # fmt: skip
        if self.overlay.seed_users:
            argv += ["--users", str(self.overlay.seed_users)]
        if self.overlay.seed_titles:
            argv += ["--titles", str(self.overlay.seed_titles)]
        seed_proc = Proc("seed", argv, env=self._service_env(), log=self.home / "logs" / "seed.log")
        seed_proc.start()
        assert seed_proc.popen is not None
        while seed_proc.popen.poll() is None:  # noqa: ASYNC110 (a Popen has no awaitable exit)
            await asyncio.sleep(0.1)
        if seed_proc.popen.returncode != 0:
            raise StackError(f"seeding failed (exit {seed_proc.popen.returncode}); log ends:\n{seed_proc.tail()}")
        snapshot.mark_seeded(self.home / "dynamodb", self.seed_key)

    async def start(self) -> None:
        t0 = time.monotonic()
        self._build_infra()
        self._build_services()
        if not self.cgroups.available:
            self.event("cgroups_unavailable", reason=self.cgroups.reason)
        for c in self.components.values():
            if c.name != "gateway":
                c.start()
        self.write_state()
        await self._wait_ready([n for n in self.components if n != "gateway"], 30.0)
        await postgres.ensure_database(self.ports.postgres)
        self.components["gateway"].start()
        seeding = asyncio.create_task(self._seed()) if self.seed else None
        for d in self.deployments.values():
            d.reconcile(time.monotonic())
        self._write_targets()
        await self._wait_ready(["gateway"], 10.0)
        if seeding is not None:
            await seeding
        deadline = time.monotonic() + 45
        while any(d.ready_count() < d.desired for d in self.deployments.values()):
            await self._tick_fast()
            if time.monotonic() > deadline:
                waiting = {d.name: f"{d.ready_count()}/{d.desired}" for d in self.deployments.values()}
                raise StackError(f"replicas not ready after 45 s: {waiting} (logs in {self.home / 'logs'})")
            await asyncio.sleep(0.1)
        self.cache_primary = await redis.sentinel_primary(self.ports.sentinels)
        self.phase = "ready"
        self.event("stack_ready", reason=f"{time.monotonic() - t0:.1f}s")
        self.write_state()

    # ------------------------------------------------------------------------------------------- loops

    async def _tick_fast(self) -> None:
        now = time.monotonic()
        for d in self.deployments.values():
            for kind, r in d.reconcile(now):
                self.event(kind, d.name, r.id, r.pid, f"restarts={r.restarts}")
        await asyncio.gather(*(d.probe() for d in self.deployments.values()))
        await self._sync_gateway()
        self._write_targets()

    async def _sync_gateway(self) -> None:
        gw = self.components.get("gateway")
        if self._runtime is None or gw is None or gw.state != "running":
            return
        if gw.restarts != self._gateway_restarts:
            self._gateway_restarts = gw.restarts
            self._runtime.forget()
        try:
            for d in self.deployments.values():
                in_rotation = {r.slot for r in d.replicas if r.state == "ready"}
                for slot in range(len(d.ports)):
                    await self._runtime.set_slot(d.name, slot, slot in in_rotation)
        except (OSError, TimeoutError):
            self._runtime.forget()

    def _write_targets(self) -> None:
        groups = [
            {"targets": [f"{HOST}:{r.port}"], "labels": {"service": d.name, "replica": r.id}}
            for d in self.deployments.values()
            for r in d.replicas
            if r.state == "ready"
        ]
        prometheus.write_targets(self.home, "services", groups)
        prometheus.write_targets(self.home, "controller", [{"targets": [f"{HOST}:{self.ports.control}"]}])
        prometheus.write_targets(self.home, "haproxy", [{"targets": [f"{HOST}:{self.ports.haproxy_stats}"]}])

    async def _supervise(self) -> None:
        now = time.monotonic()
        self.cache_primary = await redis.sentinel_primary(self.ports.sentinels) or self.cache_primary
        for name in ("redis-0", "redis-1"):
            if name in self.components and self.cache_primary:
                self.components[name].extra["current_primary"] = self.cache_primary
        for c in self.components.values():
            if c.supervise(now):
                self.event("component_restarted", c.name, reason=f"restarts={c.restarts}")
        await asyncio.gather(*(c.probe() for c in self.components.values() if c.wanted))
        self.hogs.expire()

    async def _autoscale(self) -> None:
        assert self._metrics is not None
        now = time.monotonic()
        for name, scaler in self.autoscalers.items():
            d = self.deployments[name]
            wanted = {m.name for m in scaler.spec.metrics}
            samples = await self._metrics.samples(d, self.overlay.sync_period_s, wanted)
            current = d.desired
            decision = scaler.step(now, current, samples)
            self.desired_by_hpa[name] = decision.desired
            if self.autoscaling and decision.desired != current:
                d.desired = decision.desired
                self.event("scale", name, current, decision.desired, decision.reason)

    async def run(self) -> None:
        self._metrics = MetricsSource(f"http://{HOST}:{self.ports.prometheus}", self.overlay.cpu_basis)
        last_slow = last_scale = last_cpu = 0.0
        while not self._stop.is_set():
            now = time.monotonic()
            try:
                await self._tick_fast()
                if now - last_cpu >= 1.0:
                    last_cpu = now
                    self._metrics.sample_cpu(list(self.deployments.values()))
                if now - last_slow >= 0.5:
                    last_slow = now
                    await self._supervise()
                    self.write_state()
                if now - last_scale >= self.overlay.sync_period_s:
                    last_scale = now
                    await self._autoscale()
            except Exception as exc:  # one bad tick must not take the whole stack down
                traceback.print_exc()
                self.event("controller_error", reason=f"{type(exc).__name__}: {exc}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), 0.25)
        await self._metrics.close()

    def request_stop(self) -> None:
        self._stop.set()

    def shutdown(self) -> None:
        """Stop everything: replicas (drain), gateway, then the dependencies; remove the cgroups."""
        self.phase = "stopping"
        self.write_state()
        self.hogs.stop()
        now = time.monotonic()
        for d in self.deployments.values():  # all replicas drain at once, not one service after another
            for r in d.replicas:
                if r.proc.alive():
                    d.terminate(r, now)
        while time.monotonic() < now + 3.0 and any(
            r.proc.alive() for d in self.deployments.values() for r in d.replicas
        ):
            time.sleep(0.05)
        for d in self.deployments.values():
            d.stop_all()
        gateway = self.components.get("gateway")
        if gateway is not None:
            gateway.stop(timeout_s=3.0)
        if "postgres" in self.components:
            self.components["postgres"].stop_signal = signal.SIGINT  # fast shutdown: no waiting for clients
        rest = [c for c in self.components.values() if c.wanted or any(p.alive() for p in c.procs)]
        threads = [threading.Thread(target=c.stop, kwargs={"timeout_s": 5.0}) for c in rest]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.cgroups.cleanup()
        if self.seed and self.phase == "stopping" and not self.error:
            snapshot.save(self.home / "dynamodb", self.seed_key)
        self.phase = "stopped"
        self.write_state()

    # --------------------------------------------------------------------------------------- actions

    def replica(self, rid: str) -> tuple[Deployment, Replica]:
        for d in self.deployments.values():
            for r in d.replicas:
                if r.id == rid:
                    return d, r
        raise KeyError(rid)

    def pick(self, service: str, count: int, states: tuple[str, ...] = ("ready", "starting")) -> list[Replica]:
        d = self.deployments[service]
        candidates = [r for r in d.replicas if r.state in states]
        candidates.sort(key=lambda r: (r.state != "ready", r.id))
        return candidates[:count]

    def kill_replica(self, r: Replica, sig: int) -> None:
        d = self.deployments[r.service]
        if sig == signal.SIGTERM:
            r.proc.signal(signal.SIGTERM)
        else:
            if r.group is not None:
                r.group.freeze(False)
            r.proc.signal(sig)
        self.event("replica_killed", d.name, r.id, signal.Signals(sig).name, "control API")

    def scale(self, service: str, replicas: int, reason: str = "control API") -> int:
        d = self.deployments[service]
        target = max(0, min(replicas, len(d.ports)))
        if target != d.desired:
            self.event("scale", service, d.desired, target, reason)
            scaler = self.autoscalers.get(service)
            if scaler is not None:
                scaler.record_external(time.monotonic(), d.desired, target)
            d.desired = target
        return target

    def start_hog(self, beside: str, cores: float, duration_s: float) -> str:
        d = self.deployments[beside]
        hog = self.hogs.start(beside, cores, duration_s)
        self.event("cpu_hog_started", d.name, None, cores, f"{hog.id} for {duration_s:g}s")
        return hog.id

    # ----------------------------------------------------------------------------------------- status

    def pids(self) -> list[int]:
        out = [os.getpid()]
        for c in self.components.values():
            out += c.pids
        for d in self.deployments.values():
            out += [r.pid for r in d.replicas if r.pid is not None]
        out += self.hogs.pids()
        return out

    def status(self) -> dict[str, Any]:
        p = self.ports
        services = {}
        for name, d in self.deployments.items():
            states: dict[str, int] = {}
            for r in d.replicas:
                states[r.state] = states.get(r.state, 0) + 1
            services[name] = {
                "replicas": len(d.live()),
                "ready": d.ready_count(),
                "desired": d.desired,
                "hpa_desired": self.desired_by_hpa.get(name),
                "states": states,
                "cpu_limit": d.spec.cpu_limit,
                "min": d.spec.hpa.min_replicas if d.spec.hpa else None,
                "max": d.spec.hpa.max_replicas if d.spec.hpa else None,
                "route": ROUTES.get(name, ("",))[0],
                "routes": list(ROUTES.get(name, ())),
            }
        components: dict[str, dict[str, Any]] = {
            n: {"state": c.state, "pids": c.pids, "restarts": c.restarts, **c.extra} for n, c in self.components.items()
        }
        cache_nodes = [self.components[n] for n in ("redis-0", "redis-1") if n in self.components]
        if cache_nodes:
            any_wanted = any(c.wanted for c in cache_nodes)
            primary_up = any(c.ready and c.extra.get("address") == self.cache_primary for c in cache_nodes)
            components["cache"] = {
                "state": "running" if primary_up else ("stopped" if not any_wanted else "down"),
                "primary": self.cache_primary,
                "nodes": [c.extra["address"] for c in cache_nodes],
            }
            components["cache-primary"] = {"state": components["cache"]["state"], "address": self.cache_primary}
            # Role aliases: whichever node Sentinel calls primary / replica right now.
            for role, is_primary in (("redis-primary", True), ("redis-replica", False)):
                node = next((c for c in cache_nodes if (c.extra["address"] == self.cache_primary) == is_primary), None)
                if node is not None:
                    components[role] = {"state": node.state, "node": node.name, "address": node.extra["address"]}
        return {
            "phase": self.phase,
            "error": self.error,
            "pid": os.getpid(),
            "port_base": p.base,
            "home": str(self.home),
            "control": f"http://{HOST}:{p.control}",
            "gateway": f"http://{HOST}:{p.gateway}",
            "prometheus": f"http://{HOST}:{p.prometheus}",
            "haproxy_stats": f"http://{HOST}:{p.haproxy_stats}/stats",
            "postgres": postgres.dsn(p.postgres),
            "redis": {"sentinels": [f"{HOST}:{s}" for s in p.sentinels], "master": redis.MASTER},
            "dynamodb": f"http://{HOST}:{p.dynamodb}",
            "s3": f"http://{HOST}:{p.s3}",
            "autoscaling": self.autoscaling,
            "cgroups": self.cgroups.available,
            "seed_users": self.overlay.seed_users,  # None: the seeder's default; load picks users it seeded
            "cgroups_reason": self.cgroups.reason,
            "services": services,
            "components": components,
            "links": self.link_status(),
            "pids": self.pids(),
            "events": str(self.home / _EVENTS),
        }

    def link_status(self) -> dict[str, dict[str, Any]]:
        """Links by the name chaos uses; the two cache-node proxies form one link, ``cache``, whose control URL
        is the controller's fan-out (``/links/cache``), so one fault reaches whichever node is primary."""
        out: dict[str, dict[str, Any]] = {}
        for spec in self.links:
            if spec.name.startswith("cache-"):
                continue
            out[spec.name] = {
                "control": f"http://{HOST}:{spec.control}",
                "listen": f"{HOST}:{spec.listen}",
                "upstream": f"{HOST}:{spec.upstream}",
            }
        members = self.link_members("cache")
        if members:
            out["cache"] = {"control": f"http://{HOST}:{self.ports.control}/links/cache", "members": members}
        return out

    def link_members(self, name: str) -> list[str]:
        """Control URLs of the proxies behind a (fan-out) link name."""
        return [f"http://{HOST}:{s.control}" for s in self.links if s.name.startswith(f"{name}-")]

    def write_state(self) -> None:
        write_state(self.home, self.status())
