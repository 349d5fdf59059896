"""The open model inside Locust: one arrival clock per generator process, a greenlet per request.

Locust is closed-model: a user sends its next request only when the last one returned, so a slow
service slows the load down and hides its own slowness (coordinated omission). Here a single clock per
process starts each request at its scheduled time; the schedule time is the request's *intended* start,
and latency measured from it is the one a real viewer would have seen.

Imported only by locustfiles (importing locust monkey-patches the process); ``tenfold.load`` itself
stays locust-free so the CLI can merge and read run folders.
"""

from __future__ import annotations

import heapq
import json
import logging
import math
import os
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import gevent
import gevent.event
import orjson
from gevent.hub import Waiter, get_hub
from locust import FastHttpUser, LoadTestShape, events, task
from locust.runners import MasterRunner, WorkerRunner

from ._gc import deferred_collection, max_new_objects_from_env
from ._health import CpuSampler
from ._ledger import Ledger
from ._logins import LOGIN_PATH, Logins
from ._merge import merge_run, wait_for_parts
from ._recorder import METHODS, PRIORITIES, Recorder
from ._scenario import Profile, Scenario, Schedule, load_scenario

__all__ = [
    "ROUTES",
    "Call",
    "Journey",
    "OpenModelShape",
    "OpenModelUser",
    "add_arguments",
    "call",
    "install",
]

log = logging.getLogger("tenfold.load")

ROUTES = (
    "/api/recommendations/{user_id}",
    "/api/titles/{id}",
    "/api/users/{id}",
    "/api/users/{id}/my-list",
    "/api/users/{id}/my-list/{title_id}",
    "/api/events",
    LOGIN_PATH,  # its own route: logins never mix into the stats of the routes they unlock
    "/",
)
_ROUTE_INDEX = {r: i for i, r in enumerate(ROUTES)}
_LOGIN_ROUTE = _ROUTE_INDEX[LOGIN_PATH]
_METHOD_INDEX = {m: i for i, m in enumerate(METHODS)}
_PRIORITY_INDEX = {p: i for i, p in enumerate(PRIORITIES)}
_HEADERS = {p: {"X-Priority": p} for p in PRIORITIES}
_JSON_HEADERS = {p: {"X-Priority": p, "Content-Type": "application/json"} for p in PRIORITIES}
_DRAIN_S = 1.0
_WORKER_SYNC_S = 0.5
_SCENARIO_FILE = Path(__file__).resolve().parents[2] / "locustfiles" / "scenarios.yaml"


class Call(NamedTuple):
    """One planned request of a journey, ``offset`` seconds after the journey arrived."""

    offset: float
    method: int
    path: str
    route: int
    priority: int
    body: bytes | None
    headers: dict[str, str]
    ack: tuple[Any, ...] | None
    """What to put in the write-ledger when acknowledged: ("my-list", user, title, key) / ("my-list-delete", user,
    title) / ("event", id, user, title)."""
    user: int = 0
    """The viewer whose bearer token the request carries (0: a public route, no token)."""


Journey = Callable[[random.Random, Scenario], list[Call]]


def call(
    offset: float, method: str, route: str, path: str, priority: str, *, body: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None, ack: tuple[Any, ...] | None = None, user: int = 0,
) -> Call:  # fmt: skip
    """A planned request; ``route`` is the template the records and Locust's stats group by; ``user``: the
    viewer it is sent as (logged in once per generator process, its token reused)."""
    if body is None:
        h = _HEADERS[priority] if headers is None else {**_HEADERS[priority], **headers}
        data = None
    else:
        h = _JSON_HEADERS[priority] if headers is None else {**_JSON_HEADERS[priority], **headers}
        data = orjson.dumps(body)
    return Call(offset, _METHOD_INDEX[method], path, _ROUTE_INDEX[route], _PRIORITY_INDEX[priority], data, h, ack, user)


