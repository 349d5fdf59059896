"""The experiment plan ``tenfold run --experiments`` follows: FILE@PHASE+OFFSET, directories, schedules,
experiments/aws's staggered schedule, and what the injector hands every experiment (the system under test's URL)."""

from __future__ import annotations

import itertools
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tenfold.cli import main as cli
from tenfold.errors import ConfigError, UsageError
from tenfold.inject.schedule import ScheduledExperiment, parse_at, plan_for_paths
from tenfold.load import load_scenario
from tenfold.run import REPO, experiment_env, late_experiments

AWS = REPO / "experiments" / "aws"
LOCAL = REPO / "experiments" / "local"
SCENARIOS = REPO / "locustfiles" / "scenarios.yaml"


def _lengths(profile: str) -> dict[str, float]:
    return load_scenario(SCENARIOS, "spike").profiles[profile].phases.model_dump()


def _copy(tmp_path: Path, *names: str) -> Path:
    d = tmp_path / "exps"
    d.mkdir()
    for name in names:
        shutil.copy(LOCAL / f"{name}.json", d)
    return d


def test_a_directory_gives_every_experiment_in_it_at_its_own_schedule(tmp_path: Path) -> None:
    d = _copy(tmp_path, "cpu-hog", "cache-lost-30s")
    plan = plan_for_paths([d], "quick")
    assert [(e.name, e.phase, e.offset_s) for e in plan] == [("cache-lost-30s", "peak", 30), ("cpu-hog", "peak", 70)]
    assert all(e.path.parent == d for e in plan)


def test_a_directory_with_a_schedule_gives_its_plan_for_the_profile() -> None:
    """`--experiments experiments/local` is the default plan, profile by profile."""
    assert [e.name for e in plan_for_paths([LOCAL], "quick")] == ["kill-recommendation-replicas", "cache-lost-30s"]
    assert [e.name for e in plan_for_paths([LOCAL], "default")][-1] == "dynamodb-outage"
    assert plan_for_paths([LOCAL], "soak") == []


def test_files_and_directories_mix(tmp_path: Path) -> None:
    d = _copy(tmp_path, "cpu-hog")
    plan = plan_for_paths([d, LOCAL / "cache-primary-failover.json"], "quick")
    assert [e.name for e in plan] == ["cache-primary-failover", "cpu-hog"]


PLAIN = {  # any Chaos Toolkit experiment: no tenfold extension, no tenfold activity
    "version": "1.0.0",
    "title": "pause",
    "description": "a plain experiment",
    "method": [{"type": "action", "name": "wait", "provider": {"type": "process", "path": "true"}}],
}


@pytest.mark.parametrize(
    ("spec", "at"),
    [
        ("x.json@peak+10s", ("peak", 10.0)),
        ("x.json@ramp", ("ramp", 0.0)),
        ("x.json@cooldown+1.5m", ("cooldown", 90.0)),
        ("x.json@baseline+500ms", ("baseline", 0.5)),
        ("x.json@peak+7", ("peak", 7.0)),
        ("dir/with@sign/x.json", None),
    ],
)
def test_file_at_phase_plus_offset(spec: str, at: tuple[str, float] | None) -> None:
    assert parse_at(spec)[1] == at


@pytest.mark.parametrize("spec", ["x.json@lunch+10s", "x.json@peak-10s", "x.json@peak+ten"])
def test_a_bad_schedule_says_how_to_write_one(spec: str) -> None:
    with pytest.raises(UsageError, match=r"after '@' write PHASE or PHASE\+OFFSET, e\.g\. x\.json@peak\+10s"):
        parse_at(spec)


