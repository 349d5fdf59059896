"""A generator that is never the bottleneck: what ONE generator process holds, side by side with bare Locust.

1. In flight. A target that answers after 1 s (HAProxy running a Lua service that sleeps 1 s before its 200).
   tenfold's open model steps its arrival rate up (requests in flight ≈ rate x 1 s) and keeps the highest step
   whose start lag p99 (load.json ``generator.start_lag_p99_ms``) is ≤ 20 ms (goal ≥ 10,000 in flight). Beside
   it, bare Locust FastHttpUser with N users, each one request at a time (closed model: N in flight), steps N up
   and keeps the highest N whose request rate stays within 10 % of N/s; and the same with tenfold's fix of
   geventhttpclient's keep-alive check (tenfold/load/_users.py: past fd 1024 it reconnects on every request).
   Then answers held 5 s: in flight = rate x 5 s at a rate one core sustains (what ``max_in_flight`` may be).
2. Rate. HAProxy answering 200 itself at once: the highest open-model rate held at lag p99 ≤ 20 ms (goal ≥ 5,000
   req/s), beside bare Locust's max rps (64 users, as bench/load.py).
3. Two local processes (``--processes 2``), both saturated (open-model target rate far above what a core does, 64
   in flight per process; bare 64 users per process): rate of two ÷ 2 x rate of one (goal ≥ 0.9), for both.

Each open-model step reaches its rate as a spike does (1 s at a tenth of it, a 2 s ramp), then holds it; its lag
p99 covers every arrival. Every rate is what HAProxy counted (``CumReq`` from its stats socket, sampled every 0.2 s)
over the steady part of each run: one meter for both generators. CPU is sampled the same way (the generator: every
child process of this one except HAProxy, so a master and its workers count together). Load only goes to 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import psutil
import pyarrow.parquet as _pq

from bench.load import _BARE, _STATIC, CONNECTIONS, _haproxy, _port
from tenfold.load import Profile, run_locust

pq: Any = _pq
LAG_MS = 20.0
LEAD_IN_S = (1, 2)  # before each open-model step's full rate: 1 s at a tenth of it, then a 2 s ramp up to it
SLOW_S = 10  # seconds at full rate of each 1 s-answer step; its first WARM_SLOW_S are left out of the figures
WARM_SLOW_S = 1.5
FAST_S = 8
WARM_FAST_S = 1.0
SLOW_STEPS = (1000, 2000, 4000, 6000, 8000, 10000)
HOLD_MS = 5000  # the longer answers: in flight = rate x 5 s
HOLD_STEPS = (1000, 2000, 2300)  # 5,000, 10,000 and 11,500 in flight: under max_in_flight's cap
MAX_IN_FLIGHT = next(int(m.le) for m in Profile.model_fields["max_in_flight"].metadata if hasattr(m, "le"))
HOLD_S = 12
FAST_STEPS = (1000, 2000, 4000, 6000, 8000, 10000, 12000)
SATURATE = 50_000  # arrivals/s for the saturated runs (step 3): far above what one core does
BUDGET_S = 540  # no new step once the bench has run this long
_POLL_FIX = """
from tenfold.load._users import _poll_socket_liveness

_poll_socket_liveness()
"""
_LUA = """
core.register_service("slow", "http", function(applet)
  core.msleep(tonumber(string.match(applet.qs or "", "ms=(%d+)")) or 1000)
  applet:set_status(200)
  applet:add_header("content-type", "text/plain")
  applet:add_header("content-length", "2")
  applet:start_response()
  applet:send("ok")
end)
"""
_SCENARIO = """
bench:
  health: {{cpu_seconds: 100000, lag_p99_ms: 100000}}  # the bench judges the lag itself (≤ 20 ms)
  profiles:
    default:
      baseline_rate: {base}
      peak_multiplier: {mult}
      phases: {{baseline: {lead}, ramp: {ramp}, peak: {seconds}}}
      arrivals: poisson
      max_in_flight: {cap}
      timeout_s: {timeout}
"""
_SLOWER = """
from locust import FastHttpUser, task

class Slower(FastHttpUser):
    @task
    def hit(self):
        self.client.get("/?ms={ms}", name="/")
