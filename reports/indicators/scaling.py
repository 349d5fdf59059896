"""Indicators over the scaling series (metrics/*.json and the manifest's HPA settings): how fast replicas
grew, how far, whether they flapped and came back down. The worst service decides."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from reports.arrays import F64
from reports.indicators.indicator import Indicator, Measurement, no_data
from reports.runfolder import Series

if TYPE_CHECKING:  # type-only: the SLO file derives its indicators from the registry
    from reports.runfolder import RunFolder
    from reports.slo import Objective
    from reports.windows import Window

__all__ = ["TABLE", "flapping", "max_replicas", "scale_in", "scale_out_reaction"]


def _by_service(series: list[Series]) -> dict[str, Series]:
    """One series per service; several with the same service (per-instance) are summed on shared timestamps."""
    out: dict[str, Series] = {}
    for s in series:
        svc = s.labels.get("service", "")
        if svc in out:
            prev = out[svc]
            ts = np.union1d(prev.ts, s.ts)
            vals = np.interp(ts, prev.ts, prev.values) + np.interp(ts, s.ts, s.values)
            out[svc] = Series(prev.labels, ts, vals)
        else:
            out[svc] = s
    return out


def _services(o: Objective, found: dict[str, Series]) -> list[str]:
    if o.service is not None:
        return [o.service]
    return sorted(found)


def _in(s: Series, start: float, end: float) -> tuple[F64, F64]:
    m = (s.ts >= start) & (s.ts <= end)
    return s.ts[m], s.values[m]


def _value_at(s: Series, t: float) -> float:
    i = int(np.searchsorted(s.ts, t, side="right")) - 1
    return float(s.values[max(i, 0)])


def _cpu_target(run: RunFolder, svc: str) -> float | None:
    hpa = (run.manifest.hpa if run.manifest else {}).get(svc, {})
    t = hpa.get("target_cpu_utilization")
    if t is None:
        return None
    return t / 100.0 if t > 1.0 else t


_HPA_TOLERANCE = 0.1


def scale_out_reaction(run: RunFolder, o: Objective, w: Window) -> Measurement:
    """From the trigger (window start for ``spike``, first CPU crossing of the HPA target for ``cpu``) to more Ready."""
    ready = run.metric("replicas_ready")
    if not ready:
        return no_data("metrics/replicas_ready.json is missing or empty")
    by_ready = _by_service(ready)
    # What the HPA algorithm asked for, also while autoscaling is switched off (control runs); else desired.
    by_desired = _by_service(run.metric("hpa_desired_replicas") or run.metric("replicas_desired") or [])
    cpu = _by_service(run.metric("cpu_utilization") or [])
    assert w.start is not None and w.end is not None
    worst: tuple[float, str] | None = None
    for svc in _services(o, by_ready):
        s = by_ready.get(svc)
        if s is None or s.ts.size == 0:
            continue
        if o.trigger == "spike":
            t0 = w.start
            why = "window start"
            d = by_desired.get(svc)
            if d is not None and not (d.values[d.ts >= t0] > _value_at(d, t0)).any():
                continue  # the HPA never asked for more: this service had nothing to react to
        else:
            target, c = _cpu_target(run, svc), cpu.get(svc)
            if target is None or c is None:
                continue
            ts, vals = _in(c, w.start, w.end)
            # HPA acts only beyond its 10% tolerance; two samples in a row so one noisy scrape is no trigger
            high = vals > target * (1 + _HPA_TOLERANCE)
            over = np.nonzero(high[:-1] & high[1:])[0]
            if over.size == 0:
                continue
            t0 = float(ts[over[0]])
            why = f"CPU {vals[over[0]]:.0%} > {target:.0%}"
        base = _value_at(s, t0)
        after = np.nonzero((s.ts >= t0) & (s.values > base))[0]
        reaction = float(s.ts[after[0]] - t0) if after.size else math.inf
        text = f"{svc}: {why} at +{t0 - w.start:.1f}s, ready {base:g}→" + (
            f"{s.values[after[0]]:g} after {reaction:.1f}s" if after.size else "never grew"
        )
        if worst is None or reaction > worst[0]:
            worst = (reaction, text)
    if worst is None:
        trig = "a scale-out after the window start" if o.trigger == "spike" else "a CPU crossing of the HPA target"
        return no_data(f"no service had {trig} with replica data (replicas_ready, cpu_utilization, manifest hpa)")
    return Measurement(worst[0], f"slowest {worst[1]}")


def max_replicas(run: RunFolder, o: Objective, w: Window) -> Measurement:
    series = run.metric("replicas_desired") or run.metric("replicas_ready")
    if not series:
        return no_data("metrics/replicas_desired.json and replicas_ready.json are missing or empty")
    by = _by_service(series)
    assert w.start is not None and w.end is not None
    hpa = run.manifest.hpa if run.manifest else {}
    worst: tuple[float, float, float | None, str] | None = None  # (excess, value, limit, service)
    for svc in _services(o, by):
        s = by.get(svc)
        if s is None:
            continue
        _, vals = _in(s, w.start, w.end)
        if vals.size == 0:
            continue
        mx = float(vals.max())
        limit = hpa.get(svc, {}).get("max") if o.target.symbolic else None
        if o.target.symbolic and limit is None:
            continue
        excess = mx - (limit if limit is not None else 0.0)
        if worst is None or excess > worst[0]:
            worst = (excess, mx, limit, svc)
    if worst is None:
        return no_data(
            "no replica samples in the window" + (" for services with an HPA max" if o.target.symbolic else "")
        )
    _, mx, limit, svc = worst
    lim = f" (HPA max {limit:g})" if limit is not None else ""
    return Measurement(mx, f"{svc}: at most {mx:g} replicas{lim}; query {run.metric_query('replicas_desired')}", limit)


def flapping(run: RunFolder, o: Objective, w: Window) -> Measurement:
    """Direction changes of desired replicas: up-down-up counts 2."""
    series = run.metric("replicas_desired")
    if not series:
        return no_data("metrics/replicas_desired.json is missing or empty")
    by = _by_service(series)
    assert w.start is not None and w.end is not None
    worst: tuple[int, str] | None = None
    for svc in _services(o, by):
        s = by.get(svc)
        if s is None:
            continue
        _, vals = _in(s, w.start, w.end)
        steps = np.sign(np.diff(vals))
        steps = steps[steps != 0]
        changes = int(np.count_nonzero(np.diff(steps))) if steps.size > 1 else 0
        if worst is None or changes > worst[0]:
            worst = (changes, f"{svc}: {changes} direction changes over {vals.size} samples")
    if worst is None:
        return no_data("no desired-replica samples for the service")
    return Measurement(float(worst[0]), worst[1])


def scale_in(run: RunFolder, o: Objective, w: Window) -> Measurement:
    """Desired replicas at the window's end must be below the run's maximum, for services that scaled out.

    Desired, not ready: ready replicas dip and recover when a replica is killed, which is no scaling at all.
    """
    desired = run.metric("replicas_desired") or run.metric("replicas_ready")
    if not desired:
        return no_data("metrics/replicas_desired.json is missing or empty")
    by = _by_service(desired)
    assert w.end is not None
    ok, notes = True, []
    for svc in _services(o, by):
        s = by.get(svc)
        if s is None or s.ts.size == 0:
            continue
        peak, first, end = float(s.values.max()), float(s.values[0]), _value_at(s, w.end)
        if peak <= first:
            notes.append(f"{svc}: never scaled out ({peak:g})")
            continue
        held = end < peak
        ok &= held
        notes.append(f"{svc}: {end:g} at end vs peak {peak:g}")
    if not notes:
        return no_data("no replica samples for the service")
    return Measurement(1.0 if ok else 0.0, "; ".join(notes))


TABLE = (
    Indicator("scale_out_reaction", "s",
              "seconds from the trigger to the first increase of Ready replicas; `never` if they never grew; the "
              "slowest service",
              "`trigger: cpu` (default: the first of two consecutive CPU samples inside the window above the HPA "
              "target plus its 10% tolerance) or `spike` (window start), `service`",
              "metrics/replicas_ready, metrics/cpu_utilization, manifest hpa", function=scale_out_reaction),
    Indicator("max_replicas", "count", "the highest desired (else Ready) replica count in the window; the worst "
              "service", "`service`; target may be `<= hpa_max`",
              "metrics/replicas_desired (or _ready), manifest hpa", function=max_replicas, symbolic=("hpa_max",)),
    Indicator("flapping", "count", "direction changes of desired replicas in the window (up-down-up = 2); the "
              "worst service", "`service`", "metrics/replicas_desired", function=flapping),
    Indicator("scale_in", "bool", "yes if, for every service that scaled out, Ready at the window's end < its peak "
              "in the run", "`service`", "metrics/replicas_ready", function=scale_in),
)  # fmt: skip
"""The scaling indicators' rows of the registry (reports/indicators/registry.py)."""
