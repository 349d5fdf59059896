"""Shared paths and loaders for the offline infra checks."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "infra" / "k8s"
TERRAFORM = ROOT / "infra" / "terraform"
RULES = ROOT / "infra" / "prometheus" / "rules"
GRAFANA = ROOT / "infra" / "grafana"

# Kubernetes version the manifests are validated against; Terraform's default `cluster_version` must match.
K8S_VERSION = "1.31"


def k8s_manifest_files() -> list[Path]:
    """Every Kubernetes object file under infra/k8s (kustomization.yaml is kustomize's, not an object)."""
    return sorted(p for p in K8S.rglob("*.yaml") if p.name != "kustomization.yaml")


def k8s_docs() -> Iterator[tuple[Path, dict[str, Any]]]:
    for path in k8s_manifest_files():
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                yield path, doc


def _unquote(value: Any) -> Any:
    """python-hcl2 ≥ 5 keeps string quotes and adds `__is_block__`/`__comments__` markers; drop them."""
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    if isinstance(value, list):
        return [_unquote(v) for v in value]
    if isinstance(value, dict):
        return {_unquote(k): _unquote(v) for k, v in value.items() if k not in ("__is_block__", "__comments__")}
    return value


def load_tf(path: Path) -> dict[str, Any]:
    import hcl2

    with path.open() as fh:
        return _unquote(hcl2.load(fh))  # type: ignore[no-any-return]
