"""Gather the evidence of a run into its folder while the stack is still up; afterwards the folder suffices.

Prometheus range queries → ``metrics/<name>.json``, the controller's events → ``controller_events.jsonl``,
the write ledger reconciled with the stores → ``durability.json`` (see ``reports.durability``).
This is the only module of ``reports`` that talks to a live system.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import httpx

__all__ = ["QUERIES", "collect_metrics", "write_controller_events"]

# name -> PromQL. Rates over 5 s: the local scrape interval is 1 s.
QUERIES: dict[str, str] = {
    "replicas_ready": 'sum by (service) (tenfold_replicas{state="ready"})',
    "replicas_desired": "max by (service) (tenfold_desired_replicas)",
    "hpa_desired_replicas": "max by (service) (tenfold_hpa_desired_replicas)",
    "cpu_utilization": "max by (service) (tenfold_cpu_utilization)",
    "request_rate_by_code": "sum by (service, code) (rate(http_requests_total[5s]))",
    "request_rate_by_priority": "sum by (priority, code) (rate(http_requests_total[5s]))",
    "breaker_state": "max by (service, dependency) (circuit_breaker_state)",
    "cache_requests": "sum by (service, result) (rate(cache_requests_total[5s]))",
    "fallback_rate": "sum by (service, reason) (rate(fallback_responses_total[5s]))",
}


def collect_metrics(
    prometheus_url: str, run_dir: Path, start: float, end: float, step: float = 1.0, *, timeout_s: float = 30.0,
    rate_window: str = "5s",
) -> dict[str, int]:  # fmt: skip
    """Runs every query over [start, end]; returns the number of series each produced.

    A query that fails is written with its error instead of data, so the report says why a chart is empty.
    ``rate_window`` replaces the queries' 5 s rate window: a cluster's Prometheus scrapes every 15-30 s.
    """
    out = run_dir / "metrics"
    out.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    with httpx.Client(base_url=prometheus_url, timeout=timeout_s) as client:
        for name, template in QUERIES.items():
            query = template.replace("[5s]", f"[{rate_window}]")
            doc: dict[str, Any] = {"query": query, "start": start, "end": end, "step": step}
            try:
                resp = client.get("/api/v1/query_range", params={"query": query, "start": start, "end": end,
                                                                   "step": step})  # fmt: skip
                body = resp.json()
                if body.get("status") != "success":
                    raise ValueError(body.get("error", f"HTTP {resp.status_code}"))
                doc["data"] = body["data"]
                counts[name] = len(body["data"].get("result", []))
            except (httpx.HTTPError, ValueError) as exc:
                doc["error"] = f"{type(exc).__name__}: {exc}"
                counts[name] = 0
            (out / f"{name}.json").write_text(json.dumps(doc))
    return counts


def write_controller_events(events: Iterable[dict[str, Any]], run_dir: Path, start: float, end: float) -> int:
    """The controller's events (restarts, scaling, readiness) that happened during the run."""
    kept = [e for e in events if start <= float(e.get("ts", 0)) <= end]
    (run_dir / "controller_events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in kept))
    return len(kept)
