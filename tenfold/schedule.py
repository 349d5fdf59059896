"""When each chaos experiment is injected during a scenario: the plan ``tenfold run`` follows.

An experiment file may carry its own default in an ``extensions`` entry named ``tenfold``
(``{"schedule": {"phase": "peak", "offset_s": 30}, "recovery_timeout_s": 45}``);
``experiments/local/schedule.yaml`` says which experiments run by default per profile and when.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tenfold.errors import ConfigError

__all__ = ["PHASES", "ScheduledExperiment", "default_plan", "phase_offsets", "plan_for_files"]

PHASES = ("baseline", "ramp", "peak", "cooldown")
REPO = Path(__file__).resolve().parent.parent
LOCAL_EXPERIMENTS = REPO / "experiments" / "local"


@dataclass(frozen=True)
class ScheduledExperiment:
    name: str  # the file's stem: the SLO window is chaos:<name>
    path: Path
    phase: str
    offset_s: float
    recovery_timeout_s: float

    def at(self, phase_starts: dict[str, float]) -> float:
        """Seconds after the load started."""
        return phase_starts[self.phase] + self.offset_s


def _read_experiment(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError("no such experiment file", path=str(path)) from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"not valid JSON: {exc.msg}; fix the file or run `tenfold validate`",
                          path=str(path), line=exc.lineno) from None  # fmt: skip
    if not isinstance(doc, dict) or "method" not in doc:
        raise ConfigError("not a Chaos Toolkit experiment (no 'method')", path=str(path))
    return doc


def _tenfold_extension(doc: dict[str, Any]) -> dict[str, Any]:
    for ext in doc.get("extensions", []) or []:
        if isinstance(ext, dict) and ext.get("name") == "tenfold":
            return ext
    return {}


def _validated(name: str, path: Path, phase: Any, offset: Any, recovery: Any, where: str) -> ScheduledExperiment:
    if phase not in PHASES:
        raise ConfigError(f"{where}: phase {phase!r} is not one of {', '.join(PHASES)}", path=str(path))
    if not isinstance(offset, int | float) or offset < 0:
        raise ConfigError(f"{where}: offset_s must be a number ≥ 0, not {offset!r}", path=str(path))
    return ScheduledExperiment(name, path, str(phase), float(offset), float(recovery))


def plan_for_files(paths: list[Path]) -> list[ScheduledExperiment]:
    """Experiments the user named, each at the schedule its file carries (peak + 10 s if it has none)."""
    plan = []
    for path in paths:
        ext = _tenfold_extension(_read_experiment(path))
        sched = ext.get("schedule", {"phase": "peak", "offset_s": 10})
        plan.append(_validated(path.stem, path, sched.get("phase"), sched.get("offset_s"),
                               ext.get("recovery_timeout_s", 60), "extensions[tenfold].schedule"))  # fmt: skip
    return sorted(plan, key=lambda e: (PHASES.index(e.phase), e.offset_s))


def default_plan(profile: str, schedule_file: Path = LOCAL_EXPERIMENTS / "schedule.yaml") -> list[ScheduledExperiment]:
    doc = yaml.safe_load(schedule_file.read_text()) or {}
    entries = doc.get(profile)
    if not isinstance(entries, list):
        raise ConfigError(f"no experiment plan for profile {profile!r}", path=str(schedule_file))
    plan = []
    for i, entry in enumerate(entries):
        path = schedule_file.parent / f"{entry.get('experiment')}.json"
        ext = _tenfold_extension(_read_experiment(path))
        plan.append(_validated(path.stem, path, entry.get("phase"), entry.get("offset_s"),
                               ext.get("recovery_timeout_s", 60), f"{profile}[{i}]"))  # fmt: skip
    return sorted(plan, key=lambda e: (PHASES.index(e.phase), e.offset_s))


def phase_offsets(phases: dict[str, float]) -> dict[str, float]:
    """Phase lengths (s) in order → when each starts, in seconds after the load started."""
    out, t = {}, 0.0
    for name in PHASES:
        out[name] = t
        t += float(phases.get(name, 0))
    return out
