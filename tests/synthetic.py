"""Synthetic run folders that follow the evidence contract exactly (docs/reports.md).

Tests and the benchmark need runs whose truth is known: a spike that autoscaling absorbs, or not;
a cache loss with fallbacks, or without; a lost write; a starved generator. Each knob breaks one
thing, so every indicator has a run where it must pass and one where it must fail.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

__all__ = ["ROUTES", "SERVICES", "T0", "Knobs", "make_run"]

T0 = 1_760_000_000.0
SERVICES = ("catalog", "events", "recommendations", "users")
ROUTES = ("/api/titles/{id}", "/api/recommendations/{user_id}", "/api/users/{id}/my-list", "/api/events")
_ROUTE_SERVICE = ("catalog", "recommendations", "users", "events")
# phase name, start offset, end offset, rate multiplier
_PHASES = (("baseline", 0.0, 20.0, 1.0), ("ramp", 20.0, 30.0, 5.5), ("peak", 30.0, 70.0, 10.0),
           ("cooldown", 70.0, 100.0, 1.0))  # fmt: skip
_CHAOS = (40.0, 50.0)  # cache-lost-30s injected / recovered (offsets)


@dataclass(frozen=True)
class Knobs:
    rows: int = 40_000
    autoscaling: bool = True
    fallbacks: bool = True
    lost_writes: int = 0
    generator_valid: bool = True
    shed_critical_first: bool = False
    flapping: bool = False
    scale_in: bool = True
    never_recover: bool = False
    exceed_max: bool = False
    crash: bool = False  # a replica dies on its own at peak (besides the chaos kill, which never counts)
    latency_factor: float = 1.0  # multiplies every latency (compare tests)
    seed: int = 1
    with_chaos: bool = True


def _ready_curve(k: Knobs, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(desired, ready) replicas over offsets ``t``: 2 → 6 after the spike, back to 2 in cooldown."""
    desired = np.full(t.shape, 2.0)
    if k.autoscaling:
        top = 10.0 if k.exceed_max else 6.0
        desired[(t >= 23)] = 4.0
        desired[(t >= 27)] = top
        if k.scale_in:
            desired[t >= 80] = 3.0
            desired[t >= 88] = 2.0
        if k.flapping:
            desired[(t >= 40) & (t < 70)] = np.where((t[(t >= 40) & (t < 70)] // 3) % 2 == 0, top, top - 2)
    ready = np.concatenate((np.full(3, desired[0]), desired[:-3])) if t.size > 3 else desired.copy()
    return desired, ready


def _matrix(query: str, t: np.ndarray, series: list[tuple[dict[str, str], np.ndarray]]) -> dict[str, Any]:
    return {
        "query": query, "start": T0, "end": T0 + float(t[-1]), "step": 1.0,
        "data": {"resultType": "matrix", "result": [
            {"metric": labels, "values": [[T0 + float(a), f"{float(b):.6g}"] for a, b in zip(t, vals, strict=True)]}
            for labels, vals in series
        ]},
    }  # fmt: skip


def _requests(k: Knobs, rng: np.random.Generator) -> pa.Table:
    weights = np.array([(e - s) * m for _, s, e, m in _PHASES])
    counts = np.floor(k.rows * weights / weights.sum()).astype(np.int64)
    counts[-1] += k.rows - counts.sum()
    t = np.concatenate([rng.uniform(s, e, c) for (_, s, e, _m), c in zip(_PHASES, counts, strict=True)])
    n = t.size
    route = rng.choice(4, n, p=[0.35, 0.25, 0.15, 0.25]).astype(np.int32)
    prio = rng.choice(3, n, p=[0.3, 0.4, 0.3]).astype(np.int32)  # critical, degraded, best-effort
    lat = rng.lognormal(np.log(0.02), 0.5, n)
    spike = (t >= 20) & (t < 70)
    if k.autoscaling:
        lat[(t >= 20) & (t < 28)] *= 3.0
    else:
        lat[spike] = rng.lognormal(np.log(0.7), 0.4, int(spike.sum()))
    lat *= k.latency_factor
    lag = rng.exponential(0.002, n) + np.where(spike & (not k.autoscaling), rng.exponential(0.3, n), 0.0)
    status = np.full(n, 200, dtype=np.int16)
    status[(rng.random(n) < 0.0005) & (t < 20)] = 500
    degraded = np.zeros(n, dtype=bool)
    if k.with_chaos:
        chaos_end = 100.0 if k.never_recover else _CHAOS[1]
        hit = (t >= _CHAOS[0]) & (t < chaos_end) & (route == 1)
        if k.fallbacks and not k.never_recover:
            degraded[hit] = True
        else:
            status[hit] = 503
    # shedding at peak: best-effort first (or, broken, critical first)
    peak = (t >= 30) & (t < 70)
    first, second = (0, 2) if k.shed_critical_first else (2, 0)
    status[peak & (prio == first) & (rng.random(n) < 0.08) & (status == 200)] = 429
    status[peak & (t >= 45) & (prio == second) & (rng.random(n) < 0.01) & (status == 200)] = 429
    intended = T0 + t
    actual = intended + lag
    methods = np.where(route >= 2, 1, 0).astype(np.int32)
    order = np.argsort(intended, kind="stable")

    def dict_col(codes: np.ndarray, labels: tuple[str, ...]) -> pa.DictionaryArray:
        return pa.DictionaryArray.from_arrays(pa.array(codes[order], pa.int32()), pa.array(list(labels)))

    return pa.table({
        "intended_start": intended[order], "actual_start": actual[order], "latency_s": lat[order],
        "latency_co_s": (lat + lag)[order], "route": dict_col(route, ROUTES),
        "method": dict_col(methods, ("GET", "POST")),
        "priority": dict_col(prio, ("critical", "degraded", "best-effort")),
        "status": pa.array(status[order], pa.int16()), "degraded": degraded[order],
    })  # fmt: skip


def _metrics(k: Knobs, out: Path) -> None:
    t = np.arange(0.0, 101.0, 1.0)
    desired, ready = _ready_curve(k, t)
    cpu = np.where(t < 22, 0.3, np.where(t < 70, 0.95, 0.2))
    if k.autoscaling:
        cpu[(t >= 30) & (t < 70)] = 0.62
    rate = np.where(t < 20, 100.0, np.where(t < 70, 1000.0, 100.0))
    chaos = (t >= _CHAOS[0]) & (t < _CHAOS[1]) if k.with_chaos else np.zeros(t.shape, dtype=bool)
    m = out / "metrics"
    m.mkdir(parents=True, exist_ok=True)
    docs = {
        "replicas_ready": _matrix('tenfold_replicas{state="ready"}', t, [({"service": s}, ready) for s in SERVICES]),
        "replicas_desired": _matrix("tenfold_desired_replicas", t, [({"service": s}, desired) for s in SERVICES]),
        "cpu_utilization": _matrix("cpu", t, [({"service": s}, cpu) for s in SERVICES]),
        "request_rate_by_code": _matrix("rate", t, [({"service": s, "code": "200"}, rate / 4) for s in SERVICES]),
        "request_rate_by_priority": _matrix("rate", t, [({"priority": p, "code": "200"}, rate / 3)
                                                        for p in ("critical", "degraded", "best-effort")]),
        "breaker_state": _matrix("breaker", t, [({"service": "recommendations", "dependency": "redis"},
                                                 np.where(chaos, 2.0, 0.0))]),
        "cache_requests": _matrix("cache", t, [
            ({"service": "recommendations", "result": "hit"}, np.where(chaos, 0.0, rate * 0.2)),
            ({"service": "recommendations", "result": "miss"}, np.where(chaos, 0.0, rate * 0.05)),
            ({"service": "recommendations", "result": "error"}, np.where(chaos, rate * 0.25, 0.0)),
        ]),
        "fallback_rate": _matrix("fallback", t, [({"service": "recommendations", "reason": "cache"},
                                                  np.where(chaos & k.fallbacks, rate * 0.25, 0.0))]),
    }  # fmt: skip
    for name, doc in docs.items():
        (m / f"{name}.json").write_text(json.dumps(doc))
    with (out / "controller_events.jsonl").open("w") as f:
        for i in range(1, t.size):
            if desired[i] != desired[i - 1]:
                for s in SERVICES:
                    f.write(json.dumps({"ts": T0 + t[i], "kind": "scale", "service": s, "from": int(desired[i - 1]),
                                        "to": int(desired[i]), "reason": "cpu"}) + "\n")  # fmt: skip
        # The chaos kill of a replica: the control API says so, then the controller sees it die and restarts it.
        kill_at = T0 + float(t[t.size // 2])
        f.write(json.dumps({"ts": kill_at, "kind": "replica_killed", "service": "recommendations", "from": 1,
                            "to": "SIGKILL", "reason": "control API"}) + "\n")  # fmt: skip
        f.write(json.dumps({"ts": kill_at + 0.3, "kind": "replica_died", "service": "recommendations", "from": 1,
                            "to": 4242, "reason": "restarts=0"}) + "\n")  # fmt: skip
        if k.crash:
            f.write(json.dumps({"ts": kill_at + 1, "kind": "replica_died", "service": "catalog", "from": 0,
                                "to": 4343, "reason": "restarts=0"}) + "\n")  # fmt: skip


def make_run(path: str | Path, knobs: Knobs | None = None) -> Path:
    """Write a complete synthetic run folder at ``path`` and return it."""
    k = knobs or Knobs()
    out = Path(path)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(k.seed)
    pq.write_table(  # type: ignore[no-untyped-call]
        _requests(k, rng), out / "requests.parquet", row_group_size=256 * 1024
    )
    _metrics(k, out)
    experiments = []
    if k.with_chaos:
        inj, rec = T0 + _CHAOS[0], T0 + _CHAOS[1]
        experiments.append({
            "name": "cache-lost-30s", "file": "experiments/local/cache-lost-30s.json",
            "scheduled_offset_s": _CHAOS[0] - 1,
            "start": inj - 1, "end": rec + 2, "injected_at": inj, "recovered_at": None if k.never_recover else rec,
            "status": "completed", "rollback_ok": True,
        })  # fmt: skip
        (out / "chaos").mkdir(exist_ok=True)
        (out / "chaos" / "cache-lost-30s.journal.json").write_text(json.dumps({
            "status": "completed", "start": "2025-10-09T08:53:59", "end": "2025-10-09T08:54:12", "deviated": False,
            "run": [{"activity": {"name": "lose-the-cache"}, "status": "succeeded"}],
            "rollbacks": [{"activity": {"name": "restore-the-cache"}, "status": "succeeded"}],
            "steady_states": {"before": {"steady_state_met": True}, "after": {"steady_state_met": True}},
        }))  # fmt: skip
    manifest = {
        "id": out.name, "scenario": "spike", "profile": "synthetic", "started": T0, "ended": T0 + 100.0,
        "phases": [{"name": n, "start": T0 + s, "end": T0 + e} for n, s, e, _ in _PHASES],
        "experiments": experiments,
        "controls": {"autoscaling": k.autoscaling, "fallbacks": k.fallbacks},
        "hpa": {s: {"min": 2, "max": 8, "target_cpu_utilization": 0.7} for s in SERVICES},
        "validity": {"valid": True, "reasons": []},
        "versions": {"tenfold": "0.1.0"}, "git_sha": "0" * 40, "host": {"cpus": 2}, "cgroups_limited": True,
    }  # fmt: skip
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1))
    reason = None if k.generator_valid else "process 0: generator CPU ≥ 90% of its allowance for 12 s"
    load = {
        "scenario": "spike", "profile": "synthetic", "started": T0, "ended": T0 + 100.0,
        "phases": [{"name": n, "start": T0 + s, "end": T0 + e, "target_rate": [r * 100, r * 100]}
                   for n, s, e, r in _PHASES],
        "target_rates": {"baseline_rate": 100.0, "peak_rate": 1000.0},
        "achieved_rates": {n: r * (100 if k.generator_valid else 61) for n, _, _, r in _PHASES},
        "achieved_request_rates": {n: r * (100 if k.generator_valid else 61) for n, _, _, r in _PHASES},
        "requests": k.rows, "arrivals": k.rows, "warnings": [],
        "generator": {"processes": [{"worker": 0, "user_instances": 64}], "start_lag_p99_ms": 3.0,
                      "valid": k.generator_valid, "invalid_reason": reason},
        "valid": k.generator_valid, "invalid_reason": reason,
    }  # fmt: skip
    (out / "load.json").write_text(json.dumps(load))
    missing = [{"kind": "my-list", "key": f"user-{i}/title-{i}"} for i in range(k.lost_writes)]
    (out / "durability.json").write_text(json.dumps({
        "acknowledged": {"my-list": 500, "event": 3000}, "checked": {"my-list": 500, "event": 3000},
        "lost": {"my-list": k.lost_writes} if k.lost_writes else {}, "missing": missing, "unverified": {},
        "errors": {}, "unchecked": [], "checked_at": T0 + 101,
    }))  # fmt: skip
    return out