def add_arguments(parser: Any) -> None:
    g = parser.add_argument_group("tenfold")
    g.add_argument("--run-dir", default=os.environ.get("TENFOLD_RUN_DIR") or f"runs/{time.strftime('%Y%m%d-%H%M%S')}",
                   help="run folder for requests.parquet, ledger.jsonl, load.json (env TENFOLD_RUN_DIR)")  # fmt: skip
    g.add_argument("--scenario-file", default=os.environ.get("TENFOLD_SCENARIO_FILE") or str(_SCENARIO_FILE),
                   help="scenario YAML file (env TENFOLD_SCENARIO_FILE)")  # fmt: skip
    g.add_argument("--scenario", default="spike", help="scenario name in the scenario file")
    g.add_argument("--load-profile", default="default", help="profile of the scenario: rates and phase lengths")
    g.add_argument("--quick", action="store_true", default=False, help="same as --profile quick (for CI)")


def _profile_name(opts: Any) -> str:
    return "quick" if getattr(opts, "quick", False) else str(opts.load_profile)


def _load(opts: Any) -> tuple[Scenario, Profile]:
    scenario = load_scenario(opts.scenario_file, opts.scenario)
    name = _profile_name(opts)
    if name not in scenario.profiles:
        raise SystemExit(
            f"scenario {opts.scenario!r} has no profile {name!r} (profiles: {', '.join(scenario.profiles)})"
        )
    return scenario, scenario.profiles[name]


