"""Offline checks of infra/terraform: every file parses, and the architecture's promises hold in the code.

`terraform validate` needs `terraform init` (providers and registry modules downloaded), which these offline
tests cannot do, so they assert structure: modules pinned, Multi-AZ and encryption on, data stores closed to
the internet, autoscaling and throttling configured, outputs for `tenfold run`. Formatting is
tests/infra/test_terraform_fmt.py's (`terraform fmt` needs no init).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from _infra import K8S, TERRAFORM, k8s_docs, load_tf

TF_FILES = sorted(TERRAFORM.glob("*.tf"))
PARSED = {p.name: load_tf(p) for p in TF_FILES}
ALL_TEXT = "\n".join(p.read_text() for p in TF_FILES)
# The code without its `moved` blocks, whose `from` names addresses that are no longer declared.
CODE_TEXT = re.sub(r"^moved \{\n.*?^\}\n", "", ALL_TEXT, flags=re.M | re.S)


def _blocks(kind: str) -> dict[str, Any]:
    """`module`/`variable`/`output` blocks by name, across files."""
    out: dict[str, Any] = {}
    for doc in PARSED.values():
        for entry in doc.get(kind, []):
            for name, body in entry.items():
                assert name not in out, f"duplicate {kind} {name}"
                out[name] = body
    return out


def _resources(kind: str = "resource") -> dict[tuple[str, str], Any]:
    out: dict[tuple[str, str], Any] = {}
    for doc in PARSED.values():
        for entry in doc.get(kind, []):
            for rtype, named in entry.items():
                for name, body in named.items():
                    out[(rtype, name)] = body
    return out


MODULES = _blocks("module")
VARIABLES = _blocks("variable")
OUTPUTS = _blocks("output")
RESOURCES = _resources()
LOCALS = {name: value for doc in PARSED.values() for block in doc.get("locals", []) for name, value in block.items()}


def _file_of(name: str) -> Path:
    return next(p for p in TF_FILES if re.search(rf'^(module|resource "[^"]+") "{name}"', p.read_text(), re.M))


@pytest.mark.parametrize("path", TF_FILES, ids=[p.name for p in TF_FILES])
def test_every_file_parses(path: Path) -> None:
    assert PARSED[path.name], f"{path.name} parsed to nothing"


def test_modules_are_registry_modules_pinned_by_version() -> None:
    assert len(MODULES) >= 12
    for name, mod in MODULES.items():
        assert re.fullmatch(r"(terraform-aws-modules/[a-z0-9-]+/aws(//modules/[a-z0-9-]+)?)", mod["source"]), name
        assert re.fullmatch(r"~> \d+\.\d+", mod["version"]), f"{name}: pin a minor floor inside one major"


def test_architecture_modules_present() -> None:
    sources = {m["source"].split("//")[0] for m in MODULES.values()}
    for needed in (
        "vpc",
        "eks",
        "elasticache",
        "rds",
        "dynamodb-table",
        "s3-bucket",
        "alb",
        "apigateway-v2",
        "cloudfront",
        "managed-service-prometheus",
        "iam",
    ):
        assert f"terraform-aws-modules/{needed}/aws" in sources, needed


def test_providers_pinned_and_state_encrypted() -> None:
    (tf,) = PARSED["versions.tf"]["terraform"]
    providers = tf["required_providers"][0]
    for name in ("aws", "helm", "kubernetes", "random"):
        assert providers[name]["version"].startswith("~> "), name
    assert tf["backend"][0]["s3"]["encrypt"] is True


def test_vpc_spans_three_azs_with_nat_per_az() -> None:
    vpc = MODULES["vpc"]
    assert "slice(data.aws_availability_zones.available.names, 0, 3)" in ALL_TEXT
    for key in ("public_subnets", "private_subnets", "database_subnets"):
        assert "local.azs" in vpc[key]
    assert vpc["one_nat_gateway_per_az"] is True and vpc["single_nat_gateway"] is False


def test_eks_managed_nodes_autoscaled_across_azs() -> None:
    eks = MODULES["eks"]
    (group,) = eks["eks_managed_node_groups"].values()
    assert group["min_size"] == "${var.node_min_size}" and group["max_size"] == "${var.node_max_size}"
    assert group["tags"]["k8s.io/cluster-autoscaler/enabled"] == "true"
    assert "cluster_autoscaler" in {n for (_, n) in RESOURCES}
    assert MODULES["cluster_autoscaler_irsa"]["attach_cluster_autoscaler_policy"] is True
    assert MODULES["lb_controller_irsa"]["attach_load_balancer_controller_policy"] is True
    assert eks["cluster_encryption_config"] == {"resources": ["secrets"]}
    assert VARIABLES["node_min_size"]["default"] >= 3


def test_redis_multi_az_failover_replica_encrypted() -> None:
    redis = MODULES["redis"]
    assert redis["multi_az_enabled"] is True
    assert redis["automatic_failover_enabled"] is True
    assert redis["at_rest_encryption_enabled"] is True and redis["transit_encryption_enabled"] is True
    assert redis["num_cache_clusters"] == "${1 + var.redis_replicas}"
    assert VARIABLES["redis_replicas"]["default"] >= 1
    assert "var.redis_replicas >= 1" in str(VARIABLES["redis_replicas"]["validation"])


def test_rds_multi_az_encrypted_password_in_secrets_manager() -> None:
    rds = MODULES["postgres"]
    assert rds["engine"] == "postgres"
    assert rds["multi_az"] is True
    assert rds["storage_encrypted"] is True
    assert rds["manage_master_user_password"] is True
    assert "password" not in rds
    assert rds["publicly_accessible"] is False
    assert {"name": "synchronous_commit", "value": "on"} in rds["parameters"]


def test_dynamodb_on_demand_encrypted() -> None:
    ddb = MODULES["dynamodb"]
    assert ddb["billing_mode"] == "PAY_PER_REQUEST"
    assert ddb["server_side_encryption_enabled"] is True
    assert ddb["point_in_time_recovery_enabled"] is True
    assert re.search(r'titles\s*=\s*"id"', ALL_TEXT) and re.search(r'recommendations\s*=\s*"user_id"', ALL_TEXT)


def test_buckets_private_encrypted_with_lifecycle() -> None:
    """Every S3 bucket is an instance of one module block (for_each over local.buckets) with the same protections;
    per bucket only the lifecycle rule's id and expiry differ."""
    s3 = MODULES["buckets"]
    assert s3["for_each"] == "${local.buckets}"
    assert s3["bucket_prefix"] == "${local.name}-${each.key}-"
    for flag in ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"):
        assert s3[flag] is True, flag
    assert s3["attach_deny_insecure_transport_policy"] is True
    assert s3["versioning"] == {"enabled": True}
    rule = s3["server_side_encryption_configuration"]["rule"]
    assert rule["apply_server_side_encryption_by_default"]["sse_algorithm"] in {"aws:kms", "AES256"}
    (lifecycle,) = s3["lifecycle_rule"]
    assert lifecycle.startswith("${merge({enabled = true, ") and lifecycle.endswith("}, each.value.lifecycle)}")
    assert "expiration" not in lifecycle.replace("noncurrent_version_expiration", ""), "expiry is per bucket"
    buckets = LOCALS["buckets"]
    assert set(buckets) == {"events", "results"}
    assert buckets["events"]["lifecycle"]["expiration"] == {"days": "${var.events_retention_days}"}
    assert "expiration" not in buckets["results"]["lifecycle"], "a run folder is evidence: never expired"
    assert OUTPUTS["events_bucket"]["value"] == '${module.buckets["events"].s3_bucket_id}'


