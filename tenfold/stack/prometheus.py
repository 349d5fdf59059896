"""Prometheus with file_sd targets the controller keeps current (1 s scrapes, ≈1 s file_sd refresh)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from tenfold.stack.component import Component, http_ok
from tenfold.stack.procs import Proc
from tenfold.stack.state import REPO_ROOT

__all__ = ["CONFIG", "prometheus", "write_targets"]

CONFIG = REPO_ROOT / "infra" / "prometheus" / "prometheus.yml"
_RULES = REPO_ROOT / "infra" / "prometheus" / "rules"


def write_targets(home: Path, name: str, groups: list[dict[str, Any]]) -> None:
    """Atomically replace ``targets/<name>.json`` (Prometheus must never read half a file)."""
    d = home / "prometheus" / "targets"
    d.mkdir(parents=True, exist_ok=True)
    text = json.dumps(groups)
    target = d / f"{name}.json"
    if target.exists() and target.read_text() == text:
        return
    tmp = d / f".{name}.json.tmp"
    tmp.write_text(text)
    tmp.replace(target)


def prometheus(home: Path, port: int) -> Component:
    d = home / "prometheus"
    (d / "rules").mkdir(parents=True, exist_ok=True)
    shutil.copy(CONFIG, d / "prometheus.yml")
    for rule in _RULES.glob("*.yml"):
        shutil.copy(rule, d / "rules" / rule.name)
    for name in ("services", "controller", "haproxy"):
        if not (d / "targets" / f"{name}.json").exists():
            write_targets(home, name, [])
    argv = [
        "prometheus",
        f"--config.file={d / 'prometheus.yml'}",
        f"--storage.tsdb.path={d / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--storage.tsdb.retention.time=1d",
        "--web.enable-lifecycle",
    ]
    proc = Proc("prometheus", argv, log=home / "logs" / "prometheus.log")

    async def ready() -> bool:
        return await http_ok(port, "/-/ready")

    return Component("prometheus", [proc], ready, extra={"url": f"http://127.0.0.1:{port}"})
