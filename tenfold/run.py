"""One verification run: stack → load + chaos → collect → evaluate → render (``tenfold run``).

The load is the locustfile under tenfold's open model, in a Locust child process; experiments are injected at
their scheduled offsets by the :class:`~tenfold.inject.injector.Injector`; evidence (Prometheus series, controller
events, the write ledger read back by the locustfile's verifiers) is collected into ``runs/<id>/`` while the
system is up; evaluation and rendering read only that folder. Ctrl-C (or SIGTERM) stops the load, lets the experiments
roll back, and still writes a report of what happened, marked invalid.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from reports.collect import (
    KUBE_HPA_QUERIES,
    KUBE_QUERIES,
    LOCAL_QUERIES,
    collect_kube_hpa,
    collect_metrics,
    fill,
    hpa_deployments,
    write_controller_events,
)
from reports.evaluate import Summary, evaluate
from reports.render import render
from reports.slo import SloFile, load_slo
from tenfold.errors import PrometheusError, UsageError
from tenfold.inject.injector import Injector
from tenfold.inject.schedule import PHASES, ScheduledExperiment, phase_offsets, plan_for_paths
from tenfold.interrupts import Interrupts
from tenfold.layout import DURABILITY, LEDGER, LOAD, MEMORY
from tenfold.load import load_scenario, locust_command, locustfile_of, split_address
from tenfold.memory import MemorySampler, sample_interval
from tenfold.output import LoadProgress
from tenfold.run_live import LiveStatus, load_started
from tenfold.run_manifest import new_run_dir, read_json, write_manifest
from tenfold.run_options import REPO, RunOptions, Say, check_target, experiment_env, late_experiments, watched
from tenfold.run_stack import RunStack, ensure_stack, local_hpa
from tenfold.soak import SOAK_PROFILE, soak_lengths, write_soak_scenario
from tenfold.stack.procs import preexec
from tenfold.stack.status import StackStatus

__all__ = ["REPO", "RunOptions", "check_target", "execute", "experiment_env", "late_experiments", "watched"]

# Root only; an unprivileged run keeps the default priority. At -5 (CFS weight 3,121 against 1,024 for each of
# ~20 busy stack processes) each of two generator processes got ~25% of a core at the 20x overload peak and
# started requests 0.3 - 0.7 s late; -15 (weight 29,154) keeps it ahead of the whole stack.
GENERATOR_NICENESS = -15

_VERIFY_TIMEOUT_S = 600.0


def execute(opts: RunOptions, say: Say, progress: LoadProgress | None = None) -> tuple[Summary, Path]:
    """Run it all; returns the summary and the run folder (the CLI prints and picks the exit code). ``say`` gets
    the log lines, ``progress`` the load's ticks (default: a line through ``say`` every 5 s)."""
    slo = load_slo(opts.slo)
    scenario = load_scenario(opts.scenario_file, opts.scenario)
    if opts.profile not in scenario.profiles:
        raise UsageError(f"{opts.scenario_file}: scenario {opts.scenario!r} has no profile {opts.profile!r}; "
                         f"--profile takes one of: {', '.join(scenario.profiles)}")  # fmt: skip
    locustfile = opts.locustfile or locustfile_of(scenario, opts.scenario_file)
    if locustfile is None:
        raise UsageError(f"no locustfile: give --locustfile FILE, or name one in {opts.scenario_file} "
                         f"(locustfile: under scenario {opts.scenario!r})")  # fmt: skip
    if not locustfile.is_file():
        raise UsageError(f"locustfile {locustfile}: there is no such file")
    lengths = scenario.profiles[opts.profile].phases.model_dump()
    if opts.soak_s is not None:
        lengths = soak_lengths(opts.soak_s)
    if opts.target is not None:
        check_target(opts.target, opts.allow_remote)
    if opts.prometheus is not None:
        if opts.target is None:
            raise UsageError("--prometheus is for --target runs; the local stack brings its own Prometheus")
        check_target(opts.prometheus, True, "--prometheus")
    if opts.watch and opts.prometheus is None:
        raise UsageError("--watch names deployments to judge from --prometheus; give --prometheus URL too")
    plan = plan_for_paths(opts.experiments or [], opts.profile)
    stack = None if opts.target else ensure_stack(opts, say)
    try:
        return _run_with(opts, slo, stack, plan, lengths, locustfile, say, progress)
    finally:
        if stack is not None and stack.started_here and not opts.keep_stack:
            from tenfold.stack.lifecycle import down

            say("stopping the local stack (it was started for this run; --keep-stack leaves it up)")
            down(opts.home)


