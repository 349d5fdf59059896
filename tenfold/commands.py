"""The verification subcommands: ``run``, ``report``, ``compare``, ``validate`` (the stack's are in cli.py)."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from rich.markup import escape

from tenfold.errors import ConfigError, UsageError
from tenfold.layout import MANIFEST, REQUESTS
from tenfold.output import LoadProgress, rows
from tenfold.output import err as _err
from tenfold.output import out as _out

__all__ = ["register"]

_STYLE = {"pass": "green", "fail": "bold red", "no-data": "yellow"}
_OUTCOME = {"pass": "[bold green]PASS[/]", "fail": "[bold red]FAIL[/]", "invalid": "[bold yellow]INVALID[/]"}


def _print_summary(summary: object, run_dir: Path, as_json: bool = False) -> None:
    """The verdicts: a table on a terminal, a line each in a log, JSON (summary.json's content) with ``--json``."""
    from reports.evaluate import Summary

    assert isinstance(summary, Summary)
    if as_json:
        print(json.dumps(summary.to_dict(), indent=1))
        return
    body = []
    for v in summary.verdicts:
        status = f"[{_STYLE[v.status]}]{v.status}[/]" + (" [yellow](near the line)[/]" if v.near_line else "")
        window = v.window + (" (partial)" if v.partial else "")
        body.append([status, v.objective, window, v.measured_text, v.target, v.margin_text, v.evidence])
    rows(f"verdicts · {summary.run_id}", ("status", "objective", "window", "measured", "target", "margin", "evidence"),
         body, right=("measured", "target", "margin"))  # fmt: skip
    counts = summary.counts
    _out.print(
        f"{_OUTCOME[summary.outcome]}  {counts['pass']} passed, {counts['fail']} failed, "
        f"{counts['no-data']} without data · report: {run_dir / 'report.html'}"
    )
    for reason in summary.invalid_reasons:
        _out.print(f"[yellow]invalid:[/] {reason}")
    if summary.near_line:
        _out.print(f"[yellow]near the line[/] (passed less than 10% inside the target): {', '.join(summary.near_line)}")


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
    _print_summary(summary, run_dir, args.json)
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


def _cmd_report(args: argparse.Namespace) -> int:
    from reports.evaluate import evaluate
    from reports.render import render
    from reports.slo import load_slo

    run_dir = Path(args.run_dir)
    if not (run_dir / MANIFEST).is_file() and not (run_dir / REQUESTS).is_file():
        raise UsageError(f"{run_dir} is not a run folder (no manifest.json or requests.parquet)")
    slo_path = Path(args.slo) if args.slo else run_dir / "slo.yaml"
    if not slo_path.is_file():
        raise UsageError(f"no SLO file: {slo_path} (give one with --slo)")
    summary = evaluate(run_dir, load_slo(slo_path))
    render(run_dir, summary)
    _print_summary(summary, run_dir, args.json)
    return summary.exit_code


def _cmd_compare(args: argparse.Namespace) -> int:
    from reports.compare import compare

    for d in (args.run_a, args.run_b):
        if not (Path(d) / REQUESTS).is_file():
            raise UsageError(f"{d} is not a run folder with requests.parquet")
    result = compare(args.run_a, args.run_b)
    if args.json:
        print(json.dumps(result.to_dict(), indent=1))
    else:
        _out.print(result.table(), highlight=False)
        verdict = "[bold red]regressed[/]" if result.regressed else "[green]no regression[/]"
        _out.print(f"{args.run_b} vs {args.run_a}: {verdict}")
    return 1 if result.regressed else 0


def _validate_one(path: Path) -> str:
    """'ok …' or raises ConfigError naming the file and line: SLO, experiment, scenario, schedule, manifest, overlay."""
    if path.suffix == ".json":
        return _validate_experiment(path)
    if path.suffix not in (".yaml", ".yml"):
        raise ConfigError("don't know this kind of file: give a .yaml (SLO, scenario, schedule, manifest, overlay) or "
                          "an experiment .json", path=str(path))  # fmt: skip
    from tenfold.userfile import load_yaml_all

    docs = [d.data for d in load_yaml_all(path, "YAML")]
    data = docs[0] if len(docs) == 1 else None
    if any(isinstance(d, dict) and d.get("kind") in ("Deployment", "HorizontalPodAutoscaler") for d in docs):
        from tenfold.stack.manifests import load_service

        spec = load_service(path)
        return f"manifest of {spec.name}, {spec.replicas} replicas" + (" with HPA" if spec.hpa else "")
    if isinstance(data, dict) and "objectives" in data:
        from reports.slo import load_slo

        return f"SLO file, {len(load_slo(path).objectives)} objectives"
    if isinstance(data, dict) and set(data) == {"services"}:
        from tenfold.stack.calibration import load_calibration

        return f"local calibration of {', '.join(load_calibration(path)) or 'no service'}"
    if isinstance(data, dict) and data and set(data) <= {"hpa", "seed", "env"}:
        from tenfold.stack.manifests import load_overlay

        load_overlay(path)
        return "local overlay"
    if isinstance(data, dict) and data and all(isinstance(v, dict) and "profiles" in v for v in data.values()):
        from tenfold.load import load_scenario

        names = [f"{n} ({', '.join(load_scenario(path, n).profiles)})" for n in data]
        return "scenarios " + ", ".join(names)
    if isinstance(data, dict) and data and all(isinstance(v, list) for v in data.values()):
        from tenfold.inject.schedule import default_plan

        return "experiment schedule, " + ", ".join(f"{p}: {len(default_plan(p, path))}" for p in data)
    raise ConfigError("don't know what this file is: an SLO file has 'objectives:', a scenario file 'profiles:' per "
                      "scenario, a manifest 'kind: Deployment'", path=str(path), line=1)  # fmt: skip


def _validate_experiment(path: Path) -> str:
    from chaoslib.exceptions import ChaosException
    from chaoslib.experiment import ensure_experiment_is_valid

    from tenfold.inject.schedule import plan_for_files
    from tenfold.userfile import load_json

    (planned,) = plan_for_files([path])  # the file's shape and its tenfold schedule, errors at their line
    experiment = load_json(path, "experiment").data
    try:
        ensure_experiment_is_valid(experiment)
    except ChaosException as exc:
        raise ConfigError(f"invalid experiment: {exc} (Chaos Toolkit's rules, docs/chaos.md)", path=str(path)) from None
    return (
        f"experiment, {len(experiment.get('method', []))} method activities, at {planned.phase}+{planned.offset_s:g}s"
    )


def _cmd_validate(args: argparse.Namespace) -> int:
    from tenfold.run import REPO

    paths = [Path(p) for p in args.paths] or [
        REPO / "slo.yaml",
        REPO / "slo-soak.yaml",
        REPO / "locustfiles" / "scenarios.yaml",
        REPO / "experiments" / "local" / "schedule.yaml",
        REPO / "infra" / "local" / "autoscaling.yaml",
        REPO / "infra" / "local" / "calibration.yaml",
        *sorted((REPO / "experiments").glob("*/*.json")),
    ]
    results: list[tuple[str, bool, str]] = []
    for path in paths:
        shown = str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)
        try:
            results.append((shown, True, _validate_one(path)))
        except ConfigError as exc:
            results.append((shown, False, str(exc)))
        except OSError as exc:
            results.append((shown, False, f"cannot read: {exc.strerror}"))
    if not args.paths:
        from tenfold.stack.calibration import calibrate, load_calibration
        from tenfold.stack.manifests import load_services

        try:
            services = calibrate(load_services(), load_calibration())
            results.append(("infra/k8s/services/*.yaml", True, f"{len(services)} services with HPA"))
        except Exception as exc:
            results.append(("infra/k8s/services/*.yaml", False, str(exc)))
    failed = sum(not ok for _, ok, _ in results)
    if args.json:
        print(json.dumps({"valid": not failed, "files": [{"file": f, "valid": ok, "result": text}
                                                          for f, ok, text in results]}, indent=1))  # fmt: skip
    else:
        rows("validate", ("", "file", "result"),
             [["[green]ok[/]" if ok else "[red]FAIL[/]", f, escape(text)] for f, ok, text in results])  # fmt: skip
    return ConfigError.exit_code if failed else 0


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

    p = sub.add_parser("report", help="re-evaluate and re-render a run folder offline")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("--slo", help="SLO file (default: the copy in RUN_DIR)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(handler=_cmd_report)

    p = sub.add_parser("compare", help="what regressed from RUN_A to RUN_B (exit 1 on regression)")
    p.add_argument("run_a", metavar="RUN_A")
    p.add_argument("run_b", metavar="RUN_B")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_cmd_compare)

    p = sub.add_parser("validate", help="check SLO and experiment files (and infra/k8s) offline")
    p.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="files to check (default: the SLO files, scenarios, experiments and schedule, infra/k8s, the overlay)",
    )
    p.add_argument("--json", action="store_true", help="print each file's result as JSON")
    p.set_defaults(handler=_cmd_validate)
