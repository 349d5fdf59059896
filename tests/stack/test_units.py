"""Pieces of the local runtime on their own: manifests, CPU quantities, cgroups on real processes, and children
that die with their parent (PR_SET_PDEATHSIG)."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tenfold.errors import ConfigError
from tenfold.stack.autoscaler import MetricTarget
from tenfold.stack.calibration import calibrate, load_calibration
from tenfold.stack.cgroups import CgroupRoot, parse_cpu
from tenfold.stack.manifests import load_overlay, load_services
from tenfold.stack.state import pid_alive


@pytest.mark.parametrize(("text", "cores"), [("250m", 0.25), ("1", 1.0), ("1.5", 1.5), (2, 2.0), ("100m", 0.1)])
def test_parse_cpu(text: str | int, cores: float) -> None:
    assert parse_cpu(text) == pytest.approx(cores)


def test_real_manifests_and_overlay() -> None:
    overlay = load_overlay()
    services = {s.name: s for s in load_services(overlay=overlay)}
    assert set(services) == {"users", "catalog", "recommendations", "events"}
    for s in services.values():
        assert s.replicas >= 1 and s.cpu_limit and s.hpa is not None
        assert MetricTarget("cpu", 0.7) in s.hpa.metrics  # the seed's 70% rule
        assert s.hpa.scale_down.stabilization_window_seconds == overlay.scale_down_window_s
    assert overlay.sync_period_s < 15


def test_the_local_calibration_sizes_catalog_for_this_box_and_leaves_the_manifests_for_clusters() -> None:
    manifests = {s.name: s for s in load_services()}
    local = {s.name: s for s in calibrate(load_services(), load_calibration())}
    catalog, cluster = local["catalog"], manifests["catalog"]
    assert (cluster.cpu_request, cluster.cpu_limit) == (0.25, 0.5)
    assert cluster.hpa is not None and cluster.hpa.max_replicas == 10
    assert (catalog.cpu_request, catalog.cpu_limit) == (0.05, 0.05)
    assert catalog.hpa is not None and catalog.hpa.max_replicas == 8
    assert catalog.hpa.min_replicas == cluster.hpa.min_replicas and catalog.replicas == cluster.replicas
    assert (catalog.gateway_connections, cluster.gateway_connections) == (8, None)
    assert local["users"] == dataclasses.replace(manifests["users"], gateway_connections=16, gateway_queue_s=5)
    assert local["events"] == manifests["events"]  # what the calibration does not name is the manifest's


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("services: {catalog: {cpuLimt: 50m}}", r"yaml:1:22: services.catalog.cpuLimt: unknown field 'cpuLimt'"),
        ("services: {catalog: {maxReplicas: many}}", r"yaml:1:35: services.catalog.maxReplicas: 'many' is not a"),
        ("services: {catalgo: {maxReplicas: 3}}", r"calibration.yaml: calibrates \['catalgo'\]"),
        ("services: {users: {gatewayQueueSeconds: 0}}", r"1:41: services.users.gatewayQueueSeconds: 0 is not a"),
    ],
)  # fmt: skip
def test_a_bad_calibration_is_a_config_error_naming_the_file(tmp_path: Path, text: str, error: str) -> None:
    path = tmp_path / "calibration.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=error):
        calibrate(load_services(), load_calibration(path), path)


def test_manifest_without_deployment_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "x.yaml").write_text("apiVersion: v1\nkind: Service\nmetadata: {name: x}\n")
    with pytest.raises(ConfigError, match=r"x\.yaml:1: no Deployment"):
        load_services(tmp_path)


def test_hpa_behavior_is_read(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text(
        """
kind: Deployment
metadata: {name: s}
spec:
  replicas: 3
  template: {spec: {containers: [{name: s, resources: {limits: {cpu: 500m}}}]}}
---
kind: HorizontalPodAutoscaler
spec:
  minReplicas: 2
  maxReplicas: 9
  metrics:
    - {type: Resource, resource: {name: cpu, target: {type: Utilization, averageUtilization: 70}}}
    - {type: Pods, pods: {metric: {name: http_requests_per_second}, target: {type: AverageValue, averageValue: "50"}}}
  behavior:
    scaleDown:
      stabilizationWindowSeconds: 60
      selectPolicy: Min
      policies: [{type: Pods, value: 1, periodSeconds: 30}]
