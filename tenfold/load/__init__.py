"""Open-model load from a plain locustfile: scenarios, the columnar recorder, generator self-checks, merging,
running Locust and reading back the write ledger.

Locust itself is imported only by ``tenfold.load.locust_plugin`` (which runs inside the Locust process),
because importing it monkey-patches the whole process.
"""

from __future__ import annotations

from ._health import CpuSampler, Verdict, allowed_cores, judge
from ._ledger import Ledger, merge_ledgers, read_ledger
from ._merge import latency_summary, merge_run, wait_for_parts, workload_misfit
from ._recorder import PRIORITIES, Recorder, percentile, priority_of
from ._run import (
    OPEN_MODEL,
    LoadResult,
    collect,
    locust_command,
    run_locust,
    split_address,
    start_locust,
    worker_command,
    workers_missing,
)
from ._scenario import PHASES, HealthLimits, Phase, Profile, Scenario, Schedule, load_scenario, locustfile_of

__all__ = [
    "OPEN_MODEL",
    "PHASES",
    "PRIORITIES",
    "CpuSampler",
    "HealthLimits",
    "Ledger",
    "LoadResult",
    "Phase",
    "Profile",
    "Recorder",
    "Scenario",
    "Schedule",
    "Verdict",
    "allowed_cores",
    "collect",
    "judge",
    "latency_summary",
    "load_scenario",
    "locust_command",
    "locustfile_of",
    "merge_ledgers",
    "merge_run",
    "percentile",
    "priority_of",
    "read_ledger",
    "run_locust",
    "split_address",
    "start_locust",
    "wait_for_parts",
    "worker_command",
    "workers_missing",
    "workload_misfit",
]
