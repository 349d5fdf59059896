"""`tenfold up` for real: status shape, replica kill under load, Sentinel failover, freeze/thaw, autoscaling both
ways, and nothing left behind after a SIGKILL of the controller. Runs on its own ports and state dir."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from credentials import login
from servers import ROOT, free_port_base

from tenfold.errors import StackError
from tenfold.stack import lifecycle
from tenfold.stack.client import ControlClient
from tenfold.stack.state import pid_alive

pytestmark = pytest.mark.e2e


def wait_for(check: Callable[[], bool], timeout_s: float, what: str) -> float:
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > timeout_s:
            raise AssertionError(f"{what} did not happen within {timeout_s} s")
        time.sleep(0.1)
    return time.monotonic() - start


def leftover(pids: list[int]) -> list[int]:
    return [p for p in pids if pid_alive(p)]


def load(
    url: str, seconds: float, workers: int = 4, pause_s: float = 0.01, headers: dict[str, str] | None = None
) -> Counter[str]:
    """Light, bounded load: `workers` threads, each one request at a time, for `seconds`. Codes count by status,
    any other than 200 with what the answer said (a 503 from the gateway's queue is not a 503 from a service)."""
    codes: Counter[str] = Counter()
    end = time.monotonic() + seconds

    def run() -> None:
        with httpx.Client(timeout=5.0, headers=headers) as client:
            while time.monotonic() < end:
                try:
                    resp = client.get(url)
                    said = "" if resp.status_code == 200 else f": {resp.headers.get('content-type')} {resp.text[:160]}"
                    codes[f"{resp.status_code}{said}"] += 1
                except httpx.HTTPError as exc:
                    codes[type(exc).__name__] += 1
                time.sleep(pause_s)

    threads = [threading.Thread(target=run) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return codes


def test_status_has_every_endpoint(stack: dict[str, Any]) -> None:
    status = ControlClient(stack["control"]).status()
    assert status["phase"] == "ready"
    for key in ("gateway", "prometheus", "control", "postgres", "dynamodb", "s3"):
        assert status[key].startswith(("http://127.0.0.1:", "postgresql://")), key
    assert len(status["redis"]["sentinels"]) == 3
    assert set(status["services"]) == {"users", "catalog", "recommendations", "events"}
    for name, svc in status["services"].items():
        assert svc["ready"] == svc["replicas"] >= 1, name
    assert status["components"]["cache"]["state"] == "running"
    assert status["cgroups"] is True
    assert lifecycle.status(stack["home"]) is not None


def test_second_up_says_already_running(stack: dict[str, Any]) -> None:
    with pytest.raises(StackError, match="already running"):
        lifecycle.up(stack["home"], stack["port_base"])


def test_gateway_routes_and_unknown_path(stack: dict[str, Any]) -> None:
    gw = stack["gateway"]
    assert httpx.get(f"{gw}/api/titles/1").status_code == 200  # public
    auth = login(gw, 1)  # /api/auth goes to users
    assert httpx.get(f"{gw}/api/users/1", headers=auth).status_code == 200
    assert httpx.get(f"{gw}/api/recommendations/1", headers=auth).status_code == 200
    assert httpx.get(f"{gw}/api/users/2", headers=auth).status_code == 403
    assert httpx.get(f"{gw}/api/recommendations/1").status_code == 401
    assert httpx.get(f"{gw}/nowhere").status_code == 404


def test_killing_one_replica_under_load_fails_no_request(stack: dict[str, Any]) -> None:
    ctl = ControlClient(stack["control"])
    before = {r.id: r.pid for r in ctl.replicas("catalog")}
    result: dict[str, Counter[str]] = {}
    t = threading.Thread(target=lambda: result.update(codes=load(f"{stack['gateway']}/api/titles/3", 5.0)))
    t.start()
    time.sleep(1.0)
    killed = ctl.kill("catalog", 1, "SIGKILL")
    t.join()
    assert set(result["codes"]) == {"200"}, result["codes"]
    assert result["codes"]["200"] > 100
    wait_for(
        lambda: all(r.state == "ready" for r in ctl.replicas("catalog")), 15, "the killed replica back in rotation"
    )
    after = {r.id: r for r in ctl.replicas("catalog")}
    assert after[killed[0]].pid != before[killed[0]] and after[killed[0]].restarts == 1
    assert not pid_alive(before[killed[0]])  # type: ignore[arg-type]
    kinds = [e["kind"] for e in ctl.events(50)]
    assert "replica_died" in kinds and "replica_restarted" in kinds


def test_killing_the_cache_primary_fails_over(stack: dict[str, Any]) -> None:
    ctl = ControlClient(stack["control"])
    old = ctl.status()["components"]["cache"]["primary"]
    assert ctl.component("cache-primary", "kill")["killed"] == old
    took = wait_for(
        lambda: (c := ctl.status()["components"]["cache"])["primary"] not in (None, old) and c["state"] == "running",
        30,  # ~2.5 s as a rule; a split Sentinel vote retries only after 2 x failover-timeout (6 s)
        "Sentinel promoting the replica",
    )
    assert took < 25
    codes = load(f"{stack['gateway']}/api/recommendations/2", 1.0, workers=2, headers=login(stack["gateway"], 2))
    assert set(codes) == {"200"}, codes
    wait_for(lambda: all(ctl.status()["components"][n]["state"] == "running" for n in ("redis-0", "redis-1")), 15,
             "the old primary back (as a replica)")  # fmt: skip


def test_the_redis_replica_can_be_stopped_and_started_by_role(stack: dict[str, Any]) -> None:
    ctl = ControlClient(stack["control"])
    node = ctl.status()["components"]["redis-replica"]["node"]
    assert ctl.component("redis-replica", "stop")["state"] == "stopped"
    assert ctl.status()["components"][node]["state"] == "stopped"
    auth = login(stack["gateway"], 3)
    assert set(load(f"{stack['gateway']}/api/recommendations/3", 0.5, workers=1, headers=auth)) == {"200"}
    ctl.component(node, "start")
    wait_for(lambda: ctl.status()["components"][node]["state"] == "running", 10, "the replica node running again")


def test_freeze_takes_a_replica_out_of_rotation_and_thaw_brings_it_back(stack: dict[str, Any]) -> None:
    ctl = ControlClient(stack["control"])
    frozen = ctl.freeze("users", 1)
    assert [r.state for r in ctl.replicas("users") if r.id in frozen] == ["frozen"]
    codes = load(f"{stack['gateway']}/api/users/5", 1.0, workers=2, headers=login(stack["gateway"], 5))
    assert set(codes) == {"200"}, codes
    assert ctl.thaw("users") == frozen
    wait_for(lambda: all(r.state == "ready" for r in ctl.replicas("users")), 10, "thawed replica ready")


def test_cpu_load_scales_out_and_the_quiet_scales_in(stack: dict[str, Any]) -> None:
    if shutil.which("wrk") is None:
        pytest.skip("wrk is not installed (make setup)")
    ctl = ControlClient(stack["control"])
    initial = ctl.status()["services"]["users"]["desired"]
    # wrk, bounded to 25 s and 8 connections: enough to keep 250m replicas busy, stopped as soon as it worked.
    wrk = subprocess.Popen(
        [
            "wrk",
            "-t1",
            "-c8",
            "-d25s",
            "-H",
            f"Authorization: {login(stack['gateway'], 7)['Authorization']}",
            f"{stack['gateway']}/api/users/7",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: ctl.status()["services"]["users"]["desired"] > initial, 22, "scale-out under CPU load")
    finally:
        wrk.terminate()
        wrk.wait(5)
    ups = [e for e in ctl.events(200) if e["kind"] == "scale" and e["service"] == "users" and e["to"] > e["from"]]
    assert ups and "cpu" in ups[-1]["reason"]
    wait_for(lambda: ctl.status()["services"]["users"]["desired"] == initial, 30, "scale-in after the window")


def test_with_autoscaling_off_the_replica_count_holds(stack: dict[str, Any]) -> None:
    ctl = ControlClient(stack["control"])
    initial = ctl.status()["services"]["events"]["desired"]
    assert ctl.autoscaling(False) is False
    try:
        assert ctl.scale("events", initial + 1) == initial + 1
        time.sleep(2.5)  # > 2 sync periods of the test overlay, idle: the HPA would scale back in
        svc = ctl.status()["services"]["events"]
        assert svc["desired"] == initial + 1
        assert svc["hpa_desired"] is not None and svc["hpa_desired"] <= initial + 1
    finally:
        ctl.scale("events", initial)
        ctl.autoscaling(True)
    wait_for(lambda: ctl.status()["services"]["events"]["replicas"] == initial, 15, "the extra replica gone")


def test_links_sit_between_services_and_their_dependencies(stack: dict[str, Any]) -> None:
    links = ControlClient(stack["control"]).status()["links"]
    assert set(links) >= {"postgres", "dynamodb"}
    control = links["postgres"]["control"]
    url = f"{stack['gateway']}/api/users/11"
    auth = login(stack["gateway"], 11)
    assert httpx.get(url, headers=auth).status_code == 200
    httpx.put(f"{control}/faults", json={"latency_ms": 150}).raise_for_status()
    try:
        start = time.monotonic()
        response = httpx.get(url, headers=auth, timeout=10)
        slowed = time.monotonic() - start
    finally:
        httpx.delete(f"{control}/faults").raise_for_status()
    assert response.status_code in (200, 503)
    assert slowed >= 0.15  # the query crossed the link (≥ one round trip of added latency)


def test_the_token_key_is_only_in_its_own_file(stack: dict[str, Any]) -> None:
    """Every replica has the key, yet no log, state file or status output shows it (after the tests above ran)."""
    home = Path(stack["home"])
    key_file = home / "jwt-secret"
    assert key_file.stat().st_mode & 0o777 == 0o600
    key = key_file.read_text().strip()
    assert len(key) >= 32
    httpx.post(f"{stack['gateway']}/api/auth/token", json={"user_id": 1, "password": "wrong"})  # a refused login
    status = subprocess.run([str(ROOT / ".venv" / "bin" / "tenfold"), "status", "--json", "--home", str(home)],
                            capture_output=True, text=True, timeout=30)  # fmt: skip
    assert status.returncode == 0 and '"gateway"' in status.stdout, status.stderr
    assert key not in status.stdout + status.stderr
    files = [p for p in home.rglob("*") if p.is_file() and p != key_file and p.stat().st_size < 50_000_000]
    logs = [p for p in files if p.suffix in (".log", ".jsonl", ".json")]
    assert any(p.name.startswith("users") for p in logs), [p.name for p in logs]  # the replicas' logs are there
    leaks = [p for p in logs if key.encode() in p.read_bytes()]
    assert not leaks, f"the token key appears in {leaks}"


def test_sigkill_of_the_controller_leaves_no_process(stack: dict[str, Any]) -> None:
    status = ControlClient(stack["control"]).status()
    pids = [p for p in status["pids"] if p != status["pid"]]
    assert len(pids) >= 15
    os.kill(status["pid"], signal.SIGKILL)
    wait_for(lambda: not leftover(pids), 5, f"children of a SIGKILLed controller exiting ({leftover(pids)})")


def test_a_manifest_change_changes_the_local_stack(tmp_path: Path) -> None:
    """infra/k8s is the single source of truth: a copy with other replicas and CPU limit runs differently."""
    from tenfold.stack.manifests import DEFAULT_MANIFESTS

    manifests = tmp_path / "services"
    shutil.copytree(DEFAULT_MANIFESTS, manifests)
    path = manifests / "users.yaml"
    docs = list(yaml.safe_load_all(path.read_text()))
    for doc in docs:
        if doc and doc.get("kind") == "Deployment":
            doc["spec"]["replicas"] = 3
            doc["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["cpu"] = "150m"
        if doc and doc.get("kind") == "HorizontalPodAutoscaler":
            doc["spec"]["minReplicas"] = 3
    path.write_text(yaml.safe_dump_all(docs))
    home = Path(tempfile.mkdtemp(prefix="tenfold-manifests-"))  # PostgreSQL (user postgres) must reach it
    state = lifecycle.up(home, free_port_base(), seed_users=50, seed_titles=50, manifests=manifests, timeout_s=90)
    try:
        users = state["services"]["users"]
        assert users["replicas"] == 3 and users["min"] == 3 and users["cpu_limit"] == 0.15
        catalog = state["services"]["catalog"]
        assert catalog["replicas"] == 2  # the untouched manifests still apply
        assert (catalog["cpu_limit"], catalog["max"]) == (0.05, 8)  # with infra/local/calibration.yaml on top
    finally:
        lifecycle.down(home)
        shutil.rmtree(home, ignore_errors=True)