def test_each_service_role_gets_one_policy_and_trusts_one_account() -> None:
    """module.service_irsa: a role per entry of local.service_roles, with exactly the policy named there, trusted by
    service account tenfold-<key> in its namespace; Terraform creates those accounts with that role's annotation."""
    assert LOCALS["service_roles"] == {
        "catalog": "catalog-reads",
        "recommendations": "catalog-reads",
        "events": "events-writes",
        "load-generator": "results-uploads",
    }
    policies = RESOURCES[("aws_iam_policy", "services")]
    assert policies["name"] == "${local.name}-${each.key}"
    assert policies["for_each"] == {
        name: f"${{data.aws_iam_policy_document.{name.replace('-', '_')}.json}}"
        for name in set(LOCALS["service_roles"].values())
    }
    irsa = MODULES["service_irsa"]
    assert irsa["for_each"] == "${local.service_roles}"
    assert irsa["role_policy_arns"] == {"main": "${aws_iam_policy.services[each.value].arn}"}
    (trusted,) = irsa["oidc_providers"]["main"]["namespace_service_accounts"]
    assert trusted == "${local.k8s_namespaces[local.service_accounts[each.key]]}:tenfold-${each.key}"
    (account,) = RESOURCES[("kubernetes_service_account_v1", "services")]["metadata"]
    assert account["name"] == "tenfold-${each.key}"
    assert account["namespace"] == "${kubernetes_namespace_v1.namespaces[each.value].metadata[0].name}"
    assert account["annotations"] == (
        '${contains(keys(local.service_roles), each.key) ? {"eks.amazonaws.com/role-arn" = '
        "module.service_irsa[each.key].iam_role_arn} : {}}"
    )
    namespaces = RESOURCES[("kubernetes_namespace_v1", "namespaces")]
    assert namespaces["for_each"] == "${local.k8s_namespaces}" and namespaces["metadata"][0]["name"] == "${each.value}"
    assert LOCALS["k8s_namespaces"] == {"tenfold": "${local.k8s_namespace}", "load": "${local.k8s_load_namespace}"}
    # Every service's account lives in the services' namespace; the load generator's in its own.
    assert LOCALS["service_accounts"] == {**dict.fromkeys(LOCALS["services"], "tenfold"), "load-generator": "load"}