"""


def _fd_limit() -> int:
    """Raise this process's open-file limit (children inherit it) as far as allowed; the limit."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 200_000
    if hard == resource.RLIM_INFINITY or hard < want:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, want))
            return want
        except (ValueError, OSError):
            pass
    limit = hard if hard != resource.RLIM_INFINITY else want
    resource.setrlimit(resource.RLIMIT_NOFILE, (limit, hard))
    return int(limit)


class _Meter:
    """Every 0.2 s, in a thread: HAProxy's request count, its CPU seconds and those of every other child process."""

    def __init__(self, sock: Path, server: subprocess.Popen[bytes]) -> None:
        self.sock = sock
        self.server = psutil.Process(server.pid)
        self.samples: list[tuple[float, float, float, float]] = []  # epoch, requests, server cpu s, generator cpu s
        self._gen: dict[tuple[int, float], float] = {}  # each generator process's last CPU (ended ones keep theirs)
        self.peak_rss = 0.0
        """Most memory the generator's processes held at once since the last ``reset_peak`` (bytes)."""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="meter", daemon=True)

    def __enter__(self) -> _Meter:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def _requests(self) -> float:
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(2)
            s.connect(str(self.sock))
            s.sendall(b"show info\n")
            data = b""
            while chunk := s.recv(65536):
                data += chunk
        for line in data.decode().splitlines():
            if line.startswith("CumReq:"):
                return float(line.split(":")[1])
        raise RuntimeError("HAProxy's show info has no CumReq")

    def _cpu(self, p: psutil.Process) -> float:
        t = p.cpu_times()
        return float(t.user + t.system)

    def _loop(self) -> None:
        me = psutil.Process()
        while not self._stop.wait(0.2):
            try:
                now, n, srv = time.time(), self._requests(), self._cpu(self.server)
            except (OSError, RuntimeError, psutil.Error):
                continue
            rss = 0
            for p in me.children(recursive=True):
                if p.pid == self.server.pid:
                    continue
                with contextlib.suppress(psutil.Error):
                    self._gen[(p.pid, p.create_time())] = self._cpu(p)
                    rss += p.memory_info().rss
            self.peak_rss = max(self.peak_rss, rss)
            self.samples.append((now, n, srv, sum(self._gen.values())))

    def reset_peak(self) -> None:
        self.peak_rss = 0.0

    def end_strays(self) -> None:
        """After a run: end any process it left behind (a --processes worker whose master is gone), by its id."""
        for p in psutil.Process().children(recursive=True):
            if p.pid != self.server.pid:
                with contextlib.suppress(psutil.Error):
                    print(f"  (a process of the last run was left behind: {p.pid} {p.name()}; ended)", flush=True)
                    p.kill()
                    p.wait(5)

    def between(self, a: float, b: float) -> tuple[float, float, float]:
        """Requests/s HAProxy counted, HAProxy's cores and the generator's cores over ``[a, b]`` (epoch seconds)."""
        s = np.array(self.samples)
        n0, srv0, gen0 = (float(np.interp(a, s[:, 0], s[:, i])) for i in (1, 2, 3))
        n1, srv1, gen1 = (float(np.interp(b, s[:, 0], s[:, i])) for i in (1, 2, 3))
        d = b - a
        return (n1 - n0) / d, (srv1 - srv0) / d, (gen1 - gen0) / d

    def first_request_after(self, t: float) -> float:
        """When HAProxy counted the first request after ``t`` (to the nearest sample)."""
        s = [x for x in self.samples if x[0] >= t]
        base = s[0][1]
        return next(x[0] for x in s if x[1] > base)


@dataclass(frozen=True)
class Step:
    load: int
    """Arrivals/s (open model) or users (closed model)."""
    rate: float
    """Requests/s HAProxy counted over the steady part."""
    in_flight: float
    """Mean requests in flight over the steady part (open: its records; closed: rate x mean latency)."""
    lag_p99_ms: float | None
    p50_ms: float
    p99_ms: float
    gen_cores: float
    server_cores: float
    errors: int
    rss_mb: float
    """Most memory the generator's processes held at once during the run."""
    held: bool = False

    def row(self) -> str:
        lag = f"{self.lag_p99_ms:8.1f}" if self.lag_p99_ms is not None else f"{'-':>8}"
        held = "yes" if self.held else "no"
        cpu = f"{self.gen_cores:6.2f} {self.server_cores:6.2f}"
        return (f"{self.load:8d} {self.rate:8.0f} {self.in_flight:9.0f} {lag} {self.p50_ms:7.0f} {self.p99_ms:7.0f}"
                f" {cpu} {self.errors:6d} {self.rss_mb:6.0f}  {held}")  # fmt: skip


