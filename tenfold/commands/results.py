"""What a run found, read from its folder: ``tenfold report`` (re-evaluate and re-render offline), ``tenfold compare``
(what regressed between two runs), and the verdict table both ``run`` and ``report`` print."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from tenfold.errors import UsageError
from tenfold.layout import MANIFEST, REQUESTS
from tenfold.output import out as _out
from tenfold.output import rows

__all__ = ["print_summary", "register"]

_STYLE = {"pass": "green", "fail": "bold red", "no-data": "yellow"}
_OUTCOME = {"pass": "[bold green]PASS[/]", "fail": "[bold red]FAIL[/]", "invalid": "[bold yellow]INVALID[/]"}


def print_summary(summary: object, run_dir: Path, as_json: bool = False) -> None:
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
    print_summary(summary, run_dir, args.json)
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


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``report``, ``compare``."""
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