def test_results_bucket_and_the_load_generator_may_only_write_into_it() -> None:
    """The distributed load generator's master (infra/k8s/locust) uploads its run folder with an IRSA role that can
    put objects into the results bucket and do nothing else; Terraform annotates the manifests' service account."""
    (statement,) = _resources("data")[("aws_iam_policy_document", "results_uploads")]["statement"]
    assert set(statement["actions"]) == {"s3:PutObject", "s3:AbortMultipartUpload"}
    assert statement["resources"] == ['${module.buckets["results"].s3_bucket_arn}/*']
    assert LOCALS["service_roles"]["load-generator"] == "results-uploads"
    assert list(LOCALS["service_roles"].values()).count("results-uploads") == 1
    namespace = LOCALS["k8s_load_namespace"]
    (master,) = [d for p, d in k8s_docs() if p.is_relative_to(K8S / "locust") and d["kind"] == "Job"
                 and d["metadata"]["name"] == "locust-master"]  # fmt: skip
    assert master["metadata"]["namespace"] == namespace
    assert master["spec"]["template"]["spec"]["serviceAccountName"] == "tenfold-load-generator"
    assert OUTPUTS["results_s3_url"]["value"] == 's3://${module.buckets["results"].s3_bucket_id}/runs'


def _address(ref: str) -> str:
    """`${module.buckets["events"]}` -> `module.buckets`: the block an address names, without its instance key."""
    return re.sub(r"\[[^]]*\]$", "", ref.removeprefix("${").removesuffix("}"))


def test_moved_blocks_lead_from_addresses_gone_to_declared_ones() -> None:
    """State written before the buckets, IRSA roles, policies, namespaces and service accounts were folded into
    for_each blocks moves to their instances instead of being destroyed and created again."""
    declared = {f"module.{m}" for m in MODULES} | {f"{t}.{n}" for (t, n) in RESOURCES}
    moved = {
        m["from"].removeprefix("${").removesuffix("}"): m["to"] for doc in PARSED.values() for m in doc.get("moved", [])
    }
    assert {
        "module.events_bucket",
        "module.results_bucket",
        "module.load_generator_irsa",
        "aws_iam_policy.catalog_reads",
        "aws_iam_policy.events_writes",
        "aws_iam_policy.results_uploads",
        "kubernetes_namespace_v1.tenfold",
        "kubernetes_namespace_v1.load",
        "kubernetes_service_account_v1.load_generator",
    } <= set(moved)
    for old, new in moved.items():
        assert old not in declared, f"{old} is still declared"
        assert _address(new) in declared, f"{old} moves to {new}, which is not declared"
    assert moved["module.events_bucket"] == '${module.buckets["events"]}'
    assert (
        moved["kubernetes_service_account_v1.load_generator"]
        == '${kubernetes_service_account_v1.services["load-generator"]}'
    )