"""
    )
    (s,) = load_services(tmp_path)
    assert (s.replicas, s.cpu_limit) == (3, 0.5)
    assert s.hpa is not None and (s.hpa.min_replicas, s.hpa.max_replicas) == (2, 9)
    assert s.hpa.metrics == (MetricTarget("cpu", 0.7), MetricTarget("http_requests_per_second", 50.0))
    assert s.hpa.scale_down.select_policy == "Min" and s.hpa.scale_down.policies[0].value == 1
    assert s.hpa.scale_up.stabilization_window_seconds == 0  # Kubernetes default


@pytest.fixture
def cgroup_root() -> Iterator[CgroupRoot]:
    root = CgroupRoot(f"tenfold-test-{os.getpid()}")
    if not root.available:
        pytest.skip(root.reason)
    yield root
    root.cleanup()


def test_cpu_quota_caps_a_busy_loop_and_cpuacct_measures_it(cgroup_root: CgroupRoot) -> None:
    group = cgroup_root.group("burn")
    assert group is not None
    group.set_cpu_limit(0.2)
    proc = subprocess.Popen([sys.executable, "-c", "import time\nt=time.time()+1.5\nwhile time.time()<t: pass"])
    try:
        group.add(proc.pid)
        start_cpu, start = group.cpu_seconds() or 0.0, time.monotonic()
        proc.wait(5)
        used = (group.cpu_seconds() or 0.0) - start_cpu
        share = used / (time.monotonic() - start)
    finally:
        proc.kill()
        proc.wait()
    assert 0.1 < share < 0.3  # 0.2 core, not the whole core a busy loop would take


def test_the_root_weighs_as_many_processes_as_it_has_groups_up_to_the_cores(cgroup_root: CgroupRoot) -> None:
    shares = cgroup_root.mount / "cpu" / cgroup_root.name / "cpu.shares"
    cores = os.cpu_count() or 1
    groups = [cgroup_root.group(f"r{i}") for i in range(cores + 2)]
    assert int(shares.read_text()) == cores * 1024  # no more than the machine's cores, however many replicas
    while len(groups) > 1:
        groups.pop().remove()  # type: ignore[union-attr]
        assert int(shares.read_text()) == min(len(groups), cores) * 1024  # each replica competes as a process
    groups.pop().remove()  # type: ignore[union-attr]
    assert int(shares.read_text()) == 1024  # never below one process


def test_freezer_stops_and_resumes_a_process(cgroup_root: CgroupRoot, tmp_path: Path) -> None:
    group = cgroup_root.group("frozen")
    assert group is not None
    out = tmp_path / "ticks"
    code = f"import time\nwhile True:\n    open({str(out)!r}, 'a').write('x')\n    time.sleep(0.02)"
    proc = subprocess.Popen([sys.executable, "-c", code])
    try:
        group.add(proc.pid)
        time.sleep(0.3)
        assert group.freeze(True) and group.frozen()
        before = out.stat().st_size
        time.sleep(0.3)
        assert out.stat().st_size == before
        assert group.freeze(False) and not group.frozen()
        time.sleep(0.3)
        assert out.stat().st_size > before
    finally:
        group.freeze(False)
        proc.kill()
        proc.wait()


def test_children_die_with_their_parent(tmp_path: Path) -> None:
    """A parent that starts children through Proc is SIGKILLed: the children follow (PR_SET_PDEATHSIG)."""
    pids_file = tmp_path / "pids"
    code = f"""
import time
from pathlib import Path
from tenfold.stack.procs import Proc
procs = [Proc(f"c{{i}}", ["sleep", "60"], log=Path({str(tmp_path)!r}) / "c.log") for i in range(3)]
for p in procs:
    p.start()
Path({str(pids_file)!r}).write_text(" ".join(str(p.pid) for p in procs))
time.sleep(60)
"""
    parent = subprocess.Popen([sys.executable, "-c", code])
    try:
        deadline = time.monotonic() + 10
        while not pids_file.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        children = [int(p) for p in pids_file.read_text().split()]
        assert all(pid_alive(p) for p in children)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait()
        deadline = time.monotonic() + 3
        while any(pid_alive(p) for p in children) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not [p for p in children if pid_alive(p)]
    finally:
        parent.kill()
        parent.wait()


def test_unwritable_cgroups_run_unlimited_and_say_so() -> None:
    root = CgroupRoot("tenfold-test", mount=Path("/proc/self"))  # not a cgroup hierarchy, not writable
    assert not root.available
    assert "not writable" in root.reason and "without CPU limits" in root.reason
    assert root.group("x") is None


def test_local_prometheus_config_is_valid(tmp_path: Path) -> None:
    """The config the controller copies (with its file_sd target files and the rules) passes promtool."""
    import shutil as _shutil

    if _shutil.which("promtool") is None:
        pytest.skip("promtool is not installed (make setup)")
    from tenfold.stack.prometheus import prometheus

    prometheus(tmp_path, 9)  # renders the config, copies the rules, writes empty target files
    result = subprocess.run(
        ["promtool", "check", "config", str(tmp_path / "prometheus" / "prometheus.yml")], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "prometheus" / "targets" / "services.json").read_text() == "[]"
