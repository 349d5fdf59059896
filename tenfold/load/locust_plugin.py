"""The open model inside Locust: the hooks, the clock user and the shape that drive a plain locustfile.

``tenfold run`` starts ``locust -f tenfold/load/open_model.py,YOUR_LOCUSTFILE``: Locust loads both, and this
module's shape runs exactly one :class:`OpenModelClock` per generator process (local runner or worker) instead of
the locustfile's users. That clock starts arrivals on schedule (:mod:`tenfold.load._clock`); each arrival runs
one task of the locustfile's users on a pooled instance (:mod:`tenfold.load._users`); every request becomes a row
(:mod:`tenfold.load._capture`); :mod:`tenfold.load._generator` holds one process's share. At the end each process
writes its parts, a worker sends them to its master over Locust's messaging (:mod:`tenfold.load._master`,
:mod:`tenfold.load._transfer`), and the master (or the only process) merges them into the run folder
(:mod:`tenfold.load._merge`).

Imported only by the Locust process (importing locust monkey-patches it); ``tenfold.load`` stays locust-free.
"""

from __future__ import annotations

import contextlib
import csv
import json
import logging
import math
import os
import resource
import signal
import tempfile
import time
from pathlib import Path
from typing import Any

import gevent
import gevent.event
from locust import LoadTestShape, User, events, task
from locust.exception import RPCError
from locust.runners import STATE_STOPPED, MasterRunner, WorkerRunner

from tenfold.errors import UsageError
from tenfold.layout import LOAD_PLAN, REPORT

from ._generator import DRAIN_S, Generator, driven_classes
from ._master import collect_parts, start_master
from ._merge import merge_run, wait_for_parts
from ._scenario import Profile, Scenario, Schedule, load_scenario
from ._state import state
from ._transfer import ACK, DONE, FINISH, PART, Acks, PartsReceiver, clear, send_parts
from .upload import parse_s3_url, upload_run

__all__ = ["DEFAULT_SCENARIO_FILE", "OpenModelClock", "OpenModelShape", "add_arguments", "driven_classes", "install"]

log = logging.getLogger("tenfold.load")

_START_SLACK_S = 0.5
"""The schedule starts this long after the test does: workers must join the master's start, and the process's own clock
must be running before its first arrival is due (started at once, the first ~50 ms of arrivals, more on a busy
machine, left late in a burst)."""
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
    return Schedule(profile, state.run_time)


def _load(opts: Any) -> tuple[Scenario, Profile]:
    scenario = load_scenario(opts.scenario_file, opts.scenario)
    name = _profile_name(opts)
    if name not in scenario.profiles:
        raise SystemExit(
            f"scenario {opts.scenario!r} has no profile {name!r} (profiles: {', '.join(scenario.profiles)})"
        )
    return scenario, scenario.profiles[name]


class OpenModelClock(User):
    """Not a user of the service: the arrival clock of one generator process.

    The shape runs exactly one of these per process; its task drives every arrival of that process.
    """

    tenfold_clock = True  # driven_classes leaves it out

    @task
    def arrivals(self) -> None:
        gen = state.generator
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
        if state.t0 and time.time() >= state.t0 + self._schedule.duration + DRAIN_S:
            if isinstance(self.runner, MasterRunner):
                collect_parts(self.runner)  # before Locust's quit, which stops the master listening
            return None
        n = max(1, int(getattr(self.runner, "worker_count", 1) or 1)) if isinstance(self.runner, MasterRunner) else 1
        return n, float(n), [OpenModelClock]


