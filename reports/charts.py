"""The report's charts as PNG bytes (matplotlib, Agg, no pyplot state), from a run folder.

Charts bin the request rows per second with ``np.bincount`` over log-spaced latency buckets rather
than sorting per bin, so a million rows cost tens of milliseconds; the percentiles in charts are
therefore bucket-accurate (±3%), while verdicts use exact percentiles.

Drawing is matplotlib's fixed cost (~40 ms a chart, mostly ticks and text), so for large runs on a
multi-core machine a forked child draws three of the charts while this process draws the rest
(:mod:`reports.chart_fork`); any trouble in the child (error, timeout) and the parent draws them itself.
What every chart is drawn with (figure, PNG, bands, legend) is :mod:`reports.chart_kit`; here is each chart
in the order of the page (the Grafana dashboard's panels follow it).
"""

from __future__ import annotations

import math

import matplotlib
import numpy as np
import numpy.typing as npt
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter

from reports.chart_fork import Builder, Forked, can_fork
from reports.chart_kit import Chart, LegendItem, band_legend, draw_bands, legend_of, new_figure, to_png
from reports.runfolder import F64, PRIORITIES, RunFolder, Series

I64 = npt.NDArray[np.int64]

__all__ = ["Chart", "LegendItem", "band_legend", "make_charts"]

_LO, _HI, _NBUCKETS = 1e-4, 120.0, 400  # latency buckets: log-spaced, ~1.8% wide
_K = _NBUCKETS / math.log(_HI / _LO)
_UPPER = _LO * np.exp((np.arange(_NBUCKETS) + 1) / _K)  # upper edge of each bucket


def _latency(run: RunFolder, t0: float, nb: int, sec: I64) -> Chart | None:
    req = run.requests
    if req is None or req.n == 0:
        return None
    fig, ax = new_figure(3.4)
    draw_bands(ax, run, t0)
    x = np.arange(nb) + 0.5
    for lat, style, label in ((req.latency_co, "-", "CO-corrected"), (req.latency, ":", "Locust-style")):
        # in place: one float and one int array beside the columns (10M rows: 160 MB, not 240 MB, of temporaries)
        b = np.maximum(lat, _LO)
        with np.errstate(divide="ignore", invalid="ignore"):
            np.log(b, out=b)
        b -= math.log(_LO)
        b *= _K
        np.fmin(b, _NBUCKETS - 1, out=b)  # NaN and inf go to the last bucket
        bucket = b.astype(np.int64)
        del b
        bucket += sec * _NBUCKETS
        hist = np.bincount(bucket, minlength=nb * _NBUCKETS)
        del bucket
        cum = np.cumsum(hist.reshape(nb, _NBUCKETS), axis=1)
        total = cum[:, -1]
        for q, colour in ((0.5, "#1f77b4"), (0.95, "#ff7f0e"), (0.99, "#d62728")):
            idx = np.argmax(cum >= np.maximum(q * total, 1)[:, None], axis=1)
            y = np.where(total > 0, _UPPER[idx] * 1000, np.nan)
            ax.plot(x, y, style, color=colour, linewidth=1.3, label=f"p{round(q * 100)} {label}")
    ax.set_yscale("log")
    # plain numbers, no minor labels: log axes otherwise typeset every tick with mathtext (slow)
    ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_ylabel("latency (ms)")
    return Chart("latency", "Latency p50 / p95 / p99 over time",
                 "Solid: from intended start (coordinated-omission corrected); dotted: from actual send, as Locust "
                 "reports.", to_png(fig), legend_of(ax))  # fmt: skip


def _throughput(run: RunFolder, t0: float, nb: int, sec: I64) -> Chart | None:
    req = run.requests
    if req is None or req.n == 0:
        return None
    fig, ax = new_figure()
    draw_bands(ax, run, t0)
    s = req.status
    classes = np.select(
        [req.shed, s == 0, s >= 500, s >= 400], [2, 4, 3, 1], default=0
    )  # 0 ok, 1 4xx, 2 shed, 3 5xx, 4 none
    counts = np.bincount(sec * 5 + classes, minlength=nb * 5).reshape(nb, 5).T.astype(np.float64)
    labels = ["2xx/3xx", "4xx", "shed (429/503+Retry-After)", "5xx", "no response"]
    colours = ["#2ca02c", "#bcbd22", "#9467bd", "#d62728", "#7f7f7f"]
    ax.stackplot(np.arange(nb) + 0.5, counts, labels=labels, colors=colours, alpha=0.85, zorder=2)
    deg = np.bincount(sec[req.degraded], minlength=nb)
    ax.plot(np.arange(nb) + 0.5, deg, color="black", linewidth=1, label="degraded (200 + X-Degraded)", zorder=3)
    ax.set_ylabel("requests / s")
    return Chart("throughput", "Throughput by status", "Requests per second by answer class, by intended start.",
                 to_png(fig), legend_of(ax))  # fmt: skip


def _by_service(series: list[Series] | None) -> dict[str, Series]:
    return {s.labels.get("service", "?"): s for s in series or []}


