"""Turn a window name from the SLO file into concrete time ranges of one run.

``chaos:*`` fans out to one window per experiment, so one objective can yield several verdicts.
A window that the run does not have (no such phase, a phase an interrupted run never reached, an experiment
that never injected) comes back with ``start``/``end`` of ``None``: the verdict is "no data", never a silent pass.
One the run was stopped inside is ``partial``: judged over what happened, and marked so.
"""

from __future__ import annotations

from dataclasses import dataclass

from reports.runfolder import Experiment, Manifest

__all__ = ["Window", "resolve"]


@dataclass(frozen=True)
class Window:
    name: str
    start: float | None
    end: float | None
    experiment: Experiment | None = None
    partial: bool = False
    """The run was stopped inside this window: it is evaluated over what happened until the cut."""

    @property
    def known(self) -> bool:
        return self.start is not None and self.end is not None

    @property
    def duration(self) -> float:
        return (self.end or 0.0) - (self.start or 0.0)


def _chaos(manifest: Manifest, exp: Experiment) -> Window:
    name = f"chaos:{exp.name}"
    if exp.injected_at is None:
        return Window(name, None, None, exp)
    end = exp.recovered_at if exp.recovered_at is not None else exp.end
    if end is None or end <= exp.injected_at:
        end = manifest.ended
    return Window(name, exp.injected_at, end, exp, exp.interrupted)


def resolve(spec: str, manifest: Manifest | None) -> list[Window]:
    """Concrete windows for ``spec`` (``baseline``…``cooldown``, ``run``, ``chaos:<name>``, ``chaos:*``)."""
    if manifest is None:
        return [Window(spec, None, None)]
    if spec == "run":
        return [Window("run", manifest.started, manifest.ended, partial=manifest.interrupted_at is not None)]
    if spec == "chaos:*":
        return [_chaos(manifest, e) for e in manifest.experiments] or [Window(spec, None, None)]
    if spec.startswith("chaos:"):
        wanted = spec.removeprefix("chaos:")
        for e in manifest.experiments:
            if e.name == wanted:
                return [_chaos(manifest, e)]
        return [Window(spec, None, None)]
    for p in manifest.phases:
        if p.name == spec:
            return [Window(spec, p.start, p.end, partial=p.partial)]
    return [Window(spec, None, None)]
