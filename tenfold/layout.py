"""The run folder's layout: its file names, the phases of a scenario and the request priorities.

Every stage writes or reads the same folder (docs/run-folder.md): the generator, the orchestrator, collection,
evaluation and the report. They spell its names from here, so a file renamed or a phase added changes one place.
Part of the base (tests/test_import_boundary.py): it imports nothing.
"""

from __future__ import annotations

__all__ = [
    "CHARTS",
    "CONTROLLER_EVENTS",
    "DURABILITY",
    "JUNIT",
    "LEDGER",
    "LOAD",
    "LOAD_PLAN",
    "LOCUST",
    "MANIFEST",
    "MEMORY",
    "METRICS",
    "PARTS",
    "PHASES",
    "PRIORITIES",
    "REPORT",
    "REQUESTS",
    "SLO",
    "SUMMARY",
]

PHASES = ("baseline", "ramp", "peak", "cooldown")
"""A scenario's phases, in order."""
PRIORITIES = ("critical", "degraded", "best-effort", "unclassified")
"""Request tiers from the ``X-Priority`` header; a request without one (or another value) is unclassified."""

REQUESTS = "requests.parquet"
"""One row per request (the generator)."""
LEDGER = "ledger.jsonl"
"""Acknowledged and unknown writes (the generator)."""
LOAD = "load.json"
"""The generator's account of the run: phases, rates, its own health, validity."""
LOAD_PLAN = "load-plan.json"
"""The phases' planned times, written as the load starts (for an orchestrator injecting faults meanwhile)."""
PARTS = "parts"
"""Per-process parts the generator merged (kept for debugging)."""
LOCUST = "locust"
"""Locust's own log, CSV and HTML report."""
MANIFEST = "manifest.json"
"""What ran, where, with which versions; the run's validity."""
DURABILITY = "durability.json"
"""Acknowledged writes read back by the locustfile's verifiers."""
MEMORY = "memory.jsonl"
"""RSS samples of every stack process (soak)."""
METRICS = "metrics"
"""Prometheus series collected while the system was up."""
CONTROLLER_EVENTS = "controller_events.jsonl"
"""The local controller's events (kills, restarts, scaling)."""
SLO = "slo.yaml"
"""The SLO file the run was judged against (a copy)."""
SUMMARY = "summary.json"
REPORT = "report.html"
JUNIT = "junit.xml"
CHARTS = "charts"
