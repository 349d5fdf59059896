"""Indicators over the request rows (requests.parquet): latency, errors, availability, fallbacks, shedding and
the recovery after a fault. Nothing here decides pass or fail (evaluate does) and nothing reads a live system."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from reports.arrays import F64, order_statistics
from reports.indicators.indicator import Indicator, Measurement, no_data

if TYPE_CHECKING:  # type-only: the SLO file derives its indicators from the registry
    from reports.runfolder import Requests, RunFolder, Selection
    from reports.slo import Objective
    from reports.windows import Window

__all__ = [
    "SHED_ONSET_TOLERANCE_S",
    "TABLE",
    "availability",
    "critical_5xx",
    "error_ratio",
    "fallback_ratio",
    "latency",
    "recovery_time",
    "rolling_error_ratio",
    "shed_order",
]


def _rows(
    run: RunFolder, o: Objective, w: Window, priority: str | None = None
) -> tuple[Requests, Selection, int] | Measurement:
    """The request rows an objective looks at: (all rows, the window's selection, its size), or no-data."""
    req = run.requests
    if req is None:
        return no_data("requests.parquet is missing")
    assert w.start is not None and w.end is not None
    m = req.select(w.start, w.end, route=o.route, method=o.method, priority=priority or o.priority)
    n = m.count()
    if n == 0:
        return no_data("no request rows in the window" + _filters(o, priority))
    return req, m, n


def _filters(o: Objective, priority: str | None = None) -> str:
    parts = [
        f"{k}={v}" for k, v in (("route", o.route), ("method", o.method), ("priority", priority or o.priority)) if v
    ]
    return f" ({', '.join(parts)})" if parts else ""


def _percentile(values: F64, q: float) -> float:
    """numpy's default (linear) percentile from two order statistics: several times faster than np.percentile."""
    pos = (values.size - 1) * q / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, values.size - 1)
    low, high = order_statistics(values, lo, hi)
    return float(low + (high - low) * (pos - lo))


def latency(run: RunFolder, o: Objective, w: Window) -> Measurement:
    got = _rows(run, o, w)
    if isinstance(got, Measurement):
        return got
    req, m, n = got
    assert o.percentile is not None
    lat = m.take(req.latency_co if o.measure == "co" else req.latency)
    lat = lat[np.isfinite(lat)]
    if lat.size == 0:
        return no_data("no finite latency in the window")
    kind = "CO-corrected (from intended start)" if o.measure == "co" else "Locust-style (from actual start)"
    value = _percentile(lat, o.percentile)
    return Measurement(value, f"p{o.percentile:g} of {n} requests{_filters(o)}, {kind}")


def error_ratio(run: RunFolder, o: Objective, w: Window) -> Measurement:
    got = _rows(run, o, w)
    if isinstance(got, Measurement):
        return got
    req, m, n = got
    errors = m.count_true(req.error)
    shed = m.count_true(req.shed)
    return Measurement(errors / n, f"{errors} errors (5xx or no response) of {n} requests{_filters(o)}; {shed} shed")


def availability(run: RunFolder, o: Objective, w: Window) -> Measurement:
    got = _rows(run, o, w)
    if isinstance(got, Measurement):
        return got
    req, m, n = got
    errors = m.count_true(req.error)
    shed = m.count_true(req.shed)
    good = n - errors - shed
    return Measurement(good / n, f"{good} good of {n} requests{_filters(o)} ({errors} errors, {shed} shed)")


def fallback_ratio(run: RunFolder, o: Objective, w: Window) -> Measurement:
    got = _rows(run, o, w)
    if isinstance(got, Measurement):
        return got
    req, m, n = got
    degraded = m.count_true(req.degraded)
    return Measurement(degraded / n, f"{degraded} degraded answers of {n} requests{_filters(o)}")


def critical_5xx(run: RunFolder, o: Objective, w: Window) -> Measurement:
    got = _rows(run, o, w, priority=o.priority or "critical")
    if isinstance(got, Measurement):
        return got
    req, m, n = got
    errors = m.count_true(req.error)
    return Measurement(float(errors), f"{errors} 5xx/no-response of {n} {o.priority or 'critical'} requests")


SHED_ONSET_TOLERANCE_S = 1.0
"""First sheds this close are one onset: a cause that refuses both classes at once (a dependency outage's 503 +
Retry-After) reaches whichever request happens to arrive first, so which class's came first is a coin toss weighted
by their rates (in 4 of 10 default runs the DynamoDB outage shed both, best-effort first by 0.2 to 4.6 s: a reversal
is about 1 in 10 at their rates; docs/calibration.md)."""


