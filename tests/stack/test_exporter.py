"""The controller's own /metrics (tenfold.stack.exporter) through its Starlette app, for a controller's state made up
here; the page parsed back with prometheus_client's parser. docs/prometheus.md "Metrics" lists these series."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from tenfold.stack.api import build_app


def _replica(rid: str, state: str, cpu: float | None) -> SimpleNamespace:
    return SimpleNamespace(id=rid, state=state, cpu_seconds=lambda: cpu)


class _Utilization:
    def cpu_utilization(self, d: Any, window_s: float) -> dict[str, float | None]:
        assert window_s == 5.0
        return {"catalog-0": 0.5, "catalog-1": None, "catalog-2": 0.12345} if d.name == "catalog" else {}


CONTROLLER = SimpleNamespace(
    parts=SimpleNamespace(
        deployments={
            "catalog": SimpleNamespace(name="catalog", desired=3, replicas=[
                _replica("catalog-0", "ready", 1.5), _replica("catalog-1", "starting", None),
                _replica("catalog-2", "ready", 12.1234567)]),
            "users": SimpleNamespace(name="users", desired=1, replicas=[_replica("users-0", "frozen", 0.0)]),
        },
        desired_by_hpa={"catalog": 4},
        autoscaling=True,
    ),
    supervisor=SimpleNamespace(metrics=_Utilization()),
)  # fmt: skip


def test_the_controller_page_holds_its_state() -> None:
    resp = TestClient(build_app(CONTROLLER)).get("/metrics")  # type: ignore[arg-type]
    assert resp.status_code == 200 and resp.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    families = {f.name: f for f in text_string_to_metric_families(resp.text)}
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value for f in families.values() for s in f.samples}
    assert {n: (f.type, f.documentation) for n, f in families.items()} == {
        "tenfold_replicas": ("gauge", "Replicas of a service by state."),
        "tenfold_desired_replicas": ("gauge", "Replicas the controller wants."),
        "tenfold_hpa_desired_replicas": ("gauge", "What the HPA algorithm asked for (also when autoscaling is off)."),
        "tenfold_replica_cpu_seconds": ("counter", "CPU time used by a replica's cgroup."),
        "tenfold_cpu_utilization_ratio": ("gauge", "Mean CPU of ready replicas as a fraction of the CPU limit (5 s)."),
        "tenfold_autoscaling_enabled": ("gauge", "1 when the controller's autoscaler acts on its decisions, else 0."),
    }
    by_state = {"catalog": {"ready": 2, "starting": 1}, "users": {"frozen": 1}}  # every state, 0 if none
    expected = {
        **{
            ("tenfold_replicas", (("service", svc), ("state", s))): by_state[svc].get(s, 0)
            for svc in by_state
            for s in ("ready", "starting", "frozen", "dead", "terminating")
        },
        ("tenfold_desired_replicas", (("service", "catalog"),)): 3,
        ("tenfold_desired_replicas", (("service", "users"),)): 1,
        ("tenfold_hpa_desired_replicas", (("service", "catalog"),)): 4,
        # no sample for a replica without a cgroup reading; the counter's samples keep their _total
        ("tenfold_replica_cpu_seconds_total", (("replica", "catalog-0"), ("service", "catalog"))): 1.5,
        ("tenfold_replica_cpu_seconds_total", (("replica", "catalog-2"), ("service", "catalog"))): 12.123457,
        ("tenfold_replica_cpu_seconds_total", (("replica", "users-0"), ("service", "users"))): 0.0,
        ("tenfold_cpu_utilization_ratio", (("service", "catalog"),)): 0.3117,  # mean of the known, 4 decimals
        ("tenfold_autoscaling_enabled", ()): 1,
    }
    assert samples == expected
    assert "_created" not in resp.text


def test_autoscaling_off_and_no_utilization_yet() -> None:
    ctl = SimpleNamespace(parts=SimpleNamespace(**{**vars(CONTROLLER.parts), "autoscaling": False}),
                          supervisor=SimpleNamespace(metrics=None))  # fmt: skip
    text = TestClient(build_app(ctl)).get("/metrics").text  # type: ignore[arg-type]
    assert "tenfold_autoscaling_enabled 0.0\n" in text
    assert "tenfold_cpu_utilization_ratio{" not in text
    assert "# HELP tenfold_cpu_utilization_ratio " in text  # the family is there, without samples
