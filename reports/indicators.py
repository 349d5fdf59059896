"""One function per indicator: (run folder, objective, window) → a measurement with its evidence.

A measurement with ``value=None`` means the evidence is missing; evaluate turns it into "no data".
Nothing here decides pass or fail (evaluate does) and nothing reads a live system.
"""

from __future__ import annotations

import fnmatch
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from reports.memory import growth
from reports.runfolder import F64, Requests, RunFolder, Selection, Series
from reports.slo import Objective
from reports.windows import Window
from tenfold.layout import CONTROLLER_EVENTS

__all__ = ["INDICATOR_FUNCTIONS", "PER_PROCESS", "Measurement", "measure", "measure_each", "rolling_error_ratio"]


@dataclass(frozen=True)
class Measurement:
    value: float | None
    evidence: str
    limit: float | None = None  # a symbolic target (hpa_max) resolved for this run


def _none(why: str) -> Measurement:
    return Measurement(None, why)


def _rows(
    run: RunFolder, o: Objective, w: Window, priority: str | None = None
) -> tuple[Requests, Selection, int] | Measurement:
    """The request rows an objective looks at: (all rows, the window's selection, its size), or no-data."""
    req = run.requests
    if req is None:
        return _none("requests.parquet is missing")
    assert w.start is not None and w.end is not None
    m = req.select(w.start, w.end, route=o.route, method=o.method, priority=priority or o.priority)
    n = m.count()
    if n == 0:
        return _none("no request rows in the window" + _filters(o, priority))
    return req, m, n


def _filters(o: Objective, priority: str | None = None) -> str:
    parts = [
        f"{k}={v}" for k, v in (("route", o.route), ("method", o.method), ("priority", priority or o.priority)) if v
    ]
    return f" ({', '.join(parts)})" if parts else ""


def _percentile(values: F64, q: float) -> float:
    """numpy's default (linear) percentile via one partition of a copy: about twice as fast as np.percentile."""
    pos = (values.size - 1) * q / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, values.size - 1)
    part = np.partition(values, (lo, hi))
    return float(part[lo] + (part[hi] - part[lo]) * (pos - lo))


def latency(run: RunFolder, o: Objective, w: Window) -> Measurement:
    got = _rows(run, o, w)
    if isinstance(got, Measurement):
        return got
    req, m, n = got
    assert o.percentile is not None
    lat = m.take(req.latency_co if o.measure == "co" else req.latency)
    lat = lat[np.isfinite(lat)]
    if lat.size == 0:
        return _none("no finite latency in the window")
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


def shed_order(run: RunFolder, o: Objective, w: Window) -> Measurement:
    """Best-effort must be shed before critical: first shed earlier, and a shed share at least as high."""
    req = run.requests
    if req is None:
        return _none("requests.parquet is missing")
    assert w.start is not None and w.end is not None
    stats: dict[str, tuple[float, float, int]] = {}
    for prio in ("best-effort", "critical"):
        sel = req.select(w.start, w.end, route=o.route, priority=prio)
        n = sel.count()
        shed = sel.take(req.shed)
        k = int(np.count_nonzero(shed))
        first = float(sel.take(req.intended)[shed].min()) if k else math.inf
        stats[prio] = (first, k / n if n else 0.0, n)
    (be_first, be_share, be_n), (cr_first, cr_share, cr_n) = stats["best-effort"], stats["critical"]
    if be_n == 0 and cr_n == 0:
        return _none("no best-effort or critical requests in the window")
    if math.isinf(be_first) and math.isinf(cr_first):
        return Measurement(1.0, f"no request was shed ({be_n} best-effort, {cr_n} critical)")
    holds = be_first <= cr_first and be_share >= cr_share
    when = "never" if math.isinf(cr_first) else f"+{cr_first - w.start:.1f}s"
    bwhen = "never" if math.isinf(be_first) else f"+{be_first - w.start:.1f}s"
    return Measurement(
        1.0 if holds else 0.0,
        f"best-effort first shed {bwhen}, share {be_share:.1%}; critical first shed {when}, share {cr_share:.1%}",
    )


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
        return _none("metrics/replicas_ready.json is missing or empty")
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
        return _none(f"no service had {trig} with replica data (replicas_ready, cpu_utilization, manifest hpa)")
    return Measurement(worst[0], f"slowest {worst[1]}")


def max_replicas(run: RunFolder, o: Objective, w: Window) -> Measurement:
    series = run.metric("replicas_desired") or run.metric("replicas_ready")
    if not series:
        return _none("metrics/replicas_desired.json and replicas_ready.json are missing or empty")
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
        return _none(
            "no replica samples in the window" + (" for services with an HPA max" if o.target.symbolic else "")
        )
    _, mx, limit, svc = worst
    lim = f" (HPA max {limit:g})" if limit is not None else ""
    return Measurement(mx, f"{svc}: at most {mx:g} replicas{lim}; query {run.metric_query('replicas_desired')}", limit)


