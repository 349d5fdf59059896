"""The generator judges itself: a saturated generator measures its own queueing, not the service.

CPU is measured against what the process may use (one core for a gevent process, less under a cgroup
quota), so a generator starved by a quota is caught as surely as one that is simply too busy.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from ._scenario import HealthLimits

__all__ = ["CpuSampler", "Verdict", "allowed_cores", "judge"]

_ADVICE = "lower the rate or max_in_flight, add generator processes (--processes N) or more workers"


def allowed_cores(pid: int | None = None) -> float:
    """CPU a single-threaded generator may use: 1 core, or less if its cgroup v1 cpu quota says so."""
    try:
        lines = Path(f"/proc/{pid or os.getpid()}/cgroup").read_text().splitlines()
    except OSError:
        return 1.0
    for line in lines:
        _, controllers, rel = line.split(":", 2)
        if "cpu" in controllers.split(","):
            base = Path("/sys/fs/cgroup/cpu") / rel.lstrip("/")
            try:
                quota = int((base / "cpu.cfs_quota_us").read_text())
                period = int((base / "cpu.cfs_period_us").read_text())
            except (OSError, ValueError):
                return 1.0
            if quota > 0 and period > 0:
                return min(1.0, quota / period)
    return 1.0


@dataclass
class CpuSampler:
    """Once-a-second CPU use of this process as a fraction of what it is allowed.

    The allowance is re-read every sample: an operator (or a test) may move a running generator into a
    capped cgroup, and ``allowed`` keeps the smallest allowance seen.
    """

    allowed: float = field(default_factory=allowed_cores)
    samples: list[tuple[float, float]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._proc = psutil.Process()
        self._last = self._cpu()
        self._last_t = time.monotonic()

    def _cpu(self) -> float:
        t = self._proc.cpu_times()
        return float(t.user + t.system)

    def sample(self, now_epoch: float) -> float:
        cpu = self._cpu()
        t = time.monotonic()
        dt = max(t - self._last_t, 1e-6)
        allowed = allowed_cores()
        self.allowed = min(self.allowed, allowed)
        frac = (cpu - self._last) / dt / allowed
        self._last, self._last_t = cpu, t
        self.samples.append((round(now_epoch, 3), round(frac, 4)))
        return frac


@dataclass(frozen=True)
class Verdict:
    valid: bool
    reason: str | None


def _longest_hot_run(samples: list[tuple[float, float]], threshold: float) -> float:
    """Longest stretch (seconds) over which consecutive samples stayed at or above the threshold."""
    best = 0.0
    start: float | None = None
    prev_t: float | None = None
    for t, frac in samples:
        if frac >= threshold:
            if start is None:
                start = prev_t if prev_t is not None else t - 1.0
            best = max(best, t - start)
        else:
            start = None
        prev_t = t
    return best


def judge(samples: list[tuple[float, float]], lag_p99_ms: float, limits: HealthLimits) -> Verdict:
    """Valid unless CPU stayed hot for ``cpu_seconds`` or the start-lag p99 exceeded its limit."""
    hot = _longest_hot_run(samples, limits.cpu_threshold)
    if hot >= limits.cpu_seconds:
        return Verdict(False, f"generator CPU ≥ {limits.cpu_threshold:.0%} of its allowance for {hot:.0f} s: "
                              f"{_ADVICE}")  # fmt: skip
    if lag_p99_ms > limits.lag_p99_ms:
        return Verdict(False, f"generator start lag p99 {lag_p99_ms:.0f} ms > {limits.lag_p99_ms:.0f} ms "
                              f"(requests left late because the generator was busy): {_ADVICE}")  # fmt: skip
    return Verdict(True, None)
