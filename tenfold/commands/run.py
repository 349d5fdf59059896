"""``tenfold run`` and what comes with it: ``tenfold worker`` (load from another machine for a run's master) and
``tenfold init`` (the starter files a run against your service takes)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from tenfold.commands.results import print_summary
from tenfold.errors import UsageError
from tenfold.output import LoadProgress
from tenfold.output import err as _err
from tenfold.output import out as _out

__all__ = ["register"]


def _run_files(args: argparse.Namespace, soak: bool) -> tuple[Path, Path, list[str] | None]:
    """The scenario file, SLO file and experiments of a run: what was given, else the defaults.

    With ``--locustfile`` (your service) the defaults are the starter's scenario and SLO (``tenfold init`` writes
    the same files) and no chaos; without it, the reference system's files in this checkout (the demo): its
    scenarios, slo.yaml and experiments/local's plan (no chaos with --target)."""
    from tenfold.run import REPO
    from tenfold.starter import STARTER

    demo = args.locustfile is None and (REPO / "locustfiles" / "scenarios.yaml").is_file()
    scenario_file = args.scenario_file or str(REPO / "locustfiles" / "scenarios.yaml" if demo
                                              else STARTER / "scenario.yaml")  # fmt: skip
    slo = args.slo or str(REPO / ("slo-soak.yaml" if soak else "slo.yaml") if demo else STARTER / "slo.yaml")
    experiments: list[str] | None = args.experiments
    if experiments == ["none"]:
        experiments = []
    elif experiments is None and demo and not args.target:
        experiments = [str(REPO / "experiments" / "local")]
    return Path(scenario_file), Path(slo), experiments


def _cmd_run(args: argparse.Namespace) -> int:
    from tenfold.run import RunOptions, execute
    from tenfold.soak import SOAK_PROFILE, parse_duration

    profile = args.profile or ("quick" if args.quick else "default")
    if args.processes is not None and args.processes < 1:
        raise UsageError(f"--workers {args.processes}: give at least 1 generator process")
    if args.remote_workers is not None and args.remote_workers < 1:
        raise UsageError(f"--remote-workers {args.remote_workers}: give at least 1 (workers started elsewhere)")
    if args.remote_workers and args.processes and args.processes > 1:
        raise UsageError("--workers and --remote-workers together: Locust's master cannot also fork local workers; "
                         "start the local ones with `tenfold worker --master HOST:PORT` too and count them in "
                         "--remote-workers")  # fmt: skip
    if args.remote_workers:
        from tenfold.load import split_address

        split_address(args.master_bind)  # a typo fails now, not once the stack is up
    if args.workers_timeout <= 0:
        raise UsageError(f"--workers-timeout {args.workers_timeout:g}: give the seconds to wait for workers (> 0)")
    soak_s = None
    if args.soak is not None:
        if args.quick or args.profile not in (None, SOAK_PROFILE):
            raise UsageError("--soak is its own profile: drop --quick / --profile")
        soak_s, profile = parse_duration(args.soak), SOAK_PROFILE
    for w in args.watch or []:
        if not w.startswith("deployment/") or w == "deployment/":
            raise UsageError(f"--watch {w!r}: write deployment/NAME")
    scenario_file, slo, experiments = _run_files(args, soak_s is not None)
    opts = RunOptions(
        scenario=args.scenario,
        profile=profile,
        soak_s=soak_s,
        scenario_file=scenario_file,
        locustfile=Path(args.locustfile) if args.locustfile else None,
        experiments=experiments,
        slo=slo,
        target=args.target,
        prometheus=args.prometheus,
        watch=tuple(args.watch or ()),
        allow_remote=args.allow_remote,
        disable=frozenset(args.disable or ()),
        runs_dir=Path(args.runs_dir).resolve(),  # Locust runs from the repo: a relative path would land there
        home=args.home,
        keep_stack=args.keep_stack,
        processes=args.processes,
        remote_workers=args.remote_workers or 0,
        master_bind=args.master_bind,
        workers_timeout_s=args.workers_timeout,
        stack_options={"overlay": Path(args.stack_overlay)} if args.stack_overlay else {},
    )
    t0 = time.monotonic()

    def say(line: str) -> None:
        _err.print(f"[dim]{time.monotonic() - t0:6.1f}s[/] {line}", highlight=False)

    summary, run_dir = execute(opts, say, LoadProgress(say))
    print_summary(summary, run_dir, args.json)
    return summary.exit_code


