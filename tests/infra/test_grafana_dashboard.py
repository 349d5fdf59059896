"""The Grafana dashboard has the HTML report's panels, and every query is valid PromQL (checked by promtool)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from _infra import GRAFANA, ROOT

DASHBOARD = GRAFANA / "tenfold-dashboard.json"
CHARTS = ROOT / "reports" / "charts.py"
# Variables Grafana substitutes before sending a query; promtool needs concrete values.
SUBSTITUTIONS = {
    "$__rate_interval": "1m",
    "$service": ".*",
    "$cpu_limit_cores": "0.25",
    "$error_budget": "0.01",
}
KNOWN_METRICS = {
    "http_requests_total",
    "http_request_duration_seconds_bucket",
    "cache_requests_total",
    "fallback_responses_total",
    "tenfold_replicas",
    "tenfold_desired_replicas",
    "tenfold_replica_cpu_seconds_total",
    "kube_deployment_status_replicas_ready",
    "kube_horizontalpodautoscaler_status_desired_replicas",
    "kube_pod_container_resource_limits",
    "container_cpu_usage_seconds_total",
    "container_memory_working_set_bytes",
}
PROMQL_WORDS = {"sum", "by", "rate", "histogram_quantile", "label_replace", "or", "le", "service", "class"}


def _dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text())  # type: ignore[no-any-return]


def _exprs() -> list[str]:
    return [t["expr"] for p in _dashboard()["panels"] for t in p["targets"]]


def _concrete(expr: str) -> str:
    for var, value in SUBSTITUTIONS.items():
        expr = expr.replace(var, value)
    return expr


def test_panels_are_the_html_reports_charts() -> None:
    if not CHARTS.exists():
        pytest.skip("reports/charts.py not present")
    report_titles = re.findall(r'Chart\(\s*"[a-z_]+",\s*"([^"]+)"', CHARTS.read_text())
    assert report_titles, "could not read the report's chart titles"
    assert [p["title"] for p in _dashboard()["panels"]] == report_titles


def test_layout_and_ids() -> None:
    dash = _dashboard()
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids))
    cells: set[tuple[int, int]] = set()
    for p in dash["panels"]:
        g = p["gridPos"]
        assert g["x"] + g["w"] <= 24
        area = {(x, y) for x in range(g["x"], g["x"] + g["w"]) for y in range(g["y"], g["y"] + g["h"])}
        assert not cells & area, f"panel {p['title']} overlaps another"
        cells |= area
        assert p["datasource"]["uid"] == "${datasource}"
        assert p["targets"], p["title"]
    variables = {v["name"] for v in dash["templating"]["list"]}
    assert {v.lstrip("$") for v in SUBSTITUTIONS if not v.startswith("$__")} <= variables


def test_queries_use_known_metrics() -> None:
    for expr in _exprs():
        concrete = _concrete(expr)
        assert "$" not in concrete.replace("${1}", "").replace("$1", ""), f"unsubstituted variable in {expr}"
        stripped = re.sub(r'"[^"]*"', "", concrete)
        stripped = re.sub(r"\{[^}]*\}", "", stripped)
        names = set(re.findall(r"\b[a-z_][a-z0-9_]*\b", stripped)) - PROMQL_WORDS
        metrics = {n for n in names if "_" in n and n not in {"histogram_quantile", "label_replace"}}
        assert metrics <= KNOWN_METRICS, metrics - KNOWN_METRICS


def test_queries_are_valid_promql(tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool not installed (scripts/setup installs Debian's prometheus package, which ships it)")
    rules = {"groups": [{"name": "dashboard", "rules": [{"record": f"dashboard:q{i}", "expr": _concrete(e)}
                                                         for i, e in enumerate(_exprs())]}]}  # fmt: skip
    path = tmp_path / "dashboard.rules.yml"
    path.write_text(yaml.safe_dump(rules))
    out = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"SUCCESS: {len(_exprs())} rules found" in out.stdout
