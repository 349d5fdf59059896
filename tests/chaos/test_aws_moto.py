"""The AWS experiments' chaosaws activities, run from the experiment files against a real moto server.

Only what moto implements runs here; docs/chaos.md lists what it lacks, and the last test fails the day moto
gains one of those, so the list stays true."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from chaos_servers import ROOT, free_port, port_open, stop, wait_for
from chaoslib.activity import run_activity
from chaoslib.configuration import load_configuration
from chaoslib.exceptions import ActivityFailed

MOTO = Path(sys.executable).parent / "moto_server"
REGION = "eu-west-1"


@pytest.fixture(scope="module")
def moto() -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        [str(MOTO), "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_for(lambda: port_open(port), "moto_server", timeout=30)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(proc)


@pytest.fixture
def aws_env(moto: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point every boto3 client (chaosaws creates its own) at moto: boto3 honours AWS_ENDPOINT_URL."""
    for key, value in {
        "AWS_ENDPOINT_URL": moto,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "TENFOLD_NAME": "tenfold",
    }.items():
        monkeypatch.setenv(key, value)
    boto3.DEFAULT_SESSION = None  # chaosaws caches a default session; make it pick up this environment
    return moto


def _experiment(name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    experiment = json.loads((ROOT / "experiments" / "aws" / name).read_text())
    return experiment, load_configuration(experiment["configuration"])


def _activity(experiment: dict[str, Any], name: str) -> dict[str, Any]:
    activities = experiment["steady-state-hypothesis"]["probes"] + experiment["method"] + experiment["rollbacks"]
    found = [a for a in activities if a["name"] == name]
    assert found, f"no activity {name!r} in {experiment['title']}"
    activity = dict(found[0])
    activity.pop("pauses", None)  # the pauses wait for a real cloud; moto is instant
    return activity


def test_rds_reboot_experiment_reboots_the_instance(aws_env: str) -> None:
    rds = boto3.client("rds", region_name=REGION, endpoint_url=aws_env)
    rds.create_db_instance(
        DBInstanceIdentifier="tenfold-users",
        DBInstanceClass="db.t4g.micro",
        Engine="postgres",
        MasterUsername="tenfold",
        MasterUserPassword="not-a-secret-1",
        AllocatedStorage=20,
    )
    experiment, configuration = _experiment("rds-reboot.json")
    assert run_activity(_activity(experiment, "rds-available"), configuration, {}) == "available"
    answer = run_activity(_activity(experiment, "reboot-rds"), configuration, {})
    assert answer["DBInstance"]["DBInstanceIdentifier"] == "tenfold-users"
    assert run_activity(_activity(experiment, "rds-status-after-reboot"), configuration, {}) in (
        "available",
        "rebooting",
    )


def test_eks_node_experiment_terminates_one_node_group_instance(aws_env: str) -> None:
    ec2 = boto3.client("ec2", region_name=REGION, endpoint_url=aws_env)
    asg = boto3.client("autoscaling", region_name=REGION, endpoint_url=aws_env)
    image = ec2.describe_images()["Images"][0]["ImageId"]
    ec2.create_launch_template(
        LaunchTemplateName="nodes", LaunchTemplateData={"ImageId": image, "InstanceType": "t3.small"}
    )
    asg.create_auto_scaling_group(
        AutoScalingGroupName="eks-default-nodes",
        MinSize=3,
        MaxSize=3,
        DesiredCapacity=3,
        LaunchTemplate={"LaunchTemplateName": "nodes"},
        AvailabilityZones=[f"{REGION}a"],
        Tags=[{"Key": "eks:cluster-name", "Value": "tenfold", "PropagateAtLaunch": True}],
    )
    experiment, configuration = _experiment("eks-node-terminate.json")
    assert run_activity(_activity(experiment, "node-group-healthy"), configuration, {}) is True
    before = {i["InstanceId"] for i in asg.describe_auto_scaling_groups()["AutoScalingGroups"][0]["Instances"]}
    terminated = run_activity(_activity(experiment, "terminate-one-node"), configuration, {})
    assert len(terminated) == 1
    ids = [
        i["InstanceId"]
        for r in ec2.describe_instances()["Reservations"]
        for i in r["Instances"]
        if i["State"]["Name"] in ("shutting-down", "terminated")
    ]
    assert len(ids) == 1 and ids[0] in before


@pytest.mark.parametrize(
    ("experiment_file", "activity", "operation"),
    [
        ("elasticache-failover.json", "test-failover", "test_failover"),
        ("elasticache-reboot.json", "reboot-cache-nodes", "reboot_cache_cluster"),
    ],
)
def test_moto_still_lacks_the_elasticache_faults(
    aws_env: str, experiment_file: str, activity: str, operation: str
) -> None:
    """docs/chaos.md says these run only against AWS; if moto learns them, move them into the tests above."""
    from moto.elasticache.responses import ElastiCacheResponse

    assert not hasattr(ElastiCacheResponse, operation), f"moto now implements {operation}: test it, update docs"
    elasticache = boto3.client("elasticache", region_name=REGION, endpoint_url=aws_env)
    with contextlib.suppress(Exception):  # the resources exist, so what fails below is the missing operation
        elasticache.create_cache_cluster(
            CacheClusterId="tenfold-cache-001", Engine="redis", NumCacheNodes=1, CacheNodeType="cache.t4g.micro"
        )
    experiment, configuration = _experiment(experiment_file)
    with pytest.raises(ActivityFailed):
        run_activity(_activity(experiment, activity), configuration, {})
