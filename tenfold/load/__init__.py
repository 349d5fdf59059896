"""Open-model load: scenarios, the columnar recorder, generator self-checks, merging and running Locust.

Locust itself is imported only by ``tenfold.load.locust_plugin`` (which the locustfiles use), because
importing it monkey-patches the whole process.
"""

from __future__ import annotations

from ._health import CpuSampler, Verdict, allowed_cores, judge
from ._ledger import Ledger, merge_ledgers
from ._merge import latency_summary, merge_run, wait_for_parts
from ._recorder import METHODS, PRIORITIES, Recorder, percentile
from ._run import LoadResult, collect, locust_command, run_locust, start_locust
from ._scenario import PHASES, HealthLimits, Phase, Profile, Scenario, Schedule, Viewers, load_scenario
from ._zipf import TITLES, USERS, zipf_rank, zipf_title_id

__all__ = [
    "METHODS",
    "PHASES",
    "PRIORITIES",
    "TITLES",
    "USERS",
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
    "Viewers",
    "allowed_cores",
    "collect",
    "judge",
    "latency_summary",
    "load_scenario",
    "locust_command",
    "merge_ledgers",
    "merge_run",
    "percentile",
    "run_locust",
    "start_locust",
    "wait_for_parts",
    "zipf_rank",
    "zipf_title_id",
]
