"""Indicators over what the processes and the data went through: acknowledged writes lost (durability.json),
memory growth per process (memory.jsonl) and crashes (controller_events.jsonl)."""

from __future__ import annotations

import fnmatch
from typing import TYPE_CHECKING, Any

from reports.indicators.indicator import Indicator, Measurement, no_data
from reports.memory import growth
from tenfold.layout import CONTROLLER_EVENTS

if TYPE_CHECKING:  # type-only: the SLO file derives its indicators from the registry
    from reports.runfolder import RunFolder
    from reports.slo import Objective
    from reports.windows import Window

__all__ = ["KILL_EXPLAINS_S", "TABLE", "crashes", "memory_growth", "writes_lost"]


def writes_lost(run: RunFolder, o: Objective, w: Window) -> Measurement:
    """Acknowledged writes the locustfile's verifiers did not find afterwards (``durability.json``). No data when
    nothing was acknowledged, when a kind has no verifier, or when every check failed to reach the system."""
    d = run.durability
    if d is None:
        return no_data("durability.json is missing (no acknowledged write was read back: see docs/ledger.md)")
    ack = d.get("acknowledged") or {}
    total = sum(int(v) for v in ack.values()) if isinstance(ack, dict) else int(ack)
    if d.get("unchecked"):
        return no_data(f"acknowledged {', '.join(d['unchecked'])} writes have no @ledger.verifier (or no store access)")
    if total == 0:
        return no_data("no acknowledged write in the ledger (the locustfile calls tenfold.ledger.acknowledged)")
    checked = sum(int(v) for v in (d.get("checked") or {}).values())
    errors = sum(int(v) for v in (d.get("errors") or {}).values())
    if checked and errors >= checked:
        examples = d.get("error_examples") or ["?"]
        return no_data(f"the verifiers failed for all {checked} acknowledged writes, e.g. {examples[0]}")
    missing = d.get("missing") or []
    lost = d.get("lost")
    n = sum(int(v) for v in lost.values()) if isinstance(lost, dict) else len(missing)
    unverified = sum(int(v) for v in (d.get("unverified") or {}).values())
    unknown = sum(int(v) for v in (d.get("unknown") or {}).values())
    example = f", e.g. {missing[0].get('kind')}:{missing[0].get('key')}" if missing else ""
    notes = [f"{x} {what}" for x, what in ((unverified, "unverified"), (errors, "unreadable"),
                                           (unknown, "with an unknown outcome (not counted)")) if x]  # fmt: skip
    return Measurement(float(n), f"{n} of {total} acknowledged writes missing{example}"
                       + (f"; {', '.join(notes)}" if notes else ""))  # fmt: skip


def memory_growth(run: RunFolder, o: Objective, w: Window) -> list[tuple[str, Measurement]]:
    """One measurement per stack process (``service`` keeps one service's replicas, ``processes``/``exclude``
    select by name): RSS growth after warm-up."""

    def judged(name: str) -> bool:
        process = name.split(" (pid ")[0]  # a restarted process's second series is "catalog-0 (pid 123)"
        chosen = o.processes is None or any(fnmatch.fnmatchcase(process, p) for p in o.processes)
        return chosen and not any(fnmatch.fnmatchcase(process, p) for p in o.exclude)

    series = [s for s in run.memory if (o.service is None or s.service == o.service) and judged(s.name)]
    if not series:
        return [("", no_data("memory.jsonl is missing or has no process the objective selects (a --soak run samples "
                           "every stack process)"))]  # fmt: skip
    assert w.start is not None and w.end is not None
    out = []
    for s in series:
        g = growth(s.ts, s.rss, w.start, w.end, o.warmup)
        if g is not None:
            out.append((s.name, Measurement(g.ratio, f"{s.name} (pid {s.pid}): {g.text()}")))
    if not out:
        return [("", no_data(f"no process has {o.warmup:.0%} warm-up plus enough samples in the window"))]
    return out


# How soon after the control API killed or stopped something its death or restart is the chaos, not a crash.
KILL_EXPLAINS_S = {"replica_died": 10.0, "component_restarted": 60.0}


def crashes(run: RunFolder, o: Objective, w: Window) -> Measurement:
    """Processes that died on their own in the window: replicas the control API did not kill, components the
    controller had to restart without having been told to kill or stop them. Chaos does not count."""
    if run.manifest is None:
        return no_data("manifest.json is missing")
    if not (run.path / CONTROLLER_EVENTS).is_file():  # a --target run: no controller watched the processes
        return no_data("controller_events.jsonl is missing (no controller saw the processes: a --target run)")
    assert w.start is not None and w.end is not None
    events = run.events
    told = [e for e in events if e.get("kind") in ("replica_killed", "component_killed", "component_stopped")]

    def explained(e: dict[str, Any]) -> bool:
        ts = float(e["ts"])
        return any(
            k.get("service") == e.get("service")
            and (e["kind"] != "replica_died" or k.get("from") == e.get("from"))
            and 0 <= ts - float(k["ts"]) <= KILL_EXPLAINS_S[e["kind"]]
            for k in told
        )

    crashed = [
        f"{e.get('service')}#{e.get('from')}" if e["kind"] == "replica_died" else str(e.get("service"))
        for e in events
        if e.get("kind") in KILL_EXPLAINS_S and w.start <= float(e.get("ts", 0)) <= w.end and not explained(e)
    ]
    if not crashed:
        return Measurement(0.0, f"no process died on its own ({len(events)} controller events)")
    return Measurement(float(len(crashed)), f"died on their own: {', '.join(crashed[:10])}")


TABLE = (
    Indicator("writes_lost", "count",
              "acknowledged writes the locustfile's verifiers did not find (docs/ledger.md); no data when nothing "
              "was acknowledged, a kind has no verifier, or every check failed", "-", "durability.json",
              function=writes_lost, needs_window=False),
    Indicator("crashes", "count",
              "`replica_died` / `component_restarted` controller events in the window that no `replica_killed` (10 s "
              "before, same replica) or `component_killed`/`component_stopped` (60 s before) explains", "-",
              "controller_events.jsonl", function=crashes),
    Indicator("memory_growth", "ratio",
              "per process: RSS at the window's end ÷ RSS after the warm-up - 1 (medians of the first / last 10% of "
              "the samples after warm-up, at least 3 each); **one verdict per process**, named `objective[process]`",
              "`warmup` (fraction of the window, default 0.1), `service` (only that service's replicas), "
              "`processes` / `exclude` (shell patterns on process names: judge only these / not these, e.g. "
              "`exclude: [s3]`)", "memory.jsonl", per_process=memory_growth,
              keys=("warmup", "processes", "exclude")),
)  # fmt: skip
"""The rows of the registry (reports/indicators/registry.py) for writes, memory and crashes."""
