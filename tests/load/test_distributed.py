"""A master and two workers on three "hosts" (network namespaces joined by a bridge), sharing no run directory:
the workers' records reach the master over Locust's messaging, the rates add up to the plan, and a worker killed
mid-run makes the run invalid with that worker named.

The target is HAProxy answering 200 itself, in the master's namespace; every address is on that private bridge
(10.77.0.0/24, which exists only inside the three namespaces), so no traffic leaves this machine.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from servers import ROOT, free_port

from tenfold.errors import UsageError
from tenfold.load import locust_command, run_locust, split_address, start_locust, workers_missing

from ._server import Server as Target
from .conftest import scenario_file

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(os.geteuid() != 0 or shutil.which("ip") is None, reason="network namespaces need root and ip"),
]

MASTER_IP = "10.77.0.1"
WORKER_IPS = ("10.77.0.2", "10.77.0.3")
TARGET_PORT = 8080
MASTER_PORT = 5557
RATE = 300.0
SECONDS = 12.0

LOCUSTFILE = """
import itertools
from locust import FastHttpUser, task
from tenfold import ledger

_n = itertools.count()

class Static(FastHttpUser):
    @task
    def hit(self):
        with self.client.get("/", headers={"X-Priority": "best-effort"}, catch_response=True) as r:
            if r.status_code == 200:
                ledger.acknowledged("hit", f"{self.environment.runner.client_id}-{next(_n)}")
"""


@dataclass(frozen=True)
class Hosts:
    master: str
    workers: tuple[str, str]


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


def _kill(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL a process started in a session of its own, with its children, unless it already ended."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def _load_started(run_dir: Path, master: subprocess.Popen[bytes], timeout_s: float, why: str = "") -> None:
    """Wait until the master wrote load-plan.json (its workers joined and the schedule began)."""
    deadline = time.monotonic() + timeout_s
    while not (run_dir / "load-plan.json").is_file():
        assert time.monotonic() < deadline and master.poll() is None, why
        time.sleep(0.1)


@pytest.fixture
def hosts() -> Iterator[Hosts]:
    """Three namespaces: the master's holds a bridge at 10.77.0.1, each worker's a veth on it."""
    tag = f"{os.getpid() % 100000}"
    master, workers = f"tfm{tag}", (f"tfa{tag}", f"tfb{tag}")
    try:
        for ns in (master, *workers):
            _ip("netns", "add", ns)
            _ip("-n", ns, "link", "set", "lo", "up")
        _ip("-n", master, "link", "add", "br0", "type", "bridge")
        _ip("-n", master, "addr", "add", f"{MASTER_IP}/24", "dev", "br0")
        _ip("-n", master, "link", "set", "br0", "up")
        for i, (ns, addr) in enumerate(zip(workers, WORKER_IPS, strict=True)):
            host_end, ns_end = f"tfv{tag}h{i}", f"tfv{tag}w{i}"
            _ip("link", "add", host_end, "type", "veth", "peer", "name", ns_end)
            _ip("link", "set", host_end, "netns", master)
            _ip("link", "set", ns_end, "netns", ns)
            _ip("-n", master, "link", "set", host_end, "master", "br0")
            _ip("-n", master, "link", "set", host_end, "up")
            _ip("-n", ns, "addr", "add", f"{addr}/24", "dev", ns_end)
            _ip("-n", ns, "link", "set", ns_end, "up")
        yield Hosts(master, workers)
    finally:
        for ns in (master, *workers):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def _in(ns: str, cmd: list[str], log: Path, cwd: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(["ip", "netns", "exec", ns, *cmd], stdout=out, stderr=subprocess.STDOUT, cwd=cwd,
                                env={**os.environ, **(env or {})}, start_new_session=True)  # fmt: skip


@pytest.fixture
def target(hosts: Hosts, tmp_path: Path) -> Iterator[str]:
    """HAProxy answering 200 itself on the master's address."""
    d = tmp_path / "target"
    d.mkdir()
    cfg = d / "haproxy.cfg"
    cfg.write_text(
        "global\n  maxconn 4000\ndefaults\n  mode http\n  timeout client 10s\n  timeout server 10s\n"
        f"  timeout connect 2s\nfrontend f\n  bind {MASTER_IP}:{TARGET_PORT}\n"
        "  http-request return status 200 content-type text/plain string ok\n"
    )
    proc = _in(hosts.master, ["haproxy", "-db", "-f", str(cfg)], d / "haproxy.log", d)
    url = f"http://{MASTER_IP}:{TARGET_PORT}"
    try:
        deadline = time.monotonic() + 10
        while subprocess.run(["ip", "netns", "exec", hosts.master, sys.executable, "-c",
                              f"import socket; socket.create_connection(('{MASTER_IP}', {TARGET_PORT}), 1)"],
                             capture_output=True).returncode:  # fmt: skip
            assert time.monotonic() < deadline and proc.poll() is None, (d / "haproxy.log").read_text()
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