def _replicas(run: RunFolder, t0: float) -> Chart | None:
    ready, desired = _by_service(run.metric("replicas_ready")), _by_service(run.metric("replicas_desired"))
    ready = {k: v for k, v in ready.items() if v.ts.size}
    desired = {k: v for k, v in desired.items() if v.ts.size}
    if not ready and not desired:
        return None
    cpu = _by_service(run.metric("cpu_utilization"))
    fig, ax = new_figure(3.2)
    draw_bands(ax, run, t0)
    colours = matplotlib.colormaps["tab10"]
    for i, svc in enumerate(sorted(set(ready) | set(desired))):
        c = colours(i % 10)
        if svc in ready:
            ax.step(ready[svc].ts - t0, ready[svc].values, where="post", color=c, linewidth=1.6, label=f"{svc} ready")
        if svc in desired:
            d = desired[svc]
            ax.step(d.ts - t0, d.values, where="post", color=c, linewidth=1, linestyle="--", label=f"{svc} desired")
    ax.set_ylabel("replicas")
    ax.yaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
    ax.set_ylim(bottom=0, top=max([*(float(s.values.max()) for s in [*ready.values(), *desired.values()]), 1.0]) + 1)
    if cpu:
        ax2 = ax.twinx()
        for i, svc in enumerate(sorted(cpu)):
            ax2.plot(cpu[svc].ts - t0, cpu[svc].values * 100, color=colours(i % 10), linewidth=0.8, linestyle=":")
        ax2.set_ylabel("CPU % of limit (dotted)")
        ax2.set_ylim(bottom=0)
    return Chart("replicas", "Replicas desired / ready against CPU",
                 "Solid: Ready replicas; dashed: desired (autoscaler); "
                 "dotted, right axis: CPU utilisation of the limit.",
                 to_png(fig), legend_of(ax))  # fmt: skip


def _sum(series: list[Series], label: str | None = None, value: str | None = None) -> tuple[F64, F64] | None:
    chosen = [s for s in series if label is None or s.labels.get(label) == value]
    if not chosen:
        return None
    ts = np.unique(np.concatenate([s.ts for s in chosen]))
    return ts, np.sum([np.interp(ts, s.ts, s.values) for s in chosen], axis=0)


def _cache(run: RunFolder, t0: float, per_sec: F64 | None) -> Chart | None:
    cache, fallback = run.metric("cache_requests") or [], run.metric("fallback_rate") or []
    if not cache and not fallback:
        return None
    fig, ax = new_figure()
    draw_bands(ax, run, t0)
    total, hit = _sum(cache), _sum(cache, "result", "hit")
    if total is not None and hit is not None:
        ratio = np.divide(np.interp(total[0], *hit), total[1], out=np.full(total[1].shape, np.nan), where=total[1] > 0)
        ax.plot(total[0] - t0, ratio * 100, color="#1f77b4", linewidth=1.4, label="cache hit ratio %")
    ax.set_ylabel("%")
    ax.set_ylim(0, 105)
    axes = [ax]
    fb = _sum(fallback)
    if fb is not None and per_sec is not None and per_sec.size:
        # fallbacks as a share of all requests, so both lines share one axis (a second axis costs a second set of ticks)
        sent = np.interp(fb[0] - t0, np.arange(per_sec.size) + 0.5, per_sec)
        share = np.divide(fb[1], sent, out=np.zeros_like(fb[1]), where=sent > 0)
        ax.plot(fb[0] - t0, np.minimum(share, 1.0) * 100, color="#ff7f0e", linewidth=1.4,
                label="fallback answers, % of requests")  # fmt: skip
    elif fb is not None:
        ax2 = ax.twinx()
        ax2.plot(fb[0] - t0, fb[1], color="#ff7f0e", linewidth=1.4, label="fallbacks / s")
        ax2.set_ylabel("fallbacks / s")
        ax2.set_ylim(bottom=0)
        axes.append(ax2)
    return Chart(
        "cache",
        "Cache hit ratio and fallback rate",
        "From Prometheus: cache_requests_total by result; fallback_responses_total over the requests sent per second.",
        to_png(fig),
        legend_of(*axes),
    )


def _budget(run: RunFolder, t0: float, nb: int, sec: I64, allowed: float) -> Chart | None:
    req = run.requests
    if req is None or req.n == 0:
        return None
    fig, ax = new_figure()
    draw_bands(ax, run, t0)
    bad = np.cumsum(np.bincount(sec[req.error], minlength=nb))
    budget = max(allowed * req.n, 1e-9)
    ax.plot(np.arange(nb) + 1, bad / budget * 100, color="#d62728", linewidth=1.5, label="error budget consumed %")
    ax.axhline(100, color="black", linewidth=0.8, linestyle="--")
    ax.set_ylabel("% of budget")
    ax.set_ylim(bottom=0)
    return Chart("budget", "Error budget burn",
                 f"Cumulative errors (5xx, no response) over the run's budget of {allowed:.2%} of {req.n} requests; "
                 "above the dashed line the budget is spent.", to_png(fig), legend_of(ax))  # fmt: skip


