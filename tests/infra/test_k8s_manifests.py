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
    expected |= {"PodDisruptionBudget", "Ingress", "ConfigMap", "ServiceMonitor", "PrometheusRule", "Job"}
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
    """Each Service selects the pods of the Deployment (or Job: the Locust master) of its name, in its namespace."""
    workloads = {(d["metadata"]["namespace"], d["metadata"]["name"]): d for _, d in BUILTIN
                 if d["kind"] in {"Deployment", "Job"}}  # fmt: skip
    services = {d["metadata"]["name"]: d for _, d in BUILTIN if d["kind"] == "Service"}
    for name, svc in services.items():
        labels = workloads[(svc["metadata"]["namespace"], name)]["spec"]["template"]["metadata"]["labels"]
        assert svc["spec"]["selector"].items() <= labels.items(), name
    ingress = next(d for _, d in BUILTIN if d["kind"] == "Ingress")
    routes = {p["path"]: p["backend"]["service"]["name"] for r in ingress["spec"]["rules"] for p in r["http"]["paths"]}
    assert routes == {prefix: name for name, prefixes in GATEWAY_ROUTES.items() for prefix in prefixes}
    assert set(routes.values()) <= set(services)


# --- the distributed load generator (infra/k8s/locust): Jobs that run once -----------------------------------------

LOCUST = {d["metadata"]["name"]: d for p, d in BUILTIN if p.is_relative_to(K8S / "locust") and d["kind"] == "Job"}


def _pod(name: str) -> dict[str, Any]:
    return LOCUST[name]["spec"]["template"]["spec"]


def _locust_container(name: str) -> dict[str, Any]:
    (container,) = _pod(name)["containers"]
    return container


def _emptydir_mounts(name: str) -> dict[str, str]:
    """mountPath -> volume name, for the container's mounts of emptyDir volumes."""
    empty = {v["name"] for v in _pod(name).get("volumes", []) if "emptyDir" in v}
    mounts = _locust_container(name).get("volumeMounts", [])
    return {m["mountPath"]: m["name"] for m in mounts if m["name"] in empty and not m.get("readOnly")}


def test_locust_workers_match_expected_workers() -> None:
    master = _locust_container("locust-master")["command"]
    expect = next(int(a.split("=", 1)[1]) for a in master if a.startswith("--expect-workers="))
    workers = LOCUST["locust-worker"]["spec"]
    assert workers["parallelism"] == workers["completions"] == expect
    wait = next(int(a.split("=", 1)[1]) for a in master if a.startswith("--expect-workers-max-wait="))
    assert 0 < wait < LOCUST["locust-master"]["spec"]["activeDeadlineSeconds"]


def test_locust_master_and_workers_are_jobs_that_run_once() -> None:
    """A Deployment restarts a finished headless master, which runs the spike again: both are Jobs, never retried,
    bounded in time, and the workers' bound is not shorter than the master's."""
    for name in ("locust-master", "locust-worker"):
        job = LOCUST[name]
        assert (job["apiVersion"], job["kind"]) == ("batch/v1", "Job"), name
        assert job["spec"]["backoffLimit"] == 0, name
        assert _pod(name)["restartPolicy"] == "Never", name
        assert 0 < job["spec"]["activeDeadlineSeconds"] <= 4 * 3600, name
        assert job["spec"]["ttlSecondsAfterFinished"] > 0, name
    deadline = {n: LOCUST[n]["spec"]["activeDeadlineSeconds"] for n in ("locust-master", "locust-worker")}
    assert deadline["locust-worker"] >= deadline["locust-master"]
    assert set(LOCUST) == {"locust-master", "locust-worker"}
    assert not [d for p, d in BUILTIN if p.is_relative_to(K8S / "locust") and d["kind"] == "Deployment"]


def test_locust_pods_are_hardened() -> None:
    for name in ("locust-master", "locust-worker"):
        pod, c = _pod(name), _locust_container(name)
        assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] != 0, name
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
        assert pod["automountServiceAccountToken"] is False, name
        assert c["securityContext"]["allowPrivilegeEscalation"] is False, name
        assert c["securityContext"]["readOnlyRootFilesystem"] is True, name
        assert c["securityContext"]["capabilities"]["drop"] == ["ALL"], name
        assert {"requests", "limits"} <= set(c["resources"]), name
        assert "livenessProbe" not in c, f"{name}: a liveness kill of a Job that is never restarted fails the run"


