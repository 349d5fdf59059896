"""``tenfold`` command line. Subcommands register themselves in ``_COMMANDS``; errors become exit codes in
exactly one place (``main``), from ``TenfoldError.exit_code``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

from tenfold.errors import TenfoldError, UsageError

if TYPE_CHECKING:
    from tenfold.stack.status import StackStatus

__all__ = ["build_parser", "main"]

_err = Console(stderr=True, soft_wrap=True)  # a line stays one line in a log
_out = Console(soft_wrap=True)

Handler = Callable[[argparse.Namespace], int]


def _add_stack_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--home", help="state directory (default: $TENFOLD_HOME or .tenfold/ at the repo root)")


def _cmd_up(args: argparse.Namespace) -> int:
    from tenfold.stack import lifecycle

    if args.profile != "local":
        raise UsageError(f"unknown profile {args.profile!r}; only 'local' is embedded")
    t0 = time.monotonic()
    with _err.status("starting the local stack…"):
        state = lifecycle.up(
            args.home, args.port_base, autoscaling=not args.no_autoscaling, rate_limit=args.rate_limit,
            seed=not args.no_seed, links=not args.no_links, **({"overlay": args.overlay} if args.overlay else {}),
        )  # fmt: skip
    _err.print(f"[green]ready[/] in {time.monotonic() - t0:.1f} s")
    if not state.get("cgroups"):
        _err.print(f"[yellow]warning:[/] {state.get('cgroups_reason')}")
    _print_status(state)
    return 0


def _cmd_down(args: argparse.Namespace) -> int:
    from tenfold.stack import lifecycle

    t0 = time.monotonic()
    was_running = lifecycle.down(args.home)
    _err.print(f"stopped in {time.monotonic() - t0:.1f} s" if was_running else "the stack was not running")
    return 0


def _cmd_status(args: argparse.Namespace) -> int:
    from tenfold.stack import lifecycle

    state = lifecycle.status(args.home)
    if state is None:
        if args.json:
            print(json.dumps({"running": False}))
        else:
            _err.print("the stack is not running (`tenfold up`)")
        return 3
    if args.json:
        print(json.dumps(state, indent=1, sort_keys=True))
    else:
        _print_status(state)
    return 0


def _print_status(state: StackStatus) -> None:
    table = Table(title=f"tenfold local stack ({state.get('phase')})")
    table.add_column("service")
    table.add_column("ready/replicas", justify="right")
    table.add_column("desired", justify="right")
    table.add_column("route")
    for name, s in sorted((state.get("services") or {}).items()):
        table.add_row(
            name,
            f"{s.get('ready')}/{s.get('replicas')}",
            str(s.get("desired")),
            ", ".join(s.get("routes") or [str(s.get("route"))]),
        )
    _out.print(table)
    comps = Table(title="components")
    comps.add_column("component")
    comps.add_column("state")
    comps.add_column("endpoint")
    for name, c in sorted((state.get("components") or {}).items()):
        endpoint = c.get("url") or c.get("dsn") or c.get("endpoint") or c.get("address") or c.get("primary") or ""
        comps.add_row(name, str(c.get("state")), str(endpoint))
    _out.print(comps)
    for key in ("gateway", "prometheus", "control"):
        _out.print(f"{key}: {state.get(key)}")


def _register_stack(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("up", help="start the local stack in the background; returns when everything is ready")
    _add_stack_options(p)
    p.add_argument("--profile", default="local")
    p.add_argument("--port-base", type=int, default=None, help="first port (default $TENFOLD_PORT_BASE or 7000)")
    p.add_argument("--no-autoscaling", action="store_true", help="control run: replicas stay at their initial count")
    p.add_argument("--no-seed", action="store_true", help="skip seeding the data stores")
    p.add_argument("--no-links", action="store_true", help="no fault proxies: services reach dependencies directly")
    p.add_argument("--rate-limit", type=int, default=5000, help="per-client requests/s at the gateway before 429")
    p.add_argument(
        "--overlay",
        metavar="FILE",
        help="local overlay instead of infra/local/autoscaling.yaml (HPA clocks, seed, extra env)",
    )
    p.set_defaults(handler=_cmd_up)
    p = sub.add_parser("down", help="stop the local stack (no process left behind)")
    _add_stack_options(p)
    p.set_defaults(handler=_cmd_down)
    p = sub.add_parser("status", help="what runs, where, and how ready (exit 3 when not running)")
    _add_stack_options(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_cmd_status)


# Other subcommands (run, report, compare, validate) add a registrar here: it adds its parser and sets `handler`.
def _register_verification(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from tenfold import commands

    commands.register(sub)


_COMMANDS: list[Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None]] = [
    _register_stack,
    _register_verification,
]


def _version() -> str:
    from importlib import metadata

    try:
        return metadata.version("tenfold")
    except metadata.PackageNotFoundError:
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tenfold", description="Survive a 10x spike while parts die, proven.")
    parser.add_argument("--version", action="version", version=f"tenfold {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    for register in _COMMANDS:
        register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: usage errors are 64 here, like every other usage error
        return 0 if exc.code == 0 else UsageError.exit_code
    handler: Handler = args.handler
    try:
        return handler(args)
    except TenfoldError as exc:
        _err.print(f"[red]error:[/] {exc}", highlight=False)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
