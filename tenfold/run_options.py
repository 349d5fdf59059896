"""What one ``tenfold run`` is asked to do (:class:`RunOptions`), and the checks and environment derived from it."""

from __future__ import annotations

import ipaddress
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reports.slo import SloFile
from tenfold.errors import UsageError
from tenfold.inject.schedule import ScheduledExperiment, phase_offsets
from tenfold.load._run import DEFAULT_MASTER_BIND, DEFAULT_WORKERS_TIMEOUT_S

if TYPE_CHECKING:
    from tenfold.stack.status import StackStatus

__all__ = ["REPO", "RunOptions", "Say", "check_target", "experiment_env", "late_experiments", "watched"]

REPO = Path(__file__).resolve().parent.parent
Say = Callable[[str], None]


@dataclass
class RunOptions:
    """What ``tenfold run`` was asked (the CLI fills in the defaults: the reference system's files, docs/cli.md)."""

    scenario_file: Path
    slo: Path
    scenario: str = "spike"
    profile: str = "default"  # "quick" for --quick
    locustfile: Path | None = None  # None: the scenario's locustfile
    experiments: list[str] | None = None  # FILE[@PHASE+OFFSET] or DIR; None or []: no chaos
    target: str | None = None
    prometheus: str | None = None  # with --target: the deployment's Prometheus, for the replica/CPU/HPA series
    watch: tuple[str, ...] = ()  # --watch deployment/NAME: what --prometheus judges
    allow_remote: bool = False
    disable: frozenset[str] = frozenset()
    runs_dir: Path = REPO / "runs"
    home: str | None = None
    keep_stack: bool = False
    processes: int | None = None
    remote_workers: int = 0  # --remote-workers: workers started elsewhere (tenfold worker) the master waits for
    master_bind: str = DEFAULT_MASTER_BIND
    workers_timeout_s: float = DEFAULT_WORKERS_TIMEOUT_S
    stack_options: dict[str, Any] = field(default_factory=dict)  # passed to tenfold.stack.lifecycle.up
    soak_s: float | None = None  # --soak: the soak profile's length (profile "soak"); tenfold/soak.py


def check_target(url: str, allow_remote: bool, flag: str = "--target") -> None:
    """Load goes to loopback unless the user explicitly allows a remote target."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"{flag} must be an http(s) URL like http://127.0.0.1:8080, not {url!r}")
    host = parts.hostname
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback and not allow_remote:
        raise UsageError(
            f"--target {url} is not a loopback address; add --allow-remote if you mean to load that system"
        )


def experiment_env(target: str | None, status: StackStatus) -> dict[str, str]:
    """What every experiment, the generator and the verifiers get on top of our environment: the system under
    test's URL (``TENFOLD_TARGET_URL``; ``TENFOLD_GATEWAY_URL`` too, its older name) and, with the local stack,
    its control API, stores and seeded users (docs/ledger.md)."""
    env: dict[str, str] = {}
    gateway = target or status.get("gateway")
    if gateway:
        env["TENFOLD_TARGET_URL"] = env["TENFOLD_GATEWAY_URL"] = str(gateway).rstrip("/")
    for var, key in (("TENFOLD_CONTROL_URL", "control"), ("TENFOLD_POSTGRES_DSN", "postgres"),
                     ("TENFOLD_S3_ENDPOINT", "s3"), ("TENFOLD_SEED_USERS", "seed_users")):  # fmt: skip
        value = status.get(key)
        if value:
            env[var] = str(value)
    return env


def watched(opts_watch: tuple[str, ...], slo: SloFile) -> list[str]:
    """The deployments ``--prometheus`` judges: ``--watch``, the SLO file's ``metrics.watch`` and objectives'
    ``service``; empty means every deployment an HPA scales."""
    names = [w.removeprefix("deployment/") for w in (*opts_watch, *slo.metrics.watch)]
    names += [o.service for o in slo.objectives if o.service]
    return sorted(set(names))


def late_experiments(plan: list[ScheduledExperiment], lengths: dict[str, float]) -> list[str]:
    """Experiments scheduled at or after the end of the load: they would never start."""
    starts, total = phase_offsets(lengths), sum(float(v) for v in lengths.values())
    return [f"{e.name} at {e.phase}+{e.offset_s:g}s" for e in plan if e.at(starts) >= total]
