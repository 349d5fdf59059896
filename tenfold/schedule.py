"""When each chaos experiment is injected during a scenario: the plan ``tenfold run`` follows.

An experiment file may carry its own default in an ``extensions`` entry named ``tenfold``
(``{"schedule": {"phase": "peak", "offset_s": 30}, "recovery_timeout_s": 45}``);
``experiments/local/schedule.yaml`` says which experiments run by default per profile and when.
``--experiments`` takes files and directories (:func:`plan_for_paths`): a directory with a ``schedule.yaml``
gives that file's plan for the profile, as the default plan does; one without gives every ``*.json`` in it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tenfold.errors import ConfigError
from tenfold.userfile import Loc, Located, load_json, load_yaml

__all__ = ["PHASES", "ScheduledExperiment", "default_plan", "phase_offsets", "plan_for_files", "plan_for_paths"]

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


def _read_experiment(path: Path) -> Located:
    doc = load_json(path, "experiment")
    if not isinstance(doc.data, dict) or "method" not in doc.data:
        raise doc.error((), "not a Chaos Toolkit experiment: it has no 'method' list (see experiments/local/)")
    return doc


def _tenfold_extension(doc: Located) -> tuple[dict[str, Any], Loc]:
    """The ``extensions`` entry named ``tenfold`` and where it sits."""
    for i, ext in enumerate(doc.data.get("extensions", []) or []):
        if isinstance(ext, dict) and ext.get("name") == "tenfold":
            return ext, ("extensions", i)
    return {}, ("extensions",)


def _validated(
    name: str, path: Path, doc: Located, loc: Loc, entry: dict[str, Any], recovery: Any
) -> ScheduledExperiment:
    phase, offset = entry.get("phase"), entry.get("offset_s")
    if phase not in PHASES:
        raise doc.error((*loc, "phase"), f"phase {phase!r} is not one of {', '.join(PHASES)}")
    if not isinstance(offset, int | float) or isinstance(offset, bool) or offset < 0:
        raise doc.error((*loc, "offset_s"), f"offset_s must be a number of seconds ≥ 0, not {offset!r}")
    if not isinstance(recovery, int | float) or isinstance(recovery, bool) or recovery <= 0:
        raise ConfigError(f"recovery_timeout_s must be a number of seconds > 0, not {recovery!r}", path=str(path))
    return ScheduledExperiment(name, path, str(phase), float(offset), float(recovery))


def plan_for_files(paths: list[Path]) -> list[ScheduledExperiment]:
    """Experiments the user named, each at the schedule its file carries (peak + 10 s if it has none)."""
    plan = []
    for path in paths:
        doc = _read_experiment(path)
        ext, loc = _tenfold_extension(doc)
        sched = ext.get("schedule", {"phase": "peak", "offset_s": 10})
        if not isinstance(sched, dict):
            raise doc.error((*loc, "schedule"), 'schedule must be a mapping like {"phase": "peak", "offset_s": 10}')
        plan.append(_validated(path.stem, path, doc, (*loc, "schedule"), sched, ext.get("recovery_timeout_s", 60)))
    return sorted(plan, key=lambda e: (PHASES.index(e.phase), e.offset_s))


def plan_for_paths(paths: list[Path], profile: str) -> list[ScheduledExperiment]:
    """``--experiments PATH...``: each file at its own schedule; a directory's ``schedule.yaml`` plan for the
    profile when it has one, else every ``*.json`` in it (sorted by name), each at its own schedule."""
    files: list[Path] = []
    plan: list[ScheduledExperiment] = []
    for path in paths:
        if not path.is_dir():
            files.append(path)
        elif (path / "schedule.yaml").is_file():
            plan += default_plan(profile, path / "schedule.yaml")
        else:
            found = sorted(path.glob("*.json"))
            if not found:
                raise ConfigError("no experiment files (*.json) in this directory; name files or another directory",
                                  path=str(path))  # fmt: skip
            files += found
    plan += plan_for_files(files)
    return sorted(plan, key=lambda e: (PHASES.index(e.phase), e.offset_s))


def default_plan(profile: str, schedule_file: Path = LOCAL_EXPERIMENTS / "schedule.yaml") -> list[ScheduledExperiment]:
    doc = load_yaml(schedule_file, "experiment schedule")
    entries = doc.data.get(profile) if isinstance(doc.data, dict) else None
    if not isinstance(entries, list):
        raise doc.error((profile,), f"no experiment plan (a list) for profile {profile!r}; add '{profile}: []' "
                        "for none, or give --experiments")  # fmt: skip
    plan = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("experiment"), str):
            raise doc.error((profile, i), "each entry needs {experiment: NAME, phase: PHASE, offset_s: SECONDS}")
        path = schedule_file.parent / f"{entry['experiment']}.json"
        if not path.is_file():
            raise doc.error((profile, i, "experiment"), f"no experiment file {path.name} next to {schedule_file.name}")
        ext, _ = _tenfold_extension(_read_experiment(path))
        plan.append(_validated(path.stem, path, doc, (profile, i), entry, ext.get("recovery_timeout_s", 60)))
    return sorted(plan, key=lambda e: (PHASES.index(e.phase), e.offset_s))


def phase_offsets(phases: dict[str, float]) -> dict[str, float]:
    """Phase lengths (s) in order → when each starts, in seconds after the load started."""
    out, t = {}, 0.0
    for name in PHASES:
        out[name] = t
        t += float(phases.get(name, 0))
    return out