def _run_with(
    opts: RunOptions, slo: SloFile, stack: RunStack | None, plan: list[ScheduledExperiment],
    lengths: dict[str, float], locustfile: Path, say: Say, progress: LoadProgress | None,
) -> tuple[Summary, Path]:  # fmt: skip
    status: StackStatus = stack.status if stack else {}
    host = opts.target or status["gateway"]
    run_dir = new_run_dir(opts)
    shutil.copyfile(opts.slo, run_dir / "slo.yaml")
    say(f"run folder {run_dir}")
    total = sum(lengths.values())
    say(f"{locustfile.name}, {opts.scenario} ({opts.profile}): " + " → ".join(f"{p} {lengths[p]:g}s" for p in PHASES)
        + f" = {total:g}s; experiments: " + (", ".join(f"{e.name} at {e.phase}+{e.offset_s:g}s" for e in plan)
                                             or "none"))  # fmt: skip
    scenario_file = opts.scenario_file
    if opts.soak_s is not None:  # the soak's length goes to the generator as data: run_dir/scenario.yaml
        scenario_file = write_soak_scenario(opts.scenario_file, opts.scenario, opts.soak_s, run_dir / "scenario.yaml")
    cmd = locust_command(host, run_dir, locustfile, scenario=opts.scenario, profile=opts.profile,
                         processes=opts.processes, scenario_file=scenario_file, remote_workers=opts.remote_workers,
                         master_bind=opts.master_bind, workers_timeout_s=opts.workers_timeout_s)  # fmt: skip
    if opts.remote_workers:
        bind_host, bind_port = split_address(opts.master_bind)
        master = f"HOST:{bind_port}" if bind_host in ("*", "0.0.0.0", "::") else f"{bind_host}:{bind_port}"
        say(f"waiting up to {opts.workers_timeout_s:g} s for {opts.remote_workers} workers on {opts.master_bind} "
            f"(start each: tenfold worker --master {master} --locustfile {locustfile.name})")  # fmt: skip
    late = late_experiments(plan, lengths)
    if late:
        say(f"warning: {', '.join(late)}: scheduled after the load ends ({total:g}s), so never injected; "
            "use a longer profile")  # fmt: skip
    system_env = experiment_env(opts.target, status)
    injector = Injector(run_dir, system_env)
    t_launch = time.time()
    log = (run_dir / "locust").joinpath("locust.log")
    log.parent.mkdir(parents=True, exist_ok=True)
    starts = phase_offsets(lengths)
    sampler = None  # a soak samples the RSS of every stack process into memory.jsonl
    if status and opts.profile == SOAK_PROFILE:
        sampler = MemorySampler(status["control"], run_dir / MEMORY, sample_interval(total)).start()
    with log.open("wb") as out, Interrupts() as sig:
        run = _Finish(opts, slo, status, run_dir, locustfile, host, {**os.environ, **system_env}, injector, t_launch,
                      sig, say)  # fmt: skip
        # Its own session: no terminal signal reaches it; it stops when we say (SIGTERM) and writes what it
        # recorded. The writes are read back after the experiments' rollbacks (below), not when it quits.
        env = {**os.environ, **system_env, "TENFOLD_VERIFY": "later"}
        # If this process is SIGKILLed, the kernel sends Locust SIGINT (PR_SET_PDEATHSIG): no orphan load. On a
        # machine shared with the stack the generator goes ahead of the system under test in the CPU queue, as if
        # on machines of its own: an overload starves the services, not the arrival clock.
        first = preexec(death_signal=signal.SIGINT, niceness=GENERATOR_NICENESS)
        locust = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=REPO, start_new_session=True, env=env,
                                  preexec_fn=first)  # fmt: skip
        timed_out = _watch_load(
            locust,
            injector,
            plan,
            starts,
            total,
            run_dir,
            t_launch,
            status,
            opts,
            sig,
            progress or LoadProgress(say, live=False),
        )
        if sig.stop.is_set() or timed_out:
            run.interrupted = sig.reason or timed_out
            say(f"{run.interrupted}: stopping the load (at most {STOP_LOAD_S:g} s) and rolling back the experiments in "
                f"progress (at most {ROLLBACK_TIMEOUT_S:g} s; a second signal cuts the waiting short) …")  # fmt: skip
            injector.interrupt()
            _stop_generator(locust, sig, say)
            skipped = [r.name for r in injector.records if r.start is None]
            if skipped:
                say(f"not started, skipped: {', '.join(skipped)}")
            run.write(quick=True)  # a report of what exists, at once: a SIGKILL may follow soon
            say(f"report of the evidence so far: {run_dir / 'report.html'}")
            _await_rollbacks(injector, ROLLBACK_TIMEOUT_S, sig.hurry, say)
        else:
            injector.cancel_pending()
            running = injector.running()
            if running:
                say(f"load finished; waiting for {', '.join(running)} to end and roll back")
            if not injector.wait(max([e.recovery_timeout_s for e in plan] + [30]) + 60, sig.stop):
                run.interrupted = sig.reason or "the experiments did not end in time"
                injector.interrupt()
                _await_rollbacks(injector, ROLLBACK_TIMEOUT_S, sig.hurry, say)
        if sampler is not None:
            sampler.stop()
            say(f"memory: {sampler.samples} samples of every stack process" + (
                f" ({sampler.problem})" if sampler.problem else ""))  # fmt: skip
        summary = run.write(quick=sig.hurry.is_set(), cut=sig.hurry if run.interrupted else sig.stop)
    return summary, run_dir


