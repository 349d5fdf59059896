"""When each chaos experiment is injected during a scenario: the plan ``tenfold run`` follows.

``--experiments`` takes (:func:`plan_for_paths`, docs/schedule.md):

- ``FILE@PHASE+OFFSET`` (``pause.json@peak+10s``, ``kill.json@ramp``, ``x.json@cooldown+1m``): any Chaos Toolkit
  experiment at that moment;
- ``FILE``: at the schedule the file carries in an ``extensions`` entry named ``tenfold``
  (``{"schedule": {"phase": "peak", "offset_s": 30}, "recovery_timeout_s": 45}``), else at ``peak+10s``;
- a ``schedule.yaml`` (or a directory holding one): its plan for the profile (which experiments of its folder,
  when), as the reference system's ``experiments/local/schedule.yaml`` gives;
- a directory without one: every ``*.json`` in it, each at its own schedule.

An experiment's name (its SLO window is ``chaos:<name>``) is its file's stem; the second use of a file in one run
is ``<stem>-2``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from tenfold.errors import ConfigError, UsageError
from tenfold.layout import PHASES
from tenfold.userfile import Loc, Located, load_json, load_yaml

__all__ = [
    "DEFAULT_AT",
    "PHASES",
    "ScheduledExperiment",
    "default_plan",
    "parse_at",
    "phase_offsets",
    "plan_for_files",
    "plan_for_paths",
]

DEFAULT_AT = ("peak", 10.0)
"""When an experiment with no schedule of its own is injected."""
_AT = re.compile(r"^(?P<phase>[a-z]+)(?:\+(?P<n>\d+(?:\.\d+)?)(?P<unit>ms|s|m)?)?$")
_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, None: 1.0}


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


def parse_at(spec: str) -> tuple[Path, tuple[str, float] | None]:
    """``FILE@PHASE+OFFSET`` → (FILE, (phase, seconds)); a spec without ``@`` → (FILE, None)."""
    path, at, when = spec.rpartition("@")
    if not at or "/" in when:  # an @ in a folder's name
        return Path(spec), None
    m = _AT.match(when.strip())
    if m is None or m["phase"] not in PHASES:
        raise UsageError(f"--experiments {spec!r}: after '@' write PHASE or PHASE+OFFSET, e.g. {path}@peak+10s "
                         f"(phases: {', '.join(PHASES)}; offsets in s, ms or m)")  # fmt: skip
    return Path(path), (m["phase"], float(m["n"] or 0) * _UNIT[m["unit"]])


def plan_for_files(paths: list[Path], at: list[tuple[str, float] | None] | None = None) -> list[ScheduledExperiment]:
    """Experiments the user named, each at ``at`` (from ``FILE@PHASE+OFFSET``), else at the schedule its file
    carries, else at peak + 10 s."""
    plan = []
    for i, path in enumerate(paths):
        doc = _read_experiment(path)
        ext, loc = _tenfold_extension(doc)
        when = at[i] if at else None
        if when is not None:
            plan.append(_validated(path.stem, path, doc, loc, {"phase": when[0], "offset_s": when[1]},
                                   ext.get("recovery_timeout_s", 60)))  # fmt: skip
            continue
        sched = ext.get("schedule", {"phase": DEFAULT_AT[0], "offset_s": DEFAULT_AT[1]})
        if not isinstance(sched, dict):
            raise doc.error((*loc, "schedule"), 'schedule must be a mapping like {"phase": "peak", "offset_s": 10}')
        plan.append(_validated(path.stem, path, doc, (*loc, "schedule"), sched, ext.get("recovery_timeout_s", 60)))
    return sorted(plan, key=lambda e: (PHASES.index(e.phase), e.offset_s))


def plan_for_paths(specs: list[str] | list[Path] | list[str | Path], profile: str) -> list[ScheduledExperiment]:
    """``--experiments SPEC...`` → the plan, sorted by when; see the module's docstring for the forms."""
    files: list[Path] = []
    at: list[tuple[str, float] | None] = []
    plan: list[ScheduledExperiment] = []
    for spec in specs:
        path, when = parse_at(str(spec))
        if when is not None or path.suffix == ".json" or not (path.is_dir() or path.suffix in (".yaml", ".yml")):
            files.append(path)
            at.append(when)
        elif path.is_file():
            plan += default_plan(profile, path)
        elif (path / "schedule.yaml").is_file():
            plan += default_plan(profile, path / "schedule.yaml")
        else:
            found = sorted(path.glob("*.json"))
            if not found:
                raise ConfigError("no experiment files (*.json) in this directory; name files or another directory",
                                  path=str(path))  # fmt: skip
            files += found
            at += [None] * len(found)
    plan += plan_for_files(files, at)
    return _unique_names(sorted(plan, key=lambda e: (PHASES.index(e.phase), e.offset_s)))


def _unique_names(plan: list[ScheduledExperiment]) -> list[ScheduledExperiment]:
    """The second use of a file in one run is ``<stem>-2``: each window ``chaos:<name>`` names one injection."""
    seen: dict[str, int] = {}
    out = []
    for e in plan:
        n = seen[e.name] = seen.get(e.name, 0) + 1
        out.append(e if n == 1 else replace(e, name=f"{e.name}-{n}"))
    return out


def default_plan(profile: str, schedule_file: Path) -> list[ScheduledExperiment]:
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
