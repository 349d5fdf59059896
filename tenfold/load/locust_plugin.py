"""The open model inside Locust: the hooks, the clock user and the shape that drive a plain locustfile.

``tenfold run`` starts ``locust -f tenfold/load/open_model.py,YOUR_LOCUSTFILE``: Locust loads both, and this
module's shape runs exactly one :class:`OpenModelClock` per generator process (local runner or worker) instead of
the locustfile's users. That clock starts arrivals on schedule (:mod:`tenfold.load._clock`); each arrival runs
one task of the locustfile's users on a pooled instance (:mod:`tenfold.load._users`); every request becomes a row
(:mod:`tenfold.load._capture`). At the end each process writes its parts and the master (or the only process)
merges them into the run folder (:mod:`tenfold.load._merge`).

Imported only by the Locust process (importing locust monkey-patches it); ``tenfold.load`` stays locust-free.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import random
import signal
import tempfile
import time
from pathlib import Path
from typing import Any

import gevent
from locust import LoadTestShape, User, events, task
from locust.runners import STATE_MISSING, STATE_STOPPED, MasterRunner, WorkerRunner

from tenfold import ledger as public_ledger
from tenfold.errors import UsageError

from ._capture import Capture
from ._clock import ArrivalClock
from ._gc import deferred_collection, max_new_objects_from_env
from ._health import CpuSampler
from ._ledger import Ledger
from ._merge import merge_run, wait_for_parts
from ._recorder import Recorder
from ._scenario import Profile, Scenario, Schedule, load_scenario
from ._transfer import DONE, FINISH, PART, SILENCE_S, LostWorker, PartsReceiver, clear, send_parts
from ._users import UserPools, ignored_wait_times
from .upload import parse_s3_url, upload_run

__all__ = ["DEFAULT_SCENARIO_FILE", "OpenModelClock", "OpenModelShape", "add_arguments", "driven_classes", "install"]

log = logging.getLogger("tenfold.load")

_DRAIN_S = 1.0
_WORKER_SYNC_S = 0.5
DEFAULT_SCENARIO_FILE = Path(__file__).resolve().parents[1] / "starter" / "scenario.yaml"
"""The scenario of a locustfile that brings none: the starter's 10 → 100 arrivals/s spike (``tenfold init``)."""


def add_arguments(parser: Any) -> None:
    g = parser.add_argument_group("tenfold")
    g.add_argument("--run-dir", default=os.environ.get("TENFOLD_RUN_DIR") or f"runs/{time.strftime('%Y%m%d-%H%M%S')}",
                   help="run folder for requests.parquet, ledger.jsonl, load.json (env TENFOLD_RUN_DIR)")  # fmt: skip
    g.add_argument("--scenario-file", default=os.environ.get("TENFOLD_SCENARIO_FILE") or str(_default_scenario()),
                   help="scenario YAML: phases and arrival rates per profile (env TENFOLD_SCENARIO_FILE; default: the "
                        "one the locustfile installs, else the starter's 10 -> 100 arrivals/s spike)")  # fmt: skip
    g.add_argument("--scenario", default="spike", help="scenario name in the scenario file (default: spike)")
    g.add_argument("--load-profile", default="default",
                   help="profile of the scenario: rates and phase lengths (default: default; "
                        "`tenfold run --profile`; not Locust's own --profile, which names the test run)")  # fmt: skip
    g.add_argument("--quick", action="store_true", default=False, help="same as --load-profile quick (for CI)")
    g.add_argument("--upload-to", default=os.environ.get("TENFOLD_UPLOAD_TO") or None, metavar="s3://BUCKET/PREFIX",
                   help="upload the finished run folder there (a master in a Kubernetes Job; "
                        "env TENFOLD_UPLOAD_TO)")  # fmt: skip


_default_scenario_file: list[Path] = []


def _default_scenario() -> Path:
    return _default_scenario_file[0] if _default_scenario_file else DEFAULT_SCENARIO_FILE


def _profile_name(opts: Any) -> str:
    return "quick" if getattr(opts, "quick", False) else str(opts.load_profile)


def _schedule(profile: Profile) -> Schedule:
    """The profile's schedule, cut at Locust's ``-t/--run-time`` when given (tenfold reads it: see _on_init)."""
    return Schedule(profile, _state.run_time)