_PARALLEL_ROWS = 200_000  # below this, forking costs more than it saves


def _memory(run: RunFolder, t0: float) -> Chart | None:
    """RSS of every stack process over the run (soak runs sample it; others have no memory.jsonl)."""
    series = run.memory
    if not series:
        return None
    fig, ax = new_figure(3.6)
    draw_bands(ax, run, t0)
    colours = matplotlib.colormaps["tab20"]
    for i, s in enumerate(series):
        ax.plot(s.ts - t0, s.rss / 2**20, color=colours(i % 20), linewidth=1.1, label=s.name)
    ax.set_ylabel("RSS (MiB)")
    ax.set_ylim(bottom=0)
    return Chart("memory", "Resident memory per process",
                 "RSS of every stack process, sampled every few seconds (memory.jsonl); the memory_growth "
                 "objectives compare the end with the first samples after the warm-up.",
                 to_png(fig), legend_of(ax))  # fmt: skip


_PRIORITY_COLOURS = {"critical": "#d62728", "degraded": "#1f77b4", "best-effort": "#7f7f7f", "unclassified": "#bcbd22"}


def _shedding(run: RunFolder, t0: float, nb: int, sec: I64) -> Chart | None:
    """The shed order: per priority class, the share of its requests shed (only drawn when something was shed)."""
    req = run.requests
    if req is None or req.n == 0 or not bool(req.shed.any()):
        return None
    fig, ax = new_figure(2.6)
    draw_bands(ax, run, t0)
    x = np.arange(nb) + 0.5
    # one count of rows per (second, priority code + 1 (a missing priority is -1), shed), not two passes per class
    codes = len(req.priorities) + 1
    key = sec * codes
    key += req.priority
    key += 1
    key *= 2
    key += req.shed
    counts = np.bincount(key, minlength=nb * codes * 2).reshape(nb, codes, 2)
    del key
    for name in PRIORITIES:
        code = req.code_of("priority", name)
        if code < 0 or not counts[:, code + 1].any():
            continue
        total = counts[:, code + 1].sum(axis=1).astype(np.float64)
        shed = counts[:, code + 1, 1].astype(np.float64)
        share = np.divide(shed, total, out=np.full(nb, np.nan), where=total > 0) * 100
        ax.plot(x, share, color=_PRIORITY_COLOURS[name], linewidth=1.4, label=f"{name}", zorder=3)
    ax.set_ylabel("% shed")
    ax.set_ylim(-2, 102)
    return Chart("shedding", "Shed order by priority",
                 "Share of each priority class's requests shed per second (429 or 503 + Retry-After). Under "
                 "overload best-effort should rise first and highest; critical should stay at zero.",
                 to_png(fig), legend_of(ax))  # fmt: skip


def make_charts(run: RunFolder, error_budget: float = 0.01, *, parallel: bool | None = None) -> list[Chart]:
    """Every chart the evidence allows (a chart whose evidence is missing is left out).

    ``parallel``: draw some charts in a forked child; by default when the run is large and there are cores.
    """
    man = run.manifest
    req = run.requests
    if man is not None:
        t0, t1 = man.started, man.ended
    elif req is not None and req.n:
        t0, t1 = float(req.intended.min()), float(req.intended.max())
    else:
        return []
    nb = max(1, math.ceil(t1 - t0))
    sec = np.zeros(0, dtype=np.int64)
    if req is not None:
        sec = (req.intended - t0).astype(np.int64)  # truncation = floor for t >= t0
        np.clip(sec, 0, nb - 1, out=sec)
    per_sec = np.bincount(sec, minlength=nb).astype(np.float64) if sec.size else None
    builders: list[Builder] = [
        lambda: _latency(run, t0, nb, sec),
        lambda: _throughput(run, t0, nb, sec),
        lambda: _replicas(run, t0),
        lambda: _cache(run, t0, per_sec),
        lambda: _budget(run, t0, nb, sec, error_budget),
        lambda: _memory(run, t0),
        lambda: _shedding(run, t0, nb, sec),
    ]
    if parallel is None:
        parallel = req is not None and req.n >= _PARALLEL_ROWS and can_fork()
    # throughput, replicas and budget in the child; latency (the dearest), cache and shedding here: about half the
    # drawing each (1M rows, ms of CPU: latency 70, replicas 57, throughput 53, shedding 45, budget 40, cache 38);
    # with nothing shed the child's part is the longer, as long as this process's was with budget here
    child_part = {1, 2, 4}
    forked = Forked([builders[i] for i in sorted(child_part)]) if parallel else None
    mine = {i: builders[i]() for i in range(len(builders)) if forked is None or i not in child_part}
    theirs = forked.result() if forked is not None else None
    if forked is not None:
        if theirs is None:
            theirs = [builders[i]() for i in sorted(child_part)]
        mine.update(zip(sorted(child_part), theirs, strict=True))
    charts = [mine[i] for i in range(len(builders))]
    return [c for c in charts if c is not None]