def _ingress_sources(body: Any) -> list[str]:
    """Every CIDR-ish string anywhere in a module body (rules nest differently per module)."""
    found: list[str] = []
    if isinstance(body, dict):
        for v in body.values():
            found += _ingress_sources(v)
    elif isinstance(body, list):
        for v in body:
            found += _ingress_sources(v)
    elif isinstance(body, str):
        found.append(body)
    return found


@pytest.mark.parametrize("name", ["redis", "postgres_sg", "postgres"])
def test_data_stores_have_no_open_ingress(name: str) -> None:
    strings = _ingress_sources(MODULES[name])
    assert not any("0.0.0.0/0" in s or "::/0" in s for s in strings), name
    assert "publicly_accessible" not in MODULES[name] or MODULES[name]["publicly_accessible"] is False


def test_data_store_ingress_only_from_eks_nodes() -> None:
    redis_rules = MODULES["redis"]["security_group_rules"]
    assert [r["referenced_security_group_id"] for r in redis_rules.values()] == ["${module.eks.node_security_group_id}"]
    (pg,) = MODULES["postgres_sg"]["ingress_with_source_security_group_id"]
    assert pg["source_security_group_id"] == "${module.eks.node_security_group_id}"
    assert MODULES["redis"]["subnet_ids"] == "${module.vpc.database_subnets}"
    assert MODULES["postgres"]["db_subnet_group_name"] == "${module.vpc.database_subnet_group_name}"


def test_no_open_ingress_anywhere() -> None:
    """0.0.0.0/0 may appear only in the validation that forbids it."""
    for path in TF_FILES:
        for line in path.read_text().splitlines():
            if "0.0.0.0/0" in line:
                assert '!= "0.0.0.0/0"' in line or "must not contain 0.0.0.0/0" in line, f"{path.name}: {line}"


def test_edge_chain_cloudfront_apigw_vpclink_alb() -> None:
    alb, api, cdn = MODULES["alb"], MODULES["api_gateway"], MODULES["cdn"]
    assert alb["internal"] is True
    assert alb["drop_invalid_header_fields"] is True
    fixed = alb["listeners"]["http"]["fixed_response"]
    # ALB accepts only these content types for fixed responses.
    assert fixed["content_type"] in {
        "text/plain",
        "text/css",
        "text/html",
        "application/javascript",
        "application/json",
    }
    (route,) = api["routes"].values()
    integration = route["integration"]
    assert integration["connection_type"] == "VPC_LINK"
    assert integration["uri"] == '${module.alb.listeners["http"].arn}'
    assert integration["vpc_link_key"] in api["vpc_links"]
    settings = api["stage_default_route_settings"]
    assert settings["throttling_rate_limit"] == "${var.api_throttling_rate_limit}"
    assert settings["throttling_burst_limit"] == "${var.api_throttling_burst_limit}"
    (origin,) = cdn["origin"].values()
    assert "module.api_gateway.api_endpoint" in origin["domain_name"]
    assert origin["custom_origin_config"]["origin_protocol_policy"] == "https-only"
    assert cdn["default_cache_behavior"]["viewer_protocol_policy"] == "redirect-to-https"
    # The only way into the ALB is the VPC link's security group.
    (rule,) = alb["security_group_ingress_rules"].values()
    assert rule["referenced_security_group_id"] == "${module.vpc_link_sg.security_group_id}"


def test_alb_target_groups_health_check_readyz() -> None:
    assert re.search(r'path\s*=\s*"/readyz"', (TERRAFORM / "edge.tf").read_text())
    assert re.search(r'target_type\s*=\s*"ip"', (TERRAFORM / "edge.tf").read_text())