def _load(opts: Any) -> tuple[Scenario, Profile]:
    scenario = load_scenario(opts.scenario_file, opts.scenario)
    name = _profile_name(opts)
    if name not in scenario.profiles:
        raise SystemExit(
            f"scenario {opts.scenario!r} has no profile {name!r} (profiles: {', '.join(scenario.profiles)})"
        )
    return scenario, scenario.profiles[name]


def driven_classes(environment: Any) -> list[type[User]]:
    """The locustfile's user classes: every concrete one Locust found, except the clock."""
    return [c for c in environment.user_classes or [] if not issubclass(c, OpenModelClock) and not c.abstract]


class _Generator:
    """Per-process state of a load-generating process (local runner or worker)."""

    def __init__(
        self, environment: Any, worker: int, share: float, t0_epoch: float, scenario: Scenario, profile: Profile,
        parts: Path,
    ) -> None:  # fmt: skip
        self.environment = environment
        self.scenario, self.profile = scenario, profile
        self.schedule = _schedule(self.profile)
        self.worker = worker
        self.share = share
        self.parts = parts
        self.parts.mkdir(parents=True, exist_ok=True)
        self.recorder = Recorder(worker)
        self.capture = Capture(self.recorder)
        self.ledger = Ledger(self.parts / f"ledger-{worker}.jsonl", worker)
        classes = driven_classes(environment)
        if not classes:
            raise SystemExit("tenfold: the locustfile defines no User class to run (HttpUser/FastHttpUser with @task)")
        rng = random.Random(0x7E4F01D + worker)
        self.pools = UserPools(environment, classes, self.capture, rng)
        self.wait_times = ignored_wait_times(classes)
        # every process shares the master's time base, so the phases line up across workers
        t0_perf = time.perf_counter() + (t0_epoch - time.time())
        self.clock = ArrivalClock(self.schedule, share=share, cap=self.profile.max_in_flight,
                                  poisson=self.profile.arrivals == "poisson", rng=rng, t0_epoch=t0_epoch,
                                  t0_perf=t0_perf)  # fmt: skip
        self.cpu = CpuSampler()
        self._cpu_greenlet = gevent.spawn(self._sample_cpu)
        self._gc = contextlib.ExitStack()
        environment.events.request.add_listener(self.capture.on_request)
        public_ledger._install_sink(self._ledger_write)
        names = ", ".join(c.__name__ for c in classes)
        log.info("tenfold: open model over %s (%s arrivals/s at baseline x %g at peak, %d in flight at most)",
                 names, f"{self.profile.baseline_rate * share:g}", self.profile.peak_multiplier,
                 self.profile.max_in_flight)  # fmt: skip
        if self.wait_times:
            log.warning("tenfold: wait_time of %s has no meaning under the open model (tenfold's clock starts each "
                        "task at its scheduled arrival): ignored", ", ".join(self.wait_times))  # fmt: skip

    def _sample_cpu(self) -> None:
        while True:
            gevent.sleep(1.0)
            self.cpu.sample(time.time())

    def _ledger_write(self, kind: str, key: str, outcome: str) -> None:
        arrival = self.capture.current()
        now = time.time()
        sent = arrival.last_sent if arrival is not None and arrival.last_sent is not None else now
        self.ledger.write(kind, key, outcome, sent, now)

    def run(self) -> None:
        # Collection stays deferred until finish(): collecting as soon as the clock is done would pause the
        # arrivals it just dispatched (a full collection of a large heap takes ~1 s: the last second left late).
        self._gc.enter_context(deferred_collection(max_new_objects_from_env()))
        self.clock.run(self.pools.run)

    def finish(self) -> None:
        """Stop the clock, let arrivals in flight end (bounded), then write this process's parts; health last."""
        self.clock.stop()
        self.clock.drain(_DRAIN_S + self.profile.timeout_s / 4)
        in_flight = self.clock.in_flight
        self.pools.stop_all(2.0)
        abandoned = self.capture.close()  # unanswered requests become timeouts lasting until now
        self.clock.close()
        self.environment.events.request.remove_listener(self.capture.on_request)
        public_ledger._install_sink(None)
        self._cpu_greenlet.kill(block=False)
        self.ledger.close()
        lag_p99_ms, latest = self.clock.lags.p99_ms(), self.clock.lags.worst_seconds()
        self._gc.close()
        self.recorder.write(self.parts / f"requests-{self.worker}.parquet")
        setup = self.pools.setup
        health = {
            "worker": self.worker,
            "share": self.share,
            "allowed_cores": self.cpu.allowed,
            "cpu_samples": self.cpu.samples,
            "lag_p99_ms": round(lag_p99_ms, 3),
            "latest_seconds": latest,
            "scheduled": self.clock.scheduled,
            "arrivals_by_phase": {p.name: n for p, n in zip(self.schedule.phases, self.clock.by_phase, strict=True)},
            "recorded": self.recorder.n,
            "abandoned": abandoned,
            "arrivals_unfinished": in_flight,
            "user_instances": self.pools.instances,
            "on_start": {"runs": setup.runs, "failures": setup.failures, "first_failure": setup.first_failure},
            "task_errors": setup.task_errors,
            "task_error_kinds": dict(sorted(setup.task_error_kinds.items(), key=lambda kv: -kv[1])[:10]),
            "routes": len(self.recorder.routes.names),
            "routes_overflow": {
                "requests": self.recorder.routes.overflow_requests,
                "names": len(self.recorder.routes.overflow_names),
            },
            "wait_time_ignored": self.wait_times,
            "acknowledged_writes": self.ledger.count,
            "unknown_writes": self.ledger.unknown,
        }
        tmp = self.parts / f".health-{self.worker}.tmp"
        tmp.write_text(json.dumps(health))
        tmp.rename(self.parts / f"health-{self.worker}.json")


