"""Turn per-process part files into the run folder's one record: requests.parquet, ledger.jsonl, load.json.

Each generator process writes ``parts/requests-<i>.parquet``, ``parts/ledger-<i>.jsonl`` and, last,
``parts/health-<i>.json`` (its "done" marker). Merging needs only the folder, so the master, a later
post-step or ``tenfold report`` can do it, and workers on other hosts only have to copy their parts in.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as _pq_typed

from tenfold.layout import LEDGER, LOAD, MANIFEST, REQUESTS
from tenfold.validity import validity

from ._health import judge
from ._ledger import merge_ledgers
from ._recorder import DICTIONARY_COLUMNS
from ._scenario import HealthLimits, Phase

pq: Any = _pq_typed  # pyarrow.parquet is only partly annotated

__all__ = [
    "MISFIT_SHARE",
    "cut_phases",
    "latency_summary",
    "merge_run",
    "record_phases_in_manifest",
    "wait_for_parts",
    "workload_misfit",
]


def wait_for_parts(run_dir: Path, expected: int, timeout_s: float) -> list[Path]:
    """The health files of finished processes, waiting up to ``timeout_s`` for ``expected`` of them."""
    deadline = time.monotonic() + timeout_s
    while True:
        found = sorted((run_dir / "parts").glob("health-*.json"))
        if len(found) >= expected or time.monotonic() >= deadline:
            return found
        time.sleep(0.1)


def _concat_parquet(parts: list[Path], out: Path) -> int:
    """Stream every row group of every part into one file: memory stays at one row group, not the run."""
    if len(parts) == 1:
        shutil.copyfile(parts[0], out)
        return int(pq.ParquetFile(out).metadata.num_rows)
    writer = None
    rows = 0
    for p in parts:
        f = pq.ParquetFile(p)
        for i in range(f.num_row_groups):
            t = f.read_row_group(i)
            if writer is None:
                writer = pq.ParquetWriter(str(out), t.schema, compression="zstd", use_dictionary=DICTIONARY_COLUMNS)
            writer.write_table(t)
            rows += t.num_rows
    if writer is not None:
        writer.close()
    return rows


_QS = (50, 90, 95, 99, 99.9)


def latency_summary(lat: np.ndarray[Any, Any]) -> dict[str, float]:
    """Percentiles in one pass (one copy of the column, not one per percentile)."""
    if lat.size == 0:
        return {f"p{q}": 0.0 for q in _QS} | {"max": 0.0}
    values = np.percentile(lat, _QS)
    return {f"p{q}": round(float(v), 6) for q, v in zip(_QS, values, strict=True)} | {"max": round(float(lat.max()), 6)}


_MISFIT = (401, 404, 405)
MISFIT_SHARE = 0.5
"""More than this share of requests answered 401/404/405: the workload does not fit the target (wrong URL,
wrong locustfile, no login): such evidence says nothing about the service, so the run is invalid."""


def workload_misfit(status: np.ndarray[Any, Any]) -> str | None:
    """Why the answers say the requests do not fit the target, or None."""
    if status.size == 0:
        return None
    counts = {code: int(np.count_nonzero(status == code)) for code in _MISFIT}
    bad = sum(counts.values())
    if bad <= MISFIT_SHARE * status.size:
        return None
    detail = ", ".join(f"{n} x {code}" for code, n in counts.items() if n)
    return (
        f"{bad} of {status.size} requests ({bad / status.size:.0%}) were answered {detail}: the workload does "
        "not fit the target (check --target and --locustfile: paths, methods, credentials)"
    )


def _setup_failed(healths: list[dict[str, Any]]) -> str | None:
    runs = sum(int((h.get("on_start") or {}).get("runs", 0)) for h in healths)
    failures = sum(int((h.get("on_start") or {}).get("failures", 0)) for h in healths)
    if runs == 0 or failures < runs:
        return None
    first = next(((h.get("on_start") or {}).get("first_failure") for h in healths
                  if (h.get("on_start") or {}).get("first_failure")), None)  # fmt: skip
    return f"every on_start failed ({failures} of {runs}; first: {first}): the users never got ready to send load"


def cut_phases(phases: list[Phase], cut_after: float | None) -> list[tuple[Phase, bool]]:
    """The phases a run stopped ``cut_after`` seconds in reached: (phase ending at the cut, partial?); the ones it
    never reached are left out, so their windows have no data."""
    out = []
    for p in phases:
        if cut_after is None or p.end <= cut_after:
            out.append((p, p.partial))
        elif p.start < cut_after:
            out.append((p.model_copy(update={"end": cut_after}), True))
    return out


def merge_run(
    run_dir: Path, *, scenario: str, profile: str, t0: float, phases: list[Phase], limits: HealthLimits,
    expected_processes: int, target: dict[str, float], host: str | None = None, cut_at: float | None = None,
    notes: tuple[str, ...] = (), lost: tuple[str, ...] = (),
) -> dict[str, Any]:  # fmt: skip
    """Merge the parts in ``run_dir``, write requests.parquet, ledger.jsonl and load.json; return load.json.

    ``cut_at``: when the run was stopped before its schedule ended (a signal): phases are cut there, the run is
    invalid (its evidence stops halfway) but everything recorded until then is kept. ``lost``: workers whose records
    never reached the master, each described (the run is invalid and names them)."""
    planned_end = t0 + (phases[-1].end if phases else 0.0)
    reached = cut_phases(phases, None if cut_at is None else cut_at - t0)
    parts = run_dir / "parts"
    healths = [json.loads(p.read_text()) for p in sorted(parts.glob("health-*.json"))]
    part_files = sorted(parts.glob("requests-*.parquet"))
    rows = _concat_parquet(part_files, run_dir / REQUESTS)

    def column(name: str) -> np.ndarray[Any, Any]:
        """One column at a time: three full columns at once would double the merge's memory."""
        if not rows:
            return np.empty(0)
        t = pq.read_table(run_dir / REQUESTS, columns=[name])
        return np.asarray(t.column(0).to_numpy())

    ledger_rows = merge_ledgers(sorted(parts.glob("ledger-*.jsonl")), run_dir / LEDGER)

    actual = column("actual_start")
    phase_docs = []
    achieved: dict[str, float] = {}
    achieved_requests: dict[str, float] = {}
    for p, partial in reached:
        start, end = t0 + p.start, t0 + p.end
        length = p.end - p.start
        arrivals = sum(int((h.get("arrivals_by_phase") or {}).get(p.name, 0)) for h in healths)
        n = int(np.count_nonzero((actual >= start) & (actual < end)))
        achieved[p.name] = round(arrivals / length, 2) if length > 0 else 0.0
        achieved_requests[p.name] = round(n / length, 2) if length > 0 else 0.0
        phase: dict[str, Any] = {"name": p.name, "start": round(start, 3), "end": round(end, 3)}
        phase["target_rate"] = [p.rate_start, p.rate_end]
        phase_docs.append(phase | ({"partial": True} if partial or p.partial else {}))
    del actual
    latency = {"locust": latency_summary(column("latency_s")), "co_corrected": latency_summary(column("latency_co_s"))}
    reason: str | None = None
    for h in healths:
        v = judge([(float(a), float(b)) for a, b in h["cpu_samples"]], float(h["lag_p99_ms"]), limits)
        h["valid"], h["invalid_reason"] = v.valid, v.reason
        if not v.valid and reason is None:
            reason = f"process {h['worker']}: {v.reason}"
    if lost:
        reason = reason or (f"{len(lost)} of {expected_processes} workers never delivered their records: "
                            + "; ".join(lost))  # fmt: skip
    if len(healths) < expected_processes:
        reason = reason or (f"only {len(healths)} of {expected_processes} generator processes reported: a worker "
                            "died or could not write to the run folder; check locust/locust.log")  # fmt: skip
    if rows == 0:
        reason = reason or "no requests were recorded: check --host and that the target is up"
    reason = reason or "; ".join(r for r in (workload_misfit(column("status")), _setup_failed(healths)) if r) or None
    if cut_at is not None:  # before the other reasons: it explains them (fewer processes, no rows)
        reason = (f"interrupted {cut_at - t0:.1f} s into the {planned_end - t0:g} s schedule: the phases after that "
                  "have no data" + (f"; {reason}" if reason else ""))  # fmt: skip
    warnings = list(notes)
    overflow = sum(int((h.get("routes_overflow") or {}).get("requests", 0)) for h in healths)
    if overflow:
        warnings.append(f"more than 200 distinct request names: {overflow} requests were grouped as 'other' (give "
                        "requests a name= that groups their URLs, e.g. name='/items/{id}')")  # fmt: skip
    ignored = sorted({n for h in healths for n in h.get("wait_time_ignored", [])})
    if ignored:
        warnings.append(f"wait_time of {', '.join(ignored)} was ignored: under the open model the arrival clock "
                        "starts each task")  # fmt: skip
    task_errors = sum(int(h.get("task_errors", 0)) for h in healths)
    if task_errors:
        warnings.append(f"{task_errors} tasks raised an exception (see locust/locust.log)")

    lag = max((float(h["lag_p99_ms"]) for h in healths), default=0.0)
    doc: dict[str, Any] = {
        "scenario": scenario,
        "profile": profile,
        "host": host,
        "started": round(t0, 3),
        "ended": round(min(planned_end, cut_at) if cut_at is not None else planned_end, 3),
        "interrupted_at": None if cut_at is None else round(cut_at, 3),
        "phases": phase_docs,
        "target_rates": target,
        "achieved_rates": achieved,
        "achieved_request_rates": achieved_requests,
        "requests": rows,
        "arrivals": sum(int(h.get("scheduled", 0)) for h in healths),
        "acknowledged_writes": ledger_rows,
        "latency_s": latency,
        "warnings": warnings,
        "generator": {
            "processes": healths,
            "lost_workers": list(lost),
            "cpu_samples": [s for h in healths for s in h["cpu_samples"]],
            "start_lag_p99_ms": round(lag, 3),
            "valid": reason is None,
            "invalid_reason": reason,
        },
        "valid": reason is None,
        "invalid_reason": reason,
    }
    (run_dir / LOAD).write_text(json.dumps(doc, indent=1))
    record_phases_in_manifest(run_dir, doc)
    return doc


def record_phases_in_manifest(run_dir: Path, load: dict[str, Any]) -> None:
    """Put the phase times into manifest.json: replace its ``phases`` if the orchestrator wrote one, else
    write a minimal manifest, so a bare ``locust -f`` run can still be reported."""
    path = run_dir / MANIFEST
    phases = [{k: p[k] for k in ("name", "start", "end", "partial") if k in p} for p in load["phases"]]
    if path.is_file():
        try:
            manifest = json.loads(path.read_text())
        except ValueError:
            return  # not ours to repair
        if not isinstance(manifest, dict):
            return
        manifest["phases"] = phases
    else:
        reasons = validity(load)
        manifest = {
            "id": run_dir.name, "scenario": load["scenario"], "profile": load["profile"], "target": load["host"],
            "started": load["started"], "ended": load["ended"], "phases": phases, "experiments": [],
            "written_by": "tenfold.load (no orchestrator)", "validity": {"valid": not reasons, "reasons": reasons},
        }  # fmt: skip
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(manifest, indent=1))
    tmp.replace(path)
