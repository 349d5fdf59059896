"""What the local runtime takes from infra/k8s/services/*.yaml beyond replicas, CPU and HPA: the container's
command and ``terminationGracePeriodSeconds`` (SIGTERM, then SIGKILL that much later). A changed manifest changes
the runtime's spec and what a scaled-in replica goes through."""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path

import pytest
from _infra import K8S

from reference_services import SERVICES
from tenfold.errors import ConfigError
from tenfold.stack.cgroups import CgroupRoot
from tenfold.stack.manifests import ServiceSpec, load_service, load_services
from tenfold.stack.procs import Proc
from tenfold.stack.replicas import Deployment, Replica

SERVICES_DIR = K8S / "services"
IGNORES_SIGTERM = "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\ntime.sleep(60)\n"


def _edited(tmp_path: Path, old: str, new: str, name: str = "catalog") -> Path:
    text = (SERVICES_DIR / f"{name}.yaml").read_text()
    assert old in text
    path = tmp_path / f"{name}.yaml"
    path.write_text(text.replace(old, new))
    return path


def test_the_runtime_reads_command_and_grace_from_the_manifests() -> None:
    specs = {s.name: s for s in load_services()}
    assert set(specs) == set(SERVICES)
    for name, spec in specs.items():
        assert spec.termination_grace_s == 15, name
        assert spec.command == ("python", "-m", "reference_services", name)
        assert spec.argv() == [sys.executable, "-m", "reference_services", name]


def test_a_changed_grace_and_command_change_the_spec(tmp_path: Path) -> None:
    spec = load_service(_edited(tmp_path, "terminationGracePeriodSeconds: 15", "terminationGracePeriodSeconds: 2"))
    assert spec.termination_grace_s == 2
    unset = load_service(_edited(tmp_path, "      terminationGracePeriodSeconds: 15\n", ""))
    assert unset.termination_grace_s == 30, "Kubernetes' default"
    old = '["python", "-m", "reference_services", "catalog"]'
    spec = load_service(_edited(tmp_path, old, '["python3", "-X", "dev", "-m", "reference_services", "catalog"]'))
    assert spec.argv() == [sys.executable, "-X", "dev", "-m", "reference_services", "catalog"]


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("terminationGracePeriodSeconds: 15", "terminationGracePeriodSeconds: -1", "must be ≥ 0"),
        ("terminationGracePeriodSeconds: 15", "terminationGracePeriodSeconds: soon", "is not a valid number"),
        ('["python", "-m"', '["gunicorn", "-m"', "must start with 'python'"),
        ('command: ["python", "-m", "reference_services", "catalog"]', "command: python", "a list of strings"),
    ],
)
def test_a_bad_grace_or_command_is_an_error_at_its_line(tmp_path: Path, old: str, new: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as exc:
        load_service(_edited(tmp_path, old, new))
    assert "catalog.yaml:" in str(exc.value)


def _terminated_after(spec: ServiceSpec, tmp_path: Path, wait_s: float) -> bool:
    """Scale in a replica that ignores SIGTERM; True when it is gone ``wait_s`` later."""
    deployment = Deployment(spec, [1], tmp_path, CgroupRoot("tenfold-test-grace", tmp_path / "nocg"), {})
    proc = Proc("svc-0", [sys.executable, "-c", IGNORES_SIGTERM], log=tmp_path / "svc.log")
    proc.start()
    time.sleep(0.3)  # it has installed its SIG_IGN
    replica = Replica("svc-0", spec.name, 0, 1, proc, None, state="ready")
    deployment.replicas.append(replica)
    try:
        deployment.terminate(replica, time.monotonic())
        time.sleep(wait_s)
        deployment.reconcile(time.monotonic())  # past the grace: SIGKILL
        deadline = time.monotonic() + 2
        while proc.alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        return not proc.alive()
    finally:
        proc.stop(0.5, signal.SIGKILL)


def test_the_grace_is_how_long_a_stopped_replica_gets_before_sigkill(tmp_path: Path) -> None:
    short = load_service(_edited(tmp_path, "terminationGracePeriodSeconds: 15", "terminationGracePeriodSeconds: 0.5"))
    assert _terminated_after(short, tmp_path, 0.8), "SIGKILL once the 0.5 s grace is over"
    assert not _terminated_after(load_service(SERVICES_DIR / "catalog.yaml"), tmp_path, 0.8), "15 s: not yet"
