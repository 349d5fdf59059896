"""``tenfold validate``: SLO files, scenarios, schedules, experiments, manifests and the local overlay and
calibration checked offline, each file's mistakes with their line."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rich.markup import escape

from tenfold.errors import ConfigError
from tenfold.output import rows

__all__ = ["register"]


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


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``validate``."""
    p = sub.add_parser("validate", help="check SLO and experiment files (and infra/k8s) offline")
    p.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="files to check (default: the SLO files, scenarios, experiments and schedule, infra/k8s, the overlay)",
    )
    p.add_argument("--json", action="store_true", help="print each file's result as JSON")
    p.set_defaults(handler=_cmd_validate)
