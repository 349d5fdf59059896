"""Indicator arithmetic on small hand-made inputs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from reports.indicators import measure, rolling_error_ratio
from reports.runfolder import RunFolder
from reports.windows import Window


def test_rolling_error_ratio_windows() -> None:
    times = np.array([0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5])
    errors = np.array([False, True, True, False, False, False, False])
    t, ratio, total = rolling_error_ratio(times, errors, 0.0, 7.0, width=2.0)
    assert list(t) == [1, 2, 3, 4, 5, 6, 7]
    assert list(total) == [1, 2, 2, 2, 2, 2, 2]
    assert list(ratio) == [0.0, 0.5, 1.0, 0.5, 0.0, 0.0, 0.0]


def test_percentile_matches_numpy() -> None:
    from reports.indicators import _percentile

    rng = np.random.default_rng(7)
    for n in (1, 2, 3, 10, 1001):
        x = rng.lognormal(size=n)
        for q in (50, 95, 99, 99.9):
            assert np.isclose(_percentile(x, q), np.percentile(x, q)), (n, q)


def _objective(yaml_text: str) -> Any:
    from reports.slo import parse_slo

    return parse_slo("objectives:\n" + yaml_text).objectives[0]


def _folder(tmp_path: Path, durability: dict[str, Any] | None = None) -> RunFolder:
    (tmp_path / "manifest.json").write_text(json.dumps({"id": "t", "started": 0.0, "ended": 10.0, "phases": []}))
    if durability is not None:
        (tmp_path / "durability.json").write_text(json.dumps(durability))
    return RunFolder(tmp_path)


WRITES_LOST = "  - {name: w, indicator: writes_lost, window: run, target: '== 0'}\n"


@pytest.mark.parametrize(
    ("durability", "why"),
    [
        (None, "durability.json is missing"),
        ({"acknowledged": {}}, "no acknowledged write in the ledger"),
        ({"acknowledged": {"a": 3}, "unchecked": ["a"]}, "have no @ledger.verifier"),
        ({"acknowledged": {"a": 3}, "checked": {"a": 3}, "errors": {"a": 3}, "error_examples": ["ConnectError: x"]},
         "the verifiers failed for all 3 acknowledged writes, e.g. ConnectError: x"),
    ],
)  # fmt: skip
def test_writes_lost_has_no_data_rather_than_a_pass_without_evidence(
    tmp_path: Path, durability: dict[str, Any] | None, why: str
) -> None:
    m = measure(_folder(tmp_path, durability), _objective(WRITES_LOST), Window("run", 0.0, 10.0))
    assert m.value is None and why in m.evidence


def test_writes_lost_counts_the_lost_and_says_what_it_could_not_judge(tmp_path: Path) -> None:
    d = {
        "acknowledged": {"a": 10, "b": 5},
        "checked": {"a": 10, "b": 5},
        "lost": {"a": 2, "b": 1},
        "missing": [{"kind": "a", "key": "k1"}],
        "unverified": {"b": 1},
        "errors": {"a": 1},
        "unknown": {"a": 4},
    }
    m = measure(_folder(tmp_path, d), _objective(WRITES_LOST), Window("run", 0.0, 10.0))  # fmt: skip
    assert m.value == 3.0
    assert m.evidence == ("3 of 15 acknowledged writes missing, e.g. a:k1; 1 unverified, 1 unreadable, "
                          "4 with an unknown outcome (not counted)")  # fmt: skip


def _requests(tmp_path: Path, priority: list[str], status: list[int], failed: list[bool]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    n = len(status)
    pq.write_table(pa.table({  # type: ignore[no-untyped-call]
        "intended_start": np.arange(n, dtype=float), "actual_start": np.arange(n, dtype=float),
        "latency_s": np.full(n, 0.01, np.float32), "latency_co_s": np.full(n, 0.01, np.float32),
        "route": ["/x"] * n, "method": ["GET"] * n, "priority": priority, "status": pa.array(status, pa.int16()),
        "degraded": [False] * n, "shed": [False] * n, "failed": failed,
    }), tmp_path / "requests.parquet")  # fmt: skip


def test_objectives_filtered_by_priority_say_no_data_when_nothing_is_classified(tmp_path: Path) -> None:
    _requests(tmp_path, ["unclassified"] * 4, [200, 200, 500, 200], [False] * 4)
    run = _folder(tmp_path)
    w = Window("run", 0.0, 10.0)
    for text in ("  - {name: a, indicator: availability, priority: critical, window: run, target: '>= 99%'}\n",
                 "  - {name: c, indicator: critical_5xx, window: run, target: '== 0'}\n",
                 "  - {name: s, indicator: shed_order, window: run, target: true}\n"):  # fmt: skip
        assert measure(run, _objective(text), w).value is None, text
    unclassified = "  - {name: u, indicator: error_ratio, priority: unclassified, window: run, target: '<= 1%'}\n"
    assert measure(run, _objective(unclassified), w).value == pytest.approx(0.25)


def test_a_success_the_locustfile_marked_failed_is_an_error_a_4xx_is_not(tmp_path: Path) -> None:
    _requests(tmp_path, ["critical"] * 4, [200, 200, 404, 503], [True, False, True, True])
    m = measure(_folder(tmp_path), _objective("  - {name: e, indicator: error_ratio, window: run, target: '<= 1%'}\n"),
                Window("run", 0.0, 10.0))  # fmt: skip
    assert m.value == pytest.approx(0.5)  # the marked 200 and the 503; the 404 is the client's