class _Coordinator:
    """Process-wide state: the generator (if this process sends load) and what the master must know."""

    generator: _Generator | None = None
    workers: int = 1
    receiver: PartsReceiver | None = None
    collected: bool = False
    plan: dict[str, Any] | None = None
    """What a worker got from the master: the scenario, profile and cut (its own options may name files it lacks)."""

    def __init__(self) -> None:
        self.expected: dict[int, str] = {}
        """The master's workers at the start: index -> Locust client id."""
        self.went_missing: dict[int, tuple[float, str]] = {}
        """index -> (when, "went missing" or "quit"): a worker that stopped before it sent its records."""
        self.lost: list[LostWorker] = []

    t0: float = 0.0
    master_t0: float | None = None
    quitting: bool = False
    signalled: bool = False
    run_time: float | None = None
    """Locust's ``-t``: where the scenario's schedule is cut (None: the whole schedule)."""


_state = _Coordinator()


class OpenModelClock(User):
    """Not a user of the service: the arrival clock of one generator process.

    The shape runs exactly one of these per process; its task drives every arrival of that process.
    """

    @task
    def arrivals(self) -> None:
        gen = _state.generator
        if gen is not None and not gen.clock.started:
            gen.run()
        while True:  # the clock is done (or another clock owns it): idle until the shape stops the run
            gevent.sleep(3600)


class OpenModelShape(LoadTestShape):
    """One clock per generator process for the length of the schedule, then stop.

    ``use_common_options``: tenfold reads Locust's ``-t`` (it cuts the schedule) and refuses ``-u``/``-r``
    (_on_init), instead of Locust's "will be ignored"."""

    use_common_options = True
    _schedule: Schedule | None = None

    def tick(self) -> tuple[int, float, list[type[User]]] | None:
        if self._schedule is None:
            runner: Any = self.runner
            opts = runner.environment.parsed_options
            _, profile = _load(opts)
            self._schedule = _schedule(profile)
        if _state.t0 and time.time() >= _state.t0 + self._schedule.duration + _DRAIN_S:
            if isinstance(self.runner, MasterRunner):
                _collect_parts(self.runner)  # before Locust's quit, which stops the master listening
            return None
        n = max(1, int(getattr(self.runner, "worker_count", 1) or 1)) if isinstance(self.runner, MasterRunner) else 1
        return n, float(n), [OpenModelClock]


def _on_test_start(environment: Any, **_: Any) -> None:
    runner = environment.runner
    opts = environment.parsed_options
    # workers start a little after the master: give them a common start slightly in the future
    _state.t0 = time.time() + (_WORKER_SYNC_S if isinstance(runner, MasterRunner) else 0.0)
    if not isinstance(runner, WorkerRunner):
        _clear_parts(Path(opts.run_dir))
        _write_plan(environment)
    if isinstance(runner, MasterRunner):
        _start_master(runner, opts)
        return
    if isinstance(runner, WorkerRunner):
        index = max(0, runner.worker_index)
        if _state.plan is not None:
            scenario = Scenario.model_validate(_state.plan["scenario"])
            profile = scenario.profiles[_state.plan["profile"]]
            _state.run_time = _state.plan["run_time"]
        else:  # a master without the plugin's plan message: the worker's own options
            scenario, profile = _load(opts)
        share = 1.0 / max(1, _state.workers or int(getattr(opts, "expect_workers", 1)))
        t0 = _state.master_t0 or _state.t0
        # a folder of its own: the worker shares no disk with the master (its parts travel over the messaging)
        parts = Path(tempfile.mkdtemp(prefix=f"tenfold-worker-{index}-"))
        _state.generator = _Generator(environment, index, share, t0, scenario, profile, parts)
    else:
        scenario, profile = _load(opts)
        _state.generator = _Generator(environment, 0, 1.0, _state.t0, scenario, profile, Path(opts.run_dir) / "parts")