class _Generator:
    """Per-process state of a load-generating process (local runner or worker)."""

    def __init__(self, environment: Any, worker: int, share: float, t0_epoch: float) -> None:
        opts = environment.parsed_options
        self.environment = environment
        self.scenario, self.profile = _load(opts)
        self.schedule = Schedule(self.profile)
        self.worker = worker
        self.share = share
        self.parts = Path(opts.run_dir) / "parts"
        self.parts.mkdir(parents=True, exist_ok=True)
        self.recorder = Recorder(ROUTES, worker)
        self.ledger = Ledger(self.parts / f"ledger-{worker}.jsonl")
        self.logins = Logins()
        self._logging_in: dict[int, gevent.event.Event] = {}  # one login per viewer at a time, as in a client
        self.cap = self.profile.max_in_flight
        self.in_flight = 0
        self.closed = False
        self._slot_free = gevent.event.Event()
        self._clock_waiting = False
        self._idle = gevent.event.Event()
        self._idle.set()
        self._parked: list[Any] = []  # Waiters of sender greenlets with nothing to do
        self._current: dict[int, tuple[float, float, float, Call]] = {}  # per sender: the request in flight
        self.cpu = CpuSampler()
        # every process shares the master's time base, so the phases line up across workers
        self.t0_epoch = t0_epoch
        self.t0_perf = time.perf_counter() + (t0_epoch - time.time())
        self.scheduled = 0
        self.clock_started = False
        self.rng = random.Random(0x7E4F01D + worker)
        self._cpu_greenlet = gevent.spawn(self._sample_cpu)

    def _sample_cpu(self) -> None:
        while True:
            gevent.sleep(1.0)
            self.cpu.sample(time.time())

    def _journey_picker(self, journeys: dict[str, Journey]) -> tuple[Callable[[], Journey], float, float]:
        """A weighted chooser over the scenario's journeys, the mean requests per journey and the longest one."""
        names = [n for n, w in self.scenario.journeys.items() if w > 0]
        missing = [n for n in names if n not in journeys]
        if missing:
            raise SystemExit(f"scenario journeys not defined by the user class: {', '.join(missing)}")
        fns = [journeys[n] for n in names]
        weights = [self.scenario.journeys[n] for n in names]
        total = sum(weights)
        cum = [sum(weights[: i + 1]) / total for i in range(len(weights))]
        probe = random.Random(1)
        horizon = max(c.offset for f in fns for _ in range(20) for c in f(probe, self.scenario))
        mean = sum(w / total * sum(len(fns[i](probe, self.scenario)) for _ in range(50)) / 50
                   for i, w in enumerate(weights))  # fmt: skip
        rng = self.rng

        def pick() -> Journey:
            x = rng.random()
            for i, c in enumerate(cum):
                if x < c:
                    return fns[i]
            return fns[-1]

        return pick, mean, horizon

    def run_clock(self, client: Any, journeys: dict[str, Journey]) -> None:
        """Start every request at its scheduled time until the schedule ends; never wait for responses."""
        self.clock_started = True
        pick, per_journey, horizon = self._journey_picker(journeys)
        schedule, share, rng = self.schedule, self.share, self.rng
        poisson = self.profile.arrivals == "poisson"
        base, e0 = self.t0_perf, self.t0_epoch
        end = schedule.duration
        cap = self.cap
        spawn = gevent.spawn_raw
        sender = self._sender
        parked = self._parked
        run_callback = get_hub().loop.run_callback
        heap: list[tuple[float, int, Call]] = []
        seq = 0
        perf = time.perf_counter

        def gap(t: float) -> float:
            rate = schedule.rate_at(max(t, 0.0)) * share / per_journey
            draw = rng.expovariate(1.0) if poisson else 1.0
            return draw / rate if rate > 0 else 0.05

        # Warm start: journeys "begun" during the last `horizon` seconds before t=0 contribute their later
        # requests, so the baseline starts at its steady request rate instead of filling up for seconds.
        next_journey = perf() - base - horizon
        while True:
            t = min(next_journey, heap[0][0]) if heap else next_journey
            if t >= end:
                break
            now = perf() - base
            if t > now:
                gevent.sleep(t - now)
            elif now >= end:
                break  # so far behind that the schedule is over: what was not sent is not sent late
            if heap and heap[0][0] <= next_journey:
                _, _, c = heapq.heappop(heap)
                todo = [c]
            else:
                todo = []
                for c in pick()(rng, self.scenario):
                    if t + c.offset < 0.0:
                        continue  # before the run began
                    if c.offset <= 0.0:
                        todo.append(c)
                    else:
                        seq += 1
                        heapq.heappush(heap, (t + c.offset, seq, c))
                next_journey = t + gap(t)
            for c in todo:
                ready = t
                if self.in_flight >= cap:
                    self._clock_waiting = True
                    while self.in_flight >= cap:
                        self._slot_free.clear()
                        self._slot_free.wait()
                    self._clock_waiting = False
                    ready = max(t, perf() - base)  # waiting for a free slot is the service's doing, not ours
                self.scheduled += 1
                self.in_flight += 1
                self._idle.clear()
                job = (e0 + t, base + ready, c)
                if parked:
                    run_callback(parked.pop().switch, job)
                else:
                    spawn(sender, client, job)

    def _sender(self, client: Any, job: tuple[float, float, Call]) -> None:
        """A sender greenlet: sends a job, parks, repeats. Handing a job to a parked greenlet costs ~1 µs,
        spawning a greenlet per request ~9 µs — the difference between 0.8x and 0.9x of bare Locust."""
        parked = self._parked
        key = id(gevent.getcurrent())
        while True:
            try:
                self._send_one(client, key, *job)
            except Exception:  # a bug must not silently shrink the generator
                log.exception("tenfold: request failed inside the generator")
            self.in_flight -= 1
            if self._clock_waiting:
                self._slot_free.set()
            if self.in_flight == 0:
                self._idle.set()
            if self.closed:
                return
            w = Waiter()
            parked.append(w)
            job = w.get()
            if job is None:
                return

    def _send_one(self, client: Any, key: int, intended: float, ready_perf: float, c: Call) -> None:
        headers = c.headers
        if c.user:
            bearer = self.logins.header(c.user)
            if bearer is None:
                pending = self._logging_in.get(c.user)
                if pending is not None:  # the viewer's app is logging in already: that token serves this too
                    pending.wait()
                    bearer = self.logins.header(c.user)
                if bearer is None:
                    done = self._logging_in[c.user] = gevent.event.Event()
                    try:
                        bearer = self._log_in(client, key, intended, ready_perf, c)
                    finally:
                        if self._logging_in.get(c.user) is done:
                            del self._logging_in[c.user]
                        done.set()
                if bearer is None or self.closed:
                    return
                intended = self.t0_epoch + (time.perf_counter() - self.t0_perf)  # the login is recorded apart
                ready_perf = time.perf_counter()  # waiting for the login is not the generator's lag
            headers = {**headers, "Authorization": bearer}
        p0 = time.perf_counter()
        actual = self.t0_epoch + (p0 - self.t0_perf)
        current = self._current
        current[key] = (intended, p0, ready_perf, c)
        r = client.request(METHODS[c.method], c.path, name=ROUTES[c.route], data=c.body, headers=headers)
        latency = time.perf_counter() - p0
        del current[key]
        if self.closed:
            return  # finished after this process's record was written
        status = r.status_code or 0
        h = r.headers
        degraded = bool(h and h.get("X-Degraded"))
        shed = status in (429, 503) and bool(h and h.get("Retry-After"))
        self.recorder.add(intended, actual, latency, p0 - ready_perf, c.route, c.method, c.priority, status,
                          degraded, shed)  # fmt: skip
        if status == 401 and c.user:
            self.logins.rejected(c.user)
        if c.ack is not None:
            if 200 <= status < 300:
                self._acknowledge(c, r, status, actual, actual + latency)
            elif status == 0 or status >= 500:
                self._unknown(c, status, actual, actual + latency)

    def _log_in(self, client: Any, key: int, intended: float, ready_perf: float, c: Call) -> str | None:
        """POST /api/auth/token as ``c.user``, recorded as a request of its own route at ``c``'s priority.

        When it fails, ``c`` is recorded with the login's answer (status, shed) without being sent: the viewer
        never got to make it. When it succeeds, ``c`` is timed from the moment its token arrived, so each
        route's latency is its own and the login's is on the login route."""
        login = Call(c.offset, _METHOD_INDEX["POST"], LOGIN_PATH, _LOGIN_ROUTE, c.priority, Logins.body(c.user),
                     _JSON_HEADERS[PRIORITIES[c.priority]], None, 0)  # fmt: skip
        p0 = time.perf_counter()
        actual = self.t0_epoch + (p0 - self.t0_perf)
        self._current[key] = (intended, p0, ready_perf, login)
        r = client.request("POST", LOGIN_PATH, name=LOGIN_PATH, data=login.body, headers=login.headers)
        latency = time.perf_counter() - p0
        del self._current[key]
        if self.closed:
            return None
        status = r.status_code or 0
        shed = status in (429, 503) and bool(r.headers and r.headers.get("Retry-After"))
        lag = p0 - ready_perf
        self.recorder.add(intended, actual, latency, lag, _LOGIN_ROUTE, login.method, c.priority, status, False, shed)
        bearer = self.logins.answer(c.user, status, r.content)
        if bearer is None:  # (a 200 without a token is a broken answer: recorded as no answer)
            failed = 0 if status == 200 else status
            self.recorder.add(intended, actual, latency, lag, c.route, c.method, c.priority, failed, False, shed)
        return bearer

    def _acknowledge(self, c: Call, r: Any, status: int, sent: float, ack: float) -> None:
        kind = c.ack[0] if c.ack else None
        if kind == "my-list":
            _, user, title, key = c.ack  # type: ignore[misc]
            self.ledger.my_list(user, title, key, status, sent, ack)
        elif kind == "my-list-delete":
            _, user, title = c.ack  # type: ignore[misc]
            self.ledger.my_list_delete(user, title, status, sent, ack)
        elif kind == "event" and status == 202:
            _, event_id, user, title = c.ack  # type: ignore[misc]
            try:
                obj = orjson.loads(r.content).get("object")
            except (orjson.JSONDecodeError, AttributeError):
                obj = None
            self.ledger.event(event_id, user, title, obj, status, sent, ack)

    def _unknown(self, c: Call, status: int, sent: float, ended: float) -> None:
        """An add that got no answer or a 5xx may still apply (a timeout after COMMIT): reconciling removals
        of the same row needs to know (see tenfold.load._ledger)."""
        if c.ack and c.ack[0] == "my-list":
            _, user, title, key = c.ack
            self.ledger.my_list_unknown(user, title, key, status, sent, ended)

    def finish(self) -> None:
        """Let in-flight requests end (bounded), then write this process's parts; health goes last."""
        self._idle.wait(timeout=_DRAIN_S + self.profile.timeout_s / 4)
        self.closed = True  # stragglers end on their own network timeout; they are recorded below, not then
        abandoned = len(self._current)
        now = time.perf_counter()
        for intended, p0, ready_perf, c in list(self._current.values()):
            # still unanswered when the record closes: a timeout (status 0) lasting at least this long, so
            # a service stalled at the end of the run cannot hide by never answering
            self.recorder.add(intended, self.t0_epoch + (p0 - self.t0_perf), now - p0, p0 - ready_perf, c.route,
                              c.method, c.priority, 0, False, False)  # fmt: skip
            self._unknown(c, 0, self.t0_epoch + (p0 - self.t0_perf), self.t0_epoch + (now - self.t0_perf))
        hub = get_hub()
        while self._parked:
            hub.loop.run_callback(self._parked.pop().switch, None)
        self._cpu_greenlet.kill(block=False)
        self.ledger.close()
        self.recorder.write(self.parts / f"requests-{self.worker}.parquet")
        health = {
            "worker": self.worker,
            "share": self.share,
            "allowed_cores": self.cpu.allowed,
            "cpu_samples": self.cpu.samples,
            "lag_p99_ms": round(self.recorder.lag_p99_ms(), 3),
            "scheduled": self.scheduled,
            "recorded": self.recorder.n,
            "abandoned": abandoned,
            "acknowledged_writes": self.ledger.count,
        }
        tmp = self.parts / f".health-{self.worker}.tmp"
        tmp.write_text(json.dumps(health))
        tmp.rename(self.parts / f"health-{self.worker}.json")