ROLLBACK_TIMEOUT_S = 30.0
"""After an interrupt, how long the experiments in progress get to run their rollbacks before they are killed."""
ROLLBACK_GRACE_S = 5.0
"""After a second signal, what the rollbacks in progress still get (a cache restart takes 1-3 s)."""
STOP_LOAD_S = 15.0
"""After an interrupt, how long the generator gets to stop and write what it recorded (it needs about 5 s)."""


def _watch_load(
    locust: subprocess.Popen[bytes], injector: Injector, plan: list[ScheduledExperiment], starts: dict[str, float],
    total: float, run_dir: Path, t_launch: float, status: StackStatus, opts: RunOptions, sig: Interrupts,
    progress: LoadProgress,
) -> str | None:  # fmt: skip
    """Schedule the experiments and follow the load until it ends or a signal comes; a reason if it overran."""
    t0 = load_started(run_dir, locust, t_launch, sig, 30 + (opts.workers_timeout_s if opts.remote_workers else 0))
    if sig.stop.is_set():
        return None
    injector.schedule(plan, t0, starts)
    live = LiveStatus(status.get("prometheus") or opts.prometheus, starts, t0, total)
    deadline = time.time() + total + 120
    next_tick = time.monotonic() + progress.interval
    try:
        while locust.poll() is None and not sig.stop.is_set():
            if time.time() > deadline:
                return "the load generator ran 2 minutes past its schedule"
            sig.sleep(0.2)
            if time.monotonic() >= next_tick:
                next_tick += progress.interval
                progress.update(live.tick(injector))
    finally:
        progress.close()
    return None


def _stop_generator(locust: subprocess.Popen[bytes], sig: Interrupts, say: Say) -> None:
    """SIGTERM: the generator stops its clock, lets requests in flight end, writes and merges its record."""
    if locust.poll() is None:
        locust.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_LOAD_S
    while locust.poll() is None and time.monotonic() < deadline and not sig.hurry.is_set():
        time.sleep(0.1)
    if locust.poll() is None:
        say("the load generator did not stop in time: killed (its record is lost)")
        with contextlib.suppress(ProcessLookupError):
            os.killpg(locust.pid, signal.SIGKILL)
    locust.wait()


def _await_rollbacks(injector: Injector, timeout_s: float, cut: threading.Event, say: Say) -> None:
    """Wait for the rollbacks, up to ``timeout_s``; after a second signal (``cut``) only ROLLBACK_GRACE_S more."""
    if injector.wait(timeout_s, cut) or (cut.is_set() and injector.wait(ROLLBACK_GRACE_S)):
        return
    why = (f"its rollback did not finish within {timeout_s:g} s of the interrupt" if not cut.is_set()
           else "a second signal cut its rollback short") + ": killed; the system may still be degraded"  # fmt: skip
    killed = injector.kill_running(why)
    if killed:
        say(f"{', '.join(killed)}: {why}")


