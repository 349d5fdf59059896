"""Process lifecycle: readiness gating, draining on SIGTERM, clean exit, bad settings."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import httpx
from credentials import ENV as AUTH_ENV
from credentials import bearer
from servers import free_port, service, wait_for


def test_sigterm_drains_then_exits_zero(stores: dict[str, str]) -> None:
    svc = service("users", {**stores, "TENFOLD_DRAIN_SECONDS": "1.0"})
    assert svc.proc is not None
    svc.proc.send_signal(signal.SIGTERM)
    time.sleep(0.2)
    r = httpx.get(f"{svc.url}/readyz")
    assert r.status_code == 503 and r.json()["draining"] is True
    assert (
        httpx.get(f"{svc.url}/api/users/1", headers=bearer(1)).status_code == 200
    )  # still serving while the LB notices
    assert svc.proc.wait(15) == 0


def test_not_ready_until_its_required_dependency_answers(stores: dict[str, str]) -> None:
    port = free_port()
    svc = service("users", {**stores, "TENFOLD_POSTGRES_DSN": f"postgresql://tenfold@127.0.0.1:{port}/x"}, ready=False)
    try:
        wait_for(lambda: httpx.get(f"{svc.url}/healthz").status_code == 200, what="alive")
        r = httpx.get(f"{svc.url}/readyz")
        assert r.status_code == 503
        assert r.json()["dependencies"]["postgres"].startswith("error")
    finally:
        svc.stop()


def test_recommendations_is_ready_with_no_dependency_at_all() -> None:
    dead = "http://127.0.0.1:9"
    svc = service(
        "recommendations", {"TENFOLD_REDIS_URL": "redis://127.0.0.1:9/0", "TENFOLD_DYNAMODB_ENDPOINT": dead, **AUTH_ENV}
    )
    try:
        r = httpx.get(f"{svc.url}/api/recommendations/5", headers=bearer(5))
        assert r.status_code == 200 and r.json()["degraded"] is True  # a cold replica can degrade too
    finally:
        svc.stop()


def test_bad_setting_names_the_variable() -> None:
    r = subprocess.run(
        [sys.executable, "-m", "reference_services", "users"],
        env={"TENFOLD_PORT": "not-a-port", "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert r.returncode == 78
    assert "TENFOLD_PORT" in r.stderr


def test_unknown_service_is_a_usage_error() -> None:
    r = subprocess.run([sys.executable, "-m", "reference_services", "billing"], capture_output=True, text=True)
    assert r.returncode == 64 and "users|catalog|recommendations|events" in r.stderr