class _Coordinator:
    """Process-wide state: the generator (if this process sends load) and what the master must know."""

    generator: _Generator | None = None
    workers: int = 1
    t0: float = 0.0
    master_t0: float | None = None


_state = _Coordinator()


class OpenModelUser(FastHttpUser):
    """Not a viewer: the arrival clock of one process. Subclasses list the viewers' journeys.

    The shape runs exactly one of these per generator process; its single task drives every
    request of that process, whatever the users count says.
    """

    abstract = True
    journeys: dict[str, Journey] = {}

    def __init__(self, environment: Any) -> None:
        gen = _state.generator
        if gen is not None:
            self.concurrency = gen.profile.max_in_flight
            self.network_timeout = gen.profile.timeout_s
            self.connection_timeout = gen.profile.timeout_s
        super().__init__(environment)

    @task
    def arrivals(self) -> None:
        gen = _state.generator
        if gen is not None and not gen.clock_started:
            with deferred_collection(max_new_objects_from_env()):
                gen.run_clock(self.client, self.journeys)
        while True:  # the clock is done (or another user owns it): idle until the shape stops the run
            gevent.sleep(3600)


class OpenModelShape(LoadTestShape):
    """One clock user per generator process for the length of the schedule, then stop."""

    _schedule: Schedule | None = None

    def tick(self) -> tuple[int, float] | None:
        if self._schedule is None:
            runner: Any = self.runner
            _, profile = _load(runner.environment.parsed_options)
            self._schedule = Schedule(profile)
        if _state.t0 and time.time() >= _state.t0 + self._schedule.duration + _DRAIN_S:
            return None
        n = max(1, int(getattr(self.runner, "worker_count", 1) or 1)) if isinstance(self.runner, MasterRunner) else 1
        return n, float(n)


