"""tenfold.chaos.runner: schedules read from the files, outcomes read from real journals of real runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from chaos_servers import ROOT, redis_and_proxy

from tenfold.chaos.runner import run_experiment, schedule
from tenfold.errors import ConfigError

__all__ = ["redis_and_proxy"]  # a fixture, used by name


def test_every_local_experiment_has_a_schedule() -> None:
    for path in sorted((ROOT / "experiments" / "local").glob("*.json")):
        sched = schedule(path)
        assert sched.phase == "peak" and sched.offset_s >= 0 and sched.recovery_timeout_s > 0


def test_a_file_without_a_schedule_says_how_to_add_one(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text(json.dumps({"title": "x"}))
    with pytest.raises(ConfigError, match=r"x.json: no schedule: add .*\"name\": \"tenfold\""):
        schedule(path)
    path.write_text("{not json")
    with pytest.raises(ConfigError, match="cannot read"):
        schedule(path)


def _experiment(control: str, rollback_link: str) -> dict[str, Any]:
    def activity(kind: str, name: str, func: str, **args: Any) -> dict[str, Any]:
        mod = f"tenfold.chaos.links.{'probes' if kind == 'probe' else 'actions'}"
        return {"type": kind, "name": name, "provider": {"type": "python", "module": mod, "func": func,
                                                         "arguments": args}}  # fmt: skip

    clean = activity("probe", "clean", "link_is_clean", link="cache")
    clean["tolerance"] = True
    return {
        "version": "1.0.0", "title": "t", "description": "d", "tags": ["test"],
        "configuration": {"tenfold_links": {"cache": control}},
        "steady-state-hypothesis": {"title": "clean", "probes": [clean]},
        "method": [activity("action", "latency", "add_latency", link="cache", latency_ms=50)],
        "rollbacks": [activity("action", "clear", "clear_link_faults", link=rollback_link)],
    }  # fmt: skip


def test_outcome_of_a_run_whose_rollback_works(tmp_path: Path, redis_and_proxy: tuple[int, int, str]) -> None:
    control = redis_and_proxy[2]
    path = tmp_path / "latency.json"
    path.write_text(json.dumps(_experiment(control, "cache")))
    outcome = run_experiment(path, tmp_path / "chaos")
    assert outcome.journal == tmp_path / "chaos" / "latency.json" and outcome.journal.exists()
    assert outcome.deviated and outcome.rollbacks_ok and outcome.valid
    assert outcome.ended > outcome.started
    assert httpx.get(f"{control}/faults").json()["faults"]["latency_ms"] == 0


def test_a_failed_rollback_makes_the_outcome_invalid(tmp_path: Path, redis_and_proxy: tuple[int, int, str]) -> None:
    control = redis_and_proxy[2]
    path = tmp_path / "latency.json"
    path.write_text(json.dumps(_experiment(control, "no-such-link")))
    try:
        outcome = run_experiment(path, tmp_path / "chaos")
        assert outcome.rollbacks_ok is False and outcome.valid is False
    finally:
        httpx.delete(f"{control}/faults")
