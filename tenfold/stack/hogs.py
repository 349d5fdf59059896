"""CPU hogs beside a service's replicas (the ``cpu`` chaos actions): busy processes in a cgroup of their own, capped at
the cores asked for, each gone after its duration, at ``stop`` or with the controller."""

from __future__ import annotations

import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from tenfold.stack.cgroups import CgroupRoot
from tenfold.stack.procs import Proc

__all__ = ["Hog", "Hogs"]

_BURN = """\
import time, multiprocessing as m
def burn(t):
    while time.time() < t:
        pass
t = time.time() + {duration_s}
ps = [m.Process(target=burn, args=(t,)) for _ in range({processes})]
[p.start() for p in ps]
[p.join() for p in ps]
"""
"""One busy process per core asked for (rounded up); the cgroup's quota holds them to ``cores``."""


@dataclass
class Hog:
    id: str
    proc: Proc
    until: float
    """Epoch seconds when it stops on its own."""

    def remaining_s(self, now: float) -> float:
        return max(0.0, self.until - now)


@dataclass
class Hogs:
    cgroups: CgroupRoot
    logs: Path
    running: dict[str, Hog] = field(default_factory=dict)
    _serial: int = 0

    def start(self, beside: str, cores: float, duration_s: float) -> Hog:
        """A hog of ``cores`` for ``duration_s`` in a cgroup named after it and the service it sits beside."""
        self._serial += 1
        hog_id = f"hog-{self._serial}"
        group = self.cgroups.group(f"{hog_id}-{beside}")
        if group is not None:
            group.set_cpu_limit(cores)
        code = _BURN.format(duration_s=duration_s, processes=max(1, int(cores + 0.999)))
        proc = Proc(hog_id, [sys.executable, "-c", code], log=self.logs / f"{hog_id}.log", group=group)
        proc.start()
        hog = self.running[hog_id] = Hog(hog_id, proc, time.time() + duration_s)
        return hog

    def stop(self, hog_id: str | None = None) -> list[str]:
        """Kill one hog (or every one); the ids stopped."""
        stopped = []
        for hid, hog in list(self.running.items()):
            if hog_id is None or hid == hog_id:
                hog.proc.stop(0.5, signal.SIGKILL)
                # The supervision loop (expire, another thread) may have forgotten it already: it saw it die.
                self.running.pop(hid, None)
                stopped.append(hid)
        return stopped

    def expire(self) -> None:
        """Forget the hogs whose time is up or that died."""
        for hid, hog in list(self.running.items()):
            if not hog.proc.alive() or time.time() > hog.until:
                hog.proc.stop(0.5)
                self.running.pop(hid, None)  # or stop() did, meanwhile

    def pids(self) -> list[int]:
        return [h.proc.pid for h in self.running.values() if h.proc.pid is not None]
