"""One cgroup v1 group per replica: ``cpu`` (the manifest's CPU limit as a CFS quota), ``cpuacct`` (usage for
the autoscaler) and ``freezer`` (freeze/thaw for chaos), beneath a root that weighs as many processes as it has
groups (``reweigh``). Where the hierarchy is not writable the stack runs
unlimited and says so (``CgroupRoot.available`` is False, ``reason`` tells why).
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CPU_PERIOD_US", "SHARES_PER_GROUP", "CgroupRoot", "Group", "parse_cpu", "remove_tree", "reweigh"]

_MOUNT = Path("/sys/fs/cgroup")
_CONTROLLERS = ("cpu", "cpuacct", "freezer")
CPU_PERIOD_US = 100_000


def parse_cpu(quantity: str | int | float) -> float:
    """A Kubernetes CPU quantity in cores: ``"250m"`` → 0.25, ``"1"`` → 1.0."""
    text = str(quantity).strip()
    if text.endswith("m"):
        return float(text[:-1]) / 1000.0
    return float(text)


SHARES_PER_GROUP = 1024
"""``cpu.shares`` of the root per group beneath it: the weight of one process at nice 0."""


def reweigh(cpu_root: Path) -> None:
    """Give the root the weight of as many processes as it has groups (at least one; at most as many as the machine
    has cores).

    A cgroup competes for the CPU as *one* entity, with ``cpu.shares`` (default 1024) against each busy process (or
    autogroup) outside it. With the default, all the replicas beneath the root weighed as much as one HAProxy: on a
    busy machine they got a fraction of their quotas (users at 30% of its limit, never scaling out), and the 20x
    overload shed 1-19% of its critical requests (docs/calibration.md). Weighed as the processes they are, each
    replica competes as it would without cgroups; its quota still caps it. Capped at the cores: several stacks run
    at once under ``make test``, and one of 16 replicas weighed as 16 processes against every other test (Locust
    generators falling 7-20% behind their rate, Kinto not back within 9 s of a kill); as many processes as there
    are cores can already take the whole machine."""
    cap = os.cpu_count() or 1
    with contextlib.suppress(OSError):
        groups = sum(1 for child in cpu_root.iterdir() if child.is_dir())
        (cpu_root / "cpu.shares").write_text(str(SHARES_PER_GROUP * max(1, min(groups, cap))))


@dataclass(frozen=True)
class Group:
    """The directories of one group in each controller."""

    paths: dict[str, Path]

    def add(self, pid: int) -> None:
        for path in self.paths.values():
            (path / "cgroup.procs").write_text(str(pid))

    def set_cpu_limit(self, cores: float | None) -> None:
        cpu = self.paths.get("cpu")
        if cpu is None:
            return
        (cpu / "cpu.cfs_period_us").write_text(str(CPU_PERIOD_US))
        quota = -1 if cores is None else max(1000, int(cores * CPU_PERIOD_US))
        (cpu / "cpu.cfs_quota_us").write_text(str(quota))

    def cpu_seconds(self) -> float | None:
        acct = self.paths.get("cpuacct")
        if acct is None:
            return None
        try:
            return int((acct / "cpuacct.usage").read_text()) / 1e9
        except (OSError, ValueError):
            return None

    def freeze(self, frozen: bool, timeout_s: float = 2.0) -> bool:
        path = self.paths.get("freezer")
        if path is None:
            return False
        want = "FROZEN" if frozen else "THAWED"
        (path / "freezer.state").write_text(want)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if (path / "freezer.state").read_text().strip() == want:
                return True
            time.sleep(0.01)
        return False

    def frozen(self) -> bool:
        path = self.paths.get("freezer")
        if path is None:
            return False
        with contextlib.suppress(OSError):
            return (path / "freezer.state").read_text().strip() != "THAWED"
        return False

    def remove(self) -> None:
        """Remove the group (thawed first: a frozen group's tasks could never exit)."""
        with contextlib.suppress(OSError):
            self.freeze(False, timeout_s=0.5)
        for path in self.paths.values():
            with contextlib.suppress(OSError):
                path.rmdir()
        if "cpu" in self.paths:
            reweigh(self.paths["cpu"].parent)


class CgroupRoot:
    """``/sys/fs/cgroup/<controller>/<name>/`` for every controller; groups are created beneath it."""

    def __init__(self, name: str, mount: Path = _MOUNT) -> None:
        self.name = name
        self.mount = mount
        self.available = False
        self.reason = ""
        try:
            for ctl in _CONTROLLERS:
                (mount / ctl / name).mkdir(parents=False, exist_ok=True)
            probe = mount / "cpu" / name / "probe"
            probe.mkdir(exist_ok=True)
            (probe / "cpu.cfs_quota_us").write_text("-1")
            probe.rmdir()
            self.available = True
        except OSError as exc:
            self.reason = (
                f"cgroups v1 at {mount} are not writable ({exc.strerror or exc}): replicas run without CPU limits"
            )

    def group(self, name: str) -> Group | None:
        if not self.available:
            return None
        paths = {}
        for ctl in _CONTROLLERS:
            path = self.mount / ctl / self.name / name
            path.mkdir(exist_ok=True)
            paths[ctl] = path
        reweigh(paths["cpu"].parent)
        return Group(paths)

    def cleanup(self) -> None:
        remove_tree(self.name, self.mount)


def remove_tree(name: str, mount: Path = _MOUNT) -> None:
    """Remove every group beneath ``name``, then ``name`` (leftovers of a SIGKILLed controller included)."""
    for ctl in _CONTROLLERS:
        root = mount / ctl / name
        if not root.is_dir():
            continue
        for child in root.iterdir():
            if child.is_dir():
                if ctl == "freezer":
                    with contextlib.suppress(OSError):
                        (child / "freezer.state").write_text("THAWED")
                with contextlib.suppress(OSError):
                    child.rmdir()
        with contextlib.suppress(OSError):
            root.rmdir()
