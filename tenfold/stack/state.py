"""The state directory (``$TENFOLD_HOME`` or ``.tenfold/`` at the repo root) and the controller's state file.

The state file is how ``tenfold status``/``down`` find a running controller and, after a SIGKILL of the
controller, every pid it had started (so nothing is left behind even then).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["REPO_ROOT", "pid_alive", "read_state", "state_dir", "write_state"]

REPO_ROOT = Path(__file__).resolve().parents[2]
_STATE_FILE = "state.json"


def state_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    raw = explicit or os.environ.get("TENFOLD_HOME") or REPO_ROOT / ".tenfold"
    path = Path(raw).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def read_state(directory: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((directory / _STATE_FILE).read_text())
    except (FileNotFoundError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_state(directory: Path, state: Mapping[str, Any]) -> None:
    """Atomic replace, so a reader never sees half a file."""
    tmp = directory / f".{_STATE_FILE}.tmp"
    tmp.write_text(json.dumps(state, indent=1, sort_keys=True))
    tmp.replace(directory / _STATE_FILE)


def pid_alive(pid: int) -> bool:
    """True for a live process; a zombie (dead, not yet reaped) counts as gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return fields[0] not in ("Z", "X")
