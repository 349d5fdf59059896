"""Verdicts + run folder → report.html (one self-contained file), summary.json, junit.xml, charts/.

Render never computes a verdict: it shows the ``Summary`` it is given next to the evidence.
Charts are embedded as base64 PNG so the HTML opens anywhere, offline, with no JavaScript.
"""

from __future__ import annotations

import base64
import functools
import json
import time
from pathlib import Path
from typing import Any

import jinja2

from reports.charts import band_legend, make_charts
from reports.evaluate import Summary
from reports.junit import write_junit
from reports.runfolder import RunFolder
from tenfold.layout import JUNIT, REPORT, SUMMARY

__all__ = ["render", "write_summary"]

_TEMPLATES = Path(__file__).parent / "templates"


@functools.cache
def _env() -> jinja2.Environment:
    """One environment per process: it keeps the compiled template (compiling it cost 15 ms of CPU a render)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(_TEMPLATES), autoescape=True, undefined=jinja2.StrictUndefined,
        trim_blocks=True, lstrip_blocks=True,
    )  # fmt: skip
    env.filters["clock"] = lambda ts: "\u2013" if ts is None else time.strftime("%H:%M:%S", time.gmtime(float(ts)))
    return env


_MAX_EVENTS = 60


def _journal_summary(journal: dict[str, Any]) -> str:
    """Status, deviation and rollbacks of a Chaos Toolkit journal in a few words."""
    parts = [str(journal.get("status", "?"))]
    if journal.get("deviated"):
        parts.append("deviated")
    after = (journal.get("steady_states") or {}).get("after") or {}
    if "steady_state_met" in after:
        parts.append("steady state after: " + ("met" if after["steady_state_met"] else "NOT met"))
    rollbacks = journal.get("rollbacks") or []
    failed = [r for r in rollbacks if isinstance(r, dict) and r.get("status") not in (None, "succeeded")]
    parts.append(f"{len(rollbacks)} rollback(s)" + (f", {len(failed)} failed" if failed else ""))
    return "; ".join(parts)


def _error_budget(summary: Summary) -> float:
    """The run's allowed error ratio, from the first error-ratio / availability objective over the run."""
    for v in summary.verdicts:
        if v.target_value is not None and v.window == "run":
            if v.indicator == "error_ratio":
                return v.target_value
            if v.indicator == "availability":
                return 1.0 - v.target_value
    return 0.01


def _rate(v: Any) -> str:
    return f"{float(v):g}" if isinstance(v, int | float) else "-"


def load_view(load: dict[str, Any] | None) -> dict[str, Any] | None:
    """The load generator's figures as the report shows them: per phase planned and achieved rates, one line of
    totals (requests, arrivals, processes, start lag), the warnings, the reason it is invalid."""
    if not load:
        return None
    achieved, requests = load.get("achieved_rates") or {}, load.get("achieved_request_rates") or {}
    phases = []
    for p in load.get("phases") or []:
        if not isinstance(p, dict):
            continue
        planned = p.get("target_rate") or []
        shown = " → ".join(_rate(x) for x in dict.fromkeys(planned)) or "-"
        phases.append({"name": p.get("name", "?"), "planned": shown, "achieved": _rate(achieved.get(p.get("name"))),
                       "requests": _rate(requests.get(p.get("name")))})  # fmt: skip
    gen = load.get("generator") or {}
    procs = gen.get("processes") or []
    lag = gen.get("start_lag_p99_ms")
    parts = [f"{load.get('requests', 0):,} requests", f"{load.get('arrivals', 0):,} arrivals",
             f"{len(procs)} generator process{'es' if len(procs) != 1 else ''}"]  # fmt: skip
    if isinstance(lag, int | float):
        parts.append(f"start lag p99 {lag:.1f} ms")
    instances = sum(int(p.get("user_instances", 0)) for p in procs)
    if instances:
        parts.append(f"{instances} user instances")
    parts.append("valid" if load.get("valid", True) else "INVALID")
    return {"phases": phases, "summary": " · ".join(parts), "warnings": list(load.get("warnings") or []),
            "invalid": load.get("invalid_reason")}  # fmt: skip


def write_summary(summary: Summary, path: Path) -> Path:
    path.write_text(json.dumps(summary.to_dict(), indent=2, allow_nan=False) + "\n", encoding="utf-8")
    return path


def render(run_dir: str | Path, summary: Summary) -> Path:
    """Write the report files into ``run_dir``; returns the path of report.html."""
    out = Path(run_dir)
    run = RunFolder(out)
    charts = make_charts(run, _error_budget(summary))
    chart_dir = out / "charts"
    chart_dir.mkdir(exist_ok=True)
    for c in charts:
        (chart_dir / f"{c.name}.png").write_bytes(c.png)
    man = run.manifest
    context: dict[str, Any] = {
        "s": summary,
        "counts": summary.counts,
        "manifest": man.raw if man else {},
        "duration": (man.ended - man.started) if man else None,
        "gen": load_view(run.load),
        "charts": [
            {
                "title": c.title,
                "caption": c.caption,
                "name": c.name,
                "legend": c.legend,
                "b64": base64.b64encode(c.png).decode("ascii"),
            }
            for c in charts
        ],
        "bands": band_legend(run),
        "experiments": man.experiments if man else [],
        "journals": {name: _journal_summary(j) for name, j in run.journals.items()},
        "events": [e for e in run.events if e.get("kind") != "ready"][:_MAX_EVENTS],
        "events_total": len(run.events),
        "t0": man.started if man else None,
        "generated": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(summary.generated)),
    }
    html = _env().get_template("report.html.j2").render(**context)
    report = out / REPORT
    report.write_text(html, encoding="utf-8")
    write_summary(summary, out / SUMMARY)
    write_junit(summary, out / JUNIT)
    return report