def _cmd_init(args: argparse.Namespace) -> int:
    from tenfold.starter import write_starter

    dest = Path(args.dir)
    for path, written in write_starter(dest):
        _err.print(f"{'wrote' if written else '[yellow]kept[/] (exists)'} {path}", highlight=False)
    where = "" if dest.resolve() == Path.cwd() else f"cd {dest} && "
    _out.print(
        "next: edit locustfile.py for your API, then\n"
        f"  {where}tenfold run --target http://127.0.0.1:8080 --scenario-file scenario.yaml --slo slo.yaml "
        "--experiments experiments/pause-service.json@peak+10s --quick",
        highlight=False,
    )
    return 0


def _cmd_worker(args: argparse.Namespace) -> int:
    """Become a Locust worker of a master elsewhere (exec: signals go straight to Locust, no process between)."""
    import os
    import sys

    from tenfold.load import split_address, worker_command
    from tenfold.run import REPO

    host, port = split_address(args.master)
    locustfile = Path(args.locustfile) if args.locustfile else REPO / "locustfiles" / "viewers.py"
    if not locustfile.is_file():
        raise UsageError(f"locustfile {locustfile}: there is no such file (give --locustfile FILE)")
    if args.processes is not None and args.processes < 1:
        raise UsageError(f"--processes {args.processes}: give at least 1 worker process")
    cmd = worker_command(f"{host}:{port}", locustfile, processes=args.processes)
    _err.print(f"tenfold worker: joining the master at {host}:{port} with {locustfile}; it sends the scenario and "
               "the start, this worker sends its records back when the load ends (Ctrl-C leaves)",
               highlight=False)  # fmt: skip
    sys.stderr.flush()
    os.execv(sys.executable, cmd)
    return 0  # not reached


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``run``, ``worker``, ``init``."""
    from tenfold.load._run import DEFAULT_MASTER_BIND, DEFAULT_WORKERS_TIMEOUT_S
    from tenfold.run import REPO

    p = sub.add_parser(
        "run",
        help="the main job: spike + chaos against the stack, then verdicts and runs/<id>/report.html",
        description="Brings the local stack up if needed, runs the scenario with the experiments injected at "
        "their scheduled offsets, collects, evaluates the SLOs and renders the report. Exit 0: all objectives "
        "met; 1: an objective failed; 2: the run is invalid (generator saturated, rollback failed, interrupted).",
    )
    p.add_argument(
        "--locustfile",
        metavar="FILE",
        help="your workload: a plain Locust file (HttpUser/FastHttpUser, @task); each arrival runs one task "
        "(default: the scenario's locustfile; without either, the reference system's viewers)",
    )
    p.add_argument("--scenario", default="spike", help="scenario in the scenario file (default: spike)")
    p.add_argument("--scenario-file",
                   help="phases and arrival rates per profile (default: with --locustfile the starter's 10 → 100 "
                        "arrivals/s spike; else locustfiles/scenarios.yaml)")  # fmt: skip
    p.add_argument("--profile", help="profile in the scenario file (default: 'default', or 'quick' with --quick)")
    p.add_argument("--quick", action="store_true", help="the short CI profile (about 2 minutes of load)")
    p.add_argument(
        "--experiments",
        nargs="+",
        metavar="FILE[@PHASE+OFFSET]",
        help="Chaos Toolkit experiments to inject: FILE@peak+10s at that moment; FILE at its own tenfold "
        "schedule, else peak+10s; a schedule.yaml (or a directory with one) its plan for the profile; "
        "a directory every *.json in it; 'none' for no chaos (default: experiments/local's plan for "
        "the reference system; none with --target or --locustfile). Each gets TENFOLD_TARGET_URL",
    )
    p.add_argument(
        "--soak",
        metavar="DURATION",
        help="soak: the baseline rate for DURATION (30m, 90s, 1h) with the RSS of every stack process "
        "sampled; memory growth per process in the report (SLO default slo-soak.yaml, no chaos)",
    )
    p.add_argument(
        "--slo",
        help="SLO file (default: with --locustfile the starter's slo.yaml; else slo.yaml, slo-soak.yaml with --soak)",
    )
    p.add_argument("--target", help="load an already running system at this URL instead of the local stack")
    p.add_argument("--allow-remote", action="store_true", help="allow a --target that is not loopback")
    p.add_argument(
        "--prometheus",
        metavar="URL",
        help="with --target: your cluster's Prometheus; replica, CPU and HPA series come from "
        "kube-state-metrics and cAdvisor names (docs/prometheus.md) for the autoscaling verdicts",
    )
    p.add_argument("--watch", action="append", metavar="deployment/NAME",
                   help="with --prometheus: a deployment to judge (repeatable; default: those the SLO file names, "
                        "else every deployment an HPA scales)")  # fmt: skip
    p.add_argument("--disable", action="append", choices=["autoscaling", "fallbacks"],
                   help="control run: prove the checks notice (repeatable)")  # fmt: skip
    p.add_argument("--keep-stack", action="store_true", help="leave a stack this run started running")
    p.add_argument(
        "--stack-overlay",
        metavar="FILE",
        help="when this run starts the stack: its overlay instead of infra/local/autoscaling.yaml",
    )
    p.add_argument("--workers", "--processes", dest="processes", type=int, metavar="N",
                   help="generator processes on this machine (default 1): the rates are split across them, their "
                        "records reach the master over Locust's messaging")  # fmt: skip
    p.add_argument("--remote-workers", type=int, metavar="N",
                   help="wait for N workers started elsewhere (`tenfold worker --master HOST:PORT`) before the load "
                        "starts; the rates are split across them (docs/distributed.md)")  # fmt: skip
    p.add_argument(
        "--master-bind",
        default=DEFAULT_MASTER_BIND,
        metavar="HOST:PORT",
        help=f"with --remote-workers: where the master listens for them (default {DEFAULT_MASTER_BIND})",
    )
    p.add_argument("--workers-timeout", type=float, default=DEFAULT_WORKERS_TIMEOUT_S, metavar="SECONDS",
                   help="with --remote-workers: give up (exit 2) if they have not all joined by then "
                        f"(default {DEFAULT_WORKERS_TIMEOUT_S:g})")  # fmt: skip
    p.add_argument("--runs-dir", default=str(REPO / "runs"), help="where run folders go (default: runs/)")
    p.add_argument("--home", help="stack state directory (default: $TENFOLD_HOME or .tenfold/)")
    p.add_argument("--json", action="store_true", help="print the summary (summary.json's content) on stdout as JSON; "
                   "progress stays on stderr")  # fmt: skip
    p.set_defaults(handler=_cmd_run)

    p = sub.add_parser(
        "worker",
        help="send load for a master on another machine (`tenfold run --remote-workers N`)",
        description="Joins a tenfold master (`tenfold run --remote-workers N --master-bind HOST:PORT`, or a bare "
        "`locust -f tenfold/load/open_model.py,FILE --master`) as a Locust worker. The master sends the scenario, "
        "this worker's share of the rates and the common start; when the load ends the worker sends its records "
        "back over Locust's messaging (no shared disk) and exits. Only the locustfile must exist here.",
    )
    p.add_argument("--master", required=True, metavar="HOST:PORT", help="the master's address (port default 5557)")
    p.add_argument("--locustfile", metavar="FILE",
                   help="the same locustfile the master runs (default: the reference system's viewers)")  # fmt: skip
    p.add_argument("--processes", type=int, metavar="N", help="worker processes on this machine (default 1)")
    p.set_defaults(handler=_cmd_worker)

    p = sub.add_parser(
        "init",
        help="write a starter for your service: locustfile.py, scenario.yaml, slo.yaml, experiments/",
        description="Writes a locustfile, a scenario, an SLO file and a process-provider experiment into DIR, each "
        "of which runs as written against --target; never overwrites a file.",
    )
    p.add_argument("dir", nargs="?", default=".", metavar="DIR", help="where to write them (default: here)")
    p.set_defaults(handler=_cmd_init)