@dataclass
class Distributed:
    master: subprocess.Popen[bytes]
    workers: list[subprocess.Popen[bytes]]
    run_dir: Path
    worker_dirs: list[Path]

    def wait(self, timeout_s: float) -> int:
        try:
            return self.master.wait(timeout_s)
        finally:
            for p in [self.master, *self.workers]:
                _kill(p)

    def load(self) -> dict[str, object]:
        doc = json.loads((self.run_dir / "load.json").read_text())
        assert isinstance(doc, dict)
        return doc

    def log(self) -> str:
        logs = [self.run_dir.parent / "master.log", *(d / "worker.log" for d in self.worker_dirs)]
        return "\n".join(p.read_text(errors="replace") for p in logs)


def _start(hosts: Hosts, target: str, tmp_path: Path) -> Distributed:
    """The master in its namespace with its run folder; each worker in its own with a folder of its own (its
    locustfile copy, its TMPDIR): no path is shared."""
    master_dir = tmp_path / "master"
    master_dir.mkdir()
    sf = scenario_file(master_dir, rate=RATE, phases={"baseline": SECONDS})
    (master_dir / "lf.py").write_text(LOCUSTFILE)
    run_dir = master_dir / "run"
    cmd = locust_command(target, run_dir, master_dir / "lf.py", scenario="t", scenario_file=sf, remote_workers=2,
                         master_bind=f"{MASTER_IP}:{MASTER_PORT}", workers_timeout_s=60)  # fmt: skip
    env = {"TENFOLD_VERIFY": "later", "PYTHONPATH": str(ROOT)}
    master = _in(hosts.master, cmd, master_dir / "master.log", master_dir, env)
    workers, dirs = [], []
    for i, ns in enumerate(hosts.workers):
        d = tmp_path / f"worker{i}"
        (d / "tmp").mkdir(parents=True)
        (d / "lf.py").write_text(LOCUSTFILE)
        cmd = [str(Path(sys.executable).with_name("tenfold")), "worker", "--master", f"{MASTER_IP}:{MASTER_PORT}",
               "--locustfile", str(d / "lf.py")]  # fmt: skip
        workers.append(_in(ns, cmd, d / "worker.log", d, {**env, "TMPDIR": str(d / "tmp")}))
        dirs.append(d)
    return Distributed(master, workers, run_dir, dirs)


def test_two_workers_on_other_hosts_deliver_every_record_over_the_messaging(
    hosts: Hosts, target: str, tmp_path: Path
) -> None:
    run = _start(hosts, target, tmp_path)
    code = run.wait(120)
    assert code == 0, run.log()[-4000:]
    load = run.load()
    assert load["valid"] is True, load["invalid_reason"]
    t = pq.read_table(run.run_dir / "requests.parquet", columns=["worker", "status"])
    per_worker = {w: t.column("worker").to_pylist().count(w) for w in (0, 1)}
    assert sorted(per_worker) == [0, 1] and min(per_worker.values()) > 0.4 * t.num_rows, per_worker
    assert t.num_rows == pytest.approx(RATE * SECONDS, rel=0.05), t.num_rows
    achieved = load["achieved_rates"]
    assert isinstance(achieved, dict) and achieved["baseline"] == pytest.approx(RATE, rel=0.05), achieved
    ledger = [json.loads(line) for line in (run.run_dir / "ledger.jsonl").read_text().splitlines()]
    assert {r["worker"] for r in ledger} == {0, 1} and len(ledger) == t.num_rows
    generator = load["generator"]
    assert isinstance(generator, dict)
    assert [p["share"] for p in generator["processes"]] == [0.5, 0.5]
    assert all(p["client_id"] for p in generator["processes"])
    for d in run.worker_dirs:  # each worker sent its parts and removed them: nothing stays on the worker's disk
        assert list((d / "tmp").iterdir()) == [], list((d / "tmp").iterdir())


