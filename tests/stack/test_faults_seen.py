"""On one real stack (the module's ``stack`` fixture): the faults of three local experiments, seen from outside,
and what the controller shows of itself.

- 200 ms on the cache link: cache misses answer slower and the p95 probe of the cache dependency sees it;
- a CPU hog really burns its core (its cgroup's cpuacct);
- a PostgreSQL outage: a My List request during it gets 503 + Retry-After, and works again after the restart;
- ``/metrics`` of the control API: ``tenfold_desired_replicas`` / ``tenfold_replicas`` match ``/status``;
- an unknown component name fails listing the valid ones;
- a replica leaves Prometheus' file_sd (and Prometheus' targets) when it stops being ready, and comes back.

The extension's own functions inject and undo the faults, as the experiments do.
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from servers import wait_for

from tenfold.chaos.cpu.actions import start_cpu_hog, stop_cpu_hogs
from tenfold.chaos.database.actions import start_postgres, stop_postgres
from tenfold.chaos.database.probes import postgres_is_running
from tenfold.chaos.links.actions import add_latency, clear_link_faults
from tenfold.chaos.links.probes import link_faults
from tenfold.chaos.prometheus.probes import query_value

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

REDIS_SELECTOR = '{service="catalog",dependency=~"redis|cache"}'  # other services' fast Redis calls dilute it
REDIS_P95 = (  # the experiment's probe, on catalog's calls only
    f"histogram_quantile(0.95, sum by (le) (rate(dependency_request_duration_seconds_bucket{REDIS_SELECTOR}[10s])))"
)


def config(stack: dict[str, Any]) -> dict[str, Any]:
    return {"tenfold_control_url": stack["control"]}


def status(stack: dict[str, Any]) -> dict[str, Any]:
    return httpx.get(f"{stack['control']}/status", timeout=10).json()  # type: ignore[no-any-return]


def titles(gateway: str, first: int, count: int) -> list[float]:
    """Seconds per GET of /api/titles/N for N in first.. (ids nobody asked for yet: a cache miss each)."""
    took = []
    with httpx.Client(base_url=gateway, timeout=5) as client:
        for n in range(first, first + count):
            start = time.monotonic()
            assert client.get(f"/api/titles/{n}").status_code == 200
            took.append(time.monotonic() - start)
    return took


def test_200ms_on_the_cache_link_slows_the_answer_and_the_p95_probe_sees_it(stack: dict[str, Any]) -> None:
    """A cache miss asks Redis first: through the delayed link that waits out the 50 ms Redis timeout (and its one
    retry) until the breaker opens after 5 failures, so the first answers are slower and the dependency's p95
    jumps past the timeout. Ids 41.. are asked once each here (the seed has 100 titles)."""
    cfg, gw = config(stack), stack["gateway"]
    clean = titles(gw, 41, 10)
    # Catalog's Redis histogram exists from its first call on: Prometheus must hold it (two scrapes) before the
    # fault, or the slow calls land before its first sample and rate() shows no increase at all.
    scraped = f"min(count_over_time(dependency_request_duration_seconds_count{REDIS_SELECTOR}[10s]))"
    wait_for(lambda: query_value(scraped, configuration=cfg) >= 2, 20, "catalog's Redis calls in Prometheus")
    assert query_value(REDIS_P95, configuration=cfg) < 0.04  # a clean cache answers in a few ms
    add_latency("cache", 200, 0, configuration=cfg)
    try:
        assert link_faults("cache", configuration=cfg)["latency_ms"] == 200
        slow = titles(gw, 51, 10)
        seen: list[float] = []

        def probe_sees_it() -> bool:
            seen.append(query_value(REDIS_P95, configuration=cfg))
            return seen[-1] >= 0.04

        try:
            wait_for(probe_sees_it, 20, "the p95 probe to see the latency")
        except TimeoutError as exc:
            raise AssertionError(f"p95 probe {seen[-5:]}; answers {slow}, before {clean}") from exc
    finally:
        clear_link_faults("cache", configuration=cfg)
    # the first slow answers wait out the 50 ms timeout; typical clean ones take a few ms (medians: one clean answer
    # can be slow too when other tests share the cores)
    assert statistics.median(slow[:4]) >= 0.05 > statistics.median(clean), (clean, slow)


def test_a_cpu_hog_burns_its_core(stack: dict[str, Any]) -> None:
    cfg = config(stack)
    hog = start_cpu_hog("recommendations", 1.0, 20, configuration=cfg)
    try:
        group = Path(f"/sys/fs/cgroup/cpuacct/tenfold-{stack['port_base']}/{hog}-recommendations/cpuacct.usage")
        wait_for(group.exists, 5, "the hog's cgroup")
        before, t0 = int(group.read_text()), time.monotonic()
        time.sleep(2)
        used = (int(group.read_text()) - before) / 1e9 / (time.monotonic() - t0)
    finally:
        assert stop_cpu_hogs(configuration=cfg) == 1
    assert used > 0.25  # about 1.0 alone; under `make test` other workers share the two cores


def login(gateway: str, user: int) -> dict[str, str]:
    r = httpx.post(f"{gateway}/api/auth/token", json={"user_id": user, "password": f"pw-{user}"}, timeout=5)
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_my_list_during_a_postgres_outage_is_503_then_works(stack: dict[str, Any]) -> None:
    cfg, gw = config(stack), stack["gateway"]
    auth = login(gw, 7)
    url = f"{gw}/api/users/7/my-list"
    assert httpx.get(url, headers=auth, timeout=5).status_code == 200
    stop_postgres("immediate", configuration=cfg)
    try:
        assert postgres_is_running(configuration=cfg) is False
        during = httpx.get(url, headers=auth, timeout=10)
    finally:
        start_postgres(30, configuration=cfg)
    assert during.status_code == 503 and during.headers["retry-after"] == "1", during.text
    assert during.json()["title"] == "postgres unavailable"
    wait_for(lambda: httpx.get(url, headers=auth, timeout=5).status_code == 200, 30, "My List back")


def gauges(text: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    """The samples of one metric in a Prometheus text page: {sorted labels: value}."""
    out = {}
    for line in text.splitlines():
        if line.startswith(name + "{"):
            labels, value = line[len(name) + 1 :].rsplit("} ", 1)
            pairs = tuple(sorted(tuple(kv.split("=", 1)) for kv in labels.split(",")))
            out[tuple((k, v.strip('"')) for k, v in pairs)] = float(value)
    return out


def test_the_controller_metrics_match_its_status(stack: dict[str, Any]) -> None:
    def consistent() -> bool:
        before = status(stack)["services"]
        text = httpx.get(f"{stack['control']}/metrics", timeout=5).text
        after = status(stack)["services"]
        if before != after:
            return False  # a replica changed state in between: ask again
        desired = gauges(text, "tenfold_desired_replicas")
        replicas = gauges(text, "tenfold_replicas")
        for name, svc in after.items():
            assert desired[(("service", name),)] == svc["desired"], (name, desired)
            by_state = {dict(k)["state"]: v for k, v in replicas.items() if dict(k)["service"] == name}
            assert set(by_state) == {"ready", "starting", "frozen", "dead", "terminating"}, by_state
            assert by_state["ready"] == svc["ready"] and by_state == {**by_state, **svc["states"]}, (name, by_state)
        return True

    wait_for(consistent, 10, "a /metrics page between two equal /status answers")


def test_an_unknown_component_fails_listing_the_valid_ones(stack: dict[str, Any]) -> None:
    from chaoslib.exceptions import ActivityFailed

    from tenfold.chaos._components import set_component

    with pytest.raises(ActivityFailed, match=r"unknown component 'postgress'; valid components: .*\bpostgres\b"):
        set_component("postgress", "stop", config(stack))
    assert postgres_is_running(configuration=config(stack)) is True  # nothing was touched


def test_replicas_join_and_leave_prometheus_file_sd_on_readiness(stack: dict[str, Any]) -> None:
    from tenfold.stack.client import ControlClient

    ctl = ControlClient(stack["control"])
    targets = Path(stack["home"]) / "prometheus" / "targets" / "services.json"

    def in_file_sd() -> set[str]:
        return {g["labels"]["replica"] for g in json.loads(targets.read_text())}

    def scraped() -> set[str]:
        body = httpx.get(f"{stack['prometheus']}/api/v1/targets?state=active", timeout=5).json()
        return {t["labels"].get("replica") for t in body["data"]["activeTargets"] if t["labels"].get("replica")}

    ctl.autoscaling(False)  # an idle HPA would scale in, and remove the not-ready (frozen) replica first
    try:
        ctl.scale("catalog", 2)
        wait_for(lambda: len([r for r in ctl.replicas("catalog") if r.state == "ready"]) == 2, 30, "2 ready")
        ready = {r.id for r in ctl.replicas("catalog") if r.state == "ready"}
        wait_for(lambda: ready <= in_file_sd() and ready <= scraped(), 15, "ready catalog replicas in file_sd")
        (frozen,) = ctl.freeze("catalog", 1)
        try:
            wait_for(lambda: frozen not in in_file_sd(), 5, "the frozen replica out of file_sd")
            wait_for(lambda: frozen not in scraped(), 15, "Prometheus to drop the frozen replica")
            assert ready - {frozen} <= in_file_sd()  # the other one stays
        finally:
            ctl.thaw("catalog")
        wait_for(lambda: frozen in in_file_sd(), 20, "the thawed replica back in file_sd once ready")
        wait_for(lambda: frozen in scraped(), 15, "Prometheus to scrape it again")
    finally:
        ctl.autoscaling(True)
