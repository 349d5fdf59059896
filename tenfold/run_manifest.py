"""What a run folder says about the run itself: its name, ``manifest.json`` (what ran, where, with which versions,
and whether the run is valid and why not)."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from tenfold.inject.injector import Injector
from tenfold.layout import MANIFEST
from tenfold.load import workers_missing
from tenfold.run_options import REPO, RunOptions
from tenfold.stack.status import StackStatus
from tenfold.validity import NO_LOAD, validity

__all__ = ["new_run_dir", "read_json", "write_manifest"]


def new_run_dir(opts: RunOptions) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    suffix = "".join(f"-no-{d}" for d in sorted(opts.disable))
    run_dir = opts.runs_dir / f"{stamp}-{opts.scenario}-{opts.profile}{suffix}"
    n = 1
    while run_dir.exists():
        n += 1
        run_dir = run_dir.with_name(f"{run_dir.name}-{n}")
    run_dir.mkdir(parents=True)
    latest = opts.runs_dir / "latest"
    with contextlib.suppress(FileNotFoundError):
        latest.unlink()
    latest.symlink_to(run_dir.name)
    return run_dir


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for dist in ("tenfold", "locust", "chaostoolkit", "chaostoolkit-lib"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            out[dist] = metadata.version(dist)
    return out


def _git_sha() -> str | None:
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        r = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, timeout=5)
        if r.returncode == 0:
            return r.stdout.strip()
    return None


def read_json(path: Path) -> dict[str, Any] | None:
    try:
        doc = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    return doc if isinstance(doc, dict) else None


def write_manifest(
    run_dir: Path, opts: RunOptions, status: StackStatus, load: dict[str, Any] | None, injector: Injector,
    started: float, ended: float, interrupted: str | None, hpa: dict[str, dict[str, Any]],
) -> None:  # fmt: skip
    missing: str | None = None
    if load is None:
        log = run_dir / "locust" / "locust.log"
        missing = workers_missing(log.read_text(errors="replace"), opts.remote_workers) if log.is_file() else None
    reasons = validity(load, injector.records, interrupted=interrupted, load_missing=missing or NO_LOAD)
    manifest = {
        "id": run_dir.name,
        "scenario": opts.scenario,
        "profile": opts.profile,
        "target": opts.target or status.get("gateway"),
        "prometheus": status.get("prometheus") or opts.prometheus,
        "started": started,
        "ended": ended,
        "interrupted_at": (load or {}).get("interrupted_at") if interrupted else None,
        "phases": (load or {}).get("phases", []),
        "experiments": [r.to_dict() for r in injector.records],
        "controls": {"autoscaling": "autoscaling" not in opts.disable, "fallbacks": "fallbacks" not in opts.disable},
        "hpa": hpa,
        "validity": {"valid": not reasons, "reasons": reasons},
        "versions": _versions(),
        "git_sha": _git_sha(),
        "host": {"name": platform.node(), "cpus": os.cpu_count(), "platform": platform.platform()},
        "cgroups_limited": bool(status.get("cgroups")) if status else None,
        "cgroups_reason": status.get("cgroups_reason") if status else None,
        "command": sys.argv,
    }
    (run_dir / MANIFEST).write_text(json.dumps(manifest, indent=2))
