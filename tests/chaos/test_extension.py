"""tenfold.chaos: discovery, clear errors, link faults on a real link proxy, and rollbacks that always run."""

from __future__ import annotations

import importlib.metadata
import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from chaos_servers import free_port, redis_and_proxy, stop, wait_for
from chaoslib.exceptions import ActivityFailed

import tenfold.chaos
from tenfold.chaos.cache import actions as cache_actions
from tenfold.chaos.links import actions as links
from tenfold.chaos.links import probes as link_probes
from tenfold.chaos.replicas import actions as replicas
from tenfold.chaos.replicas import probes as replica_probes

__all__ = ["redis_and_proxy"]  # a fixture, used by name

CHAOS = Path(sys.executable).parent / "chaos"


def test_discover_lists_every_area_with_docs() -> None:
    discovery = tenfold.chaos.discover(discover_system=False)
    activities = discovery["activities"]
    modules = {a["mod"] for a in activities}
    for area in tenfold.chaos.AREAS:
        assert f"tenfold.chaos.{area}.actions" in modules and f"tenfold.chaos.{area}.probes" in modules
    assert {"tenfold.chaos.gateway.probes", "tenfold.chaos.prometheus.probes"} <= modules
    for activity in activities:
        assert activity["doc"], f"{activity['mod']}.{activity['name']} needs a docstring: `chaos discover` shows it"
        names = [arg["name"] for arg in activity["arguments"]]
        assert names[-2:] == ["configuration", "secrets"], f"{activity['name']}: configuration, secrets go last"
        assert all("type" in arg for arg in activity["arguments"]), f"{activity['name']}: annotate every argument"
    assert {a["name"] for a in activities} >= {
        "kill_replicas", "freeze_replicas", "thaw_replicas", "kill_cache_primary", "stop_cache", "start_cache",
        "stop_postgres", "restart_postgres", "stop_dynamodb", "start_dynamodb", "add_latency", "blackhole_link",
        "reset_connections", "limit_bandwidth", "clear_link_faults", "start_cpu_hog", "stop_cpu_hogs",
        "success_ratio", "query_value",
    }  # fmt: skip