def test_cloudwatch_alarms_on_the_cpu_band() -> None:
    high = RESOURCES[("aws_cloudwatch_metric_alarm", "nodes_cpu_high")]
    low = RESOURCES[("aws_cloudwatch_metric_alarm", "nodes_cpu_low")]
    assert high["comparison_operator"] == "GreaterThanThreshold"
    assert low["comparison_operator"] == "LessThanThreshold"
    assert VARIABLES["cpu_high_threshold"]["default"] == 70
    assert VARIABLES["cpu_low_threshold"]["default"] == 30
    assert cpu_alarm_problems(RESOURCES) == []


def cpu_alarm_problems(resources: dict[tuple[str, str], Any]) -> list[str]:
    """The CPU alarms watch the node group's CPUUtilization at var.cpu_*_threshold, and the dashboard draws that CPU
    with the band, plus the data stores' CPU (a hard-coded 70 would not follow the variable)."""
    found = []
    for name, var in (("nodes_cpu_high", "cpu_high_threshold"), ("nodes_cpu_low", "cpu_low_threshold")):
        alarm = resources.get(("aws_cloudwatch_metric_alarm", name), {})
        if alarm.get("threshold") != f"${{var.{var}}}":
            found.append(f"{name}: threshold {alarm.get('threshold')!r} is not var.{var}")
        if (alarm.get("namespace"), alarm.get("metric_name")) != ("AWS/EC2", "CPUUtilization") or alarm.get(
            "dimensions"
        ) != {"AutoScalingGroupName": "${local.node_asg_name}"}:
            found.append(f"{name}: not the node group's AWS/EC2 CPUUtilization")
    for name in ("rds_cpu_high", "redis_cpu_high"):
        if resources.get(("aws_cloudwatch_metric_alarm", name), {}).get("threshold") != "${var.cpu_high_threshold}":
            found.append(f"{name}: threshold is not var.cpu_high_threshold")
    body = " ".join(str(resources.get(("aws_cloudwatch_dashboard", "main"), {}).get("dashboard_body", "")).split())
    for widget in (
        '["AWS/EC2", "CPUUtilization", "AutoScalingGroupName", local.node_asg_name]',
        '{label = "scale up", value = var.cpu_high_threshold}',
        '{label = "scale in", value = var.cpu_low_threshold}',
        '["AWS/RDS", "CPUUtilization", "DBInstanceIdentifier"',
        '["AWS/ElastiCache", "EngineCPUUtilization", "ReplicationGroupId"',
    ):
        if widget not in body:
            found.append(f"the dashboard has no {widget}")
    return found


@pytest.mark.parametrize(
    ("resource", "key", "value", "expected"),
    [
        ("nodes_cpu_high", "threshold", 70, "threshold 70 is not var.cpu_high_threshold"),
        ("nodes_cpu_low", "threshold", "${var.cpu_high_threshold}", "is not var.cpu_low_threshold"),
        ("nodes_cpu_high", "metric_name", "NetworkIn", "not the node group's"),
        ("redis_cpu_high", "threshold", 90, "redis_cpu_high: threshold"),
        ("main", "dashboard_body", "${jsonencode({widgets = []})}", "the dashboard has no"),
    ],
)
def test_a_cpu_alarm_or_dashboard_off_the_band_is_caught(resource: str, key: str, value: Any, expected: str) -> None:
    kind = "aws_cloudwatch_dashboard" if resource == "main" else "aws_cloudwatch_metric_alarm"
    broken = {**RESOURCES, (kind, resource): {**RESOURCES[(kind, resource)], key: value}}
    assert any(expected in p for p in cpu_alarm_problems(broken)), cpu_alarm_problems(broken)


def test_managed_prometheus_is_optional() -> None:
    assert MODULES["managed_prometheus"]["count"] == "${var.enable_managed_prometheus ? 1 : 0}"
    assert VARIABLES["enable_managed_prometheus"]["default"] is False


def test_variables_documented_typed_validated() -> None:
    unvalidated_ok = {"tags", "enable_managed_prometheus"}
    for name, var in VARIABLES.items():
        assert var.get("description"), name
        assert "type" in var, name
        if name not in unvalidated_ok:
            assert var.get("validation"), f"variable {name} has no validation block"


