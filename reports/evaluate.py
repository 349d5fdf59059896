"""Run folder + SLO file → one verdict per objective and window, and the run's outcome.

Pure: reads files of the run folder only. An invalid run (the generator could not keep up, the
manifest says so, an experiment failed to roll back, no request rows) has outcome ``invalid`` —
exit 2 — whatever the verdicts say, because its evidence cannot be trusted either way.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from reports.indicators import Measurement, measure_each, registry
from reports.margins import NEAR_LINE, margin, margin_text
from reports.runfolder import RunFolder
from reports.slo import Objective, SloFile
from reports.windows import Window, resolve
from tenfold.validity import validity

__all__ = ["SUMMARY_SCHEMA_VERSION", "Outcome", "Status", "Summary", "Verdict", "evaluate", "format_value"]

SUMMARY_SCHEMA_VERSION = 1
"""summary.json's shape (docs/summary.schema.json): raised when a field changes meaning or goes away."""
Status = Literal["pass", "fail", "no-data"]
Outcome = Literal["pass", "fail", "invalid"]
_EXIT = {"pass": 0, "fail": 1, "invalid": 2}


def format_value(value: float | None, unit: str) -> str:
    """Human form of a measured value or target: ms/s, %, yes/no, counts."""
    if value is None:
        return "no data"
    if unit == "bool":
        return "yes" if value >= 0.5 else "no"
    if math.isinf(value):
        return "never" if unit == "s" else "∞"
    if unit == "s":
        return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"
    if unit == "ratio":
        return f"{value:.3%}" if value < 0.999 or value == 1 else f"{value:.4%}"
    return f"{value:g}"


def _unit(o: Objective) -> str:
    return registry.row(o.indicator).unit


@dataclass(frozen=True)
class Verdict:
    objective: str
    description: str
    indicator: str
    window: str
    start: float | None
    end: float | None
    measured: float | None
    measured_text: str
    target: str
    unit: str
    status: Status
    evidence: str
    target_value: float | None = None
    partial: bool = False
    """The window was cut short by an interrupted run: judged over what happened until then."""
    margin: float | None = None
    """How far inside (+) or outside (-) the target, relative to it (reports/margins.py)."""
    margin_text: str = ""

    @property
    def near_line(self) -> bool:
        """A pass less than 10% inside its target: the next run may fail it."""
        return _near_line(self.status, self.margin)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for k in ("measured", "target_value", "margin"):
            if d[k] is not None and not math.isfinite(d[k]):
                d[k] = None  # JSON has no infinity; the *_text fields say "never" / the target
        d["near_line"] = self.near_line
        return d

    @property
    def message(self) -> str:
        return _message(self)


# Verdict's properties delegate here: mutmut (make mutation, docs/mutation.md) mutates no decorated function.
def _near_line(status: Status, how_far: float | None) -> bool:
    return status == "pass" and how_far is not None and how_far < NEAR_LINE


def _message(v: Verdict) -> str:
    cut = ", partial: the run was interrupted inside it" if v.partial else ""
    return f"measured {v.measured_text} vs target {v.target} ({v.window}{cut})"


@dataclass
class Summary:
    run_id: str
    run_dir: str
    slo_name: str
    outcome: Outcome
    invalid_reasons: list[str]
    verdicts: list[Verdict]
    controls: dict[str, bool] = field(default_factory=dict)
    started: float | None = None
    ended: float | None = None
    generated: float = field(default_factory=time.time)

    @property
    def exit_code(self) -> int:
        return _EXIT[self.outcome]

    @property
    def counts(self) -> dict[str, int]:
        return _counts(self.verdicts)

    @property
    def near_line(self) -> list[str]:
        """Objectives that passed less than 10% inside their target."""
        return [v.objective for v in self.verdicts if v.near_line]

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SUMMARY_SCHEMA_VERSION,
            "run_id": self.run_id,
            "run_dir": self.run_dir,
            "slo": self.slo_name,
            "outcome": self.outcome,
            "exit_code": self.exit_code,
            "invalid_reasons": self.invalid_reasons,
            "counts": self.counts,
            "near_line": self.near_line,
            "controls": self.controls,
            "started": self.started,
            "ended": self.ended,
            "generated": self.generated,
            "verdicts": [v.to_dict() for v in self.verdicts],
        }

    def table(self) -> str:
        """A plain-text verdict table (the CLI may print its own with rich from ``verdicts``)."""
        rows = [("status", "objective", "window", "measured", "target", "margin")]
        rows += [(v.status.upper() + (" (near the line)" if v.near_line else ""), v.objective,
                  v.window + (" (partial)" if v.partial else ""), v.measured_text, v.target, v.margin_text)
                 for v in self.verdicts]  # fmt: skip
        widths = [max(len(r[i]) for r in rows) for i in range(6)]
        lines = ["  ".join(c.ljust(widths[i]) for i, c in enumerate(r)) for r in rows]
        lines.append(
            f"outcome: {self.outcome}" + (f" ({'; '.join(self.invalid_reasons)})" if self.invalid_reasons else "")
        )
        return "\n".join(lines)


def _counts(verdicts: list[Verdict]) -> dict[str, int]:
    out = {"pass": 0, "fail": 0, "no-data": 0}
    for v in verdicts:
        out[v.status] += 1
    return out


def _invalid_reasons(run: RunFolder) -> list[str]:
    man, req = run.manifest, run.requests
    return validity(run.load, man.experiments if man else (), requests=req.n if req else 0, recorded=man,
                    manifest_missing=man is None)  # fmt: skip


def _verdict(o: Objective, w: Window, subject: str, m: Measurement, unit: str) -> Verdict:
    if m.value is None or (o.target.symbolic and m.limit is None):
        status: Status = "no-data"
    else:
        status = "pass" if o.target.met(m.value, m.limit) else "fail"
    limit = m.limit if m.limit is not None else o.target.value
    how_far = None if status == "no-data" else margin(m.value, o.target.op, limit, unit)
    return Verdict(
        objective=f"{o.name}[{subject}]" if subject else o.name,
        description=o.description,
        indicator=o.indicator,
        window=w.name,
        start=w.start,
        end=w.end,
        measured=m.value,
        measured_text=format_value(m.value, unit),
        target=o.target.text if m.limit is None else f"{o.target.text} = {m.limit:g}",
        unit=unit,
        status=status,
        evidence=m.evidence,
        target_value=m.limit if m.limit is not None else o.target.value,
        partial=w.partial and w.known,
        margin=how_far,
        margin_text=margin_text(how_far, o.target.op),
    )


def evaluate(run_dir: str | Path, slo: SloFile) -> Summary:
    """Every objective x window of ``slo`` against the evidence in ``run_dir``."""
    run = RunFolder(run_dir)
    reasons = _invalid_reasons(run)
    verdicts: list[Verdict] = []
    for o in slo.objectives:
        unit = _unit(o)
        for w in resolve(o.window, run.manifest):
            for subject, m in measure_each(run, o, w):
                verdicts.append(_verdict(o, w, subject, m, unit))
    outcome: Outcome = "invalid" if reasons else ("fail" if any(v.status == "fail" for v in verdicts) else "pass")
    man = run.manifest
    return Summary(
        run_id=man.id if man and man.id else Path(run_dir).name,
        run_dir=str(run_dir),
        slo_name=slo.name,
        outcome=outcome,
        invalid_reasons=reasons,
        verdicts=verdicts,
        controls=man.controls if man else {},
        started=man.started if man else None,
        ended=man.ended if man else None,
    )
