"""Every local experiment, run by the real `chaos` CLI against a real `tenfold up`: the fault really happens (seen
through the controller's API and the journal), the probes see it, and the rollback leaves a whole stack.

Pauses are capped at 2 s so the whole set fits in about a minute; the faults and their undo are the real ones."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from chaos_servers import ROOT, wait_for
from servers import free_port_base

from tenfold.stack import lifecycle
from tenfold.stack.state import pid_alive, read_state

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

CHAOS = Path(sys.executable).parent / "chaos"
_MAX_PAUSE_S = 2


@pytest.fixture(scope="module")
def stack() -> Iterator[dict[str, Any]]:
    base = free_port_base()
    home = Path(tempfile.mkdtemp(prefix="tenfold-chaos-e2e-"))
    try:
        # enough titles and users for the "cold" ids the during-fault probes ask for (1001..~2000)
        state = lifecycle.up(home, base, seed_users=2500, seed_titles=2500, timeout_s=120)
    except BaseException:
        shutil.rmtree(home, ignore_errors=True)
        raise
    try:
        yield state
    finally:
        lifecycle.down(home)
        final = read_state(home) or {}
        pids = [*state.get("pids", []), *final.get("pids", [])]
        shutil.rmtree(home, ignore_errors=True)
        assert not [p for p in pids if pid_alive(p)], "processes left behind"


def _control(stack: dict[str, Any]) -> str:
    return str(stack["control"])


def _status(stack: dict[str, Any]) -> dict[str, Any]:
    return httpx.get(f"{_control(stack)}/status", timeout=10).json()  # type: ignore[no-any-return]


def _events(stack: dict[str, Any]) -> list[dict[str, Any]]:
    return httpx.get(f"{_control(stack)}/events?limit=500", timeout=10).json()["events"]  # type: ignore[no-any-return]


def _whole(stack: dict[str, Any]) -> bool:
    status = _status(stack)
    components_ok = all(c["state"] == "running" for c in status["components"].values())
    services_ok = all(s["ready"] >= s["desired"] >= 1 for s in status["services"].values())
    return components_ok and services_ok


def _run(stack: dict[str, Any], name: str, tmp_path: Path, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run experiments/local/NAME.json (pauses capped) with the chaos CLI; return its journal."""
    experiment = json.loads((ROOT / "experiments" / "local" / f"{name}.json").read_text())
    for activity in experiment["method"]:
        for when, seconds in activity.get("pauses", {}).items():
            activity["pauses"][when] = min(seconds, _MAX_PAUSE_S)
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(experiment))
    journal = tmp_path / f"journal-{name}.json"
    subprocess.run(
        [str(CHAOS), "--no-version-check", "--no-log-file", "run", "--rollback-strategy", "always",
         "--journal-path", str(journal), str(path)],
        cwd=tmp_path, env={**os.environ, "TENFOLD_CONTROL_URL": _control(stack), **(env or {})},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=240, check=False,
    )  # fmt: skip
    result: dict[str, Any] = json.loads(journal.read_text())
    assert result["status"] == "completed" and result["deviated"] is False, _summary(result)
    assert result["rollbacks"] and all(r["status"] == "succeeded" for r in result["rollbacks"]), _summary(result)
    wait_for(lambda: _whole(stack), "the stack to be whole again after the rollback", timeout=60)
    return result


def _summary(journal: dict[str, Any]) -> str:
    rows = [(r["activity"]["name"], r["status"], str(r.get("output"))[:80]) for r in journal.get("run", [])]
    return f"status={journal['status']} deviated={journal.get('deviated')} run={rows}"


def _output(journal: dict[str, Any], activity: str) -> Any:
    (run,) = [r for r in journal["run"] if r["activity"]["name"] == activity]
    assert run["status"] == "succeeded", run
    return run["output"]


def test_kill_recommendation_replicas(stack: dict[str, Any], tmp_path: Path) -> None:
    journal = _run(stack, "kill-recommendation-replicas", tmp_path)
    killed = _output(journal, "kill-2-recommendation-replicas")
    assert len(killed) == 2
    before = _output(journal, "ready-recommendation-replicas-before-kill")
    # 0.5 s later the killed ones are seen dead, and no replacement can be ready yet (a start takes > 1 s)
    assert _output(journal, "ready-recommendation-replicas-after-kill") <= before - 2
    events = {(e["kind"], e["from"]) for e in _events(stack)}
    assert all(("replica_killed", r) in events and ("replica_restarted", r) in events for r in killed)


def test_cache_primary_failover(stack: dict[str, Any], tmp_path: Path) -> None:
    journal = _run(stack, "cache-primary-failover", tmp_path)
    before, after = _output(journal, "cache-primary-before"), _output(journal, "cache-primary-after")
    assert _output(journal, "kill-cache-primary")["killed"] == before
    # Sentinel promoted the replica: the wait returns only once it names a primary other than the killed one.
    assert _output(journal, "wait-for-sentinel-failover") < 30
    # And a primary is named 2 s later: the promoted replica, or the old node again, back as a replica and promoted
    # by a second failover when the new primary missed Sentinel's 1 s down-after (seen once, beside the suite's
    # heaviest minute: promoted after 2.5 s, failed back within 2 s).
    assert after


def test_cache_lost(stack: dict[str, Any], tmp_path: Path) -> None:
    journal = _run(stack, "cache-lost-30s", tmp_path)
    assert _output(journal, "cache-down") is False
    assert _output(journal, "titles-without-cache") >= 0.9  # read-through to the store, not errors
    kinds = [(e["kind"], e["service"]) for e in _events(stack)]
    assert ("component_stopped", "cache") in kinds and ("component_started", "cache") in kinds


def test_dynamodb_outage(stack: dict[str, Any], tmp_path: Path) -> None:
    journal = _run(stack, "dynamodb-outage", tmp_path)
    assert _output(journal, "dynamodb-down") is False
    assert _output(journal, "degraded-recommendations-without-dynamodb") > 0  # fallbacks, visibly marked


def test_postgres_restart(stack: dict[str, Any], tmp_path: Path) -> None:
    journal = _run(stack, "postgres-restart", tmp_path)
    assert _output(journal, "postgres-back") is True
    kinds = [(e["kind"], e["service"]) for e in _events(stack)]
    assert ("component_stopped", "postgres") in kinds and ("component_started", "postgres") in kinds


def test_cpu_hog(stack: dict[str, Any], tmp_path: Path) -> None:
    journal = _run(stack, "cpu-hog", tmp_path)
    hogs = _output(journal, "cpu-hogs-running")
    assert len(hogs) == 1 and hogs[0]["id"] == _output(journal, "start-cpu-hog")
    assert _output(journal, "stop-cpu-hog") == 1
    assert httpx.get(f"{_control(stack)}/cpu-hogs", timeout=10).json()["hogs"] == []


def test_link_latency(stack: dict[str, Any], tmp_path: Path) -> None:
    """The cache-link experiment; on a runtime without a cache link yet, the same file on another link."""
    links = _status(stack).get("links", {})
    link = "cache" if "cache" in links else next(iter(sorted(links)), None)
    if link is None:
        pytest.skip("the local runtime starts no link proxies")
    journal = _run(stack, "cache-link-latency", tmp_path, {"TENFOLD_LATENCY_LINK": link})
    assert _output(journal, "cache-link-faults")["latency_ms"] == 200  # the proxy really held the fault
    control = links[link]["control"]
    assert httpx.get(f"{control}/faults", timeout=5).json()["faults"]["latency_ms"] == 0  # and the rollback lifted it
