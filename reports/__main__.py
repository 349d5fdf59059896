"""Offline driver for a run folder, for working on reports without the CLI.

python -m reports report RUN_DIR [--slo slo.yaml]   evaluate + render; exit 0 pass, 1 fail, 2 invalid
python -m reports compare RUN_A RUN_B               exit 1 when B regressed against A
python -m reports validate [SLO ...]                exit 65 on the first invalid file
python -m reports synthetic DIR [--knob value ...]  write a synthetic run folder (see reports.synthetic.Knobs)
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from tenfold.errors import TenfoldError


def _knob(value: str) -> object:
    if value.lower() in ("true", "false"):
        return value.lower() == "true"
    try:
        return int(value)
    except ValueError:
        return float(value)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reports", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    sub = parser.add_subparsers(dest="cmd", required=True)
    rep = sub.add_parser("report")
    rep.add_argument("run_dir", type=Path)
    rep.add_argument("--slo", type=Path, default=None, help="default: RUN_DIR/slo.yaml, else ./slo.yaml")
    cmp = sub.add_parser("compare")
    cmp.add_argument("run_a", type=Path)
    cmp.add_argument("run_b", type=Path)
    val = sub.add_parser("validate")
    val.add_argument("files", type=Path, nargs="*", default=[Path("slo.yaml")])
    syn = sub.add_parser("synthetic")
    syn.add_argument("run_dir", type=Path)
    args, extra = parser.parse_known_args(argv)
    try:
        if args.cmd == "report":
            from reports.evaluate import evaluate
            from reports.render import render
            from reports.slo import load_slo

            slo_path = args.slo or (
                args.run_dir / "slo.yaml" if (args.run_dir / "slo.yaml").is_file() else Path("slo.yaml")
            )
            summary = evaluate(args.run_dir, load_slo(slo_path))
            print(summary.table())
            print(render(args.run_dir, summary))
            return summary.exit_code
        if args.cmd == "compare":
            from reports.compare import compare

            result = compare(args.run_a, args.run_b)
            print(result.table())
            return 1 if result.regressed else 0
        if args.cmd == "validate":
            from reports.slo import load_slo

            for f in args.files:
                slo = load_slo(f)
                print(f"{f}: ok, {len(slo.objectives)} objectives")
            return 0
        from reports.synthetic import Knobs, make_run

        names = {f.name for f in dataclasses.fields(Knobs)}
        knobs = {}
        for key, value in zip(extra[::2], extra[1::2], strict=False):
            name = key.lstrip("-").replace("-", "_")
            if name not in names:
                parser.error(f"unknown knob {key}; knobs: {', '.join(sorted(names))}")
            knobs[name] = _knob(value)
        print(make_run(args.run_dir, Knobs(**knobs)))  # type: ignore[arg-type]
        return 0
    except TenfoldError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":
    raise SystemExit(main())
