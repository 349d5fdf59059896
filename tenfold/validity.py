"""Whether a run's evidence can be trusted, and why not: the one place the rules are written.

Three places judge a run: ``tenfold run`` as it writes manifest.json (``tenfold/run_manifest.py``), the load
generator when no orchestrator wrote one (``tenfold/load/_merge.py``) and evaluate when it reads the run folder
(``reports/evaluate.py``). Each passes what it knows to ``validity``; a fact it does not know (``None``, or the
default) judges nothing. Pure: no files, no clock. Part of the base (tests/test_import_boundary.py): it imports only
``tenfold.layout``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from tenfold.layout import LOAD, LOCUST, MANIFEST, REQUESTS

__all__ = ["MANIFEST_MISSING", "NO_LOAD", "ExperimentState", "Recorded", "validity"]

MANIFEST_MISSING = f"{MANIFEST} is missing: this is not a run folder"
NO_LOAD = f"the load generator wrote no {LOAD} (see {LOCUST}/locust.log)"
"""Why a run has no load.json, when nothing more precise is known (e.g. the workers that never joined)."""


class ExperimentState(Protocol):
    """What validity needs of one experiment: the injector's record and the manifest's entry both have it."""

    @property
    def name(self) -> str: ...
    @property
    def start(self) -> float | None: ...
    @property
    def end(self) -> float | None: ...
    @property
    def injected_at(self) -> float | None: ...
    @property
    def rollback_ok(self) -> bool | None: ...
    @property
    def problems(self) -> Sequence[str]: ...


class Recorded(Protocol):
    """A judgement written down earlier: manifest.json's ``validity``."""

    @property
    def valid(self) -> bool: ...
    @property
    def reasons(self) -> Sequence[str]: ...


def _experiment(e: ExperimentState) -> str | None:
    if e.start is not None and e.end is None:
        return f"experiment {e.name}: still running when the report was written (rolling back)"
    if e.rollback_ok is False:
        return f"experiment {e.name}: rollback failed" + (f" ({'; '.join(e.problems)})" if e.problems else "")
    if e.start is not None and e.rollback_ok is None:
        return f"experiment {e.name}: no journal, rollback unknown"
    if e.start is not None and e.injected_at is None:
        return (f"experiment {e.name} never injected its fault (its steady-state hypothesis did not hold before the "
                f"method; see chaos/{e.name}.log)")  # fmt: skip
    return None


def validity(
    load: Mapping[str, Any] | None,
    experiments: Iterable[ExperimentState] = (),
    *,
    interrupted: str | None = None,
    load_missing: str | None = None,
    requests: int | None = None,
    recorded: Recorded | None = None,
    manifest_missing: bool = False,
) -> list[str]:
    """Why the run is invalid, each reason once; empty: valid. In order: the manifest's own reasons, the
    interruption, the experiments it kept from starting, the load, each experiment, the request rows.

    ``load``: load.json (None: there is none). ``experiments``: the scheduled experiments' states.
    ``interrupted``: why the run was stopped early (a signal), None if it was not. ``load_missing``: why there is no
    load.json, which then makes the run invalid (``NO_LOAD`` if nothing better is known); None: its absence judges
    nothing (the manifest already did). ``requests``: the number of request rows (0 when requests.parquet is missing);
    None: not known. ``recorded``: the manifest's own judgement, when judging a written run folder.
    ``manifest_missing``: the folder has no manifest.json: nothing else is asked.

    A load.json without ``valid`` is not judged invalid (only ``valid: false`` is): the generator said nothing.
    """
    if manifest_missing:
        return [MANIFEST_MISSING]
    reasons: list[str] = []
    if recorded is not None and not recorded.valid:
        reasons += recorded.reasons or ["the manifest marks the run invalid"]
    states = list(experiments)
    if interrupted:
        reasons.append(interrupted)
        not_run = [e.name for e in states if e.start is None]
        if not_run:
            reasons.append(f"not injected, the run stopped first: {', '.join(not_run)}")
    if load is None:
        if load_missing is not None:
            reasons.append(load_missing)
    elif not load.get("valid", True):
        reasons.append(f"load generator: {load.get('invalid_reason') or 'marked invalid'}")
    reasons += [r for r in map(_experiment, states) if r]
    if requests == 0:
        reasons.append(f"no request records ({REQUESTS} missing or empty)")
    return list(dict.fromkeys(reasons))
