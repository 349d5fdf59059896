"""The controller's loopback control API (HTTP JSON); routes and bodies are documented in docs/control-api.md."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import Generator
from typing import Any

import httpx
import uvicorn
from prometheus_client.exposition import generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tenfold.stack import faults
from tenfold.stack.controller import Controller
from tenfold.stack.exporter import CONTENT_TYPE, registry_for
from tenfold.stack.ports import HOST
from tenfold.stack.readout import link_members

__all__ = ["build_app", "serve"]

_PG_STOP = {"smart": signal.SIGTERM, "fast": signal.SIGINT, "immediate": signal.SIGQUIT}
_CACHE = ("redis-0", "redis-1")


def _error(status: int, detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status)


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw:
        return {}
    data = await request.json()
    return data if isinstance(data, dict) else {}


def _signal(name: Any) -> int:
    text = str(name or "SIGKILL").upper()
    if not text.startswith("SIG"):
        text = "SIG" + text
    return int(signal.Signals[text])


def build_app(ctl: Controller) -> Starlette:
    parts = ctl.parts

    def service_or_404(name: str) -> JSONResponse | None:
        if name not in parts.deployments:
            return _error(404, f"unknown service {name!r}; valid: {', '.join(sorted(parts.deployments))}")
        return None

    async def status(request: Request) -> Response:
        return JSONResponse(ctl.status())

    async def replicas(request: Request) -> Response:
        service = request.query_params.get("service")
        rows = [r.as_dict() for d in parts.deployments.values() if service in (None, d.name) for r in d.replicas]
        return JSONResponse({"replicas": rows})

    async def events(request: Request) -> Response:
        limit = int(request.query_params.get("limit", "100"))
        return JSONResponse({"events": parts.events[-limit:]})

    registry = registry_for(ctl)

    async def metrics(request: Request) -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE)

    async def service_action(request: Request) -> Response:
        name, verb = request.path_params["name"], request.path_params["verb"]
        if (missing := service_or_404(name)) is not None:
            return missing
        body = await _body(request)
        d = parts.deployments[name]
        if verb == "scale":
            if "replicas" not in body:
                return _error(400, 'body needs {"replicas": N}')
            return JSONResponse({"service": name, "desired": faults.scale(parts, name, int(body["replicas"]))})
        chosen = d.replicas if verb == "thaw" else []
        if verb in ("kill", "freeze"):
            if body.get("replica"):
                chosen = [r for r in d.replicas if r.id == body["replica"]]
            else:
                chosen = faults.pick(parts, name, int(body.get("count", 1)))
            if not chosen:
                return _error(409, f"no running replica of {name} to {verb}")
        done = []
        for r in chosen:
            if verb == "kill":
                try:
                    faults.kill_replica(parts, r, _signal(body.get("signal")))
                except KeyError:
                    return _error(400, f"unknown signal {body.get('signal')!r}")
                done.append(r.id)
            elif verb == "freeze":
                if d.freeze(r):
                    parts.event("replica_frozen", name, r.id, None, "control API")
                    done.append(r.id)
            elif verb == "thaw":
                if d.thaw(r):
                    parts.event("replica_thawed", name, r.id, None, "control API")
                    done.append(r.id)
            else:
                return _error(404, f"unknown verb {verb!r}; valid: kill, freeze, thaw, scale")
        if verb == "freeze" and not done:
            return _error(409, f"could not freeze {name}: cgroups are not available ({parts.cgroups.reason})")
        if verb == "kill" and _signal(body.get("signal")) == signal.SIGKILL:
            # Answer once the deaths are seen, so a status read right after already shows them.
            deadline = time.monotonic() + 1.0
            while any(r.proc.alive() for r in chosen) and time.monotonic() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
            await ctl.supervisor.tick()
        await ctl.supervisor.sync_gateway()
        return JSONResponse({"service": name, "replicas": done})

    async def component_action(request: Request) -> Response:
        name, verb = request.path_params["name"], request.path_params["verb"]
        body = await _body(request)
        if verb not in ("stop", "start", "kill", "restart"):
            return _error(404, f"unknown verb {verb!r}; valid: stop, start, kill, restart")
        if name == "cache-primary":
            if verb != "kill":
                return _error(400, "cache-primary only supports kill (Sentinel then promotes the replica)")
            primary = parts.cache_primary
            node = next((parts.components[n] for n in _CACHE if parts.components[n].extra["address"] == primary), None)
            if node is None:
                return _error(409, f"Sentinel names no known primary ({primary!r})")
            node.kill()
            parts.event("component_killed", node.name, primary, None, "cache primary, control API")
            return JSONResponse({"component": "cache-primary", "killed": primary, "node": node.name})
        if name in ("redis-primary", "redis-replica"):
            holders = [n for n in _CACHE if parts.components[n].extra["address"] == parts.cache_primary]
            if not holders:
                return _error(409, f"Sentinel names no known primary ({parts.cache_primary!r})")
            names = holders if name == "redis-primary" else [n for n in _CACHE if n not in holders]
        else:
            names = list(_CACHE) if name == "cache" else [name]
        if any(n not in parts.components for n in names):
            valid = sorted([*parts.components, "cache", "cache-primary", "redis-primary", "redis-replica"])
            return _error(404, f"unknown component {name!r}; valid: {', '.join(valid)}")
        comps = [parts.components[n] for n in names]
        sig = _PG_STOP.get(str(body.get("mode", "fast")), signal.SIGINT) if name == "postgres" else None
        if verb in ("stop", "restart"):
            await asyncio.gather(*(asyncio.to_thread(c.stop, sig) for c in comps))
            parts.event("component_stopped", name, None, None, f"control API {body.get('mode', '')}".strip())
        if verb == "kill":
            for c in comps:
                c.kill()
            parts.event("component_killed", name, None, None, "control API")
        if verb in ("start", "restart"):
            for c in comps:
                c.start()
            parts.event("component_started", name, None, None, "control API")
        return JSONResponse({"component": name, "state": comps[0].state, "verb": verb})

    async def autoscaling(request: Request) -> Response:
        if request.method == "POST":
            body = await _body(request)
            parts.autoscaling = bool(body.get("enabled", True))
            parts.event("autoscaling", "", None, parts.autoscaling, "control API")
        return JSONResponse({"enabled": parts.autoscaling})

    async def hogs(request: Request) -> Response:
        if request.method == "POST":
            body = await _body(request)
            beside = str(body.get("beside", ""))
            if (missing := service_or_404(beside)) is not None:
                return missing
            hog = faults.start_hog(parts, beside, float(body.get("cores", 1.0)), float(body.get("duration_s", 60.0)))
            return JSONResponse({"id": hog})
        if request.method == "DELETE":
            stopped = await asyncio.to_thread(parts.hogs.stop, request.path_params.get("hog"))
            return JSONResponse({"stopped": len(stopped)})
        now = time.time()
        return JSONResponse(
            {
                "hogs": [
                    {"id": h.id, "pid": h.proc.pid, "remaining_s": h.remaining_s(now)}
                    for h in parts.hogs.running.values()
                ]
            }
        )

    async def fan_out(request: Request) -> Response:
        """One fault API for a link made of several proxies (the cache: one per node); answers with the first."""
        members = link_members(parts, request.path_params["name"])
        if not members:
            return _error(404, f"no fan-out link {request.path_params['name']!r}")
        raw = await request.body()
        answers = []
        async with httpx.AsyncClient(timeout=5.0) as client:
            for url in members:
                try:
                    resp = await client.request(
                        request.method, f"{url}/{request.path_params['rest']}", content=raw,
                        headers={"content-type": "application/json"},
                    )  # fmt: skip
                except httpx.HTTPError as exc:
                    return _error(502, f"link proxy {url} does not answer: {exc.__class__.__name__}")
                if resp.status_code >= 400:
                    return Response(resp.content, status_code=resp.status_code, media_type="application/json")
                answers.append(resp.json())
        first = dict(answers[0])
        first["members"] = answers
        return JSONResponse(first)

    async def shutdown(request: Request) -> Response:
        ctl.request_stop()
        return JSONResponse({"stopping": True})

    routes = [
        Route("/status", status),
        Route("/replicas", replicas),
        Route("/events", events),
        Route("/metrics", metrics),
        Route("/services/{name}/{verb}", service_action, methods=["POST"]),
        Route("/components/{name}/{verb}", component_action, methods=["POST"]),
        Route("/autoscaling", autoscaling, methods=["GET", "POST"]),
        Route("/cpu-hogs", hogs, methods=["GET", "POST", "DELETE"]),
        Route("/cpu-hogs/{hog}", hogs, methods=["DELETE"]),
        Route("/links/{name}/{rest:path}", fan_out, methods=["GET", "PUT", "POST", "DELETE", "PATCH"]),
        Route("/shutdown", shutdown, methods=["POST"]),
    ]
    return Starlette(routes=routes)


class _Server(uvicorn.Server):
    """Leaves signals to the controller (it must stop the whole tree, not just the API)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


async def serve(ctl: Controller, port: int) -> uvicorn.Server:
    config = uvicorn.Config(build_app(ctl), host=HOST, port=port, log_level="warning", access_log=False, lifespan="off")
    server = _Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError(f"control API did not start on {HOST}:{port}")
        await asyncio.sleep(0.01)
    ctl.serve_task = task  # type: ignore[attr-defined]  # held: the event loop keeps only a weak reference to a task
    return server