def test_a_plain_experiment_runs_where_the_command_line_says_else_at_peak_plus_10s(tmp_path: Path) -> None:
    f = tmp_path / "pause.json"
    f.write_text(json.dumps(PLAIN))
    assert [(e.name, e.phase, e.offset_s) for e in plan_for_paths([str(f)], "quick")] == [("pause", "peak", 10.0)]
    plan = plan_for_paths([f"{f}@ramp+2s", f"{f}@baseline", str(LOCAL / "cpu-hog.json") + "@cooldown+1s"], "quick")
    assert [(e.name, e.phase, e.offset_s) for e in plan] == [
        ("pause", "baseline", 0.0), ("pause-2", "ramp", 2.0), ("cpu-hog", "cooldown", 1.0)]  # fmt: skip


def test_a_schedule_file_gives_its_plan(tmp_path: Path) -> None:
    assert [e.name for e in plan_for_paths([LOCAL / "schedule.yaml"], "quick")] == [
        "kill-recommendation-replicas", "cache-lost-30s"]  # fmt: skip


def test_an_empty_directory_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("not an experiment")
    with pytest.raises(ConfigError, match=r"no experiment files \(\*\.json\) in this directory"):
        plan_for_paths([empty], "quick")
    code = cli(["run", "--experiments", str(empty), "--target", "http://127.0.0.1:9", "--runs-dir",
                str(tmp_path / "runs")])  # fmt: skip
    assert code == ConfigError.exit_code
    assert "no experiment files (*.json) in this directory" in " ".join(capsys.readouterr().err.split())
    assert not (tmp_path / "runs").exists(), "nothing ran"


def _pauses(exp: ScheduledExperiment) -> float:
    doc: dict[str, Any] = json.loads(exp.path.read_text())
    return sum(float(p) for a in doc["method"] for p in (a.get("pauses") or {}).values())


def test_the_aws_experiments_run_one_after_another_within_the_aws_profile() -> None:
    """No two faults at once (ElastiCache failover and reboot act on the same replication group): each starts at
    least 30 s after the previous one's pauses are over, and the last ends before the peak does."""
    plan = plan_for_paths([AWS], "aws")
    assert {e.name for e in plan} == {p.stem for p in AWS.glob("*.json")} and len(plan) == 4
    assert {e.phase for e in plan} == {"peak"}
    for before, after in itertools.pairwise(plan):
        assert before.offset_s + _pauses(before) + 30 <= after.offset_s, (before.name, after.name)
    last = plan[-1]
    assert last.offset_s + _pauses(last) + 30 <= _lengths("aws")["peak"]
    assert late_experiments(plan, _lengths("aws")) == []


def test_a_profile_too_short_for_the_plan_is_named() -> None:
    late = late_experiments(plan_for_paths([AWS], "quick"), _lengths("quick"))
    assert "eks-node-terminate at peak+320s" in late
    assert late_experiments(plan_for_paths([LOCAL], "quick"), _lengths("quick")) == []


def test_a_target_run_hands_experiments_the_target_url() -> None:
    """Without it every AWS probe asks https://example.invalid, their default."""
    cdn = "https://d111.cloudfront.net"
    assert experiment_env(cdn + "/", {}) == {"TENFOLD_TARGET_URL": cdn, "TENFOLD_GATEWAY_URL": cdn}
    local = experiment_env(
        None,
        {
            "gateway": "http://127.0.0.1:7000",
            "control": "http://127.0.0.1:7001",
            "postgres": "postgresql://x",
            "s3": "http://127.0.0.1:7009",
            "seed_users": 300,
        },
    )
    assert local == {"TENFOLD_TARGET_URL": "http://127.0.0.1:7000", "TENFOLD_GATEWAY_URL": "http://127.0.0.1:7000",
                     "TENFOLD_CONTROL_URL": "http://127.0.0.1:7001", "TENFOLD_POSTGRES_DSN": "postgresql://x",
                     "TENFOLD_S3_ENDPOINT": "http://127.0.0.1:7009", "TENFOLD_SEED_USERS": "300"}  # fmt: skip
    for path in AWS.glob("*.json"):
        config = json.loads(path.read_text())["configuration"]
        assert config["gateway_url"]["key"] == "TENFOLD_GATEWAY_URL", path.name
