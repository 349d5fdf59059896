"""Collecting from a real Prometheus that scrapes a real service."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
from servers import prometheus, service, wait_for

from reports.collect import LOCAL_QUERIES, collect_metrics, write_controller_events
from reports.slo import load_slo
from tenfold.run import REPO

# The local stack's series and the reference services' own (the extra queries of the shipped slo.yaml).
QUERIES = {**LOCAL_QUERIES, **load_slo(REPO / "slo.yaml").metrics.queries}


def test_range_queries_land_in_the_run_folder(stores: dict[str, str], tmp_path: Path) -> None:
    svc = service("catalog", stores)
    prom = prometheus([f"127.0.0.1:{svc.port}"])
    try:
        start = time.time()

        def traffic_seen() -> bool:
            for i in range(1, 20):  # keep the counters moving between scrapes
                httpx.get(f"{svc.url}/api/titles/{i}")
            q = {"query": "sum(rate(http_requests_total[5s])) > 0"}
            return bool(httpx.get(f"{prom.url}/api/v1/query", params=q).json()["data"]["result"])

        wait_for(traffic_seen, 20, "a request rate in Prometheus")
        for _ in range(3):  # a few more scrapes, so the range query's 1 s grid has points with a rate
            traffic_seen()
            time.sleep(1)
        counts = collect_metrics(prom.url, tmp_path, start - 5, time.time(), QUERIES)
        assert set(counts) == set(QUERIES)
        docs = {n: json.loads((tmp_path / "metrics" / f"{n}.json").read_text()) for n in counts}
        seen = json.dumps(docs["request_rate_by_code"])[:600]
        assert counts["request_rate_by_code"] >= 1 and counts["cache_requests"] >= 1, seen
        assert counts["replicas_ready"] == 0  # no controller here: an empty result, not an error
        doc = json.loads((tmp_path / "metrics" / "request_rate_by_code.json").read_text())
        series = doc["data"]["result"][0]
        assert series["metric"] == {"service": "catalog", "code": "200"}
        assert max(float(v) for _, v in series["values"]) > 0
    finally:
        prom.stop()
        svc.stop()


def test_a_failing_query_is_recorded_with_its_error(tmp_path: Path) -> None:
    counts = collect_metrics("http://127.0.0.1:9", tmp_path, 0, 10, QUERIES, timeout_s=1)
    assert all(n == 0 for n in counts.values())
    assert "error" in json.loads((tmp_path / "metrics" / "breaker_state.json").read_text())


def test_controller_events_are_cut_to_the_run(tmp_path: Path) -> None:
    events = [{"ts": 5, "kind": "scale"}, {"ts": 15, "kind": "restart"}, {"ts": 25, "kind": "scale"}]
    assert write_controller_events(events, tmp_path, 10, 20) == 1
    assert json.loads((tmp_path / "controller_events.jsonl").read_text())["kind"] == "restart"