def _on_test_start(environment: Any, **_: Any) -> None:
    runner = environment.runner
    opts = environment.parsed_options
    # workers start a little after the master: give them a common start slightly in the future
    state.t0 = time.time() + (_START_SLACK_S if not isinstance(runner, WorkerRunner) else 0.0)
    if not isinstance(runner, WorkerRunner):
        _clear_parts(Path(opts.run_dir))
        _write_plan(environment)
    if isinstance(runner, MasterRunner):
        start_master(runner, _load(opts)[0], _profile_name(opts))
        return
    if isinstance(runner, WorkerRunner):
        index = max(0, runner.worker_index)
        if state.plan is not None:
            scenario = Scenario.model_validate(state.plan["scenario"])
            profile = scenario.profiles[state.plan["profile"]]
            state.run_time = state.plan["run_time"]
        else:  # a master without the plugin's plan message: the worker's own options
            scenario, profile = _load(opts)
        share = 1.0 / max(1, state.workers or int(getattr(opts, "expect_workers", 1)))
        t0 = state.master_t0 or state.t0
        # a folder of its own: the worker shares no disk with the master (its parts travel over the messaging)
        parts = Path(tempfile.mkdtemp(prefix=f"tenfold-worker-{index}-"))
        state.generator = Generator(environment, index, share, t0, scenario, profile, _schedule(profile), parts)
    else:
        scenario, profile = _load(opts)
        parts = Path(opts.run_dir) / "parts"
        state.generator = Generator(environment, 0, 1.0, state.t0, scenario, profile, _schedule(profile), parts)


