"""Sample the resident memory of every process of the local stack into ``<run>/memory.jsonl``.

The controller knows the pids (its control API's status and replica list); psutil reads their RSS. The list
is asked again at every sample, so a replica that is restarted or added shows up as a new process. One JSON
object per process and sample, appended as it is taken: an interrupted run keeps what was measured.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from tenfold.errors import StackError
from tenfold.stack.client import ControlClient

__all__ = ["MemorySampler", "Process", "sample_interval", "stack_processes"]


@dataclass(frozen=True)
class Process:
    name: str  # replica id (catalog-0), component name (postgres, redis-0, ...) or "controller"
    kind: str  # replica | component | controller
    pid: int
    service: str | None = None


def sample_interval(duration_s: float) -> float:
    """A sample every few seconds: about 60 over a short soak, one every 5 s over a long one."""
    return min(5.0, max(1.0, duration_s / 60.0))


def stack_processes(client: ControlClient) -> list[Process]:
    """Every process the controller runs, itself included (aliases without pids are skipped)."""
    status = client.status()
    out = [Process("controller", "controller", int(status["pid"]))]
    for name, comp in sorted((status.get("components") or {}).items()):
        pids = [p for p in comp.get("pids") or [] if isinstance(p, int)]
        for i, pid in enumerate(pids):
            out.append(Process(name if len(pids) == 1 else f"{name}/{i}", "component", pid))
    for r in client.replicas():
        if r.pid is not None:
            out.append(Process(r.id, "replica", r.pid, r.service))
    return out


class MemorySampler:
    """A daemon thread: every ``interval_s`` the RSS of every stack process, until ``stop()``."""

    def __init__(self, control_url: str, path: Path, interval_s: float) -> None:
        self.client = ControlClient(control_url, timeout_s=5.0)
        self.path = path
        self.interval_s = interval_s
        self.samples = 0
        self.problem: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="memory-sampler", daemon=True)
        self._handles: dict[int, psutil.Process] = {}

    def start(self) -> MemorySampler:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(self.interval_s + 10)

    def sample(self) -> list[dict[str, object]]:
        """One round: a row per live process."""
        rows: list[dict[str, object]] = []
        now = time.time()
        for p in stack_processes(self.client):
            try:
                handle = self._handles.get(p.pid)
                if handle is None:
                    handle = self._handles[p.pid] = psutil.Process(p.pid)
                rss = handle.memory_info().rss
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                self._handles.pop(p.pid, None)
                continue
            rows.append({"t": round(now, 3), "process": p.name, "kind": p.kind, "service": p.service, "pid": p.pid,
                         "rss_bytes": rss})  # fmt: skip
        return rows

    def _loop(self) -> None:
        with self.path.open("a", encoding="utf-8") as out:
            while True:
                try:
                    rows = self.sample()
                except StackError as exc:  # the controller is gone or busy: keep trying, say why at the end
                    self.problem = str(exc)
                    rows = []
                out.writelines(json.dumps(r) + "\n" for r in rows)
                out.flush()
                self.samples += bool(rows)
                if self._stop.wait(self.interval_s):
                    return