def flapping(run: RunFolder, o: Objective, w: Window) -> Measurement:
    """Direction changes of desired replicas: up-down-up counts 2."""
    series = run.metric("replicas_desired")
    if not series:
        return _none("metrics/replicas_desired.json is missing or empty")
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
        return _none("no desired-replica samples for the service")
    return Measurement(float(worst[0]), worst[1])


def scale_in(run: RunFolder, o: Objective, w: Window) -> Measurement:
    """Desired replicas at the window's end must be below the run's maximum, for services that scaled out.

    Desired, not ready: ready replicas dip and recover when a replica is killed, which is no scaling at all.
    """
    desired = run.metric("replicas_desired") or run.metric("replicas_ready")
    if not desired:
        return _none("metrics/replicas_desired.json is missing or empty")
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
        return _none("no replica samples for the service")
    return Measurement(1.0 if ok else 0.0, "; ".join(notes))


def rolling_error_ratio(
    times: F64, errors: npt.NDArray[np.bool_], start: float, end: float, width: float, step: float = 1.0
) -> tuple[F64, F64, F64]:  # fmt: skip
    """Error ratio over a sliding window ending at each step from ``start`` to ``end``: (t, ratio, requests)."""
    nb = max(1, math.ceil((end - start) / step))
    idx = np.floor((times - start) / step).astype(np.int64)
    ok = (idx >= 0) & (idx < nb)
    total = np.bincount(idx[ok], minlength=nb).astype(np.float64)
    bad = np.bincount(idx[ok], weights=errors[ok].astype(np.float64), minlength=nb)
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
        return _none("requests.parquet or the experiment's injection time is missing")
    t0 = exp.injected_at
    later = [e.injected_at for e in man.experiments if e.injected_at is not None and e.injected_at > t0]
    bound = min([*later, man.ended])
    m = req.select(t0, bound, route=o.route, priority=o.priority)
    t, ratio, tot = rolling_error_ratio(m.take(req.intended), m.take(req.error), t0, bound, o.sliding_s)
    bad = np.nonzero((ratio >= o.threshold) & (tot > 0))[0]
    n = m.count()
    if n == 0:
        return _none("no request rows after the injection")
    if bad.size == 0:
        return Measurement(0.0, f"error ratio over {o.sliding_s:g}s never reached {o.threshold:.0%} ({n} requests)")
    last = int(bad[-1])
    if last == t.size - 1:
        return Measurement(math.inf, f"error ratio still ≥ {o.threshold:.0%} at +{bound - t0:.0f}s ({n} requests)")
    rec = float(t[last] - t0)
    return Measurement(rec, f"last {o.sliding_s:g}s window with error ratio ≥ {o.threshold:.0%} ended at +{rec:.1f}s")


def writes_lost(run: RunFolder, o: Objective, w: Window) -> Measurement:
    """Acknowledged writes the locustfile's verifiers did not find afterwards (``durability.json``). No data when
    nothing was acknowledged, when a kind has no verifier, or when every check failed to reach the system."""
    d = run.durability
    if d is None:
        return _none("durability.json is missing (no acknowledged write was read back: see docs/ledger.md)")
    ack = d.get("acknowledged") or {}
    total = sum(int(v) for v in ack.values()) if isinstance(ack, dict) else int(ack)
    if d.get("unchecked"):
        return _none(f"acknowledged {', '.join(d['unchecked'])} writes have no @ledger.verifier (or no store access)")
    if total == 0:
        return _none("no acknowledged write in the ledger (the locustfile calls tenfold.ledger.acknowledged)")
    checked = sum(int(v) for v in (d.get("checked") or {}).values())
    errors = sum(int(v) for v in (d.get("errors") or {}).values())
    if checked and errors >= checked:
        examples = d.get("error_examples") or ["?"]
        return _none(f"the verifiers failed for all {checked} acknowledged writes, e.g. {examples[0]}")
    missing = d.get("missing") or []
    lost = d.get("lost")
    n = sum(int(v) for v in lost.values()) if isinstance(lost, dict) else len(missing)
    unverified = sum(int(v) for v in (d.get("unverified") or {}).values())
    unknown = sum(int(v) for v in (d.get("unknown") or {}).values())
    example = f", e.g. {missing[0].get('kind')}:{missing[0].get('key')}" if missing else ""
    notes = [f"{x} {what}" for x, what in ((unverified, "unverified"), (errors, "unreadable"),
                                           (unknown, "with an unknown outcome (not counted)")) if x]  # fmt: skip
    return Measurement(float(n), f"{n} of {total} acknowledged writes missing{example}"
                       + (f"; {', '.join(notes)}" if notes else ""))  # fmt: skip


