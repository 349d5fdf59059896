"""PostgreSQL faults: stop it (fast, or immediate = a crash) and start it again."""

from typing import Any

from chaoslib.exceptions import ActivityFailed
from chaoslib.types import Configuration, Secrets

from tenfold.chaos._components import set_component, wait_component

__all__ = ["restart_postgres", "start_postgres", "stop_postgres"]

_MODES = ("fast", "immediate", "smart")


def _mode(mode: str) -> str:
    if mode not in _MODES:
        raise ActivityFailed(f"mode must be one of {', '.join(_MODES)} (pg_ctl stop modes), got {mode!r}")
    return mode


def stop_postgres(mode: str = "fast", configuration: Configuration = None, secrets: Secrets = None) -> dict[str, Any]:
    """Stop PostgreSQL (`immediate` is a crash: no checkpoint, recovery on start). Writes must fail, not vanish."""
    return set_component("postgres", "stop", configuration, mode=_mode(mode))


def start_postgres(
    timeout_s: float = 30.0, configuration: Configuration = None, secrets: Secrets = None
) -> dict[str, Any]:
    """Start PostgreSQL and wait until it accepts connections (a rollback; harmless when it already runs)."""
    answer = set_component("postgres", "start", configuration)
    wait_component("postgres", "running", timeout_s, configuration)
    return answer


def restart_postgres(
    mode: str = "immediate", timeout_s: float = 30.0, configuration: Configuration = None, secrets: Secrets = None
) -> dict[str, Any]:
    """Restart PostgreSQL (like an RDS reboot): stop with `mode`, start, wait until it accepts connections."""
    answer = set_component("postgres", "restart", configuration, mode=_mode(mode))
    wait_component("postgres", "running", timeout_s, configuration)
    return answer
