"""The controller's readiness probe, as Kubernetes': a busy replica that answers /readyz late once stays in
rotation; only ``failureThreshold`` failures in a row take it out, and one good answer brings it back."""

from __future__ import annotations

import asyncio
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from servers import free_port, wait_for

from tenfold.stack.cgroups import CgroupRoot
from tenfold.stack.component import http_ok
from tenfold.stack.manifests import ServiceSpec
from tenfold.stack.procs import Proc
from tenfold.stack.replicas import Deployment, Replica

SERVER = textwrap.dedent("""
    import http.server, os, sys, time
    slow = sys.argv[2]
    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            if os.path.exists(slow):
                time.sleep(0.5)
            self.send_response(200); self.send_header("Content-Length", "2"); self.end_headers()
            self.wfile.write(b"ok")
        def log_message(self, *a):
            pass
    http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
""")


@pytest.fixture
def replica(tmp_path: Path) -> Iterator[tuple[Deployment, Replica, Path]]:
    port, slow = free_port(), tmp_path / "slow"
    spec = ServiceSpec(name="svc", replicas=1, cpu_limit=None, cpu_request=None, readiness_path="/readyz",
                       readiness_period_s=0.0, env={}, hpa=None, source="test", readiness_timeout_s=0.2,
                       readiness_failure_threshold=3)  # fmt: skip
    deployment = Deployment(spec, [port], tmp_path, CgroupRoot("tenfold-test-readiness", tmp_path / "nocg"), {})
    proc = Proc("svc-0", [sys.executable, "-c", SERVER, str(port), str(slow)], log=tmp_path / "svc.log")
    proc.start()
    r = Replica("svc-0", "svc", 0, port, proc, None, state="ready")
    deployment.replicas.append(r)
    wait_for(lambda: asyncio.run(http_ok(port, "/readyz")), what="the replica's server")
    try:
        yield deployment, r, slow
    finally:
        proc.stop(timeout_s=2)


def probe(deployment: Deployment) -> None:
    asyncio.run(deployment.probe())
    time.sleep(0.01)


def test_a_late_readyz_needs_failure_threshold_in_a_row_to_take_a_replica_out(
    replica: tuple[Deployment, Replica, Path],
) -> None:
    deployment, r, slow = replica
    slow.touch()
    probe(deployment)
    probe(deployment)
    assert (r.state, r.probe_failures) == ("ready", 2)  # two late answers: still serving
    probe(deployment)
    assert (r.state, r.probe_failures) == ("starting", 3)  # the third in a row: out of rotation
    slow.unlink()
    probe(deployment)
    assert (r.state, r.probe_failures) == ("ready", 0)


def test_a_good_answer_resets_the_count(replica: tuple[Deployment, Replica, Path]) -> None:
    deployment, r, slow = replica
    for _ in range(3):
        slow.touch()
        probe(deployment)
        probe(deployment)
        slow.unlink()
        probe(deployment)
    assert (r.state, r.probe_failures) == ("ready", 0)