def _start_master(runner: MasterRunner, opts: Any) -> None:
    """Tell the workers who joined their share, the common start and the plan; watch them while the load runs."""
    _state.workers = max(1, runner.worker_count)
    index_of: Any = runner.get_worker_index  # untyped in Locust
    _state.expected = {int(index_of(c.id)): c.id for c in runner.clients.all if c.state != STATE_MISSING}
    _state.went_missing, _state.lost, _state.collected = {}, [], False
    scenario, _ = _load(opts)
    plan = {"scenario": scenario.model_dump(mode="json"), "profile": _profile_name(opts), "run_time": _state.run_time}
    runner.send_message("tenfold_workers", {"workers": _state.workers, "t0": _state.t0, "plan": plan})
    log.info("tenfold: %d workers joined: %s", _state.workers,
             ", ".join(f"{i} ({c})" for i, c in sorted(_state.expected.items())))  # fmt: skip
    gevent.spawn(_watch_workers, runner)


def _watch_workers(runner: MasterRunner) -> None:
    """Note when a worker stops answering (no heartbeat for 3 s) or quits before it sent its records."""
    while not _state.collected:
        for index, client_id in _state.expected.items():
            if index in _state.went_missing or index in (_state.receiver.done if _state.receiver else ()):
                continue
            if not _alive(runner, client_id):
                how = "went missing" if client_id in runner.clients else "quit"
                _state.went_missing[index] = (time.time(), how)
                log.error("tenfold: worker %d (%s) %s %.1f s into the schedule", index, client_id, how,
                          time.time() - _state.t0)  # fmt: skip
        gevent.sleep(1.0)


def _alive(runner: MasterRunner, client_id: str) -> bool:
    return client_id in runner.clients and runner.clients[client_id].state != STATE_MISSING


def _collect_parts(runner: MasterRunner) -> None:
    """Ask every worker for its parts and wait until each sent them, went missing, or fell silent."""
    receiver = _state.receiver
    if _state.collected or receiver is None:
        return
    for client_id in _state.expected.values():
        if _alive(runner, client_id):
            runner.send_message(FINISH, None, client_id=client_id)
    receiver.last_heard = time.monotonic()
    log.info("tenfold: waiting for the records of %d workers", len(_state.expected))

    def pending() -> list[int]:
        return [i for i in _state.expected if i not in receiver.done and receiver.broken(i) is None]

    while any(_alive(runner, _state.expected[i]) for i in pending()):
        if time.monotonic() - receiver.last_heard >= SILENCE_S:
            break
        gevent.sleep(0.1)
    _state.collected = True
    unfinished = sorted(i for i in _state.expected if i not in receiver.done)
    _state.lost = [LostWorker(i, _state.expected[i], _why_lost(runner, i, receiver)) for i in unfinished]


def _why_lost(runner: MasterRunner, index: int, receiver: PartsReceiver) -> str:
    broken = receiver.broken(index)
    if broken is not None:
        return f"{broken}: its records are incomplete"
    missing = _state.went_missing.get(index)
    if missing is None and not _alive(runner, _state.expected[index]):
        missing = (time.time(), "went missing" if _state.expected[index] in runner.clients else "quit")
    if missing is not None:
        at, how = missing
        why = "no heartbeat: it died or lost its connection to the master" if how == "went missing" else "stopped"
        return f"{how} {at - _state.t0:.1f} s into the schedule ({why}) and sent no records"
    return f"sent nothing for {SILENCE_S:g} s after it was asked for its records"


