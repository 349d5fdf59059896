"""experiments/aws name what Terraform creates: the same default region and name prefix, the same resource ids."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from _infra import ROOT, TERRAFORM, load_tf

AWS = sorted((ROOT / "experiments" / "aws").glob("*.json"))


def _variable_default(name: str) -> Any:
    (block,) = [v[name] for v in load_tf(TERRAFORM / "variables.tf")["variable"] if name in v]
    return block["default"]


def _module(name: str) -> dict[str, Any]:
    (block,) = [m[name] for m in load_tf(TERRAFORM / "data.tf")["module"] if name in m]
    return block  # type: ignore[no-any-return]


@pytest.mark.parametrize("path", AWS, ids=lambda p: p.stem)
def test_defaults_are_terraforms(path: Path) -> None:
    """AWS_REGION and TENFOLD_NAME default to var.region and var.name: the experiments find the resources."""
    config = json.loads(path.read_text())["configuration"]
    assert config["aws_region"] == {"type": "env", "key": "AWS_REGION", "default": _variable_default("region")}
    assert config["name"] == {"type": "env", "key": "TENFOLD_NAME", "default": _variable_default("name")}


def test_resource_ids_follow_terraforms_naming() -> None:
    assert _module("redis")["replication_group_id"] == "${local.name}-cache"
    assert _module("postgres")["identifier"] == "${local.name}-users"
    texts = {p.stem: p.read_text() for p in AWS}
    assert '"replication_group_id": "${name}-cache"' in texts["elasticache-failover"]
    assert '"db_instance_identifier": "${name}-users"' in texts["rds-reboot"]
