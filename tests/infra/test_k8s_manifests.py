"""Every manifest under infra/k8s validates against the Kubernetes schemas, offline.

kubernetes-validate bundles the OpenAPI schemas per version (strict mode rejects unknown fields, which
catches typos such as `averageUtilisation`). CRDs (ServiceMonitor, PrometheusRule, TargetGroupBinding)
are not in those schemas, so they get structural checks here instead.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from _infra import K8S, K8S_VERSION, ROOT, TERRAFORM, k8s_docs, k8s_manifest_files

from tenfold.stack.haproxy import ROUTES as GATEWAY_ROUTES

CRD_KINDS = {"ServiceMonitor", "PrometheusRule", "TargetGroupBinding"}
BUILTIN = [(p, d) for p, d in k8s_docs() if d["kind"] not in CRD_KINDS]
CRDS = [(p, d) for p, d in k8s_docs() if d["kind"] in CRD_KINDS]


def _id(item: tuple[Path, dict[str, Any]]) -> str:
    path, doc = item
    return f"{path.relative_to(K8S)}:{doc['kind']}/{doc['metadata']['name']}"


@pytest.mark.parametrize("item", BUILTIN, ids=[_id(i) for i in BUILTIN])
def test_builtin_objects_validate_strictly(item: tuple[Path, dict[str, Any]]) -> None:
    kubernetes_validate.validate(item[1], K8S_VERSION, strict=True)


def test_validator_rejects_a_broken_manifest() -> None:
    """The check above can fail: a misspelt HPA field and a string replica count are both caught."""
    hpa = next(d for _, d in BUILTIN if d["kind"] == "HorizontalPodAutoscaler")
    broken = copy.deepcopy(hpa)
    broken["spec"]["metrics"][0]["resource"]["target"]["averageUtilisation"] = 70
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, K8S_VERSION, strict=True)
    dep = copy.deepcopy(next(d for _, d in BUILTIN if d["kind"] == "Deployment"))
    dep["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(dep, K8S_VERSION, strict=True)


def test_every_kind_is_covered() -> None:
    kinds = {d["kind"] for _, d in k8s_docs()}
    expected = {"Namespace", "ServiceAccount", "NetworkPolicy", "Deployment", "Service", "HorizontalPodAutoscaler"}
    expected |= {"PodDisruptionBudget", "Ingress", "ConfigMap", "ServiceMonitor", "PrometheusRule"}
    assert expected <= kinds


def test_names_are_unique_per_namespace_and_kind() -> None:
    seen: set[tuple[str, str, str]] = set()
    for _, doc in k8s_docs():
        key = (doc["kind"], doc["metadata"].get("namespace", ""), doc["metadata"]["name"])
        assert key not in seen, key
        seen.add(key)


def test_every_object_is_namespaced_explicitly() -> None:
    for path, doc in k8s_docs():
        if doc["kind"] != "Namespace":
            assert doc["metadata"].get("namespace") in {"tenfold", "tenfold-load", "monitoring"}, _id((path, doc))


def test_kustomization_lists_existing_files_and_every_service() -> None:
    kust = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    resources = kust["resources"]
    for res in resources:
        assert (K8S / res).is_file(), res
    services = {f"services/{p.name}" for p in (K8S / "services").glob("*.yaml")}
    assert services <= set(resources)
    # Applied on their own, by design (see the file's header).
    assert not any(r.startswith("locust/") or r in {"ingress.yaml", "prometheus-adapter.yaml"} for r in resources)


def test_deployment_pods_are_hardened_and_probed() -> None:
    for path, doc in BUILTIN:
        if doc["kind"] != "Deployment":
            continue
        pod = doc["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, path
        assert pod["automountServiceAccountToken"] is False, path
        for c in pod["containers"]:
            assert c["securityContext"]["allowPrivilegeEscalation"] is False, path
            assert c["securityContext"]["readOnlyRootFilesystem"] is True, path
            assert c["securityContext"]["capabilities"]["drop"] == ["ALL"], path
            assert {"requests", "limits"} <= set(c["resources"]), path
            assert "readinessProbe" in c and "livenessProbe" in c, path
        selector = doc["spec"]["selector"]["matchLabels"]
        assert selector.items() <= doc["spec"]["template"]["metadata"]["labels"].items(), path


def test_services_select_their_deployments_and_ingress_routes_to_services() -> None:
    deployments = {d["metadata"]["name"]: d for _, d in BUILTIN if d["kind"] == "Deployment"}
    services = {d["metadata"]["name"]: d for _, d in BUILTIN if d["kind"] == "Service"}
    for name, svc in services.items():
        labels = deployments[name]["spec"]["template"]["metadata"]["labels"]
        assert svc["spec"]["selector"].items() <= labels.items(), name
    ingress = next(d for _, d in BUILTIN if d["kind"] == "Ingress")
    routes = {p["path"]: p["backend"]["service"]["name"] for r in ingress["spec"]["rules"] for p in r["http"]["paths"]}
    assert routes == {prefix: name for name, prefixes in GATEWAY_ROUTES.items() for prefix in prefixes}
    assert set(routes.values()) <= set(services)


def test_locust_workers_match_expected_workers() -> None:
    docs = {d["metadata"]["name"]: d for _, d in k8s_docs() if d["kind"] == "Deployment"}
    master = docs["locust-master"]["spec"]["template"]["spec"]["containers"][0]["command"]
    expect = next(int(a.split("=", 1)[1]) for a in master if a.startswith("--expect-workers="))
    assert docs["locust-worker"]["spec"]["replicas"] == expect
    assert any(a.startswith("--run-time=") for a in master), "distributed load must be bounded in time"


def test_prometheus_adapter_serves_the_metric_the_hpas_use() -> None:
    cm = next(d for _, d in BUILTIN if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "prometheus-adapter-rules")
    config = yaml.safe_load(cm["data"]["config.yaml"])
    served = {r["name"]["as"] for r in config["rules"]}
    used = {
        m["pods"]["metric"]["name"]
        for _, d in BUILTIN
        if d["kind"] == "HorizontalPodAutoscaler"
        for m in d["spec"]["metrics"]
        if m["type"] == "Pods"
    }
    assert used and used <= served
    terraform = (TERRAFORM / "eks.tf").read_text()
    assert f'existing = "{cm["metadata"]["name"]}"' in terraform


# --- CRDs: structural checks (not in the bundled schemas) -----------------------------------------------


def test_servicemonitor_scrapes_the_services_named_port() -> None:
    (sm,) = [d for _, d in CRDS if d["kind"] == "ServiceMonitor"]
    assert sm["apiVersion"] == "monitoring.coreos.com/v1"
    selector = sm["spec"]["selector"]["matchLabels"]
    ports = {e["port"] for e in sm["spec"]["endpoints"]}
    matched = [
        d
        for _, d in BUILTIN
        if d["kind"] == "Service"
        and d["metadata"]["namespace"] == sm["metadata"]["namespace"]
        and selector.items() <= d["metadata"]["labels"].items()
    ]
    assert len(matched) == 4
    for svc in matched:
        assert ports <= {p["name"] for p in svc["spec"]["ports"]}
    assert all(e["path"] == "/metrics" for e in sm["spec"]["endpoints"])


def test_prometheusrule_shape() -> None:
    (rule,) = [d for _, d in CRDS if d["kind"] == "PrometheusRule"]
    assert rule["apiVersion"] == "monitoring.coreos.com/v1"
    for group in rule["spec"]["groups"]:
        assert isinstance(group["name"], str) and group["rules"]
        for r in group["rules"]:
            assert ("record" in r) != ("alert" in r)
            assert isinstance(r["expr"], str) and r["expr"].strip()


def test_targetgroupbinding_template_renders_valid_shape() -> None:
    """Terraform renders it (templatefile); emulate the two directives it uses and check the result."""
    text = (TERRAFORM / "templates" / "targetgroupbindings.yaml.tftpl").read_text()
    body = re.search(r"%\{ for name, arn in target_groups ~\}\n(.*)%\{ endfor ~\}", text, re.S)
    assert body, "template lost its for-loop"
    arns = {
        n: f"arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/{n[:6]}/abc" for n in ("users", "events")
    }
    rendered = "".join(
        body.group(1).replace("${name}", n).replace("${arn}", a).replace("${namespace}", "tenfold")
        for n, a in arns.items()
    )
    docs = [d for d in yaml.safe_load_all(rendered) if d]
    assert [d["metadata"]["name"] for d in docs] == ["users", "events"]
    for d in docs:
        assert d["apiVersion"] == "elbv2.k8s.aws/v1beta1" and d["kind"] == "TargetGroupBinding"
        assert d["spec"]["serviceRef"] == {"name": d["metadata"]["name"], "port": 80}
        assert d["spec"]["targetType"] == "ip"
        assert d["spec"]["targetGroupARN"] == arns[d["metadata"]["name"]]


def test_terraform_cluster_version_matches_validated_schema_version() -> None:
    text = (TERRAFORM / "variables.tf").read_text()
    block = text[text.index('variable "cluster_version"') :]
    assert re.search(r'default\s*=\s*"([0-9.]+)"', block).group(1) == K8S_VERSION  # type: ignore[union-attr]


def test_manifest_files_are_all_yaml_objects() -> None:
    files = k8s_manifest_files()
    assert len(files) >= 12
    assert all(f.is_relative_to(ROOT / "infra" / "k8s") for f in files)