def test_a_worker_killed_mid_run_makes_the_run_invalid_and_is_named(hosts: Hosts, target: str, tmp_path: Path) -> None:
    run = _start(hosts, target, tmp_path)
    _load_started(run.run_dir, run.master, 60, run.log()[-4000:])
    time.sleep(4)
    os.killpg(run.workers[1].pid, signal.SIGKILL)
    code = run.wait(120)
    assert code == 2, run.log()[-4000:]
    load = run.load()
    reason = str(load["invalid_reason"])
    assert load["valid"] is False and "1 of 2 workers never delivered their records" in reason, reason
    generator = load["generator"]
    assert isinstance(generator, dict)
    lost = generator["lost_workers"]
    survivor = generator["processes"]
    assert len(lost) == 1 and len(survivor) == 1, (lost, survivor)
    killed = 1 - int(survivor[0]["worker"])
    assert lost[0].startswith(f"worker {killed} (") and "went missing" in lost[0], lost
    t = pq.read_table(run.run_dir / "requests.parquet", columns=["worker"])
    assert set(t.column("worker").to_pylist()) == {survivor[0]["worker"]}  # the survivor's records are kept


def test_a_master_whose_workers_never_join_gives_up_and_says_how_to_start_them(tmp_path: Path) -> None:
    """On loopback: no namespace needed to wait for workers that never come."""
    sf = scenario_file(tmp_path, rate=10, phases={"baseline": 5})
    (tmp_path / "lf.py").write_text(LOCUSTFILE)
    res = run_locust("http://127.0.0.1:9", tmp_path / "run", tmp_path / "lf.py", scenario="t", scenario_file=sf,
                     remote_workers=2, master_bind=f"127.0.0.1:{free_port()}", workers_timeout_s=7,
                     timeout_s=60)  # fmt: skip
    log = (tmp_path / "run" / "locust" / "locust.log").read_text()
    message = workers_missing(log, 2)
    assert res.exit_code != 0 and res.load is None and message is not None, log[-2000:]
    assert message.startswith("only 0 of 2 workers joined") and "tenfold worker --master HOST:PORT" in message


ADDRESSES = [("10.0.0.5:6000", ("10.0.0.5", 6000)), ("master", ("master", 5557)), ("[fd00::1]:6000", ("fd00::1", 6000)),
             ("*:5557", ("*", 5557))]  # fmt: skip


@pytest.mark.parametrize(("address", "parsed"), ADDRESSES)
def test_master_addresses_are_host_and_port(address: str, parsed: tuple[str, int]) -> None:
    assert split_address(address) == parsed


@pytest.mark.parametrize("address", ["master:http", "master:0", ":5557", "master:70000"])
def test_a_master_address_without_a_usable_port_is_refused(address: str) -> None:
    with pytest.raises(UsageError, match="HOST:PORT"):
        split_address(address)


def test_tenfold_run_waits_for_a_remote_worker_and_judges_its_records(tmp_path: Path) -> None:
    """``tenfold run --remote-workers 1`` and ``tenfold worker`` on loopback, every path given relative to where the
    user stands (Locust itself runs from the repo)."""
    target = Target().start()
    port = free_port()
    tenfold = str(Path(sys.executable).with_name("tenfold"))
    try:
        scenario_file(tmp_path, rate=40, phases={"baseline": 2, "ramp": 1, "peak": 2, "cooldown": 1}, peak=2.0)
        (tmp_path / "lf.py").write_text(LOCUSTFILE)
        (tmp_path / "slo.yaml").write_text(SLO)
        worker_dir = tmp_path / "elsewhere"
        (worker_dir / "tmp").mkdir(parents=True)
        (worker_dir / "lf.py").write_text(LOCUSTFILE)
        with (worker_dir / "worker.log").open("wb") as log:
            worker = subprocess.Popen([tenfold, "worker", "--master", f"127.0.0.1:{port}", "--locustfile", "lf.py"],
                                      cwd=worker_dir, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                                      env={**os.environ, "TMPDIR": str(worker_dir / "tmp")})  # fmt: skip
        try:
            run = subprocess.run([tenfold, "run", "--target", target.url, "--locustfile", "lf.py", "--scenario", "t",
                                  "--scenario-file", "scenarios.yaml", "--slo", "slo.yaml", "--runs-dir", "runs",
                                  "--experiments", "none", "--remote-workers", "1", "--master-bind",
                                  f"127.0.0.1:{port}", "--workers-timeout", "30"],
                                 cwd=tmp_path, capture_output=True, text=True, timeout=180)  # fmt: skip
            assert worker.wait(30) == 0
        finally:
            _kill(worker)
    finally:
        target.stop()
    assert run.returncode == 0, run.stdout + run.stderr
    assert "tenfold worker --master 127.0.0.1:" in run.stderr  # how to start one, with the address to give
    run_dir = (tmp_path / "runs" / "latest").resolve()
    load = json.loads((run_dir / "load.json").read_text())
    assert load["valid"] and [p["worker"] for p in load["generator"]["processes"]] == [0], load["invalid_reason"]
    assert load["requests"] == pytest.approx(40 * 2 + 60 * 1 + 80 * 2 + 40 * 1, rel=0.1)
    assert list((worker_dir / "tmp").iterdir()) == []


