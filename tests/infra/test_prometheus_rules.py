"""infra/prometheus/rules is valid for promtool, and the PrometheusRule in infra/k8s carries the same groups.

Regenerate the Kubernetes copy after editing the rules file:
    .venv/bin/python tests/infra/test_prometheus_rules.py
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from _infra import K8S, RULES

RULE_FILE = RULES / "tenfold.rules.yml"
K8S_RULE = K8S / "monitoring" / "prometheus-rules.yaml"
HEADER = (
    "# GENERATED from infra/prometheus/rules/tenfold.rules.yml: edit that file, then run\n"
    "#   .venv/bin/python tests/infra/test_prometheus_rules.py\n"
    "# (tests/infra checks the two stay identical).\n"
)
METRICS = {
    "http_requests_total",
    "http_request_duration_seconds_bucket",
    "cache_requests_total",
    "fallback_responses_total",
    "circuit_breaker_state",
}


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def render_prometheus_rule() -> str:
    rules = yaml.safe_load(RULE_FILE.read_text())
    doc: dict[str, Any] = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "tenfold", "namespace": "tenfold", "labels": {"app.kubernetes.io/part-of": "tenfold"}},
        "spec": {"groups": rules["groups"]},
    }
    return HEADER + yaml.dump(doc, Dumper=_Dumper, sort_keys=False, width=120)


def test_k8s_prometheusrule_is_generated_from_the_rule_file() -> None:
    assert K8S_RULE.read_text() == render_prometheus_rule(), (
        "run: .venv/bin/python tests/infra/test_prometheus_rules.py"
    )
    assert yaml.safe_load(K8S_RULE.read_text())["spec"]["groups"] == yaml.safe_load(RULE_FILE.read_text())["groups"]


def test_promtool_accepts_the_rules(tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool not installed (scripts/setup installs Debian's prometheus package, which ships it)")
    out = subprocess.run([promtool, "check", "rules", str(RULE_FILE)], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stdout + out.stderr
    broken = tmp_path / "broken.yml"
    broken.write_text("groups:\n  - name: x\n    rules:\n      - record: a:b\n        expr: sum(rate(x[1m])\n")
    bad = subprocess.run([promtool, "check", "rules", str(broken)], capture_output=True, text=True, timeout=30)
    assert bad.returncode != 0


def test_rules_use_the_designed_metric_names() -> None:
    text = RULE_FILE.read_text()
    for metric in METRICS:
        assert metric in text, metric
    groups = yaml.safe_load(text)["groups"]
    alerts = [r for g in groups for r in g["rules"] if "alert" in r]
    assert alerts and all(r["labels"]["severity"] in {"page", "ticket"} for r in alerts)
    assert all("summary" in r["annotations"] for r in alerts)


# kube-state-metrics and cAdvisor series as a cluster has them; the queries are reports/collect.py's.
KUBE_SERIES = {
    'kube_horizontalpodautoscaler_info{namespace="tenfold", horizontalpodautoscaler="catalog", '
    'scaletargetref_kind="Deployment", scaletargetref_name="catalog"}': "1x10",
    'kube_horizontalpodautoscaler_spec_max_replicas{namespace="tenfold", horizontalpodautoscaler="catalog"}': "8x10",
    'kube_horizontalpodautoscaler_spec_min_replicas{namespace="tenfold", horizontalpodautoscaler="catalog"}': "2x10",
    'kube_horizontalpodautoscaler_spec_target_metric{namespace="tenfold", horizontalpodautoscaler="catalog", '
    'metric_name="cpu", metric_target_type="utilization"}': "70x10",
    'kube_deployment_status_replicas_ready{namespace="tenfold", deployment="catalog"}': "2 2 3 4 4 4 4 4 4 4",
    'kube_deployment_spec_replicas{namespace="tenfold", deployment="catalog"}': "2 4 4 4 4 4 4 4 4 4",
    'kube_horizontalpodautoscaler_status_desired_replicas{namespace="tenfold", horizontalpodautoscaler="catalog"}':
        "2 4 4 4 4 4 4 4 4 4",
    'container_cpu_usage_seconds_total{namespace="tenfold", pod="catalog-7d9f8b6c5-x2x9q", container="catalog"}':
        "0+3.75x10",  # 0.25 cores
    'kube_pod_container_resource_requests{namespace="tenfold", pod="catalog-7d9f8b6c5-x2x9q", container="catalog",'
    ' resource="cpu"}': "0.25x10",
}  # fmt: skip


def _promtool_test(
    tmp_path: Path, queries: dict[str, str], expected: dict[str, float]
) -> subprocess.CompletedProcess[str]:  # fmt: skip
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool not installed (scripts/setup installs Debian's prometheus package, which ships it)")
    test = {
        "rule_files": [str(RULE_FILE)],
        "evaluation_interval": "15s",
        "tests": [{
            "interval": "15s",
            "input_series": [{"series": k, "values": v} for k, v in KUBE_SERIES.items()],
            "promql_expr_test": [{"expr": queries[name], "eval_time": "2m",
                                  "exp_samples": [{"labels": '{service="catalog"}', "value": value}]}
                                 for name, value in expected.items()],
        }],
    }  # fmt: skip
    (tmp_path / "kube.test.yml").write_text(yaml.safe_dump(test))
    return subprocess.run([promtool, "test", "rules", str(tmp_path / "kube.test.yml")], capture_output=True, text=True,
                          timeout=30)  # fmt: skip


def test_on_kubernetes_the_rules_give_the_local_series_for_grafana(tmp_path: Path) -> None:
    """The recording rules turn kube-state-metrics into the local stack's names (the dashboard reads those)."""
    from reports.collect import LOCAL_QUERIES

    expected = {"replicas_ready": 4, "replicas_desired": 4, "hpa_desired_replicas": 4, "cpu_utilization": 1.0}
    out = _promtool_test(tmp_path, LOCAL_QUERIES, expected)
    assert out.returncode == 0, out.stdout + out.stderr
    wrong = _promtool_test(tmp_path, LOCAL_QUERIES, {**expected, "cpu_utilization": 0.5})
    assert wrong.returncode != 0 and "tenfold_cpu_utilization_ratio" in wrong.stdout + wrong.stderr


def test_the_default_kube_queries_read_kube_state_metrics_without_the_rules(tmp_path: Path) -> None:
    """`--target URL --prometheus URL`: KUBE_QUERIES and KUBE_HPA_QUERIES, filled for the watched deployment, give
    the same series straight from kube-state-metrics and cAdvisor."""
    from reports.collect import KUBE_HPA_QUERIES, KUBE_QUERIES, fill

    queries = {n: fill(q, ["catalog"], "tenfold") for n, q in {**KUBE_QUERIES, **KUBE_HPA_QUERIES}.items()}
    expected = {"replicas_ready": 4, "replicas_desired": 4, "hpa_desired_replicas": 4, "cpu_utilization": 1.0,
                "hpa_min_replicas": 2, "hpa_max_replicas": 8, "hpa_target_cpu_utilization": 70}  # fmt: skip
    out = _promtool_test(tmp_path, queries, expected)
    assert out.returncode == 0, out.stdout + out.stderr
    other = {n: fill(q, ["checkout"], "tenfold") for n, q in KUBE_QUERIES.items()}  # not watched: no series
    assert _promtool_test(tmp_path, other, {"replicas_ready": 4}).returncode != 0


if __name__ == "__main__":
    K8S_RULE.write_text(render_prometheus_rule())
    print(f"wrote {K8S_RULE}")