def shed_order(run: RunFolder, o: Objective, w: Window) -> Measurement:
    """Best-effort must be shed before critical: first shed no later (within :data:`SHED_ONSET_TOLERANCE_S`), and
    a shed share at least as high."""
    req = run.requests
    if req is None:
        return no_data("requests.parquet is missing")
    assert w.start is not None and w.end is not None
    stats: dict[str, tuple[float, float, int]] = {}
    for prio in ("best-effort", "critical"):
        sel = req.select(w.start, w.end, route=o.route, priority=prio)
        n = sel.count()
        shed = sel.mask(req.shed)
        k = int(np.count_nonzero(shed))
        first = float(req.intended[sel.span][np.argmax(shed)]) if k else math.inf  # rows are sorted by intended start
        stats[prio] = (first, k / n if n else 0.0, n)
    (be_first, be_share, be_n), (cr_first, cr_share, cr_n) = stats["best-effort"], stats["critical"]
    if be_n == 0 and cr_n == 0:
        return no_data("no best-effort or critical requests in the window")
    if math.isinf(be_first) and math.isinf(cr_first):
        return Measurement(1.0, f"no request was shed ({be_n} best-effort, {cr_n} critical)")
    holds = be_first <= cr_first + SHED_ONSET_TOLERANCE_S and be_share >= cr_share
    when = "never" if math.isinf(cr_first) else f"+{cr_first - w.start:.1f}s"
    bwhen = "never" if math.isinf(be_first) else f"+{be_first - w.start:.1f}s"
    return Measurement(
        1.0 if holds else 0.0,
        f"best-effort first shed {bwhen}, share {be_share:.1%}; critical first shed {when}, share {cr_share:.1%}",
    )


def rolling_error_ratio(
    times: F64, errors: npt.NDArray[np.bool_], start: float, end: float, width: float, step: float = 1.0
) -> tuple[F64, F64, F64]:  # fmt: skip
    """Error ratio over a sliding window ending at each step from ``start`` to ``end``: (t, ratio, requests)."""
    nb = max(1, math.ceil((end - start) / step))
    idx = np.floor((times - start) / step).astype(np.int64)
    ok = (idx >= 0) & (idx < nb)
    idx = idx[ok]
    total = np.bincount(idx, minlength=nb).astype(np.float64)
    bad = np.bincount(idx[errors[ok]], minlength=nb).astype(np.float64)
    k = max(1, round(width / step))
    ct, cb = np.concatenate(([0.0], np.cumsum(total))), np.concatenate(([0.0], np.cumsum(bad)))
    hi = np.arange(1, nb + 1)
    lo = np.maximum(hi - k, 0)
    tot, err = ct[hi] - ct[lo], cb[hi] - cb[lo]
    ratio = np.divide(err, tot, out=np.zeros_like(err), where=tot > 0)
    return np.asarray(start + hi * step, dtype=np.float64), ratio, np.asarray(tot, dtype=np.float64)


def recovery_time(run: RunFolder, o: Objective, w: Window) -> Measurement:
    """From injection until the sliding error ratio is back under the threshold for good (up to the next injection)."""
    req, man, exp = run.requests, run.manifest, w.experiment
    if req is None or man is None or exp is None or exp.injected_at is None:
        return no_data("requests.parquet or the experiment's injection time is missing")
    t0 = exp.injected_at
    later = [e.injected_at for e in man.experiments if e.injected_at is not None and e.injected_at > t0]
    bound = min([*later, man.ended])
    m = req.select(t0, bound, route=o.route, priority=o.priority)
    t, ratio, tot = rolling_error_ratio(m.take(req.intended), m.take(req.error), t0, bound, o.sliding_s)
    bad = np.nonzero((ratio >= o.threshold) & (tot > 0))[0]
    n = m.count()
    if n == 0:
        return no_data("no request rows after the injection")
    if bad.size == 0:
        return Measurement(0.0, f"error ratio over {o.sliding_s:g}s never reached {o.threshold:.0%} ({n} requests)")
    last = int(bad[-1])
    if last == t.size - 1:
        return Measurement(math.inf, f"error ratio still ≥ {o.threshold:.0%} at +{bound - t0:.0f}s ({n} requests)")
    rec = float(t[last] - t0)
    return Measurement(rec, f"last {o.sliding_s:g}s window with error ratio ≥ {o.threshold:.0%} ended at +{rec:.1f}s")


_FILTERS = "`route`, `method`, `priority`"
TABLE = (
    Indicator("latency", "s", "the percentile of latency, seconds",
              "`percentile` (required), `measure`, `route`, `method`, `priority`", "requests.parquet",
              function=latency, needs={"percentile": "percentile: 99"}, keys=("percentile",)),
    Indicator("error_ratio", "ratio",
              "(5xx + status 0 + a success code the locustfile marked failed, not shed) ÷ all rows",
              _FILTERS, "requests.parquet", function=error_ratio),
    Indicator("availability", "ratio", "rows neither error nor shed ÷ all rows (sheds count against it)",
              "`priority` (and route/method)", "requests.parquet", function=availability),
    Indicator("fallback_ratio", "ratio", "degraded answers ÷ all rows", "filters", "requests.parquet",
              function=fallback_ratio),
    Indicator("critical_5xx", "count", "count of errors among critical rows (`priority` overrides)", "filters",
              "requests.parquet", function=critical_5xx),
    Indicator("shed_order", "bool",
              "yes if best-effort's first shed is no later than critical's (first sheds within 1 s of each other "
              "are one onset) **and** its shed share ≥ critical's; yes when nothing was shed", "`route`",
              "requests.parquet", function=shed_order),
    Indicator("recovery_time", "s",
              "seconds from injection until the error ratio over a sliding `sliding_s` window (default 5 s) is "
              "below `threshold` (default 0.05) for good, looking up to the next injection or run end; `never` if "
              "still above there", "`threshold`, `sliding_s`, filters; chaos windows only",
              "requests.parquet, manifest experiments", function=recovery_time, chaos_only=True),
)  # fmt: skip
"""The request-row indicators' rows of the registry (reports/indicators/registry.py)."""