_HEAD = "    load   req/s  in flight  lag p99  lat p50 lat p99  gen CPU  HAProxy  errors RSS MB held"


def _own_master_port(processes: int) -> tuple[str, ...]:
    """With ``--processes``, a free port on 127.0.0.1 for the master: Locust's default (5557, on every interface) may
    be another run's, whose master the workers would then join."""
    if processes <= 1:
        return ()
    port = str(_port())
    return ("--master-bind-host", "127.0.0.1", "--master-bind-port", port, "--master-host", "127.0.0.1",
            "--master-port", port)  # fmt: skip


def _open(tmp: Path, url: str, meter: _Meter, *, rate: int, seconds: int, warm: float, cap: int,
          processes: int = 1, answer_ms: int = 0, lead_in: bool = True) -> Step:  # fmt: skip
    """One open-model run of tenfold's generator (``run_locust``): the figures of its steady part. ``answer_ms``:
    how long the slow target holds each answer (0: the target's own, ``/``).

    ``lead_in``: ``seconds`` at ``rate`` come after LEAD_IN_S (a tenth of it, then a ramp), as a spike reaches its
    peak; the steady part starts ``warm`` s after. Starting at full rate would measure the first ~50 ms instead: the
    arrivals due before the clock's first tick (Locust starting the clock user, the set-up objects collected and
    frozen) all leave late, 1% of a 10 s step at 5,000/s."""
    d = Path(tempfile.mkdtemp(prefix=f"open-{processes}-{rate}-", dir=tmp))
    sf = d / "scenarios.yaml"
    timeout = 4 + 3 * answer_ms / 1000  # the drain waits a quarter of it: the answers still due come in
    lead, ramp = LEAD_IN_S if lead_in else (0, 0)
    base, mult = (rate / 10, 10) if lead_in else (rate, 1)
    sf.write_text(_SCENARIO.format(base=base, mult=mult, lead=lead, ramp=ramp, seconds=seconds, cap=cap,
                                   timeout=timeout))  # fmt: skip
    lf = d / "locustfile.py"
    lf.write_text(_SLOWER.format(ms=answer_ms) if answer_ms else _STATIC)
    run = d / "run"
    env = {"TENFOLD_VERIFY": "later"}  # nothing to verify: the locustfile writes nothing
    meter.reset_peak()
    res = run_locust(url, run, lf, scenario="bench", scenario_file=sf, processes=processes,
                     timeout_s=seconds + timeout + 90, env=env, extra_args=_own_master_port(processes))  # fmt: skip
    meter.end_strays()
    if res.load is None:
        raise RuntimeError((run / "locust" / "locust.log").read_text()[-3000:])
    full = res.load["started"] + lead + ramp  # when the full rate starts
    a, b = full + warm, full + seconds
    counted, server, gen = meter.between(a, b)
    t = pq.read_table(run / "requests.parquet", columns=["actual_start", "latency_s", "status"])
    start, lat, status = (t.column(i).to_numpy() for i in range(3))
    inside = (start >= a) & (start < b)
    in_flight = float(np.clip(np.minimum(start + lat, b) - np.maximum(start, a), 0, None).sum()) / (b - a)
    p50, p99 = (float(np.percentile(lat[inside], q)) * 1000 if inside.any() else float("nan") for q in (50, 99))
    return Step(rate, counted, in_flight, float(res.load["generator"]["start_lag_p99_ms"]), p50, p99, gen, server,
                int(np.count_nonzero(status[inside] != 200)), meter.peak_rss / 2**20)  # fmt: skip


