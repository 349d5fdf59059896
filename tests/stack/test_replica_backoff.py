"""A replica that keeps dying is restarted with backoff (``restartPolicy: Always``, shortened): 0.25 s, doubling
per restart, at most 10 s, and back to 0.25 s once it has run 30 s. Real child processes (``false`` dies at
once, ``sleep`` lives); the clock the Deployment is driven with is the test's, so no test waits for a delay.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from servers import free_port, wait_for

from tenfold.stack.cgroups import CgroupRoot
from tenfold.stack.manifests import ServiceSpec
from tenfold.stack.procs import Proc
from tenfold.stack.replicas import Deployment, Replica


def deployment(home: Path, argv: list[str]) -> tuple[Deployment, Replica]:
    """One replica running ``argv``; cgroups unavailable (a mount that is no cgroup hierarchy): no limits."""
    spec = ServiceSpec("s", 1, None, None, "/readyz", 10.0, {}, None, "test")
    port = free_port()
    d = Deployment(spec, [port], home, CgroupRoot("tenfold-test", mount=Path("/proc/self")), {})
    replica = Replica("s-0", "s", 0, port, Proc("s-0", argv, log=home / "s-0.log"), None)
    d.replicas.append(replica)  # desired is 1: reconcile restarts this one and starts no other
    replica.proc.start()
    return d, replica


def test_restart_delay_doubles_up_to_10_s(tmp_path: Path) -> None:
    d, r = deployment(tmp_path, ["false"])
    now, delays, kinds = 1000.0, [], []
    for _ in range(9):
        wait_for(lambda: not r.proc.alive(), 5, "the replica to exit")
        kinds += [k for k, _ in d.reconcile(now)]  # seen dead: next start scheduled
        assert r.state == "dead"
        delays.append(round(r.next_start - now, 3))
        assert d.reconcile(r.next_start - 0.01) == [] and r.state == "dead"  # not a moment early
        now = r.next_start
        kinds += [k for k, _ in d.reconcile(now)]
        assert r.state == "starting"
    assert delays == [0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0, 10.0]
    assert kinds == ["replica_died", "replica_restarted"] * 9 and r.restarts == 9
    r.proc.stop(1)


def test_backoff_resets_after_30_s_of_running(tmp_path: Path) -> None:
    d, r = deployment(tmp_path, ["sleep", "60"])
    try:
        r.backoff = 5  # it had crashed five times before this start
        asyncio.run(d.probe())
        assert r.backoff == 5  # running for less than 30 s: the next crash still waits 8 s
        r.proc.started_at = time.monotonic() - 31  # as if this start was 31 s ago
        r.probed_at = 0.0
        asyncio.run(d.probe())
        assert r.backoff == 0
        r.proc.stop(1)
        wait_for(lambda: not r.proc.alive(), 5, "the replica to exit")
        d.reconcile(2000.0)
        assert r.state == "dead" and r.next_start == 2000.25  # the first delay again
    finally:
        r.proc.stop(1)
