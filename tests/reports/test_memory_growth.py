"""memory_growth: one verdict per process, RSS at the end vs just after warm-up; passes at +3%, fails at +25%."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from synthetic import T0, Knobs, make_run

from reports.evaluate import evaluate
from reports.indicators import Measurement, measure_each
from reports.junit import junit_xml
from reports.memory import growth, read_memory
from reports.render import render
from reports.runfolder import RunFolder
from reports.slo import load_slo, parse_slo
from reports.windows import Window
from tenfold.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
MB = 2.0**20


def _write_memory(run: Path, growth_by_process: dict[str, float], seconds: float = 100.0) -> None:
    """RSS every second: a warm-up that doubles memory in the first 5 s, then growth from +20 s to +80 s, noise."""
    rng = np.random.default_rng(7)
    with (run / "memory.jsonl").open("w") as f:
        for t in np.arange(0.0, seconds + 0.5, 1.0):
            for i, (name, g) in enumerate(growth_by_process.items()):
                base = 40 * MB * (0.5 if t < 5 else 1.0)
                rss = base * (1 + g * min(max(0.0, t - 20) / 60, 1.0)) * (1 + rng.normal(0, 0.003))
                if t == 60:
                    rss *= 1.5  # one noisy sample (a burst of buffers) moves no median
                f.write(json.dumps({"t": T0 + t, "process": name, "kind": "replica", "service": name.split("-")[0],
                                    "pid": 1000 + i, "rss_bytes": int(rss)}) + "\n")  # fmt: skip


@pytest.fixture(scope="module")
def soak_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = make_run(tmp_path_factory.mktemp("soak") / "run", Knobs(rows=2_000))
    _write_memory(run, {"catalog-0": 0.03, "users-0": 0.25, "postgres": -0.02})
    return run


def test_growth_is_median_end_over_median_after_warmup() -> None:
    ts = np.arange(0.0, 101.0)
    rss = np.where(ts < 10, 10.0, 100.0) + ts * 0.0
    rss[-1] = 1000.0  # a last-sample spike
    g = growth(ts, rss, 0.0, 100.0, warmup=0.1)
    assert g is not None and g.ratio == pytest.approx(0.0) and g.samples == 10
    assert growth(ts[:12], rss[:12], 0.0, 100.0) is None  # too little after the warm-up to judge


def test_soak_slo_passes_at_3_percent_and_fails_at_25(soak_run: Path) -> None:
    summary = evaluate(soak_run, load_slo(ROOT / "slo-soak.yaml"))
    by = {v.objective: v for v in summary.verdicts if v.indicator == "memory_growth"}
    assert set(by) == {"memory-growth[catalog-0]", "memory-growth[users-0]", "memory-growth[postgres]"}
    assert by["memory-growth[catalog-0]"].status == "pass"
    assert by["memory-growth[catalog-0]"].measured == pytest.approx(0.03, abs=0.01)
    assert by["memory-growth[postgres]"].status == "pass"
    users = by["memory-growth[users-0]"]
    assert users.status == "fail" and users.measured == pytest.approx(0.25, abs=0.02)
    assert "MiB after warm-up" in users.evidence and "pid 1001" in users.evidence
    assert summary.outcome == "fail"
    assert 'name="memory-growth[users-0] [run]"' in junit_xml(summary)


def test_report_shows_the_memory_chart_and_verdicts(soak_run: Path) -> None:
    summary = evaluate(soak_run, load_slo(ROOT / "slo-soak.yaml"))
    render(soak_run, summary)
    assert (soak_run / "charts" / "memory.png").stat().st_size > 1000
    html = (soak_run / "report.html").read_text()
    assert "Resident memory per process" in html and "memory-growth[users-0]" in html
    doc = json.loads((soak_run / "summary.json").read_text())
    assert any(v["objective"] == "memory-growth[users-0]" and v["status"] == "fail" for v in doc["verdicts"])


def test_a_run_without_memory_samples_has_no_data(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run", Knobs(rows=2_000))
    summary = evaluate(run, load_slo(ROOT / "slo-soak.yaml"))
    (v,) = [v for v in summary.verdicts if v.indicator == "memory_growth"]
    assert v.status == "no-data" and "memory.jsonl" in v.evidence


def test_a_restarted_process_is_another_series(tmp_path: Path) -> None:
    rows = [{"t": T0 + t, "process": "catalog-0", "kind": "replica", "service": "catalog", "pid": pid,
             "rss_bytes": 1} for pid, t in ((1, 0.0), (1, 1.0), (2, 2.0))]  # fmt: skip
    (tmp_path / "memory.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert [s.name for s in read_memory(tmp_path / "memory.jsonl")] == ["catalog-0 (pid 1)", "catalog-0 (pid 2)"]


def test_warmup_only_for_memory_growth() -> None:
    text = "objectives:\n  - {name: x, indicator: error_ratio, window: run, target: '<= 1%', warmup: 0.2}\n"
    with pytest.raises(ConfigError, match=r"my\.yaml:2:\d+: .*'warmup' only applies to indicator 'memory_growth'"):
        parse_slo(text, "my.yaml")


def test_processes_and_exclude_choose_who_is_judged(soak_run: Path) -> None:
    text = (
        "objectives:\n"
        "  - {name: apps, indicator: memory_growth, window: run, target: '<= 10%',\n"
        "     processes: ['*-0'], exclude: [users-*]}\n"
    )
    summary = evaluate(soak_run, parse_slo(text, "my.yaml"))
    assert [v.objective for v in summary.verdicts] == ["apps[catalog-0]"]  # postgres not chosen, users-0 excluded
    assert summary.outcome == "pass"


def test_the_shipped_soak_slo_does_not_judge_the_emulators(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run", Knobs(rows=2_000))
    _write_memory(run, {"catalog-0": 0.03, "s3": 0.25, "dynamodb": 0.25, "prometheus": 0.25, "redis-0": 0.25})
    summary = evaluate(run, load_slo(ROOT / "slo-soak.yaml"))
    by = {v.objective: v.status for v in summary.verdicts if v.indicator == "memory_growth"}
    assert by == {"memory-growth[catalog-0]": "pass", "memory-growth[redis-0]": "fail"}


def test_process_selection_only_for_memory_growth() -> None:
    text = "objectives:\n  - {name: x, indicator: error_ratio, window: run, target: '<= 1%', exclude: [s3]}\n"
    with pytest.raises(ConfigError, match=r"my\.yaml:2:\d+: .*'exclude' only applies to indicator 'memory_growth'"):
        parse_slo(text, "my.yaml")


def _processes(run: Path, samples: dict[tuple[str, int], tuple[float, float]], rss: float = 40 * MB) -> None:
    """memory.jsonl: each (process, pid) sampled every second over [first, last] s after T0, its RSS growing 10%."""
    with (run / "memory.jsonl").open("w") as f:
        for (name, pid), (first, last) in samples.items():
            for t in np.arange(first, last + 0.5, 1.0):
                grown = rss * (1 + 0.1 * (t - first) / (last - first))
                f.write(json.dumps({"t": T0 + t, "process": name, "kind": "replica", "service": name.split("-")[0],
                                    "pid": pid, "rss_bytes": int(grown)}) + "\n")  # fmt: skip


def _judged(run: Path, **fields: object) -> list[tuple[str, Measurement]]:
    o = {"name": "m", "indicator": "memory_growth", "window": "run", "target": "<= 10%", **fields}
    return measure_each(RunFolder(run), parse_slo(f"objectives:\n  - {json.dumps(o)}\n").objectives[0],
                        Window("run", T0, T0 + 100))  # fmt: skip


def test_a_restarted_process_is_chosen_by_its_name(tmp_path: Path) -> None:
    _processes(tmp_path, {("catalog-0", 1): (0, 49), ("catalog-0", 2): (50, 100), ("users-0", 3): (0, 100)})
    assert [s for s, _ in _judged(tmp_path, processes=["catalog-0"])] == ["catalog-0 (pid 1)", "catalog-0 (pid 2)"]


def test_service_chooses_its_processes(tmp_path: Path) -> None:
    _processes(tmp_path, {("catalog-0", 1): (0, 100), ("users-0", 2): (0, 100)})
    assert [s for s, _ in _judged(tmp_path, service="users")] == ["users-0"]


def test_the_warmup_is_the_objectives(tmp_path: Path) -> None:
    _processes(tmp_path, {("catalog-0", 1): (0, 100)})
    ((_, m),) = _judged(tmp_path, warmup=0.5)
    (s,) = read_memory(tmp_path / "memory.jsonl")
    g = growth(s.ts, s.rss, T0, T0 + 100, warmup=0.5)
    assert g is not None and m == Measurement(g.ratio, f"catalog-0 (pid 1): {g.text()}")
    assert m.value != growth(s.ts, s.rss, T0, T0 + 100).ratio  # type: ignore[union-attr]


def test_no_process_to_judge_is_no_data(tmp_path: Path) -> None:
    none = "memory.jsonl is missing or has no process the objective selects (a --soak run samples every stack process)"
    assert _judged(tmp_path) == [("", Measurement(None, none))]
    _processes(tmp_path, {("catalog-0", 1): (0, 12)})
    assert _judged(tmp_path) == [
        ("", Measurement(None, "no process has 10% warm-up plus enough samples in the window"))
    ]