def _closed(tmp: Path, url: str, meter: _Meter, *, users: int, seconds: int, warm: float, processes: int = 1,
            locustfile: str = _BARE) -> Step:  # fmt: skip
    """One run of bare Locust FastHttpUser, ``users`` users each one request at a time (killed if it overruns)."""
    d = Path(tempfile.mkdtemp(prefix=f"bare-{processes}-{users}-", dir=tmp))
    lf = d / "bare.py"
    lf.write_text(locustfile)
    cmd = [sys.executable, "-m", "locust", "-f", str(lf), "--headless", "--host", url, "-u", str(users), "-r",
           str(users), "-t", f"{seconds}s", "--csv", str(d / "bare"), "--only-summary"]  # fmt: skip
    if processes > 1:
        cmd += ["--processes", str(processes), *_own_master_port(processes)]
    launched = time.time()
    meter.reset_peak()
    with (d / "locust.log").open("wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        proc.wait(timeout=seconds + 60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # its own session: with --processes, the workers too
        proc.wait()
        raise
    meter.end_strays()
    first = meter.first_request_after(launched)
    a, b = first + warm, first + seconds - 0.5
    counted, server, gen = meter.between(a, b)
    with open(d / "bare_stats.csv") as f:
        agg = next(r for r in csv.DictReader(f) if r["Name"] == "Aggregated")
    mean_s = float(agg["Average Response Time"]) / 1000
    return Step(users, counted, counted * mean_s, None, float(agg["50%"]), float(agg["99%"]), gen, server,
                int(agg["Failure Count"]), meter.peak_rss / 2**20)  # fmt: skip


def _highest(steps: Iterable[int], run: Callable[[int], Step], held: Callable[[Step], bool],
             deadline: float) -> list[Step]:  # fmt: skip
    """Run the steps in order until one is not held, then once between the last held and it (none started after
    ``deadline``, a time.monotonic())."""
    out: list[Step] = []
    last_ok = 0
    for load in steps:
        if time.monotonic() > deadline:
            print("  (time budget spent: no more steps)")
            break
        s = run(load)
        out.append(s := replace(s, held=held(s)))
        print("  " + s.row(), flush=True)
        if not s.held:
            if last_ok:
                mid = int(round((last_ok + load) / 2 / 500) * 500)
                if last_ok < mid < load:
                    m = run(mid)
                    out.append(m := replace(m, held=held(m)))
                    print("  " + m.row(), flush=True)
            break
        last_ok = load
    return out


def _best(steps: list[Step], key: Callable[[Step], float]) -> float:
    return max((key(s) for s in steps if s.held), default=0.0)


def _open_held(s: Step) -> bool:
    return (s.lag_p99_ms is not None and s.lag_p99_ms <= LAG_MS and s.rate >= 0.95 * s.load
            and s.errors <= s.rate * 1e-3)  # fmt: skip


def _closed_held(s: Step) -> bool:
    return s.rate >= 0.9 * s.load and s.errors <= s.rate * 1e-3


def _busy() -> float:
    """CPU seconds the machine's processes spent so far (not interrupts: loopback TCP is mostly ours)."""
    t = psutil.cpu_times()
    return float(t.user + t.nice + t.system + getattr(t, "steal", 0.0))


def _ours() -> float:
    """CPU seconds of this process and its ended children (the generators, HAProxy once stopped)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _server(tmp: Path, name: str, frontend: str, *, maxconn: int, lua: bool = False
            ) -> tuple[subprocess.Popen[bytes], str, Path]:  # fmt: skip
    d = tmp / name
    d.mkdir()
    sock = d / "stats.sock"
    lines = f"  no strict-limits\n  stats socket {sock} level user\n"
    if lua:
        (d / "slow.lua").write_text(_LUA)
        lines += f"  lua-load-per-thread {d / 'slow.lua'}\n"
    proc, url = _haproxy(d, frontend, global_lines=lines, maxconn=maxconn, timeout_s=30)
    if proc.poll() is not None:
        raise RuntimeError(f"HAProxy did not start (config {d / 'haproxy.cfg'})")
    return proc, url, sock


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def main() -> dict[str, object]:
    began = time.monotonic()
    deadline = began + BUDGET_S
    busy0, ours0 = _busy(), _ours()
    fds = _fd_limit()
    maxconn = max(1000, fds - 1000)  # HAProxy's applets use one descriptor per connection
    cap = min(maxconn - 500, MAX_IN_FLIGHT)
    with tempfile.TemporaryDirectory(prefix="tenfold-bench-generator-") as d:
        tmp = Path(d)
        print(f"one generator process per run unless said; HAProxy on the same {os.cpu_count()} cores; fd limit "
              f"{fds}; load average before: {os.getloadavg()[0]:.2f}")  # fmt: skip
        print("columns: load = arrivals/s (open) or users (closed); req/s and CPU (cores) over the steady part; "
              "latency in ms")  # fmt: skip

        lead = f"{sum(LEAD_IN_S)} s to reach it"
        print(f"\n1. target answering after 1 s (HAProxy + Lua core.msleep); open model: {SLOW_S} s per step at full "
              f"rate ({lead}), closed: {SLOW_S + sum(LEAD_IN_S)} s; steady part = all but the first "
              f"{WARM_SLOW_S:g} s at full rate")  # fmt: skip
        server, url, sock = _server(tmp, "slow", "  http-request use-service lua.slow\n", maxconn=maxconn, lua=True)
        try:
            with _Meter(sock, server) as meter:

                def slow(r: int) -> Step:
                    return _open(tmp, url, meter, rate=r, seconds=SLOW_S, warm=WARM_SLOW_S, cap=cap)

                def bare(n: int, fix: str = "") -> Step:
                    lead_s = sum(LEAD_IN_S)
                    return _closed(tmp, url, meter, users=n, seconds=SLOW_S + lead_s, warm=lead_s + WARM_SLOW_S,
                                   locustfile=_BARE + fix)  # fmt: skip

                def held_long(r: int) -> Step:
                    return _open(tmp, url, meter, rate=r, seconds=HOLD_S, warm=HOLD_MS / 1000 + 0.5, cap=cap,
                                 answer_ms=HOLD_MS)  # fmt: skip

                print("  tenfold open model, poisson arrivals (held: lag p99 <= 20 ms)\n  " + _HEAD)
                slow_open = _highest(SLOW_STEPS, slow, _open_held, deadline)
                print("  bare Locust FastHttpUser, closed (held: req/s within 10% of users/s)\n  " + _HEAD)
                slow_bare = _highest(SLOW_STEPS, bare, _closed_held, deadline)
                print("  bare Locust + tenfold's poll(2) keep-alive check, closed\n  " + _HEAD)
                slow_poll = _highest(SLOW_STEPS, lambda n: bare(n, _POLL_FIX), _closed_held, deadline)
                print(f"  tenfold open model, answers held {HOLD_MS / 1000:g} s, {HOLD_S} s per step at full rate\n  "
                      + _HEAD)  # fmt: skip
                hold = _highest(HOLD_STEPS, held_long, _open_held, deadline)
        finally:
            _stop(server)

        print(f"\n2. HAProxy answering 200 at once; open model: {FAST_S} s per step at full rate ({lead}); steady "
              f"part = all but the first {WARM_FAST_S:g} s at full rate")  # fmt: skip
        server, url, sock = _server(tmp, "fast", "  http-request return status 200 content-type text/plain string ok\n",
                                    maxconn=maxconn)  # fmt: skip
        try:
            with _Meter(sock, server) as meter:
                print("  tenfold open model, poisson arrivals (held: lag p99 <= 20 ms)\n  " + _HEAD)

                def fast(r: int) -> Step:
                    return _open(tmp, url, meter, rate=r, seconds=FAST_S, warm=WARM_FAST_S, cap=4000)

                fast_open = _highest(FAST_STEPS, fast, _open_held, deadline)
                print(f"  bare Locust FastHttpUser, {CONNECTIONS} users (its max rps)\n  " + _HEAD)
                bare1 = _closed(tmp, url, meter, users=CONNECTIONS, seconds=FAST_S, warm=WARM_FAST_S + 1)
                print("  " + bare1.row(), flush=True)

                print(f"\n3. saturated, {CONNECTIONS} in flight per process (open: {SATURATE} arrivals/s): one "
                      "process, then --processes 2\n  " + " " * 9 + _HEAD)  # fmt: skip

                def saturated(processes: int) -> Step:
                    return _open(tmp, url, meter, rate=SATURATE, seconds=FAST_S, warm=WARM_FAST_S + 1, cap=CONNECTIONS,
                                 processes=processes, lead_in=False)  # fmt: skip

                def bare2() -> Step:
                    return _closed(tmp, url, meter, users=2 * CONNECTIONS, seconds=FAST_S, warm=WARM_FAST_S + 1,
                                   processes=2)  # fmt: skip

                runs: list[tuple[str, Callable[[], Step]]] = [
                    ("tenfold 1", lambda: saturated(1)), ("tenfold 2", lambda: saturated(2)), ("bare 2", bare2)
                ]  # fmt: skip
                sat: dict[str, Step] = {}
                for name, fn in runs:
                    sat[name] = fn()
                    print(f"  {name:9s}" + sat[name].row(), flush=True)
        finally:
            _stop(server)
    in_flight = _best(slow_open, lambda s: s.in_flight)
    at_rate = _best(slow_open, lambda s: s.load)
    users, users_poll = _best(slow_bare, lambda s: s.load), _best(slow_poll, lambda s: s.load)
    long_flight, long_rate = _best(hold, lambda s: s.in_flight), _best(hold, lambda s: s.load)
    long_rss = _best(hold, lambda s: s.rss_mb)
    fast_rate = _best(fast_open, lambda s: s.rate)
    one, two, both_bare = sat["tenfold 1"].rate, sat["tenfold 2"].rate, sat["bare 2"].rate
    scale_open, scale_bare = two / (2 * one), both_bare / (2 * bare1.rate)
    wall = time.monotonic() - began
    other = max(0.0, (_busy() - busy0) - (_ours() - ours0)) / wall

    table = [
        ["requests in flight one generator process holds, answers after 1 s, start lag p99 ≤ 20 ms",
         f"tenfold **{in_flight:,.0f}** ({at_rate:,.0f} arrivals/s); bare Locust FastHttpUser {users:,.0f} users "
         f"(rate within 10% of users/s), with tenfold's keep-alive fix {users_poll:,.0f}", "≥ 10,000"],
        [f"the same, answers after {HOLD_MS / 1000:g} s (in flight = rate x {HOLD_MS / 1000:g} s)",
         f"tenfold **{long_flight:,.0f}** ({long_rate:,.0f} arrivals/s; the process's peak RSS {long_rss:,.0f} MB)",
         f"max_in_flight's cap ({MAX_IN_FLIGHT:,})"],
        ["highest open-model rate one process holds at start lag p99 ≤ 20 ms, HAProxy answering at once",
         f"tenfold **{fast_rate:,.0f} req/s**; bare Locust's max {bare1.rate:,.0f} rps ({CONNECTIONS} users, "
         "closed)", "≥ 5,000"],
        [f"2 local processes ÷ 2 x 1 process, saturated ({CONNECTIONS} in flight per process)",
         f"tenfold {two:,.0f} ÷ 2 x {one:,.0f} = **{scale_open:.2f}**; bare Locust {both_bare:,.0f} ÷ 2 x "
         f"{bare1.rate:,.0f} = {scale_bare:.2f}", "≥ 0.9"],
        ["other processes' CPU on the machine during the bench", f"{other:.2f} cores of {os.cpu_count()}", "—"],
    ]  # fmt: skip
    print("\nsummary (one generator process unless said)")
    for measure, figure, target in table:
        print(f"  {measure}\n      {figure.replace('**', '')}   (target {target})")
    print(f"  wall {wall:.0f} s; load average after: {os.getloadavg()[0]:.2f}")
    figures: dict[str, object] = {
        "in_flight_1s_tenfold": round(in_flight), "rate_1s_tenfold": at_rate, "users_1s_bare": round(users),
        "users_1s_bare_keepalive_fix": round(users_poll), "in_flight_5s_tenfold": round(long_flight),
        "rss_mb_5s_tenfold": round(long_rss),
        "rate_held_tenfold": round(fast_rate), "rate_max_bare": round(bare1.rate),
        "scale2_tenfold": round(scale_open, 3), "scale2_bare": round(scale_bare, 3),
        "saturated_1_tenfold": round(one), "saturated_2_tenfold": round(two), "saturated_2_bare": round(both_bare),
        "other_cores": round(other, 2), "wall_s": round(wall),
    }  # fmt: skip
    print(json.dumps(figures))
    return {"table": table, **figures}


if __name__ == "__main__":
    main()
