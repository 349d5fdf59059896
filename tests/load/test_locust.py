"""The locustfile end to end, as a Locust subprocess against a local server (never anything but 127.0.0.1)."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest
import yaml
from servers import CPU_CGROUP, ROOT, cpu_capped_group

from tenfold.load import LoadResult, run_locust
from tenfold.load._run import locust_command

from ._server import Server
from .conftest import scenario_file


def _locust_p99_s(run_dir: Path) -> float:
    with (run_dir / "locust" / "stats_stats.csv").open() as f:
        row = next(r for r in csv.DictReader(f) if r["Name"] == "Aggregated")
    return float(row["99%"]) / 1000.0


def _run_on(srv: Server, tmp_path: Path, journeys: dict[str, float], **profile: Any) -> LoadResult:
    """Start ``srv``, run a one-scenario file against it (see scenario_file), stop it."""
    srv.start()
    try:
        sf = scenario_file(tmp_path, journeys, **profile)
        return run_locust(srv.url, tmp_path / "run", scenario="t", scenario_file=sf, timeout_s=60)
    finally:
        srv.stop()


def test_co_corrected_p99_shows_a_stall_that_locusts_p99_hides(tmp_path: Path) -> None:
    srv = Server(stall_at=300, stall_s=1.0)
    res = _run_on(srv, tmp_path, {"static": 1}, rps=200, phases={"baseline": 4}, max_in_flight=1)
    assert srv.stalled_at is not None, "the server never stalled"
    assert res.exit_code == 0, (tmp_path / "run" / "locust" / "locust.log").read_text()[-2000:]
    assert res.load is not None and res.valid, res.load
    lat = res.load["latency_s"]
    assert lat["locust"]["p99"] < 0.1  # one slow request among ~800 vanishes from the p99
    assert _locust_p99_s(tmp_path / "run") < 0.1  # and Locust's own stats agree
    assert lat["co_corrected"]["p99"] > 0.5  # the ~200 requests that should have started during the stall
    assert lat["locust"]["max"] > 0.9


def test_a_request_never_answered_is_recorded_as_a_timeout(tmp_path: Path) -> None:
    srv = Server(stall_at=80, stall_s=30.0)  # ~1.6 s in, one request hangs past the end of the run
    res = _run_on(srv, tmp_path, {"static": 1}, rps=50, phases={"baseline": 2})
    assert res.load is not None and res.exit_code == 0, res.load
    t = pq.read_table(tmp_path / "run" / "requests.parquet")
    status = t.column("status").to_numpy()
    hung = t.column("latency_s").to_numpy()[status == 0]
    assert hung.size == 1 and hung[0] > 2.0
    assert res.load["generator"]["processes"][0]["abandoned"] == 1


def test_achieved_rate_is_within_5_percent_of_target(server: Server, tmp_path: Path) -> None:
    sf = scenario_file(tmp_path, {"static": 1}, rps=600, phases={"baseline": 4})
    res = run_locust(server.url, tmp_path / "run", scenario="t", scenario_file=sf, timeout_s=60)
    assert res.exit_code == 0 and res.load is not None and res.valid, res.load
    assert res.load["achieved_rates"]["baseline"] == pytest.approx(600, rel=0.05)
    assert res.load["requests"] == pytest.approx(2400, rel=0.05)
    plan = json.loads((tmp_path / "run" / "load-plan.json").read_text())
    assert plan["phases"] == [{k: p[k] for k in ("name", "start", "end", "target_rps")} for p in res.load["phases"]]
    assert json.loads((tmp_path / "run" / "manifest.json").read_text())["phases"][0]["name"] == "baseline"
    assert server.unprioritised == 0


def test_the_spike_reaches_10x_within_its_ramp(server: Server, tmp_path: Path) -> None:
    sf = scenario_file(tmp_path, {"static": 1}, rps=50, peak=10,
                       phases={"baseline": 2, "ramp": 1, "peak": 2, "cooldown": 2})  # fmt: skip
    res = run_locust(server.url, tmp_path / "run", scenario="t", scenario_file=sf, timeout_s=60)
    assert res.exit_code == 0 and res.load is not None and res.valid, res.load
    got = res.load["achieved_rates"]
    assert [p["name"] for p in res.load["phases"]] == ["baseline", "ramp", "peak", "cooldown"]
    assert got["baseline"] == pytest.approx(50, rel=0.1) and got["cooldown"] == pytest.approx(50, rel=0.1)
    assert got["ramp"] == pytest.approx(275, rel=0.1)  # linear 50 -> 500
    assert got["peak"] == pytest.approx(500, rel=0.05)


def test_two_processes_give_one_merged_record(server: Server, tmp_path: Path) -> None:
    sf = scenario_file(tmp_path, {"static": 1}, rps=400, phases={"baseline": 3})
    res = run_locust(server.url, tmp_path / "run", scenario="t", scenario_file=sf, processes=2, timeout_s=90)
    assert res.exit_code == 0 and res.load is not None and res.valid, res.load
    t = pq.read_table(tmp_path / "run" / "requests.parquet")
    assert sorted(set(t.column("worker").to_pylist())) == [0, 1]
    assert t.num_rows == pytest.approx(1200, rel=0.05)
    assert [p["share"] for p in res.load["generator"]["processes"]] == [0.5, 0.5]
    assert res.load["achieved_rates"]["baseline"] == pytest.approx(400, rel=0.06)


def test_journeys_record_templates_priorities_degraded_and_ledger(server: Server, tmp_path: Path) -> None:
    sf = scenario_file(tmp_path, {"home": 3, "open_title": 2, "playback": 2, "my_list": 2, "browse": 1}, rps=150,
                       phases={"baseline": 3}, arrivals="uniform",
                       playback={"heartbeat_interval_s": 0.3, "heartbeats": 2},
                       viewers={"active": 10, "zipf_s": 1.0})  # fmt: skip
    res = run_locust(server.url, tmp_path / "run", scenario="t", scenario_file=sf, timeout_s=60)
    assert res.exit_code == 0 and res.load is not None and res.valid, res.load
    t = pq.read_table(tmp_path / "run" / "requests.parquet")
    route = np.array(t.column("route").to_pylist())
    method = np.array(t.column("method").to_pylist())
    priority = np.array(t.column("priority").to_pylist())
    status = t.column("status").to_numpy()
    degraded = t.column("degraded").to_numpy(zero_copy_only=False)
    assert set(route) <= {
        "/api/recommendations/{user_id}", "/api/titles/{id}", "/api/users/{id}/my-list",
        "/api/users/{id}/my-list/{title_id}", "/api/events", "/api/auth/token",
    }  # fmt: skip
    # every viewer logged in once, like a client, and every request on its own data carried its token
    logins = route == "/api/auth/token"
    assert server.logins and len(server.logins) == len(set(server.logins)) == logins.sum()
    assert set(status[logins]) == {200} and set(method[logins]) == {"POST"}
    assert server.unauthenticated == 0
    assert res.load["logins"] == logins.sum()
    # viewers come from the active set: 10 viewers log in, then their later journeys reuse the token
    assert set(server.logins) <= set(range(1, 11))
    recs = route == "/api/recommendations/{user_id}"
    assert recs.sum() > 2 * logins.sum()
    assert 0 < degraded[recs].sum() < recs.sum()
    assert not degraded[route == "/api/titles/{id}"].any()
    posts = (route == "/api/users/{id}/my-list") & (method == "POST")
    assert set(priority[posts]) == {"critical"} and set(status[posts]) == {201}
    events = route == "/api/events"
    assert set(priority[events]) == {"critical", "degraded"}
    assert server.unprioritised == 0
    ledger = [json.loads(x) for x in (tmp_path / "run" / "ledger.jsonl").read_text().splitlines()]
    kinds = {r["kind"] for r in ledger}
    assert kinds == {"my-list", "my-list-delete", "event"}  # every answer came: no my-list-unknown
    assert all(r["sent"] < r["ack"] for r in ledger)
    deletes = (route == "/api/users/{id}/my-list/{title_id}") & (method == "DELETE")
    assert set(status[deletes]) == {204} and sum(r["kind"] == "my-list-delete" for r in ledger) == deletes.sum()
    acked_events = {r["event_id"] for r in ledger if r["kind"] == "event"}
    assert len(acked_events) == (status[events] == 202).sum()
    assert acked_events <= {p["event_id"] for p in server.posts if "event_id" in p}
    assert all(r["object"] == f"events/{r['event_id']}.json" for r in ledger if r["kind"] == "event")
    assert sum(r["kind"] == "my-list" for r in ledger) == posts.sum()
    assert res.load["acknowledged_writes"] == len(ledger)
    # warm start: journeys already under way at t=0 (heartbeats, list views) count from the first second
    assert res.load["achieved_rates"]["baseline"] == pytest.approx(150, rel=0.15)


def test_an_add_without_an_answer_is_in_the_ledger_as_unknown_not_acknowledged(tmp_path: Path) -> None:
    srv = Server(fail_adds=True)
    res = _run_on(srv, tmp_path, {"my_list": 1}, rps=40, phases={"baseline": 2}, viewers={"active": 10})
    assert res.exit_code == 0 and res.load is not None, res.load
    t = pq.read_table(tmp_path / "run" / "requests.parquet")
    route = np.array(t.column("route").to_pylist())
    method = np.array(t.column("method").to_pylist())
    adds = (route == "/api/users/{id}/my-list") & (method == "POST")
    ledger = [json.loads(x) for x in (tmp_path / "run" / "ledger.jsonl").read_text().splitlines()]
    unknown = [r for r in ledger if r["kind"] == "my-list-unknown"]
    assert len(unknown) == adds.sum() > 0 and {r["status"] for r in unknown} == {500}
    assert {r["kind"] for r in ledger} <= {"my-list-unknown", "my-list-delete"}
    assert res.load["acknowledged_writes"] == len(ledger) - len(unknown)  # the unknown are no acknowledgement


def test_a_viewer_that_cannot_log_in_fails_its_requests_without_sending_them(tmp_path: Path) -> None:
    srv = Server(refuse_logins=True)
    res = _run_on(srv, tmp_path, {"home": 1}, rps=60, phases={"baseline": 2}, arrivals="uniform")
    assert res.exit_code == 0 and res.load is not None, res.load
    t = pq.read_table(tmp_path / "run" / "requests.parquet")
    route = np.array(t.column("route").to_pylist())
    status = t.column("status").to_numpy()
    shed = t.column("shed").to_numpy(zero_copy_only=False)
    recs = route == "/api/recommendations/{user_id}"
    logins = route == "/api/auth/token"
    assert recs.sum() == logins.sum() > 0  # each viewer tried to log in; the rows it wanted fail the same way
    assert set(status[recs]) == {503} and shed[recs].all()
    assert srv.unauthenticated == 0 and not srv.logins  # nothing was sent without a token


@pytest.mark.skipif(not os.access(CPU_CGROUP, os.W_OK), reason="needs a writable cgroup v1 cpu controller")
def test_starved_generator_marks_the_run_invalid(server: Server, tmp_path: Path) -> None:
    sf = scenario_file(tmp_path, {"static": 1}, rps=1500, phases={"baseline": 8}, health={})
    run = tmp_path / "run"
    (run / "locust").mkdir(parents=True)
    cmd = locust_command(server.url, run, scenario="t", scenario_file=sf)
    with cpu_capped_group("load", 0.1) as group:  # 10% of a core
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            assert proc.stdout is not None
            out = []
            for line in proc.stdout:  # starve it only once it runs: startup under 10% would take most of a minute
                out.append(line)
                if "All users spawned" in line:
                    (group / "cgroup.procs").write_text(str(proc.pid))
                    break
            rest, _ = proc.communicate(timeout=90)
            out.append(rest)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    text = "".join(out)
    assert proc.returncode == 2, text[-2000:]
    assert "RUN INVALID" in text and "--processes" in text
    load = json.loads((run / "load.json").read_text())
    assert load["valid"] is False and load["generator"]["processes"][0]["allowed_cores"] == pytest.approx(0.1)


def test_timeout_kills_master_and_workers(server: Server, tmp_path: Path) -> None:
    import psutil

    sf = scenario_file(tmp_path, {"static": 1}, rps=50, phases={"baseline": 30})
    with pytest.raises(subprocess.TimeoutExpired):
        run_locust(server.url, tmp_path / "run", scenario="t", scenario_file=sf, processes=2, timeout_s=4)
    time.sleep(0.3)
    left = [p for p in psutil.process_iter(["cmdline"]) if str(tmp_path) in " ".join(p.info["cmdline"] or [])]
    assert left == []


def test_a_server_slow_on_every_answer_does_not_slow_the_arrivals(tmp_path: Path) -> None:
    """The open model: requests start on the arrival clock, however long the ones before them take."""
    srv = Server(stall_every_s=1.0)
    res = _run_on(srv, tmp_path, {"static": 1}, rps=50, phases={"baseline": 4})
    assert res.exit_code == 0 and res.load is not None and res.valid, res.load
    t = pq.read_table(tmp_path / "run" / "requests.parquet")
    intended = t.column("intended_start").to_numpy()
    actual = t.column("actual_start").to_numpy()
    latency = t.column("latency_s").to_numpy()
    assert t.num_rows == pytest.approx(200, rel=0.05)  # rate x duration, not duration / 1 s per answer
    assert np.percentile(actual - intended, 99) < 0.1  # each started on time, not when an answer came back
    assert latency.min() > 0.9  # every answer really took its second
    starts = np.sort(actual - actual.min())
    per_second = np.histogram(starts, bins=4, range=(0.0, 4.0))[0]
    assert per_second.min() >= 45, per_second  # the pace holds in every second, the last ones too
    assert srv.max_in_flight >= 40  # ~50 waiting at once: a closed model would hold one per user
    assert res.load["achieved_rates"]["baseline"] == pytest.approx(50, rel=0.05)


def test_the_bare_locust_command_runs_the_quick_spike_on_its_own(server: Server, tmp_path: Path) -> None:
    """`locust -f locustfiles/spike.py --headless --host URL --quick`, as any CI would type it, from the repo root.

    The environment only shortens the run: TENFOLD_SCENARIO_FILE is the real scenario file with the quick
    profile's phases cut to seconds, TENFOLD_RUN_DIR keeps the record out of the repo's runs/.
    """
    doc = yaml.safe_load((ROOT / "locustfiles" / "scenarios.yaml").read_text())
    quick = doc["spike"]["profiles"]["quick"]
    quick["phases"] = {"baseline": 2, "ramp": 1, "peak": 2, "cooldown": 1}
    quick["baseline_rps"] = 20
    doc["spike"]["health"]["lag_p99_ms"] = 1000  # other tests share the 2 cores
    (tmp_path / "scenarios.yaml").write_text(yaml.safe_dump(doc))
    run = tmp_path / "run"
    env = {**os.environ, "TENFOLD_SCENARIO_FILE": str(tmp_path / "scenarios.yaml"), "TENFOLD_RUN_DIR": str(run)}
    locust = str(Path(sys.executable).parent / "locust")
    cmd = [locust, "-f", "locustfiles/spike.py", "--headless", "--host", server.url, "--quick"]
    r = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    load = json.loads((run / "load.json").read_text())
    assert load["valid"] is True and load["profile"] == "quick"
    assert [p["name"] for p in load["phases"]] == ["baseline", "ramp", "peak", "cooldown"]
    rates = load["achieved_rates"]
    assert rates["peak"] > 5 * rates["baseline"], rates  # the quick profile's 10x (journeys' later requests lag)
    t = pq.read_table(run / "requests.parquet")
    assert t.num_rows == load["requests"] > 0
    assert set(t.column("route").to_pylist()) > {"/api/auth/token", "/api/recommendations/{user_id}"}
    assert (run / "ledger.jsonl").is_file() and json.loads((run / "manifest.json").read_text())["phases"]
