"""Two run folders → what got worse, with a statistical test, so noise is not called a regression.

A row regresses only if the difference is both significant (one-sided test, p < ``ALPHA``) and larger than a
practical margin, as Kayenta judges a canary: with tens of thousands of rows every wobble of a shared machine is
"significant" (two healthy runs of the same build, minutes apart: p50 17 → 30 ms with p < 1e-37), so significance
alone says nothing. The margins are calibrated from A/A pairs (same build, same machine; bench/calibrate.py,
docs/calibration.md): a latency regresses when B is both ``ratio`` times A and ``absolute_s`` slower than A.

- latency per route (CO-corrected): Mann-Whitney U on up to ``SAMPLE`` rows per side, plus the p50's or the p95's
  margin (``LATENCY_MARGINS``)
- error ratio and availability per priority: a one-sided two-proportion z-test, plus an absolute
  change of at least ``RATE_DELTA``
- objectives: one that passed in A and fails in B (from each folder's summary.json, if present)
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from reports.evaluate import format_value
from reports.runfolder import F64, PRIORITIES, Requests, RunFolder
from tenfold.layout import SUMMARY

__all__ = ["ALPHA", "LATENCY_MARGINS", "RATE_DELTA", "SAMPLE", "Comparison", "Margin", "Row", "compare"]


@dataclass(frozen=True)
class Margin:
    """A latency percentile regresses only when B is at least ``ratio`` x A **and** ``absolute_s`` slower."""

    ratio: float
    absolute_s: float

    def exceeded(self, a: float, b: float) -> bool:
        return b >= self.ratio * a and b - a >= self.absolute_s


ALPHA = 0.001
LATENCY_MARGINS = {"p50": Margin(1.5, 0.025), "p95": Margin(1.25, 0.060)}
"""Calibrated from A/A pairs (docs/calibration.md): the p95 of two healthy quick runs of one build moved by up to
45 ms (40 ms on titles, 45 ms on logins), so 60 ms; a route 50 ms slower still regresses on its p50."""
RATE_DELTA = 0.005
SAMPLE = 20_000
_MIN_ROWS = 30


@dataclass(frozen=True)
class Row:
    metric: str
    scope: str
    a: float | None
    b: float | None
    unit: str
    test: str
    p_value: float | None
    regressed: bool

    @property
    def change(self) -> str:
        if self.a is None or self.b is None:
            return ""
        if self.unit == "s":
            return f"x{self.b / self.a:.2f}" if self.a > 0 else ""
        if self.unit == "ratio":
            return f"{(self.b - self.a) * 100:+.2f} pp"
        return f"{self.b - self.a:+g}"


@dataclass
class Comparison:
    run_a: str
    run_b: str
    rows: list[Row]

    @property
    def regressed(self) -> bool:
        return any(r.regressed for r in self.rows)

    @property
    def regressions(self) -> list[Row]:
        return [r for r in self.rows if r.regressed]

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_a": self.run_a,
            "run_b": self.run_b,
            "regressed": self.regressed,
            "rows": [{**asdict(r), "change": r.change} for r in self.rows],
        }

    def table(self) -> str:
        head = ("", "metric", "scope", "A", "B", "change", "test", "p")
        rows = [head] + [
            (
                "REGRESSED" if r.regressed else "",
                r.metric,
                r.scope,
                format_value(r.a, r.unit),
                format_value(r.b, r.unit),
                r.change,
                r.test,
                "" if r.p_value is None else f"{r.p_value:.2g}",
            )
            for r in self.rows
        ]
        widths = [max(len(x[i]) for x in rows) for i in range(len(head))]
        lines = ["  ".join(c.ljust(widths[i]) for i, c in enumerate(x)).rstrip() for x in rows]
        verdict = f"{len(self.regressions)} regression(s)" if self.regressed else "no regression"
        lines.append(f"{verdict}: B={self.run_b} against A={self.run_a}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()


def _sample(x: F64, rng: np.random.Generator) -> F64:
    return x if x.size <= SAMPLE else rng.choice(x, SAMPLE, replace=False)


def _latency_rows(a: Requests, b: Requests) -> list[Row]:
    rng = np.random.default_rng(0)
    scopes: list[tuple[str, Any, Any]] = [("all", np.ones(a.n, bool), np.ones(b.n, bool))]
    for route in sorted(set(a.routes) & set(b.routes)):
        scopes.append((route, a.route == a.code_of("route", route), b.route == b.code_of("route", route)))
    rows = []
    for scope, ma, mb in scopes:
        la, lb = a.latency_co[ma], b.latency_co[mb]
        la, lb = la[np.isfinite(la)], lb[np.isfinite(lb)]
        if la.size < _MIN_ROWS or lb.size < _MIN_ROWS:
            continue
        sa, sb = _sample(la, rng), _sample(lb, rng)
        p = float(stats.mannwhitneyu(sb, sa, alternative="greater").pvalue)
        (a50, a95, a99), (b50, b95, b99) = np.percentile(la, [50, 95, 99]), np.percentile(lb, [50, 95, 99])
        test = "Mann-Whitney U (B > A)"
        for name, a_q, b_q in (("p50", a50, b50), ("p95", a95, b95)):
            m = LATENCY_MARGINS[name]
            regressed = bool(p < ALPHA and m.exceeded(float(a_q), float(b_q)))
            rows.append(Row(f"latency {name} (CO)", scope, float(a_q), float(b_q), "s", test, p, regressed))
        rows.append(Row("latency p99 (CO)", scope, float(a99), float(b99), "s", "", None, False))
    return rows


def _two_proportions(ka: int, na: int, kb: int, nb: int) -> float:
    """One-sided p-value that B's proportion is higher than A's (pooled z-test)."""
    pool = (ka + kb) / (na + nb)
    se = math.sqrt(pool * (1 - pool) * (1 / na + 1 / nb))
    if se == 0:
        return 1.0
    return float(stats.norm.sf((kb / nb - ka / na) / se))


def _rate_rows(a: Requests, b: Requests) -> list[Row]:
    rows = []
    test = "two-proportion z (one-sided)"
    ka, kb = int(a.error.sum()), int(b.error.sum())
    p = _two_proportions(ka, a.n, kb, b.n)
    ra, rb = ka / a.n, kb / b.n
    rows.append(Row("error ratio", "all", ra, rb, "ratio", test, p, bool(p < ALPHA and rb - ra >= RATE_DELTA)))
    for prio in PRIORITIES:
        ma, mb = a.priority == a.code_of("priority", prio), b.priority == b.code_of("priority", prio)
        na, nb = int(ma.sum()), int(mb.sum())
        if na < _MIN_ROWS or nb < _MIN_ROWS:
            continue
        bad_a, bad_b = int((ma & (a.error | a.shed)).sum()), int((mb & (b.error | b.shed)).sum())
        p = _two_proportions(bad_a, na, bad_b, nb)
        av_a, av_b = 1 - bad_a / na, 1 - bad_b / nb
        rows.append(
            Row("availability", prio, av_a, av_b, "ratio", test, p, bool(p < ALPHA and av_a - av_b >= RATE_DELTA))
        )
    da, db = float(a.degraded.mean()), float(b.degraded.mean())
    rows.append(Row("degraded share", "all", da, db, "ratio", "", None, False))
    sa, sb = float(a.shed.mean()), float(b.shed.mean())
    rows.append(Row("shed share", "all", sa, sb, "ratio", "", None, False))
    return rows


def _objective_rows(a: RunFolder, b: RunFolder) -> list[Row]:
    def verdicts(run: RunFolder) -> dict[tuple[str, str], str]:
        p = run.path / SUMMARY
        if not p.is_file():
            return {}
        d = json.loads(p.read_text(encoding="utf-8"))
        return {(v["objective"], v["window"]): v["status"] for v in d.get("verdicts", [])}

    va, vb = verdicts(a), verdicts(b)
    rows = []
    for key, sb in vb.items():
        sa = va.get(key)
        if sa == "pass" and sb == "fail":
            rows.append(Row(f"objective {key[0]}", key[1], 1.0, 0.0, "bool", SUMMARY, None, True))
    return rows


def compare(run_a: str | Path, run_b: str | Path) -> Comparison:
    """Compare run B against baseline run A; ``.regressed`` says whether B is worse."""
    a, b = RunFolder(run_a), RunFolder(run_b)
    ra, rb = a.requests, b.requests
    rows: list[Row] = []
    if ra is not None and rb is not None and ra.n and rb.n:
        rows += _latency_rows(ra, rb)
        rows += _rate_rows(ra, rb)
    rows += _objective_rows(a, b)
    return Comparison(str(run_a), str(run_b), rows)