def memory_growth(run: RunFolder, o: Objective, w: Window) -> list[tuple[str, Measurement]]:
    """One measurement per stack process (``service`` keeps one service's replicas, ``processes``/``exclude``
    select by name): RSS growth after warm-up."""

    def judged(name: str) -> bool:
        process = name.split(" (pid ")[0]  # a restarted process's second series is "catalog-0 (pid 123)"
        chosen = o.processes is None or any(fnmatch.fnmatchcase(process, p) for p in o.processes)
        return chosen and not any(fnmatch.fnmatchcase(process, p) for p in o.exclude)

    series = [s for s in run.memory if (o.service is None or s.service == o.service) and judged(s.name)]
    if not series:
        return [("", _none("memory.jsonl is missing or has no process the objective selects (a --soak run samples "
                           "every stack process)"))]  # fmt: skip
    assert w.start is not None and w.end is not None
    out = []
    for s in series:
        g = growth(s.ts, s.rss, w.start, w.end, o.warmup)
        if g is not None:
            out.append((s.name, Measurement(g.ratio, f"{s.name} (pid {s.pid}): {g.text()}")))
    if not out:
        return [("", _none(f"no process has {o.warmup:.0%} warm-up plus enough samples in the window"))]
    return out


# How soon after the control API killed or stopped something its death or restart is the chaos, not a crash.
KILL_EXPLAINS_S = {"replica_died": 10.0, "component_restarted": 60.0}


def crashes(run: RunFolder, o: Objective, w: Window) -> Measurement:
    """Processes that died on their own in the window: replicas the control API did not kill, components the
    controller had to restart without having been told to kill or stop them. Chaos does not count."""
    if run.manifest is None:
        return _none("manifest.json is missing")
    if not (run.path / CONTROLLER_EVENTS).is_file():  # a --target run: no controller watched the processes
        return _none("controller_events.jsonl is missing (no controller saw the processes: a --target run)")
    assert w.start is not None and w.end is not None
    events = run.events
    told = [e for e in events if e.get("kind") in ("replica_killed", "component_killed", "component_stopped")]

    def explained(e: dict[str, Any]) -> bool:
        ts = float(e["ts"])
        return any(
            k.get("service") == e.get("service")
            and (e["kind"] != "replica_died" or k.get("from") == e.get("from"))
            and 0 <= ts - float(k["ts"]) <= KILL_EXPLAINS_S[e["kind"]]
            for k in told
        )

    crashed = [
        f"{e.get('service')}#{e.get('from')}" if e["kind"] == "replica_died" else str(e.get("service"))
        for e in events
        if e.get("kind") in KILL_EXPLAINS_S and w.start <= float(e.get("ts", 0)) <= w.end and not explained(e)
    ]
    if not crashed:
        return Measurement(0.0, f"no process died on its own ({len(events)} controller events)")
    return Measurement(float(len(crashed)), f"died on their own: {', '.join(crashed[:10])}")


INDICATOR_FUNCTIONS: dict[str, Callable[[RunFolder, Objective, Window], Measurement]] = {
    "latency": latency,
    "error_ratio": error_ratio,
    "availability": availability,
    "fallback_ratio": fallback_ratio,
    "critical_5xx": critical_5xx,
    "shed_order": shed_order,
    "scale_out_reaction": scale_out_reaction,
    "max_replicas": max_replicas,
    "flapping": flapping,
    "scale_in": scale_in,
    "recovery_time": recovery_time,
    "writes_lost": writes_lost,
    "crashes": crashes,
}


PER_PROCESS: dict[str, Callable[[RunFolder, Objective, Window], list[tuple[str, Measurement]]]] = {
    "memory_growth": memory_growth,
}
"""Indicators measured once per process: each gives its own verdict, named ``objective[process]``."""


def measure_each(run: RunFolder, o: Objective, w: Window) -> list[tuple[str, Measurement]]:
    """``[(subject, measurement)]``: one with subject ``""`` for most indicators, one per process for some."""
    if o.indicator in PER_PROCESS:
        if not w.known:
            return [("", _none(f"the run has no window {w.name!r}"))]
        return PER_PROCESS[o.indicator](run, o, w)
    return [("", measure(run, o, w))]


def measure(run: RunFolder, o: Objective, w: Window) -> Measurement:
    if not w.known and o.indicator != "writes_lost":
        return _none(f"the run has no window {w.name!r}")
    return INDICATOR_FUNCTIONS[o.indicator](run, o, w)