class _Finish:
    """Collect, verify, write the manifest, evaluate and render: once at the end, or twice after an interrupt (a
    quick report of what exists right away, the full one once the rollbacks are over)."""

    def __init__(
        self, opts: RunOptions, slo: SloFile, status: StackStatus, run_dir: Path, locustfile: Path, host: str,
        env: dict[str, str], injector: Injector, t_launch: float, sig: Interrupts, say: Say,
    ) -> None:  # fmt: skip
        self.opts, self.slo, self.status, self.run_dir, self.sig = opts, slo, status, run_dir, sig
        self.locustfile, self.host, self.env, self.injector, self.t_launch, self.say = (
            locustfile, host, env, injector, t_launch, say)  # fmt: skip
        self.interrupted: str | None = None

    def write(self, quick: bool, cut: threading.Event | None = None) -> Summary:
        opts, slo, status, run_dir, say = self.opts, self.slo, self.status, self.run_dir, self.say
        load = read_json(run_dir / LOAD)
        started = float(load.get("started", self.t_launch)) if load else self.t_launch
        ended = float(load.get("ended", time.time())) if load else time.time()
        last = max([ended] + [r.end for r in self.injector.records if r.end])
        hpa: dict[str, dict[str, Any]] = {}
        if status:
            say("collecting metrics and controller events …")
            if not quick:
                time.sleep(2.0)  # one more scrape of the last second
            collect_metrics(status["prometheus"], run_dir, started - 5, last + 2,
                            {**LOCAL_QUERIES, **slo.metrics.queries}, timeout_s=5.0 if quick else 30.0)  # fmt: skip
            from tenfold.stack.client import ControlClient

            try:
                events = ControlClient(status["control"]).events(limit=100_000)
                write_controller_events(events, run_dir, started - 5, last + 2)
            except Exception as exc:  # the report says "no data" for what needed them; say why here
                say(f"could not read the controller's events: {exc}")
            hpa = local_hpa()
        elif opts.prometheus:
            hpa = _collect_kube(opts, slo, run_dir, started - 5, last + 2, say)
        if not quick and (run_dir / LEDGER).is_file():
            timeout = _VERIFY_TIMEOUT_S if self.interrupted is None else 60.0
            _verify_writes(run_dir, self.locustfile, self.host, self.env, say, timeout, cut)
        if self.sig.stop.is_set() and self.interrupted is None:  # a signal once the load was over
            self.interrupted = f"{self.sig.reason} after the load"
        write_manifest(run_dir, opts, status, load, self.injector, started, last, self.interrupted, hpa)
        summary = evaluate(run_dir, slo)
        render(run_dir, summary)
        return summary


def _collect_kube(
    opts: RunOptions, slo: SloFile, run_dir: Path, start: float, end: float, say: Say
) -> dict[str, dict[str, Any]]:  # fmt: skip
    """The replica, CPU and HPA series of the watched deployments from the cluster's Prometheus; the HPAs' bounds."""
    assert opts.prometheus is not None
    prom, ns = opts.prometheus.rstrip("/"), slo.metrics.namespace
    deployments = watched(opts.watch, slo)
    if not deployments:
        try:
            deployments = hpa_deployments(prom, ns)
        except PrometheusError as exc:
            say(f"could not list the deployments HPAs scale from {prom}: {exc}")
    say(f"collecting metrics of {', '.join(deployments) or 'no deployment'} from {prom} (1 m rates: a cluster scrapes "
        "every 15-30 s) …")  # fmt: skip
    queries = {n: fill(q, deployments, ns) for n, q in {**KUBE_QUERIES, **KUBE_HPA_QUERIES,
                                                         **slo.metrics.queries}.items()}  # fmt: skip
    hpa_queries = {n: queries.pop(n) for n in KUBE_HPA_QUERIES}
    counts = collect_metrics(prom, run_dir, start, end, queries, step=5.0, rate_window="1m")
    say("metrics without series: " + (", ".join(n for n, c in counts.items() if not c) or "none"))
    try:
        hpa = dict(collect_kube_hpa(prom, hpa_queries, end))
    except PrometheusError as exc:
        say(f"could not read the HPAs from {prom}: {exc}")
        return {}
    (run_dir / "metrics" / "hpa.json").write_text(json.dumps({"queries": hpa_queries, "hpa": hpa}, indent=1))
    return hpa


def _verify_writes(
    run_dir: Path, locustfile: Path, host: str, env: dict[str, str], say: Say, timeout_s: float,
    cut: threading.Event | None,
) -> None:  # fmt: skip
    """The locustfile's verifiers read back every acknowledged write (``durability.json``), in a process of their
    own: importing a locustfile imports Locust, which patches the interpreter. ``cut`` (a signal) stops it."""
    cmd = [sys.executable, "-m", "tenfold.load.verify", "--locustfile", str(locustfile), "--run-dir", str(run_dir),
           "--host", host]  # fmt: skip
    log = run_dir / "verify.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=locustfile.parent,
                                start_new_session=True, preexec_fn=preexec(death_signal=signal.SIGKILL))  # fmt: skip
        deadline = time.monotonic() + timeout_s
        shown = 0
        while proc.poll() is None and time.monotonic() < deadline and not (cut is not None and cut.is_set()):
            time.sleep(0.5)
            lines = log.read_text(errors="replace").splitlines()
            for line in lines[shown:]:
                if line.startswith("verif"):
                    say(line)
            shown = len(lines)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
            say(f"reading back the acknowledged writes stopped after {time.monotonic() - deadline + timeout_s:.0f} s "
                "(a signal, or its time limit): durability has no data (see verify.log)")  # fmt: skip
            (run_dir / DURABILITY).unlink(missing_ok=True)
        elif proc.returncode != 0:
            say(f"reading back the acknowledged writes failed (exit {proc.returncode}): see {log}")