SLO = """\
objectives:
  - name: run-error-ratio
    indicator: error_ratio
    window: run
    target: "<= 1%"
"""


@pytest.mark.parametrize(
    "to",
    ["group", "master", "master, then group"],
    ids=["to the group", "to the master alone", "to the master, then the group"],
)
def test_a_master_stopped_by_sigterm_still_gets_every_workers_records(tmp_path: Path, to: str) -> None:
    """Interrupted mid-schedule, the master asks its workers for their records before it merges (Locust's own Ctrl-C
    path quits the runner, and with it the master's listener, before its ``quitting`` event). Answers take 1 s, so
    each worker's records come only once its requests in flight end: later than Locust's half second of grace.

    "Then the group": the workers' own SIGTERM comes while they are already sending (the master asked first), which
    is how a signal to the whole group lands on a busy machine. A worker's ``quitting`` must wait for that sending,
    or it tells the master it quit, the master gives up on it and the process exits mid-send."""
    target = Target(stall_every_s=1.0).start()
    try:
        sf = scenario_file(tmp_path, rate=100, phases={"baseline": 30})
        (tmp_path / "lf.py").write_text(LOCUSTFILE)
        run_dir = tmp_path / "run"
        master = start_locust(target.url, run_dir, tmp_path / "lf.py", scenario="t", scenario_file=sf, processes=2)
        try:
            _load_started(run_dir, master, 30)
            time.sleep(4)
            (os.killpg if to == "group" else os.kill)(master.pid, signal.SIGTERM)
            if to == "master, then group":
                time.sleep(0.3)  # the master asked its workers for their records; they drain (answers take 1 s)
                os.killpg(master.pid, signal.SIGTERM)
            code = master.wait(60)
        finally:
            _kill(master)
    finally:
        target.stop()
    load = json.loads((run_dir / "load.json").read_text())
    assert code == 2 and str(load["invalid_reason"]).startswith("interrupted"), load["invalid_reason"]
    t = pq.read_table(run_dir / "requests.parquet", columns=["worker"])
    processes = load["generator"]["processes"]
    assert set(t.column("worker").to_pylist()) == {0, 1} and load["generator"]["lost_workers"] == []
    assert t.num_rows == sum(p["recorded"] for p in processes)  # every row each worker recorded reached the master


def test_local_workers_talk_to_their_master_on_a_loopback_port_of_their_own(tmp_path: Path) -> None:
    """Locust's master listens on *:5557 unless told: two runs with --processes at once would clash (and one run's
    workers could join the other's master)."""

    def master_options(cmd: list[str]) -> dict[str, str]:
        flags = ("--master-bind-host", "--master-bind-port", "--master-port")
        return {flag: cmd[cmd.index(flag) + 1] for flag in flags}

    a = master_options(locust_command("http://127.0.0.1:9", tmp_path / "a", tmp_path / "lf.py", processes=2))
    b = master_options(locust_command("http://127.0.0.1:9", tmp_path / "b", tmp_path / "lf.py", processes=2))
    assert a["--master-bind-host"] == "127.0.0.1" and a["--master-bind-port"] == a["--master-port"] != "5557"
    assert a["--master-bind-port"] != b["--master-bind-port"]