def test_every_reference_is_declared() -> None:
    """A typo in var./module./local. would only surface at `terraform plan`; catch it here."""
    for ref in set(re.findall(r"\bvar\.([a-z_][a-z0-9_]*)", CODE_TEXT)):
        assert ref in VARIABLES, f"var.{ref} is not declared"
    for ref in set(re.findall(r"\bmodule\.([a-z_][a-z0-9_]*)", CODE_TEXT)):
        assert ref in MODULES, f"module.{ref} is not declared"
    local_names: set[str] = set()
    for doc in PARSED.values():
        for block in doc.get("locals", []):
            local_names |= set(block)
    for ref in set(re.findall(r"\blocal\.([a-z_][a-z0-9_]*)", CODE_TEXT)):
        assert ref in local_names, f"local.{ref} is not declared"
    for used in set(VARIABLES):
        assert f"var.{used}" in CODE_TEXT, f"variable {used} is never used"


def test_outputs_include_public_url_for_tenfold_run() -> None:
    assert OUTPUTS["public_url"]["value"] == "https://${module.cdn.cloudfront_distribution_domain_name}"
    assert "--target" in OUTPUTS["public_url"]["description"]
    for name in ("cluster_name", "redis_replication_group_id", "rds_instance_identifier", "target_group_bindings_yaml"):
        assert name in OUTPUTS, name
        assert OUTPUTS[name].get("description"), name


def test_service_routes_match_the_k8s_services() -> None:
    services_dir = TERRAFORM.parent / "k8s" / "services"
    names = {p.stem for p in services_dir.glob("*.yaml")}
    (locals_block,) = [b for b in PARSED["locals.tf"]["locals"] if "services" in b]
    assert set(locals_block["services"]) == names
    assert _file_of("alb").name == "edge.tf"


# Helm release -> (its IRSA module, the policy that module attaches)
IRSA_RELEASES = {
    "aws_load_balancer_controller": ("lb_controller_irsa", "attach_load_balancer_controller_policy"),
    "cluster_autoscaler": ("cluster_autoscaler_irsa", "attach_cluster_autoscaler_policy"),
}


def irsa_problems(release: str, resources: dict[tuple[str, str], Any], modules: dict[str, Any]) -> list[str]:
    """The release's service account carries the IRSA role's ARN, and that role trusts exactly that account."""
    module, policy = IRSA_RELEASES[release]
    body = resources[("helm_release", release)]
    values = " ".join(" ".join(map(str, body.get("values", []))).split())
    sa = re.search(r'serviceAccount = \{name = "([^"]+)", annotations = \{"eks\.amazonaws\.com/role-arn" = '
                   rf"module\.{module}\.iam_role_arn\}}", values)  # fmt: skip
    if sa is None:
        return [f"{release}: its serviceAccount has no eks.amazonaws.com/role-arn annotation = module.{module}"]
    found = []
    trusted = modules[module]["oidc_providers"]["main"]["namespace_service_accounts"]
    if trusted != [f"{body['namespace']}:{sa.group(1)}"]:
        found.append(f"{module} trusts {trusted}, not {body['namespace']}:{sa.group(1)}")
    if modules[module].get(policy) is not True:
        found.append(f"{module}: {policy} is not set")
    return found


@pytest.mark.parametrize("release", sorted(IRSA_RELEASES))
def test_controllers_run_with_their_irsa_role(release: str) -> None:
    assert irsa_problems(release, RESOURCES, MODULES) == []


def test_a_release_without_its_role_annotation_is_caught() -> None:
    key = ("helm_release", "aws_load_balancer_controller")
    values = [RESOURCES[key]["values"][0].replace('"eks.amazonaws.com/role-arn"', '"example.com/role"')]
    broken = {**RESOURCES, key: {**RESOURCES[key], "values": values}}
    assert "no eks.amazonaws.com/role-arn" in irsa_problems("aws_load_balancer_controller", broken, MODULES)[0]
    wrong_ns = {**RESOURCES, key: {**RESOURCES[key], "namespace": "default"}}
    assert "trusts" in irsa_problems("aws_load_balancer_controller", wrong_ns, MODULES)[0]
    no_policy = {**MODULES, "lb_controller_irsa": {**MODULES["lb_controller_irsa"],
                                                   "attach_load_balancer_controller_policy": False}}  # fmt: skip
    assert "is not set" in irsa_problems("aws_load_balancer_controller", RESOURCES, no_policy)[0]