def _write_plan(environment: Any) -> None:
    """``load-plan.json`` at the start: the phases' planned epoch times, for an orchestrator that injects
    faults at phase offsets while the run is still going."""
    opts = environment.parsed_options
    run_dir = Path(opts.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    _, profile = _load(opts)
    phases = [{"name": p.name, "start": round(state.t0 + p.start, 3), "end": round(state.t0 + p.end, 3),
               "target_rate": [p.rate_start, p.rate_end]} for p in _schedule(profile).phases]  # fmt: skip
    plan = {"scenario": opts.scenario, "profile": _profile_name(opts), "started": round(state.t0, 3), "phases": phases}
    (run_dir / LOAD_PLAN).write_text(json.dumps(plan, indent=1))


def _clear_parts(run_dir: Path) -> None:
    """Parts of an earlier run in the same folder would be merged into this one."""
    parts = run_dir / "parts"
    if parts.is_dir():
        for p in parts.iterdir():
            p.unlink()


def _on_workers(environment: Any, msg: Any, **_: Any) -> None:
    state.workers = int(msg.data["workers"])
    state.master_t0 = float(msg.data["t0"])
    state.plan = msg.data.get("plan")


def _on_test_stop(environment: Any, **_: Any) -> None:
    _finish(environment)


def _on_test_stopping(environment: Any, **_: Any) -> None:
    """The master collects its workers' records as the test stops, whatever stops it: Locust's own Ctrl-C path quits
    the runner (which kills its message listener half a second later) before the ``quitting`` event comes."""
    runner = environment.runner
    if isinstance(runner, MasterRunner) and state.t0:
        collect_parts(runner)


def _on_finish(environment: Any, **_: Any) -> None:
    _finish(environment)


def _on_worker_quitting(environment: Any, **_: Any) -> None:
    """A worker stopped by a signal sends its records before it tells the master it quits, and so waits for them
    when another greenlet is already sending (the master asked first): "quit" would make the master give up on it,
    and the process would exit mid-send. The wait is bounded by the sending's own: drain, then each chunk's ack."""
    _finish(environment)
    if state.finished is not None:
        state.finished.wait()


def _finish(environment: Any) -> None:
    """Stop this process's load and write its parts (once); a worker then sends them to the master."""
    gen, state.generator = state.generator, None
    if gen is None:
        return
    state.finished = finished = gevent.event.Event()
    try:
        _write_and_send(gen, environment.runner)
    finally:
        finished.set()


def _write_and_send(gen: Generator, runner: Any) -> None:
    gen.finish()
    if isinstance(runner, WorkerRunner):
        try:
            sent = send_parts(runner.send_message, gen.parts, gen.worker, runner.client_id, state.acks, (RPCError,))
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
        state.run_time = float(opts.run_time)
        opts.run_time = None


def _raise_open_files() -> None:
    """Every arrival in flight holds a connection: raise the soft open-file limit to the hard one (Locust raises it to
    10,000 at most, and ``max_in_flight`` goes to 12,000)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard if hard != resource.RLIM_INFINITY else 1 << 20, hard))


def _on_init(environment: Any, runner: Any, **_: Any) -> None:
    opts = environment.parsed_options
    _raise_open_files()
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
        state.acks = Acks()
        runner.register_message(ACK, state.acks.on_ack)
        # Added after the runner's own `quitting` listener, so it runs first (Locust fires `quitting` in reverse): a
        # worker stopped by a signal sends its records before it tells the master it quits.
        environment.events.quitting.add_listener(_on_worker_quitting)
    elif isinstance(runner, MasterRunner):
        state.receiver = receiver = PartsReceiver(
            Path(opts.run_dir) / "parts",
            ack=lambda client, seq: runner.send_message(ACK, {"seq": seq}, client_id=client),
        )
        runner.register_message(PART, receiver.on_part)
        runner.register_message(DONE, receiver.on_done)
        environment.events.test_stopping.add_listener(_on_test_stopping)
    if not isinstance(runner, WorkerRunner):
        # While a shape runs headless, Locust handles only Ctrl-C (it installs its SIGTERM handler once the shape is
        # over): SIGTERM and SIGHUP (timeout, kill, docker stop, a closed terminal) take Ctrl-C's path here, which
        # stops the users (each process writes what it recorded), merges and exits 2. SIGINT too, even where it
        # was inherited as ignored (a job started in the background by a shell).
        for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
            gevent.signal_handler(sig, _as_ctrl_c, sig)
    if opts is not None and not getattr(opts, "html_file", None) and not isinstance(runner, WorkerRunner):
        opts.html_file = str(Path(opts.run_dir) / "locust" / REPORT)


def _as_ctrl_c(sig: int) -> None:
    """The first signal stops the run as Ctrl-C does (in the main greenlet); later ones cannot cut the writing."""
    name = signal.Signals(sig).name
    if state.signalled:
        log.info("tenfold: got %s again: already stopping, writing what was recorded", name)
        return
    state.signalled = True
    log.info("tenfold: got %s: stopping as on Ctrl-C (the record is written, the run is invalid)", name)
    gevent.get_hub().parent.throw(KeyboardInterrupt)


def _on_quitting(environment: Any, **_: Any) -> None:
    runner = environment.runner
    if isinstance(runner, WorkerRunner) or not state.t0 or state.quitting:
        return
    state.quitting = True
    state.signalled = True  # from here a signal cannot cut the merge short: Locust's own handler is replaced again
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        gevent.signal_handler(sig, _as_ctrl_c, sig)
    opts = environment.parsed_options
    run_dir = Path(opts.run_dir)
    scenario, profile = _load(opts)
    schedule = _schedule(profile)
    now = time.time()
    cut = now if now < state.t0 + schedule.duration else None  # stopped (SIGTERM, Ctrl-C) before its end
    if isinstance(runner, MasterRunner):
        collect_parts(runner)  # stopped before the schedule's end (a signal): the workers' records come first
    if runner.state != STATE_STOPPED:
        # Locust fires `quitting` before it stops the users: stop them first, so this process writes what it
        # recorded before the parts are merged.
        runner.stop()
    expected = state.workers if isinstance(runner, MasterRunner) else 1
    if not getattr(opts, "csv_prefix", None):
        _write_locust_csv(environment, run_dir / "locust")
    if not isinstance(runner, MasterRunner):
        wait_for_parts(run_dir, expected, timeout_s=30.0)
    doc = merge_run(
        run_dir, scenario=opts.scenario, profile=_profile_name(opts), t0=state.t0, phases=schedule.phases,
        limits=scenario.health, expected_processes=expected, host=environment.host,
        target={"baseline_rate": schedule.baseline_rate, "peak_rate": schedule.peak_rate,
                "expected_arrivals": math.floor(schedule.expected_arrivals())}, cut_at=cut,
        notes=_cut_note(schedule), lost=tuple(w.describe() for w in state.lost),
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