def _write_plan(environment: Any) -> None:
    """``load-plan.json`` at the start: the phases' planned epoch times, for an orchestrator that injects
    faults at phase offsets while the run is still going."""
    opts = environment.parsed_options
    run_dir = Path(opts.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    _, profile = _load(opts)
    phases = [{"name": p.name, "start": round(_state.t0 + p.start, 3), "end": round(_state.t0 + p.end, 3),
               "target_rate": [p.rate_start, p.rate_end]} for p in _schedule(profile).phases]  # fmt: skip
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
    _state.plan = msg.data.get("plan")


def _on_test_stop(environment: Any, **_: Any) -> None:
    _finish(environment)


def _on_finish(environment: Any, **_: Any) -> None:
    _finish(environment)


def _finish(environment: Any) -> None:
    """Stop this process's load and write its parts (once); a worker then sends them to the master."""
    gen, _state.generator = _state.generator, None
    if gen is None:
        return
    gen.finish()
    runner = environment.runner
    if isinstance(runner, WorkerRunner):
        try:
            sent = send_parts(runner.send_message, gen.parts, gen.worker, runner.client_id)
        except Exception:
            log.exception("tenfold: worker %d could not send its records; they stay in %s", gen.worker, gen.parts)
            return
        log.info("tenfold: worker %d sent %d bytes of records to the master", gen.worker, sent)
        clear(gen.parts)


def _refuse_or_take_common_options(opts: Any) -> None:
    """``-u``/``-r`` mean nothing under the open model: refused with where the rates are set. ``-t`` cuts the
    schedule: taken from Locust (whose own timer would stop the run as if interrupted)."""
    given = [flag for flag, attr in (("-u/--users", "num_users"), ("-r/--spawn-rate", "spawn_rate"))
             if getattr(opts, attr, None) is not None]  # fmt: skip
    if given:
        verb = "have" if len(given) > 1 else "has"
        raise SystemExit(
            f"tenfold: {' and '.join(given)} {verb} no meaning under the open model: tenfold does not spawn users, its "
            "arrival clock starts tasks at the scenario's rates. Set baseline_rate, peak_multiplier and the phases in "
            f"the scenario file ({opts.scenario_file}, profile {_profile_name(opts)!r}); -t/--run-time cuts its "
            "schedule short."
        )
    if getattr(opts, "run_time", None):
        _state.run_time = float(opts.run_time)
        opts.run_time = None


def _on_init(environment: Any, runner: Any, **_: Any) -> None:
    opts = environment.parsed_options
    if opts is not None:
        _refuse_or_take_common_options(opts)
        if getattr(opts, "upload_to", None) and not isinstance(runner, WorkerRunner):
            try:
                parse_s3_url(opts.upload_to)  # a typo fails now, not after the load
            except UsageError as e:
                raise SystemExit(f"tenfold: {e}") from None
    if isinstance(runner, WorkerRunner):
        runner.register_message("tenfold_workers", _on_workers)
        runner.register_message(FINISH, _on_finish, concurrent=True)
        # Added after the runner's own `quitting` listener, so it runs first (Locust fires `quitting` in reverse): a
        # worker stopped by a signal sends its records before it tells the master it quits.
        environment.events.quitting.add_listener(_on_finish)
    elif isinstance(runner, MasterRunner):
        _state.receiver = receiver = PartsReceiver(Path(opts.run_dir) / "parts")
        runner.register_message(PART, receiver.on_part)
        runner.register_message(DONE, receiver.on_done)
    if not isinstance(runner, WorkerRunner):
        # While a shape runs headless, Locust handles only Ctrl-C (it installs its SIGTERM handler once the shape is
        # over): SIGTERM and SIGHUP (timeout, kill, docker stop, a closed terminal) take Ctrl-C's path here, which
        # stops the users (each process writes what it recorded), merges and exits 2. SIGINT too, even where it
        # was inherited as ignored (a job started in the background by a shell).
        for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
            gevent.signal_handler(sig, _as_ctrl_c, sig)
    if opts is not None and not getattr(opts, "html_file", None) and not isinstance(runner, WorkerRunner):
        opts.html_file = str(Path(opts.run_dir) / "locust" / "report.html")


def _as_ctrl_c(sig: int) -> None:
    """The first signal stops the run as Ctrl-C does (in the main greenlet); later ones cannot cut the writing."""
    name = signal.Signals(sig).name
    if _state.signalled:
        log.info("tenfold: got %s again: already stopping, writing what was recorded", name)
        return
    _state.signalled = True
    log.info("tenfold: got %s: stopping as on Ctrl-C (the record is written, the run is invalid)", name)
    gevent.get_hub().parent.throw(KeyboardInterrupt)


def _on_quitting(environment: Any, **_: Any) -> None:
    runner = environment.runner
    if isinstance(runner, WorkerRunner) or not _state.t0 or _state.quitting:
        return
    _state.quitting = True
    _state.signalled = True  # from here a signal cannot cut the merge short: Locust's own handler is replaced again
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        gevent.signal_handler(sig, _as_ctrl_c, sig)
    opts = environment.parsed_options
    run_dir = Path(opts.run_dir)
    scenario, profile = _load(opts)
    schedule = _schedule(profile)
    now = time.time()
    cut = now if now < _state.t0 + schedule.duration else None  # stopped (SIGTERM, Ctrl-C) before its end
    if isinstance(runner, MasterRunner):
        _collect_parts(runner)  # stopped before the schedule's end (a signal): the workers' records come first
    if runner.state != STATE_STOPPED:
        # Locust fires `quitting` before it stops the users: stop them first, so this process writes what it
        # recorded before the parts are merged.
        runner.stop()
    expected = _state.workers if isinstance(runner, MasterRunner) else 1
    if not getattr(opts, "csv_prefix", None):
        _write_locust_csv(environment, run_dir / "locust")
    if not isinstance(runner, MasterRunner):
        wait_for_parts(run_dir, expected, timeout_s=30.0)
    doc = merge_run(
        run_dir, scenario=opts.scenario, profile=_profile_name(opts), t0=_state.t0, phases=schedule.phases,
        limits=scenario.health, expected_processes=expected, host=environment.host,
        target={"baseline_rate": schedule.baseline_rate, "peak_rate": schedule.peak_rate,
                "expected_arrivals": math.floor(schedule.expected_arrivals())}, cut_at=cut,
        notes=_cut_note(schedule), lost=tuple(w.describe() for w in _state.lost),
    )  # fmt: skip
    if doc["valid"]:
        environment.process_exit_code = 0  # failures are the SLO evaluation's business, not the generator's
        log.info("tenfold: %d requests recorded in %s", doc["requests"], run_dir)
    else:
        environment.process_exit_code = 2
        log.error("tenfold: RUN INVALID: %s", doc["invalid_reason"])
    if os.environ.get("TENFOLD_VERIFY", "now") != "later" and environment.host:
        from .verify import verify_run  # an orchestrator (tenfold run) verifies after the experiments instead

        verify_run(run_dir, environment.host, say=log.info)
    if getattr(opts, "upload_to", None):
        try:
            upload_run(run_dir, opts.upload_to, say=log.info)
        except Exception as e:  # the pod's disk goes with it: a run that is not uploaded is lost, so say so loudly
            log.error("tenfold: uploading %s to %s failed: %s", run_dir, opts.upload_to, e)
            environment.process_exit_code = 2


def _cut_note(schedule: Schedule) -> tuple[str, ...]:
    if schedule.duration >= schedule.planned_duration:
        return ()
    return (f"-t {schedule.duration:g}s cut the {schedule.planned_duration:g} s schedule: the phases after it have no "
            "data, the one it ended in is partial",)  # fmt: skip


def _write_locust_csv(environment: Any, out: Path) -> None:
    """Locust's own stats as CSV even when ``--csv`` was not given (Locust wires that before plugins load)."""
    import csv

    from locust.stats import PERCENTILES_TO_REPORT, StatsCSV

    out.mkdir(parents=True, exist_ok=True)
    stats_csv = StatsCSV(environment, PERCENTILES_TO_REPORT)
    for name, fn in (("stats", stats_csv.requests_csv), ("failures", stats_csv.failures_csv)):
        with (out / f"stats_{name}.csv").open("w", newline="") as f:
            fn(csv.writer(f))


_installed: list[bool] = []


def install(scenario_file: str | Path | None = None) -> None:
    """Hook the open model into Locust's events (once per process); ``scenario_file``: the default for
    ``--scenario-file`` (a locustfile that ships its own scenarios, like locustfiles/spike.py)."""
    if scenario_file is not None:
        _default_scenario_file[:] = [Path(scenario_file)]
    if _installed:
        return
    _installed.append(True)
    ev: Any = events
    ev.init_command_line_parser.add_listener(add_arguments)
    ev.init.add_listener(_on_init)
    ev.test_start.add_listener(_on_test_start)
    ev.test_stop.add_listener(_on_test_stop)
    ev.quitting.add_listener(_on_quitting)