def test_no_locust_container_cuts_the_schedule() -> None:
    """The scenario's schedule bounds the run (the plugin would cut it at --run-time); the plugin writes Locust's
    --csv and --html into the run folder itself."""
    for name in ("locust-master", "locust-worker"):
        command = _locust_container(name)["command"]
        for flag in ("--run-time", "-t", "--csv", "--html"):
            assert not any(a == flag or a.startswith(f"{flag}=") for a in command), (name, flag)


def test_locust_master_writes_its_run_folder_on_an_emptydir_and_uploads_it() -> None:
    c = _locust_container("locust-master")
    command = c["command"]
    assert command[:5] == ["locust", "-f", "locustfiles/spike.py", "--master", "--headless"]
    run_dir = next(a.split("=", 1)[1] for a in command if a.startswith("--run-dir="))
    assert any(run_dir.startswith(mount.rstrip("/") + "/") for mount in _emptydir_mounts("locust-master")), run_dir
    assert "--upload-to=$(RESULTS_S3_URL)" in command
    env = {e["name"]: e for e in c["env"]}
    assert env["RESULTS_S3_URL"]["valueFrom"]["configMapKeyRef"] == {"name": "locust-target", "key": "RESULTS_S3_URL"}
    assert env["LOCUST_HOST"]["valueFrom"]["configMapKeyRef"] == {"name": "locust-target", "key": "TARGET_HOST"}
    assert _pod("locust-master")["serviceAccountName"] == "tenfold-load-generator"
    account = next(
        d for _, d in BUILTIN if d["kind"] == "ServiceAccount" and d["metadata"]["namespace"] == "tenfold-load"
    )
    assert account["metadata"]["name"] == "tenfold-load-generator"
    assert account["automountServiceAccountToken"] is False


def test_locust_workers_keep_their_parts_on_an_emptydir_tmpdir() -> None:
    c = _locust_container("locust-worker")
    worker = "tenfold worker --master locust-master:5557 --locustfile locustfiles/spike.py"
    assert c["command"] == worker.split()
    tmpdir = next(e["value"] for e in c["env"] if e["name"] == "TMPDIR")
    assert tmpdir.rstrip("/") in _emptydir_mounts("locust-worker")


def test_locust_master_service_and_network_policy_let_the_workers_in() -> None:
    svc = next(d for _, d in BUILTIN if d["kind"] == "Service" and d["metadata"]["namespace"] == "tenfold-load")
    assert svc["metadata"]["name"] == "locust-master"
    assert [(p["port"], p["targetPort"]) for p in svc["spec"]["ports"]] == [(5557, 5557)]
    assert svc["spec"]["selector"].items() <= LOCUST["locust-master"]["spec"]["template"]["metadata"]["labels"].items()
    assert {p["containerPort"] for p in _locust_container("locust-master")["ports"]} == {5557}
    labels = {n: LOCUST[n]["spec"]["template"]["metadata"]["labels"] for n in ("locust-master", "locust-worker")}
    policies = [d for _, d in BUILTIN if d["kind"] == "NetworkPolicy" and d["metadata"]["namespace"] == "tenfold-load"]

    def policy_of(name: str) -> dict[str, Any]:
        (policy,) = [p for p in policies if p["spec"]["podSelector"]["matchLabels"].items() <= labels[name].items()]
        return policy["spec"]

    def ports(rule: dict[str, Any]) -> set[int]:
        return {p["port"] for p in rule.get("ports", [])}

    master, worker = policy_of("locust-master"), policy_of("locust-worker")
    assert set(master["policyTypes"]) == set(worker["policyTypes"]) == {"Ingress", "Egress"}

    def selects(peers: list[dict[str, Any]], name: str) -> bool:
        return [p["podSelector"]["matchLabels"].items() <= labels[name].items() for p in peers] == [True]

    (inbound,) = master["ingress"]
    assert ports(inbound) == {5557} and selects(inbound["from"], "locust-worker")
    assert not worker.get("ingress"), "nothing connects to a worker"
    (to_master,) = [r for r in worker["egress"] if 5557 in ports(r)]
    assert selects(to_master["to"], "locust-master")
    # Out to anywhere by port: DNS, the target (its addresses are not the cluster's), and for the master S3 and STS.
    for spec in (master, worker):
        assert {53, 443} <= set().union(*(ports(r) for r in spec["egress"] if "to" not in r))


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
