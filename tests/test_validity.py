"""The run's validity rules (tenfold.validity), one test per rule: each case breaks exactly one thing of a valid run,
so removing (or rewording) that rule fails its test."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from reports.runfolder import Manifest
from tenfold.inject.injector import ExperimentRecord
from tenfold.validity import MANIFEST_MISSING, NO_LOAD, validity


@dataclass(frozen=True)
class Exp:
    """An experiment that ran, injected its fault and rolled back: valid."""

    name: str = "cache-lost"
    start: float | None = 10.0
    end: float | None = 40.0
    injected_at: float | None = 11.0
    rollback_ok: bool | None = True
    problems: Sequence[str] = field(default_factory=tuple)


@dataclass(frozen=True)
class Recorded:
    valid: bool = True
    reasons: Sequence[str] = ()


LOAD: dict[str, Any] = {"valid": True, "invalid_reason": None}


def judge(load: dict[str, Any] | None = LOAD, exp: Exp | None = None, **kw: Any) -> list[str]:
    """A valid run's facts, all known, with the ones given changed."""
    facts: dict[str, Any] = {"requests": 100, "recorded": Recorded(), "load_missing": NO_LOAD} | kw
    return validity(load, [exp or Exp()], **facts)


def test_a_valid_run_has_no_reason() -> None:
    assert judge() == []
    assert validity(None) == []  # nothing known, nothing judged


def test_no_manifest_is_the_only_reason() -> None:
    assert judge(None, Exp(rollback_ok=False), requests=0, manifest_missing=True) == [MANIFEST_MISSING]
    assert MANIFEST_MISSING == "manifest.json is missing: this is not a run folder"


def test_the_manifest_s_own_reasons_come_first() -> None:
    assert judge(recorded=Recorded(False, ["catalog never became ready"])) == ["catalog never became ready"]
    assert judge(recorded=Recorded(True, ["ignored: the manifest says valid"])) == []


def test_a_manifest_marked_invalid_without_reasons() -> None:
    assert judge(recorded=Recorded(False)) == ["the manifest marks the run invalid"]


def test_an_interrupted_run() -> None:
    assert judge(interrupted="interrupted by SIGTERM") == ["interrupted by SIGTERM"]


def test_experiments_the_interruption_kept_from_starting() -> None:
    late = Exp(name="late-fault", start=None, end=None, injected_at=None, rollback_ok=None)
    assert validity(LOAD, [Exp(), late, replace(late, name="later")], interrupted="interrupted by SIGINT") == [
        "interrupted by SIGINT",
        "not injected, the run stopped first: late-fault, later",
    ]
    assert judge(exp=late) == []  # not started and not interrupted: cancelled because the load ended, not a reason


def test_no_load_json() -> None:
    assert judge(None) == ["the load generator wrote no load.json (see locust/locust.log)"]
    assert judge(None, load_missing="only 1 of 2 workers joined") == ["only 1 of 2 workers joined"]
    assert judge(None, load_missing=None) == []  # evaluate: the manifest has judged its absence


@pytest.mark.parametrize(
    ("load", "reason"),
    [
        ({"valid": False, "invalid_reason": "slow"}, "load generator: slow"),
        ({"valid": False}, "load generator: marked invalid"),
        ({"valid": False, "invalid_reason": None}, "load generator: marked invalid"),
    ],
)
def test_the_load_generator_marked_its_run_invalid(load: dict[str, Any], reason: str) -> None:
    assert judge(load) == [reason]


def test_a_load_json_that_does_not_say_is_not_judged() -> None:
    assert judge({}) == []


def test_an_experiment_still_running() -> None:
    running = Exp(end=None, rollback_ok=None)
    assert judge(exp=running) == ["experiment cache-lost: still running when the report was written (rolling back)"]


def test_a_failed_rollback() -> None:
    failed = Exp(rollback_ok=False, problems=("1 rollback activities did not succeed", "killed"))
    assert judge(exp=failed) == [
        "experiment cache-lost: rollback failed (1 rollback activities did not succeed; killed)"
    ]
    assert judge(exp=Exp(rollback_ok=False)) == ["experiment cache-lost: rollback failed"]


def test_no_journal() -> None:
    assert judge(exp=Exp(rollback_ok=None)) == ["experiment cache-lost: no journal, rollback unknown"]


def test_a_fault_never_injected() -> None:
    assert judge(exp=Exp(injected_at=None)) == [
        "experiment cache-lost never injected its fault (its steady-state hypothesis did not hold before the method; "
        "see chaos/cache-lost.log)"
    ]


def test_no_request_records() -> None:
    assert judge(requests=0) == ["no request records (requests.parquet missing or empty)"]
    assert judge(requests=None) == []  # not known: not judged


def test_each_reason_once_in_order() -> None:
    failed = Exp(rollback_ok=False)
    recorded = Recorded(False, ["interrupted by SIGINT", "experiment cache-lost: rollback failed"])
    reasons = validity(
        {"valid": False}, [failed, failed], interrupted="interrupted by SIGINT", requests=0, recorded=recorded
    )
    assert reasons == [
        "interrupted by SIGINT",
        "experiment cache-lost: rollback failed",
        "load generator: marked invalid",
        "no request records (requests.parquet missing or empty)",
    ]


def test_the_manifest_s_experiments_are_judged_as_the_injector_s_records() -> None:
    """What ``tenfold run`` wrote into manifest.json, read back by evaluate, gives the same reasons: the manifest's
    own reasons and evaluate's are the same strings, each said once."""
    records = [
        ExperimentRecord("running", "f", "peak", 0, 30, start=1.0, problems=["x"]),
        ExperimentRecord(
            "failed",
            "f",
            "peak",
            0,
            30,
            start=1.0,
            end=2.0,
            injected_at=1.5,
            rollback_ok=False,
            problems=["1 rollback activities did not succeed"],
        ),
        ExperimentRecord("no-journal", "f", "peak", 0, 30, start=1.0, end=2.0, problems=["no journal was written"]),
        ExperimentRecord("not-injected", "f", "peak", 0, 30, start=1.0, end=2.0, rollback_ok=True),
        ExperimentRecord("fine", "f", "peak", 0, 30, start=1.0, end=2.0, injected_at=1.5, rollback_ok=True),
        ExperimentRecord("not-run", "f", "peak", 0, 30),
    ]
    manifest = Manifest.from_dict({"experiments": [r.to_dict() for r in records]})
    written = validity(LOAD, records, interrupted="interrupted by SIGINT")
    assert len(written) == 6 and "not-run" in written[1]
    assert validity(LOAD, manifest.experiments, interrupted="interrupted by SIGINT") == written
