"""Every experiment file validates offline, the local ones carry what `tenfold run` needs, and malformed ones fail
with a message that names the problem."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from chaos_servers import ROOT
from chaoslib.exceptions import InvalidActivity, InvalidExperiment
from chaoslib.experiment import ensure_experiment_is_valid
from chaoslib.loader import load_experiment

EXPERIMENTS = sorted((ROOT / "experiments").glob("*/*.json"))
LOCAL = sorted((ROOT / "experiments" / "local").glob("*.json"))
LOCAL_INTENTS = {
    "kill-recommendation-replicas",
    "cache-primary-failover",
    "cache-lost-30s",
    "dynamodb-outage",
    "postgres-restart",
    "cache-link-latency",
    "cpu-hog",
}


def _activities(experiment: dict[str, Any]) -> list[dict[str, Any]]:
    return [*experiment["steady-state-hypothesis"]["probes"], *experiment["method"], *experiment["rollbacks"]]


def test_every_area_has_experiments() -> None:
    assert {p.stem for p in LOCAL} == LOCAL_INTENTS
    assert len(list((ROOT / "experiments" / "k8s").glob("*.json"))) >= 2
    assert len(list((ROOT / "experiments" / "aws").glob("*.json"))) >= 4


@pytest.mark.parametrize("path", EXPERIMENTS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_experiment_validates_offline(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    experiment = load_experiment(str(path))
    ensure_experiment_is_valid(experiment)  # imports every module and binds every activity's arguments
    assert experiment["tags"][0] == "tenfold" and path.parent.name in experiment["tags"]
    names = [a["name"] for a in _activities(experiment)]
    assert len(names) == len(set(names)), "activity names must be unique: tests and reports look them up by name"


@pytest.mark.parametrize("path", LOCAL, ids=lambda p: p.stem)
def test_local_experiment_has_probes_rollbacks_and_a_schedule(path: Path) -> None:
    experiment = json.loads(path.read_text())
    steady = experiment["steady-state-hypothesis"]["probes"]
    modules = {p["provider"]["module"] for p in steady}
    assert "tenfold.chaos.gateway.probes" in modules, "the hypothesis must look at what users see"
    assert "tenfold.chaos.prometheus.probes" in modules, "and at the metrics"
    assert all("tolerance" in p for p in steady)
    assert experiment["rollbacks"], "a local experiment must undo its fault"
    for activity in _activities(experiment):
        assert activity["provider"]["type"] == "python"
        assert activity["provider"]["module"].startswith("tenfold.chaos."), "act only through the extension"
    # the fault is undone by a rollback of the same area as the fault
    fault_areas = {a["provider"]["module"].split(".")[2] for a in experiment["method"] if a["type"] == "action"}
    rollback_areas = {a["provider"]["module"].split(".")[2] for a in experiment["rollbacks"]}
    assert fault_areas <= rollback_areas, (fault_areas, rollback_areas)
    for activity in experiment["method"]:
        # a method probe is evidence for the journal, not a gate: a tolerance there is a misplaced argument
        assert "tolerance" not in activity, activity["name"]
        assert set(activity.get("pauses", {})) <= {"before", "after"}
    (tenfold,) = [e for e in experiment["extensions"] if e["name"] == "tenfold"]
    assert tenfold["schedule"]["phase"] == "peak" and tenfold["schedule"]["offset_s"] >= 0
    assert tenfold["recovery_timeout_s"] > 0  # bounds the chaos window when the stack never recovers


def test_local_default_schedules_do_not_overlap() -> None:
    """`tenfold run --experiments a.json b.json` uses each file's schedule: one fault at a time."""
    offsets = sorted(json.loads(p.read_text())["extensions"][0]["schedule"]["offset_s"] for p in LOCAL)
    assert len(offsets) == len(set(offsets))


def test_the_run_schedule_names_only_existing_experiments() -> None:
    """`tenfold run` injects what experiments/local/schedule.yaml names (and when); each name must be a file."""
    import yaml

    plan = yaml.safe_load((ROOT / "experiments" / "local" / "schedule.yaml").read_text())
    names = {entry["experiment"] for entries in plan.values() for entry in entries}
    assert names and names <= {p.stem for p in LOCAL}


def test_each_experiment_of_the_run_schedule_starts_after_the_last_ones_errors_left_its_steady_state_window() -> None:
    """Before its fault an experiment checks its steady state, e.g. the 5xx ratio over the last 15 s: if the previous
    experiment's fault (a replica kill, errors for a few seconds with fallbacks off) is still inside that window, the
    fault is never injected and the run is invalid. Consecutive experiments in a phase start at least the next
    one's longest steady-state window plus 5 s apart (the quick schedule had them 15 s apart: 3 of 10 controls
    invalid, docs/calibration.md)."""
    import itertools
    import re

    import yaml

    plan = yaml.safe_load((ROOT / "experiments" / "local" / "schedule.yaml").read_text())
    too_close = []
    for profile, entries in plan.items():
        by_phase: dict[str, list[tuple[float, str]]] = {}
        for e in entries:
            by_phase.setdefault(e["phase"], []).append((float(e["offset_s"]), e["experiment"]))
        for phase, starts in by_phase.items():
            starts.sort()
            for (t0, a), (t1, b) in itertools.pairwise(starts):
                doc = json.loads((ROOT / "experiments" / "local" / f"{b}.json").read_text())
                windows = [int(w) for w in re.findall(r"\[(\d+)s\]", json.dumps(doc["steady-state-hypothesis"]))]
                if t1 - t0 < max(windows, default=0) + 5:
                    too_close.append(f"{profile}: {a} at {phase}+{t0:g} s, {b} at {phase}+{t1:g} s")
    assert too_close == []


def _base() -> dict[str, Any]:
    return json.loads((ROOT / "experiments" / "local" / "cache-link-latency.json").read_text())  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("breakage", "error", "message"),
    [
        (lambda e: e.pop("method"), InvalidExperiment, "method"),
        (lambda e: e.pop("title"), InvalidExperiment, "title"),
        (lambda e: e["method"][0]["provider"].update(func="add_latencyy"), InvalidActivity, "add_latencyy"),
        (lambda e: e["method"][0]["provider"]["arguments"].update(latency=5), InvalidActivity, "latency"),
        (lambda e: e["method"][0]["provider"]["arguments"].pop("link"), InvalidActivity, "link"),
        (lambda e: e["method"][0]["provider"].update(module="tenfold.chaos.nope"), InvalidActivity, "nope"),
    ],
    ids=["no-method", "no-title", "unknown-function", "unknown-argument", "missing-argument", "unknown-module"],
)
def test_malformed_experiments_fail_validation_naming_the_problem(
    breakage: Any, error: type[Exception], message: str
) -> None:
    experiment = copy.deepcopy(_base())
    breakage(experiment)
    with pytest.raises(error, match=message):
        ensure_experiment_is_valid(experiment)


def test_chaos_validate_cli_rejects_a_malformed_file(tmp_path: Path) -> None:
    broken = _base()
    broken["method"][0]["provider"]["arguments"]["latency"] = 5
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(broken))
    chaos = Path(sys.executable).parent / "chaos"
    run = subprocess.run(
        [str(chaos), "--no-version-check", "--no-log-file", "validate", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert run.returncode != 0
    assert "latency" in run.stdout + run.stderr