def test_chaos_discover_cli_lists_the_extension(tmp_path: Path) -> None:
    try:
        importlib.metadata.distribution("tenfold.chaos")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("discovery shim not installed: `.venv/bin/uv pip install tenfold/chaos/_dist` (scripts/setup)")
    out = tmp_path / "discovery.json"
    subprocess.run(
        [str(CHAOS), "--no-version-check", "--no-log-file", "discover", "--no-install", "--no-system-info",
         "tenfold.chaos", "--discovery-path", str(out)],
        check=True, capture_output=True, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    discovered = json.loads(out.read_text())
    assert len(discovered["activities"]) == len(tenfold.chaos.discover()["activities"]) >= 30


# ------------------------------------------------------------------------------------------ clear errors


def test_stack_not_running_says_so_and_how_to_fix_it() -> None:
    configuration = {"tenfold_control_url": f"http://127.0.0.1:{free_port()}"}
    with pytest.raises(ActivityFailed, match=r"not running.*tenfold up"):
        replicas.kill_replicas("recommendations", 1, configuration=configuration)


class _Status(BaseHTTPRequestHandler):
    """Answers GET /status like the controller does; anything else is a 404 (no fault is ever made here)."""

    status: dict[str, Any] = {
        "services": {"users": {"replicas": 2, "ready": 2}, "recommendations": {"replicas": 3, "ready": 3}},
        "components": {
            "cache": {"state": "running", "primary": "127.0.0.1:1"},
            "cache-primary": {"state": "running"},
            "postgres": {"state": "running"},
        },
        "links": {"cache": {"control": "http://127.0.0.1:1"}},
    }

    def do_GET(self) -> None:
        body = json.dumps(self.status).encode() if self.path == "/status" else b"{}"
        self.send_response(200 if self.path == "/status" else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        body = b'{"detail": "no such route in this stand-in"}'
        self.send_response(404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def status_only_controller() -> Iterator[dict[str, str]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Status)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield {"tenfold_control_url": f"http://127.0.0.1:{server.server_address[1]}"}
    finally:
        server.shutdown()
        server.server_close()


def test_unknown_names_fail_listing_the_valid_ones(status_only_controller: dict[str, str]) -> None:
    cfg = status_only_controller
    valid = r"unknown service 'recomendations'; valid services: recommendations, users$"
    with pytest.raises(ActivityFailed, match=valid):
        replicas.kill_replicas("recomendations", 1, configuration=cfg)
    with pytest.raises(ActivityFailed, match=r"unknown link 'redis'; valid links: cache"):
        links.add_latency("redis", 200, configuration=cfg)
    with pytest.raises(ActivityFailed, match=r"only 3 are running"):
        replicas.kill_replicas("recommendations", 5, configuration=cfg)
    with pytest.raises(ActivityFailed, match=r"signal must be one of"):
        replicas.kill_replicas("recommendations", 1, signal="SIGSTOP", configuration=cfg)
    assert replica_probes.ready_replicas("users", configuration=cfg) == 2
    assert replica_probes.all_replicas_ready("recommendations", configuration=cfg) is True


def test_bad_arguments_fail_before_touching_anything(status_only_controller: dict[str, str]) -> None:
    with pytest.raises(ActivityFailed, match="jitter_ms"):
        links.add_latency("cache", 10, jitter_ms=50, configuration=status_only_controller)
    with pytest.raises(ActivityFailed, match="bytes_per_s"):
        links.limit_bandwidth("cache", 0, configuration=status_only_controller)


def test_controller_refusal_is_reported_with_its_reason(status_only_controller: dict[str, str]) -> None:
    # the stand-in knows no fault routes: the 404 must surface as an actionable ActivityFailed, not a traceback
    with pytest.raises(ActivityFailed, match=r"refused POST /components/cache-primary/kill: 404 no such route"):
        cache_actions.kill_cache_primary(configuration={**status_only_controller})


# -------------------------------------------------------------------------------- links on a real proxy


def _ping_ms(port: int) -> float:
    client = redis.Redis(port=port, socket_timeout=3)
    client.ping()
    t0 = time.perf_counter()
    for _ in range(3):
        client.ping()
    client.close()
    return (time.perf_counter() - t0) * 1000 / 3


def test_link_actions_make_and_clear_real_faults(redis_and_proxy: tuple[int, int, str]) -> None:
    _, proxy_port, control = redis_and_proxy
    cfg = {"tenfold_links": {"cache": control}}
    assert link_probes.link_is_clean("cache", configuration=cfg)
    links.add_latency("cache", latency_ms=60, jitter_ms=5, configuration=cfg)
    assert link_probes.link_faults("cache", configuration=cfg)["latency_ms"] == 60
    assert _ping_ms(proxy_port) >= 100  # 55..65 ms each way
    client = redis.Redis(port=proxy_port, socket_timeout=3, retry=None)
    client.ping()
    before = link_probes.link_stats("cache", configuration=cfg)["connections_reset"]
    links.reset_connections("cache", configuration=cfg)  # one shot: the open connection is reset...
    assert link_probes.link_stats("cache", configuration=cfg)["connections_reset"] > before
    assert link_probes.link_faults("cache", configuration=cfg)["reset"] is False  # ...and no lasting fault
    client.close()
    links.blackhole_link("cache", configuration=cfg)
    with pytest.raises(redis.TimeoutError):
        redis.Redis(port=proxy_port, socket_timeout=0.3, retry=None).ping()
    assert link_probes.link_stats("cache", configuration=cfg)["bytes_dropped"] > 0
    assert links.clear_all_link_faults(configuration=cfg) == ["cache"]
    assert link_probes.link_is_clean("cache", configuration=cfg)
    assert _ping_ms(proxy_port) < 50


def _experiment(control: str, pause_s: float) -> dict[str, Any]:
    """Latency on the link; the after-hypothesis (link clean) deviates, so only the rollback can clean up."""

    def act(name: str, mod: str, func: str, **args: Any) -> dict[str, Any]:
        return {"type": "action", "name": name, "provider": {"type": "python", "module": mod, "func": func,
                                                             "arguments": args}}  # fmt: skip

    clean = {
        "type": "probe", "name": "link-clean", "tolerance": True,
        "provider": {"type": "python", "module": "tenfold.chaos.links.probes", "func": "link_is_clean",
                     "arguments": {"link": "cache"}},
    }  # fmt: skip
    latency = act("add-latency", "tenfold.chaos.links.actions", "add_latency", link="cache", latency_ms=100)
    latency["pauses"] = {"after": pause_s}
    return {
        "version": "1.0.0", "title": "rollback test", "description": "rollbacks always run", "tags": ["test"],
        "configuration": {"tenfold_links": {"cache": control}},
        "steady-state-hypothesis": {"title": "clean", "probes": [clean]},
        "method": [latency],
        "rollbacks": [act("clear", "tenfold.chaos.links.actions", "clear_link_faults", link="cache")],
    }  # fmt: skip


def _run(tmp_path: Path, experiment: dict[str, Any]) -> subprocess.Popen[bytes]:
    path = tmp_path / "experiment.json"
    path.write_text(json.dumps(experiment))
    return subprocess.Popen(
        [str(CHAOS), "--no-version-check", "--no-log-file", "run", "--rollback-strategy", "always",
         "--journal-path", str(tmp_path / "journal.json"), str(path)],
        cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def test_rollback_runs_when_the_hypothesis_fails(tmp_path: Path, redis_and_proxy: tuple[int, int, str]) -> None:
    control = redis_and_proxy[2]
    proc = _run(tmp_path, _experiment(control, 0))
    assert proc.wait(60) != 0
    journal = json.loads((tmp_path / "journal.json").read_text())
    assert journal["deviated"] is True  # the fault was still there after the method...
    assert [r["status"] for r in journal["rollbacks"]] == ["succeeded"]  # ...and the rollback removed it
    assert httpx.get(f"{control}/faults").json()["faults"]["latency_ms"] == 0


def test_rollback_runs_on_ctrl_c(tmp_path: Path, redis_and_proxy: tuple[int, int, str]) -> None:
    control = redis_and_proxy[2]
    proc = _run(tmp_path, _experiment(control, 30))
    try:
        wait_for(lambda: httpx.get(f"{control}/faults").json()["faults"]["latency_ms"] == 100, "the fault", 30)
        proc.send_signal(signal.SIGINT)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    journal = json.loads((tmp_path / "journal.json").read_text())
    assert journal["status"] == "interrupted"
    assert [r["status"] for r in journal["rollbacks"]] == ["succeeded"]
    assert httpx.get(f"{control}/faults").json()["faults"]["latency_ms"] == 0


def test_a_link_of_several_proxies_gets_the_fault_on_each(redis_and_proxy: tuple[int, int, str]) -> None:
    redis_port, _, first = redis_and_proxy
    port, control_port = free_port(), free_port()
    second = subprocess.Popen(
        [sys.executable, "-m", "tenfold.stack.linkproxy", "--listen", str(port), "--upstream", str(redis_port),
         "--control", str(control_port)],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        other = f"http://127.0.0.1:{control_port}"
        wait_for(lambda: httpx.get(f"{other}/healthz").status_code == 200, "second proxy")
        cfg = {"tenfold_links": {"cache": [first, other]}}
        links.add_latency("cache", latency_ms=30, configuration=cfg)
        assert [httpx.get(f"{u}/faults").json()["faults"]["latency_ms"] for u in (first, other)] == [30, 30]
        links.clear_link_faults("cache", configuration=cfg)
        assert [httpx.get(f"{u}/faults").json()["faults"]["latency_ms"] for u in (first, other)] == [0, 0]
    finally:
        stop(second)
