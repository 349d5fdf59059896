"""The two installs (pyproject.toml, README "Install"): a replica of the reference services needs the ``services``
extra and nothing else. Installed from uv.lock into a fresh venv, the way the Dockerfile installs the image, it has
none of the harness's packages and still starts a reference replica that answers HTTP.

Builds its own venv in a temp dir (about half a minute; from uv's cache when it holds the pins, else from PyPI):
the project's ``.venv`` is neither used nor touched.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from servers import ROOT, Server, free_port, tmpdir, wait_for

pytestmark = pytest.mark.servers  # starts uv and a replica

UV = Path(sys.executable).parent / "uv"  # scripts/setup installs it into .venv
# Import names of what only the harness needs (Locust, Chaos Toolkit, moto, SciPy, Matplotlib, the Prometheus client).
HARNESS_ONLY = ("locust", "chaoslib", "chaostoolkit", "moto", "scipy", "matplotlib", "prometheus_api_client")
FIND = "import importlib.util as u; print([m for m in {} if u.find_spec(m)])"  # those of the names it can import
# What the image copies (Dockerfile): the package is built from these, outside the working tree.
SOURCES = ("pyproject.toml", "README.md", "reference_services", "tenfold", "reports", "locustfiles")
# The replica's Python: isolated from the working tree (PYTHONSAFEPATH, like -P: no cwd on sys.path; no PYTHONPATH,
# no user site).
ISOLATED = {"PYTHONPATH": "", "PYTHONSAFEPATH": "1", "PYTHONNOUSERSITE": "1", "VIRTUAL_ENV": ""}


def _uv(*args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT")}
    return subprocess.run([str(UV), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def _install(python: Path, *args: str) -> None:
    """``uv pip install`` from uv's cache alone if it can, else from the index."""
    r = _uv("pip", "install", "--python", str(python), "--offline", *args, timeout=300)
    if r.returncode != 0:
        r = _uv("pip", "install", "--python", str(python), *args, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]


@pytest.fixture(scope="module")
def services_python() -> Iterator[Path]:
    """The Python of a fresh venv holding ``tenfold`` (built from a copy of the sources) and the pins uv.lock has for
    its ``services`` extra, hashes checked; removed afterwards."""
    if not UV.is_file():
        pytest.fail(f"{UV} is missing: scripts/setup installs uv into .venv")
    tmp = tmpdir("install-services")
    try:
        requirements = tmp / "requirements.txt"
        r = _uv("export", "--quiet", "--locked", "--extra", "services", "--no-emit-project", "-o", str(requirements),
                timeout=120)  # fmt: skip
        assert r.returncode == 0, r.stderr[-3000:]  # --locked: a uv.lock behind pyproject.toml fails here
        src = tmp / "src"
        src.mkdir()
        for name in SOURCES:
            if (ROOT / name).is_dir():
                ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "build")
                shutil.copytree(ROOT / name, src / name, ignore=ignore)
            else:
                shutil.copy2(ROOT / name, src / name)
        venv = tmp / "venv"
        r = _uv("venv", "--quiet", "--python", sys.executable, str(venv), timeout=120)
        assert r.returncode == 0, r.stderr[-3000:]
        python = venv / "bin" / "python"
        _install(python, "--require-hashes", "-r", str(requirements))
        _install(python, "--no-deps", str(src))
        shutil.rmtree(src)  # the replica must run from the venv's site-packages, not from a source tree
        yield python
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _python(python: Path, code: str) -> str:
    r = subprocess.run([str(python), "-c", code], cwd=python.parents[2], env={**os.environ, **ISOLATED},
                       capture_output=True, text=True, timeout=60)  # fmt: skip
    assert r.returncode == 0, r.stderr[-3000:]
    return r.stdout.strip()


def test_the_services_install_has_none_of_the_harness(services_python: Path) -> None:
    found = _python(services_python, FIND.format(HARNESS_ONLY))
    assert found == "[]", f"the services extra installs harness packages: {found}"
    where = _python(services_python, "import reference_services, uvicorn; print(reference_services.__file__)")
    assert where.startswith(str(services_python.parents[1])) and "site-packages" in where, where


def test_a_replica_starts_from_the_services_install(services_python: Path) -> None:
    """catalog answers /healthz, /metrics and /readyz with no store behind it (its backends point at closed ports:
    not ready, but alive), then stops on SIGTERM."""
    closed = free_port()
    log = services_python.parents[2] / "catalog.log"
    port = free_port()
    env = ISOLATED | {
        "TENFOLD_PORT": str(port),
        "TENFOLD_DRAIN_SECONDS": "0",
        "TENFOLD_REDIS_URL": f"redis://127.0.0.1:{closed}/0",
        "TENFOLD_DYNAMODB_ENDPOINT": f"http://127.0.0.1:{closed}",
        "TENFOLD_STALE_COPIES_SECONDS": "0",
    }
    replica = Server("catalog", [str(services_python), "-m", "reference_services", "catalog"], port, env=env, log=log)
    replica.start()
    try:
        try:
            replica.wait_port(60)
            wait_for(lambda: httpx.get(f"{replica.url}/healthz", timeout=2).status_code == 200, 30, "catalog /healthz")
        except (TimeoutError, RuntimeError):  # RuntimeError: it exited first
            pytest.fail(f"the replica did not answer: {log.read_text()[-3000:] if log.exists() else 'no log'}")
        assert httpx.get(f"{replica.url}/healthz", timeout=5).json() == {"alive": True}
        metrics = httpx.get(f"{replica.url}/metrics", timeout=5)
        assert metrics.status_code == 200 and "# TYPE" in metrics.text
        ready = httpx.get(f"{replica.url}/readyz", timeout=5)
        assert ready.status_code == 503 and ready.json()["ready"] is False  # its store is not there
    finally:
        code = replica.stop(timeout=20)  # SIGTERM to its process group, SIGKILL after 20 s
    assert code == 0, log.read_text()[-3000:]
    assert not replica.alive()