def _on_test_start(environment: Any, **_: Any) -> None:
    runner = environment.runner
    # workers start a little after the master: give them a common start slightly in the future
    _state.t0 = time.time() + (_WORKER_SYNC_S if isinstance(runner, MasterRunner) else 0.0)
    if not isinstance(runner, WorkerRunner):
        _clear_parts(Path(environment.parsed_options.run_dir))
        _write_plan(environment)
    if isinstance(runner, MasterRunner):
        _state.workers = max(1, runner.worker_count)
        runner.send_message("tenfold_workers", {"workers": _state.workers, "t0": _state.t0})
        return
    if isinstance(runner, WorkerRunner):
        share = 1.0 / max(1, _state.workers or int(getattr(environment.parsed_options, "expect_workers", 1)))
        t0 = _state.master_t0 or _state.t0
        _state.generator = _Generator(environment, max(0, runner.worker_index), share, t0)
    else:
        _state.generator = _Generator(environment, 0, 1.0, _state.t0)


def _write_plan(environment: Any) -> None:
    """``load-plan.json`` at the start: the phases' planned epoch times, for an orchestrator that injects
    faults at phase offsets while the run is still going."""
    opts = environment.parsed_options
    run_dir = Path(opts.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    _, profile = _load(opts)
    phases = [{"name": p.name, "start": round(_state.t0 + p.start, 3), "end": round(_state.t0 + p.end, 3),
               "target_rps": [p.rate_start, p.rate_end]} for p in Schedule(profile).phases]  # fmt: skip
    plan = {"scenario": opts.scenario, "profile": _profile_name(opts), "started": round(_state.t0, 3), "phases": phases}
    (run_dir / "load-plan.json").write_text(json.dumps(plan, indent=1))


def _clear_parts(run_dir: Path) -> None:
    """Parts of an earlier run in the same folder would be merged into this one."""
    parts = run_dir / "parts"
    if parts.is_dir():
        for p in parts.iterdir():
            p.unlink()


def _on_workers(environment: Any, msg: Any, **_: Any) -> None:
    _state.workers = int(msg.data["workers"])
    _state.master_t0 = float(msg.data["t0"])


def _on_test_stop(environment: Any, **_: Any) -> None:
    gen, _state.generator = _state.generator, None
    if gen is not None:
        gen.finish()


def _on_init(environment: Any, runner: Any, **_: Any) -> None:
    if isinstance(runner, WorkerRunner):
        runner.register_message("tenfold_workers", _on_workers)
    opts = environment.parsed_options
    if opts is not None and not getattr(opts, "html_file", None) and not isinstance(runner, WorkerRunner):
        opts.html_file = str(Path(opts.run_dir) / "locust" / "report.html")


def _on_quitting(environment: Any, **_: Any) -> None:
    runner = environment.runner
    if isinstance(runner, WorkerRunner) or not _state.t0:
        return
    opts = environment.parsed_options
    run_dir = Path(opts.run_dir)
    scenario, profile = _load(opts)
    schedule = Schedule(profile)
    expected = _state.workers if isinstance(runner, MasterRunner) else 1
    if not getattr(opts, "csv_prefix", None):
        _write_locust_csv(environment, run_dir / "locust")
    wait_for_parts(run_dir, expected, timeout_s=30.0)
    doc = merge_run(
        run_dir, scenario=opts.scenario, profile=_profile_name(opts), t0=_state.t0, phases=schedule.phases,
        limits=scenario.health, expected_processes=expected, host=environment.host,
        target={"baseline_rps": schedule.baseline_rps, "peak_rps": schedule.peak_rps,
                "expected_requests": math.floor(schedule.expected_requests())},
    )  # fmt: skip
    if doc["valid"]:
        environment.process_exit_code = 0  # failures are the SLO evaluation's business, not the generator's
        log.info("tenfold: %d requests recorded in %s", doc["requests"], run_dir)
    else:
        environment.process_exit_code = 2
        log.error("tenfold: RUN INVALID: %s", doc["invalid_reason"])


def _write_locust_csv(environment: Any, out: Path) -> None:
    """Locust's own stats as CSV even when ``--csv`` was not given (Locust wires that before plugins load)."""
    import csv

    from locust.stats import PERCENTILES_TO_REPORT, StatsCSV

    out.mkdir(parents=True, exist_ok=True)
    stats_csv = StatsCSV(environment, PERCENTILES_TO_REPORT)
    for name, fn in (("stats", stats_csv.requests_csv), ("failures", stats_csv.failures_csv)):
        with (out / f"stats_{name}.csv").open("w", newline="") as f:
            fn(csv.writer(f))


def install() -> None:
    """Hook the open model into Locust's events; a locustfile calls this once at import."""
    ev: Any = events
    ev.init_command_line_parser.add_listener(add_arguments)
    ev.init.add_listener(_on_init)
    ev.test_start.add_listener(_on_test_start)
    ev.test_stop.add_listener(_on_test_stop)
    ev.quitting.add_listener(_on_quitting)
